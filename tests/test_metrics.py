"""Tests for alnus.metrics: the results table and its operating threshold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from design_contract import DESIGN_METRICS_COLUMNS

from alnus.merit import binary_metrics
from alnus.metrics import METRICS_COLUMNS, SEED_COLUMNS, metrics_from_files, metrics_table
from alnus.reader_calls import majority_vote
from alnus.stats import delong_ci, proportion_ci, youden_threshold
from alnus.thresholds import choose_threshold, policy_label


def percent(x: float) -> int:
    """Round to a whole percent, halves up, as the paper does (72.5% -> 73%)."""
    return math.floor(100 * x + 0.5)


def predictions(positives: list[float], negatives: list[float], prefix: str) -> pd.DataFrame:
    """DataFrame(id, label, probability), positives first."""
    scores = positives + negatives
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i:03d}" for i in range(len(scores))],
            "label": [1] * len(positives) + [0] * len(negatives),
            "probability": scores,
        }
    )


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
        rows.append(
            pd.DataFrame({"id": frame["id"], "reader": reader, "call": calls, "label": frame["label"], "set": set_name})
        )
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
        ("inception_v3", "internal_test"),
        ("inception_v3", "external_test"),
        ("resnet101", "internal_test"),
        ("resnet101", "external_test"),
        ("ensemble", "internal_test"),
        ("ensemble", "external_test"),
        ("R1", "external_test"),
        ("R1", "internal_test"),
        ("R2", "external_test"),
        ("readers_majority", "external_test"),
        ("readers_majority", "internal_test"),
    ]
    assert list(table["kind"]) == ["model"] * 4 + ["ensemble"] * 2 + ["reader"] * 3 + ["majority"] * 2


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
    assert (table["n"] == table["n_in_set"]).all()


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
            frame.assign(patient=frame["id"]).to_csv(path, index=False)  # the contract: a patient per row
            files.append(str(path))
    readers_csv = tmp_path / "results" / "readers.csv"
    reader_calls().to_csv(readers_csv, index=False)

    table = metrics_from_files(files, str(readers_csv), threshold="youden", level=0.95, method="wilson_cc")
    expected = metrics_table({"inception_v3": MODEL, "resnet101": MODEL}, reader_calls())
    pd.testing.assert_frame_equal(table[METRICS_COLUMNS], expected)
    assert list(table.columns) == METRICS_COLUMNS + SEED_COLUMNS
    assert "ensemble" in set(table["model"]) and "readers_majority" in set(table["model"])
    models = table["kind"] == "model"
    assert (table.loc[models, "seeds"] == 1).all() and table.loc[~models, "seeds"].isna().all()
    assert (table.loc[models, "auc_seed_mean"] == table.loc[models, "auc"]).all()
    assert table["auc_seed_sd"].isna().all()


def test_metrics_report_the_auc_spread_over_seeds(tmp_path):
    """Further seeds' predictions (results/predictions/{arch}/seed-{n}/) add
    their AUCs to the spread columns; the main row stays the main seed's."""
    root = tmp_path / "predictions"
    flipped = {name: frame.assign(probability=1 - frame["probability"]) for name, frame in MODEL.items()}
    files, seed_files = [], []
    for folder, sets, into in (
        ("inception_v3", MODEL, files),
        ("inception_v3/seed-1", flipped, seed_files),
        ("inception_v3/seed-2", MODEL, seed_files),
    ):
        for set_name, frame in sets.items():
            path = root / folder / f"{set_name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.assign(patient=frame["id"]).to_csv(path, index=False)  # the contract: a patient per row
            into.append(str(path))
    table = metrics_from_files(files, None, seed_prediction_csvs=seed_files).set_index("set")
    for set_name in ("internal_test", "external_test"):
        row, auc = table.loc[set_name], table.loc[set_name, "auc"]
        aucs = np.array([auc, 1 - auc, auc])
        assert row["seeds"] == 3 and row["auc_seed_min"] == pytest.approx(1 - auc)
        assert row["auc_seed_mean"] == pytest.approx(aucs.mean())
        assert row["auc_seed_sd"] == pytest.approx(aucs.std(ddof=1))
        assert row["auc_seed_max"] == pytest.approx(auc)


