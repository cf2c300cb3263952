"""Tests for the unit of analysis (alnus.patients) and the image and patient
rows of metrics.csv and comparisons.csv built on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alnus.clustered import clustered_proportion_ci
from alnus.comparisons import comparisons_table
from alnus.metrics import metrics_table, read_predictions
from alnus.patients import (
    check_patient_sets,
    patient_predictions,
    patient_reader_calls,
    resolve_units,
)
from alnus.stats import clustered_auc_ci, delong_ci, proportion_ci, youden_threshold


def clustered_set(prefix: str, n_patients: int, seed: int) -> pd.DataFrame:
    """1-3 images per patient, scores correlated within a patient."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_patients):
        label = int(k % 2 == 0)
        effect = rng.normal(1.2 * label, 1)
        for view in range(1 + k % 3):
            rows.append(
                {
                    "id": f"{prefix}{k:03d}-{view}",
                    "patient": f"{prefix}p{k:03d}",
                    "label": label,
                    "probability": 1 / (1 + np.exp(-(effect + 0.5 * rng.normal()))),
                }
            )
    return pd.DataFrame(rows)


MODEL = {
    "validation": clustered_set("v", 30, 1),
    "internal_test": clustered_set("i", 24, 2),
    "external_test": clustered_set("e", 36, 3),
}


def readers() -> pd.DataFrame:
    frame = MODEL["external_test"]
    rng = np.random.default_rng(4)
    rows = []
    for reader in ("R1", "R2", "R3"):
        score = 60 * frame["label"] + rng.normal(20, 25, len(frame))
        rows.append(
            frame[["id", "patient", "label"]].assign(
                reader=reader, call=(score > 50).astype(int), score=score, set="external_test"
            )
        )
    return pd.concat(rows, ignore_index=True)


# --- alnus.patients ----------------------------------------------------------------------


def test_patient_predictions_aggregate_each_patient():
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "patient": ["p", "p", "q", "r"],
            "label": [0, 1, 0, 0],
            "probability": [0.2, 0.6, 0.3, 0.9],
        }
    )
    mean = patient_predictions(frame, aggregate="mean")
    assert mean.to_dict("list") == {
        "id": ["p", "q", "r"],
        "patient": ["p", "q", "r"],
        "label": [1, 0, 0],
        "probability": [pytest.approx(0.4), 0.3, 0.9],
        "images": [2, 1, 1],
    }
    assert patient_predictions(frame, aggregate="max")["probability"].tolist() == [0.6, 0.3, 0.9]
    with pytest.raises(ValueError, match=r"`statistics: aggregate` must be one of .*, got 'median'"):
        patient_predictions(frame, aggregate="median")


@pytest.mark.parametrize(
    "rule, calls, scores", [("any", [1, 0], [80, 10]), ("majority", [1, 0], [50, 10]), ("all", [0, 0], [20, 10])]
)
def test_patient_reader_calls_by_rule(rule, calls, scores):
    image = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "patient": ["p", "p", "q"],
            "reader": "R1",
            "call": [1, 0, 0],
            "score": [80.0, 20.0, 10.0],
            "label": [1, 1, 0],
            "set": "external_test",
        }
    )
    out = patient_reader_calls(image, rule=rule)
    assert out["id"].tolist() == ["p", "q"] and out["call"].tolist() == calls
    assert out["score"].tolist() == scores and out["label"].tolist() == [1, 0]


def test_resolve_units():
    single = {"m": {"validation": pd.DataFrame({"patient": ["a", "b"]})}}
    double = {"m": {"validation": pd.DataFrame({"patient": ["a", "a"]})}}
    assert resolve_units("auto", single) == ("image",)
    assert resolve_units("auto", double) == ("image", "patient")
    assert resolve_units("patient", single) == ("patient",) and resolve_units("both", single) == ("image", "patient")
    with pytest.raises(ValueError, match="`statistics: unit` must be one of .*, got 'images'"):
        resolve_units("images", single)


# --- metrics.csv at both units ----------------------------------------------------------


@pytest.fixture(scope="module")
def table():
    return metrics_table({"m": MODEL}, readers(), threshold="youden")


def test_image_rows_have_clustered_intervals(table):
    row = table[(table["unit"] == "image") & (table["model"] == "m") & (table["set"] == "external_test")].iloc[0]
    frame = MODEL["external_test"]
    assert row["ci_method"] == "auc obuchowski_logit; proportions wilson_rao_scott; clustered by patient"
    assert (row["auc"], row["auc_low"], row["auc_high"]) == pytest.approx(
        clustered_auc_ci(frame["label"], frame["probability"], frame["patient"], method="logit")
    )
    calls = (frame["probability"] >= row["threshold"]).astype(int)
    positives = frame["label"] == 1
    expected = clustered_proportion_ci((calls == 1)[positives].to_numpy(), frame["patient"][positives].to_numpy())
    assert (row["sensitivity"], row["sensitivity_low"], row["sensitivity_high"]) == pytest.approx(expected)
    assert (row["n"], row["images"], row["patients"]) == (len(frame), len(frame), frame["patient"].nunique())
    # Wider than the interval that treats the images as independent.
    _, low, high = delong_ci(frame["label"], frame["probability"])
    assert row["auc_high"] - row["auc_low"] > high - low


