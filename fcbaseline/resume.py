"""Checkpoints, and continuing interrupted work: one run (`resume=<run dir>`) or the jobs of a sweep
(`-m ... resume=<sweep dir>`). NumPy only: deciding what to resume needs no TensorFlow."""

import json
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from omegaconf import DictConfig, OmegaConf

from fcbaseline.config import RESULT_FREE_KEYS, ConfigError
from fcbaseline.files import read_json, write_atomically, write_text

CHECKPOINT = "checkpoint.npz"  # the state after the last completed epoch


def variable_names(model) -> list:
    """`<layer name>/<variable name>` for each of model.variables, weights and random states alike.

    Keras' own variable paths carry process-wide counters for random states (`seed_generator_3`), and
    list positions may change with a Keras release; layer names are fixed by model.build_model."""
    names = [f"{layer.name}/{variable.name}" for layer in model.layers for variable in layer.variables]
    if len(set(names)) != len(names) or len(names) != len(model.variables):
        raise RuntimeError(f"checkpoint names are not unique for this model: {names}")
    return names


def save_checkpoint(path: Path, model, optimizer, history, order_generator, config_yaml: str, callbacks=None) -> None:
    """Every model and optimizer variable by name, the batch-order RNG state, the callbacks' state, the
    history and the run config in one .npz, written atomically (and flushed to disk)."""
    from fcbaseline import callbacks as callbacks_module  # Keras: only once training runs

    arrays = {
        f"model/{name}": value
        for name, value in zip(variable_names(model), (variable.numpy() for variable in model.variables))
    }
    arrays |= {f"optimizer/{variable.name}": variable.numpy() for variable in optimizer.variables}
    callback_state = {}
    for name, callback in (callbacks or {}).items():
        callback_state[name] = callbacks_module.state_of(name, callback)
        best_weights = getattr(callback, "best_weights", None)  # EarlyStopping(restore_best_weights=True)
        for weight_name, value in zip(weight_names(model), best_weights or []):
            arrays[f"callback/{name}/best_weights/{weight_name}"] = value
    state = {
        "history": history,
        "order_generator": order_generator.bit_generator.state,
        "config": config_yaml,
        "callbacks": callback_state,
        "stop_training": bool(model.stop_training),
    }
    arrays["state"] = np.array(json.dumps(state))

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as file:  # a file object: np.savez would append .npz to a bare name
            np.savez(file, **arrays)

    write_atomically(path, write)


def weight_names(model) -> list:
    """The names of model.weights (what get_weights returns: no random states), in their order."""
    by_identity = {id(variable): name for name, variable in zip(variable_names(model), model.variables)}
    return [by_identity[id(variable)] for variable in model.weights]


