"""Tests for alnus.combined: the network + clinical logistic models, fitted on validation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from alnus.clinical import clinical_variables
from alnus.combined import (
    COEFFICIENT_COLUMNS,
    LOGIT_TERM,
    combined_from_files,
    encode,
    fit_combined_models,
    learn_encoding,
    network_logit,
)
from alnus.logistic import firth_logit, fit_logistic
from alnus.predictions import PREDICTION_SETS, model_predictions

DECLARED = [
    {"column": "age", "type": "numeric", "label": "Age", "unit": "years", "min": 18, "max": 110},
    {"column": "birads", "type": "ordinal", "label": "BI-RADS", "levels": ["3", "4a", "4b", "4c", "5"]},
    {"column": "grade", "type": "categorical", "label": "Grade", "levels": ["1", "2", "3"]},
]
VARIABLES = clinical_variables(DECLARED)
SIZES = {"validation": 160, "internal_test": 60, "external_test": 60}


def study(seed=0, *, images_per_patient=1):
    """Two networks' predictions and clinical values: the label drives both."""
    rng = np.random.default_rng(seed)
    predictions, rows = {"net_a": {}, "net_b": {}}, []
    for set_name, n in SIZES.items():
        label = rng.permutation(np.arange(n) % 2)
        ids = [f"{set_name}-{i}" for i in range(n)]
        patients = [f"{set_name}-p{i // images_per_patient}" for i in range(n)]
        for net, strength in (("net_a", 1.5), ("net_b", 0.8)):
            logit = strength * (label - 0.5) * 2 + rng.normal(0, 1, n)
            predictions[net][set_name] = pd.DataFrame(
                {"id": ids, "patient": patients, "label": label, "probability": 1 / (1 + np.exp(-logit))}
            )
        rows.append(
            pd.DataFrame(
                {
                    "id": ids,
                    "cohort": "development",
                    "age": np.round(rng.normal(57 - 6 * label, 10)),
                    "birads": np.array(["3", "4a", "4b", "4c", "5"])[
                        np.clip(np.round(rng.normal(1.2 + 1.6 * label, 1)), 0, 4).astype(int)
                    ],
                    "grade": rng.choice(["1", "2", "3"], n),
                }
            )
        )
    return predictions, pd.concat(rows, ignore_index=True)


def test_logit_is_clipped_and_inverts_the_sigmoid():
    assert network_logit([0.5])[0] == 0
    assert np.isclose(network_logit([1 / (1 + np.exp(-2))])[0], 2)
    assert np.isfinite(network_logit([0.0, 1.0])).all()


def test_encoding_is_learned_on_the_fitting_set_and_imputes_from_it():
    fitting = pd.DataFrame(
        {"age": [40.0, 50.0, np.nan, 70.0], "birads": ["3", "4b", "4b", None], "grade": ["2", "3", "2", "3"]}
    )
    encoding = learn_encoding(fitting, VARIABLES, missing="impute")
    assert encoding.fill == {"age": 50.0, "birads": "4b"}
    assert encoding.levels == {"grade": ["2", "3"]}  # level 1 absent: 2 is the reference
    terms = encode(fitting, encoding, set_name="validation")
    assert list(terms.columns) == ["age", "birads", "grade[3]"]
    assert terms["age"].tolist() == [40, 50, 50, 70] and terms["birads"].tolist() == [0, 2, 2, 2]
    with pytest.raises(ValueError, match=r"level\(s\) '1' in external_test that the validation set"):
        encode(fitting.assign(grade=["1", "2", "3", "2"]), encoding, set_name="external_test")


@pytest.mark.parametrize(
    "fitting, missing, match",
    [
        ({"age": [40.0, np.nan], "birads": ["3", "4a"], "grade": ["1", "2"]}, "refuse", "1 missing value"),
        ({"age": [40.0, 40.0], "birads": ["3", "4a"], "grade": ["1", "2"]}, "refuse", "`age` .* is constant"),
        ({"age": [40.0, 41.0], "birads": ["3", "4a"], "grade": ["2", "2"]}, "refuse", "`grade` .* is constant"),
    ],
)
def test_what_cannot_be_fitted_is_refused_with_its_fix(fitting, missing, match):
    with pytest.raises(ValueError, match=match):
        learn_encoding(pd.DataFrame(fitting), VARIABLES, missing=missing)


