"""fcbaseline's Optuna sweeper: Optuna's ask-and-tell interface driving Hydra's launcher.

    python -m fcbaseline -m hparams_search=mnist_optuna            # conf/hparams_search/mnist_optuna.yaml
    python -m fcbaseline -m hparams_search=mnist_optuna resume=<sweep dir>   # continue to n_trials

Each batch of n_jobs trials is asked from the study, launched as numbered jobs of the sweep folder (one
after the other with the basic launcher, side by side with joblib), and told what the job's metrics.json
says: the validation accuracy of the model it kept, pruned (the job asked the pruner every epoch, search/trial.py), or
failed. An interrupted job's trial stays open, and `resume=<sweep dir>` relaunches it into the same
folder, where it continues from its checkpoint. The study lives in a storage (SQLite in the sweep folder
by default), so a search continues, and several share one study. When the search ends, the sweep folder
gets optuna_best.yaml and optuna_trials.csv beside the sweep summary.
"""

import csv
import io
import logging
import sys
from pathlib import Path
from typing import List, Optional

import yaml
from omegaconf import OmegaConf

from fcbaseline.config.keys import without_resume
from fcbaseline.exits import ExitCode
from fcbaseline.files import write_text
from fcbaseline.rundir import RunFolder
from fcbaseline.search import settings, space
from fcbaseline.search import study as studies
from fcbaseline.sweep import stop

log = logging.getLogger("fcbaseline")


class Search:
    def __init__(self, study_name: str, storage, n_trials: int, n_jobs: int, sampler, pruner, params) -> None:
        self.study_name, self.storage, self.n_trials, self.n_jobs = study_name, storage, n_trials, n_jobs
        self.sampler_settings, self.pruner_settings, self.params = sampler, pruner, dict(params or {})
        try:
            settings.check_counts(n_trials, n_jobs)
        except studies.SearchConfigError as error:
            refuse(str(error))

    def setup(self, *, hydra_context, task_function, config) -> None:
        from hydra.core.plugins import Plugins

        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )
        self.sweep_dir = Path(config.hydra.sweep.dir).resolve()
        self.url = studies.storage_url(self.storage, self.sweep_dir)

    def sweep(self, arguments: List[str]) -> list:
        try:
            distributions, fixed = space.search_space(self.params, arguments)
            study = self.open_study()
        except (space.SearchSpaceError, studies.SearchConfigError) as error:
            refuse(str(error))
        log.info(
            f"Optuna study {study.study_name!r} in {self.url}: {len(study.trials)} trials so far, "
            f"{self.n_trials} in all"
        )
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")  # as Hydra's own sweeper records a sweep
        pending = self.open_trials(study, fixed)
        returns = []
        while not stop.stopped(self.sweep_dir):
            batch = pending[: self.n_jobs]
            pending = pending[len(batch) :]
            counted = sum(trial.state.name != "WAITING" for trial in study.get_trials(deepcopy=False))
            new = min(self.n_jobs - len(batch), studies.room(counted, self.n_trials))
            batch += [self.ask(study, distributions, fixed) for _ in range(new)]
            if not batch:
                break
            returns += self.launch(study, batch)
        write_results(study, self.sweep_dir, self.url)
        return returns

    def open_study(self):
        import optuna

        try:
            storage = studies.open_storage(self.url)
        except Exception as error:  # a malformed URL, a database server that is not there
            raise studies.SearchConfigError(
                f"hydra.sweeper.storage={self.url}: Optuna cannot open it ({type(error).__name__}: {error}). Give an "
                f"Optuna storage URL such as sqlite:////absolute/path/studies.db, or null for <sweep dir>/optuna.db."
            ) from None
        pruner = studies.make_pruner(self.pruner_settings)
        try:
            existing = len(optuna.load_study(study_name=self.study_name, storage=storage).trials)
        except KeyError:  # no such study yet
            existing = 0
        sampler = studies.make_sampler(self.sampler_settings, existing)
        try:
            return optuna.create_study(
                study_name=self.study_name,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                direction="maximize",  # the objective: the validation accuracy of the model a trial kept
                load_if_exists=True,
            )
        except optuna.exceptions.DuplicatedStudyError:  # another search created it a moment ago
            return optuna.load_study(study_name=self.study_name, storage=storage, sampler=sampler, pruner=pruner)

    def open_trials(self, study, fixed: List[str]) -> list:
        """(trial, job number, overrides) of this sweep folder's trials left open by an interrupted run: the
        trial's parameters with this command's fixed overrides (which carry resume=<sweep dir>)."""
        import optuna

        open_trials = []
        for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            job = studies.own_job(frozen.user_attrs, self.sweep_dir)
            if job is not None:
                sampled = [space.as_override(name, value) for name, value in frozen.params.items()]
                open_trials.append((frozen.number, job, fixed + sampled))
        if open_trials:
            log.info(f"continuing {len(open_trials)} open trials: jobs {', '.join(str(t[1]) for t in open_trials)}")
        return sorted(open_trials, key=lambda entry: entry[1])

    def ask(self, study, distributions: dict, fixed: List[str]) -> tuple:
        """A new trial: its parameters sampled, its job number the next free folder of the sweep."""
        trial = study.ask(distributions)
        job = self.next_job(study)
        overrides = fixed + [space.as_override(name, value) for name, value in trial.params.items()]
        trial.set_user_attr(studies.SWEEP_ATTRIBUTE, str(self.sweep_dir))
        trial.set_user_attr(studies.JOB_ATTRIBUTE, job)
        # what a user reruns the trial with (optuna_best.yaml, optuna-dashboard): without resume=
        trial.set_user_attr("fcbaseline.overrides", without_resume(overrides))
        return trial.number, job, overrides

    def next_job(self, study) -> int:
        taken = [studies.own_job(trial.user_attrs, self.sweep_dir) for trial in study.get_trials(deepcopy=False)]
        folders = [int(path.name) for path in self.sweep_dir.glob("[0-9]*") if path.name.isdigit()]
        numbers = [number for number in taken + folders if number is not None]
        return max(numbers) + 1 if numbers else 0

    def launch(self, study, batch: list) -> list:
        """Launch the batch's jobs (consecutive job numbers together) and tell each trial its outcome."""
        by_job = {job: (number, overrides) for number, job, overrides in batch}
        returns = []
        for run in studies.consecutive_runs(sorted(by_job)):
            returns += self.launcher.launch([by_job[job][1] for job in run], initial_job_idx=run[0])
        for job, job_return in zip(sorted(by_job), returns):
            self.tell(study, by_job[job][0], job, job_return)
        return returns

    def tell(self, study, trial_number: int, job: int, job_return) -> None:
        import optuna

        folder = RunFolder(job_folder(job_return, self.sweep_dir, job))
        metrics = folder.metrics()  # a job saved before model_val_accuracy: its history.csv has it
        state, value = studies.outcome(metrics.get("status"), folder.model_val_accuracy(metrics))
        if state == "running":
            return  # interrupted: the trial stays open, and resume=<sweep dir> continues it
        states = {"complete": optuna.trial.TrialState.COMPLETE, "pruned": optuna.trial.TrialState.PRUNED}
        study.tell(trial_number, value, state=states.get(state, optuna.trial.TrialState.FAIL), skip_if_finished=True)
        log.info(f"trial {trial_number} (job {job}): {state}{'' if value is None else f', {value:.4f}'}")


