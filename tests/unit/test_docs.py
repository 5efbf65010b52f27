"""Every `python -m fcbaseline ...` command shown in README.md and docs/*.md composes with today's configs
and passes validation, so the documentation cannot drift from the code. Placeholders such as
`<sweep dir>` become a dummy value; each value of a sweep (the bounds of a search's interval) is tried,
the other sweeps at their first value. Commands on finished runs (evaluate, predict, summarize) are not
Hydra runs and are left out."""

import functools
import re
import shlex
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep

from fcbaseline.config import check_overrides, compose_config, validate

REPOSITORY = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
COMMAND = re.compile(r"(?:^|\s|`)((?:[A-Z_]+=\S+\s+)*python -m fcbaseline(?:\s[^`\n]*)?)")
FLAGS = {"-m", "--multirun", "--resolve"}
NOT_HYDRA = ("evaluate", "predict", "summarize", "--help", "-h", "--hydra-help")


def documented_commands():
    """(document, line number, command) for each command in a code block or an inline code span."""
    found = []
    for document in DOCUMENTS:
        in_block = False
        for number, line in enumerate(document.read_text().splitlines(), start=1):
            if line.strip().startswith("```"):
                in_block = not in_block
                continue
            spans = [line] if in_block else re.findall(r"`([^`]*python -m fcbaseline[^`]*)`", line)
            for span in spans:
                for match in COMMAND.finditer(span):
                    found.append((document.name, number, match.group(1).strip()))
    return found


def variants_of(command: str):
    """The override lists a command gives Hydra: every value of each sweep (the bounds of an interval), the
    other sweeps at their first value; None for a command that is not a run (evaluate, --help...)."""
    command = re.sub(r"<[^<>]*>", "placeholder", command)
    words = shlex.split(command, comments=True)
    words = words[words.index("fcbaseline") + 1 :]
    if words and words[0] in NOT_HYDRA:
        return None
    if "--cfg" in words:
        del words[words.index("--cfg") : words.index("--cfg") + 2]
    parsed = OverridesParser.create().parse_overrides([word for word in words if word not in FLAGS])
    choices = [values_of(override) for override in parsed]
    first = [values[0] for values in choices]
    variants = [first]
    for position, values in enumerate(choices):
        variants += [first[:position] + [value] + first[position + 1 :] for value in values[1:]]
    return variants


def values_of(override) -> list:
    """`key=value` for each value an override can take."""
    if not override.is_sweep_override():
        return [override.input_line]
    key = override.get_key_element()
    if isinstance(override.value(), IntervalSweep):
        return [f"{key}={override.value().start}", f"{key}={override.value().end}"]
    return [f"{key}={value}" for value in override.sweep_string_iterator()]


COMMANDS = [(name, line, command) for name, line, command in documented_commands() if variants_of(command)]


def test_the_documentation_shows_commands():
    assert len(COMMANDS) >= 40  # README and docs/ are full of them: a broken extraction finds few
    assert any(name == "README.md" for name, _, _ in COMMANDS)


@pytest.mark.parametrize("document, line, command", COMMANDS, ids=[f"{d}:{n}" for d, n, _ in COMMANDS])
def test_documented_command_composes_and_validates(document, line, command):
    for overrides in variants_of(command):
        composes_and_validates(tuple(overrides))


@functools.lru_cache(maxsize=None)
def composes_and_validates(overrides: tuple) -> None:
    """Once per distinct override list: README and docs/ show some commands twice."""
    check_overrides(overrides)  # as the Hydra task does before validating
    validate(compose_config(list(overrides), return_hydra_config=True))


def test_every_value_of_a_documented_sweep_is_tried():
    [variants] = [variants_of("python -m fcbaseline -m 'model.dropout=0.1,0.3' 'optimizer=sgd,adam' x.y=1")]
    assert variants == [
        ["model.dropout=0.1", "optimizer=sgd", "x.y=1"],
        ["model.dropout=0.3", "optimizer=sgd", "x.y=1"],
        ["model.dropout=0.1", "optimizer=adam", "x.y=1"],
    ]
    [search] = [variants_of("python -m fcbaseline -m 'optimizer.lr=tag(log, interval(0.01, 0.5))' resume=<dir>")]
    assert search == [["optimizer.lr=0.01", "resume=placeholder"], ["optimizer.lr=0.5", "resume=placeholder"]]
    assert variants_of("python -m fcbaseline evaluate outputs/runs/x dataset=digits") is None
    assert variants_of("python -m fcbaseline --help") is None
