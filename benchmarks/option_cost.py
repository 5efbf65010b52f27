"""What each training option costs per epoch, against the plain recipe, in one process and one run.

    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/option_cost.py            # MNIST recipe
    FCBASELINE_DATA_DIR=../shared/datasets python benchmarks/option_cost.py --dataset cifar10 --epochs 3

Each variant trains the recipe through fcbaseline.train.fit (the loop `python -m fcbaseline` uses,
checkpoint and history.csv written every epoch) with one option added; the figure is the median
epoch time after the first (which includes tracing and compilation).
"""

import argparse
import math
import statistics
import tempfile
from pathlib import Path

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
}


def median_epoch_seconds(dataset: str, epochs: int, overrides) -> float:
    from fcbaseline import callbacks, data, train
    from fcbaseline import model as model_builder
    from fcbaseline.config import compose_config, validate

    config = compose_config([f"dataset={dataset}", f"training.epochs={epochs}", "training.verbose=false", *overrides])
    validate(config)
    loaded = data.load_dataset(config.dataset)
    train.seed_everything(config.training.seed)
    steps = math.ceil(len(loaded.y_train) / config.training.batch_size)
    model = model_builder.build_model(config.model, loaded.image_shape, len(loaded.class_names))
    optimizer = model_builder.build_optimizer(config.optimizer, steps, epochs)
    model_builder.compile_model(model, optimizer)
    with tempfile.TemporaryDirectory() as folder:
        built = callbacks.build_callbacks(config.training, config.optimizer.schedule, Path(folder))
        files = train.RunFiles(Path(folder) / "checkpoint.npz", Path(folder) / "history.csv", "")
        splits = (loaded.x_train, loaded.y_train, loaded.x_test, loaded.y_test)
        history, _ = train.fit(model, optimizer, splits, len(loaded.class_names), config.training, files, built)
    return statistics.median(history["seconds"][1:])


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
