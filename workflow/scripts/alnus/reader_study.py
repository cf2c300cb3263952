"""results/tables/mrmc.csv: each model against the average radiologist.

The paper compared the model with each of five radiologists in turn;
reviewers now treat the readers as a random sample of radiologists and ask
whether the model differs from the average reader, with readers and cases
both as sources of variance: the one-treatment Obuchowski-Rockette analysis
with Hillis' degrees of freedom of `alnus.mrmc.model_vs_readers`, for
sensitivity and specificity from the binary calls (each model at its
threshold frozen on validation) and for AUC where every reader gave a
confidence `score`. At image level the jackknife leaves out a patient at a
time (the cluster jackknife), so a patient's images count as one unit.

The analysis needs a fully crossed design: the cases that every reader of
the set read (others are left out, and the log says how many).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from alnus.metrics import MAJORITY, TEST_SETS, read_predictions, read_readers, study_units
from alnus.mrmc import model_vs_readers

log = logging.getLogger(__name__)

MRMC_COLUMNS = [
    "unit",
    "set",
    "model",
    "figure",
    "model_value",
    "mean_reader",
    "difference",
    "low",
    "high",
    "t",
    "ddf",
    "p",
    "se",
    "var_reader",
    "var_error",
    "cov2",
    "n_readers",
    "n_cases",
    "n_positives",
    "n_negatives",
    "n_units",
    "resampling",
]


def crossed_cases(calls: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """The readers of one set and the cases all of them read, as a wide table.

    calls : DataFrame(id, patient, reader, call, label[, score]) of one set,
    the majority vote left out. Returns (readers, DataFrame indexed by id
    with label, patient, and call_<reader> / score_<reader> columns).
    """
    readers = sorted(set(calls["reader"]))
    values = ["call"] + (["score"] if "score" in calls.columns and calls["score"].notna().all() else [])
    wide = calls.pivot(index="id", columns="reader", values=values)
    wide.columns = [f"{value}_{reader}" for value, reader in wide.columns]
    cases = calls.drop_duplicates("id").set_index("id")[["label", "patient"]]
    full = wide.dropna().join(cases)
    if len(full) < len(wide):
        log.info("MRMC: %d of %d cases were read by every reader and enter the analysis", len(full), len(wide))
    return readers, full


def mrmc_rows(
    frame: pd.DataFrame, threshold: float, calls: pd.DataFrame, *, model: str, set_name: str, unit: str, level: float
) -> list[dict]:
    """The analysis of one model against the readers of one set.

    frame : the model's checked predictions on the set (id, patient, label,
    probability); calls : the readers' calls on the set. Returns rows for
    sensitivity, specificity and, where every reader gave a score, AUC.
    """
    readers, cases = crossed_cases(calls)
    cases = cases.join(frame.set_index("id")["probability"], how="inner")
    clusters = cases["patient"].to_numpy() if unit == "image" else None
    labels, probability = cases["label"].to_numpy(int), cases["probability"].to_numpy(float)
    figures = [("sensitivity", "call", threshold), ("specificity", "call", threshold)]
    if all(f"score_{r}" in cases.columns for r in readers):
        figures.insert(0, ("auc", "score", None))
    rows = []
    for figure, column, cut in figures:
        scores = np.vstack([cases[f"{column}_{r}"].to_numpy(float) for r in readers])
        result = model_vs_readers(
            labels, probability, scores, figure=figure, threshold=cut, clusters=clusters, level=level
        )
        row = result.as_dict()
        rows.append({"unit": unit, "set": set_name, "model": model, "model_value": row.pop("model"), **row})
    return rows


def mrmc_table(
    predictions: dict[str, dict[str, pd.DataFrame]],
    readers: pd.DataFrame | None,
    *,
    threshold="youden",
    level: float = 0.95,
    ensemble: bool = True,
    ties: str = "positive",
    unit: str = "auto",
    aggregate: str = "mean",
    reader_aggregate: str = "any",
) -> pd.DataFrame:
    """Build results/tables/mrmc.csv: per unit, test set with at least two
    readers, and model (each architecture and the ensemble), the model
    against the average reader (MRMC_COLUMNS). Options as for
    `alnus.metrics.metrics_table`; empty without readers."""
    rows = []
    if readers is None or readers.empty:
        return pd.DataFrame(rows, columns=MRMC_COLUMNS)
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
        calls = calls[calls["reader"] != MAJORITY]
        for set_name in TEST_SETS:
            here = calls[calls["set"] == set_name]
            if here["reader"].nunique() < 2:
                continue
            for model, sets in models.items():
                rows += mrmc_rows(
                    sets[set_name],
                    thresholds[model],
                    here,
                    model=model,
                    set_name=set_name,
                    unit=level_unit,
                    level=level,
                )
    return pd.DataFrame(rows, columns=MRMC_COLUMNS)


def mrmc_from_files(
    prediction_csvs: list[str], readers_csv: str | None, *, splits_csv: str | None = None, **options
) -> pd.DataFrame:
    """mrmc_table over results/predictions/{model}/{set}.csv and the readers' table."""
    return mrmc_table(read_predictions(prediction_csvs, splits_csv), read_readers(readers_csv), **options)
