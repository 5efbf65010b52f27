"""A user's own data, run for real: all of real MNIST as PNG class folders and as an .npz train like the
built-in dataset, `fcbaseline evaluate` and `fcbaseline predict` on them, and the command line's refusals
of a data_dir that does not hold the data and of Keras' partial CIFAR-10 archive. The in-process loader
tests: tests/unit/test_own_data.py."""

import json

import numpy as np
import pytest
from PIL import Image

from fcbaseline import data
from tests.helpers import MNIST_DIR, compose_config, export_png, fingerprint, read_metrics, run_cli
from tests.helpers import load_with_cache as load

pytestmark = pytest.mark.usefixtures("private_cache")


def by_class(images, labels):
    """The order an image folder lists: class by class, then by file name (here the original index)."""
    order = np.argsort(labels, kind="stable")
    return images[order], labels[order]


def test_all_of_mnist_as_png_folders_gives_the_same_arrays_and_accuracy(tmp_path):
    mnist = data.load_dataset(compose_config([f"dataset.data_dir={MNIST_DIR}"]).dataset)
    folder = export_png(mnist, tmp_path / "mnist_png")
    before = fingerprint(folder)
    overrides = ["dataset=image_folder", f"dataset.data_dir={folder}", "dataset.color_mode=grayscale"]
    loaded = load(overrides, tmp_path / "cache")
    assert loaded.class_names == [str(digit) for digit in range(10)] and loaded.image_shape == (28, 28)
    assert loaded.x_train.dtype == np.uint8 and loaded.x_test.dtype == np.uint8
    assert all(
        np.array_equal(a, b) for a, b in zip((loaded.x_train, loaded.y_train), by_class(mnist.x_train, mnist.y_train))
    )
    assert all(
        np.array_equal(a, b) for a, b in zip((loaded.x_test, loaded.y_test), by_class(mnist.x_test, mnist.y_test))
    )
    assert sorted(path.name for path in (tmp_path / "cache").iterdir())[0].endswith(".json")  # cached, elsewhere
    again = load(overrides, tmp_path / "cache")  # from the cache: the same arrays
    assert np.array_equal(again.x_train, loaded.x_train) and np.array_equal(again.y_test, loaded.y_test)
    assert fingerprint(folder) == before  # the user's files are untouched

    # the same short run on both: the same test set, other batch orders (files are listed class by class)
    common = ["training.epochs=1", "optimizer=adam", "model.activation=relu", "model.hidden_sizes=[256,128]"]
    common += ["training.batch_size=128", "hydra.run.dir=RUN"]
    results = {}
    for name, arguments in (("mnist", []), ("folder", overrides)):
        run = tmp_path / name
        result = run_cli(
            [*arguments, *[a.replace("RUN", str(run)) for a in common]],
            cwd=tmp_path,
            extra_environment={"FCBASELINE_CACHE_DIR": str(tmp_path / "cache")},
        )
        assert result.returncode == 0, result.stderr[-2000:]
        results[name] = read_metrics(run)
    assert "from the cache" in (tmp_path / "folder" / "fcbaseline.log").read_text()
    evaluated = run_cli(["evaluate", str(tmp_path / "folder")], cwd=tmp_path)  # decoded as in training: grey
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert f"test accuracy {results['folder']['test_accuracy']:.4f}" in evaluated.stdout
    assert results["folder"]["test_accuracy"] == pytest.approx(results["mnist"]["test_accuracy"], abs=0.01)
    assert results["folder"]["class_names"] == results["mnist"]["class_names"]


