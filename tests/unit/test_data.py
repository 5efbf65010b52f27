"""The built-in loaders, in process: the real MNIST (packaged) and CIFAR-10 files against their published
facts, small files the tests write in the genuine formats, and bad files refused clearly and left alone."""

import gzip
import math
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from fcbaseline import data
from fcbaseline.data import DataError
from tests.helpers import (
    CIFAR10_DIR,
    MNIST_DIR,
    Exploit,
    compose_config,
    fingerprint,
    needs_cifar10,
    write_cifar_dataset,
    write_idx,
    write_idx_dataset,
)

FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No test reads the user's ~/.keras or $FCBASELINE_DATA_DIR unless it sets them itself, and each runs
    in its own working directory (part of the in-process dataset cache's key: no test gets another's)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)


def dataset_config(name, **changes):
    config = compose_config([f"dataset={name}"]).dataset
    for key, value in changes.items():
        config[key] = value
    return config


# ---------------------------------------------------------------- real data


def test_real_mnist_matches_the_published_facts():
    before = fingerprint(MNIST_DIR)
    dataset = data.load_dataset(dataset_config("mnist", data_dir=str(MNIST_DIR)))
    assert dataset.x_train.shape == (60000, 28, 28) and dataset.x_test.shape == (10000, 28, 28)
    assert dataset.x_train.dtype == np.uint8 and dataset.x_test.dtype == np.uint8
    scaled = data.to_unit_interval(dataset.x_test)
    assert scaled.dtype == np.float32 and scaled.min() == 0.0 and scaled.max() == 1.0
    assert dataset.y_train[0] == 5 and dataset.y_test[0] == 7
    assert np.bincount(dataset.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(dataset.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert dataset.x_train.mean() == pytest.approx(33.318, abs=0.001)
    assert fingerprint(MNIST_DIR) == before


def test_mnist_is_found_through_the_environment_variable(tmp_path, monkeypatch):
    root = tmp_path / "data_root"
    shutil.copytree(MNIST_DIR, root / "mnist")  # the real files, in a root of the user's own
    monkeypatch.setenv(data.DATA_DIR_VARIABLE, str(root))
    dataset = data.load_dataset(dataset_config("mnist"))
    assert dataset.source == str(root / "mnist") and len(dataset.y_train) == 60000
    assert dataset.source != str(MNIST_DIR)  # the variable wins over the packaged copy


@needs_cifar10
def test_real_cifar10_matches_the_published_facts():
    dataset = data.load_dataset(dataset_config("cifar10", data_dir=str(CIFAR10_DIR)))
    assert dataset.x_train.shape == (50000, 32, 32, 3) and dataset.x_test.shape == (10000, 32, 32, 3)
    assert dataset.x_train.dtype == np.uint8
    assert dataset.y_train[0] == 6 and dataset.y_test[0] == 3
    assert np.bincount(dataset.y_train).tolist() == [5000] * 10
    assert np.bincount(dataset.y_test).tolist() == [1000] * 10
    assert np.bincount(dataset.y_train[:10000]).tolist() == [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]
    # Keras' channels-last order: pixel (0, 0) of image 0 is R, G, B; data_batch_1 row 0 starts 59, 43, 50 (R plane).
    image = dataset.x_train[0].reshape(32, 32, 3)
    assert image[0, :3, 0].tolist() == [59, 43, 50]
    assert image[31, 29:, 2].tolist() == [140, 84, 72]  # the row ends with the last three B-plane values
    means = dataset.x_train.reshape(-1, 3).mean(axis=0, dtype=np.float64).tolist()
    assert means == pytest.approx([125.307, 122.950, 113.865], abs=0.002)


@pytest.mark.skipif(not FASHION_SYSTEM_DIR.is_dir(), reason="apt-get install dataset-fashion-mnist to test this")
def test_fashion_mnist_from_the_debian_package():
    dataset = data.load_dataset(dataset_config("fashion_mnist"))
    assert dataset.source == str(FASHION_SYSTEM_DIR)
    assert dataset.x_train.shape == (60000, 28, 28) and dataset.x_test.shape == (10000, 28, 28)
    assert np.bincount(dataset.y_train).tolist() == [6000] * 10
    assert np.bincount(dataset.y_test).tolist() == [1000] * 10
    assert dataset.class_names[9] == "Ankle boot"


def test_digits_needs_no_files():
    dataset = data.load_dataset(dataset_config("digits"))
    assert dataset.x_train.shape == (1347, 8, 8) and dataset.x_test.shape == (450, 8, 8)
    assert dataset.x_train.max() == 255 and data.to_unit_interval(dataset.x_train).max() == 1.0
    full_counts = np.bincount(np.concatenate([dataset.y_train, dataset.y_test]))
    assert np.abs(np.bincount(dataset.y_test) - full_counts * 0.25).max() < 1  # stratified


# ---------------------------------------------------------------- genuine formats, written here


def test_fashion_mnist_files_in_a_data_dir_are_read_exactly(tmp_path):
    arrays = write_idx_dataset(tmp_path / "fashion-mnist", train=20, test=7)
    dataset = data.load_dataset(dataset_config("fashion_mnist", data_dir=str(tmp_path)))
    assert dataset.source == str(tmp_path / "fashion-mnist")
    assert np.array_equal(dataset.y_train, arrays["train_labels"])
    assert np.array_equal(dataset.x_test, arrays["test_images"])  # images keep their 28x28 shape


def test_cifar10_batches_in_a_data_dir_are_read_exactly(tmp_path):
    written = write_cifar_dataset(tmp_path / "cifar-10-batches-py")
    dataset = data.load_dataset(dataset_config("cifar10", data_dir=str(tmp_path)))
    assert dataset.x_train.shape == (20, 32, 32, 3) and dataset.x_test.shape == (4, 32, 32, 3)
    rows, labels = written["data_batch_2"]
    assert dataset.y_train[4:8].tolist() == labels
    hwc = dataset.x_train[4:8].reshape(4, 32, 32, 3)
    assert np.array_equal(hwc, rows.reshape(4, 3, 32, 32).transpose(0, 2, 3, 1))


def test_keras_cache_is_read_without_keras(tmp_path, monkeypatch):
    monkeypatch.setattr("fcbaseline.data.builtin.PACKAGED_MNIST_DIR", tmp_path / "none")  # as if not shipped
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    generator = np.random.default_rng(1)
    arrays = {
        "x_train": generator.integers(0, 256, (9, 28, 28), dtype=np.uint8),
        "y_train": generator.integers(0, 10, 9, dtype=np.uint8),
        "x_test": generator.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "y_test": generator.integers(0, 10, 3, dtype=np.uint8),
    }
    np.savez(cache / "mnist.npz", **arrays)
    dataset = data.load_dataset(dataset_config("mnist"))
    assert dataset.source == str(cache / "mnist.npz")
    assert np.array_equal(dataset.y_test, arrays["y_test"])


# ---------------------------------------------------------------- bad files: clear errors, nothing changed


def corrupt_cases():
    def truncated(folder):
        path = folder / data.IDX_FILES["train_images"]
        path.write_bytes(path.read_bytes()[:200])

    def wrong_magic(folder):
        write_idx(folder / data.IDX_FILES["train_labels"], np.zeros(12, np.uint8), magic=0x00000803)

    def count_mismatch(folder):
        write_idx(folder / data.IDX_FILES["test_labels"], np.zeros(4, np.uint8))

    def short_payload(folder):
        path = folder / data.IDX_FILES["test_images"]
        raw = gzip.decompress(path.read_bytes())
        path.write_bytes(gzip.compress(raw[:-100]))

    def not_gzip(folder):
        (folder / data.IDX_FILES["test_labels"]).write_bytes(b"this is not a gzip file")

    def label_out_of_range(folder):
        write_idx(folder / data.IDX_FILES["train_labels"], np.full(12, 11, np.uint8))

    return [
        (truncated, "truncated or corrupted"),
        (wrong_magic, "magic number 0x00000803, expected 0x00000801"),
        (count_mismatch, "10 test images but 4 test labels"),
        (short_payload, "declares 5x28x28 = 3920 values but holds 3820"),
        (not_gzip, "Cannot decompress"),
        (label_out_of_range, r"labels must lie in 0..9, found 11..11"),
    ]


@pytest.mark.parametrize("damage, message", corrupt_cases(), ids=lambda case: getattr(case, "__name__", ""))
def test_corrupted_idx_files_are_refused_clearly_and_left_alone(tmp_path, damage, message):
    folder = tmp_path / "mnist"
    write_idx_dataset(folder, train=12, test=5)
    if damage.__name__ == "count_mismatch":
        write_idx(folder / data.IDX_FILES["test_images"], np.zeros((10, 28, 28), np.uint8))
    damage(folder)
    before = fingerprint(folder)
    with pytest.raises(DataError, match=message) as raised:
        data.load_dataset(dataset_config("mnist", data_dir=str(folder)))
    assert str(folder) in str(raised.value) or "labels" in str(raised.value)
    assert fingerprint(folder) == before


def test_cifar_batch_with_a_wrong_shape_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_dataset(folder)
    batch = {b"labels": [0, 1], b"data": np.zeros((2, 1024), np.uint8)}
    (folder / "data_batch_3").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_3: 'data' must be a uint8 array of shape \(N, 3072\)"):
        data.load_dataset(dataset_config("cifar10", data_dir=str(tmp_path)))


def test_truncated_cifar_batch_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_dataset(folder)
    path = folder / "test_batch"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError, match="test_batch is not a valid CIFAR-10 python batch"):
        data.load_dataset(dataset_config("cifar10", data_dir=str(tmp_path)))


def test_malicious_cifar_pickle_cannot_run_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_dataset(folder)
    marker = tmp_path / "owned"
    evil = {b"labels": [0], b"data": np.zeros((1, 3072), np.uint8), b"filenames": [Exploit(marker)]}
    (folder / "data_batch_1").write_bytes(pickle.dumps(evil, protocol=2))
    pickle.loads(pickle.dumps(Exploit(tmp_path / "control"), protocol=2))  # the exploit is real: plain pickle runs it
    assert (tmp_path / "control").exists()
    with pytest.raises(DataError, match=r"global 'posix.system' is not part of the CIFAR-10 format"):
        data.load_dataset(dataset_config("cifar10", data_dir=str(tmp_path)))
    assert not marker.exists()


def test_missing_data_without_download_names_every_place_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_VARIABLE, str(tmp_path / "empty_root"))
    (tmp_path / "empty_root").mkdir()
    with pytest.raises(DataError) as raised:
        data.load_dataset(dataset_config("cifar10", download=False))
    message = str(raised.value)
    assert "Dataset 'cifar10' was not found" in message
    assert str(tmp_path / "empty_root" / "cifar-10-batches-py") in message
    assert "dataset.data_dir=<folder>" in message and "FCBASELINE_DATA_DIR" in message


