"""Operating thresholds: each model's, chosen on its validation set and then frozen.

No test-set data reaches these functions: the threshold is fixed before any
test set is scored (config `statistics: threshold`).
"""

from __future__ import annotations

import logging
from numbers import Real

import numpy as np
import pandas as pd

from alnus.stats import sensitivity_threshold, youden_threshold

log = logging.getLogger(__name__)


def choose_threshold(labels: np.ndarray, probabilities: np.ndarray, *, policy, name: str) -> float:
    """Operating threshold, chosen on the validation set and then frozen.

    Parameters
    ----------
    labels, probabilities : arrays of shape (n_validation,)
        The validation set only; no test-set data may reach this function.
    policy : "youden", float or {"sensitivity": float}
        "youden": maximise Youden's J; a number in (0, 1): that fixed
        probability; {"sensitivity": s}: the highest threshold reaching
        sensitivity s on validation.
    name : str
        The model, for error messages.

    Returns
    -------
    threshold : float
        Cases with probability >= threshold are called positive.

    Raises
    ------
    ValueError
        For an unknown policy, or validation data that cannot give one (see
        `alnus.stats.youden_threshold`).
    """
    where = f"{name} on validation"
    if policy == "youden":
        return youden_threshold(labels, probabilities, name=where)
    if isinstance(policy, dict) and set(policy) == {"sensitivity"}:
        return sensitivity_threshold(labels, probabilities, target=policy["sensitivity"], name=where)
    if isinstance(policy, Real) and not isinstance(policy, bool) and 0 < policy < 1:
        return float(policy)
    raise ValueError(
        f"unknown threshold policy {policy!r}; use 'youden', a probability in (0, 1) "
        "such as 0.5, or {'sensitivity': 0.9} (config `statistics: threshold`)"
    )


def policy_label(policy) -> str:
    """Short text for metrics.csv: "youden", "fixed" or "sensitivity>=0.9"."""
    if isinstance(policy, dict):
        return f"sensitivity>={policy['sensitivity']:g}"
    return "youden" if policy == "youden" else "fixed"


def frozen_thresholds(models: dict[str, dict[str, pd.DataFrame]], *, policy, unit: str = "image") -> dict[str, float]:
    """Each model's threshold from its validation predictions alone (logged).

    models : as returned by `model_predictions` (or `unit_predictions` at
    patient level); unit : named in the log. Returns model -> threshold.
    """
    thresholds = {}
    for model, sets in models.items():
        validation = sets["validation"]
        thresholds[model] = choose_threshold(
            validation["label"].to_numpy(), validation["probability"].to_numpy(), policy=policy, name=model
        )
        log.info(
            "%s: %s-level threshold %.6g (%s) frozen on validation",
            model,
            unit,
            thresholds[model],
            policy_label(policy),
        )
    return thresholds
