"""Figure style in one place: a journal's requirements are one edit here.

Radiology asks for sans-serif type, 300 dpi raster figures beside vector
originals, and figures sized to its columns (about 3.5 in single, 7 in
double). The palette is Okabe-Ito, which stays distinct for colour-blind
readers and in greyscale print; the colour maps are perceptually uniform
and colour-blind safe (no rainbow "jet"). Every figure of alnus.figures is
drawn inside `context()` and written by `save()`, so nothing else sets a
font, a size, a colour or a resolution.
"""

from __future__ import annotations

import functools
import logging

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on a cluster node
logging.getLogger("fontTools").setLevel(logging.WARNING)  # its font subsetting for the PDFs floods the logs

import matplotlib.pyplot as plt  # noqa: E402

from alnus.vocabulary import image_model_of, model_kind  # noqa: E402

DPI = 300
SINGLE_COLUMN = 3.5  # inches
DOUBLE_COLUMN = 7.0
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
# Each model keeps its colour in every figure; unknown names take the rest in turn.
MODEL_COLORS = {
    "inception_v3": "#0072B2",  # blue
    "inception_resnet_v2": "#D55E00",  # vermillion
    "resnet101": "#009E73",  # bluish green
    "ensemble": "#000000",
    "readers_majority": "#CC79A7",  # reddish purple
    "clinical": "#999933",  # olive (Paul Tol's muted scheme, outside the palette): the clinical-only model
}
# A combined model (network + clinical) takes its network's colour, dashed;
# the clinical-only model is dotted.
MODEL_LINESTYLES = {"model": "-", "ensemble": "-", "combined": "--", "clinical": ":"}
READER_COLOR = "0.35"
REFERENCE_COLOR = "0.6"  # chance lines, treat-all/none, ideal calibration
READER_MARKERS = ["o", "s", "^", "v", "<", ">", "P", "X", "h", "*"]
MAJORITY_MARKER = "D"
OPERATING_POINT_MARKER = "o"
BAND_ALPHA = 0.18  # confidence bands
LINE_WIDTH = 1.3
HEATMAP_CMAP = "inferno"  # Grad-CAM maps: dark = unimportant, yellow = important
SEQUENTIAL_CMAP = "Blues"  # confusion matrices
BOX_FACE = "#F2F2F2"  # cohort flow boxes
RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 8,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.linewidth": 0.7,
    "xtick.major.width": 0.7,
    "ytick.major.width": 0.7,
    "lines.linewidth": LINE_WIDTH,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.04,
    "pdf.fonttype": 42,  # editable text in the vector file
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "path.simplify": True,
    "image.interpolation": "antialiased",
}


def context():
    """The study style as a context manager (matplotlib.rc_context)."""
    return plt.rc_context(RC)


def styled(function):
    """Decorator: draw the whole figure inside the study style, so that
    fonts and line widths are fixed when the artists are created."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with context():
            return function(*args, **kwargs)

    return wrapper


def figure(width: float = SINGLE_COLUMN, height: float = SINGLE_COLUMN, **subplots):
    """A new (figure, axes) pair in the study style; width and height in inches.
    `subplots` go to matplotlib.pyplot.subplots (nrows, ncols, gridspec_kw...)."""
    with context():
        return plt.subplots(figsize=(width, height), **subplots)


def model_color(model: str, index: int = 0) -> str:
    """The colour of a model in every figure: fixed for the study's models
    (a combined model takes its network's); any other name takes the
    `index`-th of the remaining palette colours."""
    model = image_model_of(model)
    if model in MODEL_COLORS:
        return MODEL_COLORS[model]
    spare = [c for c in PALETTE if c not in MODEL_COLORS.values()]
    return spare[index % len(spare)]


def model_linestyle(model: str) -> str:
    """The line style of a model's curves: solid for the image-only models,
    dashed for a combined one, dotted for the clinical-only model."""
    return MODEL_LINESTYLES[model_kind(model)]


def save(fig, png: str, pdf: str | None = None) -> None:
    """Write the figure as a 300 dpi PNG (and a vector PDF where given),
    without run-dependent metadata, and close it."""
    with context():
        fig.savefig(png, metadata={"Software": None})
        if pdf:
            fig.savefig(pdf, metadata={"Creator": None, "Producer": None, "CreationDate": None})
    plt.close(fig)
