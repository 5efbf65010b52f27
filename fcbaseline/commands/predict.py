"""`fcbaseline predict <run dir> <image files or folders> [--top K] [--model FILE]`

Classifies new images with a finished run's model: each image is converted as in training (the
model's image size, grayscale for an H x W input and RGB for H x W x 3), and for each the top-K
classes and probabilities are printed and written to <run dir>/predictions/<time>/predictions.csv (or
to the --output folder, e.g. when the run folder is read-only; checked before any work). Works for every
dataset, e.g. a PNG of a handwritten digit on an MNIST run.
"""

import argparse
import csv
import io
import sys
from datetime import datetime
from pathlib import Path
from typing import List

import numpy as np

from fcbaseline import exits, quiet
from fcbaseline.config import ConfigError
from fcbaseline.data import DataError
from fcbaseline.data.folders import IMAGE_SUFFIXES, decode
from fcbaseline.exits import ExitCode
from fcbaseline.files import OutputError, check_creatable, make_folder, write_text
from fcbaseline.reading import describe, load_keras_model, read_json_object
from fcbaseline.rundir import METRICS, MODEL

PREDICTIONS = "predictions.csv"


def parse_arguments(arguments):
    parser = argparse.ArgumentParser(prog="fcbaseline predict", description="Classify images with a run's model.")
    parser.add_argument("run_dir", type=Path, help="the run directory (it holds model.keras and metrics.json)")
    parser.add_argument("images", nargs="+", type=Path, help="image files, or folders searched for images")
    parser.add_argument("--top", type=int, default=1, help="how many classes to give per image (default 1)")
    parser.add_argument("--model", default=MODEL, help="model file in the run directory")
    parser.add_argument(
        "--output", type=Path, help="folder for predictions.csv (default: <run dir>/predictions/<time>/)"
    )
    return parser.parse_args(arguments)


def image_files(arguments: List[Path]) -> List[Path]:
    found = []
    for path in arguments:
        if path.is_dir():
            found += sorted(item for item in path.rglob("*") if item.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists() or path.is_symlink():
            found.append(path)
        else:
            raise ConfigError(f"{path} does not exist: give image files or folders of images.")
    if not found:
        raise ConfigError(f"No PNG, JPEG, BMP or GIF image in {', '.join(map(str, arguments))}.")
    for item in found:  # before any is opened: a pipe named like an image would block the read
        if not item.is_file():
            raise DataError(
                f"Cannot read the image {item}: it is a link to nothing, or not a regular file (a pipe, socket or "
                f"device). Remove it, or leave it out of the command."
            )
    return found


def load_images(paths: List[Path], input_shape) -> np.ndarray:
    """Decode each image as training saw its data: the model's height and width, grey or RGB."""
    if len(input_shape) not in (2, 3):
        raise ConfigError(
            f"This model takes inputs of shape {input_shape} (feature vectors or flat vectors), not images, and "
            f"predict classifies image files. Predict on such arrays in Python: "
            f"keras.saving.load_model('<run dir>/model.keras').predict(x) gives one probability per class."
        )
    color_mode = "grayscale" if len(input_shape) == 2 else "rgb"
    images = []
    for path in paths:
        try:
            images.append(decode(path, color_mode, tuple(input_shape[:2])))
        except Exception as error:
            raise DataError(
                f"Cannot read the image {path} ({describe(error)}). Replace it, or leave it out of the command."
            ) from None
    return np.stack(images)


def predict(run_dir: Path, paths: List[Path], top: int, model_file: str, output=None) -> Path:
    model_path = run_dir / model_file
    if not model_path.is_file() or not (run_dir / METRICS).is_file():
        raise ConfigError(f"{run_dir} is not a finished fcbaseline run (it needs {model_file} and {METRICS}).")
    fix = f"Point predict at a finished fcbaseline run, or restore its {METRICS} from a backup."
    metrics = read_json_object(run_dir / METRICS, "a run's metrics.json", fix)
    if not isinstance(metrics.get("class_names"), list):
        raise ConfigError(f"{run_dir / METRICS} names no classes: predict needs a finished run.")
    files = image_files(paths)
    folder = output or run_dir / "predictions" / f"{datetime.now():%Y-%m-%d_%H-%M-%S_%f}"
    if output is not None and (output / PREDICTIONS).exists():
        raise ConfigError(f"--output {output} already holds {PREDICTIONS}; give a new or empty folder.")
    check_creatable(folder, "Give a folder you can write with --output <folder>.")
    quiet.import_tensorflow()  # after the checks: TensorFlow takes seconds to start

    model = load_keras_model(model_path, "Predict with another run, or train this one again.")
    if model.output_shape[-1] != len(metrics["class_names"]):
        raise DataError(
            f"{model_path} gives {model.output_shape[-1]} classes but {run_dir / METRICS} names "
            f"{len(metrics['class_names'])}: they come from different runs. Restore the run's own files."
        )
    images = load_images(files, tuple(model.input_shape[1:]))
    probabilities = model.predict(images, batch_size=256, verbose=0)
    names, top = metrics["class_names"], max(1, min(top, len(metrics["class_names"])))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", *[f"{kind}_{rank}" for rank in range(1, top + 1) for kind in ("class", "probability")]])
    for path, row in zip(files, probabilities):
        best = np.argsort(row)[::-1][:top]
        writer.writerow([str(path), *[value for index in best for value in (names[index], f"{row[index]:.6f}")]])
        print(f"{path}: " + ", ".join(f"{names[index]} ({row[index]:.4f})" for index in best))
    make_folder(folder, "Give a folder you can write with --output.")
    write_text(folder / PREDICTIONS, buffer.getvalue())
    print(f"{len(files)} images; predictions written to {folder / PREDICTIONS}")
    return folder


def main(arguments) -> int:
    options = parse_arguments(arguments)
    try:
        predict(options.run_dir, options.images, options.top, options.model, options.output)
    except (ConfigError, DataError, OutputError) as error:
        print(str(error), file=sys.stderr)
        return exits.expected_exit(error)
    return ExitCode.OK