def test_patient_rows_aggregate_and_freeze_their_own_threshold(table):
    rows = table[(table["unit"] == "patient") & (table["model"] == "m")].set_index("set")
    validation = patient_predictions(MODEL["validation"])
    assert rows["threshold"].iloc[0] == youden_threshold(validation["label"], validation["probability"])
    external = patient_predictions(MODEL["external_test"])
    row = rows.loc["external_test"]
    assert row["n"] == row["patients"] == 36 and row["images"] == len(MODEL["external_test"])
    assert row["ci_method"] == "auc delong; proportions wilson_cc"
    assert (row["auc"], row["auc_low"], row["auc_high"]) == pytest.approx(
        delong_ci(external["label"], external["probability"])
    )
    tp = int(((external["probability"] >= row["threshold"]) & (external["label"] == 1)).sum())
    assert (row["tp"], row["sensitivity_low"]) == (tp, pytest.approx(proportion_ci(tp, 18)[0]))


def test_reader_rows_use_scores_and_patient_calls(table):
    image = table[(table["unit"] == "image") & (table["model"] == "R1")].iloc[0]
    calls = readers().query("reader == 'R1'")
    assert image["auc"] == pytest.approx(clustered_auc_ci(calls["label"], calls["score"], calls["patient"])[0])
    wald = metrics_table({"m": MODEL}, threshold="youden", unit="image", clustered_auc="wald").iloc[1]
    frame = MODEL["external_test"]
    assert (wald["auc_low"], wald["auc_high"]) == pytest.approx(
        clustered_auc_ci(frame["label"], frame["probability"], frame["patient"])[1:]
    )
    patient = table[(table["unit"] == "patient") & (table["model"] == "R1")].iloc[0]
    expected = patient_reader_calls(calls, rule="any")
    assert patient["tp"] == int(((expected["call"] == 1) & (expected["label"] == 1)).sum())
    assert set(table.loc[table["kind"] == "majority", "unit"]) == {"image", "patient"}


def test_unclustered_image_rows_say_they_assume_independence():
    table = metrics_table({"m": MODEL}, threshold="youden", clustered=False, unit="image")
    assert set(table["unit"]) == {"image"}
    assert table["ci_method"].eq("auc delong; proportions wilson_cc; assumes independent images").all()
    frame = MODEL["internal_test"]
    row = table.set_index("set").loc["internal_test"]
    assert (row["auc_low"], row["auc_high"]) == pytest.approx(delong_ci(frame["label"], frame["probability"])[1:])


def test_patient_bootstrap_for_every_figure():
    table = metrics_table({"m": MODEL}, threshold="youden", auc_ci="bootstrap", n_resamples=200, seed=1, unit="image")
    row = table.set_index("set").loc["external_test"]
    assert row["ci_method"].startswith("patient bootstrap (200 resamples")
    for measure in ("auc", "sensitivity", "specificity", "accuracy"):
        assert row[f"{measure}_low"] <= row[measure] <= row[f"{measure}_high"]
    again = metrics_table({"m": MODEL}, threshold="youden", auc_ci="bootstrap", n_resamples=200, seed=1, unit="image")
    pd.testing.assert_frame_equal(table, again)


def test_comparisons_at_both_units_with_clustered_tests():
    other = {s: f.assign(probability=f["probability"] ** 2) for s, f in MODEL.items()}
    table = comparisons_table({"a": MODEL, "b": other}, readers(), threshold="youden")
    assert list(dict.fromkeys(table["unit"])) == ["image", "patient"]
    image = table[table["unit"] == "image"]
    assert set(image.loc[image["measure"] == "auc", "test"]) == {"obuchowski"}
    assert "mcnemar_clustered" in set(image["test"])
    patient = table[table["unit"] == "patient"]
    assert set(patient.loc[patient["measure"] == "auc", "test"]) == {"delong"}
    assert "mcnemar_clustered" not in set(patient["test"])


# --- bad input: predictions against splits.csv -------------------------------------------


def write(path, frame):
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return str(path)


def test_prediction_files_are_checked_against_the_split_all_problems_together(tmp_path):
    splits = pd.concat(
        [
            f[["id", "patient"]].assign(cohort="external" if s == "external_test" else "development", set=s)
            for s, f in MODEL.items()
        ],
        ignore_index=True,
    )
    splits.loc[1, "set"] = "train"  # patient vp001 now has images in train and validation
    splits_csv = write(tmp_path / "splits.csv", splits)
    internal = MODEL["internal_test"].copy()
    internal.loc[3, "patient"] = "someone-else"
    files = [
        write(tmp_path / "m" / "validation.csv", MODEL["validation"]),
        write(tmp_path / "m" / "internal_test.csv", internal),
        write(tmp_path / "m" / "external_test.csv", MODEL["external_test"].drop(columns="patient")),
        write(tmp_path / "m2" / "validation.csv", MODEL["validation"].assign(patient="one")),
    ]
    with pytest.raises(ValueError) as error:
        read_predictions(files, splits_csv)
    message = str(error.value)
    assert "splits.csv lines 3, 4: patient 'vp001' (development) has images in train, validation" in message
    assert f"{files[1]} line 5: id 'i002-0' has patient 'someone-else', but results/splits.csv says 'ip002'" in message
    assert f"{files[2]}: no column(s) patient" in message and "rerun rule predict" in message
    assert f"{files[3]}: all {len(MODEL['validation'])} rows are images of one patient" in message


def test_check_patient_sets_passes_a_good_split():
    splits = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "patient": ["p", "p", "q"],
            "cohort": "development",
            "set": ["train", "train", "validation"],
        }
    )
    assert check_patient_sets(splits) == []
