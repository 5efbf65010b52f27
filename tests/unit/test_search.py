"""fcbaseline's Optuna sweeper (fcbaseline/search/), its pure decisions in process: the search space from
Hydra's override grammar, sampled values as overrides, what a job tells its trial, trial accounting and
ownership, and samplers and pruners by name."""

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from fcbaseline.search import space, study


def test_search_space_from_the_override_grammar():
    params = {
        "optimizer.lr": "tag(log, interval(0.003, 0.3))",
        "model.hidden_sizes": 'choice("[128]", "[256,128]")',
        "training.batch_size": "range(32, 129, 32)",
        "training.epochs": "5",
    }
    distributions, fixed = space.search_space(params, ["dataset=digits", "optimizer.lr=interval(0.01, 0.1)"])
    assert distributions["model.hidden_sizes"] == optuna.distributions.CategoricalDistribution(["[128]", "[256,128]"])
    assert distributions["training.batch_size"] == optuna.distributions.IntDistribution(32, 128, step=32)
    # the command line wins over the config's entry for the same key
    assert distributions["optimizer.lr"] == optuna.distributions.FloatDistribution(0.01, 0.1)
    assert fixed == ["training.epochs=5", "dataset=digits"]
    log_scale = space.search_space({"optimizer.lr": "tag(log, interval(0.003, 0.3))"}, [])[0]["optimizer.lr"]
    assert log_scale.log and (log_scale.low, log_scale.high) == (0.003, 0.3)
    with pytest.raises(space.SearchSpaceError, match="integer ranges only"):
        space.search_space({"optimizer.lr": "range(0.1, 0.5, 0.1)"}, [])


def test_sampled_values_become_overrides_that_parse_back_to_the_same_value():
    value = 0.1 + 0.2  # no short decimal: the override must carry every digit
    [override] = OverridesParser.create().parse_overrides([space.as_override("optimizer.lr", value)])
    assert override.value() == value
    [override] = OverridesParser.create().parse_overrides([space.as_override("model.hidden_sizes", "[256,128]")])
    assert override.value() == [256, 128]


def test_what_a_job_tells_its_trial():
    assert study.outcome("completed", 0.91) == ("complete", 0.91)
    assert study.outcome("diverged", 0.2) == ("complete", 0.2)  # a poor result, not a broken trial
    assert study.outcome("diverged", float("nan")) == ("fail", None)
    assert study.outcome("pruned", 0.5) == ("pruned", None)
    assert study.outcome("failed", None) == ("fail", None)
    assert study.outcome(None, None) == ("fail", None)  # never wrote its metrics
    for status in ("interrupted", "not_started"):  # left open: resume=<sweep dir> continues the trial
        assert study.outcome(status, 0.5) == ("running", None)


def test_trial_accounting_ownership_and_launch_groups(tmp_path):
    assert study.room(counted_trials=4, n_trials=6) == 2 and study.room(7, 6) == 0
    assert study.consecutive_runs([3, 4, 7, 8, 10]) == [[3, 4], [7, 8], [10]]
    mine = {study.SWEEP_ATTRIBUTE: str(tmp_path.resolve()), study.JOB_ATTRIBUTE: 4}
    assert study.own_job(mine, tmp_path) == 4
    assert study.own_job({**mine, study.SWEEP_ATTRIBUTE: "/elsewhere"}, tmp_path) is None
    assert study.storage_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/optuna.db"
    assert study.storage_url("sqlite:///shared.db", tmp_path) == "sqlite:///shared.db"


def test_samplers_and_pruners_by_name_with_clear_refusals():
    pruner = study.make_pruner({"name": "median", "median": {"n_startup_trials": 2, "n_warmup_steps": 1}})
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert isinstance(study.make_pruner({"name": "none"}), optuna.pruners.NopPruner)
    with pytest.raises(study.SearchConfigError, match="hydra.sweeper.pruner.name=medain is not one of median"):
        study.make_pruner({"name": "medain"})
    with pytest.raises(study.SearchConfigError, match=r"hydra.sweeper.pruner.median .*patience"):
        study.make_pruner({"name": "median", "median": {"patience": 3}})
    # a resumed search draws on from seed + trials so far, instead of repeating its first draws
    first = study.make_sampler({"name": "random", "seed": 42}, trials_so_far=0)
    later = study.make_sampler({"name": "random", "seed": 42}, trials_so_far=3)
    distribution = optuna.distributions.FloatDistribution(0, 1)
    draws = [sampler.sample_independent(None, None, "x", distribution) for sampler in (first, later)]
    assert draws[0] != draws[1]
