"""One fcbaseline run as one MLflow run, through MLflow's client (no global "active run", so jobs that
share a process never mix): parameters at the start, per-epoch metrics (step = epoch, from 1), final
metrics, status and the run's files at the end.

A resumed run continues the MLflow run recorded in <run dir>/mlflow_run.json; a sweep's job is nested
under the sweep's parent run (sweep.py). Any MLflow failure (server unreachable, stopped mid-run) is
logged once and ends tracking for this run; the run itself goes on.
"""

import logging
import os
import time
from pathlib import Path
from typing import Optional

# Before mlflow is imported: fail fast when the server is gone (MLflow's defaults retry for minutes).
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")

from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402

from fcbaseline.files import read_json, write_json  # noqa: E402
from fcbaseline.rundir import ARTIFACTS, MLFLOW_RECORD, Status  # noqa: E402
from fcbaseline.tracking import (  # noqa: E402
    DEFAULT_EXPERIMENT,
    MLFLOW_STATUS,
    MlflowDestination,
    mlflow_params,
    redacted,
    run_destination,
    without_password,
)
from fcbaseline.tracking.mlflow_context import dataset_inputs, source_tags  # noqa: E402

log = logging.getLogger("fcbaseline")
EXPERIMENT_KIND, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"  # MLflow 3's UI reads it
for noisy in ("alembic", "mlflow"):  # schema migrations of a new SQLite store log at INFO
    logging.getLogger(noisy).setLevel(logging.WARNING)
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # each retry; our one warning says it all


def experiment_id(client: MlflowClient, destination: MlflowDestination) -> str:
    """The experiment by id, or by name (created when missing, as a model-training experiment, so that
    MLflow 3's UI shows it as one; a local store keeps its files under outputs/). fcbaseline's default
    experiment made by an older fcbaseline gets the kind too; an experiment of the user's is left as it is."""
    if destination.experiment_id is not None:
        return client.get_experiment(destination.experiment_id).experiment_id  # raises when there is none
    experiment = client.get_experiment_by_name(destination.experiment_name)
    if experiment is not None:
        if destination.experiment_name == DEFAULT_EXPERIMENT and EXPERIMENT_KIND not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND, MODEL_TRAINING)
        return experiment.experiment_id
    location, uri = None, destination.tracking_uri
    if uri.startswith("sqlite:///"):
        location = (Path(uri[len("sqlite:///") :]).parent / "mlflow-artifacts").resolve().as_uri()
    tags = {EXPERIMENT_KIND: MODEL_TRAINING}
    return client.create_experiment(destination.experiment_name, artifact_location=location, tags=tags)


def recorded_here(record: dict, uri: str) -> bool:
    """Whether a run record (mlflow_run.json, mlflow_sweep.json) was made at `uri` (records keep it masked)."""
    return bool(record) and record.get("tracking_uri") in (uri, without_password(uri))