def test_metrics_from_files_without_readers(tmp_path):
    files = []
    for set_name, frame in MODEL.items():
        path = tmp_path / "m" / f"{set_name}.csv"
        path.parent.mkdir(exist_ok=True)
        frame.assign(patient=frame["id"]).to_csv(path, index=False)  # the contract: a patient per row
        files.append(path)
    table = metrics_from_files(files, None)
    assert list(table["model"]) == ["m", "m"]
    assert (table["threshold"] == 0.6).all()


# --- threshold policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy, threshold, label",
    [
        pytest.param("youden", 0.6, "youden", id="youden"),
        pytest.param(0.45, 0.45, "fixed", id="fixed"),
        pytest.param({"sensitivity": 0.5}, 0.8, "sensitivity>=0.5", id="sens-0.5"),
        pytest.param({"sensitivity": 0.75}, 0.7, "sensitivity>=0.75", id="sens-0.75"),
        pytest.param({"sensitivity": 0.7}, 0.7, "sensitivity>=0.7", id="sens-0.7 (k/n rounding)"),
        pytest.param({"sensitivity": 1.0}, 0.6, "sensitivity>=1", id="sens-1"),
    ],
)
def test_threshold_policies_choose_on_validation(policy, threshold, label):
    # Validation positives score 0.6, 0.7, 0.8, 0.9.
    assert choose_threshold(VALIDATION["label"], VALIDATION["probability"], policy=policy, name="m") == threshold
    table = metrics_table({"m": MODEL}, threshold=policy)
    assert (table["threshold"] == threshold).all()
    assert (table["threshold_policy"] == label).all() and policy_label(policy) == label


def test_threshold_is_frozen_before_the_test_sets():
    """Changing a test set's scores changes its counts but never the threshold."""
    flipped = MODEL | {"external_test": EXTERNAL.assign(probability=1 - EXTERNAL["probability"])}
    for policy in ("youden", {"sensitivity": 0.75}):
        before = metrics_table({"m": MODEL}, threshold=policy)["threshold"]
        after = metrics_table({"m": flipped}, threshold=policy)["threshold"]
        assert before.tolist() == after.tolist()


@pytest.mark.parametrize(
    "policy, message",
    [
        ("median", r"unknown threshold policy 'median'; use 'youden', a probability in \(0, 1\)"),
        (1.5, r"unknown threshold policy 1.5"),
        (True, r"unknown threshold policy True"),
        ({"specificity": 0.9}, r"unknown threshold policy \{'specificity': 0.9\}.*\{'sensitivity': 0.9\}"),
        ({"sensitivity": 0}, r"`target` sensitivity must lie in \(0, 1\], got 0"),
    ],
)
def test_unknown_threshold_policy(policy, message):
    with pytest.raises(ValueError, match=message):
        metrics_table({"m": MODEL}, threshold=policy)


# --- ensemble ----------------------------------------------------------------------


def shifted(model: dict, by: float) -> dict:
    """The same cases with probabilities moved (clipped to [0, 1])."""
    return {s: f.assign(probability=(f["probability"] + by).clip(0, 1)) for s, f in model.items()}


def test_ensemble_is_the_mean_probability_with_its_own_threshold():
    other = {s: f.assign(probability=f["probability"] ** 2) for s, f in MODEL.items()}
    table = metrics_table({"a": MODEL, "b": other})
    ensemble = table[table["kind"] == "ensemble"].set_index("set")
    assert list(ensemble["model"]) == ["ensemble", "ensemble"]
    mean = {s: (MODEL[s]["probability"] + other[s]["probability"]) / 2 for s in MODEL}
    assert (ensemble["threshold"] == youden_threshold(VALIDATION["label"], mean["validation"])).all()
    auc = delong_ci(EXTERNAL["label"], mean["external_test"])
    assert tuple(ensemble.loc["external_test", ["auc", "auc_low", "auc_high"]]) == pytest.approx(auc)


