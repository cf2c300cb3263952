"""The study's results table: discrimination and operating-point metrics with CIs.

One row per model (each architecture, their ensemble, each reader and the
readers' majority vote), test set and unit of analysis (image, patient; see
alnus.patients), with the columns DESIGN.md fixes for
results/tables/metrics.csv. Image rows on a set where a patient has several
images get intervals clustered by patient (Obuchowski's AUC interval,
Rao-Scott-adjusted Wilson intervals, or the patient bootstrap) unless
`clustered` is off, in which case `ci_method` says that the interval assumes
independent images. Also the checked inputs every statistics table
shares: predictions (with the ensemble added), readers' calls (with the
majority vote added), and each model's threshold, chosen on the validation
set before any test set is scored.
"""

from __future__ import annotations

import logging
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd

from alnus.clustered import cluster_bootstrap_ci, clustered_proportion_ci
from alnus.patients import (
    check_patient_sets,
    check_prediction_patients,
    patient_predictions,
    patient_reader_calls,
    resolve_units,
)
from alnus.stats import (
    bootstrap_auc_ci,
    check_binary_scores,
    clustered_auc_ci,
    delong_ci,
    proportion_ci,
    sensitivity_threshold,
    youden_threshold,
)
from alnus.vocabulary import (  # noqa: F401 (ENSEMBLE, MAJORITY, PREDICTION_SETS, TEST_SETS: re-exported)
    ENSEMBLE,
    MAJORITY,
    PREDICTION_SETS,
    TEST_SETS,
    model_kind,
)

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ("id", "patient", "label", "probability")
READER_COLUMNS = ("id", "patient", "reader", "call", "label", "set")  # and score, where the readers file has it
MAJORITY_TIES = ("positive", "negative")
AUC_CI_METHODS = ("delong", "bootstrap")
METRICS_COLUMNS = [
    "model",
    "kind",
    "set",
    "unit",
    "n",
    "n_in_set",
    "positives",
    "patients",
    "images",
    "ci_method",
    "auc",
    "auc_low",
    "auc_high",
    "threshold",
    "threshold_policy",
    "sensitivity",
    "sensitivity_low",
    "sensitivity_high",
    "specificity",
    "specificity_low",
    "specificity_high",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "tp",
    "fp",
    "tn",
    "fn",
]


# --------------------------------------------------------------------------
# Threshold policy
# --------------------------------------------------------------------------
def choose_threshold(labels: np.ndarray, probabilities: np.ndarray, *, policy, name: str) -> float:
    """Operating threshold, chosen on the validation set and then frozen.

    Parameters
    ----------
    labels, probabilities : arrays of shape (n_validation,)
        The validation set only; no test-set data may reach this function.
    policy : "youden", float or {"sensitivity": float}
        "youden": maximise Youden's J; a number in (0, 1): that fixed
        probability; {"sensitivity": s}: the highest threshold reaching
        sensitivity s on validation.
    name : str
        The model, for error messages.

    Returns
    -------
    threshold : float
        Cases with probability >= threshold are called positive.

    Raises
    ------
    ValueError
        For an unknown policy, or validation data that cannot give one (see
        `alnus.stats.youden_threshold`).
    """
    where = f"{name} on validation"
    if policy == "youden":
        return youden_threshold(labels, probabilities, name=where)
    if isinstance(policy, dict) and set(policy) == {"sensitivity"}:
        return sensitivity_threshold(labels, probabilities, target=policy["sensitivity"], name=where)
    if isinstance(policy, Real) and not isinstance(policy, bool) and 0 < policy < 1:
        return float(policy)
    raise ValueError(
        f"unknown threshold policy {policy!r}; use 'youden', a probability in (0, 1) "
        "such as 0.5, or {'sensitivity': 0.9} (config `statistics: threshold`)"
    )


def policy_label(policy) -> str:
    """Short text for metrics.csv: "youden", "fixed" or "sensitivity>=0.9"."""
    if isinstance(policy, dict):
        return f"sensitivity>={policy['sensitivity']:g}"
    return "youden" if policy == "youden" else "fixed"


