"""Build the Keras MLP and its optimizer from the model and optimizer configs, through name registries."""

import keras

from fcbaseline.config import hidden_activations


def build_sgd(config) -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(learning_rate=config.lr, momentum=config.momentum, nesterov=config.nesterov)


def build_adam(config) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(
        learning_rate=config.lr, beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon
    )


# optimizer.name -> builder; the same names as config.OPTIMIZER_SCHEMAS, which types their fields.
OPTIMIZERS = {"sgd": build_sgd, "adam": build_adam}


def build_model(config, input_dim: int, num_classes: int) -> keras.Sequential:
    """Dense layers of `config.hidden_sizes`, then a softmax layer with one unit per class."""
    layers = [keras.Input(shape=(input_dim,), name="pixels")]
    for index, (units, activation) in enumerate(zip(config.hidden_sizes, hidden_activations(config)), start=1):
        layers.append(keras.layers.Dense(units, activation=activation, name=f"hidden_{index}"))
    layers.append(keras.layers.Dense(num_classes, activation=config.output_activation, name="output"))
    return keras.Sequential(layers, name="mlp")


def describe(config, input_dim: int, num_classes: int) -> str:
    """'784-256-128-10 sigmoid' style name for plot titles and logs."""
    sizes = "-".join(str(size) for size in [input_dim, *config.hidden_sizes, num_classes])
    return f"{sizes} {'/'.join(dict.fromkeys(hidden_activations(config)))}"
