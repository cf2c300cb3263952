"""Figures of merit of one row: the AUC, sensitivity, specificity and accuracy with their intervals.

Where a patient has several cases (images), the intervals are clustered by
patient (Obuchowski's AUC interval, Rao-Scott-adjusted Wilson intervals, or
the patient bootstrap) unless `clustered` is off, in which case the text
`ci_method` says that the interval assumes independent images. Used by every
row of metrics.csv and folds.csv.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from alnus.bootstrap import cluster_bootstrap_ci
from alnus.checks import check_choice
from alnus.clustered import clustered_proportion_ci
from alnus.stats import bootstrap_auc_ci, clustered_auc_ci, delong_ci, proportion_ci

AUC_CI_METHODS = ("delong", "bootstrap")
INTERVAL_OPTIONS = {  # option of `figures_of_merit` and `alnus.folds.auc_row` -> key of config `statistics`
    "level": "level",
    "auc_ci": "auc_ci",
    "n_resamples": "bootstrap_resamples",
    "clustered": "clustered",
    "clustered_auc": "clustered_auc_ci",
}


def interval_options(statistics: dict, *, seed) -> dict:
    """The interval options of every AUC and proportion, from config `statistics`.

    Parameters
    ----------
    statistics : the validated config's `statistics` section.
    seed : the study's seed (config `seed`), for the bootstrap.

    Returns
    -------
    dict with keys level, auc_ci, n_resamples, seed, clustered and
    clustered_auc, as `figures_of_merit` and `alnus.folds.auc_row` take them.
    """
    return {option: statistics[key] for option, key in INTERVAL_OPTIONS.items()} | {"seed": seed}


def patient_clusters(clusters, *, clustered: bool) -> tuple[np.ndarray | None, bool]:
    """Whether a row's intervals are clustered by patient, and by which clusters.

    Parameters
    ----------
    clusters : array of shape (n_cases,), the patient of each case.
    clustered : config `statistics: clustered`; False gives the
        independent-case methods even where patients have several cases.

    Returns
    -------
    (use, repeated) : `clusters` as an array where `clustered` and some
    patient has several cases, else None; and whether some patient has.
    """
    clusters = np.asarray(clusters)
    repeated = len(np.unique(clusters)) < len(clusters)
    return (clusters if clustered and repeated else None), repeated


def ci_method(
    *,
    auc_ci: str,
    clustered_auc: str,
    clustered: bool,
    repeated: bool,
    proportions: str | None = None,
    resamples: int | None = None,
) -> str:
    """The text of column `ci_method`: how a row's intervals were computed.

    Parameters
    ----------
    auc_ci, clustered_auc : as `auc_with_ci` (`clustered_auc` is its `clustered_method`).
    clustered, repeated : as returned by `patient_clusters` (its `use` not
        None, and its `repeated`).
    proportions : the proportion-CI method of independent cases, or None for
        a row with an AUC only (folds.csv), whose text then names the AUC's alone.
    resamples : the bootstrap's resamples, named where given.

    Returns
    -------
    str such as "auc delong; proportions wilson_cc; assumes independent
    images", "auc obuchowski_logit; proportions wilson_rao_scott; clustered
    by patient" or "patient bootstrap (2000 resamples, stratified); clustered
    by patient".
    """
    if clustered and auc_ci == "bootstrap":
        detail = f" ({resamples} resamples, stratified)" if resamples is not None else ""
        return f"patient bootstrap{detail}; clustered by patient"
    auc = f"obuchowski_{clustered_auc}" if clustered else auc_ci
    parts = (
        [auc]
        if proportions is None
        else [f"auc {auc}", f"proportions {'wilson_rao_scott' if clustered else proportions}"]
    )
    if clustered:
        parts.append("clustered by patient")
    elif repeated:
        parts.append("assumes independent images")
    return "; ".join(parts)


PROPORTIONS = ("sensitivity", "specificity", "accuracy")


def _proportion_cases(labels: np.ndarray, calls: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """measure -> (which cases it counts, whether each was right)."""
    right = calls == labels
    return {
        "sensitivity": (labels == 1, right),
        "specificity": (labels == 0, right),
        "accuracy": (np.ones(len(labels), bool), right),
    }


def binary_metrics(
    labels: np.ndarray, calls: np.ndarray, *, level: float, method: str, clusters: np.ndarray | None = None
) -> dict[str, float]:
    """Counts, sensitivity, specificity and accuracy with CIs for 0/1 calls.

    labels, calls : arrays of shape (n_cases,) of 0/1.
    method : proportion-CI method of `alnus.stats.proportion_ci` for
        independent cases.
    clusters : the patient of each case, or None. When given, the intervals
        are `alnus.clustered.clustered_proportion_ci` (Rao-Scott-adjusted
        Wilson over the patients' images) instead of `method`.
    """
    labels, calls = np.asarray(labels).astype(int), np.asarray(calls).astype(int)
    tp = int(np.sum((calls == 1) & (labels == 1)))
    fn = int(np.sum((calls == 0) & (labels == 1)))
    tn = int(np.sum((calls == 0) & (labels == 0)))
    fp = int(np.sum((calls == 1) & (labels == 0)))
    row = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    for name, (counted, right) in _proportion_cases(labels, calls).items():
        k, n = int(right[counted].sum()), int(counted.sum())
        if clusters is None:
            low, high = proportion_ci(k, n, level=level, method=method)
        else:
            _, low, high = clustered_proportion_ci(right[counted], np.asarray(clusters)[counted], level=level)
        row |= {name: k / n, f"{name}_low": low, f"{name}_high": high}
    return row


def auc_with_ci(
    labels,
    scores,
    *,
    level: float,
    auc_ci: str = "delong",
    n_resamples: int = 2000,
    seed=0,
    name: str,
    clusters=None,
    clustered_method: str = "logit",
):
    """(auc, low, high) by DeLong (default) or a stratified bootstrap; with
    `clusters` (the patient of each case), Obuchowski's clustered interval
    (`clustered_method` of `alnus.stats.clustered_auc_ci`: "logit" by
    default, which holds its level from 40 patients, docs/benchmarks.md) or
    the patient bootstrap instead.

    labels, scores : arrays of shape (n_cases,). Raises ValueError for an
    unknown `auc_ci` and as `alnus.stats.delong_ci`.
    """
    check_choice(auc_ci, AUC_CI_METHODS, "`auc_ci`")
    if clusters is not None:
        if auc_ci == "delong":
            return clustered_auc_ci(labels, scores, clusters, level=level, method=clustered_method, name=name)
        return cluster_bootstrap_ci(_auc, labels, clusters, scores, n_resamples=n_resamples, level=level, seed=seed)
    if auc_ci == "delong":
        return delong_ci(labels, scores, level=level, name=name)
    return bootstrap_auc_ci(labels, scores, level=level, n_resamples=n_resamples, seed=seed, name=name)


def row_auc(
    labels,
    scores,
    patients,
    *,
    clustered: bool,
    level: float,
    auc_ci: str,
    n_resamples: int,
    seed,
    clustered_auc: str,
    name: str,
) -> tuple[tuple[float, float, float], np.ndarray | None, bool]:
    """A row's AUC with its interval, clustered by patient where a patient has several cases.

    Parameters
    ----------
    labels, scores, patients : arrays of shape (n_cases,).
    clustered : as `patient_clusters`; the other options as `auc_with_ci`
        (`clustered_auc` is its `clustered_method`).

    Returns
    -------
    ((auc, low, high), use, repeated) : the AUC and its interval, and
    `patient_clusters`' answer, for the row's other figures and its `ci_method`.
    """
    use, repeated = patient_clusters(patients, clustered=clustered)
    auc = auc_with_ci(
        labels,
        scores,
        level=level,
        auc_ci=auc_ci,
        n_resamples=n_resamples,
        seed=seed,
        name=name,
        clusters=use,
        clustered_method=clustered_auc,
    )
    return auc, use, repeated


def _auc(labels, scores) -> float:
    return float(roc_auc_score(labels, scores))


def _proportion(measure: str, threshold: float | None):
    """statistic(labels, scores) of one proportion at a threshold (None:
    the scores are 0/1 calls), for the patient bootstrap."""

    def statistic(labels, scores):
        calls = (scores >= threshold).astype(int) if threshold is not None else scores.astype(int)
        counted, right = _proportion_cases(labels, calls)[measure]
        return float(right[counted].mean())

    return statistic


def _bootstrap_proportions(labels, source, clusters, threshold, *, n_resamples: int, level: float, seed) -> dict:
    """The patient-bootstrap intervals of sensitivity, specificity and accuracy,
    as {measure_low, measure_high}; source : the scores (with `threshold`) or
    the 0/1 calls (threshold None)."""
    row = {}
    for measure in PROPORTIONS:
        _, low, high = cluster_bootstrap_ci(
            _proportion(measure, threshold), labels, clusters, source, n_resamples=n_resamples, level=level, seed=seed
        )
        row |= {f"{measure}_low": low, f"{measure}_high": high}
    return row


def figures_of_merit(
    labels,
    scores,
    calls,
    *,
    clusters,
    level: float,
    method: str,
    auc_ci: str = "delong",
    n_resamples: int = 2000,
    seed=0,
    clustered: bool = True,
    threshold: float | None = None,
    clustered_auc: str = "logit",
    name: str,
) -> dict:
    """AUC, counts and proportions with their intervals for one row, and
    `ci_method`, the text saying how the intervals were computed.

    Parameters
    ----------
    labels, scores, calls : arrays of shape (n_cases,); calls are 0/1.
    clusters : the patient of each case (array of shape (n_cases,)).
    clustered : when a patient has several cases, account for it
        (Obuchowski's AUC interval and Rao-Scott Wilson intervals, or with
        auc_ci "bootstrap" the patient bootstrap for every figure); False
        gives the independent-case methods, marked as assuming independent
        images.
    threshold : the probability threshold that made `calls` from `scores`
        (None for readers' calls), for the patient bootstrap.
    clustered_auc : Obuchowski's interval on the AUC's own scale ("wald")
        or carried to the logit scale ("logit").
    """
    labels = np.asarray(labels).astype(int)
    auc, use, repeated = row_auc(
        labels,
        scores,
        clusters,
        clustered=clustered,
        level=level,
        auc_ci=auc_ci,
        n_resamples=n_resamples,
        seed=seed,
        clustered_auc=clustered_auc,
        name=name,
    )
    row = binary_metrics(labels, calls, level=level, method=method, clusters=use)
    if use is not None and auc_ci == "bootstrap":
        source = np.asarray(scores, float) if threshold is not None else np.asarray(calls)
        row |= _bootstrap_proportions(labels, source, use, threshold, n_resamples=n_resamples, level=level, seed=seed)
    text = ci_method(
        auc_ci=auc_ci,
        clustered_auc=clustered_auc,
        clustered=use is not None,
        repeated=repeated,
        proportions=method,
        resamples=n_resamples,
    )
    return {"auc": auc[0], "auc_low": auc[1], "auc_high": auc[2], **row, "ci_method": text}
