"""The built-in datasets (MNIST, Fashion-MNIST, CIFAR-10, digits): find, read and check their official files.

Pixels stay uint8 (0..255) in memory and are scaled to [0, 1] as float32 where they are used, one
batch at a time, by the model's first layer (`Rescaling`, so a saved model takes raw images), in a
quarter of the memory of a float32 copy. `to_unit_interval` is the same scaling for NumPy users
(benchmarks).

Where a dataset is looked for, in order:
1. `dataset.data_dir` (the folder holding this dataset's files, or its named subfolder); when it is
   given, the only place looked;
2. `$FCBASELINE_DATA_DIR/<subfolder>` (a root holding one subfolder per dataset);
3. system folders (Debian's `dataset-fashion-mnist` package; none for MNIST or CIFAR-10);
4. the folder shipped inside the package, MNIST only: `fcbaseline/data/mnist/` holds the four
   official IDX files, so that the first run needs no network;
5. Keras' own cache (`$KERAS_HOME/datasets`, default `~/.keras/datasets`);
6. a download through `keras.datasets`, only when Keras' cache holds nothing for the dataset.

Nothing here writes to, moves or deletes a data file. Step 6 matters for that: Keras' `get_file`
deletes a cached file whose hash differs from the expected one when a re-download fails, so it is
never called while any file of that dataset is in Keras' cache; such a file is read (or refused
with a clear error) by our own readers instead.
"""

import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from fcbaseline.data.common import DataError, Dataset
from fcbaseline.data.formats import read_cifar_batch, read_idx
from fcbaseline.reading import load_npz

DATA_DIR_VARIABLE = "FCBASELINE_DATA_DIR"
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
CIFAR10_BATCHES = [f"data_batch_{index}" for index in range(1, 6)] + ["test_batch"]
# the official MNIST files shipped with the package (fcbaseline/data/mnist/README.md); only MNIST is packaged
PACKAGED_MNIST_DIR = Path(__file__).parent / "mnist"


# ---------------------------------------------------------------- where to look


def keras_datasets_dir() -> Path:
    # The same rule as keras.src.backend.config, without importing Keras.
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def _search_roots(config, subfolders: List[str], system_dirs: List[str]) -> List[Path]:
    """Folders that may hold the dataset's files, in search order. An explicit dataset.data_dir is the
    only place looked: a folder without the files must not quietly train on data found elsewhere."""
    roots = []
    if config.data_dir:
        data_dir = Path(os.path.expanduser(config.data_dir))
        if not data_dir.is_dir():
            raise DataError(
                f"dataset.data_dir={config.data_dir} does not exist or is not a folder. Point it at the "
                f"folder holding the {config.name} files, or leave it unset to search the usual places."
            )
        return [data_dir] + [data_dir / sub for sub in subfolders]
    if os.environ.get(DATA_DIR_VARIABLE):
        root = Path(os.path.expanduser(os.environ[DATA_DIR_VARIABLE]))
        if not root.is_dir():
            raise DataError(
                f"{DATA_DIR_VARIABLE}={root} does not exist or is not a folder. Point it at a folder with "
                f"one subfolder per dataset (for example mnist/, cifar10/), or unset it."
            )
        roots += [root / sub for sub in subfolders]
    return roots + [Path(folder) for folder in system_dirs]


def _not_found(config, looked: List[Path], download_error: Optional[str]) -> DataError:
    places = "; ".join(str(path) for path in looked) or "(nowhere)"
    reason = (
        f"and the download through keras.datasets failed ({download_error})"
        if download_error
        else "and downloading is off (dataset.download=false)"
    )
    return DataError(
        f"Dataset '{config.name}' was not found. Looked in: {places}; {reason}. Fix: put the official "
        f"files in a folder and pass dataset.data_dir=<folder>, or set {DATA_DIR_VARIABLE} to a folder "
        f"with a '{config.name}' subfolder, or run once with network access so Keras can download it. "
        f"To run offline without any files, use dataset=digits (scikit-learn's bundled 8x8 digits, no download)."
    )


