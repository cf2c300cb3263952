"""Comparisons for results/tables/comparisons.csv.

Model against model: DeLong's paired test of the AUCs for each pair of
architectures (and the ensemble) on each test set, or, where a patient has
several images, Obuchowski's clustered paired test (`clustered_auc_test`). Model against reader (and
against the readers' majority vote), on the cases that reader read, at the
model's frozen threshold: sensitivity on the positives and specificity on the
negatives, by the independent two-proportion test the paper used (Pearson
chi-square by default) and by McNemar's exact test, the right one for paired
readings, and where a patient has several images by Durkalski's clustered
McNemar test. Every comparison is made at each unit of analysis (image,
patient; `unit` column). Holm-adjusted P values are added within each family
of tests of one kind on one set (same unit, set, measure and test).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from alnus.clustered import clustered_mcnemar_test
from alnus.predictions import TEST_SETS, align_predictions, read_predictions
from alnus.reader_calls import read_readers
from alnus.stats import clustered_auc_test, delong_ci, delong_test, mcnemar_test, proportion_test
from alnus.study_inputs import study_units
from alnus.vocabulary import CLINICAL_MODEL, MAJORITY, image_model_of, is_image_only, model_kind


def model_pairs(models: list[str]) -> list[tuple[str, str]]:
    """The AUC comparisons among `models`: every pair of image-only models
    (architectures, ensemble), then each combined model against its image
    model (what the clinical variables add) and against the clinical-only
    model (what the network adds)."""
    image = [m for m in models if is_image_only(m)]
    pairs = list(combinations(image, 2))
    for model in (m for m in models if model_kind(m) == "combined"):
        if image_model_of(model) in models:
            pairs.append((model, image_model_of(model)))
        if CLINICAL_MODEL in models:
            pairs.append((model, CLINICAL_MODEL))
    return pairs


COMPARISON_COLUMNS = [
    "set",
    "a",
    "b",
    "measure",
    "statistic",
    "p",
    "p_holm",
    "test",
    "unit",
    "n",
    "a_value",
    "b_value",
    "difference",
    "detail",
    "family",
]
# `family`: "image" for the image-only models' comparisons (each other, the
# readers), "clinical" for those of the combined and clinical-only models;
# each is its own Holm family, so adding clinical variables leaves the image
# models' adjusted P values as they were.
HOLM_FAMILY = ["unit", "set", "measure", "test", "family"]


def model_pair_rows(frames: dict[str, pd.DataFrame], *, set_name: str, clustered: bool = True) -> list[dict]:
    """The paired AUC test for each pair of models on one set.

    Parameters
    ----------
    frames : model -> checked DataFrame(id, patient, label, probability) on
        this set.
    set_name : the set, for the rows and error messages.
    clustered : where a patient has several cases, Obuchowski's clustered
        test (test "obuchowski") instead of DeLong's (test "delong").

    Returns
    -------
    list of dict, one per pair of `model_pairs` (in the order of `frames`),
    measure "auc", statistic z, family "image" or "clinical".

    Raises
    ------
    ValueError
        If the models cover different cases (see `alnus.metrics.align_predictions`).
    """
    table = align_predictions(frames, set_name=set_name)
    labels, patients = table["label"].to_numpy(), table["patient"].to_numpy()
    use = clustered and len(set(patients)) < len(patients)
    auc = {m: delong_ci(labels, table[m].to_numpy(), name=f"{m} on {set_name}")[0] for m in frames}
    detail = f"{int(labels.sum())} positives, {int((labels == 0).sum())} negatives"
    if use:
        detail += f", {len(set(patients))} patients"
    rows = []
    for a, b in model_pairs(list(frames)):
        name = f"{a} vs {b} on {set_name}"
        if use:
            z, p = clustered_auc_test(labels, table[a].to_numpy(), table[b].to_numpy(), patients, name=name)
        else:
            z, p = delong_test(labels, table[a].to_numpy(), table[b].to_numpy(), name=name)
        rows.append(
            {
                "set": set_name,
                "a": a,
                "b": b,
                "measure": "auc",
                "statistic": z,
                "p": p,
                "test": "obuchowski" if use else "delong",
                "n": len(labels),
                "a_value": auc[a],
                "b_value": auc[b],
                "difference": auc[a] - auc[b],
                "detail": detail,
                "family": "image" if is_image_only(a) else "clinical",
            }
        )
    return rows


def paired_calls(
    frame: pd.DataFrame, threshold: float, calls: pd.DataFrame, *, model: str, reader: str, set_name: str
) -> pd.DataFrame:
    """A model's calls at its threshold beside a reader's, on the reader's cases.

    Parameters
    ----------
    frame : the model's checked DataFrame(id, patient, label, probability) on the set.
    threshold : the model's frozen threshold (probability >= threshold: positive).
    calls : the reader's DataFrame(id, call, label) on the set.

    Returns
    -------
    DataFrame(id, patient, label, model, reader) with 0/1 calls, shape (n_read, 5).

    Raises
    ------
    ValueError
        If the reader read a case the model has no prediction for.
    """
    cases = calls[["id", "label", "call"]].merge(frame[["id", "patient", "probability"]], on="id", how="left")
    if cases["probability"].isna().any():
        raise ValueError(
            f"{model} on {set_name}: no prediction for case {cases['id'][cases['probability'].isna()].iloc[0]!r} "
            f"that {reader} read; rerun rules predict and readers"
        )
    model_calls = (cases["probability"].to_numpy() >= threshold).astype(int)
    return pd.DataFrame(
        {
            "id": cases["id"],
            "patient": cases["patient"],
            "label": cases["label"],
            "model": model_calls,
            "reader": cases["call"],
        }
    )


def reader_comparison_rows(
    cases: pd.DataFrame, *, model: str, reader: str, set_name: str, test: str = "chi2", clustered: bool = True
) -> list[dict]:
    """Sensitivity and specificity of a model against a reader on the same cases.

    Parameters
    ----------
    cases : DataFrame(id, patient, label, model, reader) from `paired_calls`.
    test : the independent two-proportion test of `alnus.stats.proportion_test`.
    clustered : where a patient has several cases, add Durkalski's clustered
        McNemar test (test "mcnemar_clustered").

    Returns
    -------
    list of dict: sensitivity by `test`, by McNemar (and clustered McNemar),
    then specificity. a is the model, b the reader; statistic is X^2 for the
    chi-square tests and NaN for the exact tests.

    Raises
    ------
    ValueError
        If the reader read no positive (negative) case, so that sensitivity
        (specificity) is undefined.
    """
    rows = []
    for measure, truth in (("sensitivity", 1), ("specificity", 0)):
        subset = cases[cases["label"] == truth]
        n = len(subset)
        if n == 0:
            kind = "positive" if truth else "negative"
            raise ValueError(f"{reader} on {set_name}: read no {kind} case, so {measure} cannot be compared")
        right_a, right_b = subset["model"].to_numpy() == truth, subset["reader"].to_numpy() == truth
        k_a, k_b = int(right_a.sum()), int(right_b.sum())
        common = {
            "set": set_name,
            "a": model,
            "b": reader,
            "measure": measure,
            "n": n,
            "a_value": k_a / n,
            "b_value": k_b / n,
            "difference": (k_a - k_b) / n,
        }
        statistic, p = proportion_test(k_a, n, k_b, n, test=test)
        rows.append(common | {"statistic": statistic, "p": p, "test": test, "detail": f"{k_a}/{n} vs {k_b}/{n}"})
        rows += [common | row for row in _mcnemar_rows(right_a, right_b, subset["patient"].to_numpy(), clustered)]
    return rows


def _mcnemar_rows(right_a: np.ndarray, right_b: np.ndarray, patients: np.ndarray, clustered: bool) -> list[dict]:
    """The paired tests of whether a and b were right on the same cases:
    McNemar's, and Durkalski's clustered one where `clustered` and a patient
    has several cases; each as statistic, p, test and detail."""
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    detail = f"discordant: {only_a} a right, {only_b} b right"
    rows = [{"statistic": np.nan, "p": mcnemar_test(right_a, right_b), "test": "mcnemar", "detail": detail}]
    if clustered and len(set(patients)) < len(patients):
        rows.append(
            {
                "statistic": np.nan,
                "p": clustered_mcnemar_test(right_a, right_b, patients),
                "test": "mcnemar_clustered",
                "detail": f"{detail}; {len(set(patients))} patients",
            }
        )
    return rows


def add_holm(table: pd.DataFrame) -> pd.DataFrame:
    """Fill p_holm: Holm's step-down adjustment within each (set, measure,
    test) family, by statsmodels' multipletests."""
    adjusted = table.groupby(HOLM_FAMILY, sort=False)["p"].transform(lambda p: multipletests(p, method="holm")[1])
    return table.assign(p_holm=adjusted)


