"""Valid ranges declared where each numeric field is declared (`ranged(...)` in the schema dataclasses),
and one walk over a composed config that refuses an unknown key (also one added with `+key=value`) and
a value outside its range, NaN or infinity included, before any data or TensorFlow is loaded. Its own
module, like errors.py, so that the schemas in config/, components/ and data/ can all use it."""

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Optional

from omegaconf import DictConfig

from fcbaseline.errors import ConfigError, closest

SEED_MAX = 2**32 - 1  # NumPy's and TensorFlow's seeds (keras.utils.set_random_seed) are 32-bit


@dataclass(frozen=True)
class Range:
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False  # the bound itself is outside the range
    high_open: bool = False
    example: str = ""  # a valid value, for the message

    def holds(self, value) -> bool:
        if not math.isfinite(value):
            return False
        above = self.low is None or value > self.low or (value == self.low and not self.low_open)
        below = self.high is None or value < self.high or (value == self.high and not self.high_open)
        return above and below

    def describe(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"


def ranged(default, low=None, high=None, *, low_open=False, high_open=False, example=""):
    """A schema field with its default and its valid range."""
    return field(default=default, metadata={"range": Range(low, high, low_open, high_open, example)})


def check_schema(node: DictConfig, schema, prefix: str = "", ranges: bool = True) -> None:
    """Refuse keys `schema` (a dataclass) does not have and, with `ranges`, values outside their declared
    ranges, in `node` and its nested blocks; `prefix` names the node in messages (`training`)."""
    known = {item.name: item for item in fields(schema)}
    for key in node.keys():
        if key not in known:
            where = f"{prefix}.{key}" if prefix else key
            raise ConfigError(
                f"{where} is not a config key.{closest(key, known)} {prefix or 'The config'} has: "
                f"{', '.join(known)}. Remove the override that adds it (+{where}=...), or correct its name."
            )
    for name, item in known.items():
        value, key = node.get(name), f"{prefix}.{name}" if prefix else name
        nested = item.default_factory if callable(item.default_factory) else None
        if isinstance(value, DictConfig) and nested is not None and is_dataclass(nested):
            check_schema(value, nested, key, ranges)
        if ranges:
            check_value(key, value, item.metadata.get("range"))


def check_value(key: str, value, allowed: Optional[Range]) -> None:
    if allowed is None or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not allowed.holds(value):
        example = f" For example {key}={allowed.example}." if allowed.example else ""
        number = "a finite number" if isinstance(value, float) else "a whole number"
        raise ConfigError(f"{key}={value} is out of range: it must be {number} {allowed.describe()}.{example}")
