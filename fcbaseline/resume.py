"""Continuing interrupted work: one run (`resume=<run dir>`) or the jobs of a sweep (`-m ...
resume=<sweep dir>`). `sweep_decision` is the pure decision; the file work is around it. NumPy only:
deciding what to resume needs no TensorFlow."""

from pathlib import Path
from typing import List, Optional, Tuple

from omegaconf import DictConfig, OmegaConf

from fcbaseline.config.added import with_added_keys
from fcbaseline.config.keys import RESULT_FREE_KEYS, key_of, without_resume
from fcbaseline.errors import ConfigError, DataError
from fcbaseline.files import write_text
from fcbaseline.reading import read_text, read_yaml_mapping
from fcbaseline.rundir import CHECKPOINT, FINAL_STATUSES, SAVED_CONFIG, SAVED_OVERRIDES, RunFolder, Status
from fcbaseline.training.checkpoint import load_checkpoint

RECORD_FIX = "Restore it from a backup, or start anew in a new folder."


def differences(config: DictConfig, saved_yaml: str, ignoring=("resume",)) -> List[str]:
    """Top-level keys in which `config` differs from the saved run config (`ignoring` dotted keys)."""
    current = OmegaConf.create(OmegaConf.to_container(config, resolve=True))
    saved = with_added_keys(OmegaConf.create(saved_yaml))
    for key in ignoring:
        OmegaConf.update(current, key, None)
        OmegaConf.update(saved, key, None)
    return [key for key in current if current[key] != saved.get(key)]


def single_run(config: DictConfig, output_dir: Path, overrides: List[str]):
    """(the config to continue with, the checkpoint) for `resume=<run directory>`."""
    path = output_dir / CHECKPOINT
    saved_config = output_dir / SAVED_CONFIG
    interrupted_early = RunFolder(output_dir).status() == Status.INTERRUPTED
    if not path.is_file() and interrupted_early and saved_config.is_file():
        # stopped before its first epoch ended (while loading data or compiling): start it again as it was
        saved = read_yaml_mapping(
            saved_config, "the run's saved config", RECORD_FIX, DataError, ("dataset", "training")
        )
        saved = with_added_keys(saved)
        saved.resume = config.resume
        return saved, None
    if not path.is_file():
        raise ConfigError(
            f"resume={config.resume}: there is no {CHECKPOINT} in {output_dir}, so there is nothing to resume. "
            f"Point resume at the directory of an interrupted fcbaseline run (it holds metrics.json and {CHECKPOINT}): "
            f"resume=<run dir>, or resume=true hydra.run.dir=<run dir>."
        )
    checkpoint = load_checkpoint(path)
    more_epochs = any(key_of(override) == "training.epochs" for override in overrides)
    restated = [override for override in without_resume(overrides) if key_of(override) != "training.epochs"]
    if restated:  # the user restated the config: it must be the same run, though it may ask for more epochs
        different = differences(config, checkpoint["config"], ignoring=("resume", "training.epochs"))
        if different:
            raise ConfigError(
                f"resume={config.resume}: the config given differs from the interrupted run's in "
                f"{', '.join(different)}. Resume with `resume=<directory>` alone (its saved config is used, "
                f"optionally with training.epochs=N), or start a new run."
            )
    saved = with_added_keys(OmegaConf.create(checkpoint["config"]))
    done = len(checkpoint["history"].get("epoch", []))
    if more_epochs and config.training.epochs < done:
        raise ConfigError(
            f"resume={config.resume} training.epochs={config.training.epochs}: the run has already completed {done} "
            f"epochs. Ask for at least {done} (training.epochs={done} finishes it where it is), or start a new run."
        )
    if more_epochs:
        saved.training.epochs = config.training.epochs
    saved.resume = config.resume
    return saved, checkpoint


def sweep_decision(status: Optional[str], has_checkpoint: bool, changed: Optional[List[str]]) -> Tuple[str, str]:
    """What `-m ... resume=<sweep dir>` does with one job, and why: ("skip" | "continue" | "fresh", reason).
    `status` is the job's recorded status (None: no record), `changed` the config keys that differ from
    the config it ran with (None: no record of that config)."""
    if status is None or status == Status.NOT_STARTED or changed is None:
        return "fresh", "not run before"
    if changed:
        return "fresh", f"its config changed ({', '.join(changed)}): run afresh"
    if status in FINAL_STATUSES:
        return "skip", f"already {status} with this config; kept as it is"
    if has_checkpoint:
        return "continue", f"{status} after a saved epoch: continues from its checkpoint"
    return "fresh", f"{status} before its first epoch ended: run afresh"


def sweep_job(config: DictConfig, output_dir: Path, overrides: List[str]):
    """For a job of `-m ... resume=<sweep dir>`: (action, what it needs, why), action as sweep_decision:
    ("skip", metrics, reason), ("continue", checkpoint, reason) or ("fresh", None, reason)."""
    metrics = RunFolder(output_dir).metrics()
    checkpoint = load_checkpoint(output_dir / CHECKPOINT) if (output_dir / CHECKPOINT).is_file() else None
    saved_config = output_dir / SAVED_CONFIG
    ran_with = checkpoint["config"] if checkpoint else None
    if ran_with is None and saved_config.is_file():
        read_yaml_mapping(saved_config, "the job's saved config", RECORD_FIX, kind=DataError)
        ran_with = read_text(saved_config, "the job's saved config", RECORD_FIX)
    changed = None if ran_with is None else differences(config, ran_with, ignoring=RESULT_FREE_KEYS)
    action, reason = sweep_decision(metrics.get("status"), checkpoint is not None, changed)
    if action == "skip":
        return action, metrics, reason
    if action == "continue":
        return action, checkpoint, reason
    # it runs afresh, so record what runs (Hydra leaves .hydra/ alone while resuming, to keep the kept
    # jobs' records as they were)
    save_config(output_dir, config, without_resume(overrides))
    return "fresh", None, reason


def save_config(run_dir: Path, config: DictConfig, overrides: List[str]) -> None:
    """.hydra/config.yaml and .hydra/overrides.yaml, as Hydra writes them for a run it starts."""
    (run_dir / SAVED_CONFIG).parent.mkdir(parents=True, exist_ok=True)
    write_text(run_dir / SAVED_CONFIG, OmegaConf.to_yaml(config))
    write_text(run_dir / SAVED_OVERRIDES, OmegaConf.to_yaml(OmegaConf.create(list(overrides))))
