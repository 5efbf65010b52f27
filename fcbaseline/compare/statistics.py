"""The statistics of a comparison, as pure functions over plain numbers (SciPy computes the distributions):
a mean's 95% confidence interval (Student's t), Welch's t-test between two groups of runs, Holm's
correction for testing one group against several, and McNemar's exact test between two runs' predictions
on the same test images.

Runs validated on resampled parts of the training set (a split drawn by each seed, or the folds of a
k-fold cross-validation) are not independent draws: each pair shares most of its training images, so
their spread understates how uncertain their mean is. For them the interval and the paired test use
Nadeau and Bengio's correction ("Inference for the generalization error", Machine Learning,
2003): the variance of the mean is (1/n + n_validation/n_training) s^2 instead of s^2/n."""

import math
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np
from scipy import stats

LEVEL = 0.95  # of the confidence intervals
ALPHA = 0.05  # a corrected p-value at least this large: indistinguishable


@dataclass(frozen=True)
class Interval:
    n: int
    mean: Optional[float]
    std: Optional[float]  # sample standard deviation (n - 1); None below 2 values
    low: Optional[float]  # the confidence interval of the mean; None below 2 values
    high: Optional[float]


def finite(values: Sequence) -> list:
    return [float(value) for value in values if value is not None and math.isfinite(value)]


def interval(values: Sequence[float], level: float = LEVEL, correction: float = 0.0) -> Interval:
    """Mean, standard deviation and the Student's t confidence interval of the mean of `values`;
    `correction` > 0 (validation / training images of a split or fold) widens it for resampled runs."""
    values = finite(values)
    n = len(values)
    if n == 0:
        return Interval(0, None, None, None, None)
    mean = float(np.mean(values))
    if n == 1:
        return Interval(1, mean, None, None, None)
    std = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std * math.sqrt(1 / n + correction)
    return Interval(n, mean, std, mean - half, mean + half)


def welch_p(first: Sequence[float], second: Sequence[float]) -> Optional[float]:
    """Two-sided p-value of Welch's t-test (unequal variances) that the two groups' means are equal; None
    when a group has fewer than 2 values. Two groups without any spread: 1 when equal, else 0."""
    first, second = np.asarray(finite(first)), np.asarray(finite(second))
    if len(first) < 2 or len(second) < 2:
        return None
    if np.std(first) == 0 and np.std(second) == 0:
        return 1.0 if np.mean(first) == np.mean(second) else 0.0
    return float(stats.ttest_ind(first, second, equal_var=False).pvalue)


def corrected_paired_p(first: Sequence, second: Sequence, correction: float) -> Optional[float]:
    """Two-sided p-value of the corrected resampled paired t-test between two configurations run on the
    same folds (first[i] and second[i] on fold i): t = mean(d) / sqrt((1/n + correction) var(d)) with
    n - 1 degrees of freedom (correction 0: the ordinary paired t-test). None below 2 pairs."""
    pairs = [(a, b) for a, b in zip(first, second) if finite([a, b]) == [a, b]]
    differences = np.array([a - b for a, b in pairs], dtype=float)
    n = len(differences)
    if n < 2:
        return None
    variance = float(np.var(differences, ddof=1))
    if variance == 0:
        return 1.0 if float(np.mean(differences)) == 0 else 0.0
    t = float(np.mean(differences)) / math.sqrt((1 / n + correction) * variance)
    return float(2 * stats.t.sf(abs(t), n - 1))


def holm(p_values: Dict[str, Optional[float]]) -> Dict[str, Optional[float]]:
    """Holm-Bonferroni adjusted p-values of several tests made together (None: not tested, left out)."""
    tested = sorted(((p, name) for name, p in p_values.items() if p is not None), key=lambda pair: pair[0])
    adjusted, running = {}, 0.0
    for rank, (p, name) in enumerate(tested):
        running = max(running, min(1.0, p * (len(tested) - rank)))
        adjusted[name] = running
    return {name: adjusted.get(name) for name in p_values}


@dataclass(frozen=True)
class McNemar:
    only_first_right: int  # test images the first run classifies correctly and the second does not
    only_second_right: int
    p_value: float  # two-sided, exact (binomial)


def mcnemar(first_correct: np.ndarray, second_correct: np.ndarray) -> McNemar:
    """McNemar's exact test on two runs' right/wrong answers for the same test images."""
    first_correct, second_correct = np.asarray(first_correct, bool), np.asarray(second_correct, bool)
    only_first = int(np.sum(first_correct & ~second_correct))
    only_second = int(np.sum(~first_correct & second_correct))
    disagreements = only_first + only_second
    p = 1.0 if disagreements == 0 else float(stats.binomtest(only_first, disagreements, 0.5).pvalue)
    return McNemar(only_first, only_second, p)
