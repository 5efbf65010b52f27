"""The bad-input matrix (docs/troubleshooting.md): every case gets a one-paragraph error that
names the problem and the fix, a non-zero exit status (2 for usage and config errors), no traceback,
and leaves every data file and every earlier result exactly as it was."""

import gzip
import pickle
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import Exploit, fingerprint, run_cli, write_cifar_dataset, write_idx, write_idx_dataset


def mnist_files(root):
    write_idx_dataset(root / "mnist", train=40, test=10)
    return root / "mnist"


def truncated_gzip(root):
    folder = mnist_files(root)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:300])


def wrong_magic(root):
    folder = mnist_files(root)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(10, np.uint8), magic=0x00000803)


def count_mismatch(root):
    folder = mnist_files(root)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(39, np.uint8))


def not_gzip(root):
    folder = mnist_files(root)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes())
    )


def cifar_wrong_shape(root):
    folder = root / "cifar10" / "cifar-10-batches-py"
    write_cifar_dataset(folder)
    (folder / "data_batch_2").write_bytes(
        pickle.dumps({b"labels": [1], b"data": np.zeros((1, 3, 32, 32), np.uint8)}, 2)
    )


def cifar_malicious(root):
    folder = root / "cifar10" / "cifar-10-batches-py"
    write_cifar_dataset(folder)
    evil = {b"labels": [0], b"data": np.zeros((1, 3072), np.uint8), b"filenames": [Exploit(root / "owned")]}
    (folder / "test_batch").write_bytes(pickle.dumps(evil, protocol=2))


def empty_root(root):
    pass


def a_file_of_mine(root):
    (root / "important.keras").write_bytes(b"a model of mine, not to be replaced")


# (case id, command-line arguments, environment, prepare data under the data root, exit status, message)
CASES = [
    ("unknown dataset", ["dataset=imagenet"], {}, None, 2, "Could not find 'dataset/imagenet'"),
    ("unknown optimizer", ["optimizer=lion"], {}, None, 2, "Could not find 'optimizer/lion'"),
    ("optimizer name", ["optimizer.name=adam"], {}, None, 2, "optimizer.name=adam does not match the chosen optimizer"),
    ("dataset name", ["dataset.name=fashion_mnist"], {}, None, 2, "Use dataset=fashion_mnist instead of dataset.name"),
    ("unknown schedule", ["optimizer.schedule.name=cosin"], {}, None, 2, "Did you mean 'cosine'"),
    ("dropout rate", ["model.dropout=1.5"], {}, None, 2, "rate 1.5 of layer 1 must be in [0, 1)"),
    ("unknown callback", ["training.callbacks=[early_stoping]"], {}, None, 2, "Did you mean 'early_stopping'"),
    (
        "callback not listed",
        ["training.early_stopping.patience=3"],
        {},
        None,
        2,
        "'early_stopping' is not in training.callbacks, so it would have no effect",
    ),
    ("typo in a key", ["optimizer.lrr=0.1"], {}, None, 2, "Key 'lrr' not in 'SGDConfig'"),
    (
        "string for a number",
        ["optimizer.lr=fast"],
        {},
        None,
        2,
        "Value 'fast' of type 'str' could not be converted to Float",
    ),
    ("no hidden layer", ["model.hidden_sizes=[]"], {}, None, 2, "model.hidden_sizes=[] has no hidden layer"),
    ("zero units", ["model.hidden_sizes=[0]"], {}, None, 2, "model.hidden_sizes[0]=0 must be a positive number"),
    ("negative lr", ["optimizer.lr=-1"], {}, None, 2, "optimizer.lr=-1.0 must be > 0"),
    ("unknown activation", ["model.activation=sigmoidd"], {}, None, 2, "Did you mean 'sigmoid'"),
    ("activation count", ["model.activation=[relu]"], {}, None, 2, "has 1 names but model.hidden_sizes has 2"),
    ("zero epochs", ["training.epochs=0"], {}, None, 2, "training.epochs=0 must be a positive integer"),
    (
        "validation fraction",
        ["training.validation_fraction=1.5"],
        {},
        None,
        2,
        "validation_fraction=1.5 must be between 0 and 1",
    ),
    (
        "batch over training set",
        ["dataset=digits", "training.batch_size=5000"],
        {},
        None,
        2,
        "larger than the 1347 training images",
    ),
    ("resume nothing", ["resume=RUN_ROOT"], {}, None, 2, "there is no checkpoint.npz"),
    (
        "image folder without data_dir",
        ["dataset=image_folder"],
        {},
        None,
        2,
        "dataset=image_folder needs dataset.data_dir",
    ),
    ("arrays without file", ["dataset=arrays"], {}, None, 2, "dataset=arrays needs dataset.file=<path of an .npz"),
    (
        "arrays file missing",
        ["dataset=arrays", "dataset.file=/no/such.npz"],
        {},
        None,
        1,
        "does not exist or is not a file",
    ),
    ("unwritable output", ["hydra.run.dir=RUN_ROOT/a_file/run"], {}, None, 2, "Cannot write the output folder"),
    (
        "new run into a finished run",
        ["dataset=digits", "hydra.run.dir=RUN_ROOT/outputs/earlier_run"],
        {},
        None,
        2,
        "already holds the results of an earlier run (metrics.json); a new run never replaces them",
    ),
    (
        "new sweep into a finished one",
        ["-m", "dataset=digits", "model.hidden_sizes=[8],[16]", "hydra.sweep.dir=RUN_ROOT/outputs/earlier_run"],
        {},
        None,
        2,
        "a new sweep never replaces them. Continue that sweep with resume=",
    ),
    ("resume a folder that is not there", ["resume=RUN_ROOT/no_such_run"], {}, None, 2, "there is no folder"),
    (
        "checkpoint outside the run folder",
        [
            "dataset=digits",
            "training.callbacks=[model_checkpoint]",
            "training.model_checkpoint.filename=DATA/important.keras",
        ],
        {},
        a_file_of_mine,
        2,
        "must be a plain file name ending in .keras",
    ),
    ("backend not installed", [], {"KERAS_BACKEND": "jax"}, None, 2, "KERAS_BACKEND=jax"),
    ("data root missing", [], {"FCBASELINE_DATA_DIR": "MISSING"}, None, 1, "does not exist or is not a folder"),
    (
        "data_dir missing",
        ["dataset.data_dir=/no/such/folder"],
        {},
        None,
        1,
        "dataset.data_dir=/no/such/folder does not exist",
    ),
    (
        "missing data offline",
        ["dataset=cifar10", "dataset.download=false"],
        {},
        empty_root,
        1,
        "Dataset 'cifar10' was not found",
    ),
    (
        "unknown pruner",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "hydra.sweeper.pruner.name=medain"],
        {},
        None,
        2,
        "hydra.sweeper.pruner.name=medain is not one of median, percentile",
    ),
    (
        "float range in a search",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "optimizer.lr=range(0.1,0.5,0.1)"],
        {},
        None,
        2,
        "Optuna samples integer ranges only; use interval(a, b) for a float",
    ),
    (
        "search storage that cannot be opened",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "hydra.sweeper.storage=nosuchdb://host/x"],
        {},
        None,
        2,
        "hydra.sweeper.storage=nosuchdb://host/x: Optuna cannot open it",
    ),
    ("truncated gz", [], {}, truncated_gzip, 1, "truncated or corrupted"),
    ("wrong IDX magic", [], {}, wrong_magic, 1, "IDX magic number 0x00000803, expected 0x00000801"),
    ("count mismatch", [], {}, count_mismatch, 1, "40 training images but 39 training labels"),
    ("IDX not gzipped", [], {}, not_gzip, 1, "Cannot decompress"),
    (
        "CIFAR wrong shape",
        ["dataset=cifar10"],
        {},
        cifar_wrong_shape,
        1,
        "'data' must be a uint8 array of shape (N, 3072)",
    ),
    (
        "malicious pickle",
        ["dataset=cifar10"],
        {},
        cifar_malicious,
        1,
        "global 'posix.system' is not part of the CIFAR-10 format",
    ),
]


