"""The bad-input table (docs/troubleshooting.md, "When something is wrong"): each case runs the command
line in this process, as a user types it, and must end with the stated exit status (2 usage and config,
1 data and run files), its one-paragraph message on stderr naming the key or file, no traceback, and every
file the user had (data, earlier runs, files outside the run folder) byte-identical afterwards. A refusal
leaves no new file at all, unless the case says a new run's folder records the failure."""

import gzip
import json
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pytest
from PIL import Image

import fcbaseline
from fcbaseline.files import FolderLock
from tests.helpers import Exploit, cli_in_process, fingerprint, write_cifar_dataset, write_idx, write_idx_dataset


@dataclass(frozen=True)
class Case:
    name: str
    arguments: Sequence[str]  # {data}, {user}, {run}, {sweep}, {images} are filled in
    exit: int
    message: str  # on stderr
    prepare: Optional[Callable] = None  # prepare(places) writes the user's files; may return a lock to hold
    new_run_folder: bool = False  # the failure is recorded in the new run's own folder (and nothing else)
    environment: tuple = ()


# ------------------------------------------------------------------ what the user has, per case


def npz(**arrays):
    def prepare(places):
        np.savez(places["data"] / "mine.npz", **arrays)

    return prepare


def valid_arrays(**changes):
    generator = np.random.default_rng(0)
    arrays = {
        "x_train": generator.integers(0, 256, (20, 4, 4), dtype=np.uint8),
        "y_train": np.arange(20) % 2,
        "x_test": generator.integers(0, 256, (6, 4, 4), dtype=np.uint8),
        "y_test": np.arange(6) % 2,
    }
    arrays.update(changes)
    return {key: value for key, value in arrays.items() if value is not None}


def raw_file(content: bytes, name="mine.npz"):
    def prepare(places):
        (places["data"] / name).write_bytes(content)

    return prepare


def truncated_npz(places):
    npz(**valid_arrays())(places)
    path = places["data"] / "mine.npz"
    path.write_bytes(path.read_bytes()[:300])


def npy_renamed(places):
    with open(places["data"] / "mine.npz", "wb") as file:
        np.save(file, np.zeros((3, 3), np.uint8))


def huge_header(places):
    """A valid .npz whose x_train header claims 10^12 bytes (the array's bytes are far fewer)."""
    import zipfile

    npz(**valid_arrays())(places)
    path = places["data"] / "mine.npz"
    header = {"descr": "|u1", "fortran_order": False, "shape": (1_000_000, 1000, 1000)}
    member = bytearray()
    np.lib.format.write_array_header_1_0(_Buffer(member), header)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("x_train.npy", bytes(member) + b"\0" * 64)


class _Buffer:
    def __init__(self, target):
        self.target = target

    def write(self, data):
        self.target.extend(data)


def pickled_object_array(places):
    evil = np.array([Exploit(places["data"] / "owned")], dtype=object)
    np.savez(places["data"] / "mine.npz", **valid_arrays(x_train=evil))


def png(path: Path, size=(4, 4), value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8)).save(path)


def image_folder(classes=("a", "b"), per_class=5, extra=None):
    def prepare(places):
        for name in classes:
            for index in range(per_class):
                png(places["images"] / name / f"{index}.png", value=index * 20)
        if extra:
            extra(places["images"])

    return prepare


def mnist_files(places):
    write_idx_dataset(places["data"] / "mnist", train=40, test=10)
    return places["data"] / "mnist"


def damaged_mnist(damage):
    def prepare(places):
        damage(mnist_files(places))

    return prepare


def cifar(damage=None):
    def prepare(places):
        folder = places["data"] / "cifar10" / "cifar-10-batches-py"
        write_cifar_dataset(folder)
        if damage:
            damage(folder, places)

    return prepare


def a_finished_run(change=None):
    """A copy of a real finished run (trained once for the module) at {run}, optionally changed."""

    def prepare(places):
        shutil.copytree(places["finished"], places["run"])
        if change:
            return change(places["run"])

    return prepare


def interrupted(run: Path) -> None:
    metrics = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**metrics, "status": "interrupted"}))


def damaged_checkpoint(content: Optional[bytes] = None, cut: Optional[int] = None):
    def change(run):
        interrupted(run)
        path = run / "checkpoint.npz"
        path.write_bytes(content if content is not None else path.read_bytes()[:cut])

    return change


def checkpoint_with_state(state: str):
    def change(run):
        interrupted(run)
        with np.load(run / "checkpoint.npz") as file:
            arrays = {name: file[name] for name in file.files}
        arrays["state"] = np.array(state)
        with open(run / "checkpoint.npz", "wb") as file:
            np.savez(file, **arrays)

    return change


def checkpoint_state_changed(**changes):
    """The real checkpoint with some of its state's entries replaced."""

    def change(run):
        with np.load(run / "checkpoint.npz") as file:
            state = json.loads(str(file["state"]))
        checkpoint_with_state(json.dumps({**state, **changes}))(run)

    return change


def replaced(name: str, content: bytes):
    def change(run):
        (run / name).write_bytes(content)

    return change


def removed(name: str):
    def change(run):
        (run / name).unlink()

    return change


def run_and_images(change=None):
    """A finished run at {run} (changed by `change`) and an image folder at {images}, for predict."""

    def prepare(places):
        a_finished_run(change)(places)
        image_folder()(places)

    return prepare


