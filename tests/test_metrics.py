"""Tests for alnus.metrics: the results table and its operating threshold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alnus.metrics import METRICS_COLUMNS, binary_metrics, metrics_from_files, metrics_table
from alnus.stats import delong_ci, proportion_ci, youden_threshold

# The columns DESIGN.md ("Outputs", results/tables/metrics.csv) requires at least.
DESIGN_METRICS_COLUMNS = [
    "model", "set", "n", "positives", "auc", "auc_low", "auc_high", "threshold",
    "sensitivity", "sensitivity_low", "sensitivity_high", "specificity", "specificity_low", "specificity_high",
    "accuracy", "accuracy_low", "accuracy_high", "tp", "fp", "tn", "fn",
]  # fmt: skip


def percent(x: float) -> int:
    """Round to a whole percent, halves up, as the paper does (72.5% -> 73%)."""
    return math.floor(100 * x + 0.5)


def predictions(positives: list[float], negatives: list[float], prefix: str) -> pd.DataFrame:
    """DataFrame(id, label, probability), positives first."""
    scores = positives + negatives
    return pd.DataFrame({
        "id": [f"{prefix}{i:03d}" for i in range(len(scores))],
        "label": [1] * len(positives) + [0] * len(negatives),
        "probability": scores,
    })  # fmt: skip


# Validation: Youden's J is highest (5/6) at 0.6 and nowhere else.
VALIDATION = predictions([0.6, 0.7, 0.8, 0.9], [0.1, 0.2, 0.3, 0.4, 0.5, 0.65], "v")
# Internal test: its own Youden threshold would be 0.35; at 0.6 it has tp 2, fn 2, tn 5, fp 0.
INTERNAL = predictions([0.35, 0.45, 0.62, 0.85], [0.05, 0.15, 0.25, 0.3, 0.5], "i")
# External test: at 0.6 it has tp 2, fn 1, tn 3, fp 1.
EXTERNAL = predictions([0.3, 0.61, 0.7], [0.1, 0.2, 0.55, 0.65], "e")
MODEL = {"validation": VALIDATION, "internal_test": INTERNAL, "external_test": EXTERNAL}


def reader_calls() -> pd.DataFrame:
    """R1 reads both test sets, R2 only the external one."""
    rows = []
    for reader, set_name, frame, calls in [
        ("R1", "internal_test", INTERNAL, [1, 1, 0, 1, 0, 0, 1, 0, 0]),
        ("R1", "external_test", EXTERNAL, [1, 0, 1, 0, 0, 1, 0]),
        ("R2", "external_test", EXTERNAL, [1, 1, 1, 1, 0, 0, 0]),
    ]:
        rows.append(pd.DataFrame({"id": frame["id"], "reader": reader, "call": calls,
                                  "label": frame["label"], "set": set_name}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


# --- binary_metrics ----------------------------------------------------------------


@pytest.mark.parametrize("method", ["wilson_cc", "wilson", "exact"])
def test_binary_metrics_counts_and_intervals(method):
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    calls = [1, 1, 1, 0, 0, 0, 0, 0, 1, 1]
    row = binary_metrics(np.array(labels), np.array(calls), level=0.95, method=method)
    assert (row["tp"], row["fn"], row["tn"], row["fp"]) == (3, 1, 4, 2)
    for name, k, n in [("sensitivity", 3, 4), ("specificity", 4, 6), ("accuracy", 7, 10)]:
        assert row[name] == pytest.approx(k / n)
        low, high = proportion_ci(k, n, level=0.95, method=method)
        assert (row[f"{name}_low"], row[f"{name}_high"]) == pytest.approx((low, high))


def test_binary_metrics_reproduces_the_paper_sensitivity():
    # Inception V3 on hospital B: sensitivity 85% (35 of 41; 95% CI 70%, 94%).
    labels = np.r_[np.ones(41, int), np.zeros(40, int)]
    calls = np.r_[np.ones(35, int), np.zeros(6, int), np.zeros(29, int), np.ones(11, int)]
    row = binary_metrics(labels, calls, level=0.95, method="wilson_cc")
    assert (row["tp"], row["fn"], row["tn"], row["fp"]) == (35, 6, 29, 11)
    assert [percent(row[c]) for c in ("sensitivity", "sensitivity_low", "sensitivity_high")] == [85, 70, 94]
    assert [percent(row[c]) for c in ("specificity", "specificity_low", "specificity_high")] == [73, 56, 85]


def test_binary_metrics_level_widens_intervals():
    labels, calls = np.array([1, 1, 1, 0, 0, 0]), np.array([1, 1, 0, 0, 0, 1])
    narrow = binary_metrics(labels, calls, level=0.8, method="wilson")
    wide = binary_metrics(labels, calls, level=0.99, method="wilson")
    assert wide["sensitivity_low"] < narrow["sensitivity_low"] < narrow["sensitivity_high"] < wide["sensitivity_high"]


# --- metrics_table -----------------------------------------------------------------


def test_columns_are_exactly_metrics_columns_and_cover_design():
    table = metrics_table({"m": MODEL}, reader_calls())
    assert list(table.columns) == METRICS_COLUMNS
    assert set(DESIGN_METRICS_COLUMNS) <= set(table.columns)


def test_youden_threshold_from_validation_is_applied_unchanged_to_test_sets():
    validation_cut = youden_threshold(VALIDATION["label"], VALIDATION["probability"])
    assert validation_cut == 0.6
    assert youden_threshold(INTERNAL["label"], INTERNAL["probability"]) != validation_cut  # the data make it matter

    table = metrics_table({"inception_v3": MODEL}).set_index("set")
    assert list(table.index) == ["internal_test", "external_test"]
    assert (table["threshold"] == validation_cut).all()
    counts = table[["tp", "fn", "tn", "fp"]].astype(int)
    assert counts.loc["internal_test"].tolist() == [2, 2, 5, 0]
    assert counts.loc["external_test"].tolist() == [2, 1, 3, 1]


def test_model_row_values():
    row = metrics_table({"inception_v3": MODEL}).set_index("set").loc["internal_test"]
    assert (row["model"], row["kind"], row["n"], row["positives"]) == ("inception_v3", "model", 9, 4)
    auc, low, high = delong_ci(INTERNAL["label"], INTERNAL["probability"])
    assert (row["auc"], row["auc_low"], row["auc_high"]) == pytest.approx((auc, low, high))
    assert row["sensitivity"] == pytest.approx(2 / 4)
    assert row["specificity"] == pytest.approx(5 / 5)
    assert row["accuracy"] == pytest.approx(7 / 9)


@pytest.mark.parametrize(
    "threshold, internal_counts",
    [
        pytest.param(0.4, [3, 1, 4, 1], id="0.4"),
        pytest.param(0.5, [2, 2, 4, 1], id="0.5 calls a score of exactly 0.5 positive"),
        pytest.param(0.9, [0, 4, 5, 0], id="0.9"),
    ],
)
def test_fixed_threshold_policy(threshold, internal_counts):
    table = metrics_table({"m": MODEL}, threshold=threshold).set_index("set")
    assert (table["threshold"] == threshold).all()
    assert table.loc["internal_test", ["tp", "fn", "tn", "fp"]].astype(int).tolist() == internal_counts


def test_one_row_per_model_and_test_set_models_first():
    table = metrics_table({"inception_v3": MODEL, "resnet101": MODEL}, reader_calls())
    assert list(zip(table["model"], table["set"])) == [
        ("inception_v3", "internal_test"), ("inception_v3", "external_test"),
        ("resnet101", "internal_test"), ("resnet101", "external_test"),
        ("R1", "external_test"), ("R1", "internal_test"), ("R2", "external_test"),
    ]  # fmt: skip
    assert list(table["kind"]) == ["model"] * 4 + ["reader"] * 3


def test_reader_rows_have_no_threshold_and_auc_is_mean_of_sensitivity_and_specificity():
    readers = metrics_table({"m": MODEL}, reader_calls()).query("kind == 'reader'")
    assert readers["threshold"].isna().all()
    balanced = (readers["sensitivity"] + readers["specificity"]) / 2
    assert readers["auc"].to_numpy() == pytest.approx(balanced.to_numpy())
    r1 = readers.set_index(["model", "set"]).loc[("R1", "internal_test")]
    assert [int(r1[c]) for c in ("tp", "fn", "tn", "fp")] == [3, 1, 4, 1]


@pytest.mark.parametrize("readers", [None, pd.DataFrame(columns=["id", "reader", "call", "label", "set"])])
def test_no_readers_gives_model_rows_only(readers):
    table = metrics_table({"m": MODEL}, readers)
    assert list(table["kind"]) == ["model", "model"]


def test_level_and_method_are_passed_through():
    default = metrics_table({"m": MODEL}).iloc[0]
    other = metrics_table({"m": MODEL}, level=0.9, method="exact").iloc[0]
    low, high = proportion_ci(2, 4, level=0.9, method="exact")
    assert (other["sensitivity_low"], other["sensitivity_high"]) == pytest.approx((low, high))
    assert other["auc_high"] - other["auc_low"] < default["auc_high"] - default["auc_low"]


# --- metrics_from_files --------------------------------------------------------------


def test_metrics_from_files_reads_the_predictions_layout(tmp_path):
    root = tmp_path / "results" / "predictions"
    files = []
    for model in ("inception_v3", "resnet101"):
        for set_name, frame in MODEL.items():
            path = root / model / f"{set_name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, index=False)
            files.append(str(path))
    readers_csv = tmp_path / "results" / "readers.csv"
    reader_calls().to_csv(readers_csv, index=False)

    table = metrics_from_files(files, str(readers_csv), threshold="youden", level=0.95, method="wilson_cc")
    expected = metrics_table({"inception_v3": MODEL, "resnet101": MODEL}, reader_calls())
    pd.testing.assert_frame_equal(table, expected)


def test_metrics_from_files_without_readers(tmp_path):
    files = []
    for set_name, frame in MODEL.items():
        path = tmp_path / "m" / f"{set_name}.csv"
        path.parent.mkdir(exist_ok=True)
        frame.to_csv(path, index=False)
        files.append(path)
    table = metrics_from_files(files, None)
    assert list(table["model"]) == ["m", "m"]
    assert (table["threshold"] == 0.6).all()
