"""Confidence intervals and tests for the study's metrics.

Proportions (sensitivity, specificity, accuracy) get Wilson intervals with
continuity correction and Pearson chi-square P values by default, which is what
reproduces Zhou et al. (Radiology 2019); Clopper-Pearson intervals, Fisher's
test and McNemar's paired test are offered beside them. AUCs get DeLong
intervals and the paired DeLong test (as R's pROC), or a stratified bootstrap;
when a patient has several images, Obuchowski's clustered interval and paired
test (`clustered_auc_ci`, `clustered_auc_test`), which equal DeLong's with one
image per patient.

Conventions: label 1 = positive (metastasis), 0 = negative; a higher score
means more likely positive; AUC directions are never flipped.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import expit
from sklearn.metrics import roc_curve

# Our method names -> scipy.stats.binomtest(...).proportion_ci names.
PROPORTION_CI_METHODS = {"wilson_cc": "wilsoncc", "wilson": "wilson", "exact": "exact"}
PROPORTION_TESTS = ("chi2", "chi2_yates", "fisher")
CLUSTERED_AUC_CI_METHODS = ("wald", "logit")


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
def _check_choice(value, valid, argument):
    if value not in valid:
        raise ValueError(f"unknown {argument} {value!r}; valid names are {', '.join(map(repr, valid))}")


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
        raise ValueError(f"`{k_name}` must lie in [0, {n_name}], got {k_name}={k!r}, {n_name}={n!r}")
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
        If labels are not the numbers 0/1 (strings such as '1' are refused),
        scores are not finite or not 1-D, lengths differ, there are no cases,
        or only one class is present.
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
    # Strings ('0', '1') never count as numbers: numpy compares them unequal to 0
    # and 1, and the message must then say what was received, not just "got 1".
    numeric = labels.dtype.kind in "biuf"
    bad = ~np.isin(labels, (0, 1)) if numeric or labels.dtype.kind == "O" else np.ones(labels.shape, bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = labels[i].item() if isinstance(labels[i], np.generic) else labels[i]
        hint = "" if numeric else "; convert with astype(int)"
        raise ValueError(
            f"{prefix}labels must be the numbers 0 or 1, got {value!r} (dtype {labels.dtype}) "
            f"at index {i} ({int(bad.sum())} invalid value(s)){hint}"
        )
    stacked = []
    for scores in score_arrays:
        scores = np.asarray(scores, dtype=float)
        if scores.ndim != 1:
            raise ValueError(
                f"{prefix}scores must be 1-D with one score per label, got shape "
                f"{scores.shape} for {labels.shape[0]} labels"
            )
        if scores.shape != labels.shape:
            raise ValueError(
                f"{prefix}scores and labels must have the same length, got "
                f"{scores.shape[0]} scores for {labels.shape[0]} labels"
            )
        if not np.isfinite(scores).all():
            i = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise ValueError(
                f"{prefix}scores must be finite, got {scores[i]} at index {i}; drop or impute missing predictions first"
            )
        stacked.append(scores)
    if labels.size == 0:
        raise ValueError(f"{prefix}no cases: labels and scores are empty")
    positive = labels == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(
            f"{prefix}labels contain only one class (n={n_pos} positives, {n_neg} negatives); an AUC needs both"
        )
    return positive, np.vstack(stacked)


def _cluster_codes(clusters, n_cases, name):
    """Integer codes 0..n_clusters-1 of each case's cluster, shape (n_cases,).

    Any hashable values name the clusters (strings, ints, tuples); missing
    values (None, NaN, pd.NA) are refused. Hashing (pd.factorize) keeps this
    O(n) for a million string identifiers.
    """
    prefix = f"{name}: " if name else ""
    if not isinstance(clusters, (np.ndarray, pd.Series, pd.Index)):
        clusters = pd.Series(list(clusters), dtype=object)  # a list of tuples stays 1-D
    if np.ndim(clusters) != 1:
        raise ValueError(f"{prefix}clusters must be 1-D with one patient per case, got shape {np.shape(clusters)}")
    if len(clusters) != n_cases:
        raise ValueError(
            f"{prefix}clusters and labels must have the same length, got {len(clusters)} clusters for {n_cases} labels"
        )
    try:
        codes, uniques = pd.factorize(clusters)
    except TypeError as error:  # e.g. lists, which cannot be hashed
        raise ValueError(
            f"{prefix}clusters must be hashable patient ids (strings, numbers, tuples), got {error}"
        ) from None
    missing = codes < 0
    if missing.any():
        raise ValueError(
            f"{prefix}clusters must name every case's patient, got a missing value at index "
            f"{int(np.flatnonzero(missing)[0])} ({int(missing.sum())} missing)"
        )
    return codes.astype(np.intp, copy=False), len(uniques)


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


# --------------------------------------------------------------------------
# AUC
# --------------------------------------------------------------------------
def _auc_by_ranks(pos, neg):
    """Mann-Whitney AUC along the last axis; pos (..., m), neg (..., n)."""
    m, n = pos.shape[-1], neg.shape[-1]
    ranks = sps.rankdata(np.concatenate([pos, neg], axis=-1), axis=-1)
    return (ranks[..., :m].sum(axis=-1) - m * (m + 1) / 2) / (m * n)


def _structural_components(positive, scores):
    """AUCs and DeLong's per-case structural components, from midranks.

    Parameters
    ----------
    positive : bool array, shape (n_cases,)
    scores : float array, shape (k, n_cases)
        k score vectors on the same cases.

    Returns
    -------
    auc : array, shape (k,)
        Mann-Whitney AUC of each score vector.
    v10 : array, shape (k, m)
        For each of the m positives, the share of negatives scored below it
        (ties count 1/2): V10(X_i) = (1/n) sum_j psi(X_i, Y_j).
    v01 : array, shape (k, n)
        For each of the n negatives, the share of positives scored above it:
        V01(Y_j) = (1/m) sum_i psi(X_i, Y_j). Both average to the AUC.

    Notes
    -----
    scipy/statsmodels have no DeLong; this is the O(n log n) midrank
    algorithm of Sun & Xu (2014, IEEE Signal Process Lett 21:1389): a
    positive's rank among all cases less its rank among positives counts the
    negatives below it.
    """
    pos, neg = scores[:, positive], scores[:, ~positive]
    m, n = pos.shape[1], neg.shape[1]
    ranks = sps.rankdata(np.concatenate([pos, neg], axis=1), axis=1)
    auc = (ranks[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    v10 = (ranks[:, :m] - sps.rankdata(pos, axis=1)) / n
    v01 = 1 - (ranks[:, m:] - sps.rankdata(neg, axis=1)) / m
    return auc, v10, v01


def _delong(positive, scores, name):
    """AUCs, shape (k,), and their DeLong covariance, shape (k, k).

    cov = S10 / m + S01 / n, with S10 and S01 the sample covariances
    (denominators m - 1 and n - 1) of the structural components.
    """
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        raise ValueError(
            f"{name + ': ' if name else ''}DeLong's variance needs at least 2 positives "
            f"and 2 negatives, got {m} and {n}"
        )
    auc, v10, v01 = _structural_components(positive, scores)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return auc, cov


def _obuchowski(positive, scores, clusters, name):
    """AUCs, shape (k,), and Obuchowski's clustered covariance, shape (k, k).

    With I clusters, of which I10 hold a positive and I01 a negative, M
    positives and N negatives in all, m_i and n_i in cluster i, and the
    cluster sums of the centred components (DeLong's V10, V01 per case,
    see `_structural_components`)

        A_i = sum over positives j of cluster i of (V10_j - auc) = V10_i - m_i auc
        B_i = sum over negatives j of cluster i of (V01_j - auc) = V01_i - n_i auc,

    Obuchowski (Biometrics 1997;53:567-578, eqs. 3-5, and the covariance of
    two modalities r, s in the same way) gives

        S10[r, s] = I10 / ((I10 - 1) M) * sum_i A_i[r] A_i[s]
        S01[r, s] = I01 / ((I01 - 1) N) * sum_i B_i[r] B_i[s]
        S11[r, s] = I / (I - 1) * sum_i A_i[r] B_i[s]
        cov[r, s] = S10 / M + S01 / N + (S11[r, s] + S11[s, r]) / (M N),

    i.e. var = S10 / M + S01 / N + 2 S11 / (M N) for one modality. With one
    case per cluster, I10 = M, A_i = V10_i - auc, so S10 = sum (V10 - auc)^2
    / (M - 1): DeLong's sample variance with its (M - 1) denominator, as the
    mean of V10 is the AUC; likewise S01; and no cluster holds both a
    positive and a negative, so S11 = 0. Hence cov equals `_delong`'s.

    Cluster sums by np.bincount: O(n log n) for the ranks, O(n) after.
    """
    codes, n_clusters = clusters
    auc, v10, v01 = _structural_components(positive, scores)
    pos_codes, neg_codes = codes[positive], codes[~positive]
    i10 = int(np.count_nonzero(np.bincount(pos_codes, minlength=n_clusters)))
    i01 = int(np.count_nonzero(np.bincount(neg_codes, minlength=n_clusters)))
    if i10 < 2 or i01 < 2:
        raise ValueError(
            f"{name + ': ' if name else ''}Obuchowski's variance needs positives in at least "
            f"2 clusters and negatives in at least 2 clusters, got {i10} and {i01}"
        )
    m, n = v10.shape[1], v01.shape[1]
    a = np.stack([np.bincount(pos_codes, weights=v - t, minlength=n_clusters) for v, t in zip(v10, auc)])
    b = np.stack([np.bincount(neg_codes, weights=v - t, minlength=n_clusters) for v, t in zip(v01, auc)])
    s10 = i10 / ((i10 - 1) * m) * (a @ a.T)
    s01 = i01 / ((i01 - 1) * n) * (b @ b.T)
    s11 = n_clusters / (n_clusters - 1) * (a @ b.T)
    return auc, s10 / m + s01 / n + (s11 + s11.T) / (m * n)


def _auc_interval(auc, var, level):
    """auc +/- z * sqrt(var), clipped to [0, 1]."""
    half = float(sps.norm.ppf(0.5 + level / 2)) * math.sqrt(max(var, 0.0))
    return auc, max(auc - half, 0.0), min(auc + half, 1.0)


def _paired_z(auc, cov, name):
    """(z, p) of the difference auc[0] - auc[1] given their covariance."""
    diff, var = auc[0] - auc[1], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    if var <= 0:
        if diff == 0:
            return 0.0, 1.0
        warnings.warn(
            f"{name + ': ' if name else ''}the AUCs differ ({auc[0]:.6g} vs {auc[1]:.6g}) but "
            "the estimated variance of their difference is 0 (too few or degenerate cases, "
            "e.g. a perfect and a constant score); no test is possible, returning z = p = nan",
            RuntimeWarning,
            stacklevel=3,
        )
        return math.nan, math.nan
    z = diff / math.sqrt(var)
    return float(z), float(2 * sps.norm.sf(abs(z)))


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
    return _auc_interval(float(auc[0]), float(cov[0, 0]), level)


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
        z = (auc_a - auc_b) / sd of the difference, p two-sided normal. When
        that sd is 0: (0.0, 1.0) if the AUCs are equal (e.g. identical
        scores); if they differ (possible only with very few cases, e.g. a
        perfect and a constant score on 2 + 2 cases), no test is possible
        and (nan, nan) is returned with a RuntimeWarning.

    Raises
    ------
    ValueError
        As `delong_ci`.
    """
    positive, stacked = _check_binary(labels, scores_a, scores_b, name=name)
    return _paired_z(*_delong(positive, stacked, name), name)


