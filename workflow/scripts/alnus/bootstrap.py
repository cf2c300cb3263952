"""The patient bootstrap: whole patients resampled, stratified by whether a
patient has a positive image, for any figure of merit (`cluster_bootstrap_ci`)
and for pointwise ROC bands (`cluster_bootstrap_roc_band`, and `roc_band`,
which the ROC figures draw). With one image per patient it is the ordinary
stratified bootstrap. Coverage measured by simulation: docs/benchmarks.md.

Conventions as in `alnus.clustered`: `clusters` names each case's patient;
`seed` is an int or a numpy Generator, never global state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from alnus.clustered import _check_binary_array
from alnus.stats import _check_level, check_binary_scores
from alnus.stats.checks import cluster_codes

_BLOCK = 256  # resamples drawn per call to the generator: bounds memory to 256 x n_patients


def _check_resamples(n_resamples, minimum):
    if isinstance(n_resamples, bool) or not float(n_resamples).is_integer() or n_resamples < minimum:
        raise ValueError(f"`n_resamples` must be a whole number >= {minimum}, got {n_resamples!r}")
    return int(n_resamples)


def _bootstrap_strata(codes, positive_case, n_clusters):
    """(patients with a positive case, the others): arrays of patient codes.

    Raises ValueError if either is empty: every resample would lack a class.
    """
    positive = np.bincount(codes, weights=positive_case, minlength=n_clusters) > 0
    strata = (np.flatnonzero(positive), np.flatnonzero(~positive))
    if min(len(stratum) for stratum in strata) == 0:
        raise ValueError(
            "the patient bootstrap is stratified by whether a patient has a positive case and "
            f"needs both kinds, got {len(strata[0])} patient(s) with a positive case and "
            f"{len(strata[1])} without; pass all cases of the set (positives and negatives)"
        )
    return strata


def cluster_bootstrap_indices(clusters, labels, n_resamples, seed):
    """Case indices of patient-bootstrap resamples, stratified by patient.

    Patients are drawn with replacement, each with all their cases, within
    two strata: patients with at least one positive case, and the others.
    Each resample holds as many patients of each stratum as the data (so it
    always has positives and negatives); its number of cases varies with the
    sizes of the patients drawn.

    Written out: scipy.stats.bootstrap resamples observations, not groups of
    varying size. Each patient's cases are found once (a stable argsort of
    the patient codes and their offsets); a resample's indices are then built
    with np.repeat and an arange, with no Python loop over patients.

    Parameters
    ----------
    clusters : array-like of hashable, shape (n_cases,)
        The patient of each case.
    labels : array-like of {0, 1}, shape (n_cases,)
        1 = positive; defines the strata.
    n_resamples : int
        Number of resamples, >= 1.
    seed : int or numpy.random.Generator
        Source of randomness; the same seed gives the same resamples.

    Returns
    -------
    iterator of numpy.ndarray of int
        n_resamples arrays of case indices into the inputs, each case of a
        patient drawn twice appearing twice. Input errors are raised at the
        call, not at the first iteration.

    Raises
    ------
    ValueError
        If the input is empty, lengths differ, labels are not 0/1, clusters
        has missing values, or a stratum is empty (no patient with a positive
        case, or none without): every resample would then lack a class.
    """
    n_resamples = _check_resamples(n_resamples, 1)
    positive_case = _check_binary_array(labels, "labels")
    codes, n_clusters = cluster_codes(clusters, len(positive_case))
    sizes = np.bincount(codes, minlength=n_clusters)
    strata = _bootstrap_strata(codes, positive_case, n_clusters)
    order = np.argsort(codes, kind="stable")  # cases grouped by patient
    starts = np.cumsum(sizes) - sizes  # each patient's first position in `order`
    rng = np.random.default_rng(seed)

    def resamples():
        for first in range(0, n_resamples, _BLOCK):
            block = min(_BLOCK, n_resamples - first)
            drawn = np.hstack([s[rng.integers(len(s), size=(block, len(s)))] for s in strata])
            for patients in drawn:
                m = sizes[patients]
                ends = np.cumsum(m)
                yield order[np.repeat(starts[patients] - (ends - m), m) + np.arange(ends[-1])]

    return resamples()


def _percentile_interval(values, level):
    tail = (1 - level) / 2
    return np.quantile(values, tail, axis=0), np.quantile(values, 1 - tail, axis=0)


def cluster_bootstrap_ci(statistic, labels, clusters, *arrays, n_resamples=2000, level=0.95, seed):
    """Any figure of merit with a percentile patient-bootstrap interval.

    Parameters
    ----------
    statistic : callable
        ``statistic(labels, *arrays) -> float``, e.g. an AUC, or the
        sensitivity at a fixed threshold. Called once on the data and once per
        resample, with the arrays indexed alike.
    labels : array-like of {0, 1}, shape (n_cases,)
    clusters : array-like of hashable, shape (n_cases,)
        The patient of each case.
    *arrays : array-like, each of shape (n_cases,) (or (n_cases, ...))
        Further per-case inputs of the statistic (scores, calls).
    n_resamples : int, default 2000
        At least 10.
    level : float, default 0.95
    seed : int or numpy.random.Generator
        Required, so that results are reproducible.

    Returns
    -------
    (estimate, low, high) : tuple of float
        estimate is the statistic on the data; low and high the (1 - level) / 2
        and (1 + level) / 2 quantiles of the resampled statistics.

    Raises
    ------
    ValueError
        As `cluster_bootstrap_indices`; if an array's length differs from the
        labels'; or if the statistic is not finite on some resamples (say
        which statistic is undefined there, e.g. a specificity of a set
        without negatives).
    """
    _check_level(level)
    n_resamples = _check_resamples(n_resamples, 10)
    labels = np.asarray(labels)
    arrays = [np.asarray(a) for a in arrays]
    for i, a in enumerate(arrays):
        if len(a) != len(labels):
            raise ValueError(f"array {i} of `arrays` has {len(a)} entries for {len(labels)} labels")
    resamples = cluster_bootstrap_indices(clusters, labels, n_resamples, seed)
    estimate = float(statistic(labels, *arrays))
    values = np.array([statistic(labels[i], *(a[i] for a in arrays)) for i in resamples], dtype=float)
    if not np.isfinite(values).all():
        raise ValueError(
            f"the statistic was not finite on {int((~np.isfinite(values)).sum())} of "
            f"{n_resamples} patient resamples; make it defined on any set with both classes"
        )
    low, high = _percentile_interval(values, level)
    return estimate, float(low), float(high)


def cluster_bootstrap_roc_band(labels, scores, clusters, fpr_grid, *, n_resamples=2000, level=0.95, seed):
    """Pointwise patient-bootstrap band of the ROC curve.

    The clustered counterpart of `alnus.figures.roc_band`, with the same
    curve: at each false-positive rate of the grid, the highest sensitivity
    reached at that rate or below (the step curve of sklearn's roc_curve). A
    linear np.interp is not used: roc_curve's vertical segments repeat x
    values, where interpolation is ill-defined, and the band would not match
    the plain one.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
        Higher means more likely positive.
    clusters : array-like of hashable, shape (n_cases,)
        The patient of each case.
    fpr_grid : array-like of float, shape (n_points,)
        Increasing false-positive rates in [0, 1].
    n_resamples : int, default 2000
        At least 10.
    level : float, default 0.95
    seed : int or numpy.random.Generator
        Required, so that results are reproducible.

    Returns
    -------
    (tpr_low, tpr_high) : arrays of shape (n_points,)

    Raises
    ------
    ValueError
        As `cluster_bootstrap_indices` and `alnus.stats.check_binary_scores`;
        if fpr_grid is not increasing within [0, 1].
    """
    _check_level(level)
    n_resamples = _check_resamples(n_resamples, 10)
    positive, scores = check_binary_scores(labels, scores)
    grid = np.asarray(fpr_grid, dtype=float)
    if grid.ndim != 1 or len(grid) == 0 or (np.diff(grid) <= 0).any() or grid[0] < 0 or grid[-1] > 1:
        raise ValueError(f"`fpr_grid` must be a 1-D increasing array within [0, 1], got {grid!r}")
    resamples = cluster_bootstrap_indices(clusters, positive, n_resamples, seed)
    curves = np.empty((n_resamples, len(grid)))
    for b, i in enumerate(resamples):
        fpr, tpr, _ = roc_curve(positive[i], scores[i])
        curves[b] = tpr[np.searchsorted(fpr, grid, side="right") - 1]
    return _percentile_interval(curves, level)


# --------------------------------------------------------------------------
# ROC bands of the figures (alnus.figures.roc)
# --------------------------------------------------------------------------
def sensitivity_at(labels, scores, fpr_grid) -> np.ndarray:
    """The ROC curve's sensitivity at each 1 - specificity of `fpr_grid`
    (the highest sensitivity reached at that false-positive rate or below).

    labels, scores : arrays of shape (n_cases,); fpr_grid : increasing array
    in [0, 1]. Returns an array of shape fpr_grid.shape.
    """
    fpr, tpr, _ = roc_curve(labels, scores)
    return tpr[np.searchsorted(fpr, fpr_grid, side="right") - 1]


def roc_band(labels, scores, fpr_grid, *, n_resamples: int = 1000, level: float = 0.95, seed=0, clusters=None):
    """Pointwise percentile bootstrap band of the ROC curve.

    Where `clusters` (the patient of each case) has a patient with several
    cases, patients are resampled with all their images
    (`cluster_bootstrap_roc_band`). Otherwise, each case its own patient,
    positives and negatives are resampled separately (stratified, so every
    resample keeps the set's prevalence): the same resampling as the
    patient bootstrap's with one case per patient, drawn as it always was,
    so that a seed gives the band it gave before. In both, the sensitivity
    at each 1 - specificity of `fpr_grid` is taken from each resample's
    curve (`sensitivity_at`).

    Parameters
    ----------
    labels, scores : arrays of shape (n_cases,)
    fpr_grid : increasing array in [0, 1], shape (n_points,)
    n_resamples, level : resamples and confidence level.
    seed : int or numpy.random.Generator.
    clusters : array of shape (n_cases,), or None.

    Returns
    -------
    (low, high) : arrays of shape (n_points,)

    Raises
    ------
    ValueError
        If fewer than 10 resamples are asked for, or one class is missing.
    """
    if n_resamples < 10:
        raise ValueError(f"`n_resamples` must be at least 10, got {n_resamples}")
    if clusters is not None and pd.Series(clusters).duplicated().any():
        return cluster_bootstrap_roc_band(
            np.asarray(labels),
            np.asarray(scores, dtype=float),
            np.asarray(clusters),
            np.asarray(fpr_grid),
            n_resamples=n_resamples,
            level=level,
            seed=seed,
        )
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, dtype=float)
    if labels.all() or not labels.any():
        raise ValueError("an ROC band needs positive and negative cases")
    rng = np.random.default_rng(seed)
    positive, negative = scores[labels], scores[~labels]
    truth = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    curves = np.empty((n_resamples, len(fpr_grid)))
    for b in range(n_resamples):
        resample = np.r_[rng.choice(positive, len(positive)), rng.choice(negative, len(negative))]
        curves[b] = sensitivity_at(truth, resample, fpr_grid)
    return _percentile_interval(curves, level)
