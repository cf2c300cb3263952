"""The heat-map figures: per model a gallery of its representative cases
(TP, FN, FP, TN), and the same cases across the architectures. The maps and
the choice of cases come from `alnus.heatmaps` (the torch side); this module
only draws, from images and maps as numpy arrays."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from alnus import style
from alnus.figures.common import label

# Heat-map categories: name, label, the model's call.
CATEGORIES = {
    "TP": ("True positive", 1, 1),
    "FN": ("False negative", 1, 0),
    "FP": ("False positive", 0, 1),
    "TN": ("True negative", 0, 0),
}


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


def _row_heading(ax, name: str) -> None:
    """The outcome ("True positive") in bold left of a row's first panel, a word a line."""
    ax.text(-0.08, 0.5, name.replace(" ", "\n"), transform=ax.transAxes, ha="right", va="center", fontweight="bold")


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
        _row_heading(axes[i, 0], name)
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
        _row_heading(axes[i, 0], name)
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
