"""The study's figures.

Two kinds. Those drawn from results/predictions, results/tables and
results/splits.csv alone, so that a reviewer without images, models or GPU
regenerates them: ROC curves, confusion matrices, the forest plot of
sensitivity and specificity, calibration plots, decision curves, the cohort
flow and the training curves. And the Grad-CAM heat maps, which need the
trained models and the preprocessed images (torch is imported only there).

The look (fonts, sizes, colours, resolution) comes from `alnus.style`; names
and number formats from `alnus.tables`, so that figures and Table 2 agree;
the ensemble and the frozen thresholds from `alnus.metrics`. That module (and
with it SciPy and scikit-learn) is imported only where a figure needs it, so
that the lighter jobs of the reviewers' path start in about a second.
"""

from __future__ import annotations

import logging
import re
import textwrap
from importlib import metadata
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from alnus import style
from alnus.folds import fold_of
from alnus.history import STILL_IMPROVING, kept_mask, still_improving
from alnus.tables import SET_TITLES, display_name, format_auc, format_percent
from alnus.vocabulary import KIND_ORDER, MODEL_KINDS

log = logging.getLogger(__name__)

TEST_SETS = tuple(SET_TITLES)  # internal_test, external_test, as alnus.metrics.TEST_SETS
ROC_BANDS = ("none", "ensemble", "all")
SELECTIONS = ("most_confident", "least_confident", "median")
CAM_TARGETS = ("metastasis", "predicted")
# Heat-map categories: name, label, the model's call.
CATEGORIES = {
    "TP": ("True positive", 1, 1),
    "FN": ("False negative", 1, 0),
    "FP": ("False positive", 0, 1),
    "TN": ("True negative", 0, 0),
}
SET_ORDER = ("train", "validation", "internal_test", "external_test")
SET_NAMES = {"train": "Training set", "validation": "Validation set", **SET_TITLES}
COHORT_TITLES = {"development": "Development cohort", "external": "External cohort"}
COHORT_COLUMNS = ["cohort", "set", "images", "patients", "positives", "negatives", "readers"]


def label(model: str) -> str:
    """Printed name of a model or reader: Table 2's names, "Reader 1" for "reader_1"."""
    name = display_name(model)
    if name == model and (match := re.fullmatch(r"reader_?(\w+)", model)):
        return f"Reader {match.group(1)}"
    return name


def _set_heading(set_name: str, n: int, positives: int, patients: int | None = None) -> str:
    """'External test set (n = 80; 39 positive)', naming the patients where
    they are fewer than the images."""
    count = f"{n} images of {patients} patients" if patients is not None and patients < n else f"{n}"
    return f"{SET_NAMES.get(set_name, set_name)} (n = {count}; {positives} positive)"


def _patients(row) -> int | None:
    """The `patients` of a metrics.csv row (None in files without it)."""
    value = row.get("patients", None)
    return int(value) if value is not None and pd.notna(value) else None


def _check_columns(frame: pd.DataFrame, columns, *, table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table} lacks column(s) {', '.join(missing)}; rerun the rule that writes it")


def _legend_below(ax, handles, *, ncols: int = 1, offset: float = 0.14, **kwargs):
    return ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -offset),
        ncols=ncols,
        handlelength=1.8,
        borderaxespad=0,
        **kwargs,
    )


# --------------------------------------------------------------------------
# ROC curves
# --------------------------------------------------------------------------
def sensitivity_at(labels, scores, fpr_grid) -> np.ndarray:
    """The ROC curve's sensitivity at each 1 - specificity of `fpr_grid`
    (the highest sensitivity reached at that false-positive rate or below).

    labels, scores : arrays of shape (n_cases,); fpr_grid : increasing array
    in [0, 1]. Returns an array of shape fpr_grid.shape.
    """
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    return tpr[np.searchsorted(fpr, fpr_grid, side="right") - 1]


def roc_band(labels, scores, fpr_grid, *, n_resamples: int = 1000, level: float = 0.95, seed=0, clusters=None):
    """Pointwise percentile bootstrap band of the ROC curve.

    Positives and negatives are resampled separately (stratified, so every
    resample keeps the set's prevalence), and the sensitivity at each
    1 - specificity of `fpr_grid` is taken from each resample's curve. Where
    `clusters` (the patient of each case) has a patient with several cases,
    patients are resampled instead, with all their images
    (`alnus.clustered.cluster_bootstrap_roc_band`).

    Parameters
    ----------
    labels, scores : arrays of shape (n_cases,)
    fpr_grid : increasing array in [0, 1], shape (n_points,)
    n_resamples, level : resamples and confidence level.
    seed : int or numpy.random.Generator.
    clusters : array of shape (n_cases,), or None.

    Returns
    -------
    (low, high) : arrays of shape (n_points,)

    Raises
    ------
    ValueError
        If fewer than 10 resamples are asked for, or one class is missing.
    """
    if n_resamples < 10:
        raise ValueError(f"`n_resamples` must be at least 10, got {n_resamples}")
    if clusters is not None and pd.Series(clusters).duplicated().any():
        from alnus.clustered import cluster_bootstrap_roc_band

        return cluster_bootstrap_roc_band(
            np.asarray(labels),
            np.asarray(scores, dtype=float),
            np.asarray(clusters),
            np.asarray(fpr_grid),
            n_resamples=n_resamples,
            level=level,
            seed=seed,
        )
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, dtype=float)
    if labels.all() or not labels.any():
        raise ValueError("an ROC band needs positive and negative cases")
    rng = np.random.default_rng(seed)
    positive, negative = scores[labels], scores[~labels]
    truth = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    curves = np.empty((n_resamples, len(fpr_grid)))
    for b in range(n_resamples):
        resample = np.r_[rng.choice(positive, len(positive)), rng.choice(negative, len(negative))]
        curves[b] = sensitivity_at(truth, resample, fpr_grid)
    tail = (1 - level) / 2
    return np.quantile(curves, tail, axis=0), np.quantile(curves, 1 - tail, axis=0)


