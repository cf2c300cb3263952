"""The nomogram of a combined (or clinical-only) logistic model.

Each predictor gets a points scale: its contribution to the linear
predictor, coefficient times value, shifted to start at 0 over the range it
takes in the fitting set and scaled so that the predictor with the widest
span of contributions runs from 0 to 100 points. A case's points are added
up on the total-points scale, under which the probability of metastasis is
read off (the inverse logit of intercept + the predictors' smallest
contributions + total points / scale). The network enters through its
logit but is drawn on its probability scale, which a reader knows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.ticker import MaxNLocator

from alnus import style
from alnus.vocabulary import display_name

PROBABILITY_TICKS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
NETWORK_TICKS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
MAX_POINTS = 100
MIN_TICK_GAP = 6  # points between two labelled ticks of a scale; closer ones are left unlabelled


def _logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def scales(card: dict) -> list[dict]:
    """Each predictor's points scale from a model card (alnus.combined).

    Returns
    -------
    list of dict, one per predictor in the card's order: label, ticks (the
    values printed), points (their positions, in points), low (its
    smallest contribution to the linear predictor) and span (largest minus
    smallest contribution). Points are scaled so that the widest span is
    MAX_POINTS.

    Raises
    ------
    ValueError
        If every predictor's coefficient is 0 (nothing to draw).
    """
    rows = []
    for term in card["terms"]:
        if term["kind"] == "categorical":
            values, labels = np.asarray(term["coefficients"]), list(term["levels"])
            contribution = values
        else:
            low, high = term["range"]
            if term["kind"] == "logit":
                ticks = [p for p in NETWORK_TICKS if low <= _logit(p) <= high] or [1 / (1 + np.exp(-low))]
                values, labels = _logit(ticks), [f"{p:g}" for p in ticks]
            elif term["kind"] == "ordinal":
                ranks = np.arange(int(round(low)), int(round(high)) + 1)
                values, labels = ranks.astype(float), [term["levels"][r] for r in ranks]
            else:
                values = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
                values = values[(values >= low - 1e-9) & (values <= high + 1e-9)]
                values = np.unique(np.r_[values, low, high]) if len(values) < 2 else values
                labels = [f"{v:g}" for v in values]
            contribution = term["coefficient"] * np.asarray(values, dtype=float)
            extent = term["coefficient"] * np.asarray([low, high], dtype=float)
            contribution_low, span = float(extent.min()), float(extent.max() - extent.min())
            rows.append(
                {
                    "label": _label(term),
                    "ticks": labels,
                    "contribution": contribution,
                    "low": contribution_low,
                    "span": span,
                }
            )
            continue
        rows.append(
            {
                "label": _label(term),
                "ticks": labels,
                "contribution": contribution,
                "low": float(contribution.min()),
                "span": float(contribution.max() - contribution.min()),
            }
        )
    widest = max(r["span"] for r in rows)
    if widest <= 0:
        raise ValueError(f"{card['model']}: every coefficient is 0; there is no nomogram to draw")
    for r in rows:
        r["points"] = (np.asarray(r["contribution"]) - r["low"]) * MAX_POINTS / widest
    return rows


def _label(term: dict) -> str:
    if term["kind"] == "logit":
        return f"{display_name(term['label']).replace(' (mean probability)', '')} probability"
    return term["label"]


def total_scale(card: dict, rows: list[dict]) -> tuple[float, list[float], list[float]]:
    """(most total points, probability ticks, their total points) of the model."""
    widest = max(r["span"] for r in rows)
    base = card["intercept"] + sum(r["low"] for r in rows)
    most = sum(r["span"] for r in rows) * MAX_POINTS / widest
    ticks, points = [], []
    for p in PROBABILITY_TICKS:
        at = (_logit(p) - base) * MAX_POINTS / widest
        if 0 <= at <= most:
            ticks.append(p)
            points.append(float(at))
    return most, ticks, points


def spaced(positions, *, gap: float = MIN_TICK_GAP) -> list[int]:
    """Indices of the ticks to label: the first, then each at least `gap`
    points from the last labelled (in the order of their positions), so
    that a predictor with a small effect keeps readable labels."""
    order = np.argsort(positions, kind="stable")
    kept = [int(order[0])]
    for i in order[1:]:
        if positions[i] - positions[kept[-1]] >= gap:
            kept.append(int(i))
    return kept


def _axis_row(ax, y: float, positions, labels, title: str, *, scale: float = 1.0) -> None:
    positions = np.asarray(positions, dtype=float) * scale
    ax.plot([positions.min(), positions.max()], [y, y], color="black", linewidth=0.8)
    labelled = set(spaced(positions))
    for i, (x, text) in enumerate(zip(positions, labels)):
        ax.plot([x, x], [y, y + (0.12 if i in labelled else 0.07)], color="black", linewidth=0.7)
        if i in labelled:
            ax.text(x, y + 0.18, text, ha="center", va="bottom", fontsize=6.5)
    ax.text(-4, y, title, ha="right", va="center", fontsize=7.5)


@style.styled
def nomogram_figure(card: dict):
    """The nomogram of one model card (alnus.combined): a Points scale,
    one scale per predictor, the Total points and the probability of
    metastasis. Returns a matplotlib Figure."""
    rows = scales(card)
    most, ticks, tick_points = total_scale(card, rows)
    height = 0.55 * (len(rows) + 3) + 0.5
    fig, ax = style.figure(style.DOUBLE_COLUMN, height)
    y = 0.0
    points = np.arange(0, MAX_POINTS + 1, 10)
    _axis_row(ax, y, points, [f"{p:g}" for p in points], "Points")
    for r in rows:
        y -= 1
        _axis_row(ax, y, r["points"], r["ticks"], r["label"])
    y -= 1
    total = MaxNLocator(nbins=8, integer=True).tick_values(0, most)
    total = total[total <= most + 1e-9]
    scale = MAX_POINTS / most  # the total-points scale is compressed to the width of the points scale
    _axis_row(ax, y, total, [f"{t:g}" for t in total], "Total points", scale=scale)
    y -= 1
    if ticks:
        _axis_row(ax, y, tick_points, [f"{p:g}" for p in ticks], "Probability of metastasis", scale=scale)
    ax.set(xlim=(-2, MAX_POINTS + 2), ylim=(y - 0.5, 0.8))
    ax.axis("off")
    ax.set_title(f"{display_name(card['model'])}: nomogram (logistic model fitted on the {card['fitted_on']} set)")
    return fig


def nomogram_from_file(card_json: str, *, png: str, pdf: str) -> None:
    """Draw nomogram_{model}.png/.pdf from results/models/combined/{model}.json."""
    fig = nomogram_figure(json.loads(Path(card_json).read_text()))
    style.save(fig, png, pdf)
