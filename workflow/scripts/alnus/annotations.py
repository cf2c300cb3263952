"""Find burned-in annotations inside a cropped B-mode image and inpaint them.

Scanners draw the sonographer's annotations into the pixels: typed text
("MAMA ESQUERDA", "RT BR 2H 3CMFN"), caliper marks ("+", "x", "*") on the
lesion's borders and the dotted or solid measurement lines between them. A
network trained on such images can learn the calipers instead of the tissue
(measured lesions are the suspicious ones), so they are removed here, before
anything is learned, by OpenCV's inpainting (Telea) over a mask of the marks.

The detectors are built to leave tissue alone: every mark must pass a test
that speckle and lesion edges fail.

* **Calipers** (`_caliper_centers`): four thin arms meeting at a point, each
  arm pixel brighter than the pixels 2 px to either side of it (a *ridge*),
  or, for marks drawn in a grey that tissue around them exceeds, four arms of
  one exact grey level that differ from both sides. Speckle grains are a few
  pixels wide and blurred, so they are not ridges in two directions at once,
  and they are never one exact grey level over 13 pixels.
* **Text** (`_text_lines`): thin bright strokes grouped into a line of at least
  three characters whose tops or bottoms align, with many vertical strokes
  (speckle grains are wide laterally, so their strokes are horizontal) and
  clear background in the rows just above and below. Bright tissue bands
  carry strokes above and below as well, and fail.
* **Measurement lines** (`_measurement_lines`): only between two calipers
  found above, and only if the segment carries a row of regularly spaced dots
  or a solid thin line. The mask is the dots or line pixels, never the
  segment's tissue in between.

Everything works on 8-bit grayscale at the screen's own pixel size (scanners
draw marks in screen pixels, whatever the image depth or probe).
Measured on simulated images with known masks and on the BUS-BRA images:
docs/annotations.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

KINDS = ("text", "caliper", "line")
MODES = ("remove", "detect", "off")

BACKGROUND_KERNEL = 21  # px; median window for the local background (text-free for strokes <= 3 px)
RIDGE_OFFSET = 2  # px; a ridge is brighter than the pixels this far to either side
PAD = 8  # px; margin of the padded array the shifted views come from


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


@dataclass(frozen=True)
class Cleaned:
    """Result of `clean_annotations`.

    Attributes
    ----------
    pixels : ndarray of shape (H, W), uint8
        The image with the marks inpainted (a copy of the input when nothing
        was removed).
    mask : ndarray of shape (H, W), bool
        Pixels that were (mode "remove") or would be (mode "detect") replaced.
    findings : tuple of Finding
    pixels_changed : int
        Pixels whose value differs between input and output.
    """

    pixels: np.ndarray
    mask: np.ndarray
    findings: tuple[Finding, ...] = field(default=())
    pixels_changed: int = 0

    def counts(self) -> dict[str, int]:
        """Number of findings per kind (every kind in KINDS, zeros included)."""
        return {kind: sum(f.kind == kind for f in self.findings) for kind in KINDS}


def clean_annotations(
    pixels: np.ndarray,
    *,
    mode: str = "remove",
    kinds: tuple[str, ...] | list[str] = KINDS,
    inpaint_radius: int = 3,
    dilate: int = 1,
) -> Cleaned:
    """Detect burned-in annotations and, in mode "remove", inpaint them.

    Parameters
    ----------
    pixels : ndarray of shape (H, W), uint8
        A cropped B-mode image.
    mode : {"remove", "detect", "off"}
        "remove" inpaints; "detect" only reports (the image is returned
        unchanged); "off" does neither.
    kinds : subset of KINDS
        Which detectors run. Measurement lines are searched only between
        calipers, so "line" without "caliper" finds nothing.
    inpaint_radius : int
        Neighbourhood (px) that cv2.inpaint (Telea) draws from.
    dilate : int
        The mask is grown by this many pixels, to take the marks'
        anti-aliased fringe with them.

    Returns
    -------
    Cleaned

    Raises
    ------
    ValueError
        If `pixels` is not a non-empty 2-D uint8 array, or `mode`, `kinds`,
        `inpaint_radius` or `dilate` is invalid.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.dtype != np.uint8 or pixels.size == 0:
        raise ValueError(f"`pixels` must be a non-empty (H, W) uint8 array, got shape {pixels.shape} "
                         f"dtype {pixels.dtype}")
    if mode not in MODES:
        raise ValueError(f"`mode` must be one of {', '.join(MODES)}, got {mode!r}")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"`kinds` may only contain {', '.join(KINDS)}, got {', '.join(map(repr, unknown))}")
    if inpaint_radius < 1 or dilate < 0:
        raise ValueError(f"`inpaint_radius` must be >= 1 and `dilate` >= 0, got {inpaint_radius} and {dilate}")
    empty = np.zeros(pixels.shape, bool)
    if mode == "off":
        return Cleaned(pixels.copy(), empty)
    mask, findings = detect_annotations(pixels, kinds=kinds)
    if dilate and mask.any():
        size = 2 * dilate + 1
        mask = cv2.dilate(mask.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)
    if mode == "detect" or not mask.any():
        return Cleaned(pixels.copy(), mask, tuple(findings))
    out = cv2.inpaint(pixels, mask.astype(np.uint8), inpaint_radius, cv2.INPAINT_TELEA)
    return Cleaned(out, mask, tuple(findings), int(np.count_nonzero(out != pixels)))