def test_the_ensemble_averages_the_architectures_only_and_clinical_models_follow_it():
    other = {s: f.assign(probability=f["probability"] ** 2) for s, f in MODEL.items()}
    combined = shifted(MODEL, 0.05)
    table = metrics_table({"a": MODEL, "a+clinical": combined, "clinical": shifted(MODEL, -0.05), "b": other})
    image = table.drop_duplicates("model")
    assert list(image["model"]) == ["a", "b", "ensemble", "a+clinical", "clinical"]
    assert list(image["kind"]) == ["model", "model", "ensemble", "combined", "clinical"]
    ensemble = table[table["kind"] == "ensemble"].set_index("set")
    mean = (MODEL["external_test"]["probability"] + other["external_test"]["probability"]) / 2
    assert ensemble.loc["external_test", "auc"] == pytest.approx(delong_ci(EXTERNAL["label"], mean)[0])
    row = table[(table["model"] == "a+clinical") & (table["set"] == "external_test")].iloc[0]
    assert row["threshold"] == youden_threshold(VALIDATION["label"], combined["validation"]["probability"])


def test_ensemble_is_aligned_by_id_not_by_row_order():
    reordered = {s: f.iloc[::-1].reset_index(drop=True) for s, f in MODEL.items()}
    table = metrics_table({"a": MODEL, "b": reordered}).set_index(["model", "set"])
    pd.testing.assert_series_equal(
        table.loc[("ensemble", "external_test")].drop("kind"),
        table.loc[("a", "external_test")].drop("kind"),
        check_names=False,
    )


@pytest.mark.parametrize("models, ensemble", [(["a"], True), (["a", "b"], False)])
def test_no_ensemble_for_one_model_or_when_off(models, ensemble):
    table = metrics_table({m: MODEL for m in models}, ensemble=ensemble)
    assert "ensemble" not in set(table["model"])


# --- readers: majority vote and coverage ----------------------------------------------------


def calls_frame(rows: list[tuple[str, str, int, int]], set_name: str = "external_test") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "reader", "call", "label"]).assign(set=set_name)


@pytest.mark.parametrize(
    "votes, ties, expected",
    [
        pytest.param([1, 1, 0], "positive", 1, id="2 of 3 positive"),
        pytest.param([0, 0, 1], "positive", 0, id="1 of 3 positive"),
        pytest.param([1, 0], "positive", 1, id="tie called positive"),
        pytest.param([1, 0], "negative", 0, id="tie called negative"),
        pytest.param([1, 0, 1, 0], "negative", 0, id="2-2 tie called negative"),
        pytest.param([1], "negative", 1, id="a single reader"),
    ],
)
def test_majority_vote(votes, ties, expected):
    readers = calls_frame([("c1", f"R{i}", v, 1) for i, v in enumerate(votes)])
    vote = majority_vote(readers, ties=ties)
    assert vote.to_dict("records") == [
        {
            "id": "c1",
            "patient": "c1",
            "reader": "readers_majority",
            "call": expected,
            "label": 1,
            "set": "external_test",
        }
    ]


def test_majority_vote_counts_only_readers_of_each_case(caplog):
    readers = calls_frame(
        [("c1", "R1", 1, 1), ("c1", "R2", 1, 1), ("c1", "R3", 0, 1), ("c2", "R1", 0, 0), ("c2", "R2", 1, 0)]
    )
    with caplog.at_level("INFO"):
        vote = majority_vote(readers, ties="negative").set_index("id")["call"]
    assert vote.to_dict() == {"c1": 1, "c2": 0}
    assert "1 tied case(s) called negative" in caplog.text


def test_majority_vote_rejects_unknown_tie_rule():
    with pytest.raises(ValueError, match=r"`ties` must be one of positive, negative, got 'coin'"):
        majority_vote(calls_frame([("c1", "R1", 1, 1)]), ties="coin")