# --------------------------------------------------------------------------
# Checked inputs
# --------------------------------------------------------------------------
def _show(value) -> str:
    """A value for a message: 2, nan, 'high' (numpy scalars as plain numbers)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def with_patients(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with column `patient`: as it is, or each case (`id`) its own
    patient (frames built in code; files read from results/ must have it)."""
    if "patient" in frame.columns or "id" not in frame.columns:
        return frame
    return frame.assign(patient=frame["id"])


def check_predictions(frame: pd.DataFrame, *, model: str, set_name: str) -> pd.DataFrame:
    """Check one model's predictions on one set.

    Parameters
    ----------
    frame : DataFrame with columns id, patient, label, probability; one row
        per case. Without `patient` (frames built in code, not read from
        prediction files, which must have it) each case is its own patient.
    model, set_name : named in every error message.

    Returns
    -------
    DataFrame(id, patient, label, probability) with label int and
    probability float.

    Raises
    ------
    ValueError
        Naming model and set, for a missing column, no rows, a repeated id, a
        label other than 0/1, a probability that is not a finite number in
        [0, 1], or a set with only one class.
    """
    where = f"{model} on {set_name}"
    frame = with_patients(frame)
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{where}: predictions lack column(s) {', '.join(missing)}; expected {', '.join(PREDICTION_COLUMNS)}"
        )
    if frame.empty:
        raise ValueError(f"{where}: predictions have no rows")
    ids = frame["id"].astype(str)
    if ids.duplicated().any():
        raise ValueError(f"{where}: case id {ids[ids.duplicated()].iloc[0]!r} is predicted more than once")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    bad = ~labels.isin([0, 1])
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise ValueError(f"{where}: label must be 0 or 1, got {_show(frame['label'].iloc[i])} for id {ids.iloc[i]!r}")
    probabilities = pd.to_numeric(frame["probability"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(probabilities) & (probabilities >= 0) & (probabilities <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{where}: probability must be a finite number in [0, 1], got {_show(frame['probability'].iloc[i])} "
            f"for id {ids.iloc[i]!r} ({int(bad.sum())} such value(s)); rerun rule predict for {model}"
        )
    patients = frame["patient"].astype(str).str.strip()
    if (patients == "").any() or frame["patient"].isna().any():
        i = int(np.flatnonzero((patients == "").to_numpy() | frame["patient"].isna().to_numpy())[0])
        raise ValueError(f"{where}: case {ids.iloc[i]!r} has no patient; rerun rule predict")
    check_binary_scores(labels.to_numpy(dtype=int), probabilities, name=where)
    return pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "patient": patients.to_numpy(),
            "label": labels.to_numpy(dtype=int),
            "probability": probabilities,
        }
    )


def align_predictions(frames: dict[str, pd.DataFrame], *, set_name: str) -> pd.DataFrame:
    """Several models' checked predictions on one set, case by case.

    Parameters
    ----------
    frames : model -> DataFrame(id, label, probability), each checked.
    set_name : named in error messages.

    Returns
    -------
    DataFrame indexed by id (the first model's order) with columns "label"
    and "patient" and one probability column per model.

    Raises
    ------
    ValueError
        If the models' predictions cover different cases or disagree on a
        case's label.
    """
    (first, reference), *others = frames.items()
    table = reference.set_index("id")[["label", "patient"]].assign(**{first: reference["probability"].to_numpy()})
    for model, frame in others:
        frame = frame.set_index("id")
        only_first, only_this = table.index.difference(frame.index), frame.index.difference(table.index)
        if len(only_first) or len(only_this):
            example = (list(only_first) + list(only_this))[0]
            raise ValueError(
                f"{model} on {set_name}: predictions cover {len(frame)} cases and {first}'s {len(table)}; "
                f"{len(only_first)} case(s) only in {first}, {len(only_this)} only in {model} (e.g. {example!r}); "
                "every model must be scored on the same cases"
            )
        frame = frame.loc[table.index]
        differ = frame["label"].to_numpy() != table["label"].to_numpy()
        if differ.any():
            raise ValueError(
                f"{model} on {set_name}: label of case {table.index[differ][0]!r} differs from {first}'s; "
                "the predictions come from different manifests"
            )
        table[model] = frame["probability"].to_numpy()
    return table


