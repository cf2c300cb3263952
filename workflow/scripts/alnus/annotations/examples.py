"""Before/after examples of annotation removal: saved by pseudonym
(`save_examples`), read back (`load_examples`) and drawn (`annotation_figure`).
Needs no OpenCV."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from alnus import style


def save_examples(path, examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """Write before/after/mask arrays by pseudonym to a compressed .npz
    (arrays only: no file names, no crop boxes)."""
    arrays = {}
    for image_id, (before, after, mask) in examples.items():
        arrays[f"{image_id}__before"], arrays[f"{image_id}__after"] = before, after
        arrays[f"{image_id}__mask"] = mask.astype(bool)
    np.savez_compressed(path, **arrays)


def load_examples(path) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Inverse of `save_examples`, in the order the examples were saved."""
    with np.load(path) as data:
        ids = list(dict.fromkeys(key.rsplit("__", 1)[0] for key in data.files))
        return {i: (data[f"{i}__before"], data[f"{i}__after"], data[f"{i}__mask"]) for i in ids}


def annotation_figure(examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]):
    """Before/after panel: one row per image (labelled by pseudonym), columns
    original, annotations found (outlined in orange) and cleaned.

    Returns
    -------
    matplotlib Figure; a short note instead of images when `examples` is empty.
    """
    rows = max(1, len(examples))
    with plt.rc_context(style.RC):
        fig, axes = plt.subplots(rows, 3, figsize=(7.0, 2.0 * rows), squeeze=False)
        if not examples:
            for ax in axes.ravel():
                ax.axis("off")
            axes[0, 1].text(
                0.5,
                0.5,
                "No burned-in annotations were found\nin the development cohort.",
                ha="center",
                va="center",
                transform=axes[0, 1].transAxes,
            )
            return fig
        for index, (row, (image_id, (before, after, mask))) in enumerate(zip(axes, examples.items())):
            outline = np.dstack([before] * 3).astype(np.float32) / 255
            padded = np.pad(mask, 1)
            inner = np.all(
                [
                    padded[1 + dy : 1 + dy + mask.shape[0], 1 + dx : 1 + dx + mask.shape[1]]
                    for dy in (-1, 0, 1)
                    for dx in (-1, 0, 1)
                ],
                axis=0,
            )
            edge = mask & ~inner
            outline[edge] = (0.90, 0.62, 0.0)  # Okabe-Ito orange
            changed = int(np.count_nonzero(after != before))
            for ax, image, title in zip(row, (before, outline, after), ("Exported", "Annotations found", "Inpainted")):
                ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                if index == 0:
                    ax.set_title(title, fontsize=8)
            row[0].set_ylabel(f"{image_id}\n{changed} px changed", fontsize=7)
        fig.tight_layout()
    return fig
