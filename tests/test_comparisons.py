"""Tests for alnus.comparisons: DeLong between models, models against readers, Holm."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from alnus.comparisons import COMPARISON_COLUMNS, comparisons_from_files, comparisons_table, model_pairs
from alnus.stats import compare_proportions, delong_test, mcnemar_test, proportion_test, youden_threshold

BRIEF_COLUMNS = ["set", "a", "b", "measure", "statistic", "p", "p_holm", "test"]


def frame(positives: list[float], negatives: list[float], prefix: str) -> pd.DataFrame:
    """DataFrame(id, label, probability), positives first."""
    scores = list(positives) + list(negatives)
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i:03d}" for i in range(len(scores))],
            "label": [1] * len(positives) + [0] * len(negatives),
            "probability": scores,
        }
    )


def paper_study() -> tuple[dict, pd.DataFrame]:
    """The paper's external-test counts: the model at threshold 0.5 is right on
    35 of 41 positives and 29 of 40 negatives, the radiologist on 30 of 41 and
    25 of 40. The model's misses (positives 35-40, negatives 29-39) are placed
    so that McNemar has discordant pairs both ways."""
    high, low = np.linspace(0.55, 0.95, 41), np.linspace(0.05, 0.45, 41)
    external = frame(np.r_[high[:35], low[:6]], np.r_[low[:29], high[:11]], "e")
    internal = frame([0.9, 0.8, 0.3], [0.1, 0.2, 0.6, 0.4], "i")
    validation = frame([0.9, 0.8, 0.7], [0.1, 0.2, 0.3], "v")
    model = {"validation": validation, "internal_test": internal, "external_test": external}
    reader_pos = np.r_[np.ones(28), np.zeros(7), np.ones(2), np.zeros(4)]  # 30 of 41 right
    reader_neg = np.r_[np.zeros(22), np.ones(7), np.zeros(3), np.ones(8)]  # 25 of 40 right
    readers = pd.DataFrame(
        {
            "id": external["id"],
            "reader": "reader_1",
            "call": np.r_[reader_pos, reader_neg].astype(int),
            "label": external["label"],
            "set": "external_test",
        }
    )
    return model, readers


MODEL, READERS = paper_study()


def two_models() -> dict:
    other = {s: f.assign(probability=np.sqrt(f["probability"])) for s, f in MODEL.items()}
    return {"inception_v3": MODEL, "resnet101": other}


# --- combined and clinical-only models -----------------------------------------------


def test_model_pairs_set_each_combined_model_against_its_network_and_the_clinical_model():
    models = ["a", "b", "ensemble", "a+clinical", "b+clinical", "ensemble+clinical", "clinical"]
    assert model_pairs(models) == [
        ("a", "b"),
        ("a", "ensemble"),
        ("b", "ensemble"),
        ("a+clinical", "a"),
        ("a+clinical", "clinical"),
        ("b+clinical", "b"),
        ("b+clinical", "clinical"),
        ("ensemble+clinical", "ensemble"),
        ("ensemble+clinical", "clinical"),
    ]


def test_combined_models_are_their_own_holm_family_and_not_set_against_readers():
    models = two_models()
    alone = comparisons_table(models, READERS, threshold=0.5)
    combined = {s: f.assign(probability=f["probability"] ** 1.5) for s, f in MODEL.items()}
    clinical = {s: f.assign(probability=1 - f["probability"] / 2) for s, f in MODEL.items()}
    table = comparisons_table(
        models | {"inception_v3+clinical": combined, "clinical": clinical}, READERS, threshold=0.5
    )
    image = table[table["family"] == "image"].reset_index(drop=True)
    pd.testing.assert_frame_equal(image, alone[alone["family"] == "image"].reset_index(drop=True))
    extra = table[table["family"] == "clinical"]
    assert set(zip(extra["a"], extra["b"])) == {
        ("inception_v3+clinical", "inception_v3"),
        ("inception_v3+clinical", "clinical"),
    }
    external = extra[extra["set"] == "external_test"].set_index("b")
    z, p = delong_test(
        MODEL["external_test"]["label"], combined["external_test"]["probability"], MODEL["external_test"]["probability"]
    )
    assert external.loc["inception_v3", "p"] == pytest.approx(p)
    assert list(external["p_holm"]) == pytest.approx(multipletests(external["p"], method="holm")[1])
    assert not table.loc[table["measure"] != "auc", "a"].str.contains("clinical").any()


# --- the paper's P values ------------------------------------------------------------


@pytest.mark.parametrize("measure, paper_p", [("sensitivity", 0.17), ("specificity", 0.34)])
def test_paper_p_values_against_the_radiologists(measure, paper_p):
    table = comparisons_table({"inception_v3": MODEL}, READERS, threshold=0.5)
    row = table.query("b == 'readers_majority' and measure == @measure and test == 'chi2'").iloc[0]
    assert round(row["p"], 2) == paper_p
    k_a, k_b, n = {"sensitivity": (35, 30, 41), "specificity": (29, 25, 40)}[measure]
    assert row["detail"] == f"{k_a}/{n} vs {k_b}/{n}"
    assert (row["a_value"], row["b_value"]) == pytest.approx((k_a / n, k_b / n))
    statistic = sps.chi2_contingency([[k_a, n - k_a], [k_b, n - k_b]], correction=False).statistic
    assert row["statistic"] == pytest.approx(statistic)


def test_mcnemar_uses_the_same_cases_paired():
    table = comparisons_table({"inception_v3": MODEL}, READERS, threshold=0.5)
    row = table.query("b == 'reader_1' and measure == 'sensitivity' and test == 'mcnemar'").iloc[0]
    positives = MODEL["external_test"]["label"] == 1
    model_right = (MODEL["external_test"]["probability"] >= 0.5)[positives].to_numpy()
    reader_right = (READERS["call"] == 1)[positives].to_numpy()
    assert row["p"] == pytest.approx(mcnemar_test(model_right, reader_right))
    assert row["detail"] == "discordant: 7 a right, 2 b right"
    assert np.isnan(row["statistic"])


# --- layout -----------------------------------------------------------------------


def test_columns_and_rows():
    table = comparisons_table(two_models(), READERS, threshold=0.5)
    assert list(table.columns) == COMPARISON_COLUMNS and list(table.columns[:8]) == BRIEF_COLUMNS
    models = ["inception_v3", "resnet101", "ensemble"]
    delong = table[table["test"] == "delong"]
    assert list(zip(delong["set"], delong["a"], delong["b"])) == [
        (s, a, b) for s in ("internal_test", "external_test") for a, b in itertools.combinations(models, 2)
    ]
    versus = table[table["test"] != "delong"]
    assert set(versus["set"]) == {"external_test"}  # no reader read the internal test set
    assert list(dict.fromkeys(versus["b"])) == ["reader_1", "readers_majority"]
    assert len(versus) == 2 * len(models) * 2 * 2  # readers x models x measures x tests
    assert not table[BRIEF_COLUMNS].drop(columns="statistic").isna().any().any()


@pytest.mark.parametrize("test", ["chi2", "chi2_yates", "fisher"])
def test_proportion_test_option(test):
    table = comparisons_table({"m": MODEL}, READERS, threshold=0.5, proportion_test=test)
    row = table.query("b == 'reader_1' and measure == 'specificity' and test == @test").iloc[0]
    assert row["p"] == pytest.approx(compare_proportions(29, 40, 25, 40, test=test))
    assert np.isnan(row["statistic"]) == (test == "fisher")
    assert set(table["test"]) == {test, "mcnemar"}


def test_delong_rows_match_delong_test():
    models = two_models()
    table = comparisons_table(models, None, threshold=0.5, ensemble=False)
    assert len(table) == 2
    external = table.set_index("set").loc["external_test"]
    labels = MODEL["external_test"]["label"]
    a, b = (models[m]["external_test"]["probability"] for m in ("inception_v3", "resnet101"))
    assert (external["statistic"], external["p"]) == pytest.approx(delong_test(labels, a, b))
    assert external["measure"] == "auc" and external["n"] == 81


def test_single_model_without_readers_gives_an_empty_table():
    table = comparisons_table({"m": MODEL}, None, threshold=0.5)
    assert table.empty and list(table.columns) == COMPARISON_COLUMNS


# --- thresholds and Holm ----------------------------------------------------------------


def test_models_are_compared_at_their_validation_threshold():
    validation = MODEL["validation"]
    cut = youden_threshold(validation["label"], validation["probability"])
    assert cut == 0.7  # so an external positive at 0.55-0.69 is now missed
    table = comparisons_table({"m": MODEL}, READERS)  # youden by default
    row = table.query("b == 'reader_1' and measure == 'sensitivity' and test == 'chi2'").iloc[0]
    expected = int((MODEL["external_test"].query("label == 1")["probability"] >= cut).sum())
    assert row["detail"].startswith(f"{expected}/41 ") and expected < 35


def test_holm_within_each_set_measure_and_test():
    table = comparisons_table(two_models(), READERS, threshold=0.5)
    for _, family in table.groupby(["set", "measure", "test"]):
        assert family["p_holm"].to_numpy() == pytest.approx(multipletests(family["p"], method="holm")[1])
    assert (table["p_holm"] >= table["p"]).all()
    assert len(table[(table["test"] == "chi2") & (table["measure"] == "sensitivity")]) == 6


# --- bad input ---------------------------------------------------------------------


def test_models_on_different_cases_are_named():
    short = MODEL | {"external_test": MODEL["external_test"].iloc[:-1]}
    with pytest.raises(
        ValueError, match=r"^resnet101 on external_test: predictions cover 80 cases and inception_v3's 81"
    ):
        comparisons_table({"inception_v3": MODEL, "resnet101": short}, None, threshold=0.5, ensemble=False)


def test_reader_with_one_class_cannot_be_compared():
    positives_only = READERS[READERS["label"] == 1]
    with pytest.raises(ValueError, match=r"^reader_1 on external_test: read no negative case, so specificity"):
        comparisons_table({"m": MODEL}, positives_only, threshold=0.5)


@pytest.mark.parametrize(
    "change, message",
    [
        pytest.param({"probability": (3, np.nan)}, r"^m on external_test: probability must be a finite", id="nan"),
        pytest.param({"label": (3, -1)}, r"^m on external_test: label must be 0 or 1, got -1", id="label"),
    ],
)
def test_bad_predictions_are_named(change, message):
    external = MODEL["external_test"].copy()
    for column, (row, value) in change.items():
        external.loc[row, column] = value
    with pytest.raises(ValueError, match=message):
        comparisons_table({"m": MODEL | {"external_test": external}}, READERS, threshold=0.5)


# --- files -----------------------------------------------------------------------


def test_comparisons_from_files(tmp_path):
    paths = []
    for model, sets in two_models().items():
        for set_name, data in sets.items():
            path = tmp_path / "predictions" / model / f"{set_name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            data.assign(patient=data["id"]).to_csv(path, index=False)  # the contract: a patient per row
            paths.append(str(path))
    READERS.to_csv(tmp_path / "readers.csv", index=False)
    got = comparisons_from_files(paths, str(tmp_path / "readers.csv"), threshold=0.5)
    pd.testing.assert_frame_equal(got, comparisons_table(two_models(), READERS, threshold=0.5))
    assert comparisons_from_files(paths, None, threshold=0.5)["test"].eq("delong").all()


@pytest.mark.parametrize("counts", [(35, 41, 30, 41), (3, 10, 9, 12), (0, 5, 2, 6)])
@pytest.mark.parametrize("test", ["chi2", "chi2_yates"])
def test_proportion_test_statistic_is_pearsons(counts, test):
    k1, n1, k2, n2 = counts
    expected = sps.chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=test == "chi2_yates")
    assert proportion_test(k1, n1, k2, n2, test=test) == pytest.approx((expected.statistic, expected.pvalue))
    assert proportion_test(k1, n1, k2, n2, test=test)[1] == compare_proportions(k1, n1, k2, n2, test=test)


def test_proportion_test_degenerate_table():
    assert proportion_test(5, 5, 7, 7, test="chi2") == (0.0, 1.0)