def two_class_model(path: Path) -> None:
    import keras

    model = keras.Sequential([keras.Input((8, 8), dtype="uint8"), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.save(path)


def held_by_another_process(run: Path):
    return FolderLock(run).acquire()  # flock is per open file: the command's own open of it is refused


def a_finished_sweep(places):
    sweep = places["sweep"]
    (sweep / "0").mkdir(parents=True)
    (sweep / "0" / "metrics.json").write_text('{"status": "completed"}')
    (sweep / "multirun.yaml").write_text("hydra: {}\n")


def user_config(name: str, text: str):
    def prepare(places):
        path = places["user"] / "my_configs" / "experiment" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    return prepare


SMALL = ("dataset=digits", "training.epochs=1", "model.hidden_sizes=[8]", "tracking=none", "training.verbose=false")
ARRAYS = ("dataset=arrays", "dataset.file={data}/mine.npz", "training.epochs=1", "tracking=none")
FOLDER = ("dataset=image_folder", "dataset.data_dir={images}", "training.epochs=1", "tracking=none")
GOOD_PNG = "{images}/a/0.png"

CONFIG_VALUES = [
    Case("unknown dataset", ["dataset=imagenet"], 2, "Could not find 'dataset/imagenet'"),
    Case("unknown optimizer", ["optimizer=lion"], 2, "Could not find 'optimizer/lion'"),
    Case("unknown tracking", ["tracking=wandb"], 2, "Could not find 'tracking/wandb'"),
    Case("optimizer name", ["optimizer.name=adam"], 2, "optimizer.name=adam does not match the chosen optimizer"),
    Case("dataset name", ["dataset.name=fashion_mnist"], 2, "Use dataset=fashion_mnist instead of dataset.name"),
    Case("unknown schedule", ["optimizer.schedule.name=cosin"], 2, "Did you mean 'cosine'"),
    Case("unknown callback", ["training.callbacks=[early_stoping]"], 2, "Did you mean 'early_stopping'"),
    Case("callback not listed", ["training.early_stopping.patience=3"], 2, "'early_stopping' is not in training"),
    Case("typo in a key", ["optimizer.lrr=0.1"], 2, "Key 'lrr' not in 'SGDConfig'"),
    Case("added unknown key", ["+training.foo=3"], 2, "training.foo is not a config key"),
    Case("added misspelt key", ["+optimizer.momentun=0.9"], 2, "optimizer.momentun is not a config key. Did you mean"),
    Case("text for a number", ["optimizer.lr=fast"], 2, "Value 'fast' of type 'str' could not be converted to Float"),
    Case("fraction for an integer", ["training.epochs=2.5"], 2, "Value '2.5' of type 'float' could not be converted"),
    Case("text for a list", ["model.hidden_sizes=abc"], 2, "Invalid value assigned: str is not a ListConfig"),
    Case(
        "an interpolation to nothing",
        ["training.epochs=${{nope}}"],
        2,
        "training.epochs: Interpolation key 'nope' not found. Give it a value, or an interpolation to a key",
    ),
    Case("text for a bool", ["model.batch_norm=maybe"], 2, "Value 'maybe' is not a valid bool"),
    Case("text for an optional bool", ["training.xla=perhaps"], 2, "Value 'perhaps' is not a valid bool"),
    Case(
        "no hidden layer, two activations", ["model.hidden_sizes=[]", "model.activation=[relu,relu]"], 2, "has 2 names"
    ),
    Case("another model's name", ["model.name=cnn"], 2, "model.name=cnn does not match the chosen model config"),
    Case("unknown model", ["model.name=transformer"], 2, "model.name='transformer' is not a known name"),
    Case("a residual MLP of width 0", ["model=resmlp", "model.width=0"], 2, "model.width=0 is out of range"),
    Case("a residual MLP of negative depth", ["model=resmlp", "model.depth=-1"], 2, "model.depth=-1 is out of range"),
    Case("a CNN key on the MLP", ["+model.filters=[8]"], 2, "model.filters is not a config key"),
    Case("a CNN without convolutions", ["model=cnn", "model.filters=[]"], 2, "model.filters=[] has no convolution"),
    Case(
        "a CNN pooling below a pixel",
        ["model=cnn", "model.filters=[4,4,4,4,4,4]", "training.epochs=1", "tracking=none"],
        2,
        "6 poolings halve 28x28 images below one pixel",
        new_run_folder=True,
    ),
    Case("XLA for the CNN", ["model=cnn", "training.xla=true"], 2, "model=cnn's max pooling has no deterministic XLA"),
    Case("unknown augmentation", ["dataset.augment=[flip,rotate]"], 2, "dataset.augment[1]='rotate' is not a known"),
    Case("an augmentation twice", ["dataset.augment=[flip,flip]"], 2, "names an augmentation twice"),
    Case("translate by 0 pixels", ["dataset.augment=[translate]", "dataset.translate_pixels=0"], 2, "out of range"),
    Case(
        "translate as far as the image",
        ["dataset=digits", "dataset.augment=[translate]", "dataset.translate_pixels=8", "tracking=none"],
        2,
        "dataset.translate_pixels=8 would move 8x8 images out of sight",
        new_run_folder=True,
    ),
    Case("a fold without k-fold", ["training.fold=2"], 2, "training.fold=2 chooses the folds only with training"),
    Case("dropout in the linear model", ["model.hidden_sizes=[]", "model.dropout=0.2"], 2, "has no hidden layer for"),
    Case("no convolution", ["model=cnn", "model.filters=[0]"], 2, "for example model.filters=[32,64,128]."),
    Case("zero units", ["model.hidden_sizes=[0]"], 2, "model.hidden_sizes[0]=0 must be a positive number"),
    Case("negative units", ["model.hidden_sizes=[-4]"], 2, "model.hidden_sizes[0]=-4 must be a positive number"),
    Case("unknown activation", ["model.activation=sigmoidd"], 2, "Did you mean 'sigmoid'"),
    Case("activation count", ["model.activation=[relu,relu,relu]"], 2, "has 3 names but model.hidden_sizes has 2"),
    Case("output activation", ["model.output_activation=relu"], 2, "model.output_activation='relu' is not a known"),
    Case("dropout of 1.5", ["model.dropout=1.5"], 2, "rate 1.5 of layer 1 must be in [0, 1)"),
    Case("negative dropout", ["model.dropout=-0.1"], 2, "rate -0.1 of layer 1 must be in [0, 1)"),
    Case("dropout count", ["model.dropout=[0.1,0.2,0.3]"], 2, "model.dropout has 3 rates but model.hidden_sizes has 2"),
    Case("L2 not a number", ["model.l2=nan"], 2, "model.l2=nan is out of range: it must be a finite number >= 0"),
    Case("negative L2", ["model.l2=-1"], 2, "model.l2=-1.0 is out of range: it must be a finite number >= 0"),
    Case("zero learning rate", ["optimizer.lr=0"], 2, "optimizer.lr=0.0 must be > 0"),
    Case("negative learning rate", ["optimizer.lr=-1"], 2, "optimizer.lr=-1.0 must be > 0"),
    Case("infinite learning rate", ["optimizer.lr=inf"], 2, "optimizer.lr=inf is out of range"),
    Case("learning rate not a number", ["optimizer.lr=nan"], 2, "optimizer.lr=nan"),
    Case("negative momentum", ["optimizer.momentum=-0.5"], 2, "optimizer.momentum=-0.5 is out of range"),
    Case("momentum of 1", ["optimizer.momentum=1.0"], 2, "optimizer.momentum=1.0 is out of range: it must be"),
    Case("beta_1 above 1", ["optimizer=adam", "optimizer.beta_1=1.5"], 2, "optimizer.beta_1=1.5 is out of range"),
    Case("negative beta_2", ["optimizer=adam", "optimizer.beta_2=-0.1"], 2, "optimizer.beta_2=-0.1 is out of range"),
    Case("zero epsilon", ["optimizer=adam", "optimizer.epsilon=0"], 2, "optimizer.epsilon=0.0 is out of range"),
    Case("negative weight decay", ["optimizer=adamw", "optimizer.weight_decay=-5"], 2, "weight_decay=-5.0 is out"),
    Case("rho of 1", ["optimizer=rmsprop", "optimizer.rho=1"], 2, "optimizer.rho=1.0 is out of range"),
    Case("zero epochs", ["training.epochs=0"], 2, "training.epochs=0 must be a positive integer"),
    Case("negative epochs", ["training.epochs=-3"], 2, "training.epochs=-3 must be a positive integer"),
    Case("zero batch size", ["training.batch_size=0"], 2, "training.batch_size=0 must be a positive integer"),
    Case("zero recipe batch size", ["dataset.recipe.batch_size=0"], 2, "training.batch_size=0 must be a positive"),
    Case("negative seed", ["training.seed=-1"], 2, "training.seed=-1 is out of range: it must be a whole number in"),
    Case("seed too large", ["training.seed=99999999999"], 2, "training.seed=99999999999 is out of range"),
    Case("negative split seed", ["dataset.split_seed=-1"], 2, "dataset.split_seed=-1 is out of range"),
    Case("zero threads", ["training.threads=0"], 2, "training.threads=0 must be a positive number of threads"),
    Case("unknown precision", ["training.precision=float16"], 2, "Did you mean 'bfloat16'"),
    Case("unknown validation", ["training.validation=sometimes"], 2, "training.validation='sometimes' is not a known"),
    Case("validation fraction 0", ["training.validation_fraction=0"], 2, "validation_fraction=0.0 must be between"),
    Case("validation fraction 1.5", ["training.validation_fraction=1.5"], 2, "validation_fraction=1.5 must be"),
    Case(
        "validation fraction too small for a class",
        [*SMALL, "training.validation=split", "training.validation_fraction=0.001"],
        2,
        "training.validation_fraction=0.001: the smallest class has 131 of the 1347 images, so the fraction "
        "must lie in [0.0082, 0.9918]",
        new_run_folder=True,
    ),
    Case(
        "validation fraction too large for a class",
        [*SMALL, "training.validation=split", "training.validation_fraction=0.999"],
        2,
        "training.validation_fraction=0.999: the smallest class has 131 of the 1347 images",
        new_run_folder=True,
    ),
    Case(
        "batch over the training set",
        [*SMALL, "training.batch_size=5000"],
        2,
        "larger than the 1347 training images",
        new_run_folder=True,
    ),
    Case(
        "checkpoint file outside the run folder",
        ["training.callbacks=[model_checkpoint]", "training.model_checkpoint.filename={user}/important.keras"],
        2,
        "must be a plain file name ending in .keras",
    ),
    Case(
        "checkpoint file up a folder",
        ["training.callbacks=[model_checkpoint]", "training.model_checkpoint.filename=../up.keras"],
        2,
        "must be a plain file name ending in .keras",
    ),
    Case(
        "checkpoint file without .keras",
        ["training.callbacks=[model_checkpoint]", "training.model_checkpoint.filename=best"],
        2,
        "training.model_checkpoint.filename='best' must be a plain file name ending in .keras",
    ),
    Case(
        "checkpoint file named model.keras",
        ["training.callbacks=[model_checkpoint]", "training.model_checkpoint.filename=model.keras"],
        2,
        "not one of the run's own files (model.keras)",
    ),
    Case(
        "unknown early-stopping figure",
        ["training.callbacks=[early_stopping]", "training.early_stopping.monitor=val_acc"],
        2,
        "Did you mean 'val_accuracy'",
    ),
    Case(
        "negative patience",
        ["training.callbacks=[early_stopping]", "training.early_stopping.patience=-1"],
        2,
        "training.early_stopping.patience",
    ),
    Case(
        "unknown checkpoint figure",
        ["training.callbacks=[model_checkpoint]", "training.model_checkpoint.monitor=acc"],
        2,
        "training.model_checkpoint.monitor='acc' is not a known name",
    ),
    Case(
        "zero decay epochs",
        ["optimizer.schedule.name=step", "optimizer.schedule.decay_epochs=0"],
        2,
        "optimizer.schedule.decay_epochs=0 must be a positive integer",
    ),
    Case(
        "schedule factor above 1",
        ["optimizer.schedule.name=step", "optimizer.schedule.factor=1.5"],
        2,
        "optimizer.schedule.factor=1.5 must be between 0 and 1",
    ),
    Case(
        "warm-up longer than training",
        ["optimizer.schedule.name=cosine", "optimizer.schedule.warmup_epochs=200"],
        2,
        "optimizer.schedule.warmup_epochs=200 must be at least 0 and fewer than training.epochs=100",
    ),
    Case(
        "final rate fraction above 1",
        ["optimizer.schedule.name=cosine", "optimizer.schedule.final_lr_fraction=2"],
        2,
        "optimizer.schedule.final_lr_fraction=2.0 must be in [0, 1]",
    ),
    Case(
        "unknown plateau figure",
        ["optimizer.schedule.name=plateau", "optimizer.schedule.monitor=val_los"],
        2,
        "Did you mean 'val_loss'",
    ),
    Case("Keras backend not TensorFlow", [], 2, "KERAS_BACKEND=jax", environment=(("KERAS_BACKEND", "jax"),)),
    Case("unwritable output folder", ["hydra.run.dir={user}/a_file/run"], 2, "Cannot write the output folder"),
    Case("a sweep value out of range", ["-m", "optimizer.lr=-1", "training.seed=1,2"], 2, "optimizer.lr=-1.0 must"),
    Case(
        "unknown pruner",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "hydra.sweeper.pruner.name=medain"],
        2,
        "hydra.sweeper.pruner.name=medain is not one of median, percentile",
    ),
    Case(
        "unknown sampler",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "hydra.sweeper.sampler.name=bogus"],
        2,
        "hydra.sweeper.sampler.name=bogus is not one of tpe, random",
    ),
    Case(
        "no trials",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "hydra.sweeper.n_trials=0"],
        2,
        "hydra.sweeper.n_trials=0 must be a positive whole number",
    ),
    Case(
        "float range in a search",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "optimizer.lr=range(0.1,0.5,0.1)"],
        2,
        "Optuna samples integer ranges only; use interval(a, b) for a float",
    ),
    Case(
        "search storage that cannot be opened",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "hydra.sweeper.storage=nosuchdb://host/x"],
        2,
        "hydra.sweeper.storage=nosuchdb://host/x: Optuna cannot open it",
    ),
    Case(
        "a registered model without the model logged",
        ["tracking=mlflow", "tracking.mlflow.register_as=mnist_mlp", "tracking.mlflow.log_model=false"],
        2,
        "tracking.mlflow.register_as='mnist_mlp' registers the MLflow model each completed run logs",
    ),
    Case(
        "an empty registered model name",
        ["tracking=mlflow", "tracking.mlflow.register_as=' '"],
        2,
        "give a non-empty name with tracking.mlflow.log_model=true",
    ),
]