def load_checkpoint(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as file:
        state = json.loads(str(file["state"]))
        state["arrays"] = {name: file[name] for name in file.files if name != "state"}
    return state


def _assign_by_name(variables, names, arrays: dict, prefix: str) -> None:
    missing = [name for name in names if f"{prefix}{name}" not in arrays]
    if missing:
        raise ConfigError(
            f"the checkpoint has no {prefix}{missing[0]} (and {len(missing) - 1} more): it was written for a "
            f"different model or optimizer, or by an older fcbaseline. Start a new run."
        )
    for variable, name in zip(variables, names):
        variable.assign(arrays[f"{prefix}{name}"])


def restore(checkpoint: dict, model, optimizer, order_generator, callbacks=None) -> None:
    """Put back everything save_checkpoint saved, matching variables by name, never by position."""
    from fcbaseline import callbacks as callbacks_module

    arrays = checkpoint["arrays"]
    _assign_by_name(model.variables, variable_names(model), arrays, "model/")
    optimizer.build(model.trainable_variables)
    _assign_by_name(optimizer.variables, [variable.name for variable in optimizer.variables], arrays, "optimizer/")
    order_generator.bit_generator.state = checkpoint["order_generator"]
    for name, callback in (callbacks or {}).items():
        callbacks_module.restore_state(callback, checkpoint["callbacks"].get(name, {}))
        prefix = f"callback/{name}/best_weights/"
        if any(key.startswith(prefix) for key in arrays):
            callback.best_weights = [arrays[prefix + weight_name] for weight_name in weight_names(model)]
    model.stop_training = checkpoint.get("stop_training", False)


def differences(config: DictConfig, saved_yaml: str, ignoring=("resume",)) -> List[str]:
    """Top-level keys in which `config` differs from the saved run config (`ignoring` dotted keys)."""
    current = OmegaConf.create(OmegaConf.to_container(config, resolve=True))
    saved = OmegaConf.create(saved_yaml)
    for key in ignoring:
        OmegaConf.update(current, key, None)
        OmegaConf.update(saved, key, None)
    return [key for key in current if current[key] != saved.get(key)]


def single_run(config: DictConfig, output_dir: Path, overrides: List[str]):
    """(the config to continue with, the checkpoint) for `resume=<run directory>`."""
    path = output_dir / CHECKPOINT
    saved_config = output_dir / ".hydra" / "config.yaml"
    interrupted_early = read_json(output_dir / "metrics.json").get("status") == "interrupted"
    if not path.is_file() and interrupted_early and saved_config.is_file():
        # stopped before its first epoch ended (while loading data or compiling): start it again as it was
        saved = OmegaConf.load(saved_config)
        saved.resume = config.resume
        return saved, None
    if not path.is_file():
        raise ConfigError(
            f"resume={config.resume}: there is no {CHECKPOINT} in {output_dir}, so there is nothing to resume. "
            f"Point resume at the directory of an interrupted fcbaseline run (it holds metrics.json and {CHECKPOINT}): "
            f"resume=<run dir>, or resume=true hydra.run.dir=<run dir>."
        )
    checkpoint = load_checkpoint(path)
    more_epochs = any(override.startswith("training.epochs=") for override in overrides)
    restated = [override for override in overrides if not override.startswith(("resume=", "training.epochs="))]
    if restated:  # the user restated the config: it must be the same run, though it may ask for more epochs
        different = differences(config, checkpoint["config"], ignoring=("resume", "training.epochs"))
        if different:
            raise ConfigError(
                f"resume={config.resume}: the config given differs from the interrupted run's in "
                f"{', '.join(different)}. Resume with `resume=<directory>` alone (its saved config is used, "
                f"optionally with training.epochs=N), or start a new run."
            )
    saved = OmegaConf.create(checkpoint["config"])
    if more_epochs:
        saved.training.epochs = config.training.epochs
    saved.resume = config.resume
    return saved, checkpoint


FINAL_STATUSES = ("completed", "diverged", "pruned")  # rerunning the same config would give the same result


def sweep_decision(status: Optional[str], has_checkpoint: bool, changed: Optional[List[str]]) -> Tuple[str, str]:
    """What `-m ... resume=<sweep dir>` does with one job, and why: ("skip" | "continue" | "fresh", reason).
    `status` is the job's recorded status (None: no record), `changed` the config keys that differ from
    the config it ran with (None: no record of that config)."""
    if status is None or status == "not_started" or changed is None:
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
    metrics = read_json(output_dir / "metrics.json")
    checkpoint = load_checkpoint(output_dir / CHECKPOINT) if (output_dir / CHECKPOINT).is_file() else None
    saved_config = output_dir / ".hydra" / "config.yaml"
    ran_with = checkpoint["config"] if checkpoint else saved_config.read_text() if saved_config.is_file() else None
    changed = None if ran_with is None else differences(config, ran_with, ignoring=RESULT_FREE_KEYS)
    action, reason = sweep_decision(metrics.get("status"), checkpoint is not None, changed)
    if action == "skip":
        return action, metrics, reason
    if action == "continue":
        return action, checkpoint, reason
    # it runs afresh, so record what runs (Hydra leaves .hydra/ alone while resuming, to keep the kept
    # jobs' records as they were)
    hydra_dir = output_dir / ".hydra"
    hydra_dir.mkdir(exist_ok=True)
    write_text(hydra_dir / "config.yaml", OmegaConf.to_yaml(config))
    job_overrides = [override for override in overrides if not override.startswith("resume=")]
    write_text(hydra_dir / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(job_overrides)))
    return "fresh", None, reason
