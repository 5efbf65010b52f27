"""The typed config schema and the checks a run must pass before any data or TensorFlow is loaded.

The dataclasses are registered in Hydra's ConfigStore and used as the base of the YAML files in
`conf/`, so OmegaConf refuses an unknown key, a wrong type or a missing value while composing.
`validate` adds the checks a type cannot express (positive sizes, known names, list lengths).
"""

import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, List, Optional, Sequence

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf

# Names a hidden layer may use; each is a string `keras.layers.Dense(activation=...)` accepts.
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "silu", "softplus", "linear")


class ConfigError(ValueError):
    """A config value that cannot run; the message names the key and how to fix it."""


@dataclass
class RecipeConfig:
    hidden_sizes: List[int] = MISSING
    activation: Any = MISSING  # a name, or a list of names (OmegaConf 2.3 has no Union types)
    batch_size: int = MISSING


@dataclass
class DatasetConfig:
    name: str = MISSING
    data_dir: Optional[str] = None
    download: bool = True
    class_names: List[str] = MISSING  # [] for image_folder and arrays: the classes come from the data
    recipe: RecipeConfig = field(default_factory=RecipeConfig)
    file: Optional[str] = None  # arrays: the .npz file
    image_size: Optional[List[int]] = None  # image_folder: [height, width] to resize to
    color_mode: str = "rgb"  # image_folder: grayscale or rgb
    test_fraction: float = 0.2  # image_folder without train/ and test/: the held-out share
    split_seed: int = 0  # image_folder: the test split's seed (fixed, so seed sweeps share one test set)
    skip_bad_files: bool = False  # image_folder: leave unreadable images out instead of stopping


@dataclass
class ModelConfig:
    hidden_sizes: List[int] = MISSING
    activation: Any = MISSING
    output_activation: str = "softmax"
    dropout: Any = 0.0  # one rate for every hidden layer, or a list, one per layer
    l2: float = 0.0  # L2 penalty on every Dense kernel, added to the training loss
    batch_norm: bool = False  # BatchNormalization between each hidden Dense layer and its activation


# Keys that say where or how loudly a run works, not what it computes: a resumed sweep does not rerun a
# job for them (resume.sweep_decision), and trackers do not list them as hyper-parameters.
RESULT_FREE_KEYS = (
    "resume",
    "training.verbose",
    "training.threads",
    "training.progress_bar",
    "dataset.data_dir",
    "tracking",
)

# Learning-rate schedules by name; model.SCHEDULES builds them (Keras LearningRateSchedule objects,
# or the ReduceLROnPlateau callback for `plateau`).
SCHEDULES = ("constant", "step", "exponential", "cosine", "plateau")


@dataclass
class ScheduleConfig:
    name: str = "constant"
    decay_epochs: int = 10  # step: epochs between drops; exponential: epochs per factor
    factor: float = 0.5  # step, exponential, plateau: the learning rate is multiplied by this
    warmup_epochs: int = 0  # cosine: linear warm-up from 0 to optimizer.lr first
    final_lr_fraction: float = 0.0  # cosine: the last epoch's rate as a fraction of optimizer.lr
    monitor: str = "val_loss"  # plateau: the figure watched
    patience: int = 5  # plateau: epochs without improvement before a reduction
    min_lr: float = 0.0  # plateau: never below this


@dataclass
class SGDConfig:
    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


@dataclass
class AdamConfig:
    name: str = "adam"
    lr: float = 0.001
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


@dataclass
class AdamWConfig(AdamConfig):  # Adam's fields, and decoupled weight decay
    name: str = "adamw"
    weight_decay: float = 0.004


@dataclass
class RMSpropConfig:
    name: str = "rmsprop"
    lr: float = 0.001
    rho: float = 0.9
    momentum: float = 0.0
    epsilon: float = 1e-7
    centered: bool = False
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


# The optimizer registry's names; model.OPTIMIZERS maps the same names to Keras builders.
OPTIMIZER_SCHEMAS = {"sgd": SGDConfig, "adam": AdamConfig, "adamw": AdamWConfig, "rmsprop": RMSpropConfig}

# What a callback or a plateau schedule may watch: the figures each epoch's logs carry.
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")


