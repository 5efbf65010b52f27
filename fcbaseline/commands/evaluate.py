"""`fcbaseline evaluate <run dir> [dataset=<name>] [dataset.<key>=<value> ...] [--model FILE] [--output DIR]`

Evaluates a finished run's saved model on its dataset's test set, or on another dataset with the same
classes and image shape, without retraining. Writes classification_report.txt, metrics.json and
confusion_matrix.png into <run dir>/evaluations/<dataset>_<time>/ (or the --output folder, e.g. when
the run folder is read-only) and prints the report. Where it writes is checked before any work.
"""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import OmegaConf

from fcbaseline import data, exits, quiet
from fcbaseline.config import ConfigError, compose_config
from fcbaseline.exits import ExitCode
from fcbaseline.files import OutputError, check_creatable, make_folder, write_json, write_text
from fcbaseline.reading import load_keras_model, read_yaml_mapping
from fcbaseline.rundir import CONFUSION_MATRIX, METRICS, MODEL, REPORT, SAVED_CONFIG, RunFolder


def parse_arguments(arguments):
    parser = argparse.ArgumentParser(
        prog="fcbaseline evaluate", description="Evaluate a finished run's model on a test set, without retraining."
    )
    parser.add_argument("run_dir", type=Path, help="the run directory (it holds model.keras and .hydra/)")
    parser.add_argument("overrides", nargs="*", help="dataset=<name> and dataset.<key>=<value> overrides")
    parser.add_argument("--model", default=MODEL, help=f"model file in the run directory (default: {MODEL})")
    parser.add_argument(
        "--output", type=Path, help="folder for the results (default: <run dir>/evaluations/<dataset>_<time>/)"
    )
    return parser.parse_args(arguments)


def saved_config(run_dir: Path):
    fix = f"Point evaluate at an fcbaseline run directory, or restore {SAVED_CONFIG} from a backup."
    return read_yaml_mapping(
        run_dir / SAVED_CONFIG, "the run's saved config", fix, kind=data.DataError, required=("dataset",)
    )


def results_folder(run_dir: Path, output, name: str) -> Path:
    """Where the results go: checked writable, and never a folder that already holds results."""
    folder = output or run_dir / "evaluations" / f"{name}_{datetime.now():%Y-%m-%d_%H-%M-%S_%f}"
    if output is not None and any((output / file).exists() for file in (REPORT, METRICS, CONFUSION_MATRIX)):
        raise ConfigError(f"--output {output} already holds evaluation results; give a new or empty folder.")
    check_creatable(folder, "Give a folder you can write with --output <folder>.")
    return folder


def dataset_config(run_dir: Path, overrides):
    """The run's own dataset config (data folder, image size, colour mode... as it trained), or the one
    `dataset=<name>` chooses; `dataset.<key>=<value>` overrides apply on top of either."""
    for override in overrides:
        if not override.startswith("dataset"):
            raise ConfigError(f"{override}: evaluate takes only dataset=<name> and dataset.<key>=<value> overrides.")
    saved = saved_config(run_dir).dataset
    switching = any(override.startswith("dataset=") for override in overrides)
    try:
        config = compose_config(overrides if switching else [f"dataset={saved.name}", *overrides])
    except HydraException as error:  # an unknown dataset or key: Hydra's own one-paragraph message
        raise ConfigError(str(error)) from None
    if switching:
        return config.dataset
    given = {override.split("=", 1)[0] for override in overrides}
    kept = {key: value for key, value in saved.items() if f"dataset.{key}" not in given and key in config.dataset}
    return OmegaConf.merge(config.dataset, kept)


def check_compatible(model, dataset: data.Dataset, run_classes, model_path: Path) -> None:
    if tuple(model.input_shape[1:]) != tuple(dataset.image_shape):
        raise ConfigError(
            f"{model_path} takes samples of shape {tuple(model.input_shape[1:])}, but {dataset.name} has "
            f"{dataset.image_shape}. Evaluate on a dataset with the run's sample shape."
        )
    if str(model.inputs[0].dtype) != str(dataset.x_test.dtype):  # uint8 images against float feature vectors
        raise ConfigError(
            f"{model_path} takes {model.inputs[0].dtype} samples, but {dataset.name} holds {dataset.x_test.dtype}: "
            f"{'feature vectors' if dataset.features else 'uint8 images'} the model was not trained on. Evaluate "
            f"on data of the run's kind."
        )
    if model.output_shape[-1] != len(dataset.class_names):
        raise ConfigError(
            f"{model_path} gives {model.output_shape[-1]} classes, but {dataset.name} has {len(dataset.class_names)}: "
            f"it is not this run's model. Evaluate the run's own model (--model model.keras)."
        )
    if list(run_classes) != list(dataset.class_names):
        raise ConfigError(
            f"{model_path} was trained on the classes {list(run_classes)}, but {dataset.name} has "
            f"{list(dataset.class_names)}. Evaluate on a dataset with the same classes in the same order."
        )


def evaluate(run_dir: Path, overrides, model_file: str, output=None) -> Path:
    """Evaluate and write the results; returns the folder they went to."""
    model_path = run_dir / model_file
    if not model_path.is_file():
        raise ConfigError(f"{model_path} does not exist: evaluate needs a finished run (one that wrote {model_file}).")
    if not (run_dir / SAVED_CONFIG).is_file():
        raise ConfigError(f"{run_dir} has no {SAVED_CONFIG}: point evaluate at an fcbaseline run directory.")
    recorded = RunFolder(run_dir).metrics().get("class_names")  # image folders and arrays: from the data
    run_classes = recorded or saved_config(run_dir).dataset.class_names
    chosen = dataset_config(run_dir, overrides)
    folder = results_folder(run_dir, output, chosen.name)
    dataset = data.load_dataset(chosen)
    quiet.import_tensorflow()  # after the checks: TensorFlow takes seconds to start

    from fcbaseline import report
    from fcbaseline.evaluation import evaluate as evaluate_model

    model = load_keras_model(model_path, "Evaluate another run, or train this one again.")
    check_compatible(model, dataset, run_classes, model_path)
    result = evaluate_model(model, dataset.x_test, dataset.y_test, dataset.class_names)
    make_folder(folder, "Give a folder you can write with --output.")
    write_text(folder / REPORT, result.report_file)
    title = f"{dataset.name} test set, model {model_path}"
    report.plot_confusion_matrix(
        folder / CONFUSION_MATRIX, dataset.y_test, result.predicted, dataset.class_names, title
    )
    metrics = {
        "model": str(model_path),
        "dataset": dataset.name,
        "data_source": dataset.source,
        "test_samples": len(dataset.y_test),
        "test_accuracy": result.accuracy,
        "test_loss": result.loss,
        "classification_report": result.per_class,
    }
    write_json(folder / METRICS, metrics)
    print(f"{dataset.name} test set, {len(dataset.y_test)} images, model {model_path}:\n{result.report_text}")
    print(f"test accuracy {result.accuracy:.4f}, test loss {result.loss:.4f}; written to {folder}")
    return folder


def main(arguments) -> int:
    options = parse_arguments(arguments)
    if not options.run_dir.is_dir():
        print(f"{options.run_dir} is not a folder: give the directory of a finished fcbaseline run.", file=sys.stderr)
        return ExitCode.USAGE
    try:
        evaluate(options.run_dir, options.overrides, options.model, options.output)
    except (ConfigError, data.DataError, OutputError) as error:
        print(str(error), file=sys.stderr)
        return exits.expected_exit(error)
    return ExitCode.OK