@pytest.mark.parametrize("case, arguments, environment, prepare, exit_code, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, case, arguments, environment, prepare, exit_code, message):
    data_root = tmp_path / "data"
    data_root.mkdir()
    if prepare:
        prepare(data_root)
    (tmp_path / "a_file").write_text("a file, not a folder")
    earlier = tmp_path / "outputs" / "earlier_run"
    earlier.mkdir(parents=True)
    (earlier / "metrics.json").write_text('{"status": "completed"}')
    before = fingerprint(tmp_path)

    arguments = [argument.replace("RUN_ROOT", str(tmp_path)).replace("DATA", str(data_root)) for argument in arguments]
    environment = {key: value.replace("MISSING", str(tmp_path / "missing")) for key, value in environment.items()}
    result = run_cli(arguments, cwd=tmp_path, data_dir=data_root, extra_environment=environment)
    output = result.stdout + result.stderr

    assert result.returncode == exit_code, output[-3000:]
    assert message in output
    assert "Traceback" not in output
    assert not (data_root / "owned").exists()
    after = fingerprint(tmp_path)
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    # no file that was there before was changed or deleted (new ones: this attempt's log and record)
    assert not [path for path in changed if path in before], changed
    assert not (tmp_path / "no_such_run").exists()  # a refused start leaves no folder behind


def test_a_full_disk_leaves_no_half_written_file(tmp_path):
    """RLIMIT_FSIZE makes every write past 200 KB fail, as a full disk would (EFBIG instead of ENOSPC)."""

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    command = [sys.executable, "-m", "fcbaseline", "dataset=digits", "training.epochs=2", "model.hidden_sizes=[2000]"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, preexec_fn=limit_file_size)
    assert result.returncode == 1
    assert "Cannot write" in result.stderr + result.stdout and "checkpoint.npz" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    [run_directory] = (tmp_path / "outputs" / "runs").glob("*/*")
    assert not list(run_directory.glob(".*partial*"))  # no temporary left behind
    assert not (run_directory / "checkpoint.npz").exists()
