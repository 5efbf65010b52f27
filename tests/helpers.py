"""What the tests share: where the real datasets are, small files written in the genuine formats, running
the CLI for real and reading back what a run or a sweep wrote. Tests import from here
(`from tests.helpers import ...`), never from one another."""

import csv
import gzip
import hashlib
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from fcbaseline import data
from fcbaseline.config import compose_config  # noqa: F401  (the tests' way to compose, re-exported)
from fcbaseline.data.builtin import PACKAGED_MNIST_DIR
from fcbaseline.rundir import HISTORY, METRICS

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FCBASELINE_DATA_DIR") or REPOSITORY.parent / "shared" / "datasets")
# What runs get as $FCBASELINE_DATA_DIR: the shared datasets where they are beside the clone; without
# them, nothing (MNIST comes from the package, CIFAR-10 tests skip).
DATA_ROOT = SHARED_DATA if SHARED_DATA.is_dir() else None
MNIST_DIR = PACKAGED_MNIST_DIR  # the official files, shipped in the package: the MNIST tests always run
CIFAR10_DIR = SHARED_DATA / "cifar10" / "cifar-10-batches-py"

needs_cifar10 = pytest.mark.skipif(not CIFAR10_DIR.is_dir(), reason=f"real CIFAR-10 not found at {CIFAR10_DIR}")


# ---------------------------------------------------------------- the command line, for real


def cli_environment(data_dir=DATA_ROOT, keras_home=None) -> dict:
    """This process's environment for a `python -m fcbaseline` child: no HYDRA_* or MLFLOW_* settings
    of ours, $FCBASELINE_DATA_DIR set to `data_dir` (None: unset), and `keras_home` as $KERAS_HOME when given."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("HYDRA_", "MLFLOW_"))}
    if keras_home is not None:
        environment["KERAS_HOME"] = str(keras_home)
    if data_dir is not None:
        environment["FCBASELINE_DATA_DIR"] = str(data_dir)
    else:
        environment.pop("FCBASELINE_DATA_DIR", None)
    return environment


def run_cli(arguments, cwd: Path, data_dir=DATA_ROOT, extra_environment=None, timeout=900):
    """Run `python -m fcbaseline` in a subprocess, as a user would; returns the CompletedProcess.
    $FCBASELINE_DATA_DIR is `data_dir` (None: unset); Keras' home is private to the test."""
    environment = cli_environment(data_dir, keras_home=cwd / "keras_home")  # never the real ~/.keras
    environment.update(extra_environment or {})
    return subprocess.run(
        [sys.executable, "-m", "fcbaseline", *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_in_process(arguments, environment: dict) -> int:
    """`python -m fcbaseline <arguments>` (or `fcbaseline evaluate ...`) in this process, as the command
    line runs it, with `environment` set for the call; returns its exit status. The caller captures the
    output (pytest's capfd) and sets the working directory."""
    import logging
    from unittest import mock

    from hydra.core.global_hydra import GlobalHydra

    from fcbaseline.__main__ import cli

    saved_argv, saved_environment = sys.argv, dict(os.environ)
    saved_handlers, saved_level = logging.root.handlers[:], logging.root.level
    os.environ.update({key: str(value) for key, value in environment.items()})
    for key in [key for key in os.environ if key.startswith("HYDRA_")]:
        del os.environ[key]
    sys.argv = ["fcbaseline", *arguments]
    # Hydra configures logging with dictConfig, which closes every existing handler, pytest's own capture
    # handlers too (a later write to them fails); here it only forgets them, and Hydra's are closed below.
    forget = mock.patch("logging.config._clearExistingHandlers", logging._handlers.clear)
    try:
        with forget:
            cli()
        return 0
    except SystemExit as exit:
        return 0 if exit.code is None else int(exit.code)
    finally:
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_environment)
        GlobalHydra.instance().clear()  # as a new process would start
        for handler in logging.root.handlers[:]:  # Hydra's, which write to this call's captured streams
            if handler not in saved_handlers:
                logging.root.removeHandler(handler)
                handler.close()
        logging.root.handlers[:] = saved_handlers
        logging.root.setLevel(saved_level)


def run_directories(cwd: Path):
    """Single-run directories created under cwd/outputs/runs, oldest first."""
    return sorted(path.parent for path in (cwd / "outputs" / "runs").glob(f"*/*/{METRICS}"))


def read_metrics(run_directory: Path) -> dict:
    return json.loads((run_directory / METRICS).read_text())


def read_history(run_directory: Path) -> list:
    """history.csv as rows of strings, one dict per epoch."""
    with open(run_directory / HISTORY, newline="") as file:
        return list(csv.DictReader(file))


def history_without_time(run_directory: Path) -> list:
    """history.csv without the wall-clock column: what the same run, or a resumed one, must reproduce."""
    return [{key: value for key, value in row.items() if key != "seconds"} for row in read_history(run_directory)]


def sweep_directory(cwd: Path) -> Path:
    """The one sweep under cwd/outputs/multirun, which must have written its summary."""
    [found] = [path.parent for path in (cwd / "outputs" / "multirun").glob("*/*/summary.csv")]
    return found


def summary_rows(sweep: Path) -> list:
    with open(sweep / "summary.csv", newline="") as file:
        return list(csv.DictReader(file))


# ---------------------------------------------------------------- files, in the genuine formats


def fingerprint(folder: Path) -> dict:
    """Name, size, mtime and sha256 of every file under `folder`: proof nothing was changed."""
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def write_idx(path: Path, array: np.ndarray, magic=None, gzip_it=True) -> None:
    """An IDX file of unsigned bytes (the MNIST format): big-endian magic 0x800 + dims, the dims, the bytes."""
    header = (magic if magic is not None else 0x800 + array.ndim).to_bytes(4, "big")
    header += b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    content = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(content) if gzip_it else content)