def test_perfect_separation_stops_maximum_likelihood_and_firth_stays_finite():
    design = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5]})
    with pytest.raises(ValueError, match="separate the classes perfectly.*validation_fraction.*firth"):
        fit_logistic(design, [0, 0, 0, 1, 1, 1], list("abcdef"), name="net+clinical", method="mle")
    fit = fit_logistic(design, [0, 0, 0, 1, 1, 1], list("abcdef"), name="net+clinical")
    assert fit.method == "firth" and np.isfinite(fit.params).all() and 0 < fit.params["x"] < 10
    assert np.isfinite(fit.conf_int()).all() and fit.predict(design)[-1] > 0.8


def test_firth_solves_its_modified_score_and_nears_maximum_likelihood_in_large_samples():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4000, 2))
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.3 + x @ [1.0, -0.5])))).astype(float)
    X = sm.add_constant(x)
    beta, covariance, scores, converged = firth_logit(X, y)
    assert converged and np.allclose(scores.sum(axis=0), 0, atol=1e-6)
    mle = sm.Logit(y, X).fit(disp=0)
    assert np.allclose(beta, mle.params, atol=0.01) and np.allclose(covariance, mle.cov_params(), rtol=0.05)
    # Small samples: Firth shrinks the coefficients towards zero.
    small = slice(0, 40)
    assert (
        np.abs(firth_logit(X[small], y[small])[0][1:]).sum()
        < np.abs(sm.Logit(y[small], X[small]).fit(disp=0).params[1:]).sum()
    )


# The demo's validation set where Firth's steps settled slowly (inception_v3+clinical,
# centred and scaled terms: the network's logit, age, tumour size, BI-RADS), 3 decimals.
SLOW_FIRTH_TERMS = [
    [0.751, 0.562, 0.749, 1.688],
    [-0.382, 0.841, -0.12, -0.452],
    [-2.148, 0.841, -0.12, -0.452],
    [-1.029, -0.276, -0.854, -1.165],
    [-1.266, -0.462, -1.197, 0.975],
    [0.378, -1.951, 2.438, -0.452],
    [-1.085, -0.276, -0.989, -1.165],
    [-0.612, 0.375, 0.272, -1.165],
    [0.486, 0.375, 0.272, -1.165],
    [-1.655, 0.562, -0.389, -1.165],
    [0.019, 1.213, -0.707, 1.688],
    [0.416, 1.213, -0.707, 1.688],
    [-0.502, 0.934, -0.523, -0.452],
    [0.064, -1.114, -0.242, 0.975],
    [2.171, 1.027, 0.566, 0.975],
    [-1.58, -1.858, -1.845, -0.452],
    [0.72, 0.282, -0.352, 0.262],
    [-0.522, 0.282, -0.352, 0.262],
    [1.313, -2.51, 1.227, 1.688],
    [-0.713, -2.51, 1.227, 1.688],
    [0.986, 0.189, 1.68, -1.165],
    [-0.438, 0.189, 1.68, -1.165],
    [0.708, 0.375, 0.052, -0.452],
    [0.433, 0.375, 0.052, -0.452],
    [1.153, 0.282, -1.809, -0.452],
    [0.97, 0.841, -0.279, 0.262],
    [-0.81, 0.003, -1.27, -1.165],
    [0.633, 0.189, 0.97, 0.262],
    [0.374, 0.003, 0.284, 0.262],
    [1.166, 0.003, 0.284, 0.262],
]
SLOW_FIRTH_LABELS = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 1]


def test_firth_converges_where_its_steps_settle_slowly():
    """Regression: with 100 steps at most, this fit was reported as not converged,
    and rule combined_models stopped the demo."""
    X = sm.add_constant(np.array(SLOW_FIRTH_TERMS))
    y = np.array(SLOW_FIRTH_LABELS, dtype=float)
    assert not firth_logit(X, y, maxiter=100)[3]
    beta, _, scores, converged = firth_logit(X, y)
    assert converged and np.isfinite(beta).all() and np.allclose(scores.sum(axis=0), 0, atol=1e-7)


