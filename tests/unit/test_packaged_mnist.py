"""The official MNIST files shipped inside the package (fcbaseline/data/mnist/): intact, and found
after dataset.data_dir and $FCBASELINE_DATA_DIR but before Keras' cache or a download."""

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

import fcbaseline
from fcbaseline.config import compose_config
from fcbaseline.data import load_dataset
from tests.helpers import write_idx_dataset

PACKAGED = Path(fcbaseline.__file__).parent / "data" / "mnist"
# the published sha256 of the official files (shared/datasets/README.md)
OFFICIAL_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty Keras cache, no $FCBASELINE_DATA_DIR, a working directory of our own (so the in-process
    dataset cache never hands back another test's dataset), and no way to download: Keras and TensorFlow
    cannot be imported while the test runs."""
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.delenv("FCBASELINE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    monkeypatch.setitem(sys.modules, "keras", None)
    yield tmp_path
    assert list(keras_home.iterdir()) == []  # nothing was downloaded or cached


def test_packaged_files_are_the_official_ones():
    found = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in PACKAGED.glob("*.gz")}
    assert found == OFFICIAL_SHA256


def test_first_run_finds_the_packaged_mnist_without_network(offline):
    config = compose_config([]).dataset  # the default: what `python -m fcbaseline` runs
    assert config.name == "mnist" and not config.data_dir
    dataset = load_dataset(config)
    assert dataset.source == str(PACKAGED)
    assert dataset.x_train.shape == (60000, 28, 28) and dataset.x_test.shape == (10000, 28, 28)
    assert len(dataset.y_train) == 60000 and len(dataset.y_test) == 10000
    assert dataset.y_train[0] == 5 and dataset.y_test[0] == 7


def test_data_dir_variable_wins_over_the_packaged_files(offline, monkeypatch):
    root = offline / "data_root"
    folder = root / "mnist"
    folder.mkdir(parents=True)
    arrays = write_idx_dataset(folder, train=12, test=5)
    monkeypatch.setenv("FCBASELINE_DATA_DIR", str(root))
    dataset = load_dataset(compose_config(["dataset=mnist"]).dataset)
    assert dataset.source == str(folder)
    assert dataset.x_train.shape == (12, 28, 28) and dataset.x_test.shape == (5, 28, 28)
    assert np.array_equal(dataset.x_train, arrays["train_images"])
    assert np.array_equal(dataset.y_train, arrays["train_labels"])
    assert np.array_equal(dataset.x_test, arrays["test_images"])
    assert np.array_equal(dataset.y_test, arrays["test_labels"])


def test_not_found_message_offers_the_offline_digits(offline, monkeypatch):
    empty_root = offline / "empty_root"
    empty_root.mkdir()
    monkeypatch.setenv("FCBASELINE_DATA_DIR", str(empty_root))
    config = compose_config(["dataset=cifar10", "dataset.download=false"]).dataset
    with pytest.raises(Exception) as raised:
        load_dataset(config)
    message = str(raised.value)
    assert type(raised.value).__name__ == "DataError", message
    assert "Dataset 'cifar10' was not found" in message
    assert "dataset=digits" in message