class MlflowRun:
    """Logs one run to MLflow; a failure switches it off with one warning (`self.client` becomes None).

    `record` names the file in `run_dir` that keeps the run's id (a sweep's parent keeps its own)."""

    def __init__(self, settings, run_dir: Path, sweep_dir: Optional[Path], name: str, record: str = MLFLOW_RECORD):
        self.destination, self.parent = run_destination(settings, sweep_dir)
        self.uri = self.destination.tracking_uri
        self.settings, self.run_dir, self.sweep_dir, self.name = settings, run_dir, sweep_dir, name
        self.record = run_dir / record
        self.client, self.run_id = MlflowClient(tracking_uri=self.uri), None

    def warn(self, what: str, error: Exception, then: str) -> None:
        message = redacted(f"{type(error).__name__}: {str(error)[:300]}", self.uri)
        log.warning(f"{what} ({message}); {then}")

    def guarded(self, action, *arguments):
        if self.client is None:
            return None
        try:
            return action(*arguments)
        except Exception as error:  # MLflow and requests raise many types; none may stop the run
            self.client = None
            then = f"training goes on without it and every result stays in {self.run_dir}."
            self.warn(f"MLflow tracking at {without_password(self.uri)} failed", error, then)
            return None

    def start(self, config: dict, data=None) -> None:
        """`data`: the run's TrackedData (tracking/run.py), logged as MLflow dataset inputs by a new run."""
        self.guarded(self._start, mlflow_params(config), data)

    def _start(self, params: dict, data) -> None:
        record = read_json(self.record)
        where = self.destination.record()
        new = not recorded_here(record, self.uri)
        if not new:  # a resumed run continues its MLflow run
            self.run_id = record["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            known = self.client.get_run(self.run_id).data.params
            params = {key: value for key, value in params.items() if key not in known}
            log.info(f"MLflow: continuing run {self.run_id} at {where['tracking_uri']} ({where['tracking_uri_from']})")
        else:
            tags = source_tags({"fcbaseline.run_dir": str(self.run_dir)})
            if recorded_here(self.parent, self.uri):
                tags["mlflow.parentRunId"] = self.parent["run_id"]
            experiment = experiment_id(self.client, self.destination)
            self.run_id = self.client.create_run(experiment, run_name=self.name, tags=tags).info.run_id
            record = {"run_id": self.run_id, "tracking_uri": where["tracking_uri"], "experiment_id": experiment}
            write_json(self.record, record)
            log.info(
                f"MLflow: run {self.run_id} in experiment {where['experiment']!r} ({where['experiment_from']}) "
                f"at {where['tracking_uri']} ({where['tracking_uri_from']})"
            )
            if where["tracking_uri"].startswith(("http://", "https://")):  # MLflow 3's UI opens on GenAI unless told
                page = f"#/experiments/{experiment}/runs/{self.run_id}?workflowType=machine_learning"
                log.info(f"MLflow UI: {where['tracking_uri'].rstrip('/')}/{page}")
        items = [Param(key, value) for key, value in params.items()]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 parameters per call
            self.client.log_batch(self.run_id, params=items[start : start + 100])
        if new and data is not None:
            self.log_inputs(data)

    def log_inputs(self, data) -> None:
        """The dataset inputs; a failure costs a warning, not the run's tracking."""
        try:
            self.client.log_inputs(self.run_id, datasets=dataset_inputs(data.name, data.source, data.parts))
        except Exception as error:  # MLflow raises many types
            self.warn("MLflow: the dataset inputs could not be logged", error, "the run is tracked without them.")

    def log_epoch(self, epoch: int, logs: dict) -> None:
        if self.run_id is not None:
            self.guarded(self.log_metrics, logs, epoch)

    def log_metrics(self, figures: dict, step: int) -> None:
        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, step) for key, value in figures.items() if value is not None]
        self.client.log_batch(self.run_id, metrics=metrics)

    def finish(self, status: str, metrics: Optional[dict], model=None, examples=None) -> None:
        """The final figures, status and files; a completed run's `model` also as an MLflow model, with
        `examples` (a few raw test images) as its input example."""
        if self.run_id is not None:
            self.guarded(self._finish, status, metrics or {}, model if status == Status.COMPLETED else None, examples)

    def _finish(self, status: str, metrics: dict, model, examples) -> None:
        figures = ("test_accuracy", "test_loss", "model_val_accuracy", "best_val_accuracy", "best_val_epoch")
        final = {key: metrics.get(key) for key in figures}
        self.log_metrics({key: value for key, value in final.items() if isinstance(value, (int, float))}, 0)
        self.client.set_tag(self.run_id, "fcbaseline.status", status)
        for name in ARTIFACTS:
            path = self.run_dir / name
            if path.is_file():
                folder = str(Path(name).parent)
                self.client.log_artifact(self.run_id, str(path), artifact_path=None if folder == "." else folder)
        if model is not None and self.settings.get("log_model", True):
            self.log_model(model, examples)
        self.client.set_terminated(self.run_id, status=MLFLOW_STATUS.get(status, "FAILED"))

    def log_model(self, model, examples) -> None:
        """The model as an MLflow Keras model (tracking/mlflow_model.py); a failure costs a warning, not the
        run's record."""
        from fcbaseline.tracking.mlflow_model import log_keras_model

        started, register_as = time.perf_counter(), self.settings.get("register_as")
        try:
            info = log_keras_model(self.uri, self.run_id, model, examples, register_as)
        except Exception as error:  # MLflow raises many types; the run's files are logged already
            what = "logged as an MLflow model" + (f" or registered as {register_as!r}" if register_as else "")
            self.warn(f"MLflow: the model could not be {what}", error, "model.keras is among the run's artifacts.")
            return
        version = f", registered as {register_as!r} version {info.registered_model_version}" if register_as else ""
        log.info(
            f"MLflow: model logged as runs:/{self.run_id}/model ({info.model_uri}){version} "
            f"in {time.perf_counter() - started:.1f}s"
        )
