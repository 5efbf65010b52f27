"""What a sweep's summary compares, in process: each job labelled by the overrides that vary, and jobs that
differ only in the seed aggregated per configuration (fcbaseline/sweep/groups.py, summary.py)."""

import pytest

from fcbaseline.sweep.groups import seed_groups, short_label, swept_labels
from fcbaseline.sweep.summary import seed_lines


def test_swept_labels_show_only_what_varies():
    rows = [
        {"job": "0", "overrides": "dataset=digits optimizer.lr=0.1"},
        {"job": "1", "overrides": "dataset=digits optimizer.lr=0.01"},
    ]
    assert swept_labels(rows) == ["0: lr=0.1", "1: lr=0.01"]
    assert short_label("optimizer.lr=0.23707858649124688 model.hidden_sizes=[128]") == ("lr=0.2371 hidden_sizes=[128]")
    # a last part two keys share keeps the whole key
    assert short_label("a.lr=1 b.lr=2 +c.d=x") == "a.lr=1 b.lr=2 d=x"


def test_seed_groups_aggregate_jobs_that_differ_only_in_the_seed():
    def row(job, overrides, status, val, test):
        return {"job": job, "overrides": overrides, "status": status, "best_val_accuracy": val, "test_accuracy": test}

    rows = [
        row("0", "model.hidden_sizes=[16] training.seed=0", "completed", 0.90, 0.89),
        row("1", "model.hidden_sizes=[16] training.seed=1", "completed", 0.92, 0.91),
        row("2", "model.hidden_sizes=[32] training.seed=0", "completed", 0.95, 0.94),
        row("3", "model.hidden_sizes=[32] training.seed=1", "failed", None, None),
    ]
    small, large = seed_groups(rows)[::-1]
    assert (large["configuration"], large["n"], large["jobs"]) == ("model.hidden_sizes=[32]", 1, 2)
    assert large["best_val_accuracy_mean"] == 0.95 and large["best_val_accuracy_std"] is None
    assert small["best_val_accuracy_mean"] == pytest.approx(0.91)
    assert small["best_val_accuracy_std"] == pytest.approx(0.0141421, rel=1e-4)  # n - 1 in the denominator
    lines = seed_lines(seed_groups(rows))
    interval = "0.9100 ± 0.0141 [0.7829, 1.0371]"  # 0.91 -+ t(0.975, 1) 12.706 x 0.01414 / sqrt(2)
    test = "0.9000 ± 0.0141 [0.7729, 1.0271]"
    assert f"| model.hidden_sizes=[16] | 2 of 2 | {interval} | {test} | untested (n < 2) |" in lines
    assert "| model.hidden_sizes=[32] | 1 of 2 | 0.9500 | 0.9400 | best |" in lines
    assert seed_groups([row("0", "model.hidden_sizes=[16]", "completed", 0.9, 0.9)]) == []  # no seeds: no section