DATA_FILES = [
    Case("arrays without a file", ["dataset=arrays"], 2, "dataset=arrays needs dataset.file=<path of an .npz"),
    Case("arrays file missing", [*ARRAYS], 1, "does not exist or is not a file", new_run_folder=True),
    Case("arrays file is a folder", ["dataset=arrays", "dataset.file={data}"], 1, "is not a file", new_run_folder=True),
    Case("truncated .npz", [*ARRAYS], 1, "is not an .npz archive (a zip file): it is truncated", truncated_npz, True),
    Case("empty .npz", [*ARRAYS], 1, "is not an .npz archive", raw_file(b""), True),
    Case("random bytes as .npz", [*ARRAYS], 1, "is not an .npz archive", raw_file(os.urandom(4000)), True),
    Case("an .npy renamed .npz", [*ARRAYS], 1, "is a single .npy array, not an .npz archive", npy_renamed, True),
    Case("array header claims 10^12 bytes", [*ARRAYS], 1, "declares shape (1000000, 1000, 1000)", huge_header, True),
    Case(
        "pickled object array",
        [*ARRAYS],
        1,
        "pickled object array, which fcbaseline refuses",
        pickled_object_array,
        True,
    ),
    Case("arrays missing", [*ARRAYS], 1, "has no y_test", npz(**valid_arrays(y_test=None)), True),
    Case(
        "labels near 2**63",
        [*ARRAYS],
        1,
        "the labels go up to 9223372036854775000, but integer labels are class indices",
        npz(**valid_arrays(y_train=np.array([0, 9223372036854775000] * 10, np.uint64))),
        True,
    ),
    Case(
        "a test class never trained",
        [*ARRAYS],
        1,
        "y_test holds classes ['c'] that y_train never shows",
        npz(**valid_arrays(y_train=np.array(["a", "b"] * 10), y_test=np.array(["a", "b", "c"] * 2))),
        True,
    ),
    Case(
        "samples of no values",
        [*ARRAYS],
        1,
        "x_train is (20, 0): each sample needs at least one value",
        npz(**valid_arrays(x_train=np.zeros((20, 0), np.uint8), x_test=np.zeros((6, 0), np.uint8))),
        True,
    ),
    Case(
        "a single number for x_train",
        [*ARRAYS],
        1,
        "x_train is a single number, not an array of samples",
        npz(**valid_arrays(x_train=np.uint8(3))),
        True,
    ),
    Case(
        "string and integer labels",
        [*ARRAYS],
        1,
        "y_train is <U1 and y_test int64: give both as strings",
        npz(**valid_arrays(y_train=np.array(["a", "b"] * 10))),
        True,
    ),
    Case(
        "float x_train beside uint8 x_test",
        [*ARRAYS],
        1,
        "x_train is float64 and x_test uint8; fcbaseline takes uint8 pixels",
        npz(**valid_arrays(x_train=np.zeros((20, 4, 4)))),
        True,
    ),
    Case(
        "float images, not vectors",
        [*ARRAYS],
        1,
        "x_train is (20, 4, 4): feature vectors are one row per sample, (N, D)",
        npz(**valid_arrays(x_train=np.zeros((20, 4, 4)), x_test=np.zeros((6, 4, 4)))),
        True,
    ),
    Case(
        "integer features",
        [*ARRAYS],
        1,
        "x_train is int64 and x_test int64",
        npz(**valid_arrays(x_train=np.zeros((20, 3), np.int64), x_test=np.zeros((6, 3), np.int64))),
        True,
    ),
    Case(
        "NaN among the features",
        [*ARRAYS],
        1,
        "x_test holds 2 values that are NaN or infinite",
        npz(**valid_arrays(x_train=np.ones((20, 3)), x_test=np.array([[np.nan, 1, np.inf]] + [[0, 0, 0]] * 5))),
        True,
    ),
    Case(
        "features beyond float32",
        [*ARRAYS],
        1,
        "x_train holds 1 value that is NaN or infinite (or beyond float32's range)",
        npz(**valid_arrays(x_train=np.array([[1e300, 0]] + [[0, 1]] * 19), x_test=np.zeros((6, 2)))),
        True,
    ),
    Case(
        "augmenting feature vectors",
        [*ARRAYS, "dataset.augment=[flip]", "training.batch_size=8"],
        2,
        "dataset.augment=['flip'] flips and translates images",
        npz(**valid_arrays(x_train=np.ones((20, 3), np.float32), x_test=np.ones((6, 3), np.float32))),
        True,
    ),
    Case(
        "a CNN on feature vectors",
        [*ARRAYS, "model=cnn", "training.batch_size=8"],
        2,
        "model=cnn takes images (H x W or H x W x C), and this dataset's feature vectors are of shape (3,)",
        npz(**valid_arrays(x_train=np.ones((20, 3), np.float32), x_test=np.ones((6, 3), np.float32))),
        True,
    ),
    Case(
        "one label short",
        [*ARRAYS],
        1,
        "x_train has 20 samples but y_train is (19,)",
        npz(**valid_arrays(y_train=np.arange(19) % 2)),
        True,
    ),
    Case(
        "train and test shapes differ",
        [*ARRAYS],
        1,
        "x_train is (20, 4, 4) and x_test (6, 5, 5)",
        npz(**valid_arrays(x_test=np.zeros((6, 5, 5), np.uint8))),
        True,
    ),
    Case(
        "negative labels",
        [*ARRAYS],
        1,
        "y_train holds labels -1..1, outside",
        npz(**valid_arrays(y_train=np.arange(20) % 3 - 1)),
        True,
    ),
    Case(
        "float labels",
        [*ARRAYS],
        1,
        "labels must be integers (class indices) or strings",
        npz(**valid_arrays(y_train=np.zeros(20))),
        True,
    ),
    Case(
        "one class only",
        [*ARRAYS],
        1,
        "all labels are one class",
        npz(**valid_arrays(y_train=np.zeros(20, int), y_test=np.zeros(6, int))),
        True,
    ),
    Case(
        "no test samples",
        [*ARRAYS],
        1,
        "x_train has 20 samples and x_test 0",
        npz(**valid_arrays(x_test=np.zeros((0, 4, 4), np.uint8), y_test=np.zeros(0, int))),
        True,
    ),
    Case(
        "labels outside the class names",
        [*ARRAYS, "dataset.class_names=[a,b]"],
        1,
        "y_train holds labels 0..2, outside 0..1",
        npz(**valid_arrays(y_train=np.arange(20) % 3)),
        True,
    ),
    Case(
        "data root missing",
        [],
        1,
        "does not exist or is not a folder",
        environment=(("FCBASELINE_DATA_DIR", "{user}/gone"),),
        new_run_folder=True,
    ),
    Case(
        "data_dir missing",
        ["dataset.data_dir=/no/such/folder"],
        1,
        "dataset.data_dir=/no/such/folder does not exist",
        new_run_folder=True,
    ),
    Case(
        "CIFAR-10 missing offline",
        ["dataset=cifar10", "dataset.download=false"],
        1,
        "Dataset 'cifar10' was not found",
        new_run_folder=True,
    ),
    Case(
        "truncated gz",
        [],
        1,
        "truncated or corrupted",
        damaged_mnist(
            lambda f: (f / "train-images-idx3-ubyte.gz").write_bytes(
                (f / "train-images-idx3-ubyte.gz").read_bytes()[:300]
            )
        ),
        True,
    ),
    Case(
        "wrong IDX magic",
        [],
        1,
        "IDX magic number 0x00000803, expected 0x00000801",
        damaged_mnist(lambda f: write_idx(f / "t10k-labels-idx1-ubyte.gz", np.zeros(10, np.uint8), magic=0x803)),
        True,
    ),
    Case(
        "IDX count mismatch",
        [],
        1,
        "40 training images but 39 training labels",
        damaged_mnist(lambda f: write_idx(f / "train-labels-idx1-ubyte.gz", np.zeros(39, np.uint8))),
        True,
    ),
    Case(
        "IDX not gzipped",
        [],
        1,
        "Cannot decompress",
        damaged_mnist(
            lambda f: (f / "t10k-images-idx3-ubyte.gz").write_bytes(
                gzip.decompress((f / "t10k-images-idx3-ubyte.gz").read_bytes())
            )
        ),
        True,
    ),
    Case(
        "CIFAR-10 batch of the wrong shape",
        ["dataset=cifar10"],
        1,
        "'data' must be a uint8 array of shape (N, 3072)",
        cifar(
            lambda f, _: (f / "data_batch_2").write_bytes(
                pickle.dumps({b"labels": [1], b"data": np.zeros((1, 3, 32, 32), np.uint8)}, 2)
            )
        ),
        True,
    ),
    Case(
        "CIFAR-10 batch truncated",
        ["dataset=cifar10"],
        1,
        "is not a valid CIFAR-10 python batch",
        cifar(lambda f, _: (f / "test_batch").write_bytes((f / "test_batch").read_bytes()[:100])),
        True,
    ),
    Case(
        "malicious CIFAR-10 pickle",
        ["dataset=cifar10"],
        1,
        "global 'posix.system' is not part of the CIFAR-10 format",
        cifar(
            lambda f, places: (f / "test_batch").write_bytes(
                pickle.dumps(
                    {
                        b"labels": [0],
                        b"data": np.zeros((1, 3072), np.uint8),
                        b"filenames": [Exploit(places["data"] / "owned")],
                    },
                    2,
                )
            )
        ),
        True,
    ),
]

