"""Calibration and clinical usefulness of each model's probabilities.

results/tables/calibration.csv: Brier score, calibration intercept
(calibration-in-the-large) and slope by logistic recalibration (Van Calster
et al., J Clin Epidemiol 2016), per model and test set.
results/tables/decision_curve.csv: net benefit across threshold
probabilities (Vickers & Elkin, Med Decis Making 2006), with treat-all and
treat-none.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.special import logit
from sklearn.metrics import brier_score_loss
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from alnus.metrics import TEST_SETS, model_predictions, read_predictions
from alnus.stats import check_binary_scores

log = logging.getLogger(__name__)

# Probabilities are clipped to [EPS, 1 - EPS] before the logit, so that a
# saturated 0.0 or 1.0 gives a large finite log-odds (about +/-13.8).
EPS = 1e-6
CALIBRATION_COLUMNS = [
    "model",
    "set",
    "n",
    "positives",
    "observed",
    "mean_predicted",
    "brier",
    "brier_scaled",
    "intercept",
    "intercept_low",
    "intercept_high",
    "slope",
    "slope_low",
    "slope_high",
    "note",
]
DECISION_CURVE_COLUMNS = ["set", "model", "threshold", "net_benefit", "tp", "fp", "n"]
TREAT_ALL, TREAT_NONE = "treat_all", "treat_none"


def _logistic(labels, design, *, offset=None, level: float):
    """Fit a logistic GLM; return (params, conf_int, separated)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PerfectSeparationWarning)
        fit = sm.GLM(labels, design, family=sm.families.Binomial(), offset=offset).fit()
    separated = any(issubclass(w.category, PerfectSeparationWarning) for w in caught) or not fit.converged
    return np.asarray(fit.params), np.asarray(fit.conf_int(alpha=1 - level)), separated


def calibration_metrics(labels, probabilities, *, level: float = 0.95, name: str | None = None) -> dict:
    """Brier score and logistic-recalibration intercept and slope.

    Intercept: a in logit P(y) = a + logit(p) (slope fixed at 1), 0 when the
    mean risk is right, > 0 when risks are too low. Slope: b in
    logit P(y) = a' + b logit(p), 1 when ideal, < 1 when risks are too
    extreme (overfitting). statsmodels fits both; what it does not give is the
    pairing of the two fits, which this function adds.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    probabilities : array-like of float in [0, 1], shape (n_cases,)
    level : float, default 0.95
        Level of the Wald intervals of intercept and slope.
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    dict with n, positives, observed (prevalence), mean_predicted, brier,
    brier_scaled (1 - Brier / Brier of predicting the prevalence), intercept,
    slope and their _low/_high bounds, and note. When the predictions are
    constant or their log-odds separate the classes perfectly, the slope is
    not estimable: slope and its bounds are NaN and note says why. note also
    counts probabilities of exactly 0 or 1, clipped to [EPS, 1 - EPS].

    Raises
    ------
    ValueError
        If labels are not 0/1, probabilities are not finite or outside
        [0, 1], lengths differ, or only one class is present.
    """
    positive, p = check_binary_scores(labels, probabilities, name=name)
    if ((p < 0) | (p > 1)).any():
        raise ValueError(
            f"{name + ': ' if name else ''}probabilities must lie in [0, 1], got {p[(p < 0) | (p > 1)][0]}"
        )
    y = positive.astype(float)
    clipped = int(((p < EPS) | (p > 1 - EPS)).sum())
    lp = logit(np.clip(p, EPS, 1 - EPS))
    prevalence = y.mean()
    brier = brier_score_loss(y, p)
    notes = [f"{clipped} probabilities of 0 or 1 clipped to [{EPS:g}, 1 - {EPS:g}]"] if clipped else []
    row = {
        "n": len(y),
        "positives": int(y.sum()),
        "observed": prevalence,
        "mean_predicted": p.mean(),
        "brier": brier,
        "brier_scaled": 1 - brier / (prevalence * (1 - prevalence)),
    }
    params, ci, _ = _logistic(y, np.ones((len(y), 1)), offset=lp, level=level)
    row |= {"intercept": params[0], "intercept_low": ci[0, 0], "intercept_high": ci[0, 1]}
    slope = _slope(y, lp, level=level)
    if isinstance(slope, str):
        log.warning("%s: calibration slope not estimable (%s)", name or "model", slope)
        notes.append(f"{slope}: slope not estimable")
        slope = (np.nan, np.nan, np.nan)
    return row | dict(zip(("slope", "slope_low", "slope_high"), slope)) | {"note": "; ".join(notes)}


def _slope(y: np.ndarray, lp: np.ndarray, *, level: float):
    """(slope, low, high) of logit P(y) = a + b lp, or why it is not estimable."""
    if np.ptp(lp) == 0:
        return "constant predictions"
    params, ci, separated = _logistic(y, sm.add_constant(lp, has_constant="add"), level=level)
    if separated:
        return "perfect separation"
    return params[1], ci[1, 0], ci[1, 1]


