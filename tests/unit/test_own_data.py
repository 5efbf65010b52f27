"""A user's own data, in process: image folders (PNG, BMP, GIF, JPEG; real CIFAR-10 as PNG) and .npz
arrays in their genuine formats, and bad folders and files refused with the fix, nothing executed."""

import numpy as np
import pytest
from PIL import Image

from fcbaseline import data
from fcbaseline.errors import ConfigError
from tests.helpers import (
    CIFAR10_DIR,
    Exploit,
    compose_config,
    export_png,
    fingerprint,
    needs_cifar10,
)
from tests.helpers import load_with_cache as load

pytestmark = pytest.mark.usefixtures("private_cache")


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
    "make, kind, message",
    [
        (
            lambda folder: (two_classes(folder), (folder / "c").mkdir()),
            data.DataError,
            "holds no image .* of class 'c'",
        ),
        (lambda folder: [write_png(folder / "a" / f"{i}.png") for i in range(4)], data.DataError, "has 1 class folder"),
        (
            lambda folder: (two_classes(folder), write_png(folder / "c" / "0.png")),
            ConfigError,
            r"dataset.test_fraction=0.2: a class has 1 image\(s\), too few to put one on each side \(class 'c'\)",
        ),
        (
            lambda folder: write_png(folder / "0.png"),
            data.DataError,
            "has no subfolders: put the images of each class in a subfolder",
        ),
    ],
    ids=["empty class folder", "single class", "class too small", "no class folders"],
)
def test_folder_problems_are_refused_with_the_fix(tmp_path, make, kind, message):
    make(tmp_path / "images")
    with pytest.raises(kind, match=message):
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