@dataclass
class EarlyStoppingConfig:
    monitor: str = "val_loss"
    patience: int = 10
    min_delta: float = 0.0
    restore_best_weights: bool = True
    start_from_epoch: int = 0


@dataclass
class ModelCheckpointConfig:
    monitor: str = "val_accuracy"
    filename: str = "best_model.keras"


# The callback registry's names (callbacks.CALLBACKS builds them) and the typed block of each one's
# arguments in TrainingConfig.
CALLBACK_SCHEMAS = {"early_stopping": EarlyStoppingConfig, "model_checkpoint": ModelCheckpointConfig}


@dataclass
class TrainingConfig:
    epochs: int = 100
    batch_size: int = MISSING
    seed: int = 42
    validation: str = "auto"  # validation_mode: test for a single run, split in a sweep
    validation_fraction: float = 0.1
    verbose: bool = True
    threads: Optional[int] = None
    xla: Optional[bool] = None  # null: automatic (config.use_xla)
    precision: str = "float32"  # or bfloat16: hidden layers compute in bfloat16 (model.PRECISIONS)
    progress_bar: bool = True  # a live bar in a terminal (progress.wants_bar); log lines carry the ETA anyway
    callbacks: List[str] = field(default_factory=list)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    model_checkpoint: ModelCheckpointConfig = field(default_factory=ModelCheckpointConfig)


@dataclass
class MlflowConfig:
    enabled: bool = False
    tracking_uri: Optional[str] = None  # null: sqlite:///<working dir>/outputs/mlflow.db (tracking.default_uri)
    experiment: str = "fcbaseline"


@dataclass
class TrackingConfig:
    tensorboard: bool = True  # event files in <run dir>/tensorboard
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)