def _download(config, keras_loader_name: str, cache_entries: List[Path], looked: List[Path]):
    """Ask keras.datasets for the data, only when Keras' cache holds nothing it could delete."""
    present = [path for path in cache_entries if path.exists()]
    if present:
        raise DataError(
            f"Keras' cache holds {present[0]} for dataset '{config.name}', but not in a form fcbaseline "
            f"could read. fcbaseline never lets Keras re-download over (and possibly delete) an existing "
            f"file: move or remove it yourself, or pass dataset.data_dir=<folder with the official files>."
        )
    if not config.download:
        raise _not_found(config, looked, None)
    from fcbaseline import quiet

    quiet.import_tensorflow()  # a download is the only reason data loading needs Keras
    import keras

    try:
        return getattr(keras.datasets, keras_loader_name).load_data()
    except Exception as error:  # urllib, ssl, socket and Keras each raise their own types
        raise _not_found(config, looked, f"{type(error).__name__}: {error}") from None


def _not_in_data_dir(config, looked: List[Path], files: List[str]) -> DataError:
    return DataError(
        f"dataset.data_dir={config.data_dir} does not hold the {config.name} files ({', '.join(files)}); "
        f"looked in {'; '.join(map(str, looked))}. An explicit data_dir is the only place looked: point it at "
        f"the folder with these files, or leave it unset to search the usual places "
        f"(docs/own-data.md, 'How data is found')."
    )


def _load_idx_dataset(
    config,
    subfolders: List[str],
    system_dirs: List[str],
    keras_name: str,
    cache: List[Path],
    packaged_dirs: Optional[List[Path]] = None,
):
    roots = _search_roots(config, subfolders, system_dirs)
    if not config.data_dir:  # the folders shipped with fcbaseline, then Keras' cache
        roots += list(packaged_dirs or []) + [keras_datasets_dir() / sub for sub in subfolders]
    for root in roots:
        paths = {key: root / file for key, file in IDX_FILES.items()}
        if all(path.is_file() for path in paths.values()):
            arrays = (
                read_idx(paths["train_images"], 3),
                read_idx(paths["train_labels"], 1),
                read_idx(paths["test_images"], 3),
                read_idx(paths["test_labels"], 1),
            )
            return arrays, str(root)
    if config.data_dir:
        raise _not_in_data_dir(config, roots, list(IDX_FILES.values()))
    for npz in cache:
        if npz.suffix == ".npz" and npz.is_file():
            fix = "Move it away so that Keras fetches a fresh copy."
            arrays = load_npz(npz, "a Keras dataset file", fix, wanted=lambda name: name in NPZ_KEYS)
            if any(key not in arrays for key in NPZ_KEYS):
                raise DataError(f"{npz} lacks some of {', '.join(NPZ_KEYS)}. {fix}")
            return tuple(arrays[key] for key in NPZ_KEYS), str(npz)
    (x_train, y_train), (x_test, y_test) = _download(config, keras_name, cache, roots)
    return (x_train, y_train, x_test, y_test), f"keras.datasets.{keras_name}"


NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")  # Keras' cached mnist.npz and fashion files


def load_mnist(config):
    cache = [keras_datasets_dir() / "mnist.npz"]
    return _load_idx_dataset(config, ["mnist"], [], "mnist", cache, packaged_dirs=[PACKAGED_MNIST_DIR])


def load_fashion_mnist(config):
    cache = [keras_datasets_dir() / "fashion-mnist"]
    return _load_idx_dataset(
        config, ["fashion_mnist", "fashion-mnist"], ["/usr/share/datasets/fashion-mnist"], "fashion_mnist", cache
    )


