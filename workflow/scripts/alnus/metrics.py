"""The study's results table: discrimination and operating-point metrics with CIs.

One row per model (each architecture, their ensemble, each reader and the
readers' majority vote) and test set, with the columns DESIGN.md fixes for
results/tables/metrics.csv. Also the checked inputs every statistics table
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

from alnus.stats import (
    bootstrap_auc_ci,
    check_binary_scores,
    delong_ci,
    proportion_ci,
    sensitivity_threshold,
    youden_threshold,
)

log = logging.getLogger(__name__)

TEST_SETS = ("internal_test", "external_test")
PREDICTION_SETS = ("validation", *TEST_SETS)
PREDICTION_COLUMNS = ("id", "label", "probability")
READER_COLUMNS = ("id", "reader", "call", "label", "set")
ENSEMBLE = "ensemble"
MAJORITY = "readers_majority"
MAJORITY_TIES = ("positive", "negative")
AUC_CI_METHODS = ("delong", "bootstrap")
METRICS_COLUMNS = [
    "model", "kind", "set", "n", "n_in_set", "positives",
    "auc", "auc_low", "auc_high", "threshold", "threshold_policy",
    "sensitivity", "sensitivity_low", "sensitivity_high",
    "specificity", "specificity_low", "specificity_high",
    "accuracy", "accuracy_low", "accuracy_high",
    "tp", "fp", "tn", "fn",
]  # fmt: skip


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


def check_predictions(frame: pd.DataFrame, *, model: str, set_name: str) -> pd.DataFrame:
    """Check one model's predictions on one set.

    Parameters
    ----------
    frame : DataFrame with columns id, label, probability; one row per case.
    model, set_name : named in every error message.

    Returns
    -------
    DataFrame(id, label, probability) with label int and probability float.

    Raises
    ------
    ValueError
        Naming model and set, for a missing column, no rows, a repeated id, a
        label other than 0/1, a probability that is not a finite number in
        [0, 1], or a set with only one class.
    """
    where = f"{model} on {set_name}"
    missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: predictions lack column(s) {', '.join(missing)}; expected id, label, probability")
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
    check_binary_scores(labels.to_numpy(dtype=int), probabilities, name=where)
    return pd.DataFrame({"id": ids.to_numpy(), "label": labels.to_numpy(dtype=int), "probability": probabilities})


def align_predictions(frames: dict[str, pd.DataFrame], *, set_name: str) -> pd.DataFrame:
    """Several models' checked predictions on one set, case by case.

    Parameters
    ----------
    frames : model -> DataFrame(id, label, probability), each checked.
    set_name : named in error messages.

    Returns
    -------
    DataFrame indexed by id (the first model's order) with column "label" and
    one probability column per model.

    Raises
    ------
    ValueError
        If the models' predictions cover different cases or disagree on a
        case's label.
    """
    (first, reference), *others = frames.items()
    table = reference.set_index("id")[["label"]].assign(**{first: reference["probability"].to_numpy()})
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
        Add model "ensemble", the mean probability of the models, case by
        case, when there are at least two models.

    Returns
    -------
    dict of the same shape, frames checked, with "ensemble" last if added.

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
    if ensemble and len(checked) >= 2:
        checked[ENSEMBLE] = {}
        for s in PREDICTION_SETS:
            table = align_predictions({m: sets[s] for m, sets in checked.items() if m != ENSEMBLE}, set_name=s)
            mean = table.drop(columns="label").mean(axis=1)
            checked[ENSEMBLE][s] = pd.DataFrame(
                {"id": table.index.to_numpy(), "label": table["label"].to_numpy(), "probability": mean.to_numpy()}
            )
    return checked


def check_reader_calls(readers: pd.DataFrame, set_cases: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Check readers' calls against the test sets and log their coverage.

    Parameters
    ----------
    readers : DataFrame(id, reader, call, label, set), results/tables/readers.csv.
    set_cases : test set -> DataFrame(id, label) of every case in that set.

    Returns
    -------
    DataFrame(id, reader, call, label, set) with ids as str and call int.

    Raises
    ------
    ValueError
        Naming the reader and set, for a missing column, a call other than
        0/1, a case read twice, a set other than the test sets, a case that is
        not in the set, or a label that differs from the predictions'.
    """
    missing = [c for c in READER_COLUMNS if c not in readers.columns]
    if missing:
        raise ValueError(f"readers' calls lack column(s) {', '.join(missing)}; expected {', '.join(READER_COLUMNS)}")
    readers = readers.assign(id=readers["id"].astype(str))
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
            log.warning("reader %s read %d of the %d %s cases; their rows and comparisons cover those only",
                        reader, len(rows), len(cases), set_name)  # fmt: skip
    for set_name in TEST_SETS:
        here = set(readers.loc[readers["set"] == set_name, "reader"])
        if not here:
            log.info("no reader read %s; it has no reader rows", set_name)
        for reader in sorted(set(readers["reader"]) - here if here else ()):
            log.warning("reader %s made no calls on %s, which other readers read", reader, set_name)
    return readers[list(READER_COLUMNS)].reset_index(drop=True)


def majority_vote(readers: pd.DataFrame, *, ties: str = "positive") -> pd.DataFrame:
    """The readers' majority vote, case by case, among those who read the case.

    Parameters
    ----------
    readers : DataFrame(id, reader, call, label, set), checked.
    ties : {"positive", "negative"}, default "positive"
        The call when as many readers said positive as negative (an even
        number read the case). "positive" errs towards axillary work-up, the
        safer error for a staging question.

    Returns
    -------
    DataFrame(id, reader, call, label, set) with reader "readers_majority",
    one row per case read by at least one reader.

    Raises
    ------
    ValueError
        If `ties` is not one of the names above.
    """
    if ties not in MAJORITY_TIES:
        raise ValueError(f"unknown `ties` {ties!r}; valid names are {', '.join(map(repr, MAJORITY_TIES))}")
    votes = readers.groupby(["set", "id"], sort=False).agg(
        label=("label", "first"), positive=("call", "sum"), readers=("call", "size")
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
def binary_metrics(labels: np.ndarray, calls: np.ndarray, *, level: float, method: str) -> dict[str, float]:
    """Counts, sensitivity, specificity and accuracy with CIs for 0/1 calls.

    labels, calls : arrays of shape (n_cases,) of 0/1.
    """
    labels, calls = np.asarray(labels).astype(int), np.asarray(calls).astype(int)
    tp = int(np.sum((calls == 1) & (labels == 1)))
    fn = int(np.sum((calls == 0) & (labels == 1)))
    tn = int(np.sum((calls == 0) & (labels == 0)))
    fp = int(np.sum((calls == 1) & (labels == 0)))
    row = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    for name, k, n in (("sensitivity", tp, tp + fn), ("specificity", tn, tn + fp), ("accuracy", tp + tn, len(labels))):
        low, high = proportion_ci(k, n, level=level, method=method)
        row |= {name: k / n, f"{name}_low": low, f"{name}_high": high}
    return row


def auc_with_ci(labels, scores, *, level: float, auc_ci: str = "delong", n_resamples: int = 2000, seed=0, name: str):
    """(auc, low, high) by DeLong (default) or a stratified bootstrap.

    labels, scores : arrays of shape (n_cases,). Raises ValueError for an
    unknown `auc_ci` and as `alnus.stats.delong_ci`.
    """
    if auc_ci == "delong":
        return delong_ci(labels, scores, level=level, name=name)
    if auc_ci == "bootstrap":
        return bootstrap_auc_ci(labels, scores, level=level, n_resamples=n_resamples, seed=seed, name=name)
    raise ValueError(f"unknown `auc_ci` {auc_ci!r}; valid names are {', '.join(map(repr, AUC_CI_METHODS))}")


def model_row(model: str, set_name: str, labels, scores, threshold: float, *, level: float, method: str,
              kind: str = "model", policy: str = "youden", **auc_options) -> dict:  # fmt: skip
    """One metrics row for a model's probabilities on one test set; auc_options
    go to `auc_with_ci`."""
    name = f"{model} on {set_name}"
    auc, low, high = auc_with_ci(labels, scores, level=level, name=name, **auc_options)
    calls = (np.asarray(scores) >= threshold).astype(int)
    return {
        "model": model, "kind": kind, "set": set_name, "n": len(labels), "n_in_set": len(labels),
        "positives": int(np.sum(labels)), "auc": auc, "auc_low": low, "auc_high": high,
        "threshold": threshold, "threshold_policy": policy,
        **binary_metrics(labels, calls, level=level, method=method),
    }  # fmt: skip


def reader_row(reader: str, set_name: str, labels, calls, *, level: float, method: str,
               kind: str = "reader", n_in_set: int | None = None, **auc_options) -> dict:  # fmt: skip
    """One metrics row for a reader's binary calls; the AUC of a binary call
    is (sensitivity + specificity) / 2, with its CI; no threshold."""
    auc, low, high = auc_with_ci(labels, calls, level=level, name=f"{reader} on {set_name}", **auc_options)
    return {
        "model": reader, "kind": kind, "set": set_name, "n": len(labels),
        "n_in_set": len(labels) if n_in_set is None else n_in_set, "positives": int(np.sum(labels)),
        "auc": auc, "auc_low": low, "auc_high": high, "threshold": np.nan, "threshold_policy": "",
        **binary_metrics(labels, calls, level=level, method=method),
    }  # fmt: skip


def frozen_thresholds(models: dict[str, dict[str, pd.DataFrame]], *, policy) -> dict[str, float]:
    """Each model's threshold from its validation predictions alone (logged).

    models : as returned by `model_predictions`. Returns model -> threshold.
    """
    thresholds = {}
    for model, sets in models.items():
        validation = sets["validation"]
        thresholds[model] = choose_threshold(
            validation["label"].to_numpy(), validation["probability"].to_numpy(), policy=policy, name=model
        )
        log.info("%s: threshold %.6g (%s) frozen on validation", model, thresholds[model], policy_label(policy))
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
) -> pd.DataFrame:
    """Build results/tables/metrics.csv.

    Parameters
    ----------
    predictions : model name -> set name -> DataFrame(id, label, probability);
        must hold "validation" (for the threshold) and the test sets.
    readers : DataFrame(id, reader, call, label, set) of readers' calls on
        test-set images, or None.
    threshold : policy of `choose_threshold`; each model's threshold is
        chosen on its validation predictions before any test set is scored.
    level, method : confidence level and proportion-CI method.
    auc_ci, n_resamples, seed : AUC interval, see `auc_with_ci`.
    ensemble : add the models' mean probability as model "ensemble".
    ties : the majority vote's call on a tie, see `majority_vote`.

    Returns
    -------
    DataFrame with METRICS_COLUMNS: models, the ensemble, readers (by name,
    then set), then the readers' majority vote. `kind` is model, ensemble,
    reader or majority; `n` is the cases a row covers and `n_in_set` the
    cases in the set (n < n_in_set: a reader with missing calls).

    Raises
    ------
    ValueError
        For bad predictions or readers' calls, naming model (reader) and set.
    """
    models = model_predictions(predictions, ensemble=ensemble)
    thresholds = frozen_thresholds(models, policy=threshold)
    auc_options = {"auc_ci": auc_ci, "n_resamples": n_resamples, "seed": seed}
    rows = []
    for model, sets in models.items():
        kind = "ensemble" if model == ENSEMBLE else "model"
        for set_name in TEST_SETS:
            frame = sets[set_name]
            rows.append(model_row(model, set_name, frame["label"].to_numpy(), frame["probability"].to_numpy(),
                                  thresholds[model], level=level, method=method, kind=kind,
                                  policy=policy_label(threshold), **auc_options))  # fmt: skip
    calls = study_readers(readers, models, ties=ties)
    if calls is not None:
        set_sizes = {s: len(next(iter(models.values()))[s]) for s in TEST_SETS}
        majority = calls["reader"] == MAJORITY
        ordered = pd.concat([calls[~majority].sort_values(["reader", "set"], kind="stable"),
                             calls[majority].sort_values("set", kind="stable")])  # fmt: skip
        for (reader, set_name), group in ordered.groupby(["reader", "set"], sort=False):
            rows.append(reader_row(reader, set_name, group["label"].to_numpy(), group["call"].to_numpy(),
                                   level=level, method=method, kind="majority" if reader == MAJORITY else "reader",
                                   n_in_set=set_sizes[set_name], **auc_options))  # fmt: skip
    return pd.DataFrame(rows, columns=METRICS_COLUMNS)


def read_predictions(prediction_csvs: list[str]) -> dict[str, dict[str, pd.DataFrame]]:
    """Files named results/predictions/{model}/{set}.csv -> model -> set -> DataFrame."""
    predictions: dict[str, dict[str, pd.DataFrame]] = {}
    for path in prediction_csvs:
        path = Path(path)
        predictions.setdefault(path.parent.name, {})[path.stem] = pd.read_csv(path, dtype={"id": str})
    return predictions


def read_readers(readers_csv: str | None) -> pd.DataFrame | None:
    """results/tables/readers.csv as a DataFrame, or None without readers."""
    return pd.read_csv(readers_csv, dtype={"id": str, "reader": str}) if readers_csv else None


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
            aucs = np.array([delong_ci(run[set_name]["label"].to_numpy(), run[set_name]["probability"].to_numpy())[0]
                             for run in seeds])  # fmt: skip
            rows.append({"model": arch, "set": set_name, "seeds": len(aucs), "auc_seed_mean": aucs.mean(),
                         "auc_seed_sd": aucs.std(ddof=1) if len(aucs) > 1 else np.nan,
                         "auc_seed_min": aucs.min(), "auc_seed_max": aucs.max()})  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "set", *SEED_COLUMNS])


