"""Statistics that hold when a patient contributes several images.

The images of one patient are not independent: a lesion that one image shows
clearly tends to be clear on the patient's other images too. Intervals and
tests that count images as independent cases are then too narrow. This
module treats each patient as a cluster (issue 13):

* `clustered_proportion_ci`: sensitivity, specificity or accuracy over images
  with a Wilson interval on the Rao-Scott effective sample size (default), or
  a cluster-robust Wald interval;
* `clustered_mcnemar_test`: Durkalski's clustered McNemar test for two
  readers/models on the same patients;

The patient bootstrap (any figure of merit, ROC bands) is in `alnus.bootstrap`.

Clustered AUCs (Obuchowski 1997) live in `alnus.stats`. Coverage and type I
error measured by simulation: docs/benchmarks.md, "Clustered proportions and
McNemar".

Conventions: `clusters` names each case's patient (any hashable: pseudonym
strings, integers); the order of the cases does not matter.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from alnus.checks import check_choice
from alnus.stats import _check_level, proportion_ci
from alnus.stats.checks import cluster_codes

CLUSTERED_PROPORTION_METHODS = ("wilson_rao_scott", "robust_wald")


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
def _check_binary_array(values, argument):
    """1-D array of 0/1 (or bool) -> bool array; a clear error otherwise."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"`{argument}` must be 1-D, got shape {values.shape}")
    bad = ~np.isin(values, (0, 1))  # NaN and None are not in (0, 1) either
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`{argument}` must be boolean (or 0/1), got {values[i]} at index {i} ({int(bad.sum())} invalid value(s))"
        )
    return values.astype(bool)


# --------------------------------------------------------------------------
# Proportions
# --------------------------------------------------------------------------
def _ratio_variance(successes, codes, n_clusters):
    """Ratio estimator p = sum(y) / n and its design effect.

    Written out rather than taken from statsmodels: it is two bincounts, and
    the benchmark calls it tens of thousands of times. It equals the
    cluster-robust variance of an intercept-only OLS fit
    (``OLS(y, 1).fit(cov_type="cluster")``) and, on the logit scale, the
    robust variance of an independence GEE times G / (G - 1); the tests check
    both.

    Returns
    -------
    (p, var, deff) : the proportion, its cluster-robust variance
        var = G / (G - 1) * sum_i (Y_i - p M_i)^2 / n^2 (Y_i successes and
        M_i cases of patient i, G patients, n cases), and the design effect
        deff = var / var_srs, where var_srs = n / (n - 1) * sum_j (y_j - p)^2 / n^2
        is the same estimator with each case its own cluster. deff is 1 when
        every patient has one case. When p is 0 or 1 both variances are 0
        and the data say nothing of the design effect; deff is then the
        largest one the clustering allows, sum_i M_i^2 / n (every patient's
        images alike: the patients are the independent cases), so that a
        study without a single failure is not given the width of one with
        n independent images.
    """
    n = len(successes)
    y = successes.astype(float)
    p = float(y.sum()) / n
    totals = np.bincount(codes, weights=y, minlength=n_clusters)
    sizes = np.bincount(codes, minlength=n_clusters)
    var = n_clusters / (n_clusters - 1) * float(((totals - p * sizes) ** 2).sum()) / n**2
    if n_clusters == n:
        return p, var, 1.0
    if p in (0.0, 1.0):
        return p, var, float((sizes.astype(float) ** 2).sum()) / n
    var_srs = n / (n - 1) * float(((y - p) ** 2).sum()) / n**2
    return p, var, var / var_srs


def _wilson_rao_scott(k, n, deff, level, n_clusters=None):
    """Wilson interval on n_eff = n / deff cases with k / deff successes.

    With `n_clusters` (clustered data: some patient has several cases) the
    normal quantile z becomes Student's t on n_clusters - 1 degrees of freedom
    (Korn & Graubard 1998, Survey Methodology 24:193-201): the variance comes
    from that many patients, not from n cases. Wilson's formula depends on z
    and n only through z^2 / n, so this is the Wilson interval on
    n_eff * (z / t)^2 cases. Without it (n_clusters None) and deff = 1 the
    interval is exactly plain Wilson.
    """
    if deff == 1.0 and n_clusters is None:
        return proportion_ci(k, n, level, "wilson")
    n_eff = n / deff
    if n_clusters is not None:
        n_eff *= (sps.norm.ppf(0.5 + level / 2) / sps.t.ppf(0.5 + level / 2, n_clusters - 1)) ** 2
    # proportion_ci (scipy's binomtest) needs whole counts; statsmodels' Wilson
    # takes real-valued ones and equals scipy's to 1e-16 at whole counts.
    low, high = proportion_confint(k / n * n_eff, n_eff, alpha=1 - level, method="wilson")
    return float(low), float(high)


def _robust_wald(p, var, level):
    """(p, low, high) = expit(logit(p) +/- z * se / (p (1 - p))), se = sqrt(var_cluster).

    This is GEE with an independence working correlation (an intercept-only
    logistic model) and the robust sandwich variance with the G / (G - 1)
    small-sample factor. At p = 0 or 1 its variance is 0 and the interval
    collapses to (p, p, p).
    """
    if p in (0.0, 1.0):
        return p, p, p
    half = float(sps.norm.ppf(0.5 + level / 2)) * math.sqrt(var) / (p * (1 - p))
    logit = float(special.logit(p))
    return p, float(special.expit(logit - half)), float(special.expit(logit + half))