def _banded(models: list[str], band: str) -> list[str]:
    from alnus.metrics import ENSEMBLE

    if band not in ROC_BANDS:
        raise ValueError(
            f"unknown ROC `band` {band!r}; valid names are {', '.join(map(repr, ROC_BANDS))} "
            "(config `figures: roc_band`)"
        )
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
    from alnus.metrics import ENSEMBLE

    which = "the ensemble" if banded == [ENSEMBLE] else label(banded[0]) if len(banded) == 1 else "each curve"
    return f"{level:.0%} bootstrap band of {which}"


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
    n_resamples, level, seed : of the band (`roc_band`).

    Returns
    -------
    matplotlib Figure.

    Raises
    ------
    ValueError
        If metrics.csv has no row for a model on this set, or for an unknown band.
    """
    from sklearn.metrics import roc_curve

    from alnus.metrics import ENSEMBLE

    rows = metrics[metrics["set"] == set_name].set_index("model")
    missing = [m for m in models if m not in rows.index]
    if missing:
        raise ValueError(f"metrics.csv has no row for {', '.join(missing)} on {set_name}; rerun rule metrics")
    banded = _banded(list(models), band)
    fig, ax = style.figure(style.SINGLE_COLUMN, style.SINGLE_COLUMN)
    ax.plot([0, 1], [0, 1], color=style.REFERENCE_COLOR, linewidth=0.8, linestyle="--", zorder=0)
    grid = np.linspace(0, 1, 201)
    handles, reader_handles = [], []
    for i, (model, frame) in enumerate(models.items()):
        color, row = style.model_color(model, i), rows.loc[model]
        if model in banded:
            low, high = roc_band(
                frame["label"],
                frame["probability"],
                grid,
                n_resamples=n_resamples,
                level=level,
                seed=seed,
                clusters=frame.get("patient"),
            )
            ax.fill_between(grid, low, high, color=color, alpha=style.BAND_ALPHA, linewidth=0, zorder=1)
        fpr, tpr, _ = roc_curve(frame["label"], frame["probability"])
        width = style.LINE_WIDTH * (1.3 if model == ENSEMBLE else 1)
        handles += ax.plot(
            fpr,
            tpr,
            color=color,
            linewidth=width,
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
    handles.append(
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
    )
    if banded:
        handles.append(
            plt.Rectangle(
                (0, 0), 1, 1, color="0.3", alpha=style.BAND_ALPHA, linewidth=0, label=_band_label(banded, level)
            )
        )
    readers = rows[rows["kind"] == "reader"].reset_index()
    for i, row in readers.iterrows():
        marker = style.READER_MARKERS[i % len(style.READER_MARKERS)]
        reader_handles += ax.plot(
            1 - row.specificity,
            row.sensitivity,
            marker=marker,
            markersize=4.5,
            color=style.READER_COLOR,
            fillstyle="none",
            markeredgewidth=0.9,
            linestyle="none",
            zorder=5,
            label=_reader_label(row, level),
        )
    for _, row in rows[rows["kind"] == "majority"].reset_index().iterrows():
        color = style.model_color(row.model)
        reader_handles.append(
            ax.errorbar(
                1 - row.specificity,
                row.sensitivity,
                xerr=[[row.specificity_high - row.specificity], [row.specificity - row.specificity_low]],
                yerr=[[row.sensitivity - row.sensitivity_low], [row.sensitivity_high - row.sensitivity]],
                marker=style.MAJORITY_MARKER,
                markersize=5,
                color=color,
                markeredgecolor="white",
                markeredgewidth=0.6,
                elinewidth=0.8,
                capsize=0,
                linestyle="none",
                zorder=6,
                label=_reader_label(row, level),
            )
        )
    ax.set(
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
        xticks=np.linspace(0, 1, 6),
        yticks=np.linspace(0, 1, 6),
        xlabel="1 - Specificity",
        ylabel="Sensitivity",
        aspect="equal",
    )
    first = rows[rows["kind"].isin(MODEL_KINDS)].iloc[0]
    ax.set_title(_set_heading(set_name, int(first.n), int(first.positives), _patients(first)))
    models_legend = _legend_below(ax, handles, offset=0.17)
    if reader_handles:
        ax.add_artist(models_legend)
        fig.canvas.draw()  # the first legend's height places the second
        bottom = models_legend.get_window_extent().transformed(ax.transAxes.inverted()).y0
        _legend_below(
            ax,
            reader_handles,
            offset=-bottom + 0.02,
            title="Radiologists (sensitivity / specificity)",
            title_fontsize=7,
            alignment="left",
        )
    return fig


def read_metrics(metrics_csv: str, *, unit: str = "image") -> pd.DataFrame:
    """The rows of metrics.csv at one unit of analysis (the figures draw the
    image level, as the paper; files without the column are image level)."""
    metrics = pd.read_csv(metrics_csv, keep_default_na=False, na_values=[""])
    return metrics[metrics["unit"] == unit].reset_index(drop=True) if "unit" in metrics.columns else metrics


def roc_from_files(
    prediction_csvs: list[str], metrics_csv: str, *, set_name: str, png: str, pdf: str, ensemble: bool = True, **options
) -> None:
    """Draw roc_{set}.png/.pdf from results/predictions/{model}/{set}.csv and
    metrics.csv; the ensemble is the models' mean probability, computed by
    `alnus.metrics.model_predictions` as in every table. options go to `roc_figure`."""
    from alnus.metrics import model_predictions, read_predictions

    models = model_predictions(read_predictions(prediction_csvs), ensemble=ensemble)
    metrics = read_metrics(metrics_csv)
    fig = roc_figure(set_name, {m: sets[set_name] for m, sets in models.items()}, metrics, **options)
    style.save(fig, png, pdf)


# --------------------------------------------------------------------------
# Confusion matrices and forest plot (metrics.csv)
# --------------------------------------------------------------------------
def _ordered(metrics: pd.DataFrame, kinds) -> pd.DataFrame:
    rows = metrics[metrics["kind"].isin(kinds)]
    return rows.assign(_order=rows["kind"].map(KIND_ORDER)).sort_values("_order", kind="stable")


@style.styled
def confusion_figure(metrics: pd.DataFrame):
    """2 x 2 confusion matrices of each model, the ensemble and the readers'
    majority vote (columns) on each test set (rows), from metrics.csv's tp,
    fn, fp, tn. Shading and percentages are shares of the actual class
    (row): sensitivity and 1 - sensitivity on top, 1 - specificity and
    specificity below.

    Raises
    ------
    ValueError
        If metrics.csv lacks the count columns.
    """
    _check_columns(metrics, ["model", "kind", "set", "tp", "fn", "fp", "tn"], table="metrics.csv")
    rows = _ordered(metrics, ["model", "ensemble", "majority"])
    sets = [s for s in TEST_SETS if s in set(rows["set"])]
    models = list(dict.fromkeys(rows["model"]))
    fig, axes = style.figure(
        min(style.DOUBLE_COLUMN, 1.35 * len(models) + 1.1),
        1.75 * len(sets) + 0.2,
        nrows=len(sets),
        ncols=len(models),
        squeeze=False,
        layout="constrained",
    )
    cmap = plt.get_cmap(style.SEQUENTIAL_CMAP)
    for i, set_name in enumerate(sets):
        for j, model in enumerate(models):
            ax, here = axes[i, j], rows[(rows["set"] == set_name) & (rows["model"] == model)]
            if here.empty:
                ax.axis("off")
                continue
            r = here.iloc[0]
            counts = np.array([[r.tp, r.fn], [r.fp, r.tn]], dtype=int)
            share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
            ax.imshow(share, cmap=cmap, vmin=0, vmax=1)
            for (a, b), count in np.ndenumerate(counts):
                ax.text(
                    b,
                    a,
                    f"{count}\n{format_percent(share[a, b])}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if share[a, b] > 0.6 else "black",
                )
            ax.set_xticks([0, 1], ["Positive", "Negative"])
            ax.set_yticks([0, 1], ["Positive", "Negative"] if j == 0 else ["", ""])
            ax.tick_params(length=0, labelsize=6.5)
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_title(textwrap.fill(label(model), 19), fontsize=7)
            ax.set_xlabel("Predicted" if i == len(sets) - 1 else "")
            if j == 0:
                ax.set_ylabel(f"{SET_NAMES[set_name]}\nActual")
    fig.colorbar(
        ScalarMappable(Normalize(0, 1), cmap),
        ax=axes,
        shrink=0.7,
        aspect=25,
        format=PercentFormatter(1),
        label="Share of the actual class",
    )
    return fig


@style.styled
def forest_figure(metrics: pd.DataFrame, *, level: float = 0.95):
    """Sensitivity and specificity with their CIs of every model, the
    ensemble, the readers' majority vote and each reader, per test set, from
    metrics.csv; the estimate and its fraction are printed beside each row.

    Raises
    ------
    ValueError
        If metrics.csv lacks the needed columns.
    """
    columns = ["model", "kind", "set", "n", "n_in_set", "tp", "fn", "fp", "tn"]
    columns += [f"{m}{s}" for m in ("sensitivity", "specificity") for s in ("", "_low", "_high")]
    _check_columns(metrics, columns, table="metrics.csv")
    rows, labels, y = [], [], 0
    for set_name in [s for s in TEST_SETS if s in set(metrics["set"])]:
        here = _ordered(metrics[metrics["set"] == set_name], KIND_ORDER)
        labels.append(
            (
                y,
                _set_heading(
                    set_name, int(here["n_in_set"].iloc[0]), int(here["positives"].iloc[0]), _patients(here.iloc[0])
                ),
                True,
            )
        )
        y += 1
        for _, r in here.iterrows():
            name = label(r.model) + (f" (read {int(r.n)})" if r.n < r.n_in_set else "")
            rows.append((y, r))
            labels.append((y, name, False))
            y += 1
        y += 0.5
    fig, axes = style.figure(4.6, 0.16 * y + 0.6, ncols=2, sharey=True, gridspec_kw={"wspace": 0.62})
    models = list(dict.fromkeys(r.model for _, r in rows if r.kind in MODEL_KINDS))
    for ax, measure in zip(axes, ("sensitivity", "specificity")):
        for yy, r in rows:
            reader = r.kind == "reader"
            index = models.index(r.model) if r.model in models else 0
            color = style.READER_COLOR if reader else style.model_color(r.model, index)
            marker = {"reader": "o", "majority": style.MAJORITY_MARKER}.get(r.kind, "s")
            value = r[measure]
            ax.errorbar(
                value,
                yy,
                xerr=[[value - r[f"{measure}_low"]], [r[f"{measure}_high"] - value]],
                marker=marker,
                markersize=4,
                color=color,
                mfc="white" if reader else color,
                elinewidth=1,
                capsize=0,
                linestyle="none",
                clip_on=False,
            )
            k, n = (r.tp, r.tp + r.fn) if measure == "sensitivity" else (r.tn, r.tn + r.fp)
            ax.text(
                1.06,
                yy,
                f"{format_percent(value)} ({int(k)}/{int(n)})",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=6.5,
            )
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1))
        ax.set_xlabel(f"{measure.capitalize()} ({level:.0%} CI)")
        ax.grid(axis="x", color="0.9", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
    axes[0].set_yticks([t[0] for t in labels], [t[1] for t in labels])
    for tick, (_, _, heading) in zip(axes[0].get_yticklabels(), labels):
        tick.set_fontweight("bold" if heading else "normal")
    axes[0].set_ylim(y - 0.3, -0.7)
    return fig


# --------------------------------------------------------------------------
# Calibration and decision curves
# --------------------------------------------------------------------------
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
    _check_columns(calibration, ["model", "set", "intercept", "slope"], table="calibration.csv")
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
        ax.set_title(_set_heading(set_name, len(frame), int(frame["label"].sum())))
        _legend_below(
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
    from alnus.metrics import model_predictions, read_predictions

    models = model_predictions(read_predictions(prediction_csvs), ensemble=ensemble)
    fig = calibration_figure(models, pd.read_csv(calibration_csv), bins=bins)
    style.save(fig, png, pdf)


@style.styled
def decision_curve_figure(table: pd.DataFrame):
    """Decision curves, one panel per test set, from decision_curve.csv: net
    benefit against threshold probability for each model, the ensemble,
    treat all and treat none.
    """
    _check_columns(table, ["set", "model", "threshold", "net_benefit"], table="decision_curve.csv")
    sets = [s for s in TEST_SETS if s in set(table["set"])]
    fig, axes = style.figure(style.DOUBLE_COLUMN, 3.1, ncols=len(sets), squeeze=False, layout="constrained")
    models = [m for m in dict.fromkeys(table["model"]) if m not in ("treat_all", "treat_none")]
    for ax, set_name in zip(axes[0], sets):
        here = table[table["set"] == set_name]
        handles = []
        for i, model in enumerate(models):
            curve = here[here["model"] == model]
            handles += ax.plot(
                curve["threshold"],
                curve["net_benefit"],
                color=style.model_color(model, i),
                zorder=2,
                linestyle=style.model_linestyle(model),
                label=label(model),
            )
        everyone, nobody = here[here["model"] == "treat_all"], here[here["model"] == "treat_none"]
        handles += ax.plot(
            everyone["threshold"],
            everyone["net_benefit"],
            color=style.REFERENCE_COLOR,
            linewidth=1,
            zorder=1,
            label="Treat all (axillary surgery for every patient)",
        )
        handles += ax.plot(
            nobody["threshold"],
            nobody["net_benefit"],
            color="0.3",
            linestyle=":",
            linewidth=1,
            zorder=1,
            label="Treat none",
        )
        top = max(here["net_benefit"].max(), 0.01) * 1.12
        bottom = max(here.loc[here["model"].isin(models), "net_benefit"].min(), -0.3 * top)
        ax.set(
            xlim=(here["threshold"].min(), here["threshold"].max()),
            ylim=(min(bottom, 0) - 0.04 * top, top),
            xlabel="Threshold probability",
            ylabel="Net benefit" if ax is axes[0, 0] else "",
        )
        ax.set_title(SET_NAMES.get(set_name, set_name))
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fig


# --------------------------------------------------------------------------
# Training curves (results/tables/training_history.csv)
# --------------------------------------------------------------------------
HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "val_auc", "best"]


def training_history_table(histories: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The architectures' history.tsv files as one table with a `model`
    column first (results/tables/training_history.csv), and a `note` column
    last: `alnus.history.STILL_IMPROVING` on the kept epoch of a model whose
    kept epoch is its last one, else empty.

    Raises ValueError naming the architecture whose history lacks a column.
    """
    parts = []
    for model, history in histories.items():
        _check_columns(history, HISTORY_COLUMNS, table=f"results/models/{model}/history.tsv")
        note = np.where(kept_mask(history) & still_improving(history), STILL_IMPROVING, "")
        parts.append(history.assign(model=model, note=note))
    table = pd.concat(parts, ignore_index=True)
    return table[["model"] + [c for c in table.columns if c not in ("model", "note")] + ["note"]]