def test_an_npz_round_trip_trains_exactly_like_the_built_in_dataset(tmp_path):
    mnist = data.load_dataset(compose_config([f"dataset.data_dir={MNIST_DIR}"]).dataset)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    arguments = ["training.epochs=1", "model.hidden_sizes=[64]", "training.batch_size=128"]
    histories = {}
    for name, extra in (("mnist", []), ("arrays", ["dataset=arrays", f"dataset.file={path}"])):
        run = tmp_path / name
        result = run_cli([*extra, *arguments, "model.activation=sigmoid", f"hydra.run.dir={run}"], cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        histories[name] = [line.split(",")[:6] for line in (run / "history.csv").read_text().splitlines()]
    assert histories["arrays"] == histories["mnist"]  # same arrays, same order, same seed: same numbers


def test_an_explicit_data_dir_is_the_only_place_looked(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli([f"dataset.data_dir={empty}", "training.epochs=1"], cwd=tmp_path)  # MNIST is in reach: packaged
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert f"dataset.data_dir={empty} does not hold the mnist files" in output and "Traceback" not in output


def test_the_keras_cifar10_archive_is_never_handed_to_get_file(tmp_path):
    keras_home = tmp_path / "keras_home" / "datasets"
    keras_home.mkdir(parents=True)
    archive = keras_home / "cifar-10-batches-py-target_archive"
    archive.write_bytes(b"a partial download of mine")
    result = run_cli(["dataset=cifar10"], cwd=tmp_path, data_dir=None)
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Keras' cache holds" in output and str(archive) in output
    assert archive.read_bytes() == b"a partial download of mine"


def test_predict_names_the_digit_in_a_png(tmp_path):
    run = tmp_path / "run"
    trained = run_cli(
        ["training.epochs=1", "optimizer=adam", "model.activation=relu", f"hydra.run.dir={run}"], cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    mnist = data.load_dataset(compose_config([f"dataset.data_dir={MNIST_DIR}"]).dataset)
    images = tmp_path / "digits"
    images.mkdir()
    for index in range(20):
        Image.fromarray(mnist.x_test[index]).save(images / f"{index:02d}_true_{mnist.y_test[index]}.png")
    Image.fromarray(mnist.x_test[0]).convert("RGB").resize((56, 56)).save(tmp_path / "big_rgb_seven.jpg")
    result = run_cli(
        ["predict", str(run), str(images), str(tmp_path / "big_rgb_seven.jpg"), "--top", "3"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    [csv_file] = (run / "predictions").glob("*/predictions.csv")
    rows = [line.split(",") for line in csv_file.read_text().splitlines()]
    assert rows[0] == ["file", "class_1", "probability_1", "class_2", "probability_2", "class_3", "probability_3"]
    correct = sum(row[1] == row[0].rsplit("_", 1)[1].split(".")[0] for row in rows[1:21])
    assert correct >= 18  # a one-epoch MNIST model: about 96% correct
    assert rows[21][0].endswith("big_rgb_seven.jpg") and rows[21][1] == "7"  # converted: grey, 28x28
    assert all(float(row[2]) >= float(row[4]) >= float(row[6]) for row in rows[1:])
    assert "7 (" in result.stdout
    refused = run_cli(["predict", str(run), str(tmp_path / "missing.png")], cwd=tmp_path)
    assert refused.returncode == 2 and "does not exist" in refused.stderr
    assert json.loads((run / "metrics.json").read_text())["class_names"][7] == "7"


def test_five_fold_cross_validation_on_an_image_folder_as_docs_sweeps_says(tmp_path):
    """docs/sweeps.md's k-fold command on a PNG folder of one's own, two configurations x 5 folds, then
    `fcbaseline compare` on the sweep: each configuration validated on every training image once, the test
    set the same for all and never a fold, the folds aggregated (intervals recomputed with SciPy)."""
    from scipy import stats

    mnist = data.load_dataset(compose_config([f"dataset.data_dir={MNIST_DIR}"]).dataset)
    folder = export_png(mnist, tmp_path / "my_images", count=400)
    before, sweep = fingerprint(folder), tmp_path / "sweep"
    result = run_cli(
        [
            "-m",
            "dataset=image_folder",
            f"dataset.data_dir={folder}",
            "dataset.color_mode=grayscale",
            "training.validation=kfold",
            "training.fold=range(5)",
            "model.hidden_sizes=[16],[64]",
            "training.epochs=4",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=tmp_path,
        extra_environment={"FCBASELINE_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = [read_metrics(path.parent) for path in sorted(sweep.glob("*/metrics.json"))]
    assert len(jobs) == 10 and {job["status"] for job in jobs} == {"completed"}
    for width in (16, 64):
        folds = [job for job in jobs if f"model.hidden_sizes=[{width}]" in job["overrides"]]
        assert sorted(job["training_samples"] + job["validation_samples"] for job in folds) == [400] * 5
        assert sum(job["validation_samples"] for job in folds) == 400  # every training image validated once
        assert {job["test_samples"] for job in folds} == {400}
    assert len({job["test_labels_digest"] for job in jobs}) == 1
    section = (sweep / "summary.md").read_text().split("## Seeds and folds aggregated")[1]
    assert section.count(" | 5 | ") == 2 and "Not aggregated" not in section  # both configurations, 5 folds each

    compared = run_cli(["compare", str(sweep), "--output", str(tmp_path / "compared")], cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr[-2000:]
    rows = {
        row[0]: row
        for row in (line.split(",") for line in (tmp_path / "compared" / "compare.csv").read_text().splitlines()[1:])
    }
    assert set(rows) == {"model.hidden_sizes=[16]", "model.hidden_sizes=[64]"}
    for label, row in rows.items():
        folds = [job for job in jobs if label in job["overrides"]]
        values = [job["model_val_accuracy"] for job in folds]  # widened for the folds' shared training images:
        ratio = np.mean([job["validation_samples"] / job["training_samples"] for job in folds])  # Nadeau-Bengio
        half = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) * np.sqrt(1 / 5 + ratio)
        low, high = np.mean(values) - half, np.mean(values) + half
        assert (int(row[1]), *map(float, row[4:6])) == (5, pytest.approx(low, abs=1e-6), pytest.approx(high, abs=1e-6))
    assert fingerprint(folder) == before
