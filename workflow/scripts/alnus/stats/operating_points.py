"""Operating points from a ROC curve: Youden's threshold and the threshold reaching a target sensitivity.

Meant for the validation set; the thresholds are applied to test sets unchanged.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_curve

from alnus.stats.checks import _check_binary


def youden_threshold(labels, scores, *, name=None):
    """Score threshold maximising Youden's J = sensitivity + specificity - 1.

    A case is called positive when score >= threshold. Ties in J go to the
    higher threshold. Meant for the validation set; apply the result to test
    sets unchanged.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    threshold : float
        One of the observed scores (never inf).

    Raises
    ------
    ValueError
        As `delong_ci` (one class only, non-finite scores, ...).
    """
    positive, stacked = _check_binary(labels, scores, name=name)
    order = np.argsort(-stacked[0], kind="stable")
    sorted_scores, sorted_positive = stacked[0][order], positive[order]
    # The last case of each run of equal scores (scores decrease): calling
    # score >= that score positive gives tp and fp among the cases so far.
    last = np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), sorted_scores.size - 1]
    tp = np.cumsum(sorted_positive, dtype=np.int64)[last]
    fp = np.cumsum(~sorted_positive, dtype=np.int64)[last]
    # J * n_pos * n_neg = tp * n_neg - fp * n_pos, in integers: exact ties stay
    # ties (tpr - fpr in floats makes 0.5 - 0.3 > 0.3 - 0.1), and argmax's first
    # hit is the highest tied threshold.
    n_pos, n_neg = int(tp[-1]), int(fp[-1])
    return float(sorted_scores[last[int(np.argmax(tp * n_neg - fp * n_pos))]])


def sensitivity_threshold(labels, scores, *, target, name=None):
    """Highest score threshold whose sensitivity reaches `target`.

    A case is called positive when score >= threshold, as in
    `youden_threshold`. The highest such threshold keeps specificity as high
    as the target allows. Meant for the validation set.

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
    scores : array-like of float, shape (n_cases,)
    target : float
        Wanted sensitivity, in (0, 1]; e.g. 0.9.
    name : str, optional
        Prefixed to error messages.

    Returns
    -------
    threshold : float
        One of the observed scores of a positive case. With ties the reached
        sensitivity may exceed the target.

    Raises
    ------
    ValueError
        If target is outside (0, 1], and as `delong_ci`.
    """
    if isinstance(target, bool) or not 0 < target <= 1:
        raise ValueError(f"`target` sensitivity must lie in (0, 1], got {target!r}")
    positive, stacked = _check_binary(labels, scores, name=name)
    _, tpr, thresholds = roc_curve(positive, stacked[0], drop_intermediate=False)
    # tpr rises as the threshold falls; the first point reaching the target is
    # the highest threshold. The tolerance absorbs k/n rounding (0.7 * 10).
    return float(thresholds[int(np.argmax(tpr >= target - 1e-12))])