def training_history_from_files(history_tsvs: list[str]) -> pd.DataFrame:
    """training_history_table over results/models/{model}/history.tsv; a fold
    model's (results/models/{arch}/fold-{k}/, split.folds) is named by its architecture."""

    def model(path: Path) -> str:
        return path.parent.parent.name if fold_of(f"{path.parent.parent.name}/{path.parent.name}") else path.parent.name

    return training_history_table({model(Path(p)): pd.read_csv(p, sep="\t") for p in history_tsvs})


@style.styled
def training_figure(history: pd.DataFrame):
    """Training curves: loss (training solid, validation dashed) and
    validation AUC by epoch for each architecture; the epoch whose weights
    were kept (best validation AUC) is circled, and an architecture whose
    kept epoch is its last is labelled "(still improving)"."""
    _check_columns(history, ["model", *HISTORY_COLUMNS], table="training_history.csv")
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
    loss_ax.set(xlabel="Epoch", ylabel="Loss (weighted binary cross-entropy)")
    auc_ax.set(xlabel="Epoch", ylabel="Validation AUC", ylim=(min(0.5, history["val_auc"].min() - 0.02), 1.0))
    first, last = int(history["epoch"].min()), int(history["epoch"].max())
    for ax in (loss_ax, auc_ax):
        ax.set_xlim(first - 0.5, last + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fig


# --------------------------------------------------------------------------
# Cohorts (results/tables/cohorts.csv and the flow figure)
# --------------------------------------------------------------------------
def cohort_table(splits: pd.DataFrame, manifests: dict[str, pd.DataFrame], readers: pd.DataFrame | None = None):
    """Images, patients, positives and negatives per cohort and set, and the
    number of readers who read cases of each set (results/tables/cohorts.csv).

    Parameters
    ----------
    splits : results/splits.csv (id, patient, cohort, set).
    manifests : cohort -> results/preprocessed/{cohort}/manifest.csv (id, label).
    readers : results/tables/readers.csv (id, reader, set), or None.

    Returns
    -------
    DataFrame with COHORT_COLUMNS: per cohort a row of set "all", then one
    row per set.

    Raises
    ------
    ValueError
        If an id of the splits is in no manifest of its cohort.
    """
    labels = pd.concat([m[["id", "label"]].assign(cohort=c) for c, m in manifests.items()])
    table = splits.astype({"id": str}).merge(labels.astype({"id": str}), on=["cohort", "id"], how="left")
    if table["label"].isna().any():
        missing = table.loc[table["label"].isna(), "id"].head(3).tolist()
        raise ValueError(
            f"ids {missing} of splits.csv are in no preprocessed manifest of their cohort; rerun rule split"
        )
    read = readers.groupby("set")["reader"].nunique() if readers is not None and len(readers) else pd.Series(dtype=int)
    cohorts = [c for c in COHORT_TITLES if c in set(table["cohort"])] + sorted(
        set(table["cohort"]) - set(COHORT_TITLES)
    )
    rows = []
    for cohort in cohorts:
        here = table[table["cohort"] == cohort]
        sets = [s for s in SET_ORDER if s in set(here["set"])]
        for set_name, part in [("all", here)] + [(s, here[here["set"] == s]) for s in sets]:
            readers_here = read.reindex(sets if set_name == "all" else [set_name]).fillna(0)
            rows.append(
                {
                    "cohort": cohort,
                    "set": set_name,
                    "images": len(part),
                    "patients": part["patient"].nunique(),
                    "positives": int((part["label"] == 1).sum()),
                    "negatives": int((part["label"] == 0).sum()),
                    "readers": int(readers_here.max()) if len(readers_here) else 0,
                }
            )
    return pd.DataFrame(rows, columns=COHORT_COLUMNS)


def cohort_table_from_files(splits_csv: str, manifests: dict[str, str], readers_csv: str | None) -> pd.DataFrame:
    """cohort_table over splits.csv, the preprocessed manifests and readers.csv."""
    read = {"dtype": {"id": str, "patient": str}}
    return cohort_table(
        pd.read_csv(splits_csv, **read),
        {c: pd.read_csv(p, **read) for c, p in manifests.items()},
        pd.read_csv(readers_csv, dtype={"id": str}) if readers_csv else None,
    )


def _box(ax, x, y, width, height, title, body, *, face=style.BOX_FACE):
    """A rounded box centred at (x, y) (inches) with a bold title and a body."""
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            facecolor=face,
            edgecolor="0.25",
            boxstyle="round,pad=0,rounding_size=0.05",
            linewidth=0.7,
        )
    )
    ax.text(x, y + height / 2 - 0.09, title, ha="center", va="top", fontweight="bold")
    ax.text(x, y + height / 2 - 0.29, body, ha="center", va="top", fontsize=7, linespacing=1.35)


