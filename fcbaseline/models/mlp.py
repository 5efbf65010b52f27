"""`model=mlp`, the recipes' network: raw inputs (models/inputs.py), flattened, hidden Dense blocks, a
softmax out. `model.hidden_sizes=[]` has no hidden layer: the linear (softmax regression) baseline."""

import math
from dataclasses import dataclass
from typing import Any, List

from omegaconf import MISSING, ListConfig

from fcbaseline.errors import ConfigError, check_name
from fcbaseline.ranges import ranged

# Names a hidden layer may use; each is a string `keras.layers.Dense(activation=...)` accepts.
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "silu", "softplus", "linear")


@dataclass
class MLPConfig:
    name: str = "mlp"
    hidden_sizes: List[int] = MISSING  # [] is the linear (softmax regression) baseline
    activation: Any = MISSING  # one name for every hidden layer, or a list, one per layer
    output_activation: str = "softmax"
    dropout: Any = 0.0  # one rate for every hidden layer, or a list, one per layer
    l2: float = ranged(0.0, 0, example="1e-4")  # L2 penalty on every Dense kernel, added to the training loss
    batch_norm: bool = False  # BatchNormalization between each hidden Dense layer and its activation


def per_layer(value, layers: int, kind) -> list:
    """One value per hidden layer, whether the config gave one value or a list."""
    if isinstance(value, (list, ListConfig)):
        return [kind(item) for item in value]
    return [kind(value)] * layers


def hidden_activations(model) -> List[str]:
    return per_layer(model.activation, len(model.hidden_sizes), str)


def dropout_rates(model) -> List[float]:
    return per_layer(model.dropout, len(model.hidden_sizes), float)


def validate_activations(model, layers: int) -> None:
    """model.activation: a known name, or a list of `layers` names."""
    if isinstance(model.activation, (list, ListConfig)) and len(model.activation) != layers:
        raise ConfigError(
            f"model.activation has {len(model.activation)} names but model.hidden_sizes has {layers} layers. "
            f"Give one for all layers (model.activation=relu) or one per layer."
        )
    for position, name in enumerate(per_layer(model.activation, layers, str)):
        key = "model.activation" if isinstance(model.activation, str) else f"model.activation[{position}]"
        check_name(key, name, ACTIVATIONS)
    check_name("model.output_activation", model.output_activation, ("softmax",))


def validate_dropout(model, layers: int) -> None:
    if isinstance(model.dropout, (list, ListConfig)) and len(model.dropout) != layers:
        raise ConfigError(
            f"model.dropout has {len(model.dropout)} rates but model.hidden_sizes has {layers} layers. "
            f"Give one for all layers (model.dropout=0.2) or one per layer."
        )
    try:
        rates = per_layer(model.dropout, layers, float)
    except (TypeError, ValueError):
        raise ConfigError(f"model.dropout={model.dropout} must be a rate, or a list of rates, e.g. 0.2.") from None
    for position, rate in enumerate(rates):
        if not 0 <= rate < 1:
            raise ConfigError(f"model.dropout={model.dropout}: rate {rate} of layer {position + 1} must be in [0, 1).")


def validate_hidden_sizes(key: str, sizes, example: str) -> None:
    for position, size in enumerate(sizes):
        if size <= 0:
            raise ConfigError(f"{key}[{position}]={size} must be a positive number of units, for example {example}.")


def validate(model) -> None:
    example = "model.hidden_sizes=[256,128] (model.hidden_sizes=[] for none: the linear model)"
    validate_hidden_sizes("model.hidden_sizes", model.hidden_sizes, example)
    validate_activations(model, len(model.hidden_sizes))
    validate_dropout(model, len(model.hidden_sizes))
    if not model.hidden_sizes and (model.batch_norm or any(per_layer(model.dropout, 1, float))):
        raise ConfigError(  # both act on hidden layers only: the linear model would not have them
            f"model.hidden_sizes=[] (the linear model) has no hidden layer for model.dropout={model.dropout} or "
            f"model.batch_norm={model.batch_norm}: set model.dropout=0.0 model.batch_norm=false, or give hidden layers."
        )


def hidden_block(index: int, units: int, activation: str, dropout: float, config, dtype: str) -> list:
    """Dense (+ BatchNormalization) + activation (+ Dropout): one hidden layer, with stable layer names
    (checkpoints are keyed by them)."""
    import keras

    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    if not config.batch_norm:
        layers = [
            keras.layers.Dense(
                units, activation=activation, kernel_regularizer=regularizer, name=f"hidden_{index}", dtype=dtype
            )
        ]
    else:  # normalize the pre-activations; the normalization's beta makes the Dense bias redundant
        layers = [
            keras.layers.Dense(
                units, use_bias=False, kernel_regularizer=regularizer, name=f"hidden_{index}", dtype=dtype
            ),
            keras.layers.BatchNormalization(name=f"batch_norm_{index}", dtype=dtype),
            keras.layers.Activation(activation, name=f"activation_{index}", dtype=dtype),
        ]
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name=f"dropout_{index}", dtype=dtype))
    return layers


def hidden_stack(config, dtype: str) -> list:
    """The hidden blocks of `config.hidden_sizes` (also the head of model=cnn)."""
    layers = []
    blocks = zip(config.hidden_sizes, hidden_activations(config), dropout_rates(config))
    for index, (units, activation, dropout) in enumerate(blocks, start=1):
        layers += hidden_block(index, units, activation, dropout, config, dtype)
    return layers


def output_layer(config, num_classes: int):
    """The softmax over the classes, in float32 also under bfloat16 (so are the softmax and the loss)."""
    import keras

    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    return keras.layers.Dense(
        num_classes, activation=config.output_activation, kernel_regularizer=regularizer, name="output", dtype="float32"
    )


def build(config, shape, num_classes: int, dtype: str, standardize):
    """inputs -> [0, 1] or standardized -> flat -> hidden layers -> softmax over the classes."""
    import keras

    from fcbaseline.models.inputs import input_layers

    layers = [*input_layers(shape, standardize, dtype), keras.layers.Flatten(name="flatten", dtype=dtype)]
    layers += hidden_stack(config, dtype)
    return keras.Sequential([*layers, output_layer(config, num_classes)], name="mlp")


def describe(config, shape, num_classes: int) -> str:
    """'784-256-128-10 sigmoid' style name for plot titles and logs."""
    sizes = "-".join(str(size) for size in [math.prod(shape), *config.hidden_sizes, num_classes])
    if not config.hidden_sizes:
        return f"{sizes} linear (softmax regression)" + (f", l2 {config.l2}" if config.l2 else "")
    extras = [f"dropout {config.dropout}"] if any(dropout_rates(config)) else []
    extras += [f"l2 {config.l2}"] if config.l2 else []
    extras += ["batch norm"] if config.batch_norm else []
    return " ".join([sizes, "/".join(dict.fromkeys(hidden_activations(config))), *extras])
