"""The unit of analysis: images, or patients with their images aggregated.

Real cohorts have several images per patient (the paper's development set is
974 studies of 756 patients; BUS-BRA has two views of most lesions). Image
rows treat each image as a case; their intervals must then account for the
patient clusters (alnus.stats.clustered_auc_ci, alnus.clustered). Patient
rows make one case of each patient: the mean (or maximum) of the patient's
image probabilities, positive if any image is positive, and for a reader,
positive if the reader called any image positive (or the majority, or
all). Each patient-level model gets its own threshold, chosen on the
validation set at patient level.
"""

from __future__ import annotations

import logging

import pandas as pd

from alnus.checks import check_choice

log = logging.getLogger(__name__)

UNITS = ("image", "patient")
UNIT_SETTINGS = ("auto", "image", "patient", "both")
AGGREGATES = ("mean", "max")
READER_AGGREGATES = ("any", "majority", "all")


def has_clusters(frame: pd.DataFrame) -> bool:
    """Whether any patient of `frame` (a column `patient`) has several rows."""
    return bool(frame["patient"].duplicated().any())


def resolve_units(setting: str, models: dict[str, dict[str, pd.DataFrame]]) -> tuple[str, ...]:
    """The units to report for config `statistics: unit`.

    Parameters
    ----------
    setting : "auto", "image", "patient" or "both". auto = both where any
        patient has more than one image in a set, image otherwise.
    models : model -> set -> DataFrame with a `patient` column.

    Returns
    -------
    ("image",), ("patient",) or ("image", "patient").
    """
    check_choice(setting, UNIT_SETTINGS, "`statistics: unit`")
    if setting == "auto":
        clustered = any(has_clusters(frame) for sets in models.values() for frame in sets.values())
        return UNITS if clustered else ("image",)
    return UNITS if setting == "both" else (setting,)


def patient_predictions(frame: pd.DataFrame, *, aggregate: str = "mean") -> pd.DataFrame:
    """One model's image predictions on one set as one row per patient.

    Parameters
    ----------
    frame : DataFrame(id, patient, label, probability), checked.
    aggregate : "mean" or "max" of the patient's image probabilities.

    Returns
    -------
    DataFrame(id, patient, label, probability, images): `id` is the patient
    (so that code written for cases works on patients), label 1 if any of
    the patient's images is positive, `images` the number aggregated; in
    order of first appearance.
    """
    check_choice(aggregate, AGGREGATES, "`statistics: aggregate`")
    grouped = frame.groupby("patient", sort=False)
    out = grouped.agg(label=("label", "max"), probability=("probability", aggregate), images=("id", "size"))
    mixed = int((grouped["label"].nunique() > 1).sum())
    if mixed:
        log.info("%d patient(s) have positive and negative images; each counts as positive at patient level", mixed)
    out = out.reset_index()
    return out.assign(id=out["patient"])[["id", "patient", "label", "probability", "images"]]


def patient_reader_calls(calls: pd.DataFrame, *, rule: str = "any") -> pd.DataFrame:
    """Readers' image calls as one call per reader and patient.

    Parameters
    ----------
    calls : DataFrame(id, patient, reader, call, label, set[, score]), checked.
    rule : "any" (positive if the reader called any of the patient's images
        positive), "majority" (at least half of them) or "all".

    Returns
    -------
    DataFrame of the same columns, `id` the patient; a score, where given,
    is the maximum (any), mean (majority) or minimum (all) of the images'.
    """
    check_choice(rule, READER_AGGREGATES, "`statistics: reader_aggregate`")
    how = {"any": "max", "majority": "mean", "all": "min"}[rule]
    agg = {"label": ("label", "max"), "call": ("call", "mean")}
    if "score" in calls.columns:
        agg["score"] = ("score", how)
    out = calls.groupby(["set", "reader", "patient"], sort=False).agg(**agg).reset_index()
    share = out["call"]
    out["call"] = {"any": share > 0, "majority": share >= 0.5, "all": share == 1}[rule].astype(int)
    columns = ["id", "patient", "reader", "call", *(["score"] if "score" in calls.columns else []), "label", "set"]
    return out.assign(id=out["patient"])[columns]


def check_patient_sets(splits: pd.DataFrame, *, source: str = "results/splits.csv") -> list[str]:
    """Problems with the patients of splits.csv: a patient of one cohort whose
    images fall in two sets (the split keeps a patient's images together, so
    the file was edited or comes from another run).

    splits : DataFrame(id, patient, cohort, set). Returns messages, one per
    patient (at most 20, then a count), each with the file's line numbers.
    """
    sets = splits.groupby(["cohort", "patient"], sort=False)["set"].nunique()
    split = sets[sets > 1]
    problems = []
    for cohort, patient in split.index[:20]:
        rows = splits[(splits["cohort"] == cohort) & (splits["patient"] == patient)]
        lines = ", ".join(str(i + 2) for i in rows.index[:6])
        problems.append(
            f"{source} lines {lines}: patient {patient!r} ({cohort}) has images in "
            f"{', '.join(sorted(set(rows['set'])))}; a patient's images belong in one set. "
            "Delete results/splits.csv and rerun (rule split)"
        )
    if len(split) > 20:
        problems.append(f"... and {len(split) - 20} more patients in two sets")
    return problems


def check_prediction_patients(frame: pd.DataFrame, splits: pd.DataFrame, *, path: str) -> list[str]:
    """Problems where a prediction file's patients disagree with splits.csv.

    frame : the file's DataFrame(id, patient, ...); splits : splits.csv.
    Returns messages naming the file, line and fix.
    """
    owner = splits.drop_duplicates("id").set_index("id")["patient"]
    known = frame["id"].isin(owner.index)
    problems = [
        f"{path} line {i + 2}: id {frame.at[i, 'id']!r} is not in results/splits.csv; rerun rule predict"
        for i in frame.index[~known][:5]
    ]
    expected = frame.loc[known, "id"].map(owner)
    wrong = frame.index[known][(frame.loc[known, "patient"] != expected).to_numpy()]
    problems += [
        f"{path} line {i + 2}: id {frame.at[i, 'id']!r} has patient {frame.at[i, 'patient']!r}, but "
        f"results/splits.csv says {expected[i]!r}; rerun rule predict (the predictions are older than "
        "the split)"
        for i in wrong[:5]
    ]
    hidden = max(0, int((~known).sum()) - 5) + max(0, len(wrong) - 5)  # rows beyond the five shown of each
    if hidden:
        problems.append(f"{path}: ... and {hidden} more such rows")
    return problems
