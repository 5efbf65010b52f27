"""A job of an Optuna search (fcbaseline/search/sweeper.py) as a trial: after every epoch it reports its
validation accuracy to its trial and asks the study's pruner whether to go on. A pruned job stops after
that epoch, writes its report like any run, and ends with status `pruned` (final: not rerun on resume).

The job finds its trial in the study by the sweep folder and job number the sweeper recorded on it, so
it works in any process that reaches the storage (joblib workers, submitit jobs). The storage failing
mid-run costs the pruning, never the run: one warning, and training goes on.
"""

import logging
from pathlib import Path

import keras

from fcbaseline.search import study as studies

log = logging.getLogger("fcbaseline")


def open_trial(sweeper_config, sweep_dir: Path, job: int):
    """This job's running trial in fcbaseline's Optuna search, with the study's pruner; None when the trial
    is already finished."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweeper logs what matters
    storage = studies.open_storage(studies.storage_url(sweeper_config.get("storage"), sweep_dir))
    study = optuna.load_study(
        study_name=sweeper_config["study_name"], storage=storage, pruner=studies.make_pruner(sweeper_config["pruner"])
    )
    for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if studies.own_job(frozen.user_attrs, sweep_dir) == job:
            return optuna.trial.Trial(study, frozen._trial_id)  # Optuna's handle on a trial asked elsewhere
    return None


class TrialReport(keras.callbacks.Callback):
    """Reports val_accuracy at step = epoch (from 1, as history.csv) and stops training when pruned."""

    def __init__(self, trial):
        super().__init__()
        self.trial, self.pruned, self.working = trial, False, True

    def on_epoch_end(self, epoch, logs=None):
        if not self.working:
            return
        try:
            self.trial.report(float(logs["val_accuracy"]), epoch + 1)
            prune = self.trial.should_prune()
        except Exception as error:  # the storage went away or is locked for too long
            self.working = False
            log.warning(f"Optuna storage unavailable ({type(error).__name__}: {error}); no pruning for this trial.")
            return
        if prune:
            self.pruned = True
            self.model.stop_training = True
            log.info(f"epoch {epoch + 1}: the pruner stops trial {self.trial.number} (status 'pruned')")


def pruning_watcher(sweeper_config, sweep_dir: Path, job: int) -> dict:
    """{"trial": TrialReport} for a job of an Optuna search (extra callbacks of the training loop), {} when its
    trial cannot be found."""
    try:
        trial = open_trial(sweeper_config, sweep_dir, job)
    except Exception as error:
        log.warning(f"the Optuna study cannot be opened ({type(error).__name__}: {error}); no pruning for this job.")
        return {}
    return {"trial": TrialReport(trial)} if trial is not None else {}