def comparisons_table(
    predictions: dict[str, dict[str, pd.DataFrame]],
    readers: pd.DataFrame | None = None,
    *,
    threshold="youden",
    proportion_test: str = "chi2",
    ensemble: bool = True,
    ties: str = "positive",
    unit: str = "auto",
    aggregate: str = "mean",
    reader_aggregate: str = "any",
    clustered: bool = True,
) -> pd.DataFrame:
    """Build results/tables/comparisons.csv.

    Parameters
    ----------
    predictions : model -> set -> DataFrame(id, patient, label, probability).
    readers : DataFrame(id, patient, reader, call, label, set), or None.
    threshold : threshold policy, as `alnus.metrics.metrics_table`: each
        model's threshold is chosen on its validation predictions alone, by
        the same code and so to the same value as in metrics.csv (which
        prints it rounded), at each unit.
    proportion_test : {"chi2", "chi2_yates", "fisher"}, default "chi2" (the paper's).
    ensemble, ties, unit, aggregate, reader_aggregate, clustered : as
        `alnus.metrics.metrics_table`.

    Returns
    -------
    DataFrame with COMPARISON_COLUMNS, one row per comparison: per unit and
    test set, the model pairs of `model_pairs` (DeLong or Obuchowski), then
    each reader (the majority vote last) against each image-only model (a
    combined model may use a reader's own reading, BI-RADS, so it is not
    set against the readers).

    Raises
    ------
    ValueError
        For bad predictions or readers' calls, naming model (reader) and set.
    """
    rows, test = [], proportion_test  # the option shadows the function `proportion_test`
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
        at_unit = []
        for set_name in TEST_SETS:
            at_unit += model_pair_rows(
                {m: sets[set_name] for m, sets in models.items()}, set_name=set_name, clustered=clustered
            )
            if calls is not None:
                here = calls[calls["set"] == set_name]
                at_unit += _reader_rows(models, thresholds, here, set_name=set_name, test=test, clustered=clustered)
        rows += [row | {"unit": level_unit} for row in at_unit]
    return add_holm(pd.DataFrame(rows, columns=COMPARISON_COLUMNS))


