"""What the figures share: the printed names of models, readers and sets,
the headings of a set's panel, the legend below an axes, and the reading of
metrics.csv. Light (matplotlib, pandas), as the whole `alnus.figures`."""

from __future__ import annotations

import re

import pandas as pd

from alnus.vocabulary import KIND_ORDER, display_name


def label(model: str) -> str:
    """Printed name of a model or reader: Table 2's names, "Reader 1" for "reader_1"."""
    name = display_name(model)
    if name == model and (match := re.fullmatch(r"reader_?(\w+)", model)):
        return f"Reader {match.group(1)}"
    return name


def patients_of(row) -> int | None:
    """The `patients` of a metrics.csv row (None in files without it)."""
    value = row.get("patients", None)
    return int(value) if value is not None and pd.notna(value) else None


def legend_below(ax, handles, *, ncols: int = 1, offset: float = 0.14, **kwargs):
    """A legend of `handles` centred below `ax`, its top `offset` (axes
    fraction) under the axes; kwargs go to Axes.legend. Returns the Legend."""
    return ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -offset),
        ncols=ncols,
        handlelength=1.8,
        borderaxespad=0,
        **kwargs,
    )


def ordered_by_kind(metrics: pd.DataFrame, kinds) -> pd.DataFrame:
    """The rows of metrics.csv of the given kinds, in the order of KIND_ORDER
    (models, ensemble, combined, clinical, majority vote, readers)."""
    rows = metrics[metrics["kind"].isin(kinds)]
    return rows.assign(_order=rows["kind"].map(KIND_ORDER)).sort_values("_order", kind="stable")


def read_metrics(metrics_csv: str, *, unit: str = "image") -> pd.DataFrame:
    """The rows of metrics.csv at one unit of analysis (the figures draw the
    image level, as the paper; files without the column are image level)."""
    metrics = pd.read_csv(metrics_csv, keep_default_na=False, na_values=[""])
    return metrics[metrics["unit"] == unit].reset_index(drop=True) if "unit" in metrics.columns else metrics
