"""The user's own config files (`--config-dir`/`-cd`, `--config-path`/`-cp`, `hydra.searchpath=
[file://...]`), read through the guarded reader before Hydra composes: a YAML syntax error is one
paragraph naming the file, line and column (exit 2), not PyYAML's traceback from inside Hydra. Hidden
and vendored folders (.git, .venv, node_modules, ...) are not Hydra's configs and are left alone; a file
that cannot be opened is left to Hydra, which names it if it needs it."""

import re
from pathlib import Path
from typing import List, Sequence

from fcbaseline.reading import read_yaml_mapping

VENDORED = {"__pycache__", "node_modules", "site-packages", "venv"}
FIX = "Fix the file's YAML (indentation, a missing ':' or quote), or leave the folder out of the command."


def user_config_dirs(arguments: Sequence[str]) -> List[Path]:
    """The folders the command line adds to Hydra's config search path."""
    folders, arguments = [], list(arguments)
    for position, argument in enumerate(arguments):
        if argument in ("--config-dir", "-cd", "--config-path", "-cp") and position + 1 < len(arguments):
            folders.append(arguments[position + 1])
        elif argument.startswith(("--config-dir=", "--config-path=")):
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
                inside = path.relative_to(folder).parts[:-1]
                if any(part.startswith(".") or part in VENDORED for part in inside) or not path.is_file():
                    continue
                read_yaml_mapping(path, "a config file", FIX)
