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
from fcbaseline.rundir import ARTIFACTS, MLFLOW_RECORD, MLFLOW_SWEEP_RECORD  # noqa: E402
from fcbaseline.tracking import MLFLOW_STATUS, mlflow_params  # noqa: E402

log = logging.getLogger("fcbaseline")
for noisy in ("alembic", "mlflow"):  # schema migrations of a new SQLite store log at INFO
    logging.getLogger(noisy).setLevel(logging.WARNING)
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # each retry; our one warning says it all


def default_uri() -> str:
    """MLflow 3's own kind of default store (SQLite), under outputs/ beside the runs."""
    return f"sqlite:///{Path.cwd() / 'outputs' / 'mlflow.db'}"


def experiment_id(client: MlflowClient, name: str, tracking_uri: str) -> str:
    """The experiment by name, created when missing; a local store keeps its files under outputs/."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if tracking_uri.startswith("sqlite:///"):
        location = (Path(tracking_uri[len("sqlite:///") :]).parent / "mlflow-artifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


class MlflowRun:
    """Logs one run to MLflow; a failure switches it off with one warning (`self.client` becomes None).

    `record` names the file in `run_dir` that keeps the run's id (a sweep's parent keeps its own)."""

    def __init__(self, settings, run_dir: Path, sweep_dir: Optional[Path], name: str, record: str = MLFLOW_RECORD):
        self.uri = settings.tracking_uri or default_uri()
        self.settings, self.run_dir, self.sweep_dir, self.name = settings, run_dir, sweep_dir, name
        self.record = run_dir / record
        self.client, self.run_id = MlflowClient(tracking_uri=self.uri), None

    def guarded(self, action, *arguments):
        if self.client is None:
            return None
        try:
            return action(*arguments)
        except Exception as error:  # MLflow and requests raise many types; none may stop the run
            self.client = None
            log.warning(
                f"MLflow tracking at {self.uri} failed ({type(error).__name__}: {str(error)[:300]}); training goes "
                f"on without it and every result stays in {self.run_dir}."
            )
            return None

    def start(self, config: dict) -> None:
        self.guarded(self._start, mlflow_params(config))

    def _start(self, params: dict) -> None:
        record = read_json(self.record)
        if record and record.get("tracking_uri") == self.uri:  # a resumed run continues its MLflow run
            self.run_id = record["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            known = self.client.get_run(self.run_id).data.params
            params = {key: value for key, value in params.items() if key not in known}
            log.info(f"MLflow: continuing run {self.run_id} at {self.uri}")
        else:
            tags = {"fcbaseline.run_dir": str(self.run_dir)}
            parent = read_json(self.sweep_dir / MLFLOW_SWEEP_RECORD) if self.sweep_dir else {}
            if parent and parent.get("tracking_uri") == self.uri:
                tags["mlflow.parentRunId"] = parent["run_id"]
            experiment = experiment_id(self.client, self.settings.experiment, self.uri)
            self.run_id = self.client.create_run(experiment, run_name=self.name, tags=tags).info.run_id
            write_json(self.record, {"run_id": self.run_id, "tracking_uri": self.uri})
            log.info(f"MLflow: run {self.run_id} in experiment '{self.settings.experiment}' at {self.uri}")
        items = [Param(key, value) for key, value in params.items()]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 parameters per call
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def log_epoch(self, epoch: int, logs: dict) -> None:
        if self.run_id is not None:
            self.guarded(self.log_metrics, logs, epoch)

    def log_metrics(self, figures: dict, step: int) -> None:
        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, step) for key, value in figures.items() if value is not None]
        self.client.log_batch(self.run_id, metrics=metrics)

    def finish(self, status: str, metrics: Optional[dict]) -> None:
        if self.run_id is not None:
            self.guarded(self._finish, status, metrics or {})

    def _finish(self, status: str, metrics: dict) -> None:
        final = {key: metrics.get(key) for key in ("test_accuracy", "test_loss", "best_val_accuracy", "best_val_epoch")}
        self.log_metrics({key: value for key, value in final.items() if isinstance(value, (int, float))}, 0)
        self.client.set_tag(self.run_id, "fcbaseline.status", status)
        for name in ARTIFACTS:
            path = self.run_dir / name
            if path.is_file():
                folder = str(Path(name).parent)
                self.client.log_artifact(self.run_id, str(path), artifact_path=None if folder == "." else folder)
        self.client.set_terminated(self.run_id, status=MLFLOW_STATUS.get(status, "FAILED"))