def write_idx_dataset(folder: Path, train=12, test=5, classes=10, seed=0) -> dict:
    """The four MNIST-layout files of random images and labels in `folder`; returns the arrays."""
    generator = np.random.default_rng(seed)
    arrays = {
        "train_images": generator.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train_labels": generator.integers(0, classes, train, dtype=np.uint8),
        "test_images": generator.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "test_labels": generator.integers(0, classes, test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        write_idx(folder / data.IDX_FILES[key], array)
    return arrays


def write_cifar_dataset(folder: Path, per_batch=4, seed=0) -> dict:
    """The python-version layout: a protocol-2 pickled dict per batch, rows of 1024 R, G, B values."""
    generator = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in data.CIFAR10_BATCHES:
        rows = generator.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(label) for label in generator.integers(0, 10, per_batch)]
        batch = {b"batch_label": b"test", b"labels": labels, b"data": rows, b"filenames": [b"x.png"] * per_batch}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        written[name] = (rows, labels)
    return written


class Exploit:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def export_png(dataset, folder: Path, count=None, layout="train_test") -> Path:
    """Write a dataset's images as PNG class folders (file names keep the original index); returns the folder."""
    from PIL import Image

    splits = [("train", dataset.x_train, dataset.y_train), ("test", dataset.x_test, dataset.y_test)]
    for split, images, labels in splits:
        for index in range(min(count or len(labels), len(labels))):
            target = folder / split if layout == "train_test" else folder
            class_folder = target / dataset.class_names[labels[index]]
            class_folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[index]).save(class_folder / f"{split}{index:05d}.png")
    return folder


def load_with_cache(overrides, cache_dir: Path):
    """Load the dataset `overrides` compose, through the registry, with the decoded-image cache in `cache_dir`."""
    previous = os.environ.get("FCBASELINE_CACHE_DIR")
    os.environ["FCBASELINE_CACHE_DIR"] = str(cache_dir)
    try:
        return data.load_dataset(compose_config(overrides).dataset)
    finally:
        if previous is None:
            os.environ.pop("FCBASELINE_CACHE_DIR", None)
        else:
            os.environ["FCBASELINE_CACHE_DIR"] = previous


# ---------------------------------------------------------------- servers, started and stopped by process id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(uri: str, server, log_path: Path, path: str = "/health") -> None:
    for _ in range(240):
        if server.poll() is not None:
            pytest.fail(f"the server exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{uri}{path}", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the server did not answer at {uri}: {log_path.read_text()[-2000:]}")


def stop_process_group(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its uvicorn workers, started by this test
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
