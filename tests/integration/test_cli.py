"""Real runs of `python -m fcbaseline` in a subprocess, on real data, with every output file read back:
MNIST and CIFAR-10 recipes, the standalone model.keras and `fcbaseline evaluate`, digits offline, a
multirun's job folders, concurrent runs, seeds, and `--help` / `--cfg`."""

import json
import os
import subprocess
import sys

import pytest
import yaml
from matplotlib import image as matplotlib_image

from fcbaseline.rundir import ARTIFACTS
from tests.helpers import MNIST_DIR, needs_cifar10, read_history, read_metrics, run_cli, run_directories


def assert_plot(path):
    picture = matplotlib_image.imread(path)
    assert picture.shape[0] >= 400 and picture.shape[1] >= 400
    assert picture[..., :3].std() > 0.05  # not a blank canvas


def test_mnist_end_to_end_writes_every_output(tmp_path):
    result = run_cli(["optimizer=adam", "model.activation=relu", "training.epochs=2"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    [run_directory] = run_directories(tmp_path)
    for name in ARTIFACTS:
        assert (run_directory / name).is_file(), name

    metrics = read_metrics(run_directory)
    assert metrics["status"] == "completed"
    assert metrics["test_accuracy"] >= 0.95
    assert metrics["epochs_run"] == 2 and metrics["epochs_planned"] == 2
    assert metrics["dataset"] == "mnist" and metrics["architecture"] == "784-256-128-10 relu"
    assert metrics["parameters"] == 235146
    assert metrics["optimizer"]["name"] == "adam" and metrics["optimizer"]["lr"] == 0.001
    assert metrics["training_samples"] == 60000 and metrics["test_samples"] == 10000
    assert metrics["device"] == "/device:CPU:0"  # no GPU here; with one, the first GPU (training.epoch.device)
    assert metrics["seed"] == 42 and metrics["wall_time_seconds"] > 0
    assert metrics["overrides"] == ["optimizer=adam", "model.activation=relu", "training.epochs=2"]
    assert sorted(k for k in metrics["classification_report"] if len(k) == 1) == [str(d) for d in range(10)]
    assert metrics["classification_report"]["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-9)

    history = read_history(run_directory)
    assert [row["epoch"] for row in history] == ["1", "2"]
    assert set(history[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"}
    assert float(history[1]["loss"]) < float(history[0]["loss"])
    # the recipe validates on the test set, so the last validation figures are the test figures
    assert float(history[-1]["val_accuracy"]) == pytest.approx(metrics["test_accuracy"], abs=1e-5)
    assert metrics["best_val_accuracy"] == max(float(row["val_accuracy"]) for row in history)

    report = (run_directory / "classification_report.txt").read_text()
    assert "precision" in report and "weighted avg" in report
    assert all(f"\n           {digit}" in report for digit in range(10))
    assert report.strip().splitlines()[0] in result.stdout + result.stderr  # also shown on the console
    assert "epoch 2/2" in (run_directory / "fcbaseline.log").read_text()
    assert yaml.safe_load((run_directory / ".hydra/config.yaml").read_text())["optimizer"]["name"] == "adam"

    assert_plot(run_directory / "training_plot.png")
    assert_plot(run_directory / "confusion_matrix.png")

    assert metrics["model_epoch"] == 2 and metrics["final_learning_rate"] == pytest.approx(0.001)
    assert_standalone_model(run_directory, metrics)
    assert_evaluate_command(run_directory, metrics, tmp_path)


# A fresh Python with plain Keras and NumPy only: the official IDX test files as they are, raw uint8.
STANDALONE = """
import gzip, json, sys
import keras, numpy as np
from sklearn.metrics import classification_report
run, mnist = sys.argv[1], sys.argv[2]
images = np.frombuffer(gzip.open(f"{mnist}/t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
labels = np.frombuffer(gzip.open(f"{mnist}/t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
model = keras.models.load_model(f"{run}/model.keras")
loss, accuracy = model.evaluate(images, keras.utils.to_categorical(labels, 10), batch_size=1000, verbose=0)
predicted = model.predict(images, batch_size=1000, verbose=0).argmax(1)
report = classification_report(labels, predicted, target_names=[str(d) for d in range(10)], output_dict=True)
print(json.dumps({"loss": loss, "accuracy": accuracy, "report": report}))
"""


def assert_standalone_model(run_directory, metrics):
    """model.keras takes raw images, is compiled with the run's loss and metric, and gives the report's numbers."""
    check = subprocess.run(
        [sys.executable, "-c", STANDALONE, str(run_directory), str(MNIST_DIR)],
        capture_output=True,
        text=True,
        cwd=run_directory,  # nothing of fcbaseline on the path
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert check.returncode == 0, check.stderr[-2000:]
    result = json.loads(check.stdout.strip().splitlines()[-1])
    assert result["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert result["loss"] == pytest.approx(metrics["test_loss"], rel=1e-4)
    for digit in map(str, range(10)):  # the same predictions as the report's
        assert result["report"][digit] == pytest.approx(metrics["classification_report"][digit], abs=1e-9)


def assert_evaluate_command(run_directory, metrics, cwd):
    """`fcbaseline evaluate <run dir>` re-evaluates without training; another image shape is refused."""
    result = run_cli(["evaluate", str(run_directory)], cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    [folder] = (run_directory / "evaluations").iterdir()
    evaluation = json.loads((folder / "metrics.json").read_text())
    assert evaluation["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    assert evaluation["test_samples"] == 10000 and evaluation["dataset"] == "mnist"
    assert (folder / "classification_report.txt").read_text() == (
        run_directory / "classification_report.txt"
    ).read_text()
    assert_plot(folder / "confusion_matrix.png")
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in result.stdout
    refused = run_cli(["evaluate", str(run_directory), "dataset=digits"], cwd=cwd)
    assert refused.returncode == 2 and "takes samples of shape (28, 28), but digits has (8, 8)" in refused.stderr
    assert len(list((run_directory / "evaluations").iterdir())) == 1  # nothing written for the refusal


@needs_cifar10
def test_cifar10_recipe_one_epoch(tmp_path):
    result = run_cli(["dataset=cifar10", "training.epochs=1"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    [run_directory] = run_directories(tmp_path)
    metrics = read_metrics(run_directory)
    assert metrics["architecture"] == "3072-1024-512-10 relu" and metrics["batch_size"] == 32
    assert metrics["parameters"] == 3072 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 10 + 10
    assert 0.25 < metrics["test_accuracy"] < 0.6
    report = (run_directory / "classification_report.txt").read_text()
    for name in ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]:
        assert name in report
    assert_plot(run_directory / "training_plot.png")


def test_digits_runs_offline_with_no_data_anywhere(tmp_path):
    result = run_cli(["dataset=digits", "training.epochs=30"], cwd=tmp_path, data_dir=None)
    assert result.returncode == 0, result.stderr[-3000:]
    [run_directory] = run_directories(tmp_path)
    metrics = read_metrics(run_directory)
    assert metrics["test_accuracy"] > 0.8 and metrics["architecture"] == "64-64-32-10 relu"
    assert not (tmp_path / "keras_home" / "datasets").exists()  # nothing was downloaded or cached


def test_hidden_size_multirun_gives_each_job_its_numbered_directory(tmp_path):
    result = run_cli(
        ["-m", "dataset=digits", "training.epochs=2", "model.hidden_sizes=[32],[64,32]", "model.activation=tanh"],
        cwd=tmp_path,
        data_dir=None,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [sweep_directory] = [path.parent for path in (tmp_path / "outputs" / "multirun").glob("*/*/multirun.yaml")]
    jobs = sorted(path for path in sweep_directory.iterdir() if path.is_dir())
    assert [job.name for job in jobs] == ["0", "1"]
    architectures = [read_metrics(job)["architecture"] for job in jobs]
    assert architectures == ["64-32-10 tanh", "64-64-32-10 tanh"]
    for job in jobs:
        assert (job / "training_plot.png").is_file() and (job / "model.keras").is_file()


def test_runs_started_together_never_share_a_directory(tmp_path):

    environment = {**os.environ, "KERAS_HOME": str(tmp_path / "keras_home")}
    command = [sys.executable, "-m", "fcbaseline", "dataset=digits", "training.epochs=1"]
    processes = [
        subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for process in processes:
        assert process.wait(timeout=300) == 0, process.stderr.read()[-2000:]
    assert len(run_directories(tmp_path)) == 3


def test_same_seed_same_history_different_seed_different_history(tmp_path):
    def history_without_time(name, seed):
        run = tmp_path / name
        arguments = ["dataset=digits", "training.epochs=5", f"training.seed={seed}", f"hydra.run.dir={run}"]
        result = run_cli(arguments, cwd=tmp_path, data_dir=None)
        assert result.returncode == 0, result.stderr[-3000:]
        assert read_metrics(run)["seed"] == seed
        return [{key: value for key, value in row.items() if key != "seconds"} for row in read_history(run)]

    first = history_without_time("first", 7)
    second = history_without_time("second", 7)
    other = history_without_time("other", 8)
    assert len(first) == 5 and first == second
    assert len(other) == 5 and first != other


def test_help_lists_groups_and_cfg_prints_the_resolved_recipe(tmp_path):
    help_text = run_cli(["--help"], cwd=tmp_path).stdout
    assert "dataset: arrays, cifar10, digits, fashion_mnist, image_folder, mnist" in help_text
    assert "optimizer: adam, adamw, rmsprop, sgd" in help_text
    assert "experiment: cifar10_regularized, cifar10_strong_mlp, mnist_regularized" in help_text
    assert "model: cnn, mlp, resmlp" in help_text
    printed = run_cli(["dataset=cifar10", "--cfg", "job", "--resolve"], cwd=tmp_path)
    composed = yaml.safe_load(printed.stdout)
    assert composed["model"]["hidden_sizes"] == [1024, 512] and composed["training"]["batch_size"] == 32
    assert not (tmp_path / "outputs").exists()  # printing the config runs nothing
