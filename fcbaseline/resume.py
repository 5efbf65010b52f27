"""Checkpoints, and continuing interrupted work: one run (`resume=<run dir>`) or the jobs of a sweep
(`-m ... resume=<sweep dir>`). NumPy only: deciding what to resume needs no TensorFlow."""

import json
from pathlib import Path
from typing import List

import numpy as np
from omegaconf import DictConfig, OmegaConf

from fcbaseline.config import ConfigError
from fcbaseline.files import read_json, write_atomically, write_text

CHECKPOINT = "checkpoint.npz"  # the state after the last completed epoch


def save_checkpoint(path: Path, model, optimizer, history, order_generator, config_yaml: str) -> None:
    """Weights, optimizer variables, batch-order RNG state, history and config in one .npz, written atomically."""
    arrays = {f"weight_{i}": value for i, value in enumerate(model.get_weights())}
    arrays |= {f"optimizer_{i}": variable.numpy() for i, variable in enumerate(optimizer.variables)}
    state = {"history": history, "order_generator": order_generator.bit_generator.state, "config": config_yaml}
    arrays["state"] = np.array(json.dumps(state))

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as file:  # a file object: np.savez would append .npz to a bare name
            np.savez(file, **arrays)

    write_atomically(path, write)


def load_checkpoint(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as file:
        state = json.loads(str(file["state"]))
        count = lambda prefix: sum(1 for name in file.files if name.startswith(prefix))  # noqa: E731
        state["weights"] = [file[f"weight_{i}"] for i in range(count("weight_"))]
        state["optimizer"] = [file[f"optimizer_{i}"] for i in range(count("optimizer_"))]
    return state


def restore(checkpoint: dict, model, optimizer, order_generator) -> None:
    model.set_weights(checkpoint["weights"])
    optimizer.build(model.trainable_variables)
    for variable, value in zip(optimizer.variables, checkpoint["optimizer"], strict=True):
        variable.assign(value)
    order_generator.bit_generator.state = checkpoint["order_generator"]


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


def sweep_job(config: DictConfig, output_dir: Path, overrides: List[str]):
    """For a job of `-m ... resume=<sweep dir>`: ("skip", metrics), ("continue", checkpoint) or ("fresh", None)."""
    metrics = read_json(output_dir / "metrics.json")
    checkpoint = load_checkpoint(output_dir / CHECKPOINT) if (output_dir / CHECKPOINT).is_file() else None
    if checkpoint is not None and not differences(config, checkpoint["config"]):
        return ("skip", metrics) if metrics.get("status") == "completed" else ("continue", checkpoint)
    # new, failed before its first epoch, or its config changed: it runs afresh, so record what runs
    # (Hydra leaves .hydra/ alone while resuming, to keep the completed jobs' records as they were)
    hydra_dir = output_dir / ".hydra"
    hydra_dir.mkdir(exist_ok=True)
    write_text(hydra_dir / "config.yaml", OmegaConf.to_yaml(config))
    job_overrides = [override for override in overrides if not override.startswith("resume=")]
    write_text(hydra_dir / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(job_overrides)))
    return "fresh", None
