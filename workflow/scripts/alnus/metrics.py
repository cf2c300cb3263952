"""The study's results table, results/tables/metrics.csv: discrimination and operating-point metrics with CIs.

One row per model (each architecture, their ensemble, the combined and
clinical-only models, each reader and the readers' majority vote), test set
and unit of analysis (image, patient; see alnus.patients), with the columns
DESIGN.md fixes for results/tables/metrics.csv; each row's figures come
from `alnus.merit.figures_of_merit`. The inputs every statistics table
shares live in their own modules: checked predictions with the ensemble
(`alnus.predictions`), readers' calls with the majority vote
(`alnus.reader_calls`), and each model's threshold, frozen on the validation
set before any test set is scored (`alnus.thresholds`); `alnus.study_inputs.study_units`
gathers them per unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alnus.merit import figures_of_merit, interval_options
from alnus.predictions import (
    PREDICTION_SETS,  # noqa: F401 (re-exported, as are ENSEMBLE, model_predictions and frozen_thresholds: other tables import them from here)
    TEST_SETS,
    model_predictions,  # noqa: F401
    read_predictions,
    read_seed_predictions,
)
from alnus.reader_calls import read_readers
from alnus.stats import delong_ci
from alnus.study_inputs import study_units
from alnus.thresholds import frozen_thresholds, policy_label  # noqa: F401 (frozen_thresholds)
from alnus.vocabulary import ENSEMBLE, MAJORITY, model_kind  # noqa: F401 (ENSEMBLE)

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
    """Build results/tables/metrics.csv (long for its documented options: the code is a loop over units).

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
        "level": level,
        "method": method,
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
        rows += model_rows(models, thresholds, unit=level_unit, policy=policy_label(threshold), **options)
        if calls is not None:
            set_sizes = {s: len(next(iter(models.values()))[s]) for s in TEST_SETS}
            rows += reader_rows(calls, set_sizes, unit=level_unit, **options)
    return pd.DataFrame(rows, columns=METRICS_COLUMNS)


def model_rows(models: dict, thresholds: dict[str, float], *, unit: str, policy: str, **options) -> list[dict]:
    """The rows of every model on each test set at one unit, in the models' order.

    models : model -> set -> DataFrame of the unit's cases (`study_units`);
    thresholds : model -> its frozen threshold; policy : `policy_label` of
    the threshold policy; options (level, method, ...) go to `model_row`.
    """
    return [
        model_row(
            model,
            set_name,
            sets[set_name],
            thresholds[model],
            kind=model_kind(model),
            policy=policy,
            unit=unit,
            **options,
        )
        for model, sets in models.items()
        for set_name in TEST_SETS
    ]


def reader_rows(calls: pd.DataFrame, set_sizes: dict[str, int], *, unit: str, **options) -> list[dict]:
    """The rows of each reader (by name, then set) and then of the readers' majority vote, at one unit.

    calls : the readers' calls at the unit, majority vote appended
    (`study_units`); set_sizes : test set -> its cases at the unit;
    options (level, method, ...) go to `reader_row`.
    """
    majority = calls["reader"] == MAJORITY
    ordered = pd.concat(
        [
            calls[~majority].sort_values(["reader", "set"], kind="stable"),
            calls[majority].sort_values("set", kind="stable"),
        ]
    )
    rows = []
    for (reader, set_name), group in ordered.groupby(["reader", "set"], sort=False):
        group = group.dropna(axis="columns", how="all")  # the majority vote has no score
        rows.append(
            reader_row(
                reader,
                set_name,
                group,
                unit=unit,
                kind="majority" if reader == MAJORITY else "reader",
                n_in_set=set_sizes[set_name],
                **options,
            )
        )
    return rows


def metrics_options(statistics: dict, *, seed) -> dict:
    """`metrics_table`'s options from config `statistics` (and the study's `seed`).

    Returns a dict with threshold, method, ensemble, ties, unit, aggregate,
    reader_aggregate and the interval options of `alnus.merit.interval_options`.
    """
    return interval_options(statistics, seed=seed) | {
        "threshold": statistics["threshold"],
        "method": statistics["proportion_ci"],
        "ensemble": statistics["ensemble"],
        "ties": statistics["majority_ties"],
        "unit": statistics["unit"],
        "aggregate": statistics["aggregate"],
        "reader_aggregate": statistics["reader_aggregate"],
    }


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