def model_predictions(predictions: dict[str, dict[str, pd.DataFrame]], *, ensemble: bool = True) -> dict:
    """Check every model's predictions and add the ensemble's.

    Parameters
    ----------
    predictions : model -> set -> DataFrame(id, label, probability); every
        model needs the sets validation, internal_test and external_test.
    ensemble : bool, default True
        Add model "ensemble", the mean probability of the architectures
        (kind "model"; not of the combined or clinical-only models), case by
        case, when there are at least two.

    Returns
    -------
    dict of the same shape, frames checked: the architectures, "ensemble"
    if added, then the combined and clinical-only models in the order given.

    Raises
    ------
    ValueError
        For a missing set or bad predictions (see `check_predictions` and
        `align_predictions`).
    """
    if not predictions:
        raise ValueError("no predictions given; expected results/predictions/{arch}/{set}.csv")
    checked = {}
    for model, sets in predictions.items():
        missing = [s for s in PREDICTION_SETS if s not in sets]
        if missing:
            raise ValueError(f"{model}: predictions for {', '.join(missing)} are missing")
        checked[model] = {s: check_predictions(sets[s], model=model, set_name=s) for s in PREDICTION_SETS}
    architectures = {m: sets for m, sets in checked.items() if model_kind(m) == "model"}
    ordered = dict(architectures)
    if ensemble and len(architectures) >= 2:
        ordered[ENSEMBLE] = {}
        for s in PREDICTION_SETS:
            table = align_predictions({m: sets[s] for m, sets in architectures.items()}, set_name=s)
            mean = table.drop(columns=["label", "patient"]).mean(axis=1)
            ordered[ENSEMBLE][s] = pd.DataFrame(
                {
                    "id": table.index.to_numpy(),
                    "patient": table["patient"].to_numpy(),
                    "label": table["label"].to_numpy(),
                    "probability": mean.to_numpy(),
                }
            )
    return ordered | {m: sets for m, sets in checked.items() if m not in architectures}


