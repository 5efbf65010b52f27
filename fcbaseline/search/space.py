"""The search space of an Optuna search, written in Hydra's override grammar (as hydra.sweeper.params in
conf/hparams_search/*.yaml, or on the command line): choice(...) -> a categorical parameter,
interval(a, b) -> a float (Hydra's intervals are floats), tag(log, interval(a, b)) -> on a log scale,
range(a, b[, step]) -> an int with that step (b excluded, as in Python); anything else is a fixed
override given to every trial. Pure: Optuna's distribution classes, nothing run."""

from typing import Dict, List, Tuple

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Transformer

from fcbaseline.errors import ConfigError


class SearchSpaceError(ConfigError):
    """A search-space entry Optuna cannot sample."""


def distribution(override: Override):
    """The Optuna distribution of one sweep override (`key=choice(...)`, `interval`, `range`)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    value = override.value()
    if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    if isinstance(value, RangeSweep):
        if any(isinstance(bound, float) for bound in (value.start, value.stop, value.step)):
            raise SearchSpaceError(
                f"{override.input_line}: Optuna samples integer ranges only; use interval(a, b) for a float."
            )
        last = value.stop - 1 if value.step > 0 else value.stop  # range(a, b) excludes b, as Python's does
        return IntDistribution(int(value.start), int(last - (last - value.start) % value.step), step=int(value.step))
    if isinstance(value, IntervalSweep):
        if not value.start < value.end:
            raise SearchSpaceError(f"{override.input_line}: interval(low, high) needs low < high.")
        if "log" in value.tags and value.start <= 0:
            raise SearchSpaceError(f"{override.input_line}: a log interval needs a positive low bound.")
        return FloatDistribution(float(value.start), float(value.end), log="log" in value.tags)
    raise SearchSpaceError(f"{override.input_line}: Optuna cannot sample a {type(value).__name__}.")


def search_space(params: Dict[str, str], arguments: List[str]) -> Tuple[dict, List[str]]:
    """(name -> Optuna distribution, the fixed overrides every trial gets) from the config's `params` and
    the command line's overrides; the command line wins for a key given in both."""
    lines = [f"{key}={value}" for key, value in (params or {}).items()]
    parsed = OverridesParser.create().parse_overrides(lines + list(arguments))
    distributions, fixed = {}, {}
    for override in parsed:
        key = override.get_key_element()
        distributions.pop(key, None), fixed.pop(key, None)
        if override.is_sweep_override():
            distributions[key] = distribution(override)
        else:
            fixed[key] = override.input_line
    return distributions, list(fixed.values())


def as_override(name: str, value) -> str:
    """A sampled value as the override a job gets: floats in full precision, so a resumed trial gets the
    very same config; categorical values are already in the override grammar."""
    return f"{name}={value!r}" if isinstance(value, float) else f"{name}={value}"
