"""Training in process, on real (bundled) digits, through the functions `python -m fcbaseline` uses
(fcbaseline.assemble, fcbaseline.training): regularization, schedules and Keras callbacks each do what
they are for, the whole-epoch XLA loop computes what the step-by-step loop computes, and when the epoch
is compiled with XLA."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fcbaseline import data
from fcbaseline.assemble import assemble
from fcbaseline.config import validate
from fcbaseline.evaluation import evaluate
from fcbaseline.models import build_model
from fcbaseline.training import loop
from fcbaseline.training.epoch import make_epoch, seed_everything, step_uses_xla
from tests.helpers import compose_config


def train_digits(folder, overrides, extra_callbacks=None):
    """Train on scikit-learn's digits (test set as validation) with `overrides`; (model, history, status).
    The step-by-step loop, unless `overrides` ask for XLA: compiling the whole-epoch XLA loop takes most of
    a digits run's time here, and test_whole_epoch_xla_loop_matches_the_step_by_step_loop shows both
    compute the same updates."""
    config = compose_config(["dataset=digits", "training.verbose=false", "training.xla=false", *overrides])
    validate(config)
    dataset = data.load_dataset(config.dataset)
    built = assemble(config, dataset, run_dir=folder)
    history, status = loop.fit(
        built.model,
        built.optimizer,
        (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test),
        len(dataset.class_names),
        config.training,
        loop.RunFiles(folder / "checkpoint.npz", folder / "history.csv", ""),
        {**built.callbacks, **(extra_callbacks or {})},
    )
    return built.model, history, status


def kernel_norm(model) -> float:
    return float(sum(np.sum(layer.kernel.numpy() ** 2) for layer in model.layers if hasattr(layer, "kernel")))


def test_dropout_is_active_in_training_only():
    config = compose_config(["dataset=digits", "model.dropout=0.5"])
    model = build_model(config.model, (8, 8), 10)
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.5, 0.5]
    images = np.random.default_rng(0).integers(0, 256, (16, 8, 8), dtype=np.uint8)
    inference = [model(images, training=False).numpy() for _ in range(2)]
    training = [model(images, training=True).numpy() for _ in range(2)]
    assert np.array_equal(inference[0], inference[1])  # no dropout at inference: deterministic
    assert not np.allclose(training[0], inference[0]) and not np.allclose(training[0], training[1])


def test_dropout_rates_per_layer():
    config = compose_config(["dataset=digits", "model.dropout=[0.1,0.0]"])
    model = build_model(config.model, (8, 8), 10)
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == ["dropout_1"]


@pytest.mark.parametrize(
    "penalty, control",
    [
        (["model.l2=0.01"], []),
        (["optimizer=adamw", "optimizer.weight_decay=0.5"], ["optimizer=adamw", "optimizer.weight_decay=0.0"]),
    ],
    ids=["l2", "adamw_weight_decay"],
)
def test_penalties_shrink_the_weights_against_an_identical_run_without(tmp_path, penalty, control):
    common = ["training.epochs=5", "model.activation=relu"]
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    penalized, history, _ = train_digits(tmp_path / "a", [*common, *penalty])
    plain, plain_history, _ = train_digits(tmp_path / "b", [*common, *control])
    # decay per step (1 - 2 lr l2) for L2 with SGD, (1 - lr wd) for AdamW: over 215 steps the squared
    # norm shrinks by about 8% and 19%; without the penalty in the step, the two runs would be equal
    ratio = kernel_norm(penalized) / kernel_norm(plain)
    assert ratio < 0.95, ratio
    if penalty == ["model.l2=0.01"]:  # the penalty is part of the loss the step minimizes and reports
        assert sum(float(loss) for loss in penalized.losses) > 0.05
        assert history["loss"][0] > plain_history["loss"][0] + 0.05


def test_batch_norm_learns_statistics_and_predicts_deterministically(tmp_path):
    model, history, status = train_digits(tmp_path, ["training.epochs=3", "model.batch_norm=true", "optimizer=adam"])
    assert status == "completed" and history["val_accuracy"][-1] > 0.8
    normalization = model.get_layer("batch_norm_1")
    assert np.abs(normalization.moving_mean.numpy()).max() > 0  # updated by the training steps
    assert model.get_layer("hidden_1").use_bias is False  # the normalization's beta replaces the bias
    images = data.load_dataset(compose_config(["dataset=digits"]).dataset).x_test[:32]
    assert np.array_equal(model(images, training=False).numpy(), model(images, training=False).numpy())


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["optimizer.schedule.name=step", "optimizer.schedule.decay_epochs=2"], [0.01, 0.01, 0.005, 0.005, 0.0025]),
        (
            ["optimizer.schedule.name=exponential", "optimizer.schedule.decay_epochs=1"],
            [0.01, 0.005, 0.0025, 0.00125, 0.000625],
        ),
        (["optimizer.schedule.name=cosine", "optimizer.schedule.warmup_epochs=2"], [0.0, 0.005, 0.01, 0.0075, 0.0025]),
        (
            ["optimizer.schedule.name=cosine", "optimizer.schedule.final_lr_fraction=0.1"],
            [0.01, 0.00914, 0.00689, 0.00411, 0.00186],
        ),
    ],
    ids=["step", "exponential", "cosine_warmup", "cosine_floor"],
)
def test_schedules_give_the_learning_rate_of_each_epoch(tmp_path, overrides, expected):
    _, history, _ = train_digits(tmp_path, ["training.epochs=5", *overrides])
    assert history["learning_rate"] == pytest.approx(expected, abs=1e-4)
    assert (tmp_path / "history.csv").read_text().splitlines()[0].split(",")[5] == "learning_rate"


def test_plateau_schedule_lowers_the_rate_when_the_watched_figure_stalls(tmp_path):
    overrides = ["training.epochs=8", "optimizer.lr=2.0", "optimizer.schedule.name=plateau"]  # SGD at 2.0 overshoots
    overrides += ["optimizer.schedule.patience=0", "optimizer.schedule.factor=0.1", "optimizer.schedule.monitor=loss"]
    _, history, _ = train_digits(tmp_path, overrides)
    rates, losses = history["learning_rate"], history["loss"]
    assert rates[0] == pytest.approx(2.0) and min(rates) < 2.0
    for epoch in range(1, len(rates)):  # a reduction (by the factor) only after an epoch that did not improve
        assert rates[epoch] == pytest.approx(rates[epoch - 1]) or rates[epoch] == pytest.approx(0.1 * rates[epoch - 1])
        if rates[epoch] < rates[epoch - 1]:
            assert epoch >= 2 and losses[epoch - 1] >= min(losses[: epoch - 1])


def test_early_stopping_stops_and_restores_the_best_weights(tmp_path):
    # min_delta 0.5: only the first epoch counts as an improvement, so training stops after patience 2
    overrides = ["training.epochs=20", "training.callbacks=[early_stopping]", "training.early_stopping.patience=2"]
    overrides += ["training.early_stopping.min_delta=0.5", "training.early_stopping.monitor=val_accuracy"]
    model, history, status = train_digits(tmp_path, overrides)
    assert status == "completed" and history["epoch"] == [1, 2, 3]
    dataset = data.load_dataset(compose_config(["dataset=digits"]).dataset)
    evaluation = evaluate(model, dataset.x_test, dataset.y_test, dataset.class_names)
    assert evaluation.accuracy == pytest.approx(history["val_accuracy"][0], abs=1e-6)  # the weights of epoch 1, not 3
    assert history["val_accuracy"][2] != history["val_accuracy"][0]


class RecordingCallback(keras.callbacks.Callback):
    """A user's own callback, unmodified Keras API: records what it is given and stops after epoch 2."""

    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"end {epoch} {sorted(logs)}")
        if epoch == 1:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.events.append("train_end")


