"""The fast training path computes what `model.fit` computes: the same updates and metrics on real MNIST
for the same batches (in process, 3 full epochs), and the same learning curve as the plain Keras script
with the default XLA path (a real run)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from fcbaseline import data
from fcbaseline import models as model_builder
from fcbaseline.components.optimizers import build_optimizer
from fcbaseline.training import epoch, loop
from tests.helpers import MNIST_DIR, REPOSITORY, compose_config, read_metrics, run_cli


def mnist():
    return data.load_dataset(compose_config([f"dataset.data_dir={MNIST_DIR}"]).dataset)


def test_same_batches_give_the_same_history_as_model_fit(tmp_path):
    """Same initial weights and the same batch order: fcbaseline's epoch loop and model.fit agree."""
    config = compose_config(["training.epochs=3", "training.xla=false"])
    dataset = mnist()
    epoch.seed_everything(0)
    ours = model_builder.build_model(config.model, (28, 28), 10)
    reference = keras.models.clone_model(ours)  # the same layers: uint8 images in, scaled and flattened inside
    reference.set_weights(ours.get_weights())
    history, status = loop.fit(
        ours,
        build_optimizer(config.optimizer, 469, 3),
        (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test),
        10,
        config.training,
        loop.RunFiles(tmp_path / "checkpoint.npz", tmp_path / "history.csv", ""),
    )
    assert status == "completed"

    reference.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    order_generator = np.random.default_rng(config.training.seed)  # the order fcbaseline used, epoch by epoch
    x, y = dataset.x_train, keras.utils.to_categorical(dataset.y_train, 10)
    x_test, y_test = dataset.x_test, keras.utils.to_categorical(dataset.y_test, 10)
    for number in range(3):
        order = order_generator.permutation(len(x))
        logs = reference.fit(
            x[order], y[order], batch_size=128, epochs=1, shuffle=False, verbose=0, validation_data=(x_test, y_test)
        ).history
        assert history["loss"][number] == pytest.approx(logs["loss"][0], abs=2e-5)
        assert history["accuracy"][number] == pytest.approx(logs["accuracy"][0], abs=2e-4)
        assert history["val_loss"][number] == pytest.approx(logs["val_loss"][0], abs=2e-5)
        assert history["val_accuracy"][number] == pytest.approx(logs["val_accuracy"][0], abs=2e-4)


def test_default_fast_path_learns_like_the_plain_keras_script(tmp_path):
    """With XLA and its own shuffling, the accuracy curve matches the tutorial's model.fit within noise."""
    result = run_cli(["training.epochs=4", "model.activation=relu", "hydra.run.dir=run"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    ours = [float(line.split(",")[4]) for line in (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]]
    plain = subprocess.run(
        [sys.executable, "benchmarks/plain_keras.py", "mnist", "4", "42", "relu"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        env={**os.environ, "FCBASELINE_DATA_DIR": str(MNIST_DIR.parent)},
    )
    assert plain.returncode == 0, plain.stderr[-2000:]
    reference = json.loads(plain.stdout.strip().splitlines()[-1])["history"]["val_accuracy"]
    assert np.abs(np.array(ours) - np.array(reference)).max() < 0.01, (ours, reference)
    assert read_metrics(tmp_path / "run")["test_accuracy"] > 0.9
