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
from hydra.types import RunMode  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from fcbaseline import data, resume  # noqa: E402
from fcbaseline.config import ConfigError, config_dir, register_configs, validate  # noqa: E402
from fcbaseline.files import OutputError, read_json, write_json, write_text  # noqa: E402
from fcbaseline.summarize import SummaryCallback  # noqa: E402

log = logging.getLogger("fcbaseline")


def check_backend() -> None:
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise ConfigError(
            f"KERAS_BACKEND={backend}: fcbaseline trains with TensorFlow's compiled functions. "
            f"Unset KERAS_BACKEND or set it to 'tensorflow'."
        )


def thread_budget(config: DictConfig):
    """TensorFlow threads for this job: training.threads, else a fair share of the cores when a launcher
    runs jobs side by side (otherwise every job starts a thread per core and they fight), else None."""
    if config.training.threads:
        return config.training.threads
    hydra_config = HydraConfig.get()
    launcher = hydra_config.runtime.choices.get("hydra/launcher") or ""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if launcher == "joblib":
        parallel = hydra_config.launcher.n_jobs
        return max(1, cores // (cores if parallel < 1 else min(parallel, cores)))
    if launcher.startswith("ray"):
        return max(1, int(hydra_config.launcher.ray.remote.get("num_cpus") or 1))
    return None


def run(config: DictConfig, output_dir: Path) -> float:
    """One training run into `output_dir`; returns the best validation accuracy (a sweeper's objective)."""
    started = time.perf_counter()
    checkpoint = None
    overrides = list(HydraConfig.get().overrides.task)
    if config.resume and HydraConfig.get().mode == RunMode.MULTIRUN:
        action, found = resume.sweep_job(config, output_dir, overrides)
        if action == "skip":
            log.info(f"job {HydraConfig.get().job.num} already completed with this config; kept as it is")
            return found["best_val_accuracy"]
        checkpoint = found
    elif config.resume:
        config, checkpoint = resume.single_run(config, output_dir, overrides)
        validate(config)
    metrics_path = output_dir / "metrics.json"
    dataset = data.load_dataset(config.dataset)
    log.info(
        f"{dataset.name}: {len(dataset.y_train)} training and {len(dataset.y_test)} test images from {dataset.source}"
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

    threads = thread_budget(config)
    if threads:  # read by TensorFlow when it starts, which is below
        os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    # TensorFlow is imported only now, after the config and the data have passed their checks.
    from fcbaseline import model as model_builder
    from fcbaseline import train

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
        "threads": threads,
        "validation": config.training.validation,
        "training_samples": len(y_train),
        "validation_samples": len(y_valid),
        "test_samples": len(dataset.y_test),
        "overrides": overrides,
        "pid": os.getpid(),  # with host: lets a sweep summary tell a running job from a killed one
        "host": platform.node(),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": train.tf.__version__,
            "keras": train.keras.__version__,
        },
    }
    write_json(metrics_path, {"status": "running", **summary})
    log.info(f"model {architecture}, {summary['parameters']:,} parameters, optimizer {config.optimizer.name}")

    history, status = train.fit(
        model,
        optimizer,
        (x_train, y_train, x_valid, y_valid),
        num_classes,
        config.training,
        output_dir / resume.CHECKPOINT,
        OmegaConf.to_yaml(config, resolve=True),
        resume_from=checkpoint,
    )

    from fcbaseline import report  # matplotlib and scikit-learn: imported after training, off the start-up path

    test_loss, test_accuracy, probabilities = train.make_evaluator(model, num_classes)(dataset.x_test, dataset.y_test)
    predicted = probabilities.argmax(axis=1)
    report_text, per_class = report.classification_summary(dataset.y_test, predicted, dataset.class_names)
    log.info(f"classification report on the {dataset.name} test set:\n{report_text}")
    write_text(output_dir / "classification_report.txt", report_text)
    report.write_history(output_dir / "history.csv", history)
    title = f"{dataset.name}, {architecture}, {config.optimizer.name} lr={config.optimizer.lr}"
    report.plot_history(output_dir / "training_plot.png", history, title)
    report.plot_confusion_matrix(
        output_dir / "confusion_matrix.png", dataset.y_test, predicted, dataset.class_names, title
    )
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
    write_json(metrics_path, metrics)
    log.info(
        f"{status}: test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f} after {metrics['epochs_run']} "
        f"epochs in {metrics['wall_time_seconds']:.1f}s; results in {output_dir}"
    )
    if status == "interrupted":  # the conventional 128 + signal number, so shells and schedulers see why
        log.warning(f"interrupted: continue with  python -m fcbaseline resume={output_dir}")
        sys.exit(128 + train.StopRequests.last_signal)
    return best_val_accuracy if best_val_accuracy is not None else float("nan")


def record_failure(output_dir: Path, error: BaseException) -> None:
    """Keep the reason of a failed run in its metrics.json, beside what the run had already recorded."""
    metrics = read_json(output_dir / "metrics.json")
    metrics.update(
        status="failed",
        error=f"{type(error).__name__}: {error}",
        traceback="".join(traceback.format_exception(type(error), error, error.__traceback__)),
    )
    try:
        write_json(output_dir / "metrics.json", metrics)
    except OutputError:
        pass  # the folder cannot take even this (a full disk): the console error is the record


register_configs()
task_started = False  # set once Hydra has composed a config and handed it to `main`


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(config: DictConfig) -> float:
    global task_started
    task_started = True
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    in_sweep = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        check_backend()
        validate(config)
        return run(config, output_dir)
    except Exception as error:
        if not (config.resume and isinstance(error, ConfigError)):  # a refused resume leaves the run as it was
            record_failure(output_dir, error)
        expected = isinstance(error, (ConfigError, data.DataError, OutputError))
        if expected:  # a usage or data problem: one clear paragraph; HYDRA_FULL_ERROR=1 adds the traceback
            log.error(str(error))
        else:
            log.exception(f"the run failed: {type(error).__name__}: {error}")
        if in_sweep:  # one failed job must not stop the others; the sweep summary reports it
            return float("nan")
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not expected:
            raise
        sys.exit(2 if isinstance(error, ConfigError) else 1)


def cli() -> None:
    """`python -m fcbaseline` and the `fcbaseline` command: Hydra's main, exiting 2 on usage errors.

    Hydra exits 1 both for an override it cannot compose and for a run that fails; anything that
    stops before a config reached `main` is a usage or config error, and gets the usual status 2.
    """
    try:
        main()
    except SystemExit as exit:
        if exit.code == 1 and not (task_started or SummaryCallback.sweep_started):
            sys.exit(2)
        raise


if __name__ == "__main__":
    cli()