def detect_annotations(pixels: np.ndarray, *, kinds=KINDS) -> tuple[np.ndarray, list[Finding]]:
    """Mask (H, W) bool of annotation pixels (before dilation) and the findings.

    Images smaller than 32 px on a side are returned without findings.
    """
    height, width = pixels.shape
    mask = np.zeros((height, width), bool)
    findings: list[Finding] = []
    if min(height, width) < 32:
        return mask, findings
    image = _Views(pixels)
    centers: list[tuple[int, int]] = []
    if "caliper" in kinds or "line" in kinds:
        for cy, cx in _caliper_centers(image):
            part = _caliper_mask(image, cy, cx)
            centers.append((cy, cx))
            if "caliper" in kinds:
                findings.append(_finding("caliper", part))
                mask |= part
    if "line" in kinds:
        for part in _measurement_lines(image, centers):
            findings.append(_finding("line", part))
            mask |= part
    if "text" in kinds:
        for part in _text_lines(image):
            findings.append(_finding("text", part))
            mask |= part
    return mask, findings


def _finding(kind: str, part: np.ndarray) -> Finding:
    ys, xs = np.nonzero(part)
    x0, y0 = int(xs.min()), int(ys.min())
    return Finding(kind, x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1, int(part.sum()))


class _Views:
    """The image as int16 with its local background and contrast, and cheap
    shifted views: ``at(dx, dy)[y, x] == image[y + dy, x + dx]`` (fill value
    outside the image)."""

    def __init__(self, pixels: np.ndarray):
        self.pixels = pixels
        self.shape = pixels.shape
        self.value = pixels.astype(np.int16)
        self.background = cv2.medianBlur(pixels, BACKGROUND_KERNEL).astype(np.int16)
        self.contrast = self.value - self.background
        self._padded = {fill: np.pad(self.value, PAD, constant_values=fill) for fill in (0, 255)}

    def at(self, dx: int, dy: int, fill: int = 255) -> np.ndarray:
        height, width = self.shape
        return self._padded[fill][PAD + dy:PAD + dy + height, PAD + dx:PAD + dx + width]

    def ridges(self, offsets: tuple[int, ...] = (RIDGE_OFFSET,)) -> tuple[np.ndarray, np.ndarray]:
        """How much each pixel exceeds the brighter of the pixels `offset` above
        and below it (a horizontal stroke) and left and right of it (a vertical
        stroke), the larger over `offsets` (2 px finds strokes of 1 to 3 px,
        3 px bold ones of up to 5 px)."""
        horizontal = np.max([self.value - np.maximum(self.at(0, o), self.at(0, -o)) for o in offsets], axis=0)
        vertical = np.max([self.value - np.maximum(self.at(o, 0), self.at(-o, 0)) for o in offsets], axis=0)
        return horizontal, vertical


