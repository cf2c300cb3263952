"""The study's figures, drawn from predictions and tables only (no images,
no models), so that reviewers can regenerate them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import roc_curve

from alnus import style

SET_TITLES = {"internal_test": "Internal test set", "external_test": "External test set"}


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def roc_figure(
    set_name: str,
    predictions: dict[str, pd.DataFrame],
    metrics: pd.DataFrame,
    readers: pd.DataFrame | None = None,
):
    """ROC curves of every model on one test set.

    Parameters
    ----------
    set_name : "internal_test" or "external_test".
    predictions : model -> DataFrame(id, label, probability) on this set.
    metrics : results/tables/metrics.csv (for the AUC, CI and operating point
        in the legend).
    readers : metrics rows of kind "reader" for this set, drawn as markers at
        (1 - specificity, sensitivity); None or empty for no readers.

    Returns
    -------
    matplotlib Figure.
    """
    fig, ax = style.figure(3.5, 5.2)
    with plt.rc_context(style.RC):
        ax.plot([0, 1], [0, 1], color="0.75", linewidth=0.8, linestyle="--", zorder=0)
        rows = metrics[(metrics["set"] == set_name)].set_index("model")
        for color, (model, frame) in zip(style.PALETTE, predictions.items()):
            fpr, tpr, _ = roc_curve(frame["label"], frame["probability"])
            row = rows.loc[model]
            label = f"{model}: AUC {row.auc:.2f} ({row.auc_low:.2f}, {row.auc_high:.2f})"
            ax.plot(fpr, tpr, color=color, linewidth=1.4, label=label)
            ax.plot(1 - row.specificity, row.sensitivity, marker="o", markersize=5, color=color,
                    markeredgecolor="white", linestyle="none")  # fmt: skip
        if readers is not None and len(readers):
            for marker, (_, row) in zip(style.READER_MARKERS, readers.iterrows()):
                ax.plot(1 - row.specificity, row.sensitivity, marker=marker, markersize=5, color="0.2",
                        fillstyle="none", linestyle="none",
                        label=f"{row.model}: sensitivity {_pct(row.sensitivity)}, specificity {_pct(row.specificity)}")  # fmt: skip
        ax.set_xlim(-0.01, 1.01)
        ax.set_ylim(-0.01, 1.01)
        ax.set_aspect("equal")
        ax.set_xlabel("1 - Specificity")
        ax.set_ylabel("Sensitivity")
        n, positives = int(rows["n"].iloc[0]), int(rows["positives"].iloc[0])
        ax.set_title(f"{SET_TITLES.get(set_name, set_name)} (n = {n}, {positives} positive)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.45, -0.15), frameon=False, ncols=1)
    return fig