def test_majority_row_in_metrics():
    table = metrics_table({"m": MODEL}, reader_calls()).set_index(["model", "set"])
    # External: R1 calls [1,0,1,0,0,1,0], R2 [1,1,1,1,0,0,0]; ties go positive.
    row = table.loc[("readers_majority", "external_test")]
    assert row["kind"] == "majority" and row["n"] == 7
    assert [int(row[c]) for c in ("tp", "fn", "tn", "fp")] == [3, 0, 2, 2]


def test_reader_with_missing_calls_is_reported(caplog):
    readers = reader_calls()
    readers = readers[~((readers["reader"] == "R2") & readers["id"].isin(["e003", "e004"]))]
    with caplog.at_level("WARNING"):
        table = metrics_table({"m": MODEL}, readers).set_index(["model", "set"])
    assert (table.loc[("R2", "external_test"), "n"], table.loc[("R2", "external_test"), "n_in_set"]) == (5, 7)
    assert (table.loc[("R1", "external_test"), "n"], table.loc[("R1", "external_test"), "n_in_set"]) == (7, 7)
    assert "reader R2 read 5 of the 7 external_test cases" in caplog.text
    assert "reader R2 made no calls on internal_test, which other readers read" in caplog.text


# --- bad input ----------------------------------------------------------------------


def broken(set_name: str, **changes) -> dict:
    """MODEL with one set's frame changed: column=(row, value) or column=None to drop it."""
    frame = MODEL[set_name].copy()
    for column, change in changes.items():
        if change is None:
            frame = frame.drop(columns=column)
        else:
            frame[column] = frame[column].astype(object)
            frame.loc[change[0], column] = change[1]
    return MODEL | {set_name: frame}


@pytest.mark.parametrize(
    "model, message",
    [
        pytest.param(
            broken("external_test", probability=(2, np.nan)),
            r"^resnet101 on external_test: probability must be a finite number in \[0, 1\], got nan "
            r"for id 'e002'",
            id="nan",
        ),
        pytest.param(
            broken("internal_test", probability=(0, np.inf)),
            r"^resnet101 on internal_test: probability must be a finite number .* got inf",
            id="inf",
        ),
        pytest.param(
            broken("external_test", probability=(1, 1.5)),
            r"^resnet101 on external_test: probability .* got 1.5 for id 'e001'",
            id="above-1",
        ),
        pytest.param(
            broken("external_test", probability=(1, "high")),
            r"^resnet101 on external_test: probability .* got 'high'",
            id="text",
        ),
        pytest.param(
            broken("validation", label=(0, 2)),
            r"^resnet101 on validation: label must be 0 or 1, got 2 for id 'v000'",
            id="label-2",
        ),
        pytest.param(
            MODEL | {"external_test": EXTERNAL[EXTERNAL["label"] == 1]},
            r"^resnet101 on external_test: labels contain only one class \(n=3 positives, 0 negatives\)",
            id="one-class",
        ),
        pytest.param(
            broken("internal_test", probability=None),
            r"^resnet101 on internal_test: predictions lack column\(s\) probability",
            id="column",
        ),
        pytest.param(
            MODEL | {"external_test": pd.concat([EXTERNAL, EXTERNAL.iloc[:1]])},
            r"^resnet101 on external_test: case id 'e000' is predicted more than once",
            id="duplicate",
        ),
        pytest.param(
            MODEL | {"external_test": EXTERNAL.iloc[:0]},
            r"^resnet101 on external_test: predictions have no rows",
            id="empty",
        ),
        pytest.param(
            {k: v for k, v in MODEL.items() if k != "validation"},
            r"^resnet101: predictions for validation are missing",
            id="no-validation",
        ),
    ],
)
def test_bad_predictions_name_model_and_set(model, message):
    with pytest.raises(ValueError, match=message):
        metrics_table({"inception_v3": MODEL, "resnet101": model})


