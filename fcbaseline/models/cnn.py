"""`model=cnn`, the small reference CNN an MLP baseline is compared against, on the same data, with the
same training options and report: blocks of 3x3 convolution (same padding) -> activation -> 2x2 max
pooling, one block per entry of `filters`, then the MLP's head (models/mlp.py: `hidden_sizes` Dense
blocks with their dropout, L2 and batch norm) and the softmax. A reference, not a second product: it
takes images only (H x W, seen as one channel, or H x W x C)."""

import math
from dataclasses import dataclass, field
from typing import Any, List

from fcbaseline.errors import ConfigError
from fcbaseline.models import mlp
from fcbaseline.ranges import ranged


@dataclass
class CNNConfig:
    name: str = "cnn"
    filters: List[int] = field(default_factory=lambda: [32, 64, 128])  # one conv/pool block per entry
    kernel_size: int = ranged(3, 1, example="3")
    hidden_sizes: List[int] = field(default_factory=lambda: [128])  # the head's Dense layers
    activation: str = "relu"  # of the convolutions and the head layers
    output_activation: str = "softmax"
    dropout: Any = 0.0  # after each head layer: one rate, or a list
    l2: float = ranged(0.0, 0, example="1e-4")  # on every kernel, convolutions included
    batch_norm: bool = False  # in the head, as in model=mlp


def validate(model) -> None:
    if not model.filters:
        raise ConfigError("model.filters=[] has no convolution: give e.g. model.filters=[32,64], or use model=mlp.")
    mlp.validate_hidden_sizes("model.filters", model.filters, "model.filters=[32,64,128]")
    mlp.validate(model)


def check_inputs(config, shape, features: bool) -> None:
    """Images only, large enough for every pooling (once the data is read, before TensorFlow starts)."""
    pools = len(config.filters)
    if features or len(shape) not in (2, 3):
        kind = "feature vectors" if features else "samples"
        raise ConfigError(
            f"model=cnn takes images (H x W or H x W x C), and this dataset's {kind} are of shape "
            f"{tuple(shape)}: use model=mlp (or model=resmlp) for it."
        )
    if min(shape[:2]) < 2**pools:
        raise ConfigError(
            f"model=cnn: {pools} poolings halve {shape[0]}x{shape[1]} images below one pixel; give fewer "
            f"model.filters (at most {int(math.log2(min(shape[:2])))})."
        )


def build(config, shape, num_classes: int, dtype: str, standardize):
    import keras

    from fcbaseline.models.inputs import input_layers

    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    activation = str(config.activation)
    layers = input_layers(shape, None, dtype)
    if len(shape) == 2:
        layers.append(keras.layers.Reshape((*shape, 1), name="one_channel", dtype=dtype))
    for index, filters in enumerate(config.filters, start=1):
        layers += [
            keras.layers.Conv2D(
                filters,
                config.kernel_size,
                padding="same",
                activation=activation,
                kernel_regularizer=regularizer,
                name=f"conv_{index}",
                dtype=dtype,
            ),
            keras.layers.MaxPooling2D(2, name=f"pool_{index}", dtype=dtype),
        ]
    layers += [keras.layers.Flatten(name="flatten", dtype=dtype), *mlp.hidden_stack(config, dtype)]
    return keras.Sequential([*layers, mlp.output_layer(config, num_classes)], name="cnn")


def describe(config, shape, num_classes: int) -> str:
    """'CNN 32x32x3, conv 32-64-128 (3x3, max pool), head 128-10 relu' for titles and logs."""
    head = "-".join(str(size) for size in [*config.hidden_sizes, num_classes])
    extras = [f"dropout {config.dropout}"] if any(mlp.dropout_rates(config)) else []
    extras += [f"l2 {config.l2}"] if config.l2 else []
    convolutions = "-".join(str(filters) for filters in config.filters)
    size = "x".join(str(dimension) for dimension in shape)
    kernel = f"{config.kernel_size}x{config.kernel_size}"
    parts = [f"CNN {size}", f"conv {convolutions} ({kernel}, max pool)", f"head {head} {config.activation}"]
    return ", ".join(parts + extras)
