"""What a run trained on, and with which code, as MLflow records them: each split of the dataset as an
MLflow dataset input (name, digest of its arrays, source, images), and the source tags MLflow's own
runs carry (entry point, user, git commit, branch and whether the checkout had changes).
"""

import logging
from pathlib import Path
from typing import Optional

from fcbaseline.data.common import arrays_digest
from fcbaseline.tracking import without_password

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


def source_tags(extra: Optional[dict] = None) -> dict:
    """MLflow's own run-context tags (mlflow.source.name and .type, mlflow.user, ...), with the git commit,
    branch, repository and mlflow.source.git.dirty of the checkout fcbaseline's code runs from (MLflow
    would look at the entry point's, which for the `fcbaseline` command, a Ray task or the Python API
    called from another project is not fcbaseline's); none when it is not run from a git checkout."""
    from mlflow.tracking.context.registry import resolve_tags

    tags = resolve_tags(extra or {})
    checkout = git_tags(Path(__file__).resolve().parents[2])
    if checkout:
        tags = {key: value for key, value in tags.items() if not key.startswith("mlflow.source.git.")}
        tags.update(checkout)
    return tags


def git_tags(folder: Path) -> dict:
    """MLflow's git source tags for the checkout at `folder` (its top level), or {} when there is none."""
    from mlflow.utils.mlflow_tags import MLFLOW_GIT_BRANCH, MLFLOW_GIT_COMMIT, MLFLOW_GIT_DIRTY, MLFLOW_GIT_REPO_URL

    try:
        import git

        checkout = git.Repo(folder)  # this folder itself: an installed fcbaseline inside a user's repo is not one
        tags = {MLFLOW_GIT_COMMIT: checkout.head.commit.hexsha, MLFLOW_GIT_DIRTY: str(checkout.is_dirty()).lower()}
        if not checkout.head.is_detached:
            tags[MLFLOW_GIT_BRANCH] = checkout.active_branch.name
        if checkout.remotes:
            tags[MLFLOW_GIT_REPO_URL] = without_password(next(iter(checkout.remotes)).url)
        return tags
    except Exception:  # no git, no checkout, a damaged one: no git tags
        return {}
