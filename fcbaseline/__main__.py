"""The Hydra entry point: compose the config, validate it, then load data, build, train and report.

    python -m fcbaseline                               # the MNIST recipe
    python -m fcbaseline dataset=cifar10               # the CIFAR-10 recipe
    python -m fcbaseline -m 'model.hidden_sizes=[256,128],[512,256]'
"""

import logging
import os
import platform
import sys
import time
import traceback
from pathlib import Path

# TensorFlow's C++ start-up chatter (CUDA probing on a CPU machine, CPU feature notes) hides the
# run's own log; errors still surface as Python exceptions. An explicit user setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from fcbaseline import data  # noqa: E402
from fcbaseline.config import ConfigError, register_configs, validate  # noqa: E402

log = logging.getLogger("fcbaseline")


def config_dir() -> str:
    """`conf/` beside the package in a clone; `fcbaseline/conf/` inside an installed wheel."""
    packaged = Path(__file__).parent / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).parent.parent / "conf")


def check_backend() -> None:
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise ConfigError(
            f"KERAS_BACKEND={backend}: fcbaseline trains with TensorFlow's compiled functions. "
            f"Unset KERAS_BACKEND or set it to 'tensorflow'."
        )


def run(config: DictConfig, output_dir: Path) -> float:
    """One training run into `output_dir`; returns the best validation accuracy (a sweeper's objective)."""
    started = time.perf_counter()
    metrics_path = output_dir / "metrics.json"
    dataset = data.load_dataset(config.dataset)
    log.info(
        f"{dataset.name}: {len(dataset.y_train)} training and {len(dataset.y_test)} test images "
        f"from {dataset.source}"
    )
    x_train, y_train = dataset.x_train, dataset.y_train
    if config.training.validation == "split":
        x_train, y_train, x_valid, y_valid = data.validation_split(
            x_train, y_train, config.training.validation_fraction, config.training.seed
        )
    else:  # the recipes validate on the test set, as the original tutorials do
        x_valid, y_valid = dataset.x_test, dataset.y_test
    if config.training.batch_size > len(y_train):
        raise ConfigError(
            f"training.batch_size={config.training.batch_size} is larger than the {len(y_train)} training "
            f"images of {dataset.name}; choose a batch size of at most {len(y_train)}."
        )

    # TensorFlow is imported only now, after the config and the data have passed their checks.
    from fcbaseline import model as model_builder
    from fcbaseline import report, train

    train.seed_everything(config.training.seed)
    num_classes = len(dataset.class_names)
    input_dim = x_train.shape[1]
    model = model_builder.build_model(config.model, input_dim, num_classes)
    optimizer = model_builder.OPTIMIZERS[config.optimizer.name](config.optimizer)
    architecture = model_builder.describe(config.model, input_dim, num_classes)
    summary = {
        "dataset": dataset.name,
        "data_source": dataset.source,
        "architecture": architecture,
        "parameters": int(model.count_params()),
        "optimizer": OmegaConf.to_container(config.optimizer, resolve=True),
        "batch_size": config.training.batch_size,
        "epochs_planned": config.training.epochs,
        "seed": config.training.seed,
        "validation": config.training.validation,
        "training_samples": len(y_train),
        "validation_samples": len(y_valid),
        "test_samples": len(dataset.y_test),
        "overrides": list(HydraConfig.get().overrides.task),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": train.tf.__version__,
            "keras": train.keras.__version__,
        },
    }
    report.write_json(metrics_path, {"status": "running", **summary})
    log.info(f"model {architecture}, {summary['parameters']:,} parameters, optimizer {config.optimizer.name}")

    history, status = train.fit(model, optimizer, x_train, y_train, x_valid, y_valid, num_classes, config.training)

    test_loss, test_accuracy, probabilities = train.make_evaluator(model, num_classes)(dataset.x_test, dataset.y_test)
    predicted = probabilities.argmax(axis=1)
    report_text, per_class = report.classification_summary(dataset.y_test, predicted, dataset.class_names)
    log.info(f"classification report on the {dataset.name} test set:\n{report_text}")
    report.write_text(output_dir / "classification_report.txt", report_text)
    report.write_history(output_dir / "history.csv", history)
    title = f"{dataset.name}, {architecture}, {config.optimizer.name} lr={config.optimizer.lr}"
    report.plot_history(output_dir / "training_plot.png", history, title)
    report.plot_confusion_matrix(output_dir / "confusion_matrix.png", dataset.y_test, predicted, dataset.class_names, title)
    report.save_model(output_dir / "model.keras", model)

    best_val_accuracy, best_val_epoch = report.best_epoch(history)
    epoch_seconds = sorted(history["seconds"])
    metrics = {
        "status": status,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "best_val_accuracy": best_val_accuracy,
        "best_val_epoch": best_val_epoch,
        "final_val_accuracy": history["val_accuracy"][-1] if history["epoch"] else None,
        "epochs_run": len(history["epoch"]),
        "wall_time_seconds": round(time.perf_counter() - started, 3),
        "median_epoch_seconds": round(epoch_seconds[len(epoch_seconds) // 2], 4) if epoch_seconds else None,
        **summary,
        "classification_report": per_class,
    }
    report.write_json(metrics_path, metrics)
    log.info(
        f"{status}: test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f} after {metrics['epochs_run']} "
        f"epochs in {metrics['wall_time_seconds']:.1f}s; results in {output_dir}"
    )
    return best_val_accuracy if best_val_accuracy is not None else float("nan")


def record_failure(output_dir: Path, error: BaseException) -> None:
    """Keep the reason of a failed run beside its other files, without hiding what was already there."""
    from fcbaseline.report import write_json

    metrics_path = output_dir / "metrics.json"
    try:
        import json

        previous = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    except ValueError:
        previous = {}
    previous.update(
        status="failed",
        error=f"{type(error).__name__}: {error}",
        traceback="".join(traceback.format_exception(type(error), error, error.__traceback__)),
    )
    write_json(metrics_path, previous)


register_configs()


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(config: DictConfig) -> float:
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        check_backend()
        validate(config)
        return run(config, output_dir)
    except (ConfigError, data.DataError) as error:
        # A usage or data problem: one clear paragraph, no traceback (HYDRA_FULL_ERROR=1 shows one).
        record_failure(output_dir, error)
        log.error(str(error))
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        sys.exit(2 if isinstance(error, ConfigError) else 1)
    except Exception as error:
        record_failure(output_dir, error)
        raise


if __name__ == "__main__":
    main()
