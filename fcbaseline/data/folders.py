"""`dataset=image_folder`: a user's images, one subfolder per class (the layout of
`keras.utils.image_dataset_from_directory`), either directly under `dataset.data_dir` (then a seeded,
stratified test split of `dataset.test_fraction`) or under its `train/` and `test/` subfolders.

PNG, JPEG, BMP and GIF (first frame), decoded with Pillow to uint8 in `dataset.color_mode`
(grayscale: H x W; rgb: H x W x 3), resized to `dataset.image_size` when given. Decoded arrays are
cached (cache.py), so a second run starts about as fast as a built-in dataset. Nothing is written
next to the user's files, and nothing of theirs is changed.
"""

import logging
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from fcbaseline.data import cache
from fcbaseline.data.common import DataError, Dataset
from fcbaseline.data.splits import check_split
from fcbaseline.reading import physical_memory

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}


def list_classes(folder: Path) -> Tuple[List[str], List[str], List[int], int]:
    """(class names sorted, image paths, class index of each, non-image files ignored) under `folder`."""
    classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    if not classes:
        raise DataError(
            f"{folder} has no subfolders: put the images of each class in a subfolder named after the class "
            f"(e.g. {folder}/cat/1.png, {folder}/dog/2.png), or train/ and test/ folders laid out that way."
        )
    paths, labels, ignored = [], [], 0
    for index, name in enumerate(classes):
        files = sorted(  # strings and os.walk: no stat and no Path object per file, for folders of many files
            os.path.join(parent, file)
            for parent, _, names in os.walk(folder / name)
            for file in names
            if not file.startswith(".")
        )
        images = [path for path in files if os.path.splitext(path)[1].lower() in IMAGE_SUFFIXES]
        ignored += len(files) - len(images)
        if not images:
            raise DataError(
                f"{folder / name} holds no image (PNG, JPEG, BMP or GIF) of class '{name}'. Put its images there, or "
                f"remove the empty folder (every subfolder of {folder} is a class)."
            )
        paths += images
        labels += [index] * len(images)
    return classes, paths, labels, ignored


def stat_images(paths: List[str], labels: List[int], skip_bad_files: bool) -> Tuple[list, list, list, list]:
    """(paths, labels, (path, size, mtime) stamps, unreadable) of the images that can be opened: a dangling
    link, a link loop or a file gone since it was listed is refused with its name, or, with
    dataset.skip_bad_files, left out and listed like an image that cannot be decoded."""
    kept_paths, kept_labels, stamps, unreadable = [], [], [], []
    for path, label in zip(paths, labels):
        try:
            status = os.stat(path)  # follows links, as opening the image will
            if not stat.S_ISREG(status.st_mode):  # a pipe or a device would block or never end
                raise OSError(0, "not a regular file (a pipe, socket or device)")
        except OSError as error:
            if not skip_bad_files:
                raise DataError(
                    f"Cannot open the image {path} ({error.strerror}: a link to nothing, a loop of links, a file "
                    f"gone since it was listed, or no file at all). Replace or remove it, or set "
                    f"dataset.skip_bad_files=true to leave unreadable images out (they are listed in metrics.json)."
                ) from None
            unreadable.append(f"{path}: {error.strerror}")
            continue
        kept_paths.append(path)
        kept_labels.append(label)
        stamps.append((path, status.st_size, status.st_mtime_ns))
    return kept_paths, kept_labels, stamps, unreadable


def decode(path, color_mode: str, image_size: Optional[Tuple[int, int]]) -> np.ndarray:
    from PIL import Image  # Pillow: only when image folders are used

    with Image.open(path) as image:
        image.seek(0)  # a GIF's first frame
        converted = image.convert("L" if color_mode == "grayscale" else "RGB")
        if image_size is not None and converted.size != (image_size[1], image_size[0]):
            converted = converted.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        return np.asarray(converted, dtype=np.uint8)


def decode_all(paths: List[str], config) -> Tuple[np.ndarray, dict]:
    """Every image as one uint8 array (decoded on a few threads: Pillow releases the GIL), and a record
    of the files skipped as unreadable when dataset.skip_bad_files is on."""
    image_size = tuple(config.image_size) if config.image_size else None

    def one(path: str):
        try:
            return decode(path, config.color_mode, image_size)
        except Exception as error:  # Pillow reports corrupt files with many exception types
            if config.skip_bad_files:
                return f"{path}: {type(error).__name__}: {error}"
            raise DataError(
                f"Cannot read the image {path} ({type(error).__name__}: {error}). Replace or remove the file, or "
                f"set dataset.skip_bad_files=true to leave unreadable images out (they are listed in metrics.json)."
            ) from None

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        decoded = list(pool.map(one, paths))
    skipped = [item for item in decoded if isinstance(item, str)]
    kept = [index for index, item in enumerate(decoded) if not isinstance(item, str)]
    shapes = {}
    for index in kept:
        shapes.setdefault(decoded[index].shape, paths[index])
    if len(shapes) > 1:
        (first_shape, first), (second_shape, second) = list(shapes.items())[:2]
        raise DataError(
            f"The images differ in size: {first} is {first_shape[1]}x{first_shape[0]} and {second} is "
            f"{second_shape[1]}x{second_shape[0]} (width x height). Set dataset.image_size=[height,width] to resize "
            f"them all, e.g. dataset.image_size=[{first_shape[0]},{first_shape[1]}]."
        )
    if not kept:
        raise DataError(f"No image could be read; the first: {skipped[0]}")
    return np.stack([decoded[index] for index in kept]), {"kept": kept, "skipped": skipped}


