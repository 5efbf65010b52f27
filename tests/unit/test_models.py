"""The models beyond the recipes' MLP, run for real: the linear baseline, a probe on real feature vectors
(a trained fcbaseline model's hidden layer on MNIST, exported to .npz), the residual MLP, the reference
CNN beside the MLP in `fcbaseline compare`, and the training images' augmentation (seeded, resumed
exactly, never in evaluation or in the saved model)."""

import numpy as np
import pytest
import tensorflow as tf

import fcbaseline
from fcbaseline import data
from fcbaseline.commands.compare import main as compare_main
from fcbaseline.config import compose_config
from fcbaseline.data.common import validation_split
from fcbaseline.models.inputs import STANDARDIZE
from fcbaseline.training.augment import make_augment, step_seed
from tests.helpers import history_without_time

DIGITS = ["dataset=digits", "training.verbose=false", "tracking=none"]


def load_keras_model(path):
    import keras

    return keras.saving.load_model(path)


def layer_kinds(model) -> set:
    return {type(layer).__name__ for layer in model.layers}


def test_no_hidden_layer_is_the_linear_softmax_regression_baseline(tmp_path):
    result = fcbaseline.run([*DIGITS, "model.hidden_sizes=[]", "optimizer=adam", "training.epochs=30"], tmp_path)
    model = load_keras_model(result.files["model.keras"])
    assert result.metrics["parameters"] == 64 * 10 + 10 and result.metrics["architecture"].startswith("64-10 linear")
    assert layer_kinds(model) == {"Rescaling", "Flatten", "Dense"}
    assert result.metrics["test_accuracy"] > 0.9  # scikit-learn's logistic regression gets about 0.96 here


@pytest.fixture(scope="module")
def mnist_features(tmp_path_factory):
    """The 128 activations of the last hidden layer of a 1-epoch MNIST model, for all 70,000 images."""
    root = tmp_path_factory.mktemp("features")
    trained = fcbaseline.run(
        ["training.epochs=1", "optimizer=adam", "model.activation=relu", "training.verbose=false", "tracking=none"],
        root / "mnist",
    )
    model = load_keras_model(trained.files["model.keras"])
    hidden = tf.keras.Model(model.inputs, model.get_layer("hidden_2").output)
    mnist = data.load_dataset(compose_config([]).dataset)
    arrays = {
        "x_train": hidden.predict(mnist.x_train, batch_size=4096, verbose=0) * 10 + 3,  # far from standardized
        "y_train": mnist.y_train,
        "x_test": hidden.predict(mnist.x_test, batch_size=4096, verbose=0) * 10 + 3,
        "y_test": mnist.y_test,
    }
    np.savez(root / "features.npz", **arrays)
    return root / "features.npz", arrays, trained.metrics["test_accuracy"]


def test_a_linear_probe_and_an_mlp_on_real_feature_vectors_standardized_inside_the_model(mnist_features, tmp_path):
    path, arrays, network_accuracy = mnist_features
    probe = ["dataset=arrays", f"dataset.file={path}", "training.verbose=false", "tracking=none", "optimizer=adam"]
    probe += ["training.validation=split", "training.epochs=3", "training.batch_size=256"]
    linear = fcbaseline.run([*probe, "model.hidden_sizes=[]"], tmp_path / "linear")
    mlp = fcbaseline.run([*probe, "model.hidden_sizes=[64]"], tmp_path / "mlp")
    assert linear.metrics["architecture"].startswith("128-10 linear") and linear.metrics["image_shape"] == [128]
    assert linear.metrics["test_accuracy"] > 0.9 and mlp.metrics["test_accuracy"] > 0.9, network_accuracy
    assert "misclassified.png" not in linear.files  # feature vectors are no pictures

    # the statistics are those of the training split only (the validation split is held out of them)
    x_train, _, _, _ = validation_split(arrays["x_train"], arrays["y_train"], 0.1, 42)
    model = load_keras_model(linear.files["model.keras"])
    layer = model.get_layer(STANDARDIZE)
    np.testing.assert_allclose(layer.moving_mean.numpy(), x_train.astype(np.float64).mean(0), rtol=1e-5, atol=1e-5)
    variance = x_train.astype(np.float64).var(0)
    assert (variance == 0).any(), "a dead ReLU unit: a constant feature, which gets variance 1"
    np.testing.assert_allclose(layer.moving_variance.numpy(), np.where(variance == 0, 1, variance), rtol=1e-4)
    # model.keras takes the raw features: its accuracy on them is the run's
    predicted = model.predict(arrays["x_test"], batch_size=4096, verbose=0).argmax(1)
    assert np.mean(predicted == arrays["y_test"]) == pytest.approx(linear.metrics["test_accuracy"], abs=1e-9)