@pytest.mark.parametrize("method", ["firth", "mle"])
def test_a_network_whose_probabilities_hardly_vary_still_gives_finite_errors(method):
    """A network trained one epoch can give nearly one probability to every
    case: the terms are fitted centred and scaled, so the intervals stay finite."""
    rng = np.random.default_rng(2)
    y = np.r_[np.ones(20), np.zeros(20)]
    design = pd.DataFrame({LOGIT_TERM: 0.3 + 1e-5 * rng.normal(size=40) + 2e-6 * y, "age": rng.normal(55, 10, 40)})
    patients = [f"p{i // 2}" for i in range(40)]
    fit = fit_logistic(design, y, patients, name="net+clinical", method=method)
    assert np.isfinite(fit.bse).all() and (fit.bse > 0).all() and fit.se_method == "cluster-robust by patient"
    # Centring and scaling is undone: the same model whatever the terms' units.
    rescaled = fit_logistic(design.assign(age=design["age"] / 10), y, patients, name="m", method=method)
    assert rescaled.params["age"] == pytest.approx(10 * fit.params["age"], rel=1e-5)
    assert np.allclose(rescaled.predict(design.assign(age=design["age"] / 10)), fit.predict(design), atol=1e-7)
    with pytest.raises(ValueError, match="network_logit take one value in every case"):
        fit_logistic(design.assign(**{LOGIT_TERM: 0.3}), y, patients, name="net+clinical", method=method)


def test_firth_and_maximum_likelihood_agree_on_a_large_sample():
    rng = np.random.default_rng(5)
    design = pd.DataFrame({"x": rng.normal(size=3000), "z": rng.normal(50, 10, 3000)})
    y = (rng.random(3000) < 1 / (1 + np.exp(-(-2 + design["x"] + 0.04 * design["z"])))).astype(float)
    firth = fit_logistic(design, y, np.arange(3000), name="m")
    mle = fit_logistic(design, y, np.arange(3000), name="m", method="mle")
    expected = sm.Logit(y, sm.add_constant(design)).fit(disp=0)
    assert np.allclose(mle.params, expected.params) and np.allclose(mle.bse, expected.bse)
    assert np.allclose(firth.params, mle.params, atol=0.02) and np.allclose(firth.bse, mle.bse, rtol=0.02)


def test_a_network_with_one_probability_is_left_out_and_said(caplog):
    # As after one epoch in the tiny study: every probability 1.0 (clipped: one logit, the same up to rounding).
    predictions, clinical = study()
    for set_name in SIZES:
        predictions["net_b"][set_name] = predictions["net_b"][set_name].assign(probability=1.0)
    fitted, coefficients, cards = fit_combined_models(model_predictions(predictions), clinical, VARIABLES)
    rows = coefficients[coefficients["model"] == "net_b+clinical"].set_index("term")
    assert np.isnan(rows.loc[LOGIT_TERM, "coefficient"]) and "left out" in rows.loc[LOGIT_TERM, "label"]
    clinical_only = coefficients[coefficients["model"] == "clinical"].set_index("term")["coefficient"]
    assert np.allclose(rows["coefficient"].drop(LOGIT_TERM), clinical_only[rows.index.drop(LOGIT_TERM)])
    assert np.allclose(
        fitted["net_b+clinical"]["external_test"]["probability"], fitted["clinical"]["external_test"]["probability"]
    )
    assert "net_b gives every validation case the same probability" in caplog.text
    assert LOGIT_TERM in cards["net_a+clinical"]["terms"][0]["term"]


def test_an_unknown_fit_method_is_named():
    with pytest.raises(ValueError, match="`clinical: fit` must be one of firth, mle"):
        fit_logistic(pd.DataFrame({"x": [0.0, 1]}), [0, 1], ["a", "b"], name="m", method="ridge")


