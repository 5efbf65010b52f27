"""The typed config schema and the checks a run must pass before any data or TensorFlow is loaded.

The dataclasses are registered in Hydra's ConfigStore and used as the base of the YAML files in
`conf/`, so OmegaConf refuses an unknown key, a wrong type or a missing value while composing.
`validate` adds the checks a type cannot express (positive sizes, known names, list lengths).
"""

import difflib
from dataclasses import dataclass, field
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
    class_names: List[str] = MISSING
    recipe: RecipeConfig = field(default_factory=RecipeConfig)


@dataclass
class ModelConfig:
    hidden_sizes: List[int] = MISSING
    activation: Any = MISSING
    output_activation: str = "softmax"


@dataclass
class SGDConfig:
    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False


@dataclass
class AdamConfig:
    name: str = "adam"
    lr: float = 0.001
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7


# The optimizer registry's names; model.OPTIMIZERS maps the same names to Keras builders.
OPTIMIZER_SCHEMAS = {"sgd": SGDConfig, "adam": AdamConfig}


@dataclass
class TrainingConfig:
    epochs: int = 100
    batch_size: int = MISSING
    seed: int = 42
    validation: str = "test"
    validation_fraction: float = 0.1
    verbose: bool = True
    threads: Optional[int] = None
    xla: bool = True


@dataclass
class Config:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: Any = MISSING
    training: TrainingConfig = field(default_factory=TrainingConfig)
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


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The config `python -m fcbaseline <overrides>` would run, for tests, benchmarks and notebooks."""
    register_configs()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


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


def validate(config: DictConfig) -> None:
    """Refuse a composed config that type checks but cannot run."""
    from fcbaseline.data import DATASETS  # numpy only: no TensorFlow is imported here

    _check_name("dataset.name", config.dataset.name, list(DATASETS))
    sizes = list(config.model.hidden_sizes)
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
    activation = config.model.activation
    if isinstance(activation, (list, ListConfig)) and len(activation) != len(sizes):
        raise ConfigError(
            f"model.activation has {len(activation)} names but model.hidden_sizes has {len(sizes)} "
            f"layers. Give one name for all layers (model.activation=relu) or one per layer."
        )
    for position, name in enumerate(hidden_activations(config.model)):
        key = "model.activation" if isinstance(activation, str) else f"model.activation[{position}]"
        _check_name(key, name, ACTIVATIONS)
    _check_name("model.output_activation", config.model.output_activation, ("softmax",))
    _check_name("optimizer.name", config.optimizer.name, list(OPTIMIZER_SCHEMAS))
    if not config.optimizer.lr > 0:
        raise ConfigError(f"optimizer.lr={config.optimizer.lr} must be > 0, for example optimizer.lr=0.01.")
    for key in ("epochs", "batch_size"):
        if config.training[key] <= 0:
            raise ConfigError(f"training.{key}={config.training[key]} must be a positive integer.")
    if config.training.threads is not None and config.training.threads <= 0:
        raise ConfigError(f"training.threads={config.training.threads} must be a positive number of threads, or null.")
    _check_name("training.validation", config.training.validation, ("test", "split"))
    if not 0 < config.training.validation_fraction < 1:
        raise ConfigError(
            f"training.validation_fraction={config.training.validation_fraction} must be "
            f"between 0 and 1 (exclusive), for example 0.1."
        )
