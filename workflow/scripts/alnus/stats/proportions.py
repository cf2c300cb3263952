"""Proportions: binomial intervals, independent and paired tests.

Sensitivity, specificity and accuracy get Wilson intervals with continuity
correction and Pearson chi-square P values by default, which is what
reproduces Zhou et al. (Radiology 2019); Clopper-Pearson intervals, Fisher's
test and McNemar's paired test are offered beside them.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

from alnus.checks import check_choice
from alnus.stats.checks import _check_count, _check_level

# Our method names -> scipy.stats.binomtest(...).proportion_ci names.
PROPORTION_CI_METHODS = {"wilson_cc": "wilsoncc", "wilson": "wilson", "exact": "exact"}
PROPORTION_TESTS = ("chi2", "chi2_yates", "fisher")


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
    check_choice(method, PROPORTION_CI_METHODS, "`method`")
    _check_level(level)
    k, n = _check_count(k, n)
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=level, method=PROPORTION_CI_METHODS[method])
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
    check_choice(test, PROPORTION_TESTS, "`test`")
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
        If the arrays are not 1-D, differ in length, are empty, or hold
        values other than True/False (or 1/0).
    """
    a, b = np.asarray(correct_a), np.asarray(correct_b)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            f"correct_a and correct_b must be 1-D arrays over the same cases, got shapes {a.shape} and {b.shape}"
        )
    for arg, values in (("correct_a", a), ("correct_b", b)):
        if not np.isin(values, (0, 1)).all():
            raise ValueError(f"`{arg}` must be boolean (or 0/1), got values {np.unique(values)}")
    if a.size == 0:
        raise ValueError("no cases: correct_a and correct_b are empty; McNemar's test needs paired cases")
    a, b = a.astype(bool), b.astype(bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(sps.binomtest(only_a, only_a + only_b, 0.5).pvalue)