def _arrow(ax, start, end):
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": "0.25",
            "linewidth": 0.8,
            "shrinkA": 0,
            "shrinkB": 0,
            "mutation_scale": 8,
        },
    )


def _counts(row) -> str:
    return (
        f"{int(row.images)} images, {int(row.patients)} patients\n"
        f"{int(row.positives)} positive, {int(row.negatives)} negative"
    )


SET_ROLES = {
    "train": "trains the networks",
    "validation": "selects the epoch and\nfreezes the threshold",
    "internal_test": "scored once",
    "external_test": "scored once",
}


@style.styled
def cohort_flow_figure(cohorts: pd.DataFrame):
    """A STARD-style flow diagram of the study from cohorts.csv: each cohort
    (images, patients, positives, negatives), its sets, and what each set is
    used for (with the number of readers on the test sets)."""
    _check_columns(cohorts, COHORT_COLUMNS, table="cohorts.csv")
    columns = [(c, s) for c, s in zip(cohorts["cohort"], cohorts["set"]) if s != "all"]
    width, height = max(style.DOUBLE_COLUMN, 1.75 * len(columns)), 2.5
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1), xlim=(0, width), ylim=(0, height))  # data coordinates are inches
    ax.axis("off")
    pitch = width / len(columns)
    box_w, box_h, top, middle = pitch - 0.14, 0.7, 2.1, 0.85
    x_of = {key: pitch * (i + 0.5) for i, key in enumerate(columns)}
    for cohort, group in cohorts.groupby("cohort", sort=False):
        xs = [x_of[(cohort, s)] for s in group["set"] if s != "all"]
        cx, span = (xs[0] + xs[-1]) / 2, xs[-1] - xs[0] + box_w
        whole = group[group["set"] == "all"].iloc[0]
        _box(ax, cx, top, span, box_h, COHORT_TITLES.get(cohort, cohort), _counts(whole), face="white")
        below, above = top - box_h / 2, middle + box_h / 2
        if len(xs) > 1:
            bar = (below + above) / 2 - 0.05
            ax.plot([cx, cx], [below, bar], color="0.25", linewidth=0.8)
            ax.plot([xs[0], xs[-1]], [bar, bar], color="0.25", linewidth=0.8)
            for x in xs:
                _arrow(ax, (x, bar), (x, above))
            ax.text(
                cx + 0.07,
                (below + bar) / 2,
                "split by patient, stratified by label",
                ha="left",
                va="center",
                fontsize=6.5,
                style="italic",
            )
        else:
            _arrow(ax, (cx, below), (cx, above))
        for _, row in group[group["set"] != "all"].iterrows():
            x = x_of[(cohort, row.set)]
            _box(ax, x, middle, box_w, box_h, SET_NAMES.get(row.set, row.set), _counts(row))
            role = SET_ROLES.get(row.set, "")
            if row.readers:
                role += f";\nread by {int(row.readers)} radiologist{'s' if row.readers > 1 else ''}"
            ax.text(x, middle - box_h / 2 - 0.07, role, ha="center", va="top", fontsize=6.5, style="italic")
    return fig


