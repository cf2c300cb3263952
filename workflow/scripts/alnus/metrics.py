"""The study's results table: discrimination and operating-point metrics with CIs.

One row per model (each architecture, and each reader where given) and test
set, with the columns DESIGN.md fixes for results/tables/metrics.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alnus.stats import delong_ci, proportion_ci, youden_threshold

TEST_SETS = ("internal_test", "external_test")
METRICS_COLUMNS = [
    "model", "kind", "set", "n", "positives",
    "auc", "auc_low", "auc_high", "threshold",
    "sensitivity", "sensitivity_low", "sensitivity_high",
    "specificity", "specificity_low", "specificity_high",
    "accuracy", "accuracy_low", "accuracy_high",
    "tp", "fp", "tn", "fn",
]  # fmt: skip


def choose_threshold(labels: np.ndarray, probabilities: np.ndarray, *, policy, name: str) -> float:
    """Operating threshold frozen on the validation set.

    policy : "youden" (Youden's J on these validation scores) or a fixed
        probability in (0, 1).
    """
    if policy == "youden":
        return float(youden_threshold(labels, probabilities, name=f"{name} on validation"))
    return float(policy)


def binary_metrics(labels: np.ndarray, calls: np.ndarray, *, level: float, method: str) -> dict[str, float]:
    """Counts, sensitivity, specificity and accuracy with CIs for 0/1 calls.

    labels, calls : arrays of shape (n_cases,) of 0/1.
    """
    labels, calls = np.asarray(labels).astype(int), np.asarray(calls).astype(int)
    tp = int(np.sum((calls == 1) & (labels == 1)))
    fn = int(np.sum((calls == 0) & (labels == 1)))
    tn = int(np.sum((calls == 0) & (labels == 0)))
    fp = int(np.sum((calls == 1) & (labels == 0)))
    row = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    for name, k, n in (("sensitivity", tp, tp + fn), ("specificity", tn, tn + fp), ("accuracy", tp + tn, len(labels))):
        low, high = proportion_ci(k, n, level=level, method=method)
        row |= {name: k / n, f"{name}_low": low, f"{name}_high": high}
    return row


def model_row(model: str, set_name: str, labels, scores, threshold: float, *, level: float, method: str) -> dict:
    """One metrics row for a model's probabilities on one test set."""
    name = f"{model} on {set_name}"
    auc, low, high = delong_ci(labels, scores, level=level, name=name)
    calls = (np.asarray(scores) >= threshold).astype(int)
    return {
        "model": model, "kind": "model", "set": set_name, "n": len(labels), "positives": int(np.sum(labels)),
        "auc": auc, "auc_low": low, "auc_high": high, "threshold": threshold,
        **binary_metrics(labels, calls, level=level, method=method),
    }  # fmt: skip


def reader_row(reader: str, set_name: str, labels, calls, *, level: float, method: str) -> dict:
    """One metrics row for a reader's binary calls; the AUC of a binary call
    is (sensitivity + specificity) / 2, with its DeLong CI; no threshold."""
    auc, low, high = delong_ci(labels, calls, level=level, name=f"{reader} on {set_name}")
    return {
        "model": reader, "kind": "reader", "set": set_name, "n": len(labels), "positives": int(np.sum(labels)),
        "auc": auc, "auc_low": low, "auc_high": high, "threshold": np.nan,
        **binary_metrics(labels, calls, level=level, method=method),
    }  # fmt: skip


def metrics_table(
    predictions: dict[str, dict[str, pd.DataFrame]],
    readers: pd.DataFrame | None = None,
    *,
    threshold="youden",
    level: float = 0.95,
    method: str = "wilson_cc",
) -> pd.DataFrame:
    """Build results/tables/metrics.csv.

    Parameters
    ----------
    predictions : model name -> set name -> DataFrame(id, label, probability);
        must hold "validation" (for the threshold) and the test sets.
    readers : DataFrame(id, reader, call, label, set) of readers' calls on
        test-set images, or None.
    threshold : "youden" or a fixed probability; see choose_threshold.
    level, method : confidence level and proportion-CI method.

    Returns
    -------
    DataFrame with METRICS_COLUMNS, models first, then readers.
    """
    rows = []
    for model, sets in predictions.items():
        validation = sets["validation"]
        cut = choose_threshold(
            validation["label"].to_numpy(), validation["probability"].to_numpy(), policy=threshold, name=model
        )
        for set_name in TEST_SETS:
            frame = sets[set_name]
            rows.append(model_row(model, set_name, frame["label"].to_numpy(), frame["probability"].to_numpy(),
                                  cut, level=level, method=method))  # fmt: skip
    if readers is not None and len(readers):
        for (reader, set_name), calls in readers.groupby(["reader", "set"], sort=True):
            rows.append(reader_row(reader, set_name, calls["label"].to_numpy(), calls["call"].to_numpy(),
                                   level=level, method=method))  # fmt: skip
    return pd.DataFrame(rows, columns=METRICS_COLUMNS)


def metrics_from_files(prediction_csvs: list[str], readers_csv: str | None, **options) -> pd.DataFrame:
    """metrics_table over files named results/predictions/{model}/{set}.csv
    and the pseudonymised readers' table; options as for metrics_table."""
    predictions: dict[str, dict[str, pd.DataFrame]] = {}
    for path in prediction_csvs:
        path = Path(path)
        predictions.setdefault(path.parent.name, {})[path.stem] = pd.read_csv(path, dtype={"id": str})
    readers = pd.read_csv(readers_csv, dtype={"id": str}) if readers_csv else None
    return metrics_table(predictions, readers, **options)
