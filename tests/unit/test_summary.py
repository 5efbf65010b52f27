"""What a sweep's summary compares, in process: each job labelled by the overrides that vary, and jobs that
differ only in the seed aggregated per configuration as `fcbaseline compare` does (sweep/groups.py,
summary.py), on job folders made as a sweep leaves them."""

import json

import pytest
import yaml

from fcbaseline.sweep.groups import repeated_configurations, short_label, swept_labels
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


def job_folder(sweep, job, width, seed, status, val, test, dataset="digits"):
    """A job folder as a sweep leaves it: its metrics.json and saved config."""
    folder = sweep / job
    (folder / ".hydra").mkdir(parents=True)
    recorded = {"status": status, "model_val_accuracy": val, "test_accuracy": test, "dataset": dataset}
    (folder / "metrics.json").write_text(json.dumps({**recorded, "test_samples": 10, "validation": "split"}))
    config = {"dataset": {"name": dataset}, "model": {"hidden_sizes": [width]}, "training": {"seed": seed}}
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    overrides = f"dataset={dataset} model.hidden_sizes=[{width}] training.seed={seed}"
    return {"job": job, "overrides": overrides, "status": status, "model_val_accuracy": val, "test_accuracy": test}


def test_repeated_configurations_are_aggregated_as_compare_does(tmp_path):
    rows = [
        job_folder(tmp_path, "0", 16, 0, "completed", 0.90, 0.89),
        job_folder(tmp_path, "1", 16, 1, "completed", 0.92, 0.91),
        job_folder(tmp_path, "2", 32, 0, "completed", 0.95, 0.94),
        job_folder(tmp_path, "3", 32, 1, "failed", None, None),
    ]
    repeated = repeated_configurations(tmp_path, rows)
    large, small = repeated.groups
    assert (large.label, small.label, repeated.left_out) == ("model.hidden_sizes=[32]", "model.hidden_sizes=[16]", 1)
    assert small.figures["model_val_accuracy"].std == pytest.approx(0.0141421, rel=1e-4)  # n - 1 in the denominator
    lines = seed_lines(repeated)
    interval = "0.9100 [0.7829, 1.0371]"  # 0.91 -+ t(0.975, 1) 12.706 x 0.01414 / sqrt(2)
    assert f"| model.hidden_sizes=[16] | 2 | {interval} | 0.9000 [0.7729, 1.0271] |  | untested |" in lines
    assert "| model.hidden_sizes=[32] | 1 | 0.9500 | 0.9400 |  | best |" in lines
    assert any("(1 jobs not completed, left out)" in line for line in lines)
    unseeded = [{**rows[0], "overrides": "model.hidden_sizes=[16]"}]
    assert repeated_configurations(tmp_path, unseeded).groups == []  # no seeds: no section
    rows.append(job_folder(tmp_path, "4", 16, 2, "completed", 0.5, 0.5, dataset="mnist"))
    mixed = repeated_configurations(tmp_path, rows)  # another dataset: no test between them
    assert mixed.groups == [] and "were not tested on the same test set" in mixed.note