IMAGE_FOLDERS = [
    Case("image folder without data_dir", ["dataset=image_folder"], 2, "dataset=image_folder needs dataset.data_dir"),
    Case("image folder missing", [*FOLDER], 1, "does not exist or is not a folder of class folders", None, True),
    Case("unknown colour mode", [*FOLDER, "dataset.color_mode=cmyk"], 2, "dataset.color_mode='cmyk' is not a known"),
    Case("image size of one number", [*FOLDER, "dataset.image_size=[5]"], 2, "must be [height, width] in pixels"),
    Case("image size of zero", [*FOLDER, "dataset.image_size=[0,5]"], 2, "must be [height, width] in pixels"),
    Case("test fraction 0", [*FOLDER, "dataset.test_fraction=0"], 2, "dataset.test_fraction=0.0 must be between 0"),
    Case(
        "class names for an image folder",
        [*FOLDER, "dataset.class_names=[cat,dog]"],
        2,
        "dataset.class_names=['cat', 'dog'] does not apply to dataset=image_folder: its classes are the names",
    ),
    Case(
        "images too large for memory",
        [*FOLDER, "dataset.image_size=[200000,200000]"],
        1,
        "would take",
        image_folder(),
        True,
    ),
    Case("no class folders", [*FOLDER], 1, "has no subfolders", lambda p: png(p["images"] / "0.png"), True),
    Case(
        "an empty class folder", [*FOLDER], 1, "holds no image", image_folder(extra=lambda f: (f / "c").mkdir()), True
    ),
    Case("a single class", [*FOLDER], 1, "has 1 class folder(s)", image_folder(classes=("a",)), True),
    Case(
        "a class of one image",
        [*FOLDER],
        2,
        "dataset.test_fraction=0.2: a class has 1 image(s), too few to put one on each side (class 'c')",
        image_folder(extra=lambda f: png(f / "c" / "0.png")),
        True,
    ),
    Case(
        "a class of one image, validation split",
        [*FOLDER, "dataset.test_fraction=0.5", "training.validation=split"],
        2,
        "training.validation_fraction=0.1: a class has 1 image(s)",
        image_folder(per_class=4, extra=lambda f: [png(f / "c" / f"{i}.png") for i in range(3)]),
        True,
    ),
    Case(
        "a damaged image",
        [*FOLDER],
        1,
        "Cannot read the image",
        image_folder(extra=lambda f: (f / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")),
        True,
    ),
    Case(
        "a dangling link",
        [*FOLDER],
        1,
        "Cannot open the image",
        image_folder(extra=lambda f: (f / "a" / "gone.png").symlink_to(f / "nowhere.png")),
        True,
    ),
    Case(
        "a loop of links",
        [*FOLDER],
        1,
        "Too many levels of symbolic links",
        image_folder(extra=lambda f: (f / "b" / "loop.png").symlink_to(f / "b" / "loop.png")),
        True,
    ),
    Case(
        "a pipe named like an image",
        [*FOLDER],
        1,
        "not a regular file (a pipe, socket or device)",
        image_folder(extra=lambda f: os.mkfifo(f / "a" / "pipe.png")),
        True,
    ),
    Case(
        "train/ without test/",
        [*FOLDER],
        1,
        "has a train/ folder but no test/: give both",
        lambda p: [png(p["images"] / "train" / name / "0.png") for name in "ab"],
        True,
    ),
    Case(
        "images of different sizes",
        [*FOLDER],
        1,
        "The images differ in size",
        image_folder(extra=lambda f: png(f / "b" / "big.png", size=(6, 6))),
        True,
    ),
    Case(
        "train and test classes differ",
        [*FOLDER],
        1,
        "give both the same class folders",
        lambda p: [
            png(p["images"] / split / name / "0.png")
            for split, name in (("train", "a"), ("train", "b"), ("test", "a"), ("test", "c"))
        ],
        True,
    ),
    Case(
        "every image unreadable, skipping bad files",
        [*FOLDER, "dataset.skip_bad_files=true"],
        1,
        "No image in {images} could be opened; the first: {images}/a/x.png: No such file or directory",
        lambda p: [
            (p["images"] / name).mkdir(parents=True) or (p["images"] / name / "x.png").symlink_to(p["images"] / "none")
            for name in "ab"
        ],
        True,
    ),
]

RUNS_AND_RESUME = [
    Case("resume a folder that is not there", ["resume={user}/no_such_run"], 2, "there is no folder"),
    Case("resume a folder that is no run", ["resume={data}"], 2, "there is no checkpoint.npz"),
    Case("resume=true in a new folder", ["resume=true"], 2, "there is no folder"),
    Case(
        "resume with fewer epochs than done",
        ["resume={run}", "training.epochs=1"],
        2,
        "has already completed 2 epochs. Ask for at least 2",
        a_finished_run(interrupted),
    ),
    Case(
        "resume with another config",
        ["resume={run}", "optimizer.lr=0.5"],
        2,
        "the config given differs from the interrupted run's in",
        a_finished_run(interrupted),
    ),
    Case(
        "resume with a truncated checkpoint",
        ["resume={run}"],
        1,
        "checkpoint.npz is not an .npz archive (a zip file): it is truncated",
        a_finished_run(damaged_checkpoint(cut=2000)),
    ),
    Case(
        "resume with an empty checkpoint",
        ["resume={run}"],
        1,
        "restore it from a backup, or start the run anew",
        a_finished_run(damaged_checkpoint(content=b"")),
    ),
    Case(
        "resume with a random-bytes checkpoint",
        ["resume={run}"],
        1,
        "checkpoint.npz is not an .npz archive",
        a_finished_run(damaged_checkpoint(content=os.urandom(5000))),
    ),
    Case(
        "resume with a checkpoint whose state is not JSON",
        ["resume={run}"],
        1,
        "as an fcbaseline checkpoint (JSONDecodeError",
        a_finished_run(checkpoint_with_state("{not json")),
    ),
    Case(
        "resume with a checkpoint without history",
        ["resume={run}"],
        1,
        "(ValueError: its state has no history)",
        a_finished_run(checkpoint_with_state('{"config": "x"}')),
    ),
    Case(
        "resume with a checkpoint whose run config is not YAML",
        ["resume={run}"],
        1,
        "as an fcbaseline checkpoint (",
        a_finished_run(checkpoint_state_changed(config="a: [")),
    ),
    Case(
        "resume with a checkpoint whose batch order is damaged",
        ["resume={run}"],
        1,
        "as an fcbaseline checkpoint (",
        a_finished_run(checkpoint_state_changed(order_generator={"bit_generator": "PCG64", "state": 3})),
    ),
    Case(
        "resume of a run stopped early whose config has no dataset",
        ["resume={run}"],
        1,
        ".hydra/config.yaml has no dataset section",
        a_finished_run(
            lambda run: (
                interrupted(run),
                (run / "checkpoint.npz").unlink(),
                (run / ".hydra" / "config.yaml").write_text("a: 1\n"),
            )
        ),
    ),
    Case(
        "resume of a run stopped early with a damaged config",
        ["resume={run}"],
        1,
        ".hydra/config.yaml, line",
        a_finished_run(
            lambda run: (
                interrupted(run),
                (run / "checkpoint.npz").unlink(),
                (run / ".hydra" / "config.yaml").write_text("a: [\n"),
            )
        ),
    ),
    Case(
        "a new run into a finished run's folder",
        ["hydra.run.dir={run}"],
        2,
        "already holds the results of an earlier run (metrics.json); a new run never replaces them",
        a_finished_run(),
    ),
    Case(
        "a new run into a failed run's folder",
        ["hydra.run.dir={run}"],
        2,
        "already holds the results of an earlier run",
        a_finished_run(replaced("metrics.json", b'{"status": "failed"}')),
    ),
    Case(
        "a new sweep into a finished sweep's folder",
        ["-m", *SMALL, "training.seed=1,2", "hydra.sweep.dir={sweep}"],
        2,
        "a new sweep never replaces them. Continue that sweep with resume=",
        a_finished_sweep,
    ),
    Case(
        "a sweep's job folders anywhere",
        ["-m", *SMALL, "training.seed=1", "hydra.sweep.dir={sweep}", "hydra.sweep.subdir={run}"],
        2,
        "hydra.sweep.subdir={run} must give each job its own folder inside the sweep folder",
        a_finished_run(),
    ),
    Case(
        "one folder for every job of a sweep",
        ["-m", *SMALL, "training.seed=1,2", "hydra.sweep.dir={sweep}", "hydra.sweep.subdir=same"],
        2,
        "hydra.sweep.subdir=same must give each job its own folder",
    ),
    Case(
        "a sweep's job folders above the sweep",
        ["-m", *SMALL, "training.seed=1", "hydra.sweep.dir={sweep}", "hydra.sweep.subdir=../out_${{hydra.job.num}}"],
        2,
        "with ${{hydra.job.num}} in it and no / at the start or ..",
    ),
    Case("a log named out of the folder", [*SMALL, "hydra.job.name=../escaped"], 2, "hydra.job.name=../escaped must"),
    Case(
        "the record written elsewhere",
        [*SMALL, "hydra.output_subdir={user}/elsewhere"],
        2,
        "hydra.output_subdir={user}/elsewhere must be a plain name inside the run folder",
    ),
    Case(
        "a single run resumed as a sweep",
        ["-m", "resume={run}"],
        2,
        "resume={run} is a single run's folder, not a sweep's. Resume it without -m",
        a_finished_run(),
    ),
    Case(
        "resume and another run folder",
        ["resume={run}", "hydra.run.dir={user}/other"],
        2,
        "name two folders: a resumed run continues in its own folder",
        a_finished_run(interrupted),
    ),
    Case(
        "a folder where the log belongs",
        ["resume={run}"],
        2,
        "fcbaseline.log is not a file: it is where the run keeps its fcbaseline.log",
        a_finished_run(
            lambda run: (interrupted(run), (run / "fcbaseline.log").unlink(), (run / "fcbaseline.log").mkdir())
        ),
    ),
    Case(
        "a folder where the history belongs",
        ["resume={run}"],
        2,
        "history.csv is not a file",
        a_finished_run(lambda run: (interrupted(run), (run / "history.csv").unlink(), (run / "history.csv").mkdir())),
    ),
    Case(
        "a folder where the lock belongs",
        ["resume={run}"],
        2,
        ".fcbaseline.lock is not a file",
        a_finished_run(
            lambda run: (interrupted(run), (run / ".fcbaseline.lock").unlink(), (run / ".fcbaseline.lock").mkdir())
        ),
    ),
    Case(
        "a search interval upside down",
        ["-m", "hparams_search=mnist_optuna", "dataset=digits", "optimizer.lr=interval(0.5,0.1)"],
        2,
        "interval(low, high) needs low < high",
    ),
    Case(
        "a run folder in use",
        ["resume={run}"],
        2,
        "is in use by process",
        a_finished_run(lambda run: (interrupted(run), held_by_another_process(run))[1]),
    ),
    Case(
        "a new run into a folder in use",
        ["hydra.run.dir={user}/busy"],
        2,
        "is in use by process",
        lambda places: held_by_another_process(places["user"] / "busy"),
    ),
]

EVALUATE_AND_PREDICT = [
    Case("evaluate a folder that is not there", ["evaluate", "{user}/nothing"], 2, "is not a folder"),
    Case(
        "evaluate a folder without a model", ["evaluate", "{data}"], 2, "does not exist: evaluate needs a finished run"
    ),
    Case(
        "evaluate a truncated model",
        ["evaluate", "{run}"],
        1,
        "model.keras is not a whole .keras file",
        a_finished_run(lambda run: (run / "model.keras").write_bytes((run / "model.keras").read_bytes()[:500])),
    ),
    Case(
        "evaluate a random-bytes model",
        ["evaluate", "{run}"],
        1,
        "model.keras is not a whole .keras file",
        a_finished_run(replaced("model.keras", os.urandom(3000))),
    ),
    Case(
        "evaluate a zip that is no model",
        ["evaluate", "{run}"],
        1,
        "as a saved Keras model",
        a_finished_run(lambda run: shutil.copy(run / "checkpoint.npz", run / "model.keras")),
    ),
    Case(
        "evaluate with a damaged saved config",
        ["evaluate", "{run}"],
        1,
        ".hydra/config.yaml, line",
        a_finished_run(replaced(".hydra/config.yaml", b"dataset: {name: [\n")),
    ),
    Case(
        "evaluate with a saved config that is a list",
        ["evaluate", "{run}"],
        1,
        "holds a YAML ListConfig, not the mapping",
        a_finished_run(replaced(".hydra/config.yaml", b"- a\n- b\n")),
    ),
    Case(
        "evaluate with a saved config that is a word",
        ["evaluate", "{run}"],
        1,
        ".hydra/config.yaml has no dataset section",
        a_finished_run(replaced(".hydra/config.yaml", b"garbage\n")),
    ),
    Case(
        "evaluate with a non-dataset override",
        ["evaluate", "{run}", "optimizer.lr=1"],
        2,
        "evaluate takes only dataset=<name> and dataset.<key>=<value> overrides",
        a_finished_run(),
    ),
    Case(
        "evaluate on an unknown dataset",
        ["evaluate", "{run}", "dataset=imagenet"],
        2,
        "dataset/imagenet",
        a_finished_run(),
    ),
    Case(
        "evaluate on a dataset of another shape",
        ["evaluate", "{run}", "dataset=mnist"],
        2,
        "takes samples of shape (8, 8), but mnist has (28, 28)",
        a_finished_run(),
    ),
    Case(
        "evaluate into a run folder that cannot be written",
        ["evaluate", "{run}"],
        2,
        "Give a folder you can write with --output <folder>",
        a_finished_run(replaced("evaluations", b"a file where the folder would go")),
    ),
    Case(
        "evaluate into an --output that holds results",
        ["evaluate", "{run}", "--output", "{user}/results"],
        2,
        "already holds evaluation results",
        lambda places: (
            a_finished_run()(places),
            (places["user"] / "results").mkdir(),
            (places["user"] / "results" / "metrics.json").write_text("{}"),
        ),
    ),
    Case(
        "predict a folder that is no run",
        ["predict", "{data}", GOOD_PNG],
        2,
        "is not a finished fcbaseline run",
        image_folder(),
    ),
    Case(
        "predict with damaged metrics.json",
        ["predict", "{run}", GOOD_PNG],
        1,
        "Cannot read {run}/metrics.json as a run's metrics.json (JSONDecodeError",
        run_and_images(replaced("metrics.json", b'{"class_names": [')),
    ),
    Case(
        "predict with metrics.json that is a list",
        ["predict", "{run}", GOOD_PNG],
        1,
        "holds a JSON list, not the object",
        run_and_images(replaced("metrics.json", b"[1, 2]")),
    ),
    Case(
        "predict with metrics.json naming no classes",
        ["predict", "{run}", GOOD_PNG],
        2,
        "names no classes: predict needs a finished run",
        run_and_images(replaced("metrics.json", b'{"status": "failed"}')),
    ),
    Case(
        "predict with metrics.json naming fewer classes than the model gives",
        ["predict", "{run}", GOOD_PNG],
        1,
        "model.keras gives 10 classes but {run}/metrics.json names 3",
        run_and_images(replaced("metrics.json", b'{"class_names": ["a", "b", "c"]}')),
    ),
    Case(
        "predict with a truncated model",
        ["predict", "{run}", GOOD_PNG],
        1,
        "model.keras is not a whole .keras file",
        run_and_images(lambda run: (run / "model.keras").write_bytes(b"PK\x03\x04")),
    ),
    Case(
        "predict an image that is not there",
        ["predict", "{run}", "{user}/none.png"],
        2,
        "does not exist: give image files",
        a_finished_run(),
    ),
    Case(
        "predict a folder without images",
        ["predict", "{run}", "{data}"],
        2,
        "No PNG, JPEG, BMP or GIF image in",
        a_finished_run(),
    ),
    Case(
        "predict a damaged image",
        ["predict", "{run}", "{user}/broken.png"],
        1,
        "Cannot read the image",
        lambda places: (a_finished_run()(places), (places["user"] / "broken.png").write_bytes(b"\x89PNG broken")),
    ),
    Case(
        "predict a pipe named like an image",
        ["predict", "{run}", "{images}"],
        1,
        "not a regular file (a pipe, socket or device)",
        lambda places: (
            a_finished_run()(places),
            image_folder(extra=lambda f: os.mkfifo(f / "a" / "pipe.png"))(places),
        ),
    ),
    Case(
        "evaluate another run's model",
        ["evaluate", "{run}", "--model", "other.keras"],
        2,
        "other.keras gives 2 classes, but digits has 10",
        a_finished_run(lambda run: two_class_model(run / "other.keras")),
    ),
    Case("summarize a single run's folder", ["summarize", "{run}"], 2, "holds no sweep", a_finished_run()),
    Case(
        "predict a dangling link",
        ["predict", "{run}", "{images}"],
        1,
        "Cannot read the image",
        lambda places: (
            a_finished_run()(places),
            image_folder(extra=lambda f: (f / "a" / "x.png").symlink_to(f / "none.png"))(places),
        ),
    ),
    Case(
        "predict into a run folder that cannot be written",
        ["predict", "{run}", GOOD_PNG],
        2,
        "Give a folder you can write with --output <folder>",
        run_and_images(replaced("predictions", b"a file")),
    ),
    Case(
        "predict into an --output that holds predictions",
        ["predict", "{run}", GOOD_PNG, "--output", "{user}"],
        2,
        "already holds predictions.csv",
        lambda places: (
            a_finished_run()(places),
            image_folder()(places),
            (places["user"] / "predictions.csv").write_text("x"),
        ),
    ),
]

USER_CONFIG_FILES = [
    Case(
        "a YAML syntax error in an experiment",
        ["--config-dir", "{user}/my_configs", "+experiment=mine"],
        2,
        "my_configs/experiment/mine.yaml, line 4, column 14: mapping values are not allowed here",
        user_config("mine.yaml", "# @package _global_\ntraining:\n  epochs: 3\n   batch_size: 4\n"),
    ),
    Case(
        "a tab in an experiment",
        ["--config-dir={user}/my_configs", "+experiment=mine"],
        2,
        "mine.yaml, line 3, column 1: found character '\\t' that cannot start any token",
        user_config("mine.yaml", "training:\n  epochs: 3\n\tseed: 1\n"),
    ),
    Case(
        "an experiment that is a list",
        ["-cd", "{user}/my_configs", "+experiment=mine"],
        2,
        "holds a YAML ListConfig, not the mapping a config file is",
        user_config("mine.yaml", "- training\n- epochs\n"),
    ),
    Case(
        "an unclosed quote in a searched folder",
        ["hydra.searchpath=[file://{user}/my_configs]", "+experiment=mine"],
        2,
        "mine.yaml, line 3, column 1: found unexpected end of stream",
        user_config("mine.yaml", "# @package _global_\ntraining: {seed: 'one\n"),
    ),
    Case(
        "an unknown key in an experiment",
        ["--config-dir", "{user}/my_configs", "+experiment=mine"],
        2,
        "Key 'epoch' not in 'TrainingConfig'",
        user_config("mine.yaml", "# @package _global_\ntraining:\n  epoch: 3\n"),
    ),
    Case(
        "a value out of range in an experiment",
        ["--config-dir", "{user}/my_configs", "+experiment=mine"],
        2,
        "optimizer.momentum=2.0 is out of range",
        user_config("mine.yaml", "# @package _global_\noptimizer:\n  momentum: 2.0\n"),
    ),
    Case("an experiment that is not there", ["+experiment=nonexistent"], 2, "Could not find 'experiment/nonexistent'"),
    Case(
        "a config folder that is not there",
        ["--config-dir", "{user}/nothing", "+experiment=x"],
        2,
        "Additional config directory '{user}/nothing' not found",
    ),
]

CASES = [*CONFIG_VALUES, *DATA_FILES, *IMAGE_FOLDERS, *RUNS_AND_RESUME, *EVALUATE_AND_PREDICT, *USER_CONFIG_FILES]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A real finished 2-epoch digits run (checkpoint, model, report, .hydra/), copied by the cases."""
    folder = tmp_path_factory.mktemp("finished") / "run"
    fcbaseline.run([*SMALL, "training.epochs=2"], run_dir=folder)
    return folder


def test_the_table_covers_every_family():
    families = (CONFIG_VALUES, DATA_FILES, IMAGE_FOLDERS, RUNS_AND_RESUME, EVALUATE_AND_PREDICT, USER_CONFIG_FILES)
    assert all(len(family) >= 8 for family in families) and len(CASES) >= 120
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_bad_input_is_refused_cleanly(case, tmp_path, monkeypatch, capfd, finished):
    user = tmp_path / "user"  # everything the user has; the caches live beside it
    places = {"user": user, "data": user / "data", "images": user / "images", "run": user / "run"}
    places |= {"sweep": user / "sweep", "finished": finished}
    places["data"].mkdir(parents=True)
    (user / "a_file").write_text("a file, not a folder")
    (user / "important.keras").write_bytes(b"a model of mine, not to be replaced")
    earlier = user / "outputs" / "runs" / "earlier"
    earlier.mkdir(parents=True)
    (earlier / "metrics.json").write_text('{"status": "completed"}')
    held = case.prepare(places) if case.prepare else None
    before = fingerprint(user)
    monkeypatch.chdir(user)
    fill = {name: str(path) for name, path in places.items()}
    environment = {"FCBASELINE_DATA_DIR": places["data"], "FCBASELINE_CACHE_DIR": tmp_path / "cache"}
    environment |= {"KERAS_HOME": tmp_path / "keras", **{key: value.format(**fill) for key, value in case.environment}}
    capfd.readouterr()
    try:
        code = cli_in_process([argument.format(**fill) for argument in case.arguments], environment)
    finally:
        if held is not None and hasattr(held, "release"):
            held.release()
    out, err = capfd.readouterr()

    assert code == case.exit, out[-2000:] + err[-3000:]
    assert case.message.format(**fill) in err, err[-3000:]
    assert "Traceback" not in out + err
    assert not (places["data"] / "owned").exists()  # nothing in a file was executed
    after = fingerprint(user)
    changed = sorted(path for path in before if before[path] != after.get(path))
    assert not changed, changed  # no file the user had was changed or removed
    new = sorted(set(after) - set(before))
    if case.new_run_folder:  # the new run's own folder records what went wrong, and nothing else is new
        folders = {Path(path).relative_to(user / "outputs" / "runs").parts[:2] for path in new}
        assert len(folders) == 1 and all(Path(path).is_relative_to(user / "outputs" / "runs") for path in new), new
    else:
        assert not new, new


def test_a_resumed_sweep_records_a_job_that_cannot_continue(tmp_path, monkeypatch, capfd):
    """A sweep's job is not left as it was when it fails on resume (unlike a single run refused): its
    metrics.json says failed and why, so that the summary and the exit status show it."""
    monkeypatch.chdir(tmp_path)
    sweep = ["-m", *SMALL, "training.seed=1,2", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    assert cli_in_process(sweep, {"FCBASELINE_CACHE_DIR": tmp_path / "cache"}) == 0
    damaged_checkpoint(cut=1000)(tmp_path / "sweep" / "1")

    def results():  # the job's files but its log (which notes that the job was kept) and its lock
        return {
            path: stamp for path, stamp in fingerprint(tmp_path / "sweep" / "0").items() if "fcbaseline." not in path
        }

    kept = results()
    capfd.readouterr()
    code = cli_in_process([*sweep, f"resume={tmp_path / 'sweep'}"], {"FCBASELINE_CACHE_DIR": tmp_path / "cache"})
    out, err = capfd.readouterr()
    assert code == 1 and "Jobs not completed: 1" in err and "Traceback" not in out + err
    failed = json.loads((tmp_path / "sweep" / "1" / "metrics.json").read_text())
    assert failed["status"] == "failed" and "checkpoint.npz is not an .npz archive" in failed["error"]
    assert results() == kept  # the completed job is kept as it was


def test_a_sweep_over_a_value_its_dataset_needs_is_not_refused_before_it_starts(tmp_path, monkeypatch, capfd):
    """The checks before a sweep's folder is made use the first job's values: a dataset.file given only
    as a sweep (dataset=arrays needs one) is not refused."""
    monkeypatch.chdir(tmp_path)
    places = {"data": tmp_path}
    npz(**valid_arrays())(places)
    (tmp_path / "mine.npz").rename(tmp_path / "a.npz")
    npz(**valid_arrays(y_train=1 - np.arange(20) % 2))(places)
    arguments = ["-m", *ARRAYS[:1], f"dataset.file={tmp_path / 'a.npz'},{tmp_path / 'mine.npz'}", *ARRAYS[2:]]
    arguments += ["training.batch_size=4", "model.hidden_sizes=[8]", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    assert cli_in_process(arguments, {"FCBASELINE_CACHE_DIR": tmp_path / "cache"}) == 0, capfd.readouterr().err
    statuses = [json.loads((tmp_path / "sweep" / job / "metrics.json").read_text())["status"] for job in "01"]
    assert statuses == ["completed", "completed"]
