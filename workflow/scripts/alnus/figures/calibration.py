"""Calibration plots: observed share of positives against mean predicted
probability, in equal-size groups, per model and test set, with the
intercept and slope of results/tables/calibration.csv.

Heavier than the rest of `alnus.figures`: the ensemble's predictions come
from `alnus.metrics` (SciPy, scikit-learn), as in every table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alnus import style
from alnus.figures.common import label, legend_below
from alnus.metrics import model_predictions, read_predictions
from alnus.study_tables import check_columns
from alnus.tables import set_title
from alnus.vocabulary import TEST_SETS


def calibration_bins(labels, probabilities, *, bins: int = 5) -> pd.DataFrame:
    """Cases grouped by predicted probability into `bins` groups of equal
    size (as equal as the count allows; ties kept in sorted order).

    labels, probabilities : arrays of shape (n_cases,).
    Returns DataFrame(mean_predicted, observed, n), one row per group.
    Raises ValueError for fewer than 2 bins or more bins than cases.
    """
    labels, probabilities = np.asarray(labels, dtype=float), np.asarray(probabilities, dtype=float)
    if not 2 <= bins <= len(labels):
        raise ValueError(
            f"`bins` must lie between 2 and the number of cases ({len(labels)}), got {bins} "
            "(config `figures: calibration_bins`)"
        )
    groups = np.array_split(np.argsort(probabilities, kind="stable"), bins)
    return pd.DataFrame(
        {
            "mean_predicted": [probabilities[g].mean() for g in groups],
            "observed": [labels[g].mean() for g in groups],
            "n": [len(g) for g in groups],
        }
    )


def _signed(x: float) -> str:
    """0.25 -> "0.25", -0.25 -> "−0.25" (a true minus sign, as typeset)."""
    return f"{x:.2f}".replace("-", "\u2212")


def _calibration_label(model: str, row) -> str:
    if row is None:
        return label(model)
    slope = "n/e" if pd.isna(row.slope) else _signed(row.slope)
    return f"{label(model)}: {_signed(row.intercept)} / {slope}"


@style.styled
def calibration_figure(models: dict[str, dict[str, pd.DataFrame]], calibration: pd.DataFrame, *, bins: int = 5):
    """Calibration plots, one panel per test set: observed share of
    positives against mean predicted probability in `bins` equal-size groups,
    per model and the ensemble, with intercept and slope from calibration.csv.

    models : model -> set -> DataFrame(id, label, probability), as returned
        by `alnus.metrics.model_predictions`.
    """
    check_columns(calibration, ["model", "set", "intercept", "slope"], table="calibration.csv")
    table = calibration.set_index(["model", "set"])
    fig, axes = style.figure(style.DOUBLE_COLUMN, 3.3, ncols=len(TEST_SETS), squeeze=False, gridspec_kw={"wspace": 0.3})
    for ax, set_name in zip(axes[0], TEST_SETS):
        ax.plot([0, 1], [0, 1], color=style.REFERENCE_COLOR, linestyle="--", linewidth=0.8, zorder=0)
        handles = []
        for i, (model, sets) in enumerate(models.items()):
            frame = sets[set_name]
            points = calibration_bins(frame["label"], frame["probability"], bins=bins)
            row = table.loc[(model, set_name)] if (model, set_name) in table.index else None
            handles += ax.plot(
                points["mean_predicted"],
                points["observed"],
                marker="o",
                markersize=3.5,
                color=style.model_color(model, i),
                linestyle=style.model_linestyle(model),
                label=_calibration_label(model, row),
            )
        frame = next(iter(models.values()))[set_name]
        ax.set(
            xlim=(-0.02, 1.02),
            ylim=(-0.02, 1.02),
            aspect="equal",
            xlabel="Predicted probability",
            ylabel="Observed proportion positive",
        )
        ax.set_title(set_title(set_name, len(frame), int(frame["label"].sum())))
        legend_below(
            ax,
            handles,
            offset=0.16,
            title="Calibration intercept / slope (n/e: not estimable)",
            title_fontsize=7,
            alignment="left",
        )
    return fig


def calibration_from_files(
    prediction_csvs: list[str], calibration_csv: str, *, png: str, pdf: str, ensemble: bool = True, bins: int = 5
) -> None:
    """Draw calibration.png/.pdf from the predictions and calibration.csv."""
    models = model_predictions(read_predictions(prediction_csvs), ensemble=ensemble)
    fig = calibration_figure(models, pd.read_csv(calibration_csv), bins=bins)
    style.save(fig, png, pdf)
