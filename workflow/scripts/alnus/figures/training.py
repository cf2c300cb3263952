"""Training curves from results/tables/training_history.csv
(`alnus.study_tables.training_history_table`): loss and validation AUC by
epoch for each architecture. Light: pandas and matplotlib."""

from __future__ import annotations

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from alnus import style
from alnus.figures.common import label
from alnus.history import kept_mask, still_improving
from alnus.study_tables import HISTORY_COLUMNS, check_columns


@style.styled
def training_figure(history: pd.DataFrame):
    """Training curves: loss (training solid, validation dashed; both the
    class-weighted binary cross-entropy, with the training set's class
    weight, `alnus.train.evaluate`) and validation AUC by epoch for each architecture; the epoch whose weights
    were kept (best validation AUC) is circled, and an architecture whose
    kept epoch is its last is labelled "(still improving)"."""
    check_columns(history, ["model", *HISTORY_COLUMNS], table="training_history.csv")
    fig, (loss_ax, auc_ax) = style.figure(style.DOUBLE_COLUMN, 2.9, ncols=2, layout="constrained")
    handles = []
    for i, (model, h) in enumerate(history.groupby("model", sort=False)):
        color, marker = style.model_color(model, i), "o" if h["epoch"].nunique() <= 15 else None
        name = label(model) + (" (still improving)" if still_improving(h) else "")
        handles += loss_ax.plot(h["epoch"], h["train_loss"], color=color, marker=marker, markersize=2.5, label=name)
        loss_ax.plot(h["epoch"], h["val_loss"], color=color, linestyle="--", marker=marker, markersize=2.5)
        auc_ax.plot(h["epoch"], h["val_auc"], color=color, marker=marker, markersize=2.5)
        best = h[kept_mask(h)]
        auc_ax.plot(
            best["epoch"],
            best["val_auc"],
            marker="o",
            markersize=8,
            fillstyle="none",
            color=color,
            markeredgewidth=1,
            linestyle="none",
        )
    handles += [
        Line2D([], [], color="0.3", label="Training loss"),
        Line2D([], [], color="0.3", linestyle="--", label="Validation loss"),
        Line2D(
            [],
            [],
            color="0.3",
            marker="o",
            markersize=8,
            fillstyle="none",
            linestyle="none",
            label="Epoch kept (best validation AUC)",
        ),
    ]
    loss_ax.set(xlabel="Epoch", ylabel="Loss (class-weighted binary cross-entropy)")
    auc_ax.set(xlabel="Epoch", ylabel="Validation AUC", ylim=(min(0.5, history["val_auc"].min() - 0.02), 1.0))
    first, last = int(history["epoch"].min()), int(history["epoch"].max())
    for ax in (loss_ax, auc_ax):
        ax.set_xlim(first - 0.5, last + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fig