def job_folder(job_return, sweep_dir: Path, job: int) -> Path:
    """Where the job wrote metrics.json: its Hydra output folder, or <sweep dir>/<job> if it never started."""
    try:
        return Path(job_return.hydra_cfg.hydra.runtime.output_dir)
    except Exception:  # a launcher that returns no Hydra config for a job that did not start
        return sweep_dir / str(job)


def refuse(message: str) -> None:
    """A search that cannot start: one paragraph, exit 2 (as a config error), nothing launched."""
    log.error(message)
    sys.exit(ExitCode.USAGE)


def trial_rows(trials, sweep_dir: Path) -> List[dict]:
    """optuna_trials.csv: one row per trial of the study (other searches' trials have no job here)."""
    names = list(dict.fromkeys(name for trial in trials for name in trial.params))
    rows = []
    for trial in trials:
        job = studies.own_job(trial.user_attrs, sweep_dir)
        steps = trial.intermediate_values
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                "model_val_accuracy": trial.value,
                "job": "" if job is None else job,
                "epochs_reported": max(steps) if steps else 0,
                "seconds": round(trial.duration.total_seconds(), 1) if trial.duration else "",
                **{name: trial.params.get(name, "") for name in names},
            }
        )
    return rows


def write_results(study, sweep_dir: Path, url: str) -> None:
    """optuna_trials.csv (every trial of the study) and optuna_best.yaml (the best trial's parameters,
    value and job folder) in the sweep folder."""
    trials = study.get_trials(deepcopy=False)
    rows = trial_rows(trials, sweep_dir)
    if rows:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text(sweep_dir / "optuna_trials.csv", buffer.getvalue())
    best = best_trial(study)
    if best is not None:
        job = studies.own_job(best.user_attrs, sweep_dir)
        record = {
            "study": study.study_name,
            "storage": url,
            "best_trial": best.number,
            "model_val_accuracy": best.value,
            "best_params": dict(best.params),
            "job_folder": None if job is None else str(sweep_dir / str(job)),
            "overrides": list(best.user_attrs.get("fcbaseline.overrides", [])),
        }
        write_text(sweep_dir / "optuna_best.yaml", yaml.safe_dump(record, sort_keys=False))
        log.info(f"best trial {best.number}: model_val_accuracy {best.value:.4f}, {dict(best.params)}")
    log.info(f"open the study with:  optuna-dashboard {url}")


def best_trial(study) -> Optional[object]:
    completed = [trial for trial in study.get_trials(deepcopy=False) if trial.state.name == "COMPLETE"]
    return max(completed, key=lambda trial: trial.value) if completed else None