def test_data_dir_that_does_not_exist(tmp_path):
    with pytest.raises(DataError, match="dataset.data_dir=.*does not exist"):
        data.load_dataset(dataset_config("mnist", data_dir=str(tmp_path / "nowhere")))


def test_damaged_keras_cache_is_never_handed_to_keras(tmp_path):
    """Keras' get_file deletes a cached file with a wrong hash when it cannot re-download: never let it see one."""
    cache = tmp_path / "keras_home" / "datasets" / "cifar-10-batches-py-target"
    cache.mkdir(parents=True)
    (cache / "partial_download.tar.gz").write_bytes(b"half a file")
    before = fingerprint(tmp_path / "keras_home")
    with pytest.raises(DataError, match="never lets Keras re-download over"):
        data.load_dataset(dataset_config("cifar10", download=True))
    assert fingerprint(tmp_path / "keras_home") == before


def test_validation_split_is_stratified_and_disjoint():
    dataset = data.load_dataset(dataset_config("digits"))
    x_train, y_train, x_valid, y_valid = data.validation_split(dataset.x_train, dataset.y_train, 0.2, seed=3)
    assert len(y_valid) == math.ceil(0.2 * len(dataset.y_train)) and len(y_train) + len(y_valid) == len(dataset.y_train)
    assert set(map(bytes, x_valid)).isdisjoint(map(bytes, x_train))
    assert np.abs(np.bincount(y_valid) / len(y_valid) - np.bincount(y_train) / len(y_train)).max() < 0.02


def test_a_sweep_process_reuses_the_loaded_dataset_until_its_files_change(tmp_path):
    folder = tmp_path / "mnist"
    shutil.copytree(MNIST_DIR, folder)
    config = compose_config([f"dataset.data_dir={folder}"]).dataset
    first = data.load_dataset(config)
    assert data.load_dataset(config) is first  # the next job of a sweep: no second read
    with pytest.raises(ValueError):  # read-only: one job cannot change what the next one trains on
        first.x_train[0, 0, 0] = 1
    other = data.load_dataset(compose_config([f"dataset.data_dir={folder}", "dataset.download=false"]).dataset)
    assert other is not first and np.array_equal(other.x_train, first.x_train)  # another config: read again
    stamp = (folder / "train-labels-idx1-ubyte.gz").stat()
    os.utime(folder / "train-labels-idx1-ubyte.gz", ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    again = data.load_dataset(compose_config([f"dataset.data_dir={folder}", "dataset.download=false"]).dataset)
    assert again is not other  # a file changed: read again
