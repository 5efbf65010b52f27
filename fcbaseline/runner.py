"""One training run from its composed config to its files, without Hydra. The Python API
(`fcbaseline.run`) and the Hydra task (app.py) both come here. Read top to bottom, this is a run:

    checks -> resume decision -> data -> TensorFlow -> assemble -> metrics.json (running)
    -> train with the trackers -> test-set report, plots, model -> metrics.json (final) -> RunResult

Every outcome is recorded in the run folder's metrics.json (rundir.RunFolder): completed, diverged or
pruned (results), interrupted (resumable), failed (with the error). A single run resumed that cannot
begin (refused, its data gone) and a folder in use are left exactly as they were; a sweep's job records
its failure, so that the sweep's summary and exit status show it.
"""

import logging
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence, Union

from omegaconf import DictConfig

from fcbaseline import backend, models, resume
from fcbaseline.config import check_overrides, compose_config, validate
from fcbaseline.config.keys import key_of
from fcbaseline.context import RunContext, thread_budget
from fcbaseline.data import augmentation, load_dataset
from fcbaseline.data.splits import make_splits
from fcbaseline.errors import ConfigError
from fcbaseline.files import FolderBusy
from fcbaseline.rundir import LOG, RunFolder, Status, check_exists, claim
from fcbaseline.stopping import Interrupted, StopRequests
from fcbaseline.training.reuse import CompiledRuns

log = logging.getLogger("fcbaseline")
LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # Hydra's, for the API's log file


@dataclass(frozen=True)
class RunResult:
    status: Status
    metrics: dict  # as metrics.json records them
    run_dir: Path
    files: dict  # the run's artifacts (rundir.ARTIFACTS): name -> path

    @property
    def objective(self) -> float:
        """What a sweeper maximizes: the validation accuracy of the model the run kept (NaN when none)."""
        value = RunFolder(self.run_dir).model_val_accuracy(self.metrics)
        return float("nan") if value is None else float(value)


def run(
    overrides: Union[Sequence[str], DictConfig] = (),
    run_dir: Optional[Union[str, Path]] = None,
    compiled_runs: Optional[CompiledRuns] = None,
) -> RunResult:
    """Train one run as `python -m fcbaseline <overrides>` would: the same configs, checks and defaults,
    the same files in a run folder (default outputs/runs/<date>/<time>/ under the working directory, or
    `run_dir`; with `resume=<run dir>` that folder). A composed DictConfig may be given instead.
    Runs in a loop that share one `fcbaseline.CompiledRuns()` reuse each other's compiled epoch when
    their shapes agree, as a sweep's jobs do (training/reuse.py).
    Raises ConfigError or DataError with the command line's messages; Interrupted on SIGINT/SIGTERM."""
    config, given = compose(overrides)
    folder = run_folder(config, given, run_dir)
    preflight(config, given, folder)
    lock = claim(folder, "run_dir", resuming=bool(config.resume))
    try:
        with logging_to(folder / LOG):
            if not config.resume:  # as Hydra does: a resumed run keeps its original record
                resume.save_config(folder, config, given)
            return run_in_folder(config, RunContext(folder, tuple(given), compiled=compiled_runs))
    finally:
        lock.release()


def compose(overrides) -> tuple:
    """(the config, the overrides it was composed from), Hydra's refusals as ConfigError."""
    if isinstance(overrides, DictConfig):
        return overrides, []
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        return compose_config(list(overrides)), list(overrides)
    except (HydraException, OmegaConfBaseException) as error:
        cause = f"\n{error.__cause__}" if error.__cause__ is not None else ""  # as the command line shows it
        raise ConfigError(f"{error}{cause}") from None


def run_folder(config, given, run_dir) -> Path:
    """Where `run` trains: `run_dir`, the run folder `resume=` names, or a new folder where the command
    line would put it. Hydra's own settings (hydra.run.dir...) are refused: the API has run_dir."""
    hydra_settings = [override for override in given if key_of(override).startswith("hydra")]
    if hydra_settings:
        raise ConfigError(
            f"{hydra_settings[0]}: Hydra's own settings do not apply to fcbaseline.run, which runs no Hydra "
            f"app. Give the run folder as fcbaseline.run(overrides, run_dir=<folder>)."
        )
    resumed = None if config.resume in (None, True, "true", "True") else Path(config.resume)
    if config.resume and resumed is None and run_dir is None:
        raise ConfigError(
            "resume=true needs the run folder to continue: fcbaseline.run(['resume=true'], run_dir=<run dir>)."
        )
    if resumed is not None and run_dir is not None and Path(run_dir).resolve() != resumed.resolve():
        raise ConfigError(f"resume={config.resume} and run_dir={run_dir} name two folders; give one of them.")
    return Path(run_dir) if run_dir else resumed or default_run_dir()


