"""What each training option costs per epoch, against the plain recipe, in one process and one run.

    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/option_cost.py            # MNIST recipe
    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/option_cost.py --dataset cifar10 --epochs 3

Each variant trains the recipe through fcbaseline.training.loop.fit (the loop `python -m fcbaseline` uses,
checkpoint and history.csv written every epoch) with one option added; the figure is the median wall
time from one epoch's end to the next (training, validation, callbacks, trackers, checkpoint and
history.csv: everything an epoch costs), after the first (which includes tracing and compilation).
The tracking variants write TensorBoard event files, or log to a local MLflow SQLite store, as
`python -m fcbaseline` does with `tracking=tensorboard` / `tracking=mlflow`; the others track nothing.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fcbaseline import quiet

quiet.import_tensorflow()
import keras  # noqa: E402

VARIANTS = {
    "recipe": [],
    "early_stopping": ["training.callbacks=[early_stopping]", "training.early_stopping.patience=100"],
    "model_checkpoint": ["training.callbacks=[model_checkpoint]"],
    "cosine_schedule": ["optimizer.schedule.name=cosine", "optimizer.schedule.warmup_epochs=1"],
    "plateau_schedule": ["optimizer.schedule.name=plateau"],
    "dropout_0.2": ["model.dropout=0.2"],
    "dropout_0.2_with_xla": ["model.dropout=0.2", "training.xla=true"],
    "l2_1e-4": ["model.l2=1e-4"],
    "batch_norm": ["model.batch_norm=true"],
    "adamw": ["optimizer=adamw"],
    "bfloat16": ["training.precision=bfloat16"],
    "bfloat16_without_xla": ["training.precision=bfloat16", "training.xla=false"],
    "float32_without_xla": ["training.xla=false"],
    "tensorboard": ["tracking=tensorboard"],
    "mlflow_local": ["tracking=mlflow"],  # a SQLite store in a temporary folder (below)
    "augment_flip": ["dataset.augment=[flip]"],
    "augment_translate": ["dataset.augment=[translate]"],
    "augment_flip_translate": ["dataset.augment=[flip,translate]"],
    "augment_flip_translate_without_xla": ["dataset.augment=[flip,translate]", "training.xla=false"],
    "dropout_0.1": ["model.dropout=0.1"],  # the stepwise path cifar10_strong_mlp takes, without and with:
    "dropout_0.1_augment_flip_translate": ["model.dropout=0.1", "dataset.augment=[flip,translate]"],
    "linear": ["model.hidden_sizes=[]"],
    "resmlp": ["model=resmlp"],  # 512 wide, 4 blocks of 512-2048-512
    "cnn": ["model=cnn"],  # conv 32-64-128, head 128
}


def median_epoch_seconds(dataset: str, epochs: int, overrides) -> float:
    from fcbaseline.assemble import assemble
    from fcbaseline.config import compose_config, validate
    from fcbaseline.data import load_dataset
    from fcbaseline.tracking.run import RunTracking
    from fcbaseline.training.loop import RunFiles, fit

    with tempfile.TemporaryDirectory() as folder:
        tracking = [o for o in overrides if o.startswith("tracking=")] or ["tracking=none"]
        store = f"tracking.mlflow.tracking_uri=sqlite:///{folder}/mlflow.db"
        settings = [f"dataset={dataset}", f"training.epochs={epochs}", "training.verbose=false", store]
        config = compose_config([*settings, *[o for o in overrides if o not in tracking], *tracking])
        validate(config)
        loaded = load_dataset(config.dataset)
        assembled = assemble(config, loaded, Path(folder))
        trackers = RunTracking(config, Path(folder), None, "benchmark")
        trackers.start()
        clock = EpochClock()
        files = RunFiles(Path(folder) / "checkpoint.npz", Path(folder) / "history.csv", "")
        splits = (loaded.x_train, loaded.y_train, loaded.x_test, loaded.y_test)
        callbacks = {**assembled.callbacks, **trackers.callbacks(), "clock": clock}
        classes = len(loaded.class_names)
        fit(
            assembled.model,
            assembled.optimizer,
            splits,
            classes,
            config.training,
            files,
            callbacks,
            augment=assembled.augment,
        )
        trackers.finish("completed", None)
    return statistics.median(later - earlier for earlier, later in zip(clock.ends[1:], clock.ends[2:]))


class EpochClock(keras.callbacks.Callback):
    """Last in the callback list: when each epoch's callbacks have all run."""

    def __init__(self):
        super().__init__()
        self.ends = [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    options = parser.parse_args()
    results = {name: median_epoch_seconds(options.dataset, options.epochs, VARIANTS[name]) for name in options.variants}
    reference = results.get("recipe")
    print(f"| {options.dataset} variant | s/epoch | vs recipe |\n|---|---|---|")
    for name, seconds in results.items():
        ratio = f"{seconds / reference:.2f} x" if reference else ""
        print(f"| {name} | {seconds:.3f} | {ratio} |")


if __name__ == "__main__":
    main()