# --------------------------------------------------------------------------
# Heat maps (need the models and the preprocessed images)
# --------------------------------------------------------------------------
def select_cases(frame: pd.DataFrame, threshold: float, *, rule: str = "most_confident", per_category: int = 1):
    """Representative cases of each outcome at a model's frozen threshold.

    Parameters
    ----------
    frame : DataFrame(id, label, probability) of one model on one set.
    threshold : the model's threshold (probability >= threshold is positive).
    rule : {"most_confident", "least_confident", "median"}
        most_confident: furthest from the threshold on the side of the call
        (highest probability among true and false positives, lowest among
        true and false negatives); least_confident: nearest the threshold;
        median: nearest the category's median probability. Ties go to the
        smaller id, so the choice is deterministic.
    per_category : cases per category (fewer where a category has fewer).

    Returns
    -------
    DataFrame(id, label, probability, call, category) ordered TP, FN, FP, TN;
    a category without cases has no rows.

    Raises
    ------
    ValueError
        For an unknown rule or per_category below 1.
    """
    if rule not in SELECTIONS:
        raise ValueError(
            f"unknown selection `rule` {rule!r}; valid names are {', '.join(map(repr, SELECTIONS))} "
            "(config `figures: heatmaps: selection`)"
        )
    if per_category < 1:
        raise ValueError(f"`per_category` must be at least 1, got {per_category}")
    frame = frame.assign(id=frame["id"].astype(str), call=(frame["probability"] >= threshold).astype(int))
    parts = []
    for category, (_, truth, call) in CATEGORIES.items():
        group = frame[(frame["label"] == truth) & (frame["call"] == call)]
        if rule == "most_confident":
            key = -group["probability"] if call else group["probability"]
        elif rule == "least_confident":
            key = (group["probability"] - threshold).abs()
        else:
            key = (group["probability"] - group["probability"].median()).abs()
        chosen = group.assign(_key=key).sort_values(["_key", "id"]).head(per_category)
        parts.append(chosen.drop(columns="_key").assign(category=category))
    return pd.concat(parts, ignore_index=True)[["id", "label", "probability", "call", "category"]]


