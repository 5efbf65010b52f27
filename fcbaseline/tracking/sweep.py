"""A sweep as the trackers see it (Hydra callback, conf/config.yaml), set up in the launching process
before any job runs, in files of the sweep directory that every job finds (in this process, a joblib
worker or a Ray task):

- <sweep dir>/sweep.json: which config keys the sweep varies, and how many jobs the sweeper hands the
  launcher at once. The first job writes TensorBoard's HParams experiment from it (tracking/tensorboard.py),
  so the HParams table and parallel-coordinates view show the swept keys against the figures, not every
  constant of the config; each job's thread budget counts the jobs beside it (fcbaseline/threads.py).
- with tracking=mlflow, a parent MLflow run, recorded in <sweep dir>/mlflow_sweep.json; each job nests
  its run under it. When the multirun ends, the parent gets the sweep summary as artifacts and a status:
  FINISHED when every job completed, KILLED when one was interrupted, FAILED otherwise.
  `resume=<sweep dir>` continues the same parent run.
"""

import logging
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback

from fcbaseline.files import write_json

log = logging.getLogger("fcbaseline")
SWEEP_RECORD = "sweep.json"


def swept_keys(overrides, search_space) -> list:
    """The config keys a sweep varies: command-line sweeps (`a=1,2`, `range(...)`, `choice(...)`) and an
    Optuna search space (hydra.sweeper.params); tracking and resume settings are not results."""
    parsed = OverridesParser.create().parse_overrides(list(overrides))
    keys = [override.key_or_group for override in parsed if override.is_sweep_override()]
    keys += [key for key in search_space or {} if key not in keys]
    return [key for key in keys if not key.startswith(("tracking", "resume", "hydra"))]


def sweep_status(job_statuses) -> str:
    """The parent run's MLflow status from its jobs' fcbaseline statuses."""
    statuses = set(job_statuses)
    if statuses <= {"completed", "pruned"}:
        return "FINISHED"
    if "interrupted" in statuses:
        return "KILLED"
    return "FAILED"


class SweepTracking(Callback):
    def __init__(self):
        self.parent = None  # the MlflowRun of the sweep, when tracking=mlflow

    def on_multirun_start(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        from fcbaseline.summarize import jobs_per_batch

        search_space = config.hydra.sweeper.get("params")
        record = {
            "swept": swept_keys(config.hydra.overrides.task, search_space),
            "jobs_per_batch": jobs_per_batch(config),
        }
        write_json(sweep_dir / SWEEP_RECORD, record)
        settings = config.get("tracking", {}).get("mlflow", {})
        if not settings.get("enabled"):
            return
        from fcbaseline.tracking.mlflow_run import PARENT_RECORD, MlflowRun

        # resume=<sweep dir> finds the record and continues the same parent run
        self.parent = MlflowRun(
            settings, sweep_dir, None, f"sweep {sweep_dir.parent.name}/{sweep_dir.name}", record=PARENT_RECORD
        )
        self.parent.start({"sweep": {"overrides": " ".join(config.hydra.overrides.task)}})

    def on_multirun_end(self, config, **kwargs) -> None:
        if self.parent is None or self.parent.run_id is None:
            return
        from fcbaseline.summarize import SummaryCallback, summarize

        # this callback ends before the summary callback (Hydra ends callbacks in reverse order, and that one
        # exits 1 when a job failed), so it writes the summary it attaches; the other writes the same again
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = summarize(sweep_dir, SummaryCallback.jobs_planned)
        self.parent.guarded(self.finish_parent, sweep_dir, sweep_status(row["status"] for row in rows))

    def finish_parent(self, sweep_dir: Path, status: str) -> None:
        client, run_id = self.parent.client, self.parent.run_id
        for name in ("summary.md", "summary.csv", "summary.png"):
            if (sweep_dir / name).is_file():
                client.log_artifact(run_id, str(sweep_dir / name))
        client.set_terminated(run_id, status=status)
