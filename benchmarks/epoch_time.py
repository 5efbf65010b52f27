"""Epoch time, start-up and peak memory of fcbaseline against plain Keras, plain PyTorch and the arithmetic floor.

    python benchmarks/epoch_time.py                      # both recipes, real data from $FCBASELINE_DATA_DIR
    python benchmarks/epoch_time.py --recipes mnist --epochs 8

For each recipe, in one run on this machine:
  (a) fcbaseline as a user runs it (`python -m fcbaseline dataset=... training.epochs=N`), per-epoch
      seconds from its history.csv (training plus the per-epoch validation pass, as in model.fit);
  (b) the plain Keras script of the recipe (benchmarks/plain_keras.py: `model.fit` on NumPy arrays);
  (c) the same recipe as a plain PyTorch loop (benchmarks/plain_torch.py), when PyTorch is installed;
  (d) the arithmetic floor, FLOPs counted as computed (forward and weight gradient of every layer, input
      gradient of all layers but the first, the validation forward pass), two ways: every product at the
      best speed measured here for its own shape, and all FLOPs at the best rate of a large product.
Epoch times are medians over the epochs after the first (warm-up). Start-up is command start to the
first training step; peak memory is the child process's maximum resident set size.
When CIFAR-10 is not found, CIFAR-shaped random data is written to a temporary folder in the official
pickle format (timing does not depend on pixel values).
"""

import argparse
import csv
import importlib.util
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


EVALUATION_BATCH = 2048  # fcbaseline's validation batch (fcbaseline.training.epoch.EVALUATION_BATCH)
LARGE = (2048, 2048, 2048)  # a product big enough for the best rate this machine reaches


def matmul_seconds(shape) -> float:
    """Best time here for one (rows x inner) @ (inner x outer) float32 product, NumPy or TensorFlow."""
    from fcbaseline import quiet

    quiet.import_tensorflow()
    import tensorflow as tf

    rows, inner, outer = shape
    a = np.random.rand(rows, inner).astype(np.float32)
    b = np.random.rand(inner, outer).astype(np.float32)
    a_tensor, b_tensor = tf.constant(a), tf.constant(b)
    repeats = max(20, int(4e9 / (2 * rows * inner * outer)))
    best = float("inf")
    for multiply in (lambda: a @ b, lambda: tf.linalg.matmul(a_tensor, b_tensor).numpy()):
        multiply()
        started = time.perf_counter()
        for _ in range(repeats):
            multiply()
        best = min(best, (time.perf_counter() - started) / repeats)
    return best


def recipe_products(name: str):
    """({(rows, inner, outer): count} for training, the same for validation): the matrix products one epoch
    computes. Per training batch, each layer's forward product and weight gradient, and the input
    gradient of every layer but the first (the images need none); per validation batch, each forward."""
    sizes, batch, train_samples, valid_samples = RECIPES[name]
    layers = list(zip(sizes, sizes[1:]))
    train, valid = {}, {}

    def add(products, shape, count):
        if shape[0] and count:
            products[shape] = products.get(shape, 0) + count

    for rows, count in ((batch, train_samples // batch), (train_samples % batch, 1)):
        for layer, (inputs, outputs) in enumerate(layers):
            add(train, (rows, inputs, outputs), count)  # forward
            add(train, (inputs, rows, outputs), count)  # weight gradient (rows x inputs transposed)
            if layer > 0:
                add(train, (rows, outputs, inputs), count)  # input gradient
    for rows, count in ((EVALUATION_BATCH, valid_samples // EVALUATION_BATCH), (valid_samples % EVALUATION_BATCH, 1)):
        for inputs, outputs in layers:
            add(valid, (rows, inputs, outputs), count)
    return train, valid


def flop_count(products) -> int:
    return sum(2 * rows * inner * outer * count for (rows, inner, outer), count in products.items())


def floors(name: str, large_rate: float) -> dict:
    """The epoch's arithmetic floor two ways: each product at the best speed measured for its own shape
    (what these shapes allow here), and all FLOPs at the best rate of a large product."""
    train, valid = recipe_products(name)
    products = {shape: train.get(shape, 0) + valid.get(shape, 0) for shape in {**train, **valid}}
    return {
        "training_mflop_per_sample": flop_count(train) / RECIPES[name][2] / 1e6,
        "shapes_s": sum(matmul_seconds(shape) * count for shape, count in products.items()),
        "large_s": (flop_count(train) + flop_count(valid)) / large_rate,
    }


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


def measure_script(script: str, name: str, epochs: int, environment):
    """A plain-loop script (plain_keras.py, plain_torch.py) printing {"seconds": [...], "first_step": t}."""
    command = [sys.executable, f"benchmarks/{script}", name, str(epochs)]
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


def measure_recipe(name: str, epochs: int, environment, scratch: Path, large_rate: float) -> dict:
    """fcbaseline, plain Keras and (when installed) plain PyTorch on one recipe, back to back, with its floors."""
    measured = {"fcbaseline": measure_fcbaseline(name, epochs, environment, scratch)}
    measured["plain_keras"] = measure_script("plain_keras.py", name, epochs, environment)
    if importlib.util.find_spec("torch") is not None:
        measured["plain_torch"] = measure_script("plain_torch.py", name, epochs, environment)
    else:
        print("PyTorch is not installed: its column is left out (pip install torch, the CPU build)")
    floor = floors(name, large_rate)
    epoch = {tool: statistics.median(result["epoch_seconds"][1:]) for tool, result in measured.items()}
    row = {"recipe": name, **{f"{tool}_epoch_s": seconds for tool, seconds in epoch.items()}}
    row.update(floor_shapes_s=floor["shapes_s"], floor_large_s=floor["large_s"])
    for tool in measured:
        if tool != "fcbaseline":
            row[f"fcbaseline/{tool}"] = epoch["fcbaseline"] / epoch[tool]
    row["fcbaseline/floor_shapes"] = epoch["fcbaseline"] / floor["shapes_s"]
    row["fcbaseline/floor_large"] = epoch["fcbaseline"] / floor["large_s"]
    row["training_mflop_per_sample"] = floor["training_mflop_per_sample"]
    row.update({f"{tool}_startup_s": result["startup_seconds"] for tool, result in measured.items()})
    row.update({f"{tool}_peak_rss_mb": result["peak_rss_mb"] for tool, result in measured.items()})
    print(json.dumps({"recipe": name, **{f"{tool}_epochs": r["epoch_seconds"] for tool, r in measured.items()}}))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--epochs", type=int, default=None, help="epochs per measurement (default: mnist 6, cifar10 4)")
    arguments = parser.parse_args()

    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPOSITORY))
    environment.setdefault("FCBASELINE_DATA_DIR", str(REPOSITORY.parent / "shared" / "datasets"))
    large_rate = 2 * LARGE[0] * LARGE[1] * LARGE[2] / matmul_seconds(LARGE)
    print(f"machine: {os.cpu_count()} cores, best float32 matrix product {large_rate / 1e9:.0f} GFLOP/s at {LARGE}")
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
            rows.append(measure_recipe(name, epochs, environment, scratch, large_rate))
    print()
    for row in rows:  # one table per recipe: the columns differ when PyTorch is missing
        print("| " + " | ".join(row) + " |")
        print("|" + "---|" * len(row))
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
        print()


if __name__ == "__main__":
    main()