def unletterbox(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A map over a letterboxed network input (`alnus.data.letterbox`: the
    longer side scaled to the input size, the shorter centred between black
    bars) cut back to the image and resized to its (height, width)."""
    import cv2

    size, (height, width) = cam.shape[0], shape
    scale = size / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    top, left = (size - new_h) // 2, (size - new_w) // 2
    return cv2.resize(cam[top : top + new_h, left : left + new_w], (width, height), interpolation=cv2.INTER_LINEAR)


def overlay(image: np.ndarray, cam: np.ndarray, *, opacity: float = 0.6) -> np.ndarray:
    """The grey image with the map laid over it in the heat-map colours; the
    map's own value sets its opacity (up to `opacity`), so unimportant
    regions show the plain ultrasound. Returns RGB floats (H, W, 3) in [0, 1]."""
    grey = np.repeat((image.astype(float) / 255.0)[..., None], 3, axis=2)
    colours = plt.get_cmap(style.HEATMAP_CMAP)(cam)[..., :3]
    alpha = opacity * np.clip(cam, 0, 1)[..., None]
    return (1 - alpha) * grey + alpha * colours


def _colorbar(fig, axes, method: str):
    bar = fig.colorbar(
        ScalarMappable(Normalize(0, 1), plt.get_cmap(style.HEATMAP_CMAP)),
        ax=axes,
        fraction=0.05,
        pad=0.03,
        aspect=30,
        ticks=[0, 0.5, 1],
    )
    bar.set_label(f"{'Grad-CAM++' if method == 'gradcam++' else 'Grad-CAM'} (each map scaled to its maximum)")
    bar.ax.tick_params(labelsize=6.5)
    return bar


def _show(ax, pixels, caption: str | None = None, title: str | None = None):
    ax.imshow(pixels, cmap="gray" if pixels.ndim == 2 else None, vmin=0, vmax=255 if pixels.ndim == 2 else 1)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=7.5)
    if caption:
        ax.text(0.5, -0.03, caption, transform=ax.transAxes, ha="center", va="top", fontsize=6.5)


def _probability(p: float, threshold: float | None = None) -> str:
    """ "p = 0.47", with as many decimals as it takes to tell p from the threshold."""
    digits = 2
    while threshold is not None and digits < 6 and round(p, digits) == round(threshold, digits) and p != threshold:
        digits += 1
    return f"p = {p:.{digits}f}"


def _map_note(cam: np.ndarray) -> str | None:
    return "empty map" if not np.any(cam > 0) else None


def _empty(ax, text):
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=7, color="0.4", transform=ax.transAxes)


@style.styled
def heatmap_gallery(
    cases: pd.DataFrame,
    images: dict[str, np.ndarray],
    maps: dict[str, np.ndarray],
    *,
    title: str,
    method: str = "gradcam",
    opacity: float = 0.6,
    threshold: float | None = None,
):
    """One model's representative cases on one set: per outcome (rows: TP,
    FN, FP, TN) each case's ultrasound image beside its heat-map overlay,
    with a colour bar. A map without any positive value is marked "empty map".

    cases : as returned by `select_cases`; images, maps : id -> grey uint8
    image (H, W) and map (H, W) in [0, 1] of the same shape; threshold : the
    model's, so that probabilities are printed precisely enough to compare.
    """
    per_row = max(1, int(cases.groupby("category").size().max()) if len(cases) else 1)
    fig, axes = style.figure(
        2 * per_row * 1.45 + 0.9,
        len(CATEGORIES) * 1.2 + 0.5,
        nrows=len(CATEGORIES),
        ncols=2 * per_row,
        squeeze=False,
        gridspec_kw={"wspace": 0.04, "hspace": 0.3},
    )
    for i, (category, (name, _, _)) in enumerate(CATEGORIES.items()):
        here = cases[cases["category"] == category].reset_index(drop=True)
        axes[i, 0].text(
            -0.08,
            0.5,
            name.replace(" ", "\n"),
            transform=axes[i, 0].transAxes,
            ha="right",
            va="center",
            fontweight="bold",
        )
        for k in range(per_row):
            image_ax, map_ax = axes[i, 2 * k], axes[i, 2 * k + 1]
            if k >= len(here):
                _empty(image_ax, f"no {name.lower()}" if k == 0 else "")
                map_ax.axis("off")
                continue
            case = here.iloc[k]
            titles = ("Ultrasound image", "Heat map") if i == 0 else (None, None)
            _show(image_ax, images[case.id], _probability(case.probability, threshold), titles[0])
            _show(map_ax, overlay(images[case.id], maps[case.id], opacity=opacity), _map_note(maps[case.id]), titles[1])
    _colorbar(fig, axes, method)
    fig.suptitle(title, fontsize=8.5, fontweight="bold")
    return fig


@style.styled
def heatmap_architectures(
    cases: pd.DataFrame,
    images: dict[str, np.ndarray],
    maps: dict[str, dict[str, np.ndarray]],
    probabilities: dict[str, dict[str, float]],
    *,
    title: str,
    method: str = "gradcam",
    opacity: float = 0.6,
    thresholds: dict[str, float] | None = None,
    chosen_by: str | None = None,
):
    """The same cases (rows) across the architectures (columns): the
    ultrasound image, then each architecture's heat-map overlay with its
    probability.

    cases : as returned by `select_cases` (on the model that chose them);
    maps, probabilities : architecture -> id -> map / probability;
    thresholds : model -> threshold, for the printed precision; chosen_by :
    the model that chose the cases, whose probability the image column gives.
    """
    thresholds = thresholds or {}
    archs = list(maps)
    fig, axes = style.figure(
        1.45 * (1 + len(archs)) + 0.9,
        1.2 * max(len(cases), 1) + 0.5,
        nrows=max(len(cases), 1),
        ncols=1 + len(archs),
        squeeze=False,
        gridspec_kw={"wspace": 0.04, "hspace": 0.3},
    )
    for i, case in cases.reset_index(drop=True).iterrows():
        name = CATEGORIES[case.category][0]
        axes[i, 0].text(
            -0.08,
            0.5,
            name.replace(" ", "\n"),
            transform=axes[i, 0].transAxes,
            ha="right",
            va="center",
            fontweight="bold",
        )
        caption = _probability(case.probability, thresholds.get(chosen_by))
        _show(
            axes[i, 0],
            images[case.id],
            f"{label(chosen_by).split(' (')[0]}: {caption}" if chosen_by else caption,
            "Ultrasound image" if i == 0 else None,
        )
        for j, arch in enumerate(archs, start=1):
            cam = maps[arch][case.id]
            probability = _probability(probabilities[arch][case.id], thresholds.get(arch))
            caption = "; ".join(filter(None, [probability, _map_note(cam)]))
            _show(axes[i, j], overlay(images[case.id], cam, opacity=opacity), caption, label(arch) if i == 0 else None)
    if cases.empty:
        _empty(axes[0, 0], "no cases")
    _colorbar(fig, axes, method)
    fig.suptitle(title, fontsize=8.5, fontweight="bold")
    return fig


# --------------------------------------------------------------------------
# Provenance for the report
# --------------------------------------------------------------------------
def software_versions(requirements: str, cards: dict[str, str] | None = None) -> pd.DataFrame:
    """The pinned, the installed and the training versions of each package.

    requirements : path of requirements.txt (lines "name==version").
    cards : architecture -> model_card.json, whose `versions` were recorded
        when it was trained.

    Returns DataFrame(package, pinned, installed, one column per architecture);
    "not installed" where this environment lacks a package, "" where a card
    does not record it.
    """
    import json
    import platform

    pinned = {}
    for line in Path(requirements).read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name:
            pinned[name] = version
    import alnus

    rows = [
        {"package": "python", "pinned": "3.11", "installed": platform.python_version()},
        {"package": "alnus", "pinned": "", "installed": alnus.__version__},
    ]
    for name, version in pinned.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        rows.append({"package": name, "pinned": version, "installed": installed})
    table = pd.DataFrame(rows)
    for arch, path in (cards or {}).items():
        versions = json.loads(Path(path).read_text()).get("versions", {})
        table[f"trained ({arch})"] = table["package"].map(versions).fillna("")
        extra = [k for k in versions if k not in set(table["package"])]
        for name in extra:
            table.loc[len(table)] = {
                "package": name,
                "pinned": "",
                "installed": "",
                f"trained ({arch})": versions[name],
            }
    return table.fillna("")
