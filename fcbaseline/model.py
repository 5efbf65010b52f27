"""Build the Keras MLP from the model config: raw images in, hidden Dense blocks, a softmax out.

The model takes a dataset's raw images (uint8, original shape such as 28x28 or 32x32x3): scaling to
[0, 1] and flattening are its first layers, so a saved `model.keras` works on its own on raw images.
"""

import math

import keras

from fcbaseline.config.schema import dropout_rates, hidden_activations
from fcbaseline.data import PIXEL_MAX

# training.precision -> the Keras dtype policy of every layer but the output. mixed_bfloat16 computes in
# bfloat16 and keeps float32 variables (the master weights the optimizer updates); the output layer stays
# float32, so the softmax and the loss are computed in float32.
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def hidden_block(index: int, units: int, activation: str, dropout: float, config, dtype: str) -> list:
    """Dense (+ BatchNormalization) + activation (+ Dropout): one hidden layer, with stable layer names
    (checkpoints are keyed by them)."""
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


def build_model(config, image_shape, num_classes: int, precision: str = "float32") -> keras.Sequential:
    """uint8 images -> [0, 1] -> flat -> hidden layers of `config.hidden_sizes` -> softmax over the classes,
    the hidden layers computing in `precision` (PRECISIONS)."""
    dtype = PRECISIONS[precision]
    layers = [
        keras.Input(shape=tuple(image_shape), dtype="uint8", name="pixels"),
        keras.layers.Rescaling(1.0 / PIXEL_MAX, name="scale_to_unit_interval", dtype=dtype),
        keras.layers.Flatten(name="flatten", dtype=dtype),
    ]
    blocks = zip(config.hidden_sizes, hidden_activations(config), dropout_rates(config))
    for index, (units, activation, dropout) in enumerate(blocks, start=1):
        layers += hidden_block(index, units, activation, dropout, config, dtype)
    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    layers.append(
        keras.layers.Dense(
            num_classes,
            activation=config.output_activation,
            kernel_regularizer=regularizer,
            name="output",
            dtype="float32",
        )
    )
    return keras.Sequential(layers, name="mlp")


def compile_model(model, optimizer) -> None:
    """Attach the run's optimizer, loss and metric, so the saved file can `.evaluate()` and callbacks
    such as ReduceLROnPlateau find `model.optimizer`. Training itself runs in training/epoch.py's compiled epoch."""
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])


def describe(config, image_shape, num_classes: int) -> str:
    """'784-256-128-10 sigmoid' style name for plot titles and logs."""
    input_size = math.prod(image_shape)
    sizes = "-".join(str(size) for size in [input_size, *config.hidden_sizes, num_classes])
    extras = [f"dropout {config.dropout}"] if any(dropout_rates(config)) else []
    extras += [f"l2 {config.l2}"] if config.l2 else []
    extras += ["batch norm"] if config.batch_norm else []
    return " ".join([sizes, "/".join(dict.fromkeys(hidden_activations(config))), *extras])