def test_the_residual_mlp_is_fully_connected_and_its_model_stands_alone(tmp_path):
    overrides = [*DIGITS, "model=resmlp", "model.width=32", "model.depth=2", "model.expansion=2", "optimizer=adam"]
    result = fcbaseline.run([*overrides, "training.epochs=10", "model.dropout=0.1"], tmp_path)
    model = load_keras_model(result.files["model.keras"])
    assert layer_kinds(model) == {"InputLayer", "Rescaling", "Flatten", "Dense", "LayerNormalization", "Dropout", "Add"}
    assert sum(type(layer).__name__ == "Add" for layer in model.layers) == 2
    # 64*32+32, then per block: 2*32 (norm) + 32*64+64 + 64*32+32, then the final norm and 32*10+10
    assert result.metrics["parameters"] == 2080 + 2 * (64 + 2112 + 2080) + 64 + 330
    assert result.metrics["architecture"] == "residual MLP 64-32-10, 2 blocks of 32-64-32 gelu, dropout 0.1"
    assert result.metrics["test_accuracy"] > 0.9


def test_the_reference_cnn_and_the_mlp_side_by_side_in_compare(tmp_path, capsys):
    common = [*DIGITS, "training.epochs=8", "optimizer=adam", "training.validation=split"]
    folders = []
    for seed in (1, 2):
        folders.append(fcbaseline.run([*common, f"training.seed={seed}"], tmp_path / f"mlp{seed}").run_dir)
        cnn = fcbaseline.run(
            [*common, "model=cnn", "model.filters=[8,16]", f"training.seed={seed}"], tmp_path / f"c{seed}"
        )
        folders.append(cnn.run_dir)
    assert cnn.metrics["architecture"] == "CNN 8x8, conv 8-16 (3x3, max pool), head 128-10 relu"
    assert {"Conv2D", "MaxPooling2D", "Reshape"} <= layer_kinds(load_keras_model(cnn.files["model.keras"]))
    assert compare_main([*map(str, folders), "--output", str(tmp_path / "compared")]) == 0
    table = capsys.readouterr().out
    assert table.count(" | 2 | ") == 2 and "model.name=cnn" in table and "model.name=mlp" in table


def test_augmentation_flips_and_shifts_each_image_by_its_own_seeded_draw():
    x = np.random.default_rng(0).integers(1, 256, (64, 6, 7, 3), dtype=np.uint8)  # no zero pixel
    augment = make_augment(["flip", "translate"], 2)
    seed = step_seed(tf.constant([42, 3], tf.int64), 5)
    out = tf.function(augment, jit_compile=True)(tf.constant(x), seed).numpy()
    again = augment(tf.constant(x), seed).numpy()  # with and without XLA: the same draws
    assert np.array_equal(out, again) and out.dtype == np.uint8 and out.shape == x.shape
    flips, shifts = 0, set()
    for image, result in zip(x, out):
        matches = [
            (flip, dy, dx)
            for flip in (False, True)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.array_equal(shifted(image[:, ::-1] if flip else image, dy, dx), result)
        ]
        assert len(matches) == 1, "each image is itself, flipped or not, moved by at most 2 pixels, zeros in"
        flips += matches[0][0]
        shifts.add(matches[0][1:])
    assert 16 < flips < 48 and len(shifts) > 10  # a fair coin and many shifts
    other = augment(tf.constant(x), step_seed(tf.constant([42, 3], tf.int64), 6)).numpy()
    assert not np.array_equal(other, out)  # the next step draws anew