# ------------------------------------------------------------------ calipers
# Arms of a "+" and an "x": (arm direction, perpendicular step to the side pixels).
ARMS = {
    "plus": (((1, 0), (0, 2)), ((-1, 0), (0, 2)), ((0, 1), (2, 0)), ((0, -1), (2, 0))),
    "x": (((1, 1), (2, -2)), ((-1, -1), (2, -2)), ((1, -1), (2, 2)), ((-1, 1), (2, 2))),
}
# Pixels between the arms, one group per gap: the quadrants of a "+", the axes of an "x".
GAPS = {
    "plus": tuple(tuple((sx * i, sy * j) for i, j in ((2, 2), (3, 2), (2, 3), (3, 3)))
                  for sx, sy in ((1, 1), (1, -1), (-1, 1), (-1, -1))),
    "x": tuple(tuple((sx * i + sy * j, sy * i + sx * j) for i, j in ((2, 0), (3, 0), (3, 1), (3, -1)))
               for sx, sy in ((1, 0), (-1, 0), (0, 1), (0, -1))),
}
ARM_LENGTH = 3  # px of each arm that must pass (marks have arms of 3 to 8 px)
RIDGE_MIN, RIDGE_MEAN, RIDGE_ARM = 5, 30, 20  # a bright mark: every arm pixel a ridge, on average by 30
# grey levels, and each arm by at least 20 (crossing tissue bands have a strong and a weak pair)
THIN_MIN, THIN_SHARE = 8, 0.6  # ... and most of that step is taken within 1 px of the arm
FLAT_TOLERANCE, FLAT_MIN, FLAT_MEAN, FLAT_FLOOR = 2, 6, 15, 40  # a mark of one exact grey level
FLAT_GAP = 12  # grey levels each gap differs from that level by, on average
GAP_MIN = 15  # grey levels the arms exceed the pixels between them by


