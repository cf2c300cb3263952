"""ROC curves of the models on one test set, with the readers' operating
points and, where asked, pointwise bootstrap bands (`alnus.bootstrap.roc_band`).

Heavier than the rest of `alnus.figures`: the curves come from
scikit-learn's roc_curve and the ensemble from `alnus.metrics`, so this
module imports SciPy and scikit-learn.
"""

from __future__ import annotations

import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from sklearn.metrics import roc_curve

from alnus import style
from alnus.bootstrap import roc_band
from alnus.checks import check_choice
from alnus.figures.common import label, legend_below, patients_of, read_metrics
from alnus.formatting import format_auc, format_percent
from alnus.metrics import model_predictions, read_predictions
from alnus.tables import set_title
from alnus.vocabulary import ENSEMBLE, MODEL_KINDS

log = logging.getLogger(__name__)

ROC_BANDS = ("none", "ensemble", "all")
GRID = np.linspace(0, 1, 201)  # the false-positive rates at which a band is computed
ROC_AXES = {
    "xlim": (-0.02, 1.02),
    "ylim": (-0.02, 1.02),
    "xticks": np.linspace(0, 1, 6),
    "yticks": np.linspace(0, 1, 6),
    "xlabel": "1 - Specificity",
    "ylabel": "Sensitivity",
    "aspect": "equal",
}


def _banded(models: list[str], band: str) -> list[str]:
    """The models whose curves get a band (config `figures: roc_band`)."""
    check_choice(band, ROC_BANDS, "`figures: roc_band`")
    if band == "all":
        return models
    if band == "ensemble":
        chosen = [ENSEMBLE] if ENSEMBLE in models else models if len(models) == 1 else []
        if not chosen:
            log.info("roc_band ensemble: there is no ensemble (statistics.ensemble is off), so no band is drawn")
        return chosen
    return []


def _reader_label(row, level: float = 0.95) -> str:
    name = f"Majority vote ({level:.0%} CIs)" if row.kind == "majority" else label(row.model)
    text = f"{name}: {format_percent(row.sensitivity)} / {format_percent(row.specificity)}"
    return text + (f" (read {int(row.n)} of {int(row.n_in_set)})" if row.n < row.n_in_set else "")


def _band_label(banded: list[str], level: float) -> str:
    which = "the ensemble" if banded == [ENSEMBLE] else label(banded[0]) if len(banded) == 1 else "each curve"
    return f"{level:.0%} bootstrap band of {which}"


def _draw_model(ax, model: str, frame: pd.DataFrame, row, color: str, band: dict | None) -> Line2D:
    """One model's curve (its band first where `band` holds roc_band's
    options) and its operating point; returns the curve, labelled with the AUC."""
    if band is not None:
        low, high = roc_band(frame["label"], frame["probability"], GRID, clusters=frame.get("patient"), **band)
        ax.fill_between(GRID, low, high, color=color, alpha=style.BAND_ALPHA, linewidth=0, zorder=1)
    fpr, tpr, _ = roc_curve(frame["label"], frame["probability"])
    (curve,) = ax.plot(
        fpr,
        tpr,
        color=color,
        linewidth=style.LINE_WIDTH * (1.3 if model == ENSEMBLE else 1),
        zorder=3 if model == ENSEMBLE else 2,
        linestyle=style.model_linestyle(model),
        label=f"{label(model)}: AUC {format_auc(row.auc, row.auc_low, row.auc_high)}",
    )
    if pd.notna(row.get("threshold", np.nan)):
        ax.plot(
            1 - row.specificity,
            row.sensitivity,
            marker=style.OPERATING_POINT_MARKER,
            markersize=5,
            color=color,
            markeredgecolor="white",
            markeredgewidth=0.8,
            linestyle="none",
            zorder=4,
        )
    return curve


def _key_handles(banded: list[str], level: float) -> list:
    """The legend's entries for the operating point and, where drawn, the band."""
    handles = [
        Line2D(
            [],
            [],
            marker=style.OPERATING_POINT_MARKER,
            markersize=5,
            color="0.3",
            markeredgecolor="white",
            linestyle="none",
            label="Operating point (threshold frozen on validation)",
        )
    ]
    if banded:
        handles.append(
            plt.Rectangle(
                (0, 0), 1, 1, color="0.3", alpha=style.BAND_ALPHA, linewidth=0, label=_band_label(banded, level)
            )
        )
    return handles


