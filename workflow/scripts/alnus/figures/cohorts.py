"""The cohort flow diagram from results/tables/cohorts.csv
(`alnus.study_tables.cohort_table`): each cohort, its sets and what each set
is used for. Light: pandas and matplotlib."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import FancyBboxPatch

from alnus import style
from alnus.study_tables import COHORT_COLUMNS, check_columns
from alnus.vocabulary import COHORT_NAMES, SET_NAMES


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
    check_columns(cohorts, COHORT_COLUMNS, table="cohorts.csv")
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
        _box(ax, cx, top, span, box_h, COHORT_NAMES.get(cohort, cohort), _counts(whole), face="white")
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
