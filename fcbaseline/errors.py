"""The two errors a user can fix: a config that cannot run (exit 2) and a file that cannot be read as what
it should be (exit 1), and the name check the config checks share (with a "did you mean").

Its own module, imported by config/, components/, data/ and reading.py alike without importing any of them."""

import difflib
from typing import Any


class ConfigError(ValueError):
    """A config value that cannot run; the message names the key and how to fix it."""


class DataError(RuntimeError):
    """Data, or a run's own file, that cannot be found or read; the message names the file and the fix."""


def closest(value: str, choices) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def check_name(key: str, value: Any, choices) -> None:
    """Refuse a name that is not one of `choices`, suggesting the closest."""
    if value not in choices:
        raise ConfigError(
            f"{key}={value!r} is not a known name.{closest(value, choices)} Valid names: {', '.join(choices)}."
        )


def check_group_name(group: str, block, registry: dict) -> None:
    """`block.name` is one of `registry` (name -> entry with a `schema` dataclass) and the block has that
    schema's fields: `optimizer.name=adam` on top of `optimizer=sgd` would keep SGD's fields under Adam's name."""
    from dataclasses import fields

    check_name(f"{group}.name", block.get("name"), list(registry))
    expected = {item.name for item in fields(registry[block.name].schema)}
    if set(block.keys()) != expected:
        raise ConfigError(
            f"{group}.name={block.name} does not match the chosen {group} config, whose fields are "
            f"{', '.join(sorted(block.keys()))}. Choose the {group} with its group instead: {group}={block.name} "
            f"(it brings its own fields and defaults)."
        )
