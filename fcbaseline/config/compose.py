"""The config `python -m fcbaseline <overrides>` would run, composed without the command line: for the
Python API (fcbaseline.run), `evaluate`, tests, benchmarks and notebooks."""

from typing import Sequence

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from fcbaseline.config.schema import config_dir, register_configs


def compose_config(overrides: Sequence[str] = (), return_hydra_config: bool = False) -> DictConfig:
    """The composed config (with its `hydra` node, launcher and sweeper included, when `return_hydra_config`)."""
    register_configs()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=return_hydra_config)