def _caliper_centers(image: _Views) -> list[tuple[int, int]]:
    """Centres (y, x) of "+", "x" and "*" marks, one per connected group of hits."""
    hits = np.zeros(image.shape, bool)
    for shape, arms in ARMS.items():
        ridge, value, differs, thin = [], [], [], []
        for (sx, sy), (px, py) in arms:
            for d in range(1, ARM_LENGTH + 1):
                ax, ay = sx * d, sy * d
                v = image.at(ax, ay, 0)
                side_a, side_b = image.at(ax + px, ay + py), image.at(ax - px, ay - py)
                ridge.append(v - np.maximum(side_a, side_b))
                near = np.minimum(image.at(ax + px // 2, ay + py // 2), image.at(ax - px // 2, ay - py // 2))
                thin.append(v - near)
                value.append(v)
                low_a, low_b = image.at(ax + px, ay + py, 0), image.at(ax - px, ay - py, 0)
                differs.append(np.abs(2 * v - low_a - low_b) // 2)
        ridge, value, differs = np.stack(ridge), np.stack(value), np.stack(differs)
        # Thin arms: every gap between them is darker than the arms by half their
        # height above the background (a round blob is as bright between its "arms").
        arm_mean = value.mean(axis=0)
        gap_pixels = [np.stack([image.at(dx, dy) for dx, dy in gap]) for gap in GAPS[shape]]
        gaps = np.max([g.mean(axis=0) for g in gap_pixels], axis=0)
        separated = arm_mean - gaps >= np.maximum(GAP_MIN, 0.5 * (arm_mean - image.background))
        # A mark of one grey level: each gap differs from that level on average.
        apart = np.min([np.abs(g - image.value).mean(axis=0) for g in gap_pixels], axis=0) >= FLAT_GAP
        # Thin arms (1-2 px): a side pixel next to the arm is already darker.
        thin = (np.stack(thin).reshape(4, ARM_LENGTH, *image.shape).mean(axis=1)
                >= np.maximum(THIN_MIN, THIN_SHARE * ridge.reshape(4, ARM_LENGTH, *image.shape).mean(axis=1))).all(axis=0)
        per_arm = ridge.reshape(4, ARM_LENGTH, *image.shape).mean(axis=1).min(axis=0)
        bright = ((ridge.min(axis=0) >= RIDGE_MIN) & (ridge.mean(axis=0) >= RIDGE_MEAN)
                  & (per_arm >= RIDGE_ARM) & thin)  # fmt: skip
        flat = ((np.abs(value - image.value).max(axis=0) <= FLAT_TOLERANCE)
                & (np.sort(differs, axis=0)[2] >= FLAT_MIN) & (differs.mean(axis=0) >= FLAT_MEAN)
                & (image.value >= FLAT_FLOOR))  # fmt: skip
        hits |= (bright & separated) | (flat & apart)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(hits.astype(np.uint8), connectivity=8)
    return [(int(round(centroids[i][1])), int(round(centroids[i][0]))) for i in range(1, n)]


CALIPER_RADIUS = 8  # px; a mark's arms are taken up to this far from its centre


def _caliper_mask(image: _Views, cy: int, cx: int) -> np.ndarray:
    """The mark around one centre: pixels within CALIPER_RADIUS that stand out
    from the background by at least a third of the centre's contrast, or
    share its grey level, and connect to the centre."""
    height, width = image.shape
    r = CALIPER_RADIUS
    y0, y1, x0, x1 = max(0, cy - r), min(height, cy + r + 1), max(0, cx - r), min(width, cx + r + 1)
    window = image.value[y0:y1, x0:x1]
    contrast = image.contrast[y0:y1, x0:x1]
    centre = int(image.value[cy, cx])
    level = max(12, int(image.contrast[cy, cx]) // 3)
    candidate = ((contrast >= level) | (np.abs(window - centre) <= FLAT_TOLERANCE)).astype(np.uint8)
    candidate[cy - y0, cx - x0] = 1
    _, labels = cv2.connectedComponents(candidate, connectivity=8)
    part = np.zeros(image.shape, bool)
    part[y0:y1, x0:x1] = labels == labels[cy - y0, cx - x0]
    return part


# ------------------------------------------------------------------ measurement lines
LINE_MIN_LENGTH = 12  # px between two calipers
LINE_CONTRAST = 15  # grey levels a dot or line pixel exceeds the pixels 3 px to its sides by


def _measurement_lines(image: _Views, centers: list[tuple[int, int]]) -> list[np.ndarray]:
    """Dotted or solid lines joining two calipers; one mask per line."""
    parts = []
    for i, (ay, ax) in enumerate(centers):
        for by, bx in centers[i + 1:]:
            length = math.hypot(bx - ax, by - ay)
            if length < LINE_MIN_LENGTH:
                continue
            part = _line_between(image, (ax, ay), (bx, by), length)
            if part is not None:
                parts.append(part)
    return parts


def _line_between(image: _Views, a, b, length: float) -> np.ndarray | None:
    height, width = image.shape
    ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    nx, ny = -uy, ux  # unit normal
    t = np.arange(CALIPER_RADIUS - 2, length - CALIPER_RADIUS + 2)
    if t.size < 4:
        return None
    px, py = a[0] + t * ux, a[1] + t * uy

    def sample(offset):
        x = np.clip(np.rint(px + offset * nx).astype(int), 0, width - 1)
        y = np.clip(np.rint(py + offset * ny).astype(int), 0, height - 1)
        return image.value[y, x], (y, x)

    on = [sample(k) for k in (-1, 0, 1)]
    on_value = np.max([v for v, _ in on], axis=0)
    off_value = np.max([sample(k)[0] for k in (-3, 3, -4, 4)], axis=0)
    lit = on_value - off_value >= LINE_CONTRAST
    if lit.mean() >= 0.8:
        kind_ok = True  # a solid line
    else:
        runs = _runs(lit)
        if len(runs) < 3:
            return None
        starts = np.array([s for s, _ in runs], float)
        spacing = np.diff(starts)
        kind_ok = (spacing.std() <= 0.35 * spacing.mean() and spacing.mean() <= 12
                   and starts[0] <= 1.5 * spacing.mean() and t.size - 1 - starts[-1] <= 1.5 * spacing.mean()
                   and max(e - s for s, e in runs) <= 3)  # fmt: skip
    if not kind_ok:
        return None
    part = np.zeros(image.shape, bool)
    floor = off_value + LINE_CONTRAST // 2
    for value, (y, x) in on:
        keep = lit & (value >= floor)
        part[y[keep], x[keep]] = True
    return part if part.any() else None


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs, inclusive, of the runs of True in a 1-D bool array."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(s), int(e) - 1) for s, e in zip(edges[::2], edges[1::2])]


# ------------------------------------------------------------------ text
TEXT_CONTRAST = 40  # grey levels above the local background
STROKE = 20  # ridge height of a stroke pixel
TEXT_OFFSETS = (2, 3)  # px; ridges of thin and of bold fonts
CHAR_HEIGHT = (5, 30)  # px
MIN_CHARS = 3
MIN_LINE_HEIGHT, MIN_STROKE_PIXELS = 7, 40  # smaller groups of strokes are too often speckle
MIN_INSIDE, MAX_MARGIN, MIN_VERTICAL, MIN_ALIGNED = 0.08, 0.3, 0.45, 0.6


def _text_lines(image: _Views) -> list[np.ndarray]:
    """Lines of typed text; one mask per line (the strokes, grown by 1 px)."""
    horizontal, vertical = image.ridges(TEXT_OFFSETS)
    strokes = (image.contrast >= TEXT_CONTRAST) & ((horizontal >= STROKE) | (vertical >= STROKE))
    grown = cv2.dilate(strokes.astype(np.uint8), np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    low, high = CHAR_HEIGHT
    pieces = [i for i in range(1, n) if low <= stats[i, 3] <= high and stats[i, 4] >= 6]
    parts = []
    for members in _group_into_lines(pieces, stats):
        box = _line_box(members, stats)
        if _looks_like_text(members, box, stats, strokes, vertical >= STROKE):
            part = np.isin(labels, members)
            parts.append(part)
    return parts


def _group_into_lines(pieces: list[int], stats: np.ndarray) -> list[list[int]]:
    """Group components that sit side by side on one text line: similar height,
    overlapping rows, a gap under 1.2 character heights."""
    parent = {i: i for i in pieces}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = sorted(pieces, key=lambda i: stats[i, 0])
    for k, a in enumerate(order):
        xa, ya, wa, ha = stats[a, :4]
        for b in order[k + 1:]:
            xb, yb, wb, hb = stats[b, :4]
            if xb - (xa + wa) > 1.2 * max(ha, hb):
                break
            overlap = min(ya + ha, yb + hb) - max(ya, yb)
            if max(ha, hb) <= 1.8 * min(ha, hb) and overlap >= 0.6 * min(ha, hb):
                parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for i in pieces:
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _line_box(members: list[int], stats: np.ndarray) -> tuple[int, int, int, int]:
    x0 = min(stats[i, 0] for i in members)
    y0 = min(stats[i, 1] for i in members)
    x1 = max(stats[i, 0] + stats[i, 2] for i in members)
    y1 = max(stats[i, 1] + stats[i, 3] for i in members)
    return int(x0), int(y0), int(x1), int(y1)


def _looks_like_text(members, box, stats, strokes, vertical) -> bool:
    """The tests that tell a text line from a band of bright speckle."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    chars = sum(max(1, round(stats[i, 2] / (0.75 * stats[i, 3]))) for i in members)
    if chars < MIN_CHARS or h < MIN_LINE_HEIGHT or x1 - x0 < 2.5 * h:
        return False
    inside = strokes[y0:y1, x0:x1]
    density = inside.mean()
    if density < MIN_INSIDE or inside.sum() < MIN_STROKE_PIXELS:
        return False
    above = strokes[max(0, y0 - 5):max(0, y0 - 1), x0:x1]
    below = strokes[y1 + 1:y1 + 5, x0:x1]
    if above.size + below.size:
        margin = (above.sum() + below.sum()) / (above.size + below.size)
        if margin > MAX_MARGIN * density:
            return False
    if vertical[y0:y1, x0:x1][inside].mean() < MIN_VERTICAL:
        return False
    tops = np.array([stats[i, 1] for i in members])
    bottoms = tops + np.array([stats[i, 3] for i in members])
    tolerance = max(1.0, 0.12 * float(np.median([stats[i, 3] for i in members])))
    aligned = (np.abs(tops - np.median(tops)) <= tolerance) | (np.abs(bottoms - np.median(bottoms)) <= tolerance)
    return aligned.mean() >= MIN_ALIGNED
