"""The typed config schema: dataclasses registered in Hydra's ConfigStore and used as the base of the
YAML files in conf/, so OmegaConf refuses an unknown key, a wrong type or a missing value while
composing. The model, optimizer, schedule, callback and dataset blocks are defined beside their builders
(models/, components/, data/registry.py) and gathered here."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from fcbaseline.components.callbacks import EarlyStoppingConfig, ModelCheckpointConfig
from fcbaseline.components.optimizers import OPTIMIZERS
from fcbaseline.data.registry import DatasetConfig
from fcbaseline.models import MODELS
from fcbaseline.ranges import SEED_MAX, ranged


@dataclass
class TrainingConfig:
    epochs: int = ranged(100, 1, example="20")
    batch_size: int = ranged(MISSING, 1, example="128")
    seed: int = ranged(42, 0, SEED_MAX, example="42")  # NumPy's and TensorFlow's range
    validation: str = "auto"  # data/splits.validation_mode: test for a single run, split in a sweep
    validation_fraction: float = ranged(0.1, 0, 1, low_open=True, high_open=True, example="0.1")
    folds: int = ranged(5, 2, example="5")  # validation=kfold: stratified folds of the training set
    fold: int = ranged(0, 0, example="0")  # validation=kfold: the fold validated on (the others train)
    fold_seed: int = ranged(0, 0, SEED_MAX, example="0")  # draws the folds, the same in every fold's job
    verbose: bool = True
    threads: Optional[int] = ranged(None, 1, example="2")
    xla: Optional[bool] = None  # null: automatic (training/epoch.use_xla)
    precision: str = "float32"  # or bfloat16: hidden layers compute in bfloat16 (model.PRECISIONS)
    progress_bar: bool = True  # a live bar in a terminal (progress.wants_bar); log lines carry the ETA anyway
    callbacks: List[str] = field(default_factory=list)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    model_checkpoint: ModelCheckpointConfig = field(default_factory=ModelCheckpointConfig)


@dataclass
class MlflowConfig:
    enabled: bool = False
    tracking_uri: Optional[str] = None  # null: $MLFLOW_TRACKING_URI, else outputs/mlflow.db (tracking/__init__.py)
    experiment: Optional[str] = None  # null: $MLFLOW_EXPERIMENT_NAME, else $MLFLOW_EXPERIMENT_ID, else fcbaseline
    log_model: bool = True  # each completed run's model as an MLflow Keras model (tracking/mlflow_model.py)
    register_as: Optional[str] = None  # a registered model's name: each completed run's model a new version


@dataclass
class TrackingConfig:
    tensorboard: bool = True  # event files in <run dir>/tensorboard
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)


@dataclass
class Config:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: Any = MISSING  # typed by the chosen model's own schema (models/: MODELS)
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
    for name, optimizer in OPTIMIZERS.items():
        config_store.store(name=f"{name}_schema", node=optimizer.schema)
    for name, model in MODELS.items():
        config_store.store(name=f"{name}_schema", node=model.schema)


def config_dir() -> str:
    """`conf/` beside the package in a clone; `fcbaseline/conf/` inside an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "conf"
    return str(packaged if packaged.is_dir() else package.parent / "conf")
