"""A sweep's parent MLflow run (with tracking=mlflow), started and finished by the sweep's lifecycle
callback (sweep/lifecycle.py) in the launching process. It is recorded in <sweep dir>/mlflow_sweep.json,
where each job finds it (in this process, a joblib worker or a Ray task) and nests its run under it.
When the multirun ends, the parent gets the sweep summary as artifacts and a status: FINISHED when
every job completed, KILLED when one was interrupted, FAILED otherwise. `resume=<sweep dir>` continues
the same parent run."""

from pathlib import Path
from typing import Optional

from fcbaseline.config.keys import task_overrides
from fcbaseline.rundir import MLFLOW_SWEEP_RECORD, SUMMARY_FILES, Status


def sweep_status(job_statuses) -> str:
    """The parent run's MLflow status from its jobs' fcbaseline statuses."""
    statuses = set(job_statuses)
    if statuses <= {Status.COMPLETED, Status.PRUNED}:
        return "FINISHED"
    if Status.INTERRUPTED in statuses:
        return "KILLED"
    return "FAILED"


def start_parent(config, sweep_dir: Path):
    """The sweep's parent run (an MlflowRun), or None without tracking=mlflow."""
    settings = config.get("tracking", {}).get("mlflow", {})
    if not settings.get("enabled"):
        return None
    from fcbaseline.tracking.mlflow_run import MlflowRun

    # resume=<sweep dir> finds the record and continues the same parent run
    parent = MlflowRun(
        settings, sweep_dir, None, f"sweep {sweep_dir.parent.name}/{sweep_dir.name}", record=MLFLOW_SWEEP_RECORD
    )
    parent.start({"sweep": {"overrides": " ".join(task_overrides(config.hydra))}})
    return parent


def finish_parent(parent: Optional[object], sweep_dir: Path, rows) -> None:
    """The summary's files as artifacts and the sweep's status, once the summary is written."""
    if parent is None or parent.run_id is None:
        return

    def finish() -> None:
        for name in SUMMARY_FILES:
            if (sweep_dir / name).is_file():
                parent.client.log_artifact(parent.run_id, str(sweep_dir / name))
        parent.client.set_terminated(parent.run_id, status=sweep_status(row["status"] for row in rows))

    parent.guarded(finish)
