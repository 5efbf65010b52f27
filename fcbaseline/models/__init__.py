"""Models by name (`model=mlp|resmlp|cnn`): each one's typed schema, checks, Keras builder and one-line
description in its own module, gathered in MODELS. conf/model/<name>.yaml starts from `<name>_schema`
(config/schema.py stores them), so a key of one model given to another is refused while composing.

Every model takes the dataset's samples raw (models/inputs.py: uint8 images scaled to [0, 1], float
feature vectors standardized with the training split's statistics), so a saved `model.keras` stands alone."""

from dataclasses import dataclass
from typing import Callable, Dict, Optional

from fcbaseline.errors import ConfigError, check_group_name
from fcbaseline.models import cnn, mlp, resmlp

# training.precision -> the Keras dtype policy of every layer but the output. mixed_bfloat16 computes in
# bfloat16 and keeps float32 variables (the master weights the optimizer updates); the output layer stays
# float32, so the softmax and the loss are computed in float32.
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


@dataclass(frozen=True)
class Model:
    schema: type
    validate: Callable
    build: Callable  # (config, sample shape, classes, dtype policy, standardize) -> keras.Model
    describe: Callable  # (config, sample shape, classes) -> str
    check_inputs: Callable = lambda config, shape, features: None  # refuses data it cannot take (ConfigError)
    xla: bool = True  # whether its training step compiles with XLA (deterministically)


MODELS: Dict[str, Model] = {
    "mlp": Model(mlp.MLPConfig, mlp.validate, mlp.build, mlp.describe),
    "resmlp": Model(resmlp.ResMLPConfig, resmlp.validate, resmlp.build, resmlp.describe),
    # XLA has no deterministic gradient of max pooling: the CNN trains without it (training/epoch.use_xla)
    "cnn": Model(cnn.CNNConfig, cnn.validate, cnn.build, cnn.describe, cnn.check_inputs, xla=False),
}


def validate(config, xla) -> None:
    """The model block, and training.xla=`xla` against what the model can compile."""
    check_group_name("model", config, MODELS)
    MODELS[config.name].validate(config)
    if xla and not MODELS[config.name].xla:
        raise ConfigError(
            f"training.xla=true: model={config.name}'s max pooling has no deterministic XLA gradient, and "
            f"fcbaseline trains deterministically. Leave training.xla=null (automatic) or set it to false."
        )


def check_inputs(config, shape, features: bool) -> None:
    """Refuse data the model cannot take (model=cnn on feature vectors), once the data is read."""
    MODELS[config.name].check_inputs(config, tuple(shape), features)


def build_model(config, shape, num_classes: int, precision: str = "float32", standardize: Optional[tuple] = None):
    """The model `config` names for samples of `shape` and `num_classes` classes, its hidden layers
    computing in `precision` (PRECISIONS); `standardize` = (mean, variance) of the training split for
    feature vectors (models/inputs.feature_statistics), None for uint8 images."""
    from fcbaseline.models.inputs import set_statistics

    if config.name not in MODELS:
        raise ConfigError(f"model.name={config.name!r} is not one of {', '.join(MODELS)}.")
    model = MODELS[config.name].build(config, tuple(shape), num_classes, PRECISIONS[precision], standardize)
    set_statistics(model, standardize)
    return model


def describe(config, shape, num_classes: int) -> str:
    return MODELS[config.name].describe(config, tuple(shape), num_classes)


def compile_model(model, optimizer) -> None:
    """Attach the run's optimizer, loss and metric, so the saved file can `.evaluate()` and callbacks
    such as ReduceLROnPlateau find `model.optimizer`. Training itself runs in training/epoch.py's compiled epoch."""
    import keras

    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
