"""The config: the typed schema (schema.py), the checks a type cannot express (validate.py), which keys
change results (keys.py), and composition without the command line (compose.py)."""

from fcbaseline.config.compose import compose_config
from fcbaseline.config.schema import config_dir, register_configs
from fcbaseline.config.validate import check_overrides, validate
from fcbaseline.errors import ConfigError
from fcbaseline.models.mlp import dropout_rates, hidden_activations

__all__ = [
    "ConfigError",
    "check_overrides",
    "compose_config",
    "config_dir",
    "dropout_rates",
    "hidden_activations",
    "register_configs",
    "validate",
]