def clustered_proportion_ci(successes, clusters, level=0.95, method="wilson_rao_scott"):
    """Proportion over cases, with a confidence interval that respects patients.

    Parameters
    ----------
    successes : array-like of bool (or 0/1), shape (n_cases,)
        One entry per case (image), e.g. for sensitivity whether each positive
        image was called positive.
    clusters : array-like of hashable, shape (n_cases,)
        The patient of each case; at least 2 distinct patients.
    level : float, default 0.95
        Confidence level.
    method : {"wilson_rao_scott", "robust_wald"}, default "wilson_rao_scott"
        "wilson_rao_scott": Wilson score interval on the Rao-Scott effective
        sample size (Rao & Scott 1992, Biometrics 48:577-585): with the design
        effect deff = var_cluster / var_srs (see below), n_eff = n / deff and
        k_eff = k / deff go into the Wilson formula. Two small-sample steps
        beyond the plain Rao-Scott interval, measured in docs/benchmarks.md
        ("Clustered proportions and McNemar"; without them coverage fell to
        87% at 40 patients with strongly correlated images):
        deff is floored at 1, so the interval is never narrower than the
        plain Wilson interval: within a patient images are positively
        correlated, and a deff below 1 is sampling noise. When k = 0 or
        k = n the data carry no estimate of deff, and it is the largest the
        clustering allows, sum_i M_i^2 / n (each patient's images alike).
        And where some patient has several cases, the quantile is Student's
        t on G - 1 degrees of freedom instead of the normal one (Korn &
        Graubard 1998): the variance is estimated from G patients.
        With one case per patient none of this applies and the interval is
        exactly ``alnus.stats.proportion_ci(k, n, level, "wilson")``.
        "robust_wald": Wald interval on the logit scale (`_robust_wald`),
        which collapses to (p, p) at k = 0 or k = n: one reason it is not
        the default.

        Here p = k / n (the ratio estimator: all successes over all
        cases); var_cluster and var_srs as `_ratio_variance` defines them.

    Returns
    -------
    (estimate, low, high) : tuple of float
        estimate = k / n; bounds in [0, 1].

    Raises
    ------
    ValueError
        If the input is empty, the lengths differ, successes are not 0/1,
        clusters has missing values (None/NaN), there is only one patient,
        level is outside (0, 1), or method is unknown.
    """
    check_choice(method, CLUSTERED_PROPORTION_METHODS, "`method`")
    _check_level(level)
    successes = _check_binary_array(successes, "successes")
    codes, n_clusters = cluster_codes(clusters, len(successes), minimum=2)
    p, var, deff = _ratio_variance(successes, codes, n_clusters)
    k, n = int(successes.sum()), len(successes)
    if method == "wilson_rao_scott":
        clustered = n_clusters if n_clusters < n else None
        low, high = _wilson_rao_scott(k, n, max(deff, 1.0), level, clustered)
        return p, low, high
    return _robust_wald(p, var, level)


# --------------------------------------------------------------------------
# Paired comparison
# --------------------------------------------------------------------------
def clustered_mcnemar_test(correct_a, correct_b, clusters):
    """Durkalski's clustered McNemar test: two readers/models, same patients.

    For each patient k, b_k counts the cases that A got right and B wrong and
    c_k those B got right and A wrong. Durkalski et al. (2003, Stat Med
    22:2417-2428, "Analysis of clustered matched-pair data"):

        X^2 = (sum_k (b_k - c_k))^2 / sum_k (b_k - c_k)^2,   chi-square, 1 df.

    The denominator estimates the variance of sum(b_k - c_k) under H0 from
    the patients, so several discordant images of one patient count as one
    patient's worth of evidence. With one case per patient, (b_k - c_k)^2 =
    b_k + c_k, and X^2 = (b - c)^2 / (b + c): McNemar's chi-square without
    continuity correction (``statsmodels.stats.contingency_tables.mcnemar(
    exact=False, correction=False)``). Obuchowski's (1998, Stat Med
    17:1495-1507) statistic has the same numerator but a Wald-type variance,
    G / (G - 1) * sum_k (d_k - M_k * sum(d) / n)^2 with d_k = b_k - c_k,
    centred at the observed difference, so it does not reduce to McNemar's;
    it is not implemented here.

    Written out: neither scipy nor statsmodels has a clustered McNemar test.
    Its type I error under H0 is measured in docs/benchmarks.md.

    Parameters
    ----------
    correct_a, correct_b : array-like of bool (or 0/1), shape (n_cases,)
        Whether reader/model A (B) was right on each case. Restrict to
        positive images to compare sensitivities, to negatives for
        specificities.
    clusters : array-like of hashable, shape (n_cases,)
        The patient of each case; at least 2 distinct patients.

    Returns
    -------
    p : float
        Two-sided P value; 1.0 when no case is discordant, and when every
        patient's discordances cancel (all b_k = c_k, so X^2 = 0).

    Raises
    ------
    ValueError
        If the input is empty, the lengths differ, values are not 0/1,
        clusters has missing values, or there is only one patient.
    """
    a = _check_binary_array(correct_a, "correct_a")
    b = _check_binary_array(correct_b, "correct_b")
    if a.shape != b.shape:
        raise ValueError(f"`correct_a` and `correct_b` must cover the same cases, got {len(a)} and {len(b)} values")
    codes, n_clusters = cluster_codes(clusters, len(a), minimum=2)
    d = np.bincount(codes, weights=a.astype(float) - b.astype(float), minlength=n_clusters)
    denominator = float((d**2).sum())
    if denominator == 0:
        return 1.0
    return float(sps.chi2.sf(float(d.sum()) ** 2 / denominator, 1))


# --------------------------------------------------------------------------
# Patient bootstrap
# --------------------------------------------------------------------------
