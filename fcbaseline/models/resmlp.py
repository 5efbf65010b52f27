"""`model=resmlp`, a residual MLP: only fully-connected layers, no convolution. The flattened input is
embedded by a Dense layer of `width` units; each of `depth` blocks adds to it

    Dense(width) <- Dropout <- activation <- Dense(width * expansion) <- LayerNorm

(pre-norm, an inverted bottleneck, as in Bachmann, Anagnostidis and Hofmann, "Scaling MLPs: A Tale of
Inductive Bias", NeurIPS 2023); a final LayerNorm, then the softmax. The residual connections let a deep
stack train where a plain one of the same depth would not."""

import math
from dataclasses import dataclass

from fcbaseline.errors import ConfigError
from fcbaseline.models import mlp
from fcbaseline.ranges import ranged


@dataclass
class ResMLPConfig:
    name: str = "resmlp"
    width: int = ranged(512, 1, example="512")  # units of the embedding and of each block's output
    depth: int = ranged(4, 0, example="4")  # residual blocks
    expansion: int = ranged(4, 1, example="4")  # each block's hidden layer has width * expansion units
    activation: str = "gelu"  # one of models/mlp.py ACTIVATIONS
    output_activation: str = "softmax"
    dropout: float = ranged(0.0, 0, 1, high_open=True, example="0.1")  # in each block, before its last Dense
    l2: float = ranged(0.0, 0, example="1e-4")  # L2 penalty on every Dense kernel


def validate(model) -> None:
    mlp.validate_activations(model, 1)
    if isinstance(model.dropout, (list, tuple)) or not 0 <= model.dropout < 1:
        raise ConfigError(f"model.dropout={model.dropout} must be one rate in [0, 1) for model=resmlp, e.g. 0.1.")


def dense(config, units: int, name: str, dtype: str, activation=None):
    import keras

    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    return keras.layers.Dense(units, activation=activation, kernel_regularizer=regularizer, name=name, dtype=dtype)


def build(config, shape, num_classes: int, dtype: str, standardize):
    import keras

    from fcbaseline.models.inputs import input_layers

    inputs, scale = input_layers(shape, standardize, dtype)
    x = keras.layers.Flatten(name="flatten", dtype=dtype)(scale(inputs))
    x = dense(config, config.width, "embed", dtype)(x)
    for index in range(1, config.depth + 1):
        h = keras.layers.LayerNormalization(name=f"block_{index}_norm", dtype=dtype)(x)
        h = dense(config, config.width * config.expansion, f"block_{index}_expand", dtype, config.activation)(h)
        if config.dropout:
            h = keras.layers.Dropout(config.dropout, name=f"block_{index}_dropout", dtype=dtype)(h)
        h = dense(config, config.width, f"block_{index}_project", dtype)(h)
        x = keras.layers.Add(name=f"block_{index}_residual", dtype=dtype)([x, h])
    x = keras.layers.LayerNormalization(name="final_norm", dtype=dtype)(x)
    return keras.Model(inputs, mlp.output_layer(config, num_classes)(x), name="resmlp")


def describe(config, shape, num_classes: int) -> str:
    """'residual MLP 3072-512-10, 4 blocks of 512-2048-512 gelu' for titles and logs."""
    extras = [f"dropout {config.dropout}"] if config.dropout else []
    extras += [f"l2 {config.l2}"] if config.l2 else []
    size = math.prod(shape)
    blocks = f"{config.depth} blocks of {config.width}-{config.width * config.expansion}-{config.width}"
    return ", ".join([f"residual MLP {size}-{config.width}-{num_classes}", f"{blocks} {config.activation}", *extras])
