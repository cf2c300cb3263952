"""Tests for alnus.calibration: Brier score, calibration intercept and slope, decision curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from alnus.calibration import (
    CALIBRATION_COLUMNS,
    DECISION_CURVE_COLUMNS,
    calibration_from_files,
    calibration_metrics,
    calibration_table,
    decision_curve_from_files,
    decision_curve_table,
    decision_thresholds,
    net_benefit,
)


def simulated(seed: int, n: int, *, distortion=lambda lp: lp):
    """Labels drawn from true risks expit(lp); the model reports expit(distortion(lp))."""
    rng = np.random.default_rng(seed)
    lp = rng.normal(-0.3, 1.5, n)
    labels = (rng.random(n) < expit(lp)).astype(int)
    return labels, expit(distortion(lp))


# --- calibration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "distortion, intercept, slope",
    [
        pytest.param(lambda lp: lp, 0.0, 1.0, id="calibrated"),
        pytest.param(lambda lp: 2 * lp, 0.0, 0.5, id="overconfident"),
        pytest.param(lambda lp: 0.5 * lp, 0.0, 2.0, id="underconfident"),
        pytest.param(lambda lp: lp + 1, -1.0, 1.0, id="risks-too-high"),
    ],
)
def test_intercept_and_slope_recover_the_distortion(distortion, intercept, slope):
    labels, p = simulated(0, 4000, distortion=distortion)
    row = calibration_metrics(labels, p)
    assert row["slope_low"] < slope < row["slope_high"]
    assert row["slope"] == pytest.approx(slope, abs=0.15)
    if slope == 1.0:  # calibration-in-the-large is the shift only when the slope is right
        assert row["intercept_low"] < intercept < row["intercept_high"]
    assert row["note"] == ""


def test_brier_scores():
    labels, p = np.array([1, 0, 1, 0]), np.array([0.9, 0.2, 0.6, 0.4])
    row = calibration_metrics(labels, p)
    brier = np.mean((p - labels) ** 2)
    assert row["brier"] == pytest.approx(brier)
    assert row["brier_scaled"] == pytest.approx(1 - brier / 0.25)
    assert (row["n"], row["positives"], row["observed"], row["mean_predicted"]) == pytest.approx((4, 2, 0.5, 0.525))


def test_level_widens_the_intervals():
    labels, p = simulated(1, 300)
    narrow, wide = calibration_metrics(labels, p, level=0.8), calibration_metrics(labels, p, level=0.99)
    assert wide["slope_low"] < narrow["slope_low"] < narrow["slope_high"] < wide["slope_high"]


@pytest.mark.parametrize(
    "labels, p, note",
    [
        pytest.param([0, 0, 1, 1], [0.2, 0.3, 0.7, 0.8], "perfect separation: slope not estimable", id="separation"),
        pytest.param([0, 1, 0, 1], [0.5] * 4, "constant predictions: slope not estimable", id="constant"),
        pytest.param(
            [0, 1, 0, 1],
            [1.0] * 4,
            "4 probabilities of 0 or 1 clipped to [1e-06, 1 - 1e-06]; constant predictions: slope not estimable",
            id="saturated",
        ),
    ],
)
def test_slope_not_estimable_is_said_not_silent(labels, p, note, caplog):
    with caplog.at_level("WARNING"):
        row = calibration_metrics(labels, p, name="m on external_test")
    assert row["note"] == note
    assert np.isnan([row["slope"], row["slope_low"], row["slope_high"]]).all()
    assert np.isfinite([row["brier"], row["intercept"], row["intercept_low"], row["intercept_high"]]).all()
    assert "m on external_test: calibration slope not estimable" in caplog.text


@pytest.mark.parametrize(
    "labels, p, message",
    [
        pytest.param([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.4], r"scores must be finite, got nan", id="nan"),
        pytest.param([0, 1, 0, 1], [0.1, 1.2, 0.3, 0.4], r"probabilities must lie in \[0, 1\], got 1.2", id="range"),
        pytest.param([1, 1, 1], [0.1, 0.2, 0.3], r"only one class", id="one-class"),
        pytest.param([0, 1], [0.1, 0.2, 0.3], r"same length, got 3 scores for 2 labels", id="length"),
    ],
)
def test_calibration_input_errors(labels, p, message):
    with pytest.raises(ValueError, match=r"^m on internal_test: .*" + message):
        calibration_metrics(labels, p, name="m on internal_test")


# --- decision curve ----------------------------------------------------------------


def test_net_benefit_by_hand():
    labels, p = [1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.1, 0.2]
    curve = net_benefit(labels, p, [0.25, 0.5])
    # t = 0.25: calls 0.9, 0.4, 0.6 -> tp 2, fp 1; t = 0.5: calls 0.9, 0.6 -> tp 1, fp 1.
    assert curve[["tp", "fp"]].to_numpy().tolist() == [[2, 1], [1, 1]]
    assert curve["net_benefit"].tolist() == pytest.approx([2 / 5 - 1 / 5 * (1 / 3), 1 / 5 - 1 / 5])
    assert (curve["n"] == 5).all()


def test_decision_thresholds():
    t = decision_thresholds()
    assert len(t) == 19 and t[0] == 0.05 and t[-1] == 0.95 and 0.1 in t and 0.3 in t
    assert decision_thresholds(low=0.1, high=0.5, step=0.2).tolist() == [0.1, 0.3, 0.5]


@pytest.mark.parametrize("low, high, step", [(0, 0.5, 0.1), (0.2, 1.0, 0.1), (0.6, 0.5, 0.1), (0.1, 0.5, 0)])
def test_decision_thresholds_errors(low, high, step):
    with pytest.raises(ValueError, match=r"need 0 < low <= high < 1 and step > 0"):
        decision_thresholds(low=low, high=high, step=step)


def test_net_benefit_threshold_errors():
    with pytest.raises(ValueError, match=r"^m: thresholds must lie in \(0, 1\), got 1.0"):
        net_benefit([0, 1], [0.2, 0.8], [0.5, 1.0], name="m")


# --- tables -------------------------------------------------------------------------


def study(seed: int = 0) -> dict:
    """Two models on the three sets, the same cases."""
    out = {}
    for m, distortion in (("inception_v3", lambda lp: lp), ("resnet101", lambda lp: 2 * lp)):
        out[m] = {}
        for i, set_name in enumerate(("validation", "internal_test", "external_test")):
            labels, p = simulated(seed + i, 60, distortion=distortion)
            out[m][set_name] = pd.DataFrame(
                {"id": [f"{set_name}{j}" for j in range(60)], "label": labels, "probability": p}
            )
    return out


def test_calibration_table_rows_and_ensemble():
    table = calibration_table(study())
    assert list(table.columns) == CALIBRATION_COLUMNS
    assert list(zip(table["model"], table["set"])) == [
        (m, s) for m in ("inception_v3", "resnet101", "ensemble") for s in ("internal_test", "external_test")
    ]
    models = study()
    mean = (
        models["inception_v3"]["external_test"]["probability"] + models["resnet101"]["external_test"]["probability"]
    ) / 2
    row = calibration_metrics(models["resnet101"]["external_test"]["label"], mean)
    got = table.set_index(["model", "set"]).loc[("ensemble", "external_test")]
    assert got["brier"] == pytest.approx(row["brier"]) and got["slope"] == pytest.approx(row["slope"])
    assert len(calibration_table(study(), ensemble=False)) == 4


def test_decision_curve_table_has_treat_all_and_none():
    thresholds = [0.1, 0.5, 0.9]
    table = decision_curve_table(study(), thresholds=thresholds)
    assert list(table.columns) == DECISION_CURVE_COLUMNS
    names = ["inception_v3", "resnet101", "ensemble", "treat_all", "treat_none"]
    assert len(table) == 2 * len(names) * len(thresholds)
    assert list(dict.fromkeys(table["model"])) == names
    external = study()["inception_v3"]["external_test"]
    prevalence = external["label"].mean()
    treat_all = table.query("set == 'external_test' and model == 'treat_all'")["net_benefit"].to_numpy()
    t = np.array(thresholds)
    assert treat_all == pytest.approx(prevalence - (1 - prevalence) * t / (1 - t))
    assert (table.query("model == 'treat_none'")["net_benefit"] == 0).all()
    assert not table.isna().any().any()


def test_bad_predictions_name_model_and_set():
    models = study()
    models["resnet101"]["internal_test"].loc[5, "probability"] = np.inf
    for build in (calibration_table, decision_curve_table):
        with pytest.raises(ValueError, match=r"^resnet101 on internal_test: probability must be a finite number"):
            build(models)


def test_from_files(tmp_path):
    paths = []
    for model, sets in study().items():
        for set_name, data in sets.items():
            path = tmp_path / model / f"{set_name}.csv"
            path.parent.mkdir(exist_ok=True)
            data.assign(patient=data["id"]).to_csv(path, index=False)  # the contract: a patient per row
            paths.append(str(path))
    pd.testing.assert_frame_equal(
        calibration_from_files(paths, level=0.9), calibration_table(study(), level=0.9), check_exact=False
    )
    curve = decision_curve_from_files(paths, low=0.2, high=0.4, step=0.1, ensemble=False)
    assert sorted(set(curve["threshold"])) == [0.2, 0.3, 0.4]
    assert "ensemble" not in set(curve["model"])
