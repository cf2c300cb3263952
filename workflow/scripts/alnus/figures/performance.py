"""Figures of the scored tables: confusion matrices and the forest plot of
sensitivity and specificity (results/tables/metrics.csv), and decision
curves (decision_curve.csv). Light: no SciPy, no scikit-learn."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.ticker import PercentFormatter

from alnus import style
from alnus.figures.common import (
    label,
    ordered_by_kind,
    patients_of,
)
from alnus.formatting import format_percent
from alnus.study_tables import check_columns
from alnus.tables import set_title
from alnus.vocabulary import KIND_ORDER, MODEL_KINDS, SET_NAMES, TEST_SETS

FOREST_COLUMNS = ["model", "kind", "set", "n", "n_in_set", "tp", "fn", "fp", "tn"] + [
    f"{m}{s}" for m in ("sensitivity", "specificity") for s in ("", "_low", "_high")
]


# --------------------------------------------------------------------------
# Confusion matrices
# --------------------------------------------------------------------------
def _confusion_panel(ax, r, cmap, *, first_column: bool) -> None:
    """One 2 x 2 matrix from a metrics.csv row: counts and shares of the actual class."""
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
    ax.set_yticks([0, 1], ["Positive", "Negative"] if first_column else ["", ""])
    ax.tick_params(length=0, labelsize=6.5)
    for spine in ax.spines.values():
        spine.set_visible(False)


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
    check_columns(metrics, ["model", "kind", "set", "tp", "fn", "fp", "tn"], table="metrics.csv")
    rows = ordered_by_kind(metrics, ["model", "ensemble", "majority"])
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
            _confusion_panel(ax, here.iloc[0], cmap, first_column=j == 0)
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


# --------------------------------------------------------------------------
# Forest plot
# --------------------------------------------------------------------------
def _forest_rows(metrics: pd.DataFrame) -> tuple[list, list, float]:
    """The forest plot's layout: (y, row) of each estimate, (y, text,
    is_heading) of each y-axis label (a heading per test set), and the
    height in rows."""
    rows, labels, y = [], [], 0
    for set_name in [s for s in TEST_SETS if s in set(metrics["set"])]:
        here = ordered_by_kind(metrics[metrics["set"] == set_name], KIND_ORDER)
        first = here.iloc[0]
        heading = set_title(set_name, int(first["n_in_set"]), int(first["positives"]), patients_of(first))
        labels.append((y, heading, True))
        y += 1
        for _, r in here.iterrows():
            rows.append((y, r))
            labels.append((y, label(r.model) + (f" (read {int(r.n)})" if r.n < r.n_in_set else ""), False))
            y += 1
        y += 0.5
    return rows, labels, y


def _forest_panel(ax, rows: list, models: list[str], measure: str, level: float) -> None:
    """One measure's estimates with their CIs, and each as "85% (35/41)" on the right."""
    for yy, r in rows:
        reader = r.kind == "reader"
        index = models.index(r.model) if r.model in models else 0
        color = style.READER_COLOR if reader else style.model_color(r.model, index)
        value = r[measure]
        ax.errorbar(
            value,
            yy,
            xerr=[[value - r[f"{measure}_low"]], [r[f"{measure}_high"] - value]],
            marker={"reader": "o", "majority": style.MAJORITY_MARKER}.get(r.kind, "s"),
            markersize=4,
            color=color,
            mfc="white" if reader else color,
            elinewidth=1,
            capsize=0,
            linestyle="none",
            clip_on=False,
        )
        k, n = (r.tp, r.tp + r.fn) if measure == "sensitivity" else (r.tn, r.tn + r.fp)
        text = f"{format_percent(value)} ({int(k)}/{int(n)})"
        ax.text(1.06, yy, text, transform=ax.get_yaxis_transform(), va="center", fontsize=6.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1))
    ax.set_xlabel(f"{measure.capitalize()} ({level:.0%} CI)")
    ax.grid(axis="x", color="0.9", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)


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
    check_columns(metrics, FOREST_COLUMNS, table="metrics.csv")
    rows, labels, y = _forest_rows(metrics)
    fig, axes = style.figure(4.6, 0.16 * y + 0.6, ncols=2, sharey=True, gridspec_kw={"wspace": 0.62})
    models = list(dict.fromkeys(r.model for _, r in rows if r.kind in MODEL_KINDS))
    for ax, measure in zip(axes, ("sensitivity", "specificity")):
        _forest_panel(ax, rows, models, measure, level)
    axes[0].set_yticks([t[0] for t in labels], [t[1] for t in labels])
    for tick, (_, _, heading) in zip(axes[0].get_yticklabels(), labels):
        tick.set_fontweight("bold" if heading else "normal")
    axes[0].set_ylim(y - 0.3, -0.7)
    return fig


# --------------------------------------------------------------------------
# Decision curves
# --------------------------------------------------------------------------
@style.styled
def decision_curve_figure(table: pd.DataFrame):
    """Decision curves, one panel per test set, from decision_curve.csv: net
    benefit against threshold probability for each model, the ensemble,
    treat all and treat none.
    """
    check_columns(table, ["set", "model", "threshold", "net_benefit"], table="decision_curve.csv")
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
