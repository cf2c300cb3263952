"""AUCs: DeLong's interval and paired test (as R's pROC), Obuchowski's for clustered cases, the stratified bootstrap.

When a patient has several images, Obuchowski's clustered interval and paired
test (`clustered_auc_ci`, `clustered_auc_test`) equal DeLong's with one image
per patient. A higher score means more likely positive; AUC directions are
never flipped.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as sps
from scipy.special import expit

from alnus.checks import check_choice
from alnus.stats.checks import _check_binary, _check_level, cluster_codes

CLUSTERED_AUC_CI_METHODS = ("wald", "logit")


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
        the delta method (`_logit_interval`, with the coverage of both
        measured); it stays inside (0, 1) and is asymmetric, longer towards
        0.5. Prefer "logit" for a few dozen patients.
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
    O(n log n) (ranks), then O(n) (cluster sums): 1,000,000 images in 200,000
    patients take well under 2 s (benchmarks/bench_coverage.py).
    """
    _check_level(level)
    check_choice(method, CLUSTERED_AUC_CI_METHODS, "`method`")
    positive, stacked = _check_binary(labels, scores, name=name)
    coded = cluster_codes(clusters, positive.size, name)  # (codes, n_clusters)
    auc, cov = _obuchowski(positive, stacked, coded, name)
    auc, var = float(auc[0]), float(cov[0, 0])
    if method == "wald" or var <= 0:
        return _auc_interval(auc, var, level)
    # 0 < auc < 1 here: an AUC of 0 or 1 has every structural component equal, var 0.
    return _logit_interval(auc, var, level)


def _logit_interval(auc, var, level):
    """(auc, low, high) = expit(logit(auc) +/- z * sqrt(var) / (auc (1 - auc))): the
    interval carried to the logit scale by the delta method; 0 < auc < 1, var > 0.

    Measured (benchmarks/bench_coverage.py, docs/benchmarks.md; true AUC 0.8,
    1-4 images per patient, within-patient correlation 0-0.8, 4,000 studies a
    cell): with 40 patients Obuchowski's "wald" interval covers 91.1-93.8%
    (92.2% with one image per patient, where it is DeLong's), this "logit"
    one 94.5-96.0%; with 200 patients "wald" 93.7-94.4%, "logit" 94.4-95.1%.
    """
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
    coded = cluster_codes(clusters, positive.size, name)  # (codes, n_clusters)
    return _paired_z(*_obuchowski(positive, stacked, coded, name), name)


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