def load_cifar10(config):
    subfolders = ["cifar-10-batches-py", "cifar10/cifar-10-batches-py", "cifar10"]
    keras_dir = keras_datasets_dir()
    # what Keras 3.15's cifar10.load_data leaves in its cache: the download, then its extraction
    target = "cifar-10-batches-py-target"
    cache = [keras_dir / f"{target}_archive", keras_dir / target, keras_dir / "cifar-10-batches-py"]
    roots = _search_roots(config, subfolders, [])
    if not config.data_dir:
        roots += [keras_dir / target / "cifar-10-batches-py", keras_dir / "cifar-10-batches-py"]
    for root in roots:
        if all((root / name).is_file() for name in CIFAR10_BATCHES):
            batches = [read_cifar_batch(root / name) for name in CIFAR10_BATCHES]
            x_train = np.concatenate([images for images, _ in batches[:5]])
            y_train = np.concatenate([labels for _, labels in batches[:5]])
            return (x_train, y_train, *batches[5]), str(root)
    if config.data_dir:
        raise _not_in_data_dir(config, roots, CIFAR10_BATCHES)
    (x_train, y_train), (x_test, y_test) = _download(config, "cifar10", cache, roots)
    return (x_train, y_train, x_test, y_test), "keras.datasets.cifar10"


def load_digits(config):
    """scikit-learn's bundled 8x8 digits (1,797 images, values 0..16): no download, ever."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = (bunch.images * (255 / 16)).round().astype(np.uint8)  # the same 0..255 scale as the others
    x_train, x_test, y_train, y_test = train_test_split(
        images, bunch.target, test_size=0.25, random_state=0, stratify=bunch.target
    )
    return (x_train, y_train, x_test, y_test), "sklearn.datasets.load_digits (fixed 75/25 stratified split)"


# name -> (loader, image shape); a loader returns (x_train, y_train, x_test, y_test) as uint8 images
BUILTIN: Dict[str, Tuple[Callable, Tuple[int, ...]]] = {
    "mnist": (load_mnist, (28, 28)),
    "fashion_mnist": (load_fashion_mnist, (28, 28)),
    "cifar10": (load_cifar10, (32, 32, 3)),
    "digits": (load_digits, (8, 8)),
}


# ---------------------------------------------------------------- checks and scaling


def _check(name: str, split: str, images: np.ndarray, labels: np.ndarray, image_shape, num_classes: int, source: str):
    labels = np.asarray(labels).reshape(-1)
    if images.dtype != np.uint8 or tuple(images.shape[1:]) != tuple(image_shape):
        raise DataError(
            f"{source}: {name} {split} images are {images.dtype} {images.shape}, expected uint8 "
            f"(N, {', '.join(map(str, image_shape))}). The files are not the {name} dataset."
        )
    if len(images) != len(labels):
        raise DataError(
            f"{source}: {name} has {len(images)} {split} images but {len(labels)} {split} labels; "
            f"the image and label files do not belong together. Replace them with the official files."
        )
    if len(labels) == 0 or labels.min() < 0 or labels.max() >= num_classes:
        raise DataError(
            f"{source}: {name} {split} labels must lie in 0..{num_classes - 1}, found "
            f"{labels.min() if len(labels) else 'none'}..{labels.max() if len(labels) else ''}. If "
            f"dataset.class_names was given, it must name every class of {name}; otherwise replace the files."
        )
    return labels.astype(np.int64)


def load_builtin(config) -> Dataset:
    """Load `config.name` (a DatasetConfig): checked uint8 images in their own shape (the model flattens)."""
    loader, image_shape = BUILTIN[config.name]
    (x_train, y_train, x_test, y_test), source = loader(config)
    num_classes = len(config.class_names)
    y_train = _check(config.name, "training", x_train, y_train, image_shape, num_classes, source)
    y_test = _check(config.name, "test", x_test, y_test, image_shape, num_classes, source)
    return Dataset(
        name=config.name,
        class_names=list(config.class_names),
        x_train=np.ascontiguousarray(x_train),
        y_train=y_train,
        x_test=np.ascontiguousarray(x_test),
        y_test=y_test,
        source=source,
        image_shape=tuple(image_shape),
    )