@pytest.mark.parametrize(
    "other, message",
    [
        pytest.param(
            MODEL | {"external_test": EXTERNAL.iloc[1:]},
            r"^resnet101 on external_test: predictions cover 6 cases and inception_v3's 7; 1 case\(s\) "
            r"only in inception_v3, 0 only in resnet101 \(e.g. 'e000'\)",
            id="lengths",
        ),
        pytest.param(
            MODEL | {"external_test": EXTERNAL.assign(label=EXTERNAL["label"][::-1].to_numpy())},
            r"^resnet101 on external_test: label of case 'e000' differs from inception_v3's",
            id="labels",
        ),
    ],
)
def test_models_on_different_cases_are_refused(other, message):
    with pytest.raises(ValueError, match=message):
        metrics_table({"inception_v3": MODEL, "resnet101": other})
    metrics_table({"inception_v3": MODEL, "resnet101": other}, ensemble=False)  # fine without pairing


def bad_readers(change) -> pd.DataFrame:
    readers = reader_calls()
    change(readers)
    return readers


@pytest.mark.parametrize(
    "readers, message",
    [
        pytest.param(
            bad_readers(lambda r: r.__setitem__("call", r["call"].replace({0: 2}))),
            r"^reader R1 on internal_test: call must be 0 or 1, got 2",
            id="call-2",
        ),
        pytest.param(
            pd.concat([reader_calls(), reader_calls().iloc[:1]]),
            r"^reader R1 on internal_test: case 'i000' is read twice",
            id="twice",
        ),
        pytest.param(
            bad_readers(lambda r: r.__setitem__("set", r["set"].replace({"internal_test": "train"}))),
            r"^reader R1 on train: set must be internal_test or external_test",
            id="train",
        ),
        pytest.param(
            bad_readers(lambda r: r.__setitem__("id", r["id"].replace({"e003": "x9"}))),
            r"^reader R1 on external_test: 1 call\(s\) on cases with no prediction in external_test "
            r"\(e.g. 'x9'\)",
            id="unknown-case",
        ),
        pytest.param(
            bad_readers(lambda r: r.__setitem__("label", 1 - r["label"])),
            r"^reader R1 on external_test: label of case 'e000' differs",
            id="label",
        ),
        pytest.param(reader_calls().drop(columns="label"), r"readers' calls lack column\(s\) label", id="column"),
    ],
)
def test_bad_reader_calls_name_reader_and_set(readers, message):
    with pytest.raises(ValueError, match=message):
        metrics_table({"m": MODEL}, readers)


def test_reader_who_read_one_class_only_is_named():
    readers = reader_calls()
    readers = readers[~((readers["reader"] == "R2") & (readers["label"] == 0))]
    with pytest.raises(ValueError, match=r"^R2 on external_test: labels contain only one class"):
        metrics_table({"m": MODEL}, readers)


# --- AUC interval option ------------------------------------------------------------------


def test_bootstrap_auc_option_is_seeded_and_keeps_the_auc():
    delong = metrics_table({"m": MODEL})
    boot = metrics_table({"m": MODEL}, auc_ci="bootstrap", n_resamples=300, seed=3)
    assert boot["auc"].tolist() == pytest.approx(delong["auc"].tolist())
    assert boot.equals(metrics_table({"m": MODEL}, auc_ci="bootstrap", n_resamples=300, seed=3))
    assert not boot["auc_low"].equals(delong["auc_low"])
    with pytest.raises(ValueError, match=r"`auc_ci` must be one of delong, bootstrap, got 'jackknife'"):
        metrics_table({"m": MODEL}, auc_ci="jackknife")


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("target", [0.3, 0.5, 0.8, 0.95, 1.0])
def test_sensitivity_threshold_matches_brute_force(seed, target):
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.r_[np.ones(23, int), np.zeros(30, int)])
    scores = np.round(rng.normal(size=53) + labels, 1)  # ties
    candidates = np.unique(scores)[::-1]  # highest first
    reached = [np.mean(scores[labels == 1] >= t) >= target for t in candidates]
    expected = candidates[int(np.argmax(reached))]
    assert choose_threshold(labels, scores, policy={"sensitivity": target}, name="m") == expected