def read_seed_predictions(prediction_csvs: list[str]) -> dict[str, dict[str, dict[str, pd.DataFrame]]]:
    """Files named results/predictions/{arch}/seed-{n}/{set}.csv -> arch -> "seed-{n}" -> set -> DataFrame."""
    runs: dict[str, dict[str, dict[str, pd.DataFrame]]] = {}
    for path in map(Path, prediction_csvs):
        runs.setdefault(path.parent.parent.name, {}).setdefault(path.parent.name, {})[path.stem] = pd.read_csv(
            path, dtype={"id": str})
    return runs


def metrics_from_files(prediction_csvs: list[str], readers_csv: str | None, seed_prediction_csvs: list[str] = (),
                       **options) -> pd.DataFrame:  # fmt: skip
    """metrics_table over files named results/predictions/{model}/{set}.csv
    and the pseudonymised readers' table, with the `seed_spread` columns
    of each architecture over its main and further seeds
    (results/predictions/{arch}/seed-{n}/{set}.csv); options as for
    metrics_table."""
    predictions = read_predictions(prediction_csvs)
    table = metrics_table(predictions, read_readers(readers_csv), **options)
    further = read_seed_predictions(seed_prediction_csvs)
    runs = {arch: [sets, *further.get(arch, {}).values()] for arch, sets in predictions.items()}
    table = table.merge(seed_spread(runs), on=["model", "set"], how="left")
    return table.astype({"seeds": "Int64"})
