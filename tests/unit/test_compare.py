"""`fcbaseline compare` on real runs (scikit-learn's digits, in-process), its figures recomputed
independently from the runs' own files with SciPy; the statistics table-driven; the test predictions,
the confused pairs and the misclassified picture each run keeps; the refusals."""

import csv
import json
import shutil

import numpy as np
import pytest
from scipy import stats

import fcbaseline
from fcbaseline.commands.compare import main as compare_main
from fcbaseline.compare import statistics
from fcbaseline.predictions import labels_digest, read_test_predictions

DIGITS = ["dataset=digits", "training.epochs=3", "training.verbose=false", "tracking=none", "training.xla=false"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """2 configurations x 3 seeds of real digits runs, one folder each, and one run left unfinished."""
    root, shared = tmp_path_factory.mktemp("runs"), fcbaseline.CompiledRuns()
    folders = {}
    for width in (8, 48):
        for seed in (1, 2, 3):
            overrides = [*DIGITS, f"model.hidden_sizes=[{width}]", f"training.seed={seed}", "training.validation=split"]
            folders[(width, seed)] = fcbaseline.run(
                overrides, run_dir=root / f"w{width}_s{seed}", compiled_runs=shared
            ).run_dir
    return root, folders


def metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def kept_val_accuracy(folder):
    """The validation accuracy of the model the run kept, from its own history.csv."""
    with open(folder / "history.csv", newline="") as file:
        history = {int(row["epoch"]): float(row["val_accuracy"]) for row in csv.DictReader(file)}
    return history[metrics(folder)["model_epoch"]]


def test_compare_gives_the_intervals_and_tests_scipy_gives_from_the_runs_files(runs, tmp_path, capsys):
    root, folders = runs
    assert compare_main([*[str(folder) for folder in folders.values()], "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    rows = {
        row.split(",")[0]: row.split(",") for row in (tmp_path / "out" / "compare.csv").read_text().splitlines()[1:]
    }
    assert list(rows) == ["model.hidden_sizes=[48]", "model.hidden_sizes=[8]"]  # best validation first
    values = {w: [metrics(folders[(w, s)])["model_val_accuracy"] for s in (1, 2, 3)] for w in (8, 48)}
    for folder in folders.values():  # the model's figure, as its own history.csv has it
        assert metrics(folder)["model_val_accuracy"] == pytest.approx(kept_val_accuracy(folder), abs=1e-5)
    # the runs validated on a split each seed draws: Nadeau and Bengio's correction, by its formula
    ratio = np.mean([m["validation_samples"] / m["training_samples"] for m in map(metrics, folders.values())])
    for width in (8, 48):
        mean, low, high = (
            float(rows[f"model.hidden_sizes=[{width}]"][2]),
            *map(float, rows[f"model.hidden_sizes=[{width}]"][4:6]),
        )
        half = stats.t.ppf(0.975, 2) * np.std(values[width], ddof=1) * np.sqrt(1 / 3 + ratio)
        expected = (np.mean(values[width]), np.mean(values[width]) - half, np.mean(values[width]) + half)
        assert (mean, low, high) == pytest.approx(expected, abs=1e-6)
    differences = np.subtract(values[48], values[8])  # seed by seed: the same split, the paired test
    t = differences.mean() / np.sqrt((1 / 3 + ratio) * differences.var(ddof=1))
    paired = 2 * stats.t.sf(abs(t), 2)  # one comparison: Holm leaves it
    assert float(rows["model.hidden_sizes=[8]"][10]) == pytest.approx(paired, abs=1e-6)
    assert rows["model.hidden_sizes=[8]"][11] == ("yes" if paired >= 0.05 else "no")
    assert "| model.hidden_sizes=[48] | 3 |" in printed and "`dataset.name=digits`" in printed
    assert (tmp_path / "out" / "compare.png").stat().st_size > 10_000


def test_two_single_runs_get_mcnemars_exact_test_on_their_predictions(runs, tmp_path, capsys):
    _, folders = runs
    first, second = folders[(8, 1)], folders[(48, 1)]
    assert compare_main([str(first), str(second), "--output", str(tmp_path / "out")]) == 0
    a, b = (read_test_predictions(folder / "test_predictions.npz") for folder in (first, second))
    right_a, right_b = a["predicted_class"] == a["true_class"], b["predicted_class"] == b["true_class"]
    only_a, only_b = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    p_value = stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
    text = (tmp_path / "out" / "compare.md").read_text()
    assert (
        f"{only_a} test images only `{first}` classifies correctly, {only_b} only `{second}`; p = {p_value:.4g}" in text
    )
    assert compare_main([str(second), str(first), "--output", str(tmp_path / "swapped")]) == 0  # the order named
    swapped = (tmp_path / "swapped" / "compare.md").read_text()
    assert f"{only_b} test images only `{second}` classifies correctly, {only_a} only `{first}`" in swapped


def test_each_run_keeps_its_test_predictions_confusions_and_mistakes(runs):
    _, folders = runs
    folder = folders[(48, 2)]
    arrays, recorded = read_test_predictions(folder / "test_predictions.npz"), metrics(folder)
    assert str(arrays["labels_digest"]) == labels_digest(arrays["true_class"]) == recorded["test_labels_digest"]
    assert arrays["probabilities"].shape == (recorded["test_samples"], 10)
    assert (arrays["predicted_class"] == arrays["probabilities"].astype(np.float32).argmax(axis=1)).mean() > 0.99
    accuracy = float(np.mean(arrays["predicted_class"] == arrays["true_class"]))
    assert accuracy == pytest.approx(recorded["test_accuracy"])
    wrong = arrays["predicted_class"] != arrays["true_class"]
    pairs, counts = np.unique(
        np.stack([arrays["true_class"][wrong], arrays["predicted_class"][wrong]]), axis=1, return_counts=True
    )
    most = recorded["most_confused"][0]
    assert most["images"] == counts.max()
    assert (
        f"{most['true']} taken for {most['predicted']}: {most['images']} images"
        in (folder / "classification_report.txt").read_text()
    )
    assert (folder / "misclassified.png").stat().st_size > 10_000


def test_runs_on_different_test_sets_or_no_runs_are_refused(runs, tmp_path, capsys):
    _, folders = runs
    mnist = ["dataset=mnist", "training.epochs=1", "model.hidden_sizes=[8]", "training.verbose=false", "tracking=none"]
    other = fcbaseline.run(mnist, run_dir=tmp_path / "mnist").run_dir
    assert compare_main([str(folders[(8, 1)]), str(other), "--output", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "were not tested on the same test set" in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()
    (tmp_path / "empty").mkdir()
    assert compare_main([str(tmp_path / "empty"), "--output", str(tmp_path / "out")]) == 2
    assert "holds no run (metrics.json) and no sweep's job folders" in capsys.readouterr().err


@pytest.mark.parametrize(
    "p_values, expected",
    [
        ({"a": 0.01, "b": 0.04, "c": 0.03}, {"a": 0.03, "b": 0.06, "c": 0.06}),  # 3x, 2x (then kept monotone), 1x
        ({"a": 0.5, "b": None}, {"a": 0.5, "b": None}),  # untested: left out of the count
        ({"a": 0.4, "b": 0.9}, {"a": 0.8, "b": 0.9}),
        ({}, {}),
    ],
)
def test_holm_adjusts_as_its_definition_says(p_values, expected):
    adjusted = statistics.holm(p_values)
    assert adjusted == {key: (pytest.approx(value) if value is not None else None) for key, value in expected.items()}


def test_the_statistics_at_their_edges():
    assert statistics.interval([]).n == 0 and statistics.interval([0.5]).low is None
    assert statistics.interval([0.5, 0.5]).low == statistics.interval([0.5, 0.5]).high == 0.5
    assert statistics.welch_p([0.5], [0.4, 0.6]) is None  # a single run cannot be tested
    assert statistics.welch_p([0.5, 0.5], [0.5, 0.5]) == 1.0 and statistics.welch_p([0.5, 0.5], [0.6, 0.6]) == 0.0
    first, second = [0.90, 0.91, 0.93, 0.92, 0.95], [0.89, 0.90, 0.90, 0.925, 0.93]
    assert statistics.corrected_paired_p(first, second, 0.0) == pytest.approx(stats.ttest_rel(first, second).pvalue)
    differences = np.subtract(first, second)  # Nadeau and Bengio: the variance of the mean (1/n + 1/4) s^2
    t = differences.mean() / np.sqrt((1 / 5 + 0.25) * differences.var(ddof=1))
    assert statistics.corrected_paired_p(first, second, 0.25) == pytest.approx(2 * stats.t.sf(abs(t), 4))
    wide = statistics.interval(first, correction=0.25)
    assert wide.high - wide.mean == pytest.approx(stats.t.ppf(0.975, 4) * np.std(first, ddof=1) * np.sqrt(0.45))
    same = np.array([True, False, True])
    assert statistics.mcnemar(same, same) == statistics.McNemar(0, 0, 1.0)
    result = statistics.mcnemar(np.array([True] * 10 + [False]), np.array([False] * 10 + [True]))
    assert (result.only_first_right, result.only_second_right) == (10, 1)
    assert result.p_value == pytest.approx(2 * sum(stats.binom.pmf(k, 11, 0.5) for k in range(2)))


def test_k_fold_jobs_validate_on_disjoint_stratified_folds_and_compare_aggregates_them(tmp_path, capsys):
    from fcbaseline.data.common import fold_split

    shared, folders, validation = fcbaseline.CompiledRuns(), [], []
    for fold in range(3):
        overrides = [*DIGITS, "training.validation=kfold", "training.folds=3", f"training.fold={fold}"]
        result = fcbaseline.run(overrides, run_dir=tmp_path / f"fold{fold}", compiled_runs=shared)
        folders.append(result.run_dir)
        validation.append(result.metrics["validation_samples"])
    assert sum(validation) == 1347 and max(validation) - min(validation) <= 1  # every training image once
    indices, labels = np.arange(36), np.arange(36) % 3
    held_out = [fold_split(indices, labels, 3, fold, 0)[2] for fold in range(3)]
    assert sorted(np.concatenate(held_out).tolist()) == indices.tolist()  # disjoint, and every image once
    assert all(np.bincount(labels[part], minlength=3).tolist() == [4, 4, 4] for part in held_out)  # stratified
    assert [part.tolist() for part in held_out] == [fold_split(indices, labels, 3, f, 0)[2].tolist() for f in range(3)]
    assert compare_main([*map(str, folders), "--output", str(tmp_path / "out")]) == 0
    assert "| (one configuration) | 3 |" in capsys.readouterr().out  # the folds, aggregated like seeds
    recorded = [metrics(folder) for folder in folders]  # the interval widened for the folds' shared images
    values = [m["model_val_accuracy"] for m in recorded]
    assert values == pytest.approx([kept_val_accuracy(folder) for folder in folders], abs=1e-5)
    ratio = np.mean([m["validation_samples"] / m["training_samples"] for m in recorded])
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) * np.sqrt(1 / 3 + ratio)
    row = (tmp_path / "out" / "compare.csv").read_text().splitlines()[1].split(",")
    assert float(row[5]) - float(row[2]) == pytest.approx(half, abs=1e-5)


def test_more_folds_than_a_class_has_images_or_a_fold_out_of_range_is_refused(tmp_path):
    with pytest.raises(fcbaseline.ConfigError, match=r"training.fold=5 is not one of the 5 folds"):
        fcbaseline.run([*DIGITS, "training.validation=kfold", "training.fold=5"], run_dir=tmp_path / "a")
    with pytest.raises(fcbaseline.ConfigError, match=r"training.folds=500: class '\d' has \d+ training image"):
        fcbaseline.run([*DIGITS, "training.validation=kfold", "training.folds=500"], run_dir=tmp_path / "b")
    with pytest.raises(
        fcbaseline.ConfigError, match=r"training.fold=2 chooses the folds only with training.validation="
    ):
        fcbaseline.run([*DIGITS, "training.fold=2"], run_dir=tmp_path / "c")  # k identical runs otherwise
    assert not (tmp_path / "a").exists()


def test_compare_png_draws_the_best_configurations_when_there_are_too_many(tmp_path):
    """A 200-trial search compared: the picture keeps the ranking's head and says so; the table keeps all."""
    from fcbaseline.compare.groups import Group, Run, grouped
    from fcbaseline.compare.report import DRAWN_GROUPS, drawn, write_all

    random = np.random.default_rng(0)
    runs = [
        Run(
            tmp_path / f"{lr}-{seed}",
            {"model_val_accuracy": a, "test_accuracy": a - 0.01},
            {"optimizer.lr": lr},
            (seed,),
        )
        for lr in range(40)
        for seed, a in enumerate(0.5 + lr / 100 + random.normal(0, 0.01, 3))
    ]
    groups = grouped(runs)
    shown, note = drawn(groups)
    assert shown == groups[:DRAWN_GROUPS] and note.startswith(f"the best {DRAWN_GROUPS} of 40")
    assert drawn(groups[:5]) == (groups[:5], "")
    text = write_all(tmp_path, groups, [], 0, None)
    assert text.count("| optimizer.lr=") == 40 and (tmp_path / "compare.png").stat().st_size > 10_000
    assert isinstance(groups[0], Group) and groups[0].label == "optimizer.lr=39"


def copy_run(folder, to, **changes):
    """A copy of a run folder with metrics.json changed: the same run as if it had used other data or validation."""
    shutil.copytree(folder, to)
    recorded = {**metrics(to), **changes}
    (to / "metrics.json").write_text(json.dumps(recorded))
    return to


def test_compare_groups_by_the_data_and_validation_runs_used_and_refuses_a_run_counted_twice(runs, tmp_path, capsys):
    _, folders = runs
    same = [str(folders[(8, seed)]) for seed in (1, 2)]
    other_data = copy_run(
        folders[(8, 3)],
        tmp_path / "other",
        data_digests={**metrics(folders[(8, 3)])["data_digests"], "training": "0" * 16},
    )
    on_test = copy_run(folders[(8, 3)], tmp_path / "on_test", validation="test")
    assert compare_main([*same, str(other_data), str(on_test), "--output", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "data_digests.training=0000000000000000" in text and "training.validation=test" in text
    assert text.count(" | 1 | ") == 2 and text.count(" | 2 | ") == 1  # three groups: neither copy pooled
    assert "1 of these runs validated on the test set" in text
    assert compare_main([*same, same[0], "--output", str(tmp_path / "twice")]) == 0  # a folder given twice: once
    assert " | 2 | " in capsys.readouterr().out
    copied = copy_run(folders[(8, 1)], tmp_path / "copy")
    assert compare_main([*same, str(copied), "--output", str(tmp_path / "refused")]) == 2
    error = capsys.readouterr().err
    assert "are runs of one configuration with the same training.seed=1" in error and "Traceback" not in error
    assert not (tmp_path / "refused").exists()


def test_which_test_compares_two_groups_follows_what_their_runs_validated_on(tmp_path):
    """Welch between runs validated on the test set; the corrected paired test between runs validated on
    resampled parts of the training set with the same seeds; untested when those do not pair."""
    from fcbaseline.compare.groups import Group, Run, p_against_best

    def group(values, validation, seeds=(1, 2, 3)):
        sizes = {"validation": validation, "training_samples": 900, "validation_samples": 100}
        return Group("g", [Run(tmp_path, {**sizes, "model_val_accuracy": v}, {}, (s,)) for v, s in zip(values, seeds)])

    a, b = [0.90, 0.93, 0.91], [0.88, 0.90, 0.90]
    assert p_against_best(group(a, "test"), group(b, "test")) == pytest.approx(
        stats.ttest_ind(a, b, equal_var=False).pvalue
    )
    expected = statistics.corrected_paired_p(a, b, 100 / 900)
    assert p_against_best(group(a, "kfold"), group(b, "kfold")) == pytest.approx(expected)
    assert p_against_best(group(a, "split"), group(b, "split")) == pytest.approx(expected)
    assert expected > stats.ttest_rel(a, b).pvalue  # the correction makes the test more careful
    assert p_against_best(group(a, "split"), group(b, "split", seeds=(4, 5, 6))) is None  # no pairs
    assert p_against_best(group(a, "split"), group(b, "test")) is None