def check_reader_calls(readers: pd.DataFrame, set_cases: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Check readers' calls against the test sets and log their coverage.

    Parameters
    ----------
    readers : DataFrame(id, patient, reader, call, label, set[, score]),
        results/tables/readers.csv (without `patient`, each case is its own
        patient).
    set_cases : test set -> DataFrame(id, label) of every case in that set.

    Returns
    -------
    DataFrame(id, patient, reader, call, label, set[, score]) with ids as
    str, call int and score float.

    Raises
    ------
    ValueError
        Naming the reader and set, for a missing column, a call other than
        0/1, a case read twice, a set other than the test sets, a case that is
        not in the set, or a label that differs from the predictions'.
    """
    readers = with_patients(readers)
    missing = [c for c in READER_COLUMNS if c not in readers.columns]
    if missing:
        raise ValueError(f"readers' calls lack column(s) {', '.join(missing)}; expected {', '.join(READER_COLUMNS)}")
    readers = readers.assign(id=readers["id"].astype(str), patient=readers["patient"].astype(str))
    if "score" in readers.columns:
        scores = pd.to_numeric(readers["score"], errors="coerce")
        if not np.isfinite(scores.to_numpy(dtype=float)).all():
            row = readers[~np.isfinite(scores.to_numpy(dtype=float))].iloc[0]
            raise ValueError(
                f"reader {row['reader']} on {row['set']}: score must be a number, got {row['score']!r} "
                f"for case {row['id']!r}; rerun rule readers"
            )
        readers = readers.assign(score=scores.astype(float))
    calls = pd.to_numeric(readers["call"], errors="coerce")
    for bad, problem in [
        (~calls.isin([0, 1]), "call must be 0 or 1, got {call}"),
        (~readers["set"].isin(TEST_SETS), "set must be internal_test or external_test, got {set!r}"),
        (readers.duplicated(["reader", "id"]), "case {id!r} is read twice"),
    ]:
        if bad.any():
            row = readers[bad.to_numpy()].iloc[0]
            raise ValueError(f"reader {row['reader']} on {row['set']}: " + problem.format(**row))
    readers = readers.assign(call=calls.astype(int))
    for (reader, set_name), rows in readers.groupby(["reader", "set"], sort=True):
        cases = set_cases[set_name].set_index("id")["label"]
        unknown = ~rows["id"].isin(cases.index)
        if unknown.any():
            raise ValueError(
                f"reader {reader} on {set_name}: {int(unknown.sum())} call(s) on cases with no prediction in "
                f"{set_name} (e.g. {rows['id'][unknown].iloc[0]!r}); rerun rule readers"
            )
        differ = rows["label"].to_numpy() != cases.loc[rows["id"]].to_numpy()
        if differ.any():
            raise ValueError(
                f"reader {reader} on {set_name}: label of case {rows['id'][differ].iloc[0]!r} differs from the "
                "predictions'; rerun rule readers"
            )
        if len(rows) < len(cases):
            log.warning(
                "reader %s read %d of the %d %s cases; their rows and comparisons cover those only",
                reader,
                len(rows),
                len(cases),
                set_name,
            )
    for set_name in TEST_SETS:
        here = set(readers.loc[readers["set"] == set_name, "reader"])
        if not here:
            log.info("no reader read %s; it has no reader rows", set_name)
        for reader in sorted(set(readers["reader"]) - here if here else ()):
            log.warning("reader %s made no calls on %s, which other readers read", reader, set_name)
    return readers[list(READER_COLUMNS) + (["score"] if "score" in readers.columns else [])].reset_index(drop=True)


def majority_vote(readers: pd.DataFrame, *, ties: str = "positive") -> pd.DataFrame:
    """The readers' majority vote, case by case, among those who read the case.

    Parameters
    ----------
    readers : DataFrame(id, patient, reader, call, label, set), checked.
    ties : {"positive", "negative"}, default "positive"
        The call when as many readers said positive as negative (an even
        number read the case). "positive" errs towards axillary work-up, the
        safer error for a staging question.

    Returns
    -------
    DataFrame(id, patient, reader, call, label, set) with reader
    "readers_majority", one row per case read by at least one reader (no
    score: the vote is a call).

    Raises
    ------
    ValueError
        If `ties` is not one of the names above.
    """
    if ties not in MAJORITY_TIES:
        raise ValueError(f"unknown `ties` {ties!r}; valid names are {', '.join(map(repr, MAJORITY_TIES))}")
    votes = (
        with_patients(readers)
        .groupby(["set", "id"], sort=False)
        .agg(patient=("patient", "first"), label=("label", "first"), positive=("call", "sum"), readers=("call", "size"))
    )
    call = np.sign(2 * votes["positive"] - votes["readers"])
    tied = call == 0
    for set_name, n in votes[tied].groupby(level="set").size().items():
        log.info("readers' majority on %s: %d tied case(s) called %s", set_name, n, ties)
    votes["call"] = np.where(tied, int(ties == "positive"), call > 0).astype(int)
    out = votes.reset_index().assign(reader=MAJORITY)
    return out[list(READER_COLUMNS)]


# --------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------
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
    if auc_ci not in AUC_CI_METHODS:
        raise ValueError(f"unknown `auc_ci` {auc_ci!r}; valid names are {', '.join(map(repr, AUC_CI_METHODS))}")
    if clusters is not None:
        if auc_ci == "delong":
            return clustered_auc_ci(labels, scores, clusters, level=level, method=clustered_method, name=name)
        return cluster_bootstrap_ci(_auc, labels, clusters, scores, n_resamples=n_resamples, level=level, seed=seed)
    if auc_ci == "delong":
        return delong_ci(labels, scores, level=level, name=name)
    return bootstrap_auc_ci(labels, scores, level=level, n_resamples=n_resamples, seed=seed, name=name)


def _auc(labels, scores) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def _proportion(measure: str, threshold: float | None):
    """statistic(labels, scores) of one proportion at a threshold (None:
    the scores are 0/1 calls), for the patient bootstrap."""

    def statistic(labels, scores):
        calls = (scores >= threshold).astype(int) if threshold is not None else scores.astype(int)
        counted, right = _proportion_cases(labels, calls)[measure]
        return float(right[counted].mean())

    return statistic


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
    labels, clusters = np.asarray(labels).astype(int), np.asarray(clusters)
    repeated = len(np.unique(clusters)) < len(clusters)
    use = clusters if (clustered and repeated) else None
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
    row = binary_metrics(labels, calls, level=level, method=method, clusters=use)
    if use is not None and auc_ci == "bootstrap":
        source = np.asarray(scores, float) if threshold is not None else np.asarray(calls)
        for measure in PROPORTIONS:
            _, low, high = cluster_bootstrap_ci(
                _proportion(measure, threshold), labels, use, source, n_resamples=n_resamples, level=level, seed=seed
            )
            row |= {f"{measure}_low": low, f"{measure}_high": high}
    if use is None:
        ci_method = f"auc {auc_ci}; proportions {method}"
        if repeated:
            ci_method += "; assumes independent images"
    elif auc_ci == "bootstrap":
        ci_method = f"patient bootstrap ({n_resamples} resamples, stratified); clustered by patient"
    else:
        ci_method = f"auc obuchowski_{clustered_auc}; proportions wilson_rao_scott; clustered by patient"
    return {"auc": auc[0], "auc_low": auc[1], "auc_high": auc[2], **row, "ci_method": ci_method}


def _counts(frame: pd.DataFrame, unit: str) -> dict:
    images = int(frame["images"].sum()) if "images" in frame.columns else len(frame)
    return {"unit": unit, "patients": int(frame["patient"].nunique()), "images": images}


def model_row(
    model: str,
    set_name: str,
    frame: pd.DataFrame,
    threshold: float,
    *,
    level: float,
    method: str,
    kind: str = "model",
    policy: str = "youden",
    unit: str = "image",
    **options,
) -> dict:
    """One metrics row for a model's probabilities on one test set.

    frame : DataFrame(id, patient, label, probability[, images]) of the
    unit's cases; options go to `figures_of_merit`.
    """
    labels, scores = frame["label"].to_numpy(), frame["probability"].to_numpy()
    calls = (scores >= threshold).astype(int)
    merit = figures_of_merit(
        labels,
        scores,
        calls,
        clusters=frame["patient"].to_numpy(),
        level=level,
        method=method,
        threshold=threshold,
        name=f"{model} on {set_name}",
        **options,
    )
    return {
        "model": model,
        "kind": kind,
        "set": set_name,
        **_counts(frame, unit),
        "n": len(labels),
        "n_in_set": len(labels),
        "positives": int(np.sum(labels)),
        "threshold": threshold,
        "threshold_policy": policy,
        **merit,
    }


def reader_row(
    reader: str,
    set_name: str,
    calls: pd.DataFrame,
    *,
    level: float,
    method: str,
    kind: str = "reader",
    n_in_set: int | None = None,
    unit: str = "image",
    **options,
) -> dict:
    """One metrics row for a reader's binary calls; no threshold.

    calls : DataFrame(id, patient, call, label[, score]) of the reader's
    cases. The AUC is that of the reader's scores where given, else that of
    the binary call, (sensitivity + specificity) / 2; options go to
    `figures_of_merit`.
    """
    labels, decisions = calls["label"].to_numpy(), calls["call"].to_numpy()
    scores = calls["score"].to_numpy(float) if "score" in calls.columns else decisions
    merit = figures_of_merit(
        labels,
        scores,
        decisions,
        clusters=calls["patient"].to_numpy(),
        level=level,
        method=method,
        name=f"{reader} on {set_name}",
        **options,
    )
    return {
        "model": reader,
        "kind": kind,
        "set": set_name,
        **_counts(calls, unit),
        "n": len(labels),
        "n_in_set": len(labels) if n_in_set is None else n_in_set,
        "positives": int(np.sum(labels)),
        "threshold": np.nan,
        "threshold_policy": "",
        **merit,
    }


def unit_predictions(models: dict, unit: str, *, aggregate: str = "mean") -> dict:
    """`models` (model -> set -> checked image frame) at `unit`: unchanged
    for "image", one row per patient for "patient" (`patient_predictions`)."""
    if unit == "image":
        return models
    return {m: {s: patient_predictions(f, aggregate=aggregate) for s, f in sets.items()} for m, sets in models.items()}


def unit_reader_calls(calls: pd.DataFrame | None, unit: str, *, rule: str = "any", ties: str = "positive"):
    """Readers' checked image calls (majority vote appended) at `unit`: the
    patient level aggregates each reader's calls (`patient_reader_calls`)
    and takes the majority vote of the readers' patient calls."""
    if calls is None or unit == "image":
        return calls
    own = patient_reader_calls(calls[calls["reader"] != MAJORITY], rule=rule)
    return pd.concat([own, majority_vote(own.drop(columns="score", errors="ignore"), ties=ties)], ignore_index=True)


def study_units(
    predictions: dict,
    readers: pd.DataFrame | None,
    *,
    threshold="youden",
    ensemble: bool = True,
    ties: str = "positive",
    unit: str = "auto",
    aggregate: str = "mean",
    reader_aggregate: str = "any",
):
    """What every table computes at each unit of analysis, in one place.

    Checks the predictions (ensemble added) and readers' calls (majority
    vote appended) once, then yields per unit (`resolve_units`) a tuple
    (unit, models, thresholds, calls): the predictions at that unit, each
    model's threshold frozen on its validation set at that unit, and the
    readers' calls at that unit (None without readers). Options as for
    `metrics_table`.
    """
    image_models = model_predictions(predictions, ensemble=ensemble)
    image_calls = study_readers(readers, image_models, ties=ties)
    for level_unit in resolve_units(unit, image_models):
        models = unit_predictions(image_models, level_unit, aggregate=aggregate)
        yield (
            level_unit,
            models,
            frozen_thresholds(models, policy=threshold, unit=level_unit),
            unit_reader_calls(image_calls, level_unit, rule=reader_aggregate, ties=ties),
        )


def frozen_thresholds(models: dict[str, dict[str, pd.DataFrame]], *, policy, unit: str = "image") -> dict[str, float]:
    """Each model's threshold from its validation predictions alone (logged).

    models : as returned by `model_predictions` (or `unit_predictions` at
    patient level); unit : named in the log. Returns model -> threshold.
    """
    thresholds = {}
    for model, sets in models.items():
        validation = sets["validation"]
        thresholds[model] = choose_threshold(
            validation["label"].to_numpy(), validation["probability"].to_numpy(), policy=policy, name=model
        )
        log.info(
            "%s: %s-level threshold %.6g (%s) frozen on validation",
            model,
            unit,
            thresholds[model],
            policy_label(policy),
        )
    return thresholds


def study_readers(readers: pd.DataFrame | None, models: dict, *, ties: str = "positive") -> pd.DataFrame | None:
    """Checked readers' calls with the majority vote appended, or None.

    readers : DataFrame(id, reader, call, label, set) or None; models : as
    returned by `model_predictions` (for the test sets' cases).
    """
    if readers is None or readers.empty:
        return None
    first = next(iter(models.values()))
    calls = check_reader_calls(readers, {s: first[s] for s in TEST_SETS})
    return pd.concat([calls, majority_vote(calls, ties=ties)], ignore_index=True)


def metrics_table(
    predictions: dict[str, dict[str, pd.DataFrame]],
    readers: pd.DataFrame | None = None,
    *,
    threshold="youden",
    level: float = 0.95,
    method: str = "wilson_cc",
    auc_ci: str = "delong",
    n_resamples: int = 2000,
    seed=0,
    ensemble: bool = True,
    ties: str = "positive",
    unit: str = "auto",
    aggregate: str = "mean",
    reader_aggregate: str = "any",
    clustered: bool = True,
    clustered_auc: str = "logit",
) -> pd.DataFrame:
    """Build results/tables/metrics.csv.

    Parameters
    ----------
    predictions : model name -> set name -> DataFrame(id, patient, label,
        probability); must hold "validation" (for the threshold) and the
        test sets.
    readers : DataFrame(id, patient, reader, call, label, set[, score]) of
        readers' calls on test-set images, or None.
    threshold : policy of `choose_threshold`; each model's threshold is
        chosen on its validation predictions before any test set is scored,
        at each unit separately.
    level, method : confidence level and proportion-CI method (for
        independent cases).
    auc_ci, n_resamples, seed : AUC interval, see `auc_with_ci`; "bootstrap"
        resamples patients, for every figure, where patients have several
        images.
    ensemble : add the models' mean probability as model "ensemble".
    ties : the majority vote's call on a tie, see `majority_vote`.
    unit : "auto", "image", "patient" or "both" (`alnus.patients.resolve_units`).
    aggregate, reader_aggregate : how a patient's image probabilities and a
        reader's image calls become the patient's (`alnus.patients`).
    clustered, clustered_auc : image rows with patients of several images
        get clustered intervals (see `figures_of_merit`).

    Returns
    -------
    DataFrame with METRICS_COLUMNS: per unit (image first), models, the
    ensemble, the combined and clinical-only models (where given), readers
    (by name, then set), then the readers' majority vote. `kind` is model,
    ensemble, combined, clinical (alnus.vocabulary.model_kind), reader or
    majority; `n` is the cases a row
    covers (images or patients) and `n_in_set` the cases in the set
    (n < n_in_set: a reader with missing calls); `patients` and `images`
    count what the row covers; `ci_method` says how its intervals were
    computed.

    Raises
    ------
    ValueError
        For bad predictions or readers' calls, naming model (reader) and set.
    """
    options = {
        "auc_ci": auc_ci,
        "n_resamples": n_resamples,
        "seed": seed,
        "clustered": clustered,
        "clustered_auc": clustered_auc,
    }
    rows = []
    units = study_units(
        predictions,
        readers,
        threshold=threshold,
        ensemble=ensemble,
        ties=ties,
        unit=unit,
        aggregate=aggregate,
        reader_aggregate=reader_aggregate,
    )
    for level_unit, models, thresholds, calls in units:
        for model, sets in models.items():
            kind = model_kind(model)
            for set_name in TEST_SETS:
                rows.append(
                    model_row(
                        model,
                        set_name,
                        sets[set_name],
                        thresholds[model],
                        level=level,
                        method=method,
                        kind=kind,
                        policy=policy_label(threshold),
                        unit=level_unit,
                        **options,
                    )
                )
        if calls is None:
            continue
        set_sizes = {s: len(next(iter(models.values()))[s]) for s in TEST_SETS}
        majority = calls["reader"] == MAJORITY
        ordered = pd.concat(
            [
                calls[~majority].sort_values(["reader", "set"], kind="stable"),
                calls[majority].sort_values("set", kind="stable"),
            ]
        )
        for (reader, set_name), group in ordered.groupby(["reader", "set"], sort=False):
            group = group.dropna(axis="columns", how="all")  # the majority vote has no score
            rows.append(
                reader_row(
                    reader,
                    set_name,
                    group,
                    level=level,
                    method=method,
                    unit=level_unit,
                    kind="majority" if reader == MAJORITY else "reader",
                    n_in_set=set_sizes[set_name],
                    **options,
                )
            )
    return pd.DataFrame(rows, columns=METRICS_COLUMNS)


def read_predictions(prediction_csvs: list[str], splits_csv: str | None = None) -> dict[str, dict[str, pd.DataFrame]]:
    """Files named results/predictions/{model}/{set}.csv -> model -> set -> DataFrame.

    Raises
    ------
    ValueError
        Listing together every file without the contract's columns (id,
        patient, label, probability) and, with `splits_csv`, every patient of
        splits.csv whose images lie in two sets and every row whose patient
        disagrees with splits.csv; each with file, line and fix.
    """
    splits = pd.read_csv(splits_csv, dtype=str) if splits_csv else None
    problems = check_patient_sets(splits, source=str(splits_csv)) if splits is not None else []
    predictions: dict[str, dict[str, pd.DataFrame]] = {}
    for path in map(Path, prediction_csvs):
        frame = pd.read_csv(path, dtype={"id": str, "patient": str})
        missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
        if missing:
            problems.append(
                f"{path}: no column(s) {', '.join(missing)} (expected {', '.join(PREDICTION_COLUMNS)}); "
                "the file predates this version: rerun rule predict (snakemake --forcerun predict)"
            )
        else:
            if frame["patient"].nunique() < 2:
                problems.append(
                    f"{path}: all {len(frame)} rows are images of one patient; a set needs several "
                    "patients, with and without metastasis (too few patients in the manifest's "
                    "`patient_id` for the split's fractions: check them, or the patient ids)"
                )
            if splits is not None:
                problems += check_prediction_patients(frame, splits, path=str(path))
        predictions.setdefault(path.parent.name, {})[path.stem] = frame
    if problems:
        raise ValueError("the predictions cannot be scored:\n" + "\n".join(f"  - {p}" for p in problems))
    return predictions


def read_readers(readers_csv: str | None) -> pd.DataFrame | None:
    """results/tables/readers.csv as a DataFrame, or None without readers."""
    return pd.read_csv(readers_csv, dtype={"id": str, "patient": str, "reader": str}) if readers_csv else None


SEED_COLUMNS = ["seeds", "auc_seed_mean", "auc_seed_sd", "auc_seed_min", "auc_seed_max"]


def seed_spread(runs: dict[str, list[dict[str, pd.DataFrame]]]) -> pd.DataFrame:
    """Spread of each architecture's test AUC over its training seeds.

    Parameters
    ----------
    runs : architecture -> one {set name -> DataFrame(id, label, probability)}
        per seed (the main seed's included).

    Returns
    -------
    DataFrame with columns model, set and SEED_COLUMNS: the number of seeds,
    mean, sample standard deviation (NaN for one seed), minimum and maximum
    of the AUC on each test set.
    """
    rows = []
    for arch, seeds in runs.items():
        for set_name in TEST_SETS:
            aucs = np.array(
                [
                    delong_ci(run[set_name]["label"].to_numpy(), run[set_name]["probability"].to_numpy())[0]
                    for run in seeds
                ]
            )
            rows.append(
                {
                    "model": arch,
                    "set": set_name,
                    "seeds": len(aucs),
                    "auc_seed_mean": aucs.mean(),
                    "auc_seed_sd": aucs.std(ddof=1) if len(aucs) > 1 else np.nan,
                    "auc_seed_min": aucs.min(),
                    "auc_seed_max": aucs.max(),
                }
            )
    return pd.DataFrame(rows, columns=["model", "set", *SEED_COLUMNS])


def read_seed_predictions(prediction_csvs: list[str]) -> dict[str, dict[str, dict[str, pd.DataFrame]]]:
    """Files named results/predictions/{arch}/seed-{n}/{set}.csv -> arch -> "seed-{n}" -> set -> DataFrame."""
    runs: dict[str, dict[str, dict[str, pd.DataFrame]]] = {}
    for path in map(Path, prediction_csvs):
        runs.setdefault(path.parent.parent.name, {}).setdefault(path.parent.name, {})[path.stem] = pd.read_csv(
            path, dtype={"id": str}
        )
    return runs


def metrics_from_files(
    prediction_csvs: list[str],
    readers_csv: str | None,
    seed_prediction_csvs: list[str] = (),
    *,
    splits_csv: str | None = None,
    **options,
) -> pd.DataFrame:
    """metrics_table over files named results/predictions/{model}/{set}.csv
    (checked against `splits_csv`, see `read_predictions`) and the
    pseudonymised readers' table, with the `seed_spread` columns of each
    architecture over its main and further seeds
    (results/predictions/{arch}/seed-{n}/{set}.csv); options as for
    metrics_table."""
    predictions = read_predictions(prediction_csvs, splits_csv)
    table = metrics_table(predictions, read_readers(readers_csv), **options)
    further = read_seed_predictions(seed_prediction_csvs)
    runs = {
        arch: [sets, *further.get(arch, {}).values()]
        for arch, sets in predictions.items()
        if model_kind(arch) == "model"
    }
    table = table.merge(seed_spread(runs), on=["model", "set"], how="left")
    table.loc[table["unit"] != "image", SEED_COLUMNS] = np.nan  # the spread is of the image-level AUC
    return table.astype({"seeds": "Int64"})
