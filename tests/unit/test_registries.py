"""Every registered name composes from its config file, validates and builds: each optimizer, schedule,
callback and dataset, its schema and builder side by side (components/, data/registry.py), and the
config groups in conf/ name exactly the registered ones."""

import keras
import numpy as np
import pytest
from PIL import Image

from fcbaseline.assemble import assemble
from fcbaseline.components import callbacks, optimizers, schedules
from fcbaseline.config import compose_config, validate
from fcbaseline.data import load_dataset
from fcbaseline.data.registry import DATASETS
from tests.helpers import REPOSITORY, write_cifar_dataset, write_idx_dataset

KERAS_OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}
SCHEDULE_SETTINGS = {  # what each schedule needs to differ from the constant rate within 4 epochs
    "constant": [],
    "step": ["optimizer.schedule.decay_epochs=1"],
    "exponential": ["optimizer.schedule.decay_epochs=1"],
    "cosine": ["optimizer.schedule.warmup_epochs=1"],
    "plateau": [],
}


def group_names(group: str) -> set:
    return {path.stem for path in (REPOSITORY / "conf" / group).glob("*.yaml")}


def test_config_groups_name_exactly_the_registered_components():
    assert group_names("optimizer") == set(optimizers.OPTIMIZERS)
    assert group_names("dataset") == set(DATASETS)
    assert set(SCHEDULE_SETTINGS) == set(schedules.SCHEDULES)


@pytest.mark.parametrize("name", sorted(optimizers.OPTIMIZERS))
def test_each_optimizer_composes_validates_and_builds_with_its_own_fields(name):
    config = compose_config([f"optimizer={name}", "dataset=digits", "training.epochs=4"])
    validate(config)
    built = optimizers.build_optimizer(config.optimizer, steps_per_epoch=10, epochs=4)
    assert type(built).__name__ == KERAS_OPTIMIZERS[name]
    assert float(built.learning_rate) == pytest.approx(config.optimizer.lr)
    schema_fields = set(optimizers.OPTIMIZERS[name].schema.__dataclass_fields__)
    assert set(config.optimizer) == schema_fields  # the YAML brings exactly its schema's fields


@pytest.mark.parametrize("name", sorted(schedules.SCHEDULES))
def test_each_schedule_composes_validates_and_builds(name):
    overrides = ["dataset=digits", "training.epochs=4", f"optimizer.schedule.name={name}", *SCHEDULE_SETTINGS[name]]
    config = compose_config(overrides)
    validate(config)
    rate = schedules.learning_rate(config.optimizer, steps_per_epoch=10, epochs=4)
    if name in ("constant", "plateau"):
        assert rate == config.optimizer.lr
    else:
        assert isinstance(rate, keras.optimizers.schedules.LearningRateSchedule)
        assert float(rate(30)) != pytest.approx(float(rate(0)))  # it moves the rate within the run
    built = callbacks.build_callbacks(config.training, config.optimizer.schedule, REPOSITORY)
    assert ("plateau" in built) == (name == "plateau")


@pytest.mark.parametrize("name", sorted(callbacks.CALLBACKS))
def test_each_callback_composes_validates_builds_and_has_its_state(name, tmp_path):
    config = compose_config(["dataset=digits", f"training.callbacks=[{name}]"])
    validate(config)
    built = callbacks.build_callbacks(config.training, config.optimizer.schedule, tmp_path)
    assert list(built) == [name] and isinstance(built[name], keras.callbacks.Callback)
    built[name].on_train_begin()  # where Keras sets the counters a checkpoint keeps
    state = callbacks.state_of(name, built[name])
    assert set(state) == set(callbacks.CALLBACKS[name].state)
    assert all(value is None or isinstance(value, float) for value in state.values())


def dataset_overrides(name, folder):
    """The overrides that point `name` at small data in its genuine format, written into `folder`."""
    if name in ("mnist", "fashion_mnist"):
        write_idx_dataset(folder / name, train=20, test=10)
        return [f"dataset.data_dir={folder / name}"]
    if name == "cifar10":
        write_cifar_dataset(folder / "cifar-10-batches-py")
        return [f"dataset.data_dir={folder}"]
    if name == "image_folder":
        for label in ("cat", "dog"):
            (folder / "images" / label).mkdir(parents=True)
            for index in range(5):
                Image.fromarray(np.full((6, 6, 3), index * 40, np.uint8)).save(
                    folder / "images" / label / f"{index}.png"
                )
        return [f"dataset.data_dir={folder / 'images'}"]
    if name == "arrays":
        images = np.random.default_rng(0).integers(0, 256, (12, 4, 4), dtype=np.uint8)
        np.savez(
            folder / "arrays.npz", x_train=images, y_train=np.arange(12) % 3, x_test=images, y_test=np.arange(12) % 3
        )
        return [f"dataset.file={folder / 'arrays.npz'}"]
    return []  # digits: bundled with scikit-learn


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_dataset_composes_validates_loads_and_assembles_a_model(name, tmp_path, monkeypatch):
    monkeypatch.setenv("FCBASELINE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # the in-process dataset memo is keyed by the working directory too
    config = compose_config([f"dataset={name}", "training.batch_size=4", *dataset_overrides(name, tmp_path)])
    validate(config)
    dataset = load_dataset(config.dataset)
    assert dataset.x_train.dtype == np.uint8 and len(dataset.class_names) >= 2
    assembled = assemble(config, dataset, tmp_path)
    assert assembled.model.input_shape[1:] == dataset.image_shape
    assert assembled.model.output_shape == (None, len(dataset.class_names))
    assert assembled.model(dataset.x_test[:2]).shape == (2, len(dataset.class_names))
