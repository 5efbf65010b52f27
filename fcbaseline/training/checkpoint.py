"""The checkpoint: every model and optimizer variable by name, the batch-order random state, the
callbacks' counters, the history and the run config, in one .npz written after every epoch; and
putting it all back. NumPy only at import: resume decisions read checkpoints without TensorFlow."""

import json
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from fcbaseline.errors import ConfigError
from fcbaseline.files import write_atomically
from fcbaseline.reading import guarded, load_npz


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
    from fcbaseline.components import callbacks as callbacks_module

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
    """The checkpoint's state and arrays; a damaged one is a DataError that says how to go on."""
    fix = (
        "It is damaged (a disk problem, or a copy cut short): restore it from a backup, or start the run anew "
        "in a new folder (its finished epochs are lost)."
    )
    arrays = load_npz(path, "an fcbaseline checkpoint", fix)
    with guarded(path, "an fcbaseline checkpoint", fix):
        state = json.loads(str(arrays.pop("state")))
        if not isinstance(state.get("history"), dict) or not isinstance(state.get("callbacks", {}), dict):
            raise ValueError("its state has no history")
        if not isinstance(OmegaConf.create(state["config"]), DictConfig):
            raise ValueError("its run config is not a mapping")
        np.random.default_rng().bit_generator.state = state["order_generator"]  # restorable, as on resume
    state["arrays"] = arrays
    return state


def _assign_by_name(variables, names, arrays: dict, prefix: str) -> None:
    missing = [name for name in names if f"{prefix}{name}" not in arrays]
    if missing:
        raise ConfigError(
            f"the checkpoint has no {prefix}{missing[0]} (and {len(missing) - 1} more): it was written for a "
            f"different model or optimizer, or by an older fcbaseline. Start a new run."
        )
    for variable, name in zip(variables, names):
        if tuple(arrays[f"{prefix}{name}"].shape) != tuple(variable.shape):
            raise ConfigError(
                f"the checkpoint holds {prefix}{name} of shape {arrays[f'{prefix}{name}'].shape}, but this model's "
                f"is {tuple(variable.shape)}: it was written for a different model. Start a new run."
            )
        variable.assign(arrays[f"{prefix}{name}"])


def restore(checkpoint: dict, model, optimizer, order_generator, callbacks=None) -> None:
    """Put back everything save_checkpoint saved, matching variables by name, never by position."""
    from fcbaseline.components import callbacks as callbacks_module

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
