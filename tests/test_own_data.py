"""A user's own data: image folders and .npz arrays made from real MNIST and CIFAR-10 in their genuine
formats, bad data refused clearly, and `fcbaseline predict` on single images."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from fcbaseline import data
from fcbaseline.config import compose_config
from tests.conftest import CIFAR10_DIR, MNIST_DIR, needs_cifar10, needs_mnist, read_metrics, run_cli
from tests.test_data import Exploit, fingerprint


def export_png(dataset, folder, count=None, layout="train_test"):
    """Write images as PNG class folders (file names keep the original index); returns the folder."""
    splits = [("train", dataset.x_train, dataset.y_train), ("test", dataset.x_test, dataset.y_test)]
    for split, images, labels in splits:
        for index in range(min(count or len(labels), len(labels))):
            target = folder / split if layout == "train_test" else folder
            class_folder = target / dataset.class_names[labels[index]]
            class_folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[index]).save(class_folder / f"{split}{index:05d}.png")
    return folder


def by_class(images, labels):
    """The order an image folder lists: class by class, then by file name (here the original index)."""
    order = np.argsort(labels, kind="stable")
    return images[order], labels[order]


def load(overrides, cache_dir):
    """Load through the registry, with the decoded-image cache in `cache_dir`."""
    previous = os.environ.get("FCBASELINE_CACHE_DIR")
    os.environ["FCBASELINE_CACHE_DIR"] = str(cache_dir)
    try:
        return data.load_dataset(compose_config(overrides).dataset)
    finally:
        os.environ["FCBASELINE_CACHE_DIR"] = previous or ""


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FCBASELINE_CACHE_DIR", str(tmp_path / "cache"))


@needs_mnist
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


@needs_cifar10
def test_cifar10_png_folders_in_rgb_give_the_same_pixels(tmp_path):
    cifar = data.load_dataset(compose_config(["dataset=cifar10", f"dataset.data_dir={CIFAR10_DIR}"]).dataset)
    folder = export_png(cifar, tmp_path / "cifar_png", count=500)
    loaded = load(["dataset=image_folder", f"dataset.data_dir={folder}"], tmp_path / "cache")
    assert loaded.class_names == sorted(cifar.class_names) and loaded.image_shape == (32, 32, 3)
    # class indices follow the sorted folder names; map CIFAR's to them, then compare
    renumber = np.array([sorted(cifar.class_names).index(name) for name in cifar.class_names])
    labels = renumber[cifar.y_train[:500]]  # CIFAR's class indices in the sorted folder names' numbering
    order = np.lexsort((np.arange(500), labels))  # class by class, then by file name (the original index)
    assert np.array_equal(loaded.y_train, labels[order])
    assert np.array_equal(loaded.x_train, cifar.x_train[:500][order])


@needs_mnist
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


def test_string_labels_name_the_classes_and_integer_labels_take_given_names(tmp_path):
    generator = np.random.default_rng(0)
    images = generator.integers(0, 256, (12, 5, 5), dtype=np.uint8)
    labels = np.array(["dog", "cat", "cat", "dog", "bird", "cat"] * 2)
    np.savez(tmp_path / "strings.npz", x_train=images, y_train=labels, x_test=images[:6], y_test=labels[:6])
    loaded = load(["dataset=arrays", f"dataset.file={tmp_path / 'strings.npz'}"], tmp_path)
    assert loaded.class_names == ["bird", "cat", "dog"] and loaded.y_train[:3].tolist() == [2, 1, 1]
    np.savez(tmp_path / "ints.npz", x_train=images, y_train=np.arange(12) % 2, x_test=images, y_test=np.arange(12) % 2)
    named = load(["dataset=arrays", f"dataset.file={tmp_path / 'ints.npz'}", "dataset.class_names=[no,yes]"], tmp_path)
    assert named.class_names == ["no", "yes"] and named.image_shape == (5, 5)


def write_png(path, size=(8, 8), value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)


def two_classes(folder, per_class=5):
    for name in ("a", "b"):
        for index in range(per_class):
            write_png(folder / name / f"{index}.png", value=index * 10)
    return folder


def test_mixed_sizes_corrupt_files_and_skipping(tmp_path):
    folder = two_classes(tmp_path / "images")
    write_png(folder / "b" / "wide.png", size=(8, 12))
    (folder / "a" / "notes.txt").write_text("not an image")  # ignored, and counted in the log
    base = ["dataset=image_folder", f"dataset.data_dir={folder}", "dataset.color_mode=grayscale"]
    with pytest.raises(data.DataError, match=r"differ in size: .*/a/0.png is 8x8 and .*/b/wide.png is 12x8"):
        load(base, tmp_path / "cache")
    resized = load([*base, "dataset.image_size=[4,4]"], tmp_path / "cache")
    assert resized.image_shape == (4, 4) and len(resized.y_train) + len(resized.y_test) == 11
    (folder / "b" / "wide.png").unlink()
    (folder / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(data.DataError, match=r"Cannot read the image .*/a/broken.png .*skip_bad_files=true"):
        load(base, tmp_path / "cache")
    skipped = load([*base, "dataset.skip_bad_files=true"], tmp_path / "cache")
    assert len(skipped.skipped_files) == 1 and "broken.png" in skipped.skipped_files[0]
    assert len(skipped.y_train) + len(skipped.y_test) == 10


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda folder: (two_classes(folder), (folder / "c").mkdir()), "holds no image .* of class 'c'"),
        (lambda folder: [write_png(folder / "a" / f"{i}.png") for i in range(4)], "has 1 class folder"),
        (lambda folder: (two_classes(folder), write_png(folder / "c" / "0.png")), "Class 'c' has 1 images"),
        (lambda folder: write_png(folder / "0.png"), "has no subfolders: put the images of each class in a subfolder"),
    ],
    ids=["empty class folder", "single class", "class too small", "no class folders"],
)
def test_folder_problems_are_refused_with_the_fix(tmp_path, make, message):
    make(tmp_path / "images")
    with pytest.raises(data.DataError, match=message):
        load(["dataset=image_folder", f"dataset.data_dir={tmp_path / 'images'}"], tmp_path / "cache")


def test_npz_problems_are_refused_and_nothing_is_executed(tmp_path):
    images = np.zeros((4, 3, 3), np.uint8)
    np.savez(
        tmp_path / "range.npz", x_train=images, y_train=np.array([0, 1, 2, 5]), x_test=images, y_test=np.zeros(4, int)
    )
    with pytest.raises(data.DataError, match=r"y_train holds labels 0..5, outside 0..2"):
        load(["dataset=arrays", f"dataset.file={tmp_path / 'range.npz'}", "dataset.class_names=[a,b,c]"], tmp_path)
    marker = tmp_path / "owned"
    evil = np.array([Exploit(marker)], dtype=object)
    np.savez(tmp_path / "evil.npz", x_train=evil, y_train=np.zeros(1, int), x_test=images, y_test=np.zeros(4, int))
    before = fingerprint(tmp_path)
    with pytest.raises(data.DataError, match="pickled object array, which fcbaseline refuses"):
        load(["dataset=arrays", f"dataset.file={tmp_path / 'evil.npz'}"], tmp_path / "elsewhere")
    assert not marker.exists() and fingerprint(tmp_path) == before


def test_an_explicit_data_dir_is_the_only_place_looked(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli([f"dataset.data_dir={empty}", "training.epochs=1"], cwd=tmp_path)  # real MNIST is in reach
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


@needs_mnist
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


def test_bmp_gif_first_frame_and_jpeg_are_read(tmp_path):
    generator = np.random.default_rng(1)
    first, second = (generator.integers(0, 256, (6, 6), dtype=np.uint8) for _ in range(2))
    folder = tmp_path / "images"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        Image.fromarray(first).save(folder / name / "0.bmp")
        frames = [Image.fromarray(first).convert("P"), Image.fromarray(second).convert("P")]
        frames[0].save(folder / name / "1.gif", save_all=True, append_images=frames[1:])  # an animation
        Image.fromarray(first).save(folder / name / "2.jpg", quality=95)
        Image.fromarray(first).save(folder / name / "3.png")
    overrides = ["dataset=image_folder", f"dataset.data_dir={folder}", "dataset.color_mode=grayscale"]
    loaded = load([*overrides, "dataset.test_fraction=0.5"], tmp_path / "cache")
    images = np.concatenate([loaded.x_train, loaded.x_test])
    assert images.shape == (8, 6, 6)
    exact = [image for image in images if np.array_equal(image, first)]
    assert len(exact) == 6  # BMP, PNG and the GIF's first frame are lossless; JPEG is close
    assert sum(np.abs(image.astype(int) - first).max() <= 40 for image in images) == 8
