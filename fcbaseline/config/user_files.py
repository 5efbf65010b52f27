"""The user's own config files (`--config-dir`, `-cd`, `hydra.searchpath=[file://...]`), read through the
guarded reader before Hydra composes: a YAML syntax error is one paragraph naming the file, line and
column (exit 2), not PyYAML's traceback from inside Hydra."""

import re
from pathlib import Path
from typing import List, Sequence

from fcbaseline.reading import read_yaml_mapping

FIX = "Fix the file's YAML (indentation, a missing ':' or quote), or leave the folder out of the command."


def user_config_dirs(arguments: Sequence[str]) -> List[Path]:
    """The folders the command line adds to Hydra's config search path."""
    folders, arguments = [], list(arguments)
    for position, argument in enumerate(arguments):
        if argument in ("--config-dir", "-cd") and position + 1 < len(arguments):
            folders.append(arguments[position + 1])
        elif argument.startswith("--config-dir="):
            folders.append(argument.split("=", 1)[1])
        elif argument.lstrip("+").startswith("hydra.searchpath="):
            folders += re.findall(r"file://([^,\]\s'\"]+)", argument)
    return [Path(folder).expanduser() for folder in folders]


def check_user_config_files(arguments: Sequence[str]) -> None:
    """Read every .yaml file under the user's config folders; ConfigError for the first that is not a
    YAML mapping. Hydra itself reports a folder that does not exist."""
    for folder in user_config_dirs(arguments):
        if folder.is_dir():
            for path in sorted(folder.rglob("*.yaml")):
                read_yaml_mapping(path, "a config file", FIX)
