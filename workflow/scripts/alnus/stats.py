"""Confidence intervals and tests for the study's metrics.

Proportions (sensitivity, specificity, accuracy) get Wilson intervals with
continuity correction and Pearson chi-square P values by default, which is what
reproduces Zhou et al. (Radiology 2019); Clopper-Pearson intervals, Fisher's
test and McNemar's paired test are offered beside them. AUCs get DeLong
intervals and the paired DeLong test (as R's pROC), or a stratified bootstrap.

Conventions: label 1 = positive (metastasis), 0 = negative; a higher score
means more likely positive; AUC directions are never flipped.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps
from sklearn.metrics import roc_curve

# Our method names -> scipy.stats.binomtest(...).proportion_ci names.
PROPORTION_CI_METHODS = {"wilson_cc": "wilsoncc", "wilson": "wilson", "exact": "exact"}
PROPORTION_TESTS = ("chi2", "chi2_yates", "fisher")


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
def _check_choice(value, valid, argument):
    if value not in valid:
        raise ValueError(
            f"unknown {argument} {value!r}; valid names are {', '.join(map(repr, valid))}"
        )


def _check_level(level):
    if not 0 < level < 1:
        raise ValueError(f"`level` must lie strictly between 0 and 1, got {level!r}")


def _check_count(k, n, k_name="k", n_name="n"):
    for name, value in ((k_name, k), (n_name, n)):
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(f"`{name}` must be a whole number, got {value!r}")
    if n <= 0:
        raise ValueError(f"`{n_name}` must be at least 1, got {n_name}={n!r}")
    if not 0 <= k <= n:
        raise ValueError(
            f"`{k_name}` must lie in [0, {n_name}], got {k_name}={k!r}, {n_name}={n!r}"
        )
    return int(k), int(n)


def check_binary_scores(labels, scores, *, name=None):
    """Check labels and scores as every AUC function here does.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
    name : str, optional
        Prefixed to error messages, e.g. "inception_v3 on external_test".

    Returns
    -------
    (positive, scores) : bool array and float array, each of shape (n_cases,)

    Raises
    ------
    ValueError
        If labels are not 0/1, scores are not finite, lengths differ, or
        only one class is present.
    """
    positive, stacked = _check_binary(labels, scores, name=name)
    return positive, stacked[0]


def _check_binary(labels, *score_arrays, name=None):
    """Validate labels (0/1) and scores (finite, same length, both classes).

    Returns labels as a bool array of shape (n_cases,) and the scores stacked
    into a float array of shape (len(score_arrays), n_cases).
    """
    prefix = f"{name}: " if name else ""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{prefix}labels must be 1-D, got shape {labels.shape}")
    bad = ~np.isin(labels, (0, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{prefix}labels must be 0 or 1, got {labels[i]} at index {i} "
            f"({int(bad.sum())} invalid value(s))"
        )
    stacked = []
    for scores in score_arrays:
        scores = np.asarray(scores, dtype=float)
        if scores.shape != labels.shape:
            raise ValueError(
                f"{prefix}scores and labels must have the same length, got "
                f"{scores.shape[0] if scores.ndim else scores.shape} scores for "
                f"{labels.shape[0]} labels"
            )
        if not np.isfinite(scores).all():
            i = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise ValueError(
                f"{prefix}scores must be finite, got {scores[i]} at index {i}; "
                "drop or impute missing predictions first"
            )
        stacked.append(scores)
    positive = labels == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"{prefix}labels contain only one class (n={n_pos} positives, "
            f"{n_neg} negatives); an AUC needs both"
        )
    return positive, np.vstack(stacked)


# --------------------------------------------------------------------------
# Proportions
# --------------------------------------------------------------------------
def proportion_ci(k, n, level=0.95, method="wilson_cc"):
    """Two-sided confidence interval for a binomial proportion k / n.

    Parameters
    ----------
    k, n : int
        Successes and trials, 0 <= k <= n, n >= 1.
    level : float, default 0.95
        Confidence level.
    method : {"wilson_cc", "wilson", "exact"}, default "wilson_cc"
        "wilson_cc": Wilson score interval with continuity correction
        (Newcombe 1998, method 4); reproduces the paper. It equals R's
        ``prop.test(k, n)$conf.int`` except at k == n / 2 exactly, where
        prop.test caps its correction at |k - n/2| = 0 and so reports the
        uncorrected Wilson interval. "wilson": without the correction.
        "exact": Clopper-Pearson.

    Returns
    -------
    (low, high) : tuple of float
        Bounds in [0, 1]; low is 0 when k == 0 and high is 1 when k == n.

    Raises
    ------
    ValueError
        If n < 1, k is outside [0, n], either is not a whole number, level is
        outside (0, 1), or method is unknown.
    """
    _check_choice(method, PROPORTION_CI_METHODS, "method")
    _check_level(level)
    k, n = _check_count(k, n)
    ci = sps.binomtest(k, n).proportion_ci(
        confidence_level=level, method=PROPORTION_CI_METHODS[method]
    )
    return float(ci.low), float(ci.high)


def compare_proportions(k1, n1, k2, n2, test="chi2"):
    """Two-sided P value for the difference between two independent proportions.

    Parameters
    ----------
    k1, n1, k2, n2 : int
        Successes and trials of each group.
    test : {"chi2", "chi2_yates", "fisher"}, default "chi2"
        "chi2": Pearson chi-square on the 2x2 table without continuity
        correction (reproduces the paper); "chi2_yates": with Yates'
        correction; "fisher": Fisher's exact test.

    Returns
    -------
    p : float
        For a degenerate table (a zero row or column margin: both groups all
        successes or all failures) the chi-square statistic is 0/0; the
        proportions are then identical and p = 1.0 is returned, not NaN.

    Raises
    ------
    ValueError
        If a count is invalid (see `proportion_ci`) or the test is unknown.
    """
    return proportion_test(k1, n1, k2, n2, test=test)[1]


def proportion_test(k1, n1, k2, n2, *, test="chi2"):
    """`compare_proportions` with the test statistic too.

    Parameters
    ----------
    k1, n1, k2, n2 : int
        Successes and trials of each group.
    test : {"chi2", "chi2_yates", "fisher"}, default "chi2"
        As `compare_proportions`.

    Returns
    -------
    (statistic, p) : tuple of float
        statistic is Pearson's X^2 (1 degree of freedom; with Yates'
        correction for "chi2_yates"), 0.0 for a degenerate table, and NaN for
        "fisher", an exact test with no test statistic.

    Raises
    ------
    ValueError
        As `compare_proportions`.
    """
    _check_choice(test, PROPORTION_TESTS, "test")
    k1, n1 = _check_count(k1, n1, "k1", "n1")
    k2, n2 = _check_count(k2, n2, "k2", "n2")
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    if test == "fisher":
        return math.nan, float(sps.fisher_exact(table).pvalue)
    if (table.sum(axis=0) == 0).any():
        return 0.0, 1.0
    result = sps.chi2_contingency(table, correction=test == "chi2_yates")
    return float(result.statistic), float(result.pvalue)


def mcnemar_test(correct_a, correct_b):
    """Exact McNemar test for two readers/models scored on the same cases.

    Parameters
    ----------
    correct_a, correct_b : array-like of bool, shape (n_cases,)
        Whether reader/model A (B) was right on each case. Restrict to
        positives to compare sensitivities, to negatives for specificities.

    Returns
    -------
    p : float
        Two-sided exact binomial P value on the discordant pairs; 1.0 when
        there are none.

    Raises
    ------
    ValueError
        If the arrays are not 1-D, differ in length, or hold values other
        than True/False (or 1/0).
    """
    a, b = np.asarray(correct_a), np.asarray(correct_b)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            "correct_a and correct_b must be 1-D arrays over the same cases, got "
            f"shapes {a.shape} and {b.shape}"
        )
    for arg, values in (("correct_a", a), ("correct_b", b)):
        if not np.isin(values, (0, 1)).all():
            raise ValueError(f"`{arg}` must be boolean (or 0/1), got values {np.unique(values)}")
    a, b = a.astype(bool), b.astype(bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(sps.binomtest(only_a, only_a + only_b, 0.5).pvalue)


# --------------------------------------------------------------------------
# AUC
# --------------------------------------------------------------------------
def _auc_by_ranks(pos, neg):
    """Mann-Whitney AUC along the last axis; pos (..., m), neg (..., n)."""
    m, n = pos.shape[-1], neg.shape[-1]
    ranks = sps.rankdata(np.concatenate([pos, neg], axis=-1), axis=-1)
    return (ranks[..., :m].sum(axis=-1) - m * (m + 1) / 2) / (m * n)


def _delong(positive, scores, name):
    """AUCs, shape (k,), and their DeLong covariance, shape (k, k).

    scipy/statsmodels have no DeLong; this is the O(n log n) midrank
    algorithm of Sun & Xu (2014, IEEE Signal Process Lett 21:1389).
    """
    pos, neg = scores[:, positive], scores[:, ~positive]
    m, n = pos.shape[1], neg.shape[1]
    if m < 2 or n < 2:
        raise ValueError(
            f"{name + ': ' if name else ''}DeLong's variance needs at least 2 positives "
            f"and 2 negatives, got {m} and {n}"
        )
    ranks = sps.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    auc = (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    # Structural components: for each positive the share of negatives scored
    # below it, for each negative the share of positives above it (ties 1/2).
    v_pos = (ranks[:, :m] - sps.rankdata(pos, axis=1)) / n
    v_neg = 1 - (ranks[:, m:] - sps.rankdata(neg, axis=1)) / m
    cov = np.atleast_2d(np.cov(v_pos)) / m + np.atleast_2d(np.cov(v_neg)) / n
    return auc, cov


def delong_ci(labels, scores, level=0.95, *, name=None):
    """AUC with DeLong's confidence interval, as pROC's ci.auc(method="delong").

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
        Higher means more likely positive.
    level : float, default 0.95
    name : str, optional
        Prefixed to error messages, e.g. "inception_v3 on external_test".

    Returns
    -------
    (auc, low, high) : tuple of float
        auc +/- z * sqrt(var), clipped to [0, 1]; (1, 1) for a perfect
        separation, whose DeLong variance is 0.

    Raises
    ------
    ValueError
        If labels are not 0/1, scores are not finite, lengths differ, or
        there are fewer than 2 positives or 2 negatives.
    """
    _check_level(level)
    positive, stacked = _check_binary(labels, scores, name=name)
    auc, cov = _delong(positive, stacked, name)
    auc, half = float(auc[0]), float(sps.norm.ppf(0.5 + level / 2)) * math.sqrt(cov[0, 0])
    return auc, max(auc - half, 0.0), min(auc + half, 1.0)


def delong_test(labels, scores_a, scores_b, *, name=None):
    """Paired two-sided DeLong test of two correlated AUCs (pROC's roc.test).

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores_a, scores_b : array-like of float, shape (n_cases,)
        Two models' scores on the same cases.
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    (z, p) : tuple of float
        z = (auc_a - auc_b) / sd of the difference. When that sd is 0, z = 0
        and p = 1 if the AUCs are equal (e.g. identical scores), else
        z = +/-inf and p = 0.

    Raises
    ------
    ValueError
        As `delong_ci`.
    """
    positive, stacked = _check_binary(labels, scores_a, scores_b, name=name)
    auc, cov = _delong(positive, stacked, name)
    diff, var = auc[0] - auc[1], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    if var <= 0:
        return (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    z = diff / math.sqrt(var)
    return float(z), float(2 * sps.norm.sf(abs(z)))


def bootstrap_auc_ci(labels, scores, *, level=0.95, n_resamples=2000, seed, name=None):
    """AUC with a stratified percentile-bootstrap confidence interval.

    Positives and negatives are resampled separately, so each resample keeps
    the observed class counts.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
    level : float, default 0.95
    n_resamples : int, default 2000
    seed : int or numpy.random.Generator
        Source of randomness; required so results are reproducible.
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    (auc, low, high) : tuple of float

    Raises
    ------
    ValueError
        As `delong_ci`.
    """
    _check_level(level)
    positive, stacked = _check_binary(labels, scores, name=name)
    pos, neg = stacked[0, positive], stacked[0, ~positive]
    if len(pos) < 2 or len(neg) < 2:
        raise ValueError(
            f"{name + ': ' if name else ''}a bootstrap needs at least 2 positives and "
            f"2 negatives, got {len(pos)} and {len(neg)}"
        )
    result = sps.bootstrap(
        (pos, neg),
        lambda p, q, axis: _auc_by_ranks(np.moveaxis(p, axis, -1), np.moveaxis(q, axis, -1)),
        n_resamples=n_resamples,
        vectorized=True,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    auc = float(_auc_by_ranks(pos, neg))
    return auc, float(result.confidence_interval.low), float(result.confidence_interval.high)


def youden_threshold(labels, scores, *, name=None):
    """Score threshold maximising Youden's J = sensitivity + specificity - 1.

    A case is called positive when score >= threshold. Ties in J go to the
    higher threshold. Meant for the validation set; apply the result to test
    sets unchanged.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    threshold : float
        One of the observed scores (never inf).

    Raises
    ------
    ValueError
        As `delong_ci` (one class only, non-finite scores, ...).
    """
    positive, stacked = _check_binary(labels, scores, name=name)
    fpr, tpr, thresholds = roc_curve(positive, stacked[0], drop_intermediate=False)
    # Index 0 is sklearn's "call nothing positive" point at threshold inf.
    # Thresholds decrease, so argmax's first hit is the highest tied one.
    best = 1 + int(np.argmax(tpr[1:] - fpr[1:]))
    return float(thresholds[best])


def sensitivity_threshold(labels, scores, *, target, name=None):
    """Highest score threshold whose sensitivity reaches `target`.

    A case is called positive when score >= threshold, as in
    `youden_threshold`. The highest such threshold keeps specificity as high
    as the target allows. Meant for the validation set.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
    target : float
        Wanted sensitivity, in (0, 1]; e.g. 0.9.
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    threshold : float
        One of the observed scores of a positive case. With ties the reached
        sensitivity may exceed the target.

    Raises
    ------
    ValueError
        If target is outside (0, 1], and as `delong_ci`.
    """
    if isinstance(target, bool) or not 0 < target <= 1:
        raise ValueError(f"`target` sensitivity must lie in (0, 1], got {target!r}")
    positive, stacked = _check_binary(labels, scores, name=name)
    _, tpr, thresholds = roc_curve(positive, stacked[0], drop_intermediate=False)
    # tpr rises as the threshold falls; the first point reaching the target is
    # the highest threshold. The tolerance absorbs k/n rounding (0.7 * 10).
    return float(thresholds[int(np.argmax(tpr >= target - 1e-12))])