@dataclass
class Config:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: Any = MISSING
    training: TrainingConfig = field(default_factory=TrainingConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    resume: Optional[str] = None


def register_configs() -> None:
    """Store the schemas outside any config group, so `--help` lists only real choices."""
    config_store = ConfigStore.instance()
    config_store.store(name="base_config", node=Config)
    # Used by conf/config.yaml: resuming runs in the given directory and leaves its .hydra/ untouched.
    # (`resume=true` means "the directory given by hydra.run.dir / hydra.sweep.dir", set explicitly)
    OmegaConf.register_new_resolver(
        "resume_or", lambda resume, new: new if resume in (None, True, "true", "True") else resume, replace=True
    )
    OmegaConf.register_new_resolver("unless_resuming", lambda resume, value: None if resume else value, replace=True)
    for name, schema in OPTIMIZER_SCHEMAS.items():
        config_store.store(name=f"{name}_schema", node=schema)


def config_dir() -> str:
    """`conf/` beside the package in a clone; `fcbaseline/conf/` inside an installed wheel."""
    packaged = Path(__file__).parent / "conf"
    return str(packaged if packaged.is_dir() else Path(__file__).parent.parent / "conf")


def compose_config(overrides: Sequence[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """The config `python -m fcbaseline <overrides>` would run, for tests, benchmarks and notebooks
    (with its `hydra` node, launcher and sweeper included, when `return_hydra_config`)."""
    register_configs()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=return_hydra_config)


def _closest(value: str, choices) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def _check_name(key: str, value: Any, choices) -> None:
    if value not in choices:
        raise ConfigError(
            f"{key}={value!r} is not a known name.{_closest(value, choices)} Valid names: {', '.join(choices)}."
        )


def hidden_activations(model: DictConfig) -> List[str]:
    """One activation name per hidden layer, whether the config gave one name or a list."""
    activation = model.activation
    if isinstance(activation, (list, ListConfig)):
        return [str(name) for name in activation]
    return [str(activation)] * len(model.hidden_sizes)


def dropout_rates(model: DictConfig) -> List[float]:
    """One dropout rate per hidden layer, whether the config gave one rate or a list."""
    dropout = model.dropout
    if isinstance(dropout, (list, ListConfig)):
        return [float(rate) for rate in dropout]
    return [float(dropout)] * len(model.hidden_sizes)


def validate(config: DictConfig) -> None:
    """Refuse a composed config that type checks but cannot run."""
    from fcbaseline.data import DATASETS  # numpy only: no TensorFlow is imported here

    _check_name("dataset.name", config.dataset.name, list(DATASETS))
    _validate_dataset(config.dataset)
    _validate_model(config.model)
    _validate_optimizer(config.optimizer, config.training.epochs)
    for key in ("epochs", "batch_size"):
        if config.training[key] <= 0:
            raise ConfigError(f"training.{key}={config.training[key]} must be a positive integer.")
    if config.training.threads is not None and config.training.threads <= 0:
        raise ConfigError(f"training.threads={config.training.threads} must be a positive number of threads, or null.")
    _check_name("training.validation", config.training.validation, ("auto", "test", "split"))
    _check_name("training.precision", config.training.precision, ("float32", "bfloat16"))
    if not 0 < config.training.validation_fraction < 1:
        raise ConfigError(
            f"training.validation_fraction={config.training.validation_fraction} must be "
            f"between 0 and 1 (exclusive), for example 0.1."
        )
    _validate_callbacks(config.training)
    _validate_tracking(config.tracking)


def _validate_tracking(tracking: DictConfig) -> None:
    import importlib.util

    if tracking.mlflow.enabled and importlib.util.find_spec("mlflow") is None:
        raise ConfigError(
            "tracking=mlflow needs MLflow, which is not installed: pip install -e '.[mlflow]' (or "
            "pip install 'mlflow>=3.1,<4'), or track with TensorBoard only: tracking=tensorboard."
        )


def _validate_dataset(dataset: DictConfig) -> None:
    if dataset.name == "image_folder" and not dataset.data_dir:
        raise ConfigError(
            "dataset=image_folder needs dataset.data_dir=<folder> holding one subfolder of images per class "
            "(or train/ and test/ folders, each with one subfolder per class)."
        )
    if dataset.name == "arrays" and not dataset.file:
        raise ConfigError("dataset=arrays needs dataset.file=<path of an .npz with x_train, y_train, x_test, y_test>.")
    _check_name("dataset.color_mode", dataset.color_mode, ("grayscale", "rgb"))
    size = dataset.image_size
    if size is not None and (len(size) != 2 or min(size) <= 0):
        raise ConfigError(f"dataset.image_size={list(size)} must be [height, width] in pixels, e.g. [28,28].")
    if not 0 < dataset.test_fraction < 1:
        raise ConfigError(f"dataset.test_fraction={dataset.test_fraction} must be between 0 and 1, e.g. 0.2.")


def _validate_model(model: DictConfig) -> None:
    sizes = list(model.hidden_sizes)
    if not sizes:
        raise ConfigError(
            "model.hidden_sizes=[] has no hidden layer. Give at least one positive size, "
            "for example model.hidden_sizes=[256,128]."
        )
    for position, size in enumerate(sizes):
        if size <= 0:
            raise ConfigError(
                f"model.hidden_sizes[{position}]={size} must be a positive number of units, "
                f"for example model.hidden_sizes=[256,128]."
            )
    for key in ("activation", "dropout"):
        value = model[key]
        if isinstance(value, (list, ListConfig)) and len(value) != len(sizes):
            raise ConfigError(
                f"model.{key} has {len(value)} {'names' if key == 'activation' else 'rates'} but "
                f"model.hidden_sizes has {len(sizes)} layers. Give one for all layers "
                f"(model.{key}={'relu' if key == 'activation' else 0.2}) or one per layer."
            )
    for position, name in enumerate(hidden_activations(model)):
        key = "model.activation" if isinstance(model.activation, str) else f"model.activation[{position}]"
        _check_name(key, name, ACTIVATIONS)
    _check_name("model.output_activation", model.output_activation, ("softmax",))
    try:
        rates = dropout_rates(model)
    except (TypeError, ValueError):
        raise ConfigError(f"model.dropout={model.dropout} must be a rate, or a list of rates, e.g. 0.2.") from None
    for position, rate in enumerate(rates):
        if not 0 <= rate < 1:
            raise ConfigError(f"model.dropout={model.dropout}: rate {rate} of layer {position + 1} must be in [0, 1).")
    if model.l2 < 0:
        raise ConfigError(f"model.l2={model.l2} must be >= 0 (0 switches the L2 penalty off), e.g. model.l2=1e-4.")


def _validate_optimizer(optimizer: DictConfig, epochs: int) -> None:
    _check_name("optimizer.name", optimizer.name, list(OPTIMIZER_SCHEMAS))
    # `optimizer.name=adam` on top of `optimizer=sgd` would keep SGD's fields under Adam's name
    expected = {item.name for item in fields(OPTIMIZER_SCHEMAS[optimizer.name])}
    if set(optimizer.keys()) != expected:
        raise ConfigError(
            f"optimizer.name={optimizer.name} does not match the chosen optimizer config, whose fields are "
            f"{', '.join(sorted(optimizer.keys()))}. Choose the optimizer with its group instead: "
            f"optimizer={optimizer.name} (it brings its own fields and defaults)."
        )
    if not optimizer.lr > 0:
        raise ConfigError(f"optimizer.lr={optimizer.lr} must be > 0, for example optimizer.lr=0.01.")
    schedule = optimizer.schedule
    _check_name("optimizer.schedule.name", schedule.name, SCHEDULES)
    if schedule.name in ("step", "exponential", "plateau") and not 0 < schedule.factor < 1:
        raise ConfigError(f"optimizer.schedule.factor={schedule.factor} must be between 0 and 1, e.g. 0.5.")
    if schedule.name in ("step", "exponential") and schedule.decay_epochs <= 0:
        raise ConfigError(f"optimizer.schedule.decay_epochs={schedule.decay_epochs} must be a positive integer.")
    if schedule.name == "cosine" and not 0 <= schedule.warmup_epochs < epochs:
        raise ConfigError(
            f"optimizer.schedule.warmup_epochs={schedule.warmup_epochs} must be at least 0 and fewer than "
            f"training.epochs={epochs}."
        )
    if schedule.name == "cosine" and not 0 <= schedule.final_lr_fraction <= 1:
        raise ConfigError(f"optimizer.schedule.final_lr_fraction={schedule.final_lr_fraction} must be in [0, 1].")
    if schedule.name == "plateau":
        _check_name("optimizer.schedule.monitor", schedule.monitor, MONITORS)
        if schedule.patience < 0:
            raise ConfigError(f"optimizer.schedule.patience={schedule.patience} must be >= 0.")


def _validate_callbacks(training: DictConfig) -> None:
    for position, name in enumerate(training.callbacks):
        _check_name(f"training.callbacks[{position}]", name, list(CALLBACK_SCHEMAS))
    for name, schema in CALLBACK_SCHEMAS.items():
        _check_name(f"training.{name}.monitor", training[name].monitor, MONITORS)
        changed = [item.name for item in fields(schema) if training[name][item.name] != getattr(schema(), item.name)]
        if changed and name not in training.callbacks:  # arguments that would silently do nothing
            raise ConfigError(
                f"training.{name}.{changed[0]} is set, but '{name}' is not in training.callbacks, so it would "
                f"have no effect. Add it: 'training.callbacks=[{', '.join([*training.callbacks, name])}]'."
            )
    stopping = training.early_stopping
    if stopping.patience < 0 or stopping.start_from_epoch < 0:
        raise ConfigError("training.early_stopping.patience and .start_from_epoch must be >= 0.")


def validation_mode(setting: str, in_sweep: bool) -> str:
    """What a run validates on: `auto` is the test set for a single run (the recipes, as the original
    tutorials do) and a split of the training set in a sweep, whose ranking chooses a configuration and
    so must never see the test set; `test` and `split` are taken as said."""
    if setting != "auto":
        return setting
    return "split" if in_sweep else "test"


def use_xla(setting: Optional[bool], draws_random_numbers: bool) -> bool:
    """Compile each training step with XLA? An explicit true/false wins; automatically, yes unless the
    model draws random numbers in training: XLA's random-bit generator on CPU made an MNIST epoch with
    dropout 10x slower (7 s instead of 0.7 s), while plain TensorFlow adds 0.15 s (benchmarks/README.md)."""
    if setting is not None:
        return bool(setting)
    return not draws_random_numbers


def check_overrides(overrides: Sequence[str]) -> None:
    """Refuse command-line overrides that contradict a group choice (`dataset.name=...` on `dataset=mnist`
    would train on one dataset with the class names of another)."""
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key == "dataset.name":
            value = override.split("=", 1)[1] if "=" in override else ""
            raise ConfigError(
                f"{override}: the dataset is chosen by its config group, which also brings its class names "
                f"and recipe. Use dataset={value or '<name>'} instead of dataset.name={value or '<name>'}."
            )
