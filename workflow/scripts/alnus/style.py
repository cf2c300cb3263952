"""Figure style in one place: a journal's requirements are one edit here.

Radiology asks for sans-serif type, 300 dpi raster figures and vector
originals; the palette is Okabe-Ito, which stays distinct for colour-blind
readers and in greyscale print.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on a cluster node

import matplotlib.pyplot as plt  # noqa: E402

DPI = 300
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
READER_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # editable text in the vector file
    "svg.fonttype": "none",
    "path.simplify": True,
}


def figure(width: float = 3.5, height: float = 3.5):
    """A new (figure, axes) pair in the study style; width in inches (3.5 = one column)."""
    with plt.rc_context(RC):
        return plt.subplots(figsize=(width, height))


def save(fig, png: str, pdf: str | None = None) -> None:
    """Write the figure as PNG (and PDF where given) without run-dependent metadata."""
    with plt.rc_context(RC):
        fig.savefig(png, metadata={"Software": None})
        if pdf:
            fig.savefig(pdf, metadata={"Creator": None, "Producer": None, "CreationDate": None})
    plt.close(fig)
