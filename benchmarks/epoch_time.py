"""Epoch time, start-up time and peak memory of fcbaseline against plain Keras and the arithmetic floor.

    python benchmarks/epoch_time.py                      # both recipes, real data from $FCBASELINE_DATA_DIR
    python benchmarks/epoch_time.py --recipes mnist --epochs 8

For each recipe, in one run on this machine:
  (a) fcbaseline as a user runs it (`python -m fcbaseline dataset=... training.epochs=N`), per-epoch
      seconds from its history.csv (training plus the per-epoch validation pass, as in model.fit);
  (b) the plain Keras script of the recipe (benchmarks/plain_keras.py: `model.fit` on NumPy arrays);
  (c) the arithmetic floor: counted FLOPs / the best float32 matrix-product rate measured here.
Epoch times are medians over the epochs after the first (warm-up). Start-up is command start to the
first training step; peak memory is the child process's maximum resident set size.
When CIFAR-10 is not found, CIFAR-shaped random data is written to a temporary folder in the official
pickle format (timing does not depend on pixel values).
"""

import argparse
import csv
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parent.parent
RECIPES = {  # name: (layer sizes, batch size, training samples, validation samples)
    "mnist": ([784, 256, 128, 10], 128, 60000, 10000),
    "cifar10": ([3072, 1024, 512, 10], 32, 50000, 10000),
}


def run_measured(command, environment):
    """Run `command`; return (stdout, start time, peak RSS of this child alone in MB)."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.time()
        process = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)  # reaps the child and returns its own resource usage
        if status != 0:
            stderr.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n{stderr.read().decode()[-3000:]}")
        stdout.seek(0)
        return stdout.read().decode(), started, usage.ru_maxrss / 1024


def matmul_rate_gflops() -> float:
    """The best float32 matrix-product rate here, NumPy or TensorFlow, on shapes like the recipes'."""
    import tensorflow as tf

    rates = []
    for rows, inner, outer in [(2048, 2048, 2048), (128, 784, 256), (32, 3072, 1024), (512, 3072, 1024)]:
        a = np.random.rand(rows, inner).astype(np.float32)
        b = np.random.rand(inner, outer).astype(np.float32)
        repeats = max(3, int(2e10 / (2 * rows * inner * outer)))
        for multiply in (lambda: a @ b, lambda: tf.linalg.matmul(a_tensor, b_tensor).numpy()):
            a_tensor, b_tensor = tf.constant(a), tf.constant(b)
            multiply()
            started = time.perf_counter()
            for _ in range(repeats):
                multiply()
            rates.append(2 * rows * inner * outer * repeats / (time.perf_counter() - started) / 1e9)
    return max(rates)


def floor_seconds(name: str, rate_gflops: float) -> float:
    """Forward + backward (3 matrix products per layer) on the training set, forward on validation."""
    sizes, _, train_samples, valid_samples = RECIPES[name]
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    flops = 6 * weights * train_samples + 2 * weights * valid_samples
    return flops / (rate_gflops * 1e9)


def log_time(line: str) -> float:
    stamp = line[1 : line.index("]")]
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def measure_fcbaseline(name: str, epochs: int, environment, output_root: Path):
    run_directory = output_root / f"fcbaseline_{name}"
    command = [
        sys.executable,
        "-m",
        "fcbaseline",
        f"dataset={name}",
        f"training.epochs={epochs}",
        f"hydra.run.dir={run_directory}",
    ]
    _, started, peak_mb = run_measured(command, environment)
    with open(run_directory / "history.csv") as file:
        seconds = [float(row["seconds"]) for row in csv.DictReader(file)]
    first_step = next(
        log_time(line)
        for line in (run_directory / "fcbaseline.log").read_text().splitlines()
        if "] - training:" in line
    )
    return {"epoch_seconds": seconds, "startup_seconds": first_step - started, "peak_rss_mb": peak_mb}


def measure_plain_keras(name: str, epochs: int, environment):
    command = [sys.executable, "benchmarks/plain_keras.py", name, str(epochs)]
    stdout, started, peak_mb = run_measured(command, environment)
    result = json.loads(stdout.strip().splitlines()[-1])
    return {
        "epoch_seconds": result["seconds"],
        "startup_seconds": result["first_step"] - started,
        "peak_rss_mb": peak_mb,
    }


def write_random_cifar(folder: Path) -> None:
    generator = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for batch in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        content = {
            b"data": generator.integers(0, 256, (10000, 3072), dtype=np.uint8),
            b"labels": generator.integers(0, 10, 10000).tolist(),
        }
        (folder / batch).write_bytes(pickle.dumps(content, protocol=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--epochs", type=int, default=None, help="epochs per measurement (default: mnist 6, cifar10 4)")
    arguments = parser.parse_args()

    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPOSITORY))
    environment.setdefault("FCBASELINE_DATA_DIR", str(REPOSITORY.parent / "shared" / "datasets"))
    rate = matmul_rate_gflops()
    print(f"machine: {os.cpu_count()} cores, best float32 matrix product {rate:.0f} GFLOP/s")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        cifar_dir = Path(environment["FCBASELINE_DATA_DIR"]) / "cifar10" / "cifar-10-batches-py"
        if "cifar10" in arguments.recipes and not cifar_dir.is_dir():
            write_random_cifar(scratch / "data" / "cifar10" / "cifar-10-batches-py")
            environment["FCBASELINE_DATA_DIR"] = str(scratch / "data")
            print("CIFAR-10 not found: timing on CIFAR-shaped random data")
        rows = []
        for name in arguments.recipes:
            epochs = arguments.epochs or {"mnist": 6, "cifar10": 4}[name]
            ours = measure_fcbaseline(name, epochs, environment, scratch)
            plain = measure_plain_keras(name, epochs, environment)
            floor = floor_seconds(name, rate)
            ours_epoch = statistics.median(ours["epoch_seconds"][1:])
            plain_epoch = statistics.median(plain["epoch_seconds"][1:])
            row = {
                "recipe": name,
                "fcbaseline_epoch_s": ours_epoch,
                "plain_keras_epoch_s": plain_epoch,
                "floor_epoch_s": floor,
                "fcbaseline/plain_keras": ours_epoch / plain_epoch,
                "fcbaseline/floor": ours_epoch / floor,
                "fcbaseline_startup_s": ours["startup_seconds"],
                "plain_keras_startup_s": plain["startup_seconds"],
                "fcbaseline_peak_rss_mb": ours["peak_rss_mb"],
                "plain_keras_peak_rss_mb": plain["peak_rss_mb"],
            }
            rows.append(row)
            print(
                json.dumps(
                    {
                        "recipe": name,
                        "fcbaseline_epochs": ours["epoch_seconds"],
                        "plain_keras_epochs": plain["epoch_seconds"],
                    }
                )
            )
    print()
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print(
            "| "
            + " | ".join(f"{value:.3g}" if isinstance(value, float) else str(value) for value in row.values())
            + " |"
        )


if __name__ == "__main__":
    main()