def shifted(image, dy, dx):
    """`image` moved down by dy and right by dx, zeros moving in."""
    height, width = image.shape[:2]
    moved = np.zeros_like(image)
    moved[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = image[
        max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    return moved


@pytest.mark.parametrize("dropout", [0.0, 0.1], ids=["one XLA epoch", "stepwise epoch (dropout)"])
def test_augmented_training_is_seeded_resumes_exactly_and_never_reaches_evaluation(tmp_path, dropout):
    network = ["model.hidden_sizes=[32]", f"model.dropout={dropout}"]
    common = [*DIGITS, *network, "dataset.augment=[flip,translate]", "dataset.translate_pixels=1"]
    plain = fcbaseline.run([*DIGITS, *network, "training.epochs=4"], tmp_path / "plain")
    straight = fcbaseline.run([*common, "training.epochs=4"], tmp_path / "straight")
    twice = fcbaseline.run([*common, "training.epochs=4"], tmp_path / "twice")
    fcbaseline.run([*common, "training.epochs=2"], tmp_path / "resumed")
    resumed = fcbaseline.run([f"resume={tmp_path / 'resumed'}", "training.epochs=4"])
    assert history_without_time(straight.run_dir) == history_without_time(twice.run_dir)
    assert history_without_time(straight.run_dir) == history_without_time(resumed.run_dir)
    assert history_without_time(straight.run_dir) != history_without_time(plain.run_dir)
    assert straight.metrics["xla"] is (dropout == 0.0)
    # a single run validates on the test set: its last epoch's figure is the report's, images unaugmented
    assert straight.metrics["validation"] == "test" and straight.metrics["model_epoch"] == 4
    assert straight.metrics["final_val_accuracy"] == pytest.approx(straight.metrics["test_accuracy"], abs=1e-9)
    model = load_keras_model(straight.files["model.keras"])
    assert layer_kinds(model) - {"Dropout"} == {"Rescaling", "Flatten", "Dense"}  # no augmentation layer in it
    digits = data.load_dataset(compose_config(["dataset=digits"]).dataset)
    predicted = model.predict(digits.x_test, verbose=0).argmax(1)  # the report saw the test images as they are
    assert np.mean(predicted == digits.y_test) == pytest.approx(straight.metrics["test_accuracy"], abs=1e-9)


def test_folds_of_feature_vectors_in_one_process_each_standardize_with_their_own_training_split(tmp_path):
    """The second fold reuses the first one's compiled epoch (training/reuse.py): its statistics must be its own."""
    from fcbaseline.data.common import fold_split

    generator = np.random.default_rng(0)
    y = np.arange(300) % 3
    x = (generator.normal(0, 1, (300, 6)) + y[:, None] * np.array([1, -1, 0, 0, 2, 0])) * 5 + 100
    np.savez(tmp_path / "f.npz", x_train=x, y_train=y, x_test=x[:60] + 0.5, y_test=y[:60])
    shared, common = fcbaseline.CompiledRuns(), ["dataset=arrays", f"dataset.file={tmp_path / 'f.npz'}", *DIGITS[1:]]
    common += ["training.validation=kfold", "training.folds=3", "training.epochs=2", "training.batch_size=32"]
    for fold in (0, 1):
        result = fcbaseline.run([*common, f"training.fold={fold}"], tmp_path / f"fold{fold}", compiled_runs=shared)
        x_fold = fold_split(x.astype(np.float32), y, 3, fold, 0)[0]
        layer = load_keras_model(result.files["model.keras"]).get_layer(STANDARDIZE)
        np.testing.assert_allclose(layer.moving_mean.numpy(), x_fold.astype(np.float64).mean(0), rtol=1e-6)
    assert "the previous run's compiled epoch fits this run" in (tmp_path / "fold1" / "fcbaseline.log").read_text()


def test_a_config_saved_before_models_and_augmentation_existed_resumes_as_it_ran():
    from omegaconf import OmegaConf

    from fcbaseline.config import validate
    from fcbaseline.config.added import with_added_keys
    from fcbaseline.resume import differences

    today = compose_config(["dataset=digits"])
    saved = OmegaConf.create(OmegaConf.to_container(today, resolve=True))
    del saved.model["name"], saved.dataset["augment"], saved.dataset["translate_pixels"]  # as older versions saved
    assert differences(today, OmegaConf.to_yaml(saved)) == []  # a resumed sweep keeps its jobs
    validate(with_added_keys(saved))  # a resumed run validates
    assert with_added_keys(saved).model.name == "mlp" and list(with_added_keys(saved).dataset.augment) == []
