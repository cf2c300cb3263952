"""Checked predictions: each model's scores on each set, read and verified once.

What every statistics table starts from: prediction files
(results/predictions/{model}/{set}.csv) read and checked against splits.csv,
each model's frame checked (ids, labels, probabilities, patients), the
architectures' ensemble added, and frames taken to the patient level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alnus.patients import check_patient_sets, check_prediction_patients, patient_predictions
from alnus.stats import check_binary_scores
from alnus.vocabulary import ENSEMBLE, PREDICTION_SETS, TEST_SETS, model_kind  # noqa: F401 (TEST_SETS: re-exported)

PREDICTION_COLUMNS = ("id", "patient", "label", "probability")


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


def unit_predictions(models: dict, unit: str, *, aggregate: str = "mean") -> dict:
    """`models` (model -> set -> checked image frame) at `unit`: unchanged
    for "image", one row per patient for "patient" (`patient_predictions`)."""
    if unit == "image":
        return models
    return {m: {s: patient_predictions(f, aggregate=aggregate) for s, f in sets.items()} for m, sets in models.items()}


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


def read_seed_predictions(prediction_csvs: list[str]) -> dict[str, dict[str, dict[str, pd.DataFrame]]]:
    """Files named results/predictions/{arch}/seed-{n}/{set}.csv -> arch -> "seed-{n}" -> set -> DataFrame."""
    runs: dict[str, dict[str, dict[str, pd.DataFrame]]] = {}
    for path in map(Path, prediction_csvs):
        runs.setdefault(path.parent.parent.name, {}).setdefault(path.parent.name, {})[path.stem] = pd.read_csv(
            path, dtype={"id": str}
        )
    return runs
