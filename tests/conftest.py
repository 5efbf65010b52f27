"""Shared helpers: where the real datasets are, Hydra composition, and running the CLI for real."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fcbaseline.config import compose_config  # noqa: F401  (the tests' way to compose, re-exported)

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FCBASELINE_DATA_DIR") or REPOSITORY.parent / "shared" / "datasets")
MNIST_DIR = SHARED_DATA / "mnist"
CIFAR10_DIR = SHARED_DATA / "cifar10" / "cifar-10-batches-py"

needs_mnist = pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"real MNIST not found at {MNIST_DIR}")
needs_cifar10 = pytest.mark.skipif(not CIFAR10_DIR.is_dir(), reason=f"real CIFAR-10 not found at {CIFAR10_DIR}")


def run_cli(arguments, cwd: Path, data_dir=SHARED_DATA, extra_environment=None, timeout=900):
    """Run `python -m fcbaseline` in a subprocess, as a user would; returns the CompletedProcess."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HYDRA_")}
    environment["KERAS_HOME"] = str(cwd / "keras_home")  # never read or touch the real ~/.keras in tests
    if data_dir is not None:
        environment["FCBASELINE_DATA_DIR"] = str(data_dir)
    else:
        environment.pop("FCBASELINE_DATA_DIR", None)
    environment.update(extra_environment or {})
    return subprocess.run(
        [sys.executable, "-m", "fcbaseline", *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_directories(cwd: Path):
    """Single-run directories created under cwd/outputs/runs, oldest first."""
    return sorted(path.parent for path in (cwd / "outputs" / "runs").glob("*/*/metrics.json"))


def read_metrics(run_directory: Path) -> dict:
    return json.loads((run_directory / "metrics.json").read_text())