def clustered_auc_ci(labels, scores, clusters, level=0.95, *, method="wald", name=None):
    """Image-level AUC with Obuchowski's interval for clustered cases.

    When a patient contributes several images, they are not independent and
    DeLong's interval is too narrow. Obuchowski's nonparametric variance
    (Biometrics 1997;53:567-578) sums DeLong's structural components per
    cluster (patient) and takes their variance across clusters; the AUC
    itself is the ordinary one over all images (every positive image against
    every negative image). Clusters may hold positives, negatives or both.
    Formula: see `_obuchowski`; it reduces to DeLong's variance exactly when
    every cluster holds one case.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
        Higher means more likely positive.
    clusters : array-like of hashable, shape (n_cases,)
        Each case's patient (any hashable values: strings, ints, tuples);
        only equality matters, not the values or their order.
    level : float, default 0.95
    method : {"wald", "logit"}, default "wald"
        "wald": auc +/- z * se, clipped to [0, 1]: Obuchowski's interval, and
        with one case per cluster exactly `delong_ci`. "logit": an optional
        small-sample variant, the same variance carried to the logit scale by
        the delta method, expit(logit(auc) +/- z * se / (auc (1 - auc))); it
        stays inside (0, 1) and is asymmetric, longer towards 0.5. Measured
        (benchmarks/bench_coverage.py, docs/benchmarks.md; true AUC 0.8,
        1-4 images per patient, within-patient correlation 0-0.8, 4,000
        studies a cell): with 40 patients "wald" covers 91.1-93.8% (92.2%
        with one image per patient, where it is DeLong's), "logit"
        94.5-96.0%; with 200 patients "wald" 93.7-94.4%, "logit"
        94.4-95.1%. Prefer "logit" for a few dozen patients.
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    (auc, low, high) : tuple of float
        For "wald" equal to `delong_ci` (to rounding, ~1e-15) when every case
        is its own cluster. (auc, auc, auc) when the variance is 0 (e.g. a
        perfect separation), for either method.

    Raises
    ------
    ValueError
        As `delong_ci`; if clusters is not 1-D, differs in length from the
        labels, has missing or unhashable values; if fewer than 2 clusters
        hold a positive or fewer than 2 a negative; if method is unknown.

    Notes
    -----
    O(n log n) (ranks), then O(n) (cluster sums): 1,000,000 images in
    200,000 patients take well under 2 s (benchmarks/bench_coverage.py).
    """
    _check_level(level)
    _check_choice(method, CLUSTERED_AUC_CI_METHODS, "method")
    positive, stacked = _check_binary(labels, scores, name=name)
    codes = _cluster_codes(clusters, positive.size, name)
    auc, cov = _obuchowski(positive, stacked, codes, name)
    auc, var = float(auc[0]), float(cov[0, 0])
    if method == "wald" or var <= 0:
        return _auc_interval(auc, var, level)
    # 0 < auc < 1 here: an AUC of 0 or 1 has every structural component equal, var 0.
    logit = math.log(auc / (1 - auc))
    half = float(sps.norm.ppf(0.5 + level / 2)) * math.sqrt(var) / (auc * (1 - auc))
    return auc, float(expit(logit - half)), float(expit(logit + half))