def default_run_dir() -> Path:
    """Where the command line puts a run (conf/config.yaml hydra.run.dir)."""
    now = datetime.now()
    return Path.cwd() / "outputs" / "runs" / f"{now:%Y-%m-%d}" / f"{now:%H-%M-%S_%f}"


@contextmanager
def logging_to(path: Path):
    """The run's log file in its folder (as Hydra's job logging writes it), and the console where nothing
    else shows fcbaseline's messages (a notebook)."""
    root, ours = logging.getLogger(), logging.getLogger("fcbaseline")
    handlers = [logging.FileHandler(path, encoding="utf-8")]
    if not root.handlers:
        handlers.append(logging.StreamHandler(sys.stderr))
    level = ours.level
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    try:
        yield
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        ours.setLevel(level)


def preflight(config: DictConfig, overrides: Sequence[str], run_dir: Path, resuming: bool = True) -> None:
    """The checks that need neither data nor TensorFlow, made before a single run's folder is claimed, so
    that a refusal leaves nothing behind: no folder for a new run, no file changed for a resumed one (its
    checkpoint and saved config are read and checked here, and read again by execute, which a sweep's
    jobs reach without this)."""
    backend.check_backend()
    check_overrides(overrides)
    validate(config)
    if config.resume and resuming:  # a sweep's jobs decide one by one (resume.sweep_job)
        check_exists(Path(run_dir))
        resumed, _ = resume.single_run(config, Path(run_dir), list(overrides))
        validate(resumed)


def run_in_folder(config: DictConfig, context: RunContext) -> RunResult:
    """The run in `context.run_dir`, which the caller has claimed (locked, .hydra/ written)."""
    folder = RunFolder(context.run_dir)
    with StopRequests() as stop:
        try:
            return execute(config, context, folder, stop)
        except KeyboardInterrupt:
            folder.interrupt()
            raise
        except Exception as error:
            resume_refused = config.resume and not context.in_sweep and not folder.started
            if not (isinstance(error, FolderBusy) or resume_refused):
                folder.fail(error)  # a run resumed alone that cannot begin, or a folder in use, is left as it was
            raise


def execute(config: DictConfig, context: RunContext, folder: RunFolder, stop: StopRequests) -> RunResult:
    started = time.perf_counter()
    backend.check_backend()
    check_overrides(context.overrides)
    validate(config)
    config, checkpoint, kept = resume_decision(config, context)
    if kept is not None:
        return RunResult(Status(kept["status"]), kept, context.run_dir, folder.files())
    dataset = load_dataset(config.dataset)
    models.check_inputs(config.model, dataset.image_shape, dataset.features)
    augmentation.check_images(config.dataset, dataset.image_shape, dataset.features)
    splits = make_splits(dataset, config.training, context.in_sweep)
    stop.check()
    threads_in_use = backend.start(thread_budget(config.training.threads, context))
    with backend.graphs_released():  # the next job of a sweep in this process starts as light as this one
        status, metrics = train(config, context, folder, (splits, checkpoint, threads_in_use), stop, started)
    log.info(
        f"{status}: test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f} after "
        f"{metrics['epochs_run']} epochs in {metrics['wall_time_seconds']:.1f}s; results in {context.run_dir}"
    )
    if status == Status.INTERRUPTED:
        raise Interrupted(stop.received)
    return RunResult(status, metrics, context.run_dir, folder.files())


def train(config: DictConfig, context: RunContext, folder: RunFolder, inputs, stop: StopRequests, started: float):
    """TensorFlow's part: assemble, metrics.json (running), train, report; (status, final metrics)."""
    from fcbaseline import execution  # imported once TensorFlow has started

    splits, checkpoint, threads_in_use = inputs
    try:
        prepared = execution.prepare_training(config, context, splits, threads_in_use, checkpoint)
        folder.start(prepared.description)
        architecture, parameters = prepared.assembled.architecture, prepared.description["parameters"]
        log.info(f"model {architecture}, {parameters:,} parameters, optimizer {config.optimizer.name}")
        stop.check()
        return execution.train_and_report(config, context, folder, splits, prepared, stop, started)
    finally:
        if context.compiled is not None:  # the next run may take over the model and its compiled epoch
            context.compiled.release()


def resume_decision(config: DictConfig, context: RunContext):
    """(the config to run, the checkpoint to continue from or None, the record of a sweep job to keep or None)."""
    overrides = list(context.overrides)
    if config.resume and context.in_sweep:
        action, found, reason = resume.sweep_job(config, context.run_dir, overrides)
        log.info(f"job {context.sweep.number}: {reason}")
        if action == "skip":
            return config, None, found
        return config, found, None
    if config.resume:
        config, checkpoint = resume.single_run(config, context.run_dir, overrides)
        validate(config)
        return config, checkpoint, None
    return config, None, None