def test_combined_models_are_fitted_on_validation_and_score_every_set():
    predictions, clinical = study()
    models = model_predictions(predictions)
    fitted, coefficients, cards = fit_combined_models(models, clinical, VARIABLES, method="mle")
    assert list(fitted) == ["net_a+clinical", "net_b+clinical", "ensemble+clinical", "clinical"]
    assert list(coefficients.columns) == COEFFICIENT_COLUMNS
    assert set(coefficients["fitted_on"]) == {"validation"} and set(coefficients["n"]) == {SIZES["validation"]}
    # The same fit by hand, on the validation set alone.
    validation = models["net_a"]["validation"].merge(clinical, on="id")
    X = sm.add_constant(
        pd.DataFrame(
            {
                LOGIT_TERM: network_logit(validation["probability"]),
                "age": validation["age"],
                "birads": validation["birads"].map({"3": 0, "4a": 1, "4b": 2, "4c": 3, "5": 4}),
                "grade[2]": (validation["grade"] == "2") * 1.0,
                "grade[3]": (validation["grade"] == "3") * 1.0,
            }
        )
    )
    expected = sm.Logit(validation["label"], X).fit(disp=0)
    ours = coefficients[coefficients["model"] == "net_a+clinical"].set_index("term")
    assert np.allclose(ours.loc[expected.params.index, "coefficient"], expected.params, atol=1e-6)
    assert (ours["or_low"] < ours["odds_ratio"]).all() and (ours["odds_ratio"] < ours["or_high"]).all()
    assert ours.loc[LOGIT_TERM, "odds_ratio"] > 1 and set(ours["se_method"]) == {"model-based"}
    for sets in fitted.values():
        assert set(sets) == set(PREDICTION_SETS)
        for set_name, frame in sets.items():
            assert list(frame.columns) == ["id", "patient", "label", "probability"]
            assert frame["probability"].between(0, 1).all()
            assert frame["id"].tolist() == predictions["net_a"][set_name]["id"].tolist()
    assert LOGIT_TERM not in set(coefficients.loc[coefficients["model"] == "clinical", "term"])
    assert cards["clinical"]["image_model"] is None and cards["ensemble+clinical"]["image_model"] == "ensemble"


def test_patients_with_several_images_get_cluster_robust_errors():
    predictions, clinical = study(images_per_patient=2)
    _, coefficients, _ = fit_combined_models(model_predictions(predictions), clinical, VARIABLES)
    assert set(coefficients["se_method"]) == {"cluster-robust by patient"} and set(coefficients["method"]) == {"firth"}
    assert set(coefficients["patients"]) == {SIZES["validation"] // 2}


def test_a_case_without_clinical_values_is_named():
    predictions, clinical = study()
    with pytest.raises(ValueError, match="no row in results/preprocessed/clinical.csv; rerun rule clinical_table"):
        fit_combined_models(model_predictions(predictions), clinical.iloc[1:], VARIABLES)


def test_the_files_rule_writes_every_output(tmp_path):
    predictions, clinical = study()
    csvs = []
    for model, sets in predictions.items():
        for set_name, frame in sets.items():
            path = tmp_path / "predictions" / model / f"{set_name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, index=False)
            csvs.append(str(path))
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    names = ["net_a+clinical", "net_b+clinical", "ensemble+clinical", "clinical"]
    outputs = {m: {s: str(tmp_path / "out" / m / f"{s}.csv") for s in PREDICTION_SETS} for m in names}
    cards = {m: str(tmp_path / "cards" / f"{m}.json") for m in names}
    combined_from_files(
        csvs,
        str(tmp_path / "clinical.csv"),
        declared=DECLARED,
        missing="refuse",
        level=0.95,
        method="firth",
        ensemble=True,
        splits_csv=None,
        prediction_outputs=outputs,
        coefficients_csv=str(tmp_path / "coefficients.csv"),
        card_outputs=cards,
    )
    assert pd.read_csv(tmp_path / "coefficients.csv")["model"].unique().tolist() == names
    assert json.loads((tmp_path / "cards" / "clinical.json").read_text())["fitted_on"] == "validation"
    assert pd.read_csv(outputs["clinical"]["external_test"])["probability"].between(0, 1).all()
