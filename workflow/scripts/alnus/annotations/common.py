"""What the detectors share: the image's maps, computed once per image
(`Views`), the result types, and grouping of hit pixels.

The detectors test every pixel with cheap whole-image maps first and the
full test only on the few pixels that pass (`Views.index`, `Views.take`):
the full tests need a dozen shifted samples per pixel, and fewer than 1% of
a B-mode image's pixels survive the first condition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:
    import cv2
except ImportError:  # the examples and figure helpers need no OpenCV; the detectors do
    cv2 = None

KINDS = ("text", "caliper", "line")

BACKGROUND_KERNEL = 21  # px; median window for the local background (text-free for strokes <= 3 px)
RIDGE_OFFSET = 2  # px; a ridge is brighter than the pixels this far to either side
PAD = 8  # px; margin of the padded array the shifted views come from
FLAT_TOLERANCE = 2  # grey levels by which a pixel of a mark drawn in one exact grey may differ from it


@dataclass(frozen=True)
class Finding:
    """One annotation found: ``kind`` in KINDS, its bounding box (x, y, w, h)
    in the image's pixels and the number of mask pixels it contributed."""

    kind: str
    x: int
    y: int
    w: int
    h: int
    pixels: int


def finding(kind: str, part: np.ndarray) -> Finding:
    """The Finding of one mask `part` (bool, (H, W), not empty)."""
    ys, xs = np.nonzero(part)
    x0, y0 = int(xs.min()), int(ys.min())
    return Finding(kind, x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1, int(np.count_nonzero(part)))


class Views:
    """The image as int16 with its local background and contrast, and cheap
    shifted views: ``at(dx, dy)[y, x] == image[y + dy, x + dx]`` (fill value
    outside the image).

    For tests run only on some pixels, `index` turns a (H, W) bool mask into
    flat indices into the padded arrays and ``take(idx, dx, dy)`` gathers
    ``image[y + dy, x + dx]`` at them (the same fill rule as `at`).
    """

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels
        self.shape = pixels.shape
        self.value = pixels.astype(np.int16)
        self.background = cv2.medianBlur(pixels, BACKGROUND_KERNEL).astype(np.int16)
        self.contrast = self.value - self.background
        self._padded = {fill: np.pad(self.value, PAD, constant_values=fill) for fill in (0, 255)}
        self._padded8 = {fill: np.pad(pixels, PAD, constant_values=fill) for fill in (0, 255)}
        self._flat = {fill: padded.ravel() for fill, padded in self._padded.items()}
        self.stride = self.shape[1] + 2 * PAD
        self._ridges: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def at(self, dx: int, dy: int, fill: int = 255) -> np.ndarray:
        height, width = self.shape
        return self._padded[fill][PAD + dy:PAD + dy + height, PAD + dx:PAD + dx + width]

    def at8(self, dx: int, dy: int, fill: int = 255) -> np.ndarray:
        """`at` on the uint8 image (for OpenCV's arithmetic)."""
        height, width = self.shape
        return self._padded8[fill][PAD + dy:PAD + dy + height, PAD + dx:PAD + dx + width]

    def index(self, mask: np.ndarray) -> np.ndarray:
        """Flat indices into the padded arrays of the True pixels of `mask`
        ((H, W) bool), in raster order."""
        ys, xs = np.nonzero(mask)
        return (ys + PAD) * self.stride + (xs + PAD)

    def yx(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of `index`: the (y, x) image coordinates of padded indices."""
        ys, xs = np.divmod(idx, self.stride)
        return ys - PAD, xs - PAD

    def take(self, idx: np.ndarray, dx: int, dy: int, fill: int = 255) -> np.ndarray:
        """``at(dx, dy, fill)`` at the pixels `idx` (from `index`), as a 1-D array."""
        return self._flat[fill][idx + dy * self.stride + dx]

    def ridges(self, offsets: tuple[int, ...] = (RIDGE_OFFSET,)) -> tuple[np.ndarray, np.ndarray]:
        """How much each pixel exceeds the brighter of the pixels `offset` above
        and below it (a horizontal stroke) and left and right of it (a vertical
        stroke), the larger over `offsets` (2 px finds strokes of 1 to 3 px,
        3 px bold ones of up to 5 px). Computed once per `offsets`."""
        if offsets not in self._ridges:
            horizontal = np.max([self.value - np.maximum(self.at(0, o), self.at(0, -o)) for o in offsets], axis=0)
            vertical = np.max([self.value - np.maximum(self.at(o, 0), self.at(-o, 0)) for o in offsets], axis=0)
            self._ridges[offsets] = horizontal, vertical
        return self._ridges[offsets]


def best_per_group(hits: np.ndarray, score: np.ndarray) -> list[tuple[int, int]]:
    """(y, x) of the highest-scoring pixel of each 8-connected group of `hits`
    (bool, (H, W)), the first in raster order among equals; `score` is an
    array of the same shape. Groups in the order of their first pixel."""
    n, labels = cv2.connectedComponents(hits.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    ys, xs = np.nonzero(hits)
    group = labels[ys, xs]
    order = np.lexsort((np.arange(ys.size), -score[ys, xs], group))  # by group, best score, raster order
    first = order[np.r_[True, group[order][1:] != group[order][:-1]]]
    return [(int(ys[k]), int(xs[k])) for k in first]


def merge_overlapping(parts: list[np.ndarray]) -> list[np.ndarray]:
    """Join masks that overlap (a line found in both passes counts once)."""
    merged: list[np.ndarray] = []
    for part in parts:
        for k, other in enumerate(merged):
            if (part & other).any():
                merged[k] = other | part
                break
        else:
            merged.append(part)
    return merged
