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
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

from fcbaseline.config.keys import is_result_free
from fcbaseline.files import read_json
from fcbaseline.rundir import MLFLOW_SWEEP_RECORD, Status

# Not hyper-parameters: what cannot change a result, and what the model's own keys already say.
# Not hyper-parameters either: what the dataset's name and the model's own keys already say.
ALREADY_SAID = ("dataset.download", "dataset.class_names", "dataset.recipe")
MLFLOW_VALUE_LIMIT = 6000  # MLflow 3 refuses longer parameter values
DEFAULT_EXPERIMENT = "fcbaseline"


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
    """Every config key as an MLflow parameter (strings, at most MLflow's length limit; a URI's user and
    password masked)."""
    return {key: without_password(str(value))[:MLFLOW_VALUE_LIMIT] for key, value in flatten(config).items()}


@dataclass(frozen=True)
class MlflowDestination:
    """Where a run is tracked in MLflow, and why there: each `*_from` names the setting that decided."""

    tracking_uri: str
    tracking_uri_from: str
    experiment_name: Optional[str]  # None when the experiment is given by its id
    experiment_id: Optional[str]
    experiment_from: str

    def record(self) -> dict:
        """For metrics.json and the log: no password that a URI may hold."""
        return {
            "tracking_uri": without_password(self.tracking_uri),
            "tracking_uri_from": self.tracking_uri_from,
            "experiment": self.experiment_name if self.experiment_id is None else self.experiment_id,
            "experiment_from": self.experiment_from,
        }


def mlflow_destination(settings, environment: Mapping[str, str], cwd: Path) -> MlflowDestination:
    """As every MLflow-aware tool decides: the config's tracking.mlflow.tracking_uri, else
    $MLFLOW_TRACKING_URI, else a local SQLite store in outputs/ under `cwd`; the config's
    tracking.mlflow.experiment, else $MLFLOW_EXPERIMENT_NAME, else $MLFLOW_EXPERIMENT_ID (in MLflow's own
    order), else the experiment 'fcbaseline'."""
    if settings.get("tracking_uri"):
        uri, uri_from = str(settings["tracking_uri"]), "tracking.mlflow.tracking_uri"
    elif environment.get("MLFLOW_TRACKING_URI"):
        uri, uri_from = environment["MLFLOW_TRACKING_URI"], "MLFLOW_TRACKING_URI"
    else:
        uri, uri_from = f"sqlite:///{Path(cwd) / 'outputs' / 'mlflow.db'}", "the default, a local store"
    name, experiment_id = None, None
    if settings.get("experiment"):
        name, name_from = str(settings["experiment"]), "tracking.mlflow.experiment"
    elif environment.get("MLFLOW_EXPERIMENT_NAME"):
        name, name_from = environment["MLFLOW_EXPERIMENT_NAME"], "MLFLOW_EXPERIMENT_NAME"
    elif environment.get("MLFLOW_EXPERIMENT_ID"):
        experiment_id, name_from = environment["MLFLOW_EXPERIMENT_ID"], "MLFLOW_EXPERIMENT_ID"
    else:
        name, name_from = DEFAULT_EXPERIMENT, "the default"
    return MlflowDestination(uri, uri_from, name, experiment_id, name_from)


def sweep_destination(destination: MlflowDestination, parent: dict) -> MlflowDestination:
    """A sweep's job goes where its parent run went unless its own config or environment says where: a Ray
    task or a SLURM job need not have the launching shell's $MLFLOW_TRACKING_URI."""
    uri, experiment = parent.get("tracking_uri"), parent.get("experiment_id")
    if not parent or "***" in str(uri):
        return destination
    if destination.tracking_uri_from.startswith("the default"):
        destination = replace(destination, tracking_uri=uri, tracking_uri_from="the sweep's parent run")
    if destination.experiment_from == "the default" and experiment:
        destination = replace(destination, experiment_name=None, experiment_id=experiment)
        destination = replace(destination, experiment_from="the sweep's parent run")
    return destination


def run_destination(settings, sweep_dir: Optional[Path]) -> Tuple[MlflowDestination, dict]:
    """Where this run is tracked, with its sweep's parent record ({} outside a sweep): the one decision
    that the MLflow tracker acts on and metrics.json records."""
    parent = read_json(sweep_dir / MLFLOW_SWEEP_RECORD) if sweep_dir else {}
    return sweep_destination(mlflow_destination(settings, os.environ, Path.cwd()), parent), parent


def without_password(uri: str) -> str:
    """http://user:secret@host/ (or a token alone, https://token@host/) -> http://***@host/; other URIs
    unchanged. What fcbaseline writes down or logs of a tracking URI."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=f"***@{parts.netloc.rsplit('@', 1)[1]}"))


def redacted(text: str, uri: str) -> str:
    """`text` (an error message, which may quote the URI it failed on) without the URI's user and password."""
    userinfo = urlsplit(uri).netloc.rsplit("@", 1)[0] if "@" in urlsplit(uri).netloc else ""
    return text.replace(userinfo + "@", "***@") if userinfo else text
