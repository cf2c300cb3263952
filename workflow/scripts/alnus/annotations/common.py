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

KINDS = ("text", "caliper", "line", "ocr_text")
# "ocr_text" (annotations/ocr.py) reads every image with the OCR engine: ten
# times the cost of the other three together, so it runs only when asked for.
DEFAULT_KINDS = ("text", "caliper", "line")

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
    part = part.view(np.uint8)
    x, y, w, h = cv2.boundingRect(part)
    return Finding(kind, x, y, w, h, cv2.countNonZero(part))


class Views:
    """The image with its local background and its contrast above it, and
    cheap shifted views: ``at(dx, dy)[y, x] == image[y + dy, x + dx]`` (uint8,
    fill value outside the image).

    For tests run only on some pixels, `index` turns a (H, W) bool mask into
    flat indices into the padded arrays and ``take(idx, dx, dy)`` gathers
    ``image[y + dy, x + dx]`` at them (int16, the same fill rule as `at`).

    Attributes
    ----------
    pixels : (H, W) uint8, the image; value : the same as int16
    background : (H, W) int16, median over BACKGROUND_KERNEL px
    contrast : (H, W) uint8, how far each pixel lies above the background
        (0 where below: every test asks for a positive contrast, so the
        saturation of OpenCV's uint8 arithmetic loses nothing)
    """

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels
        self.shape = pixels.shape
        self.value = pixels.astype(np.int16)
        background = cv2.medianBlur(pixels, BACKGROUND_KERNEL)
        self.background = background.astype(np.int16)
        self.contrast = cv2.subtract(pixels, background)
        self._padded = {
            fill: cv2.copyMakeBorder(pixels, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=fill) for fill in (0, 255)
        }
        self._flat = {fill: padded.ravel() for fill, padded in self._padded.items()}
        self.stride = self.shape[1] + 2 * PAD
        self._ridges: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def at(self, dx: int, dy: int, fill: int = 255) -> np.ndarray:
        height, width = self.shape
        return self._padded[fill][PAD + dy : PAD + dy + height, PAD + dx : PAD + dx + width]

    def padded(self, fill: int) -> np.ndarray:
        """The image with a PAD-px border of `fill` (uint8, (H + 2 PAD, W + 2 PAD))."""
        return self._padded[fill]

    def index(self, mask: np.ndarray) -> np.ndarray:
        """Flat indices into the padded arrays of the True pixels of `mask`
        ((H, W) bool), in raster order."""
        flat = np.flatnonzero(mask)
        return flat + (flat // self.shape[1]) * (2 * PAD) + PAD * self.stride + PAD

    def yx(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of `index`: the (y, x) image coordinates of padded indices."""
        ys, xs = np.divmod(idx, self.stride)
        return ys - PAD, xs - PAD

    def take(self, idx: np.ndarray, dx: int, dy: int, fill: int = 255) -> np.ndarray:
        """``at(dx, dy, fill)`` at the pixels `idx` (from `index`, any shape), as int16."""
        return self._flat[fill][idx + dy * self.stride + dx].astype(np.int16)

    def ridges(self, offsets: tuple[int, ...] = (RIDGE_OFFSET,)) -> tuple[np.ndarray, np.ndarray]:
        """How much each pixel exceeds the brighter of the pixels `offset` above
        and below it (a horizontal stroke) and left and right of it (a vertical
        stroke), the larger over `offsets` (2 px finds strokes of 1 to 3 px,
        3 px bold ones of up to 5 px); uint8, 0 where it does not. Computed
        once per `offsets`."""
        if offsets not in self._ridges:
            horizontal = vertical = np.zeros(self.shape, np.uint8)
            for o in offsets:
                horizontal = cv2.max(horizontal, cv2.subtract(self.pixels, cv2.max(self.at(0, o), self.at(0, -o))))
                vertical = cv2.max(vertical, cv2.subtract(self.pixels, cv2.max(self.at(o, 0), self.at(-o, 0))))
            self._ridges[offsets] = horizontal, vertical
        return self._ridges[offsets]


def best_per_group(hits: np.ndarray, score: np.ndarray) -> list[tuple[int, int]]:
    """(y, x) of the highest-scoring pixel of each 8-connected group of `hits`
    (bool, (H, W)), the first in raster order among equals; `score` is an
    array of the same shape. Groups in the order of OpenCV's labels (which
    scans two rows at a time, so not always that of their first pixel)."""
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
