"""Tracking a run outside its folder: TensorBoard event files (on by default) and MLflow (`tracking=mlflow`).

fcbaseline does not call `model.fit`, which Keras' TensorBoard callback and MLflow's autologging hook
into, so both are driven here the way those tools expect: per-epoch figures through Keras callbacks that
the training loop (training/loop.py) calls once per epoch, the run's config and final figures at its
start and end. Tracking never costs a run: an MLflow server that cannot be reached, or fails mid-run, is
reported once in the log, and the run goes on with its results on disk.

Pure decisions (what the config's parameters are, how a status maps to MLflow's) live here; the writers
in tensorboard.py and mlflow_run.py; the sweep's parent MLflow run in sweep.py.
"""

import json
from typing import Any, Dict

from fcbaseline.config.keys import is_result_free
from fcbaseline.rundir import Status

# Not hyper-parameters: what cannot change a result, and what the model's own keys already say.
# Not hyper-parameters either: what the dataset's name and the model's own keys already say.
ALREADY_SAID = ("dataset.download", "dataset.class_names", "dataset.recipe")
MLFLOW_VALUE_LIMIT = 6000  # MLflow 3 refuses longer parameter values


# fcbaseline's run statuses -> MLflow's RunStatus names
MLFLOW_STATUS = {
    Status.COMPLETED: "FINISHED",
    Status.PRUNED: "FINISHED",  # a search's normal outcome; the tag fcbaseline.status says pruned
    Status.DIVERGED: "FAILED",
    Status.FAILED: "FAILED",
    Status.INTERRUPTED: "KILLED",
}


def flatten(config: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """{'model': {'hidden_sizes': [256, 128]}} -> {'model.hidden_sizes': '[256, 128]'}: dotted keys as in
    Hydra overrides; numbers, booleans and strings kept, lists written as JSON, None as 'null'."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = json.dumps(value)
    return flat


def hyperparameters(config: Dict[str, Any]) -> Dict[str, Any]:
    """The flattened config without the keys that cannot change results, nor those ALREADY_SAID."""
    return {key: value for key, value in flatten(config).items() if not is_result_free(key, also=ALREADY_SAID)}


def mlflow_params(config: Dict[str, Any]) -> Dict[str, str]:
    """Every config key as an MLflow parameter (strings, at most MLflow's length limit)."""
    return {key: str(value)[:MLFLOW_VALUE_LIMIT] for key, value in flatten(config).items()}