def decision_thresholds(*, low: float = 0.05, high: float = 0.95, step: float = 0.05) -> np.ndarray:
    """Threshold probabilities low, low + step, ..., high (inclusive).

    Returns an array of shape (n_thresholds,), rounded to 10 decimals so that
    0.05 + 0.05 prints as 0.1. Raises ValueError unless 0 < low <= high < 1
    and step > 0.
    """
    if not (0 < low <= high < 1 and step > 0):
        raise ValueError(
            f"decision-curve thresholds need 0 < low <= high < 1 and step > 0, got "
            f"low={low!r}, high={high!r}, step={step!r}"
        )
    return np.round(np.arange(low, high + step / 2, step), 10)


def net_benefit(labels, probabilities, thresholds, *, name: str | None = None) -> pd.DataFrame:
    """Net benefit of treating cases with probability >= each threshold.

    net benefit = TP / n - FP / n * t / (1 - t). Written out because neither
    scikit-learn nor statsmodels has decision curves, and the formula is one
    line.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    probabilities : array-like of float, shape (n_cases,)
    thresholds : array-like of float in (0, 1), shape (n_thresholds,)
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    DataFrame(threshold, net_benefit, tp, fp, n), shape (n_thresholds, 5).

    Raises
    ------
    ValueError
        As `calibration_metrics`, or a threshold outside (0, 1).
    """
    positive, p = check_binary_scores(labels, probabilities, name=name)
    t = np.asarray(thresholds, dtype=float)
    if not ((t > 0) & (t < 1)).all():
        raise ValueError(f"{name + ': ' if name else ''}thresholds must lie in (0, 1), got {t[(t <= 0) | (t >= 1)][0]}")
    called = p[None, :] >= t[:, None]
    tp, fp = (called & positive).sum(axis=1), (called & ~positive).sum(axis=1)
    n = len(p)
    return pd.DataFrame({"threshold": t, "net_benefit": tp / n - fp / n * t / (1 - t), "tp": tp, "fp": fp, "n": n})


def _treat_all(labels, thresholds) -> pd.DataFrame:
    """Net benefit of treating everyone: every probability taken as 1."""
    labels = np.asarray(labels)
    return net_benefit(labels, np.ones(len(labels)), thresholds)


def calibration_table(predictions: dict, *, level: float = 0.95, ensemble: bool = True) -> pd.DataFrame:
    """Build results/tables/calibration.csv.

    Parameters
    ----------
    predictions : model -> set -> DataFrame(id, label, probability).
    level : level of the intervals of intercept and slope.
    ensemble : add the models' mean probability, see `alnus.metrics.model_predictions`.

    Returns
    -------
    DataFrame with CALIBRATION_COLUMNS, one row per model and test set.

    Raises
    ------
    ValueError
        For bad predictions, naming model and set.
    """
    rows = []
    for model, sets in model_predictions(predictions, ensemble=ensemble).items():
        for set_name in TEST_SETS:
            frame = sets[set_name]
            row = calibration_metrics(frame["label"], frame["probability"], level=level, name=f"{model} on {set_name}")
            rows.append({"model": model, "set": set_name} | row)
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def decision_curve_table(predictions: dict, *, thresholds=None, ensemble: bool = True) -> pd.DataFrame:
    """Build results/tables/decision_curve.csv.

    Parameters
    ----------
    predictions : model -> set -> DataFrame(id, label, probability).
    thresholds : array-like of float in (0, 1), optional
        Default `decision_thresholds()`: 0.05, 0.10, ..., 0.95.
    ensemble : as `calibration_table`.

    Returns
    -------
    DataFrame with DECISION_CURVE_COLUMNS: per test set, each model, then
    treat_all and treat_none, each at every threshold.

    Raises
    ------
    ValueError
        For bad predictions or thresholds.
    """
    thresholds = decision_thresholds() if thresholds is None else np.asarray(thresholds, dtype=float)
    models = model_predictions(predictions, ensemble=ensemble)
    parts = []
    for set_name in TEST_SETS:
        for model, sets in models.items():
            frame = sets[set_name]
            curve = net_benefit(frame["label"], frame["probability"], thresholds, name=f"{model} on {set_name}")
            parts.append(curve.assign(set=set_name, model=model))
        labels = next(iter(models.values()))[set_name]["label"]
        parts.append(_treat_all(labels, thresholds).assign(set=set_name, model=TREAT_ALL))
        none = pd.DataFrame({"threshold": thresholds, "net_benefit": 0.0, "tp": 0, "fp": 0, "n": len(labels)})
        parts.append(none.assign(set=set_name, model=TREAT_NONE))
    return pd.concat(parts, ignore_index=True)[DECISION_CURVE_COLUMNS]


def calibration_from_files(prediction_csvs: list[str], **options) -> pd.DataFrame:
    """calibration_table over results/predictions/{model}/{set}.csv."""
    return calibration_table(read_predictions(prediction_csvs), **options)


def decision_curve_from_files(
    prediction_csvs: list[str], *, low: float = 0.05, high: float = 0.95, step: float = 0.05, ensemble: bool = True
) -> pd.DataFrame:
    """decision_curve_table over results/predictions/{model}/{set}.csv at
    thresholds low, low + step, ..., high."""
    thresholds = decision_thresholds(low=low, high=high, step=step)
    return decision_curve_table(read_predictions(prediction_csvs), thresholds=thresholds, ensemble=ensemble)