def _draw_readers(ax, rows: pd.DataFrame, level: float) -> list:
    """Each reader's operating point (open markers) and the majority vote's,
    with its CIs; returns their legend handles."""
    handles = []
    for i, row in rows[rows["kind"] == "reader"].reset_index().iterrows():
        handles += ax.plot(
            1 - row.specificity,
            row.sensitivity,
            marker=style.READER_MARKERS[i % len(style.READER_MARKERS)],
            markersize=4.5,
            color=style.READER_COLOR,
            fillstyle="none",
            markeredgewidth=0.9,
            linestyle="none",
            zorder=5,
            label=_reader_label(row, level),
        )
    for _, row in rows[rows["kind"] == "majority"].reset_index().iterrows():
        handles.append(
            ax.errorbar(
                1 - row.specificity,
                row.sensitivity,
                xerr=[[row.specificity_high - row.specificity], [row.specificity - row.specificity_low]],
                yerr=[[row.sensitivity - row.sensitivity_low], [row.sensitivity_high - row.sensitivity]],
                marker=style.MAJORITY_MARKER,
                markersize=5,
                color=style.model_color(row.model),
                markeredgecolor="white",
                markeredgewidth=0.6,
                elinewidth=0.8,
                capsize=0,
                linestyle="none",
                zorder=6,
                label=_reader_label(row, level),
            )
        )
    return handles


def _legends(fig, ax, handles: list, reader_handles: list) -> None:
    """The models' legend below the axes, and the readers' below that."""
    models_legend = legend_below(ax, handles, offset=0.17)
    if reader_handles:
        ax.add_artist(models_legend)
        fig.canvas.draw()  # the first legend's height places the second
        bottom = models_legend.get_window_extent().transformed(ax.transAxes.inverted()).y0
        legend_below(
            ax,
            reader_handles,
            offset=-bottom + 0.02,
            title="Radiologists (sensitivity / specificity)",
            title_fontsize=7,
            alignment="left",
        )


@style.styled
def roc_figure(
    set_name: str,
    models: dict[str, pd.DataFrame],
    metrics: pd.DataFrame,
    *,
    band: str = "none",
    n_resamples: int = 1000,
    level: float = 0.95,
    seed=0,
):
    """ROC curves of every model on one test set, with the readers.

    Parameters
    ----------
    set_name : "internal_test" or "external_test".
    models : model -> DataFrame(id, label, probability) on this set, the
        ensemble included where the study has one (`alnus.metrics.model_predictions`).
    metrics : results/tables/metrics.csv: each model's AUC with its CI and
        its operating point (sensitivity, specificity at the threshold frozen
        on validation); reader rows (kind reader) become open markers, the
        majority vote (kind majority) a filled marker with its CIs.
    band : {"none", "ensemble", "all"}
        Which curves get a pointwise bootstrap confidence band.
    n_resamples, level, seed : of the band (`alnus.bootstrap.roc_band`).

    Returns
    -------
    matplotlib Figure.

    Raises
    ------
    ValueError
        If metrics.csv has no row for a model on this set, or for an unknown band.
    """
    rows = metrics[metrics["set"] == set_name].set_index("model")
    missing = [m for m in models if m not in rows.index]
    if missing:
        raise ValueError(f"metrics.csv has no row for {', '.join(missing)} on {set_name}; rerun rule metrics")
    banded = _banded(list(models), band)
    band_options = {"n_resamples": n_resamples, "level": level, "seed": seed}
    fig, ax = style.figure(style.SINGLE_COLUMN, style.SINGLE_COLUMN)
    ax.plot([0, 1], [0, 1], color=style.REFERENCE_COLOR, linewidth=0.8, linestyle="--", zorder=0)
    handles = [
        _draw_model(
            ax, model, frame, rows.loc[model], style.model_color(model, i), band_options if model in banded else None
        )
        for i, (model, frame) in enumerate(models.items())
    ]
    handles += _key_handles(banded, level)
    reader_handles = _draw_readers(ax, rows, level)
    ax.set(**ROC_AXES)
    first = rows[rows["kind"].isin(MODEL_KINDS)].iloc[0]
    ax.set_title(set_title(set_name, int(first.n), int(first.positives), patients_of(first)))
    _legends(fig, ax, handles, reader_handles)
    return fig


def roc_from_files(
    prediction_csvs: list[str], metrics_csv: str, *, set_name: str, png: str, pdf: str, ensemble: bool = True, **options
) -> None:
    """Draw roc_{set}.png/.pdf from results/predictions/{model}/{set}.csv and
    metrics.csv; the ensemble is the models' mean probability, computed by
    `alnus.metrics.model_predictions` as in every table. options go to `roc_figure`."""
    models = model_predictions(read_predictions(prediction_csvs), ensemble=ensemble)
    metrics = read_metrics(metrics_csv)
    fig = roc_figure(set_name, {m: sets[set_name] for m, sets in models.items()}, metrics, **options)
    style.save(fig, png, pdf)
