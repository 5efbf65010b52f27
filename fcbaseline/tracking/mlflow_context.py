"""What a run trained on, and with which code, as MLflow records them: each split of the dataset as an
MLflow dataset input (name, digest of its arrays, source, images), and the source tags MLflow's own
runs carry (entry point, user, git commit, branch and whether the checkout had changes).
"""

import hashlib
import logging
from pathlib import Path
from typing import Optional

import numpy as np

log = logging.getLogger("fcbaseline")

# Where Keras downloads the datasets fcbaseline loads through keras.datasets (keras/src/datasets/*.py).
KERAS_ORIGINS = {
    "keras.datasets.mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "keras.datasets.fashion_mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "keras.datasets.cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
}


def dataset_source(source: str):
    """The MLflow dataset source of a dataset's `source` (data/common.Dataset): its files, the URL Keras
    downloads it from, or (scikit-learn's digits) the code that made it."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.filesystem_dataset_source import FileSystemDatasetSource  # noqa: F401  (registers it)
    from mlflow.data.http_dataset_source import HTTPDatasetSource

    if source in KERAS_ORIGINS:
        return HTTPDatasetSource(KERAS_ORIGINS[source])
    if Path(source).exists():
        return resolve_dataset_source(str(Path(source).resolve()))
    return CodeDatasetSource({"mlflow.source.name": source})


def dataset_inputs(name: str, source: str, parts) -> list:
    """MLflow DatasetInputs, one per split: `parts` is [(context, images, labels)], context being
    training, validation or test (MLflow's dataset context tag)."""
    import mlflow.data
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    where = dataset_source(source)
    inputs = []
    for context, images, labels in parts:
        digest = arrays_digest(images, labels)
        dataset = mlflow.data.from_numpy(features=images, targets=labels, source=where, name=name, digest=digest)
        inputs.append(DatasetInput(dataset._to_mlflow_entity(), [InputTag(MLFLOW_DATASET_CONTEXT, context)]))
    return inputs


def arrays_digest(*arrays) -> str:
    """SHA-256 of the arrays' shapes, types and every byte (MLflow's own digest reads only the first
    10,000 values), shortened to 16 hexadecimal digits."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.hexdigest()[:16]


def source_tags(extra: Optional[dict] = None) -> dict:
    """MLflow's own run-context tags (mlflow.source.name and .type, mlflow.user, the git commit, branch
    and repository of the entry point's checkout), with mlflow.source.git.dirty when there is a checkout."""
    from mlflow.tracking.context.registry import resolve_tags
    from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT, MLFLOW_GIT_DIRTY, MLFLOW_SOURCE_NAME

    tags = resolve_tags(extra or {})
    if MLFLOW_GIT_COMMIT in tags:
        dirty = git_dirty(tags.get(MLFLOW_SOURCE_NAME, ""))
        if dirty is not None:
            tags[MLFLOW_GIT_DIRTY] = str(dirty).lower()
    return tags


def git_dirty(main_file: str) -> Optional[bool]:
    """Whether the checkout holding `main_file` has uncommitted changes to tracked files (None: unknown)."""
    try:
        import git

        checkout = git.Repo(Path(main_file).resolve().parent, search_parent_directories=True)
        return checkout.is_dirty(untracked_files=False)
    except Exception:  # no git, no checkout, a damaged one: the commit alone is recorded
        return None