def _reader_rows(
    models: dict, thresholds: dict[str, float], here: pd.DataFrame, *, set_name: str, test: str, clustered: bool
) -> list[dict]:
    """Each reader (by name, the majority vote last) against each image-only
    model on one test set: `reader_comparison_rows` of their paired calls,
    in family "image". here : the readers' calls on that set."""
    names = sorted(set(here["reader"]) - {MAJORITY}) + ([MAJORITY] if (here["reader"] == MAJORITY).any() else [])
    rows = []
    for reader in names:
        for model, sets in ((m, sets) for m, sets in models.items() if is_image_only(m)):
            cases = paired_calls(
                sets[set_name],
                thresholds[model],
                here[here["reader"] == reader],
                model=model,
                reader=reader,
                set_name=set_name,
            )
            rows += [
                row | {"family": "image"}
                for row in reader_comparison_rows(
                    cases, model=model, reader=reader, set_name=set_name, test=test, clustered=clustered
                )
            ]
    return rows


def comparisons_from_files(
    prediction_csvs: list[str], readers_csv: str | None, *, splits_csv: str | None = None, **options
) -> pd.DataFrame:
    """comparisons_table over results/predictions/{model}/{set}.csv (checked
    against `splits_csv`) and the readers' table; options as for
    comparisons_table."""
    return comparisons_table(read_predictions(prediction_csvs, splits_csv), read_readers(readers_csv), **options)