def check_memory(count: int, config, folder: Path) -> None:
    """Refuse, before decoding, images that would not fit in memory at dataset.image_size."""
    memory = physical_memory()
    if not config.image_size or not memory:
        return
    pixels = count * int(np.prod(config.image_size)) * (1 if config.color_mode == "grayscale" else 3)
    needed = 2 * pixels  # the decoded images, and the array they are stacked into
    if needed > memory:
        raise DataError(
            f"Decoding the {count} images of {folder} at dataset.image_size={list(config.image_size)} would take "
            f"{needed / 2**30:.1f} GiB, more than this machine's {memory / 2**30:.1f} GiB of memory. Choose a "
            f"smaller dataset.image_size."
        )


def read_split(folder: Path, config) -> Tuple[List[str], np.ndarray, np.ndarray, List[str]]:
    """(class names, images, labels, skipped files) of the class folders under `folder`, via the cache."""
    folder = folder.resolve()  # once: the cache key holds absolute paths
    classes, paths, labels, ignored = list_classes(folder)
    if ignored:
        log.info(f"{folder}: {ignored} files that are not PNG, JPEG, BMP or GIF images were ignored")
    paths, labels, stamps, unreadable = stat_images(paths, labels, config.skip_bad_files)
    if not paths:
        raise DataError(f"No image in {folder} could be opened; the first: {unreadable[0]}")
    check_memory(len(paths), config, folder)
    options = {key: config[key] for key in ("color_mode", "image_size", "skip_bad_files")}
    options["image_size"] = list(options["image_size"]) if options["image_size"] else None
    images, record, hit = cache.cached(stamps, options, lambda: decode_all(paths, config))
    log.info(f"{folder}: {len(images)} images of {len(classes)} classes {'from the cache' if hit else 'decoded'}")
    return classes, images, np.asarray(labels, np.int64)[record["kept"]], unreadable + record["skipped"]


def split_test(images, labels, classes: List[str], config, folder: Path):
    """A seeded, stratified test split, when the folder has no train/ and test/ subfolders."""
    from sklearn.model_selection import train_test_split

    fix = f"Choose a fraction in that range, add images to {folder}, or give separate train/ and test/ folders."
    check_split(labels, config.test_fraction, "dataset.test_fraction", classes, fix)
    return train_test_split(
        images, labels, test_size=config.test_fraction, random_state=config.split_seed, stratify=labels
    )


def load_image_folder(config) -> Dataset:
    root = Path(os.path.expanduser(config.data_dir))
    if not root.is_dir():
        raise DataError(f"dataset.data_dir={config.data_dir} does not exist or is not a folder of class folders.")
    if (root / "train").is_dir() != (root / "test").is_dir():
        present, absent = ("train", "test") if (root / "train").is_dir() else ("test", "train")
        raise DataError(
            f"{root} has a {present}/ folder but no {absent}/: give both (each with one subfolder per class), or "
            f"put the class folders directly in {root} for a split by dataset.test_fraction."
        )
    if (root / "train").is_dir() and (root / "test").is_dir():
        others = sorted(
            entry.name for entry in root.iterdir() if entry.is_dir() and entry.name not in ("train", "test")
        )
        if others and not all(name.startswith(".") for name in others):
            log.warning(f"{root}: only train/ and test/ are read; {', '.join(others)} beside them are not")
        classes, x_train, y_train, skipped = read_split(root / "train", config)
        test_classes, x_test, y_test, skipped_test = read_split(root / "test", config)
        if test_classes != classes:
            raise DataError(
                f"{root / 'train'} has the classes {classes} but {root / 'test'} has {test_classes}: "
                f"give both the same class folders."
            )
        skipped += skipped_test
    else:
        classes, images, labels, skipped = read_split(root, config)
        if len(classes) >= 2:
            x_train, x_test, y_train, y_test = split_test(images, labels, classes, config, root)
    if len(classes) < 2:
        raise DataError(
            f"{root} has {len(classes)} class folder(s) ({', '.join(classes)}): a classifier needs at least two, "
            f"one subfolder of images per class."
        )
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"The training images are {x_train.shape[1:]} and the test images {x_test.shape[1:]}: set "
            f"dataset.image_size=[height,width] to give them one size."
        )
    for path in skipped:
        log.warning(f"skipped an unreadable image: {path}")
    return Dataset(config.name, classes, x_train, y_train, x_test, y_test, str(root), tuple(x_train.shape[1:]), skipped)