def test_user_callbacks_get_the_keras_protocol_and_may_stop_training(tmp_path):
    recorder = RecordingCallback()
    _, history, status = train_digits(tmp_path, ["training.epochs=5"], {"recorder": recorder})
    keys = ["accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
    assert recorder.events == ["train_begin", "begin 0", f"end 0 {keys}", "begin 1", f"end 1 {keys}", "train_end"]
    assert status == "completed" and history["epoch"] == [1, 2]


def test_model_checkpoint_keeps_the_best_epoch_as_a_standalone_model(tmp_path):
    overrides = ["training.epochs=4", "training.callbacks=[model_checkpoint]", "optimizer.lr=3.0"]
    model, history, _ = train_digits(tmp_path, overrides)
    best = keras.models.load_model(tmp_path / "best_model.keras")
    dataset = data.load_dataset(compose_config(["dataset=digits"]).dataset)
    _, accuracy = best.evaluate(dataset.x_test, keras.utils.to_categorical(dataset.y_test, 10), verbose=0)
    assert accuracy == pytest.approx(max(history["val_accuracy"]), abs=1e-6)


# ---------------------------------------------------------------- the compiled epoch


def test_whole_epoch_xla_loop_matches_the_step_by_step_loop():
    """The same updates with and without XLA, the last, shorter batch included."""
    config = compose_config(["dataset=digits"])
    dataset = data.load_dataset(config.dataset)
    assert len(dataset.y_train) % 64, "the last batch must be shorter than the others"
    results = {}
    for xla in (True, False):
        seed_everything(7)
        model = build_model(config.model, dataset.image_shape, 10)
        optimizer = keras.optimizers.SGD(0.05)
        x, y = tf.convert_to_tensor(dataset.x_train), tf.one_hot(dataset.y_train, 10)
        run_epoch = make_epoch(model, optimizer, keras.losses.CategoricalCrossentropy(), len(y), 64, xla)
        order = np.random.default_rng(0)
        seed = tf.constant([7, 1], tf.int64)
        epochs = [run_epoch(tf.constant(order.permutation(len(y))), x, y, seed) for _ in range(3)]
        figures = [[float(value) for value in epoch] for epoch in epochs]
        results[xla] = (figures, [weight.copy() for weight in model.get_weights()], int(optimizer.iterations))
    assert results[True][2] == results[False][2] == 3 * -(-len(dataset.y_train) // 64)  # every batch, once
    np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-5)
    for with_xla, without in zip(results[True][1], results[False][1]):
        np.testing.assert_allclose(with_xla, without, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "overrides, compiled",
    [
        ([], True),  # automatic, no dropout: the whole epoch under XLA
        (["model.dropout=0.3"], False),  # automatic, dropout: XLA's random bits are slow on CPU
        (["model.dropout=[0.0,0.3]"], False),  # one dropout layer is enough
        (["model.dropout=0.3", "training.xla=true"], True),  # an explicit choice wins
        (["training.xla=false"], False),
    ],
    ids=["auto", "auto_dropout", "auto_one_dropout_layer", "forced_on", "forced_off"],
)
def test_xla_is_automatic_on_the_built_model_unless_set(overrides, compiled):
    config = compose_config(["dataset=digits", *overrides])
    assert compose_config().training.xla is None  # the default is the automatic choice
    model = build_model(config.model, (8, 8), 10)
    assert step_uses_xla(model, config.training) is compiled