def clustered_auc_test(labels, scores_a, scores_b, clusters, *, name=None):
    """Paired two-sided test of two models' image-level AUCs on clustered cases.

    The covariance of the two AUCs is Obuchowski's (see `_obuchowski`), from
    the cluster sums of both models' structural components; z is the AUC
    difference over its standard deviation. With one case per cluster this
    is exactly `delong_test`.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores_a, scores_b : array-like of float, shape (n_cases,)
        Two models' scores on the same cases.
    clusters : array-like of hashable, shape (n_cases,)
        Each case's patient.
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    (z, p) : tuple of float
        As `delong_test`, including (0.0, 1.0) and (nan, nan) with a
        RuntimeWarning when the variance of the difference is 0.

    Raises
    ------
    ValueError
        As `clustered_auc_ci`.
    """
    positive, stacked = _check_binary(labels, scores_a, scores_b, name=name)
    codes = _cluster_codes(clusters, positive.size, name)
    return _paired_z(*_obuchowski(positive, stacked, codes, name), name)


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
    order = np.argsort(-stacked[0], kind="stable")
    sorted_scores, sorted_positive = stacked[0][order], positive[order]
    # The last case of each run of equal scores (scores decrease): calling
    # score >= that score positive gives tp and fp among the cases so far.
    last = np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), sorted_scores.size - 1]
    tp = np.cumsum(sorted_positive, dtype=np.int64)[last]
    fp = np.cumsum(~sorted_positive, dtype=np.int64)[last]
    # J * n_pos * n_neg = tp * n_neg - fp * n_pos, in integers: exact ties stay
    # ties (tpr - fpr in floats makes 0.5 - 0.3 > 0.3 - 0.1), and argmax's first
    # hit is the highest tied threshold.
    n_pos, n_neg = int(tp[-1]), int(fp[-1])
    return float(sorted_scores[last[int(np.argmax(tp * n_neg - fp * n_pos))]])


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
