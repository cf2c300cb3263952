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
* **Outlined calipers** (`_shadowed_centers`, Toshiba's): a small "+" in a
  light grey with a black outline, blurred by the export, often no brighter
  than the tissue it lies on. Found as a 1-px bar of one grey level, 5 px or
  more long, with dark rows of one dark grey right above and below it that a
  dimmer vertical arm breaks at the centre. Tissue streaks have no such dark
  rows on both sides; the depth ruler's dots (also outlined) are round and
  brightest in the middle, not one grey level along a bar.
* **Text** (`_text_lines`): thin bright strokes grouped into a line of at least
  three characters whose tops or bottoms align, with many vertical strokes
  (speckle grains are wide laterally, so their strokes are horizontal) and
  clear background in the rows just above and below. Bright tissue bands
  carry strokes above and below as well, and fail. A second pass finds bold
  fonts; shorter words in the same font beside a line found (or at the
  image's border: logos, depth labels) count too.
* **Measurement lines** (`_measurement_lines`): between two calipers found
  above, a row of regularly spaced dots or a solid thin line (where the
  dots cross tissue as bright as they are, the row is found among the
  samples at the dots' grey level); from a caliper whose partner was missed,
  a row of dots of one grey level. The mask is the dots or line pixels,
  never the segment's tissue in between.

Everything works on 8-bit grayscale at the screen's own pixel size (scanners
draw marks in screen pixels, whatever the image depth or probe).

Measured with this version (measurement scripts: see the issue note):

* Tissue left alone, simulated: 600 B-mode images without annotations
  (`alnus.simulate.render_bmode`, two seeds: speckle, Cooper's ligaments,
  spiculated and calcified lesions, both sites, linear and sector probes):
  no finding, 0 pixels changed. The unit tests add uniform noise and a
  bright calcification.
* Marks found, simulated: 600 screens drawn by `alnus.simulate.draw_screen`
  (calipers, dotted lines, typed notes), cropped to the B-mode region: 95.6%
  of the annotation pixels that differ from the tissue by 30 grey levels or
  more were masked, 88.1% of caliper centres (1,785 of 2,025; the misses are
  grey marks on tissue as bright as they are); 0.5% of the mask lay more
  than 4 px from any mark.
* BUS-BRA (1,875 real, already cropped images of four scanners; no
  annotation masks exist): findings in 90.9% of the images (text 70.5%,
  calipers 63.8%, measurement lines 0.1%), a median of 1.2% of an image's
  pixels changed (95th percentile 2.4%, max 3.9%). By eye, 78 findings in 30
  random images and 48 random caliper findings were all on real marks;
  images without findings still showed faint or thick calipers and single
  letters (missed). Of all mask pixels, 1.4% fell inside the dataset's lesion
  outlines, nearly all calipers placed on or just inside the lesion edge;
  one of the eight images with the most such pixels had bright internal
  echoes taken for a short text line (the known failure mode).
* Per scanner (`benchmarks/bench_annotations.py --limit 150`: 464 BUS-BRA
  images, all of Toshiba's 139 and U-Systems' 25; docs/benchmarks.md):
  images with a caliper finding, Toshiba Aplio 300 51.8% (10.1% before the
  outlined-caliper test), GE Logiq 7 78.7%, GE Logiq 5 55.3%, U-Systems 0%
  (GE and U-Systems unchanged); a median of 1.0% of a Toshiba image's pixels
  changed (0.96% before). All 84 new findings were on Toshiba images; 24
  random ones, by eye, were all outlined "+" calipers. Still missed: outlined
  marks whose outline is no darker than the tissue (on bright tissue, or in
  dark lesions), the caliper labels ("A", "B") beside them, and the ruler.
  The test finds nothing on 500 simulated clean images (seeds 0-299 and
  1000-1199 of the benchmark's set) nor on 290 GE and U-Systems images; with a
  bar mean of 30 instead of 40 it took speckle in 10 of the 500. The
  benchmark's 300 simulated clean images give 2 text findings (seeds 54 and
  268; they were there before this test, and the 600 above were another set).
* About 0.25 s per image (BUS-BRA median; 0.35 s for the 400 x 330 px
  simulated crops) on one core.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

try:
    import cv2
except ImportError:  # the figure rule's environment (envs/stats.yaml) has no OpenCV; the figure needs none
    cv2 = None

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
    marks = np.zeros((height, width), bool)
    found = _caliper_centers(image)
    found += _shadowed_centers(image, taken=found)
    for mark in found:
        part = _caliper_mask(image, mark)
        centers.append((mark.y, mark.x))
        marks |= part
        if "caliper" in kinds:
            findings.append(_finding("caliper", part))
            mask |= part
    if "line" in kinds:
        for part in _measurement_lines(image, centers):
            findings.append(_finding("line", part))
            mask |= part
    if "text" in kinds:
        # Caliper marks ("x", "+") look like characters: left out, they cannot
        # make a tissue streak beside them a "line of text".
        marks = cv2.dilate(marks.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        for part in _text_lines(image, exclude=marks):
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
# Arms are tested from 1 px and from 2 px out: in a mark drawn 2 px thick, the
# first pixel of each arm lies on the other arm's second row.
ARM_STARTS = (1, 2)
THICK_STRENGTH = 1.5  # arms tested from 2 px out skip the centre's neighbours, so they must stand out more
RIDGE_MIN, RIDGE_MEAN, RIDGE_ARM = 5, 30, 20  # a bright mark: every arm pixel a ridge, on average by 30
# grey levels, and each arm by at least 20 (crossing tissue bands have a strong and a weak pair)
THIN_MIN, THIN_SHARE = 8, 0.6  # ... and most of that step is taken within 1 px of the arm
FLAT_TOLERANCE, FLAT_MIN, FLAT_MEAN, FLAT_FLOOR = 2, 6, 15, 40  # a mark of one exact grey level
FLAT_GAP = 12  # grey levels each gap differs from that level by, on average
GAP_MIN = 15  # grey levels the arms exceed the pixels between them by
SPREAD_SHARE = 0.5  # arms' grey levels vary by at most half their ridge height (measured on BUS-BRA: <= 0.42)


@dataclass(frozen=True)
class _Mark:
    y: int
    x: int
    level: float  # mean grey level of its arms
    flat: bool  # found as a mark of one exact grey level
    shadowed: bool = False  # found by `_shadowed_centers` (a mark with a dark outline)


def _caliper_centers(image: _Views) -> list[_Mark]:
    """"+", "x" and "*" marks, one per connected group of hits, centred on the
    group's pixel with the brightest arms."""
    hits = np.zeros(image.shape, bool)
    score = np.full(image.shape, -1.0, np.float32)
    level = np.zeros(image.shape, np.float32)
    flat_hit = np.zeros(image.shape, bool)
    for (shape, arms), start in itertools.product(ARMS.items(), ARM_STARTS):
        ridge, value, differs, thin = [], [], [], []
        for (sx, sy), (px, py) in arms:
            for d in range(start, start + ARM_LENGTH):
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
        per_arm = (4, ARM_LENGTH, *image.shape)
        arm_mean, ridge_mean = value.mean(axis=0), ridge.mean(axis=0)
        # Thin arms: the gaps between them are darker than the arms by half their
        # height above the background (a round blob is as bright between its "arms").
        gap_pixels = [np.stack([image.at(dx, dy) for dx, dy in gap]) for gap in GAPS[shape]]
        # One gap may hold the mark's label ("3+"): the second brightest gap counts.
        gaps = np.sort(np.stack([g.mean(axis=0) for g in gap_pixels]), axis=0)[-2]
        separated = arm_mean - gaps >= np.maximum(GAP_MIN, 0.5 * (arm_mean - image.background))
        # Thin arms (1-2 px): a side pixel next to the arm is already darker.
        thin = (np.stack(thin).reshape(per_arm).mean(axis=1)
                >= np.maximum(THIN_MIN, THIN_SHARE * ridge.reshape(per_arm).mean(axis=1))).all(axis=0)
        # One mark: arms of similar grey level, and a centre as bright as they are
        # (noise can put bright arms around a dark pixel).
        whole = ((value.std(axis=0) <= SPREAD_SHARE * ridge_mean)
                 & (image.value >= arm_mean - 0.5 * ridge_mean))  # fmt: skip
        strength = 1.0 if start == 1 else THICK_STRENGTH
        bright = ((ridge.min(axis=0) >= RIDGE_MIN) & (ridge_mean >= strength * RIDGE_MEAN)
                  & (ridge.reshape(per_arm).mean(axis=1).min(axis=0) >= strength * RIDGE_ARM)
                  & thin & whole & separated)  # fmt: skip
        # A mark of one grey level: each gap differs from that level on average.
        apart = np.min([np.abs(g - image.value).mean(axis=0) for g in gap_pixels], axis=0) >= FLAT_GAP
        flat = ((np.abs(value - image.value).max(axis=0) <= FLAT_TOLERANCE)
                & (np.partition(differs, 2, axis=0)[2] >= FLAT_MIN) & (differs.mean(axis=0) >= FLAT_MEAN)
                & (image.value >= FLAT_FLOOR) & apart)  # fmt: skip
        found = bright | flat
        better = found & (arm_mean > score)
        score[better], level[better], flat_hit[better] = arm_mean[better], arm_mean[better], flat[better]
        hits |= found
    return [_Mark(y, x, float(level[y, x]), bool(flat_hit[y, x])) for y, x in _best_per_group(hits, score)]


def _best_per_group(hits: np.ndarray, score: np.ndarray) -> list[tuple[int, int]]:
    """(y, x) of the highest-scoring pixel of each 8-connected group of `hits`
    (bool, (H, W)); `score` is an array of the same shape."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(hits.astype(np.uint8), connectivity=8)
    best = []
    for i in range(1, n):
        x0, y0, w, h = stats[i, :4]
        ys, xs = np.nonzero(labels[y0:y0 + h, x0:x0 + w] == i)
        k = int(np.argmax(score[ys + y0, xs + x0]))
        best.append((int(ys[k] + y0), int(xs[k] + x0)))
    return best


# Toshiba's calipers: a small "+" in a light grey with a black outline (a drop
# shadow), blurred by the export's scaling. What survives is a horizontal bar
# 5 to 7 px long and 1 px high with dark rows directly above and below it, and
# a vertical arm of 1 or 2 px that breaks those dark rows at the centre; the
# arm is dimmer than the bar (its 1 px is mixed with the outline beside it),
# so the centre stands out from the pixels above and below it too. The bar is
# often no brighter than the tissue around it (what `_caliper_centers` needs),
# but always brighter than its own outline.
SHADOW_BAR_MIN, SHADOW_BAR_MEAN = 10, 40  # grey levels each of the bar's 5 central pixels, and their
# mean, exceed the brighter of the pixels just above and below by (a mean of 30 took speckle in 10 of
# 500 simulated images)
SHADOW_DARK = 14  # grey levels the outline rows (2 and 3 px to either side of the centre) lie below
# the local background, on average
SHADOW_SPREAD = 40  # ... with a standard deviation of at most this: one dark colour, blurred
# (measured on BUS-BRA: <= 36; uniform noise: about 70)
SHADOW_CROSS = 12  # grey levels the vertical arm exceeds the outline to its sides by (1 or 2 px away)
SHADOW_RANGE = 50  # grey levels the bar's 5 central pixels span at most (one colour; the depth
# ruler's round dots, also outlined, are far brighter in their middle)
SHADOW_BOX = (4, 2)  # px; half width and half height of the mask of such a mark


def _shadowed_centers(image: _Views, *, taken: list[_Mark] = ()) -> list[_Mark]:
    """Dark-outlined "+" marks (Toshiba's): one per connected group of hits,
    centred on the group's pixel whose bar stands out most; groups within
    SHADOW_BOX of a mark in `taken` (found already) are left out.

    Tissue fails the combination: a thin bright streak has no dark rows on
    both sides darker than the tissue around it, and none broken by a short
    vertical arm in the middle; a speckle grain is not 1 px high over 5 px.
    """
    padded = np.pad(image.value - np.maximum(image.at(0, -1), image.at(0, 1)), ((0, 0), (PAD, PAD)),
                    constant_values=-255)
    width = image.shape[1]
    bar = np.stack([padded[:, PAD + dx:PAD + dx + width] for dx in range(-2, 3)])  # bar[2 + dx] at x + dx
    bar_mean = bar.mean(axis=0)
    core = np.stack([image.at(dx, 0, 0) for dx in range(-2, 3)])
    outline = np.stack([image.at(dx, dy) for dx in (-3, -2, 2, 3) for dy in (-1, 1)])
    arm = np.min([np.max([image.at(0, dy) - np.maximum(image.at(-o, dy), image.at(o, dy)) for o in (1, 2)], axis=0)
                  for dy in (-1, 1)], axis=0)  # fmt: skip
    hits = ((bar.min(axis=0) >= SHADOW_BAR_MIN) & (bar_mean >= SHADOW_BAR_MEAN)
            & (image.background - outline.mean(axis=0) >= SHADOW_DARK) & (outline.std(axis=0) <= SHADOW_SPREAD)
            & (arm >= SHADOW_CROSS)
            & (core.max(axis=0) - core.min(axis=0) <= SHADOW_RANGE))  # fmt: skip
    return [_Mark(y, x, float(core[:, y, x].mean()), False, shadowed=True)
            for y, x in _best_per_group(hits, bar_mean)
            if not any(abs(x - m.x) <= SHADOW_BOX[0] and abs(y - m.y) <= SHADOW_BOX[1] for m in taken)]


CALIPER_RADIUS = 8  # px; a mark's arms are followed up to this far from its centre
DIRECTIONS = 16  # rays followed from a mark's centre ("+", "x" and the 60-degree arms of "*")


def _caliper_mask(image: _Views, mark: _Mark) -> np.ndarray:
    """The mark's pixels: its centre and every ray from it that stays on the
    mark for at least 2 px (brighter than half-way from the background to the
    arms' level and than the pixels 2 px to its sides; for a mark of one grey
    level, that level), followed up to CALIPER_RADIUS. For a dark-outlined
    mark (`_shadowed_centers`), the box of SHADOW_BOX around its centre."""
    height, width = image.shape
    part = np.zeros(image.shape, bool)
    if mark.shadowed:  # the outline is as much a part of it as the light core: the whole box
        dx, dy = SHADOW_BOX
        part[max(0, mark.y - dy):mark.y + dy + 1, max(0, mark.x - dx):mark.x + dx + 1] = True
        return part
    part[mark.y, mark.x] = True
    background = float(image.background[mark.y, mark.x])
    half = background + 0.5 * (mark.level - background)
    for k in range(DIRECTIONS):
        angle = 2 * math.pi * k / DIRECTIONS
        ux, uy = math.cos(angle), math.sin(angle)
        ray = []
        for d in range(1, CALIPER_RADIUS + 1):
            x, y = mark.x + round(d * ux), mark.y + round(d * uy)
            if not (0 <= x < width and 0 <= y < height):
                break
            value = float(image.value[y, x])
            if mark.flat:
                on = abs(value - mark.level) <= FLAT_TOLERANCE
            else:
                sides = [image.value[min(height - 1, max(0, y + round(2 * s * ux))),
                                     min(width - 1, max(0, x - round(2 * s * uy)))] for s in (-1, 1)]  # fmt: skip
                ridge = value - 0.5 * (float(sides[0]) + float(sides[1]))
                on = value >= half and ridge >= 0.25 * (mark.level - background)
            if not on:
                break
            ray.append((y, x))
        if len(ray) >= 2:
            for y, x in ray:
                part[y, x] = True
    return part


# ------------------------------------------------------------------ measurement lines
LINE_MIN_LENGTH = 12  # px between two calipers
LINE_CONTRAST = 15  # grey levels a dot or line pixel exceeds the pixels 3 px to its sides by
LINE_DOTS = 4  # lit samples a line needs at least
LINE_LEVEL = 3  # grey levels by which a dot may miss the line's common level


def _measurement_lines(image: _Views, centers: list[tuple[int, int]]) -> list[np.ndarray]:
    """Dotted or solid lines joining two calipers, and dotted lines leaving a
    caliper whose partner was not found; one mask per line."""
    parts, joined = [], set()
    for i, (ay, ax) in enumerate(centers):
        for k, (by, bx) in enumerate(centers[i + 1:], start=i + 1):
            length = math.hypot(bx - ax, by - ay)
            if length >= LINE_MIN_LENGTH:
                part = _line_between(image, (ax, ay), (bx, by), length)
                if part is not None:
                    parts.append(part)
                    joined |= {i, k}
    for i, (ay, ax) in enumerate(centers):
        if i not in joined:
            parts += _dotted_rays(image, (ax, ay))
    return _merge_overlapping(parts)


def _profile(image: _Views, a, unit, t: np.ndarray):
    """Samples along a + t * unit: the on-line samples (offsets -1, 0, 1 across
    the line) as (values, (y, x)) and which samples are lit (the brightest of
    the three exceeds the pixels 3 and 4 px to either side by LINE_CONTRAST)."""
    height, width = image.shape
    ux, uy = unit
    nx, ny = -uy, ux  # unit normal
    px, py = a[0] + t * ux, a[1] + t * uy

    def sample(offset):
        x = np.clip(np.rint(px + offset * nx).astype(int), 0, width - 1)
        y = np.clip(np.rint(py + offset * ny).astype(int), 0, height - 1)
        return image.value[y, x], (y, x)

    on = [sample(k) for k in (-1, 0, 1)]
    on_value = np.max([v for v, _ in on], axis=0)
    off_value = np.max([sample(k)[0] for k in (-3, 3, -4, 4)], axis=0)
    return on, off_value, on_value - off_value >= LINE_CONTRAST


def _line_mask(image: _Views, on, off_value, dots: np.ndarray, grid: np.ndarray | None) -> np.ndarray | None:
    part = np.zeros(image.shape, bool)
    floor = off_value + LINE_CONTRAST // 2
    for value, (y, x) in on:
        keep = dots & (value >= floor)
        part[y[keep], x[keep]] = True
    if part.any() and grid is not None:
        # Dots over tissue as bright as they are: the grid positions that have
        # the lit dots' exact grey level (scanners draw them in one colour).
        level = np.median(image.value[part])
        for value, (y, x) in on:
            keep = grid & (np.abs(value - level) <= FLAT_TOLERANCE)
            part[y[keep], x[keep]] = True
    return part if part.any() else None


def _line_between(image: _Views, a, b, length: float) -> np.ndarray | None:
    """The dots (or the solid line) on the segment a-b, or None.

    Samples every pixel of the segment outside the two marks (`_profile`). A
    solid line lights 80% of the samples; a dotted line lights, for some
    spacing and phase, at least 80% of the positions on that grid (and at
    least 3), while at most a third of the samples between them are lit
    (`_dot_grid`). Speckle lights samples at random and fails both.
    """
    t = np.arange(CALIPER_RADIUS - 2, length - CALIPER_RADIUS + 2)
    if t.size < 4:
        return None
    unit = ((b[0] - a[0]) / length, (b[1] - a[1]) / length)
    on, off_value, lit = _profile(image, a, unit, t)
    if lit.mean() >= 0.8:
        found = (lit, None)
    else:
        found = _dot_grid(lit)
    if found is None or not _one_colour(on, off_value, found[0]):
        # A dotted line crossing tissue as bright as its dots is lit only in
        # parts, and another spacing can then fit the lit samples better than
        # its own. Its dots still share one grey level: look for the grid
        # among the samples at the lit samples' commonest grey instead, and
        # ask the lit dots on that grid (where it crosses darker tissue) to
        # pass the one-colour test.
        same = _same_grey(on, lit)
        found = None if same is None else _dot_grid(same)
        if found is None or not _one_colour(on, off_value, found[0] & lit):
            return None
    return _line_mask(image, on, off_value, *found)


def _same_grey(on, lit: np.ndarray) -> np.ndarray | None:
    """Samples where one of the three pixels across the line (`_profile`) is
    within LINE_LEVEL of the lit samples' commonest grey (of their brightest
    pixel across); None with fewer than LINE_DOTS lit samples. Any of the
    three, not the brightest: beside a dot, tissue brighter than it hides it
    from the maximum."""
    if lit.sum() < LINE_DOTS:
        return None
    values = np.stack([v for v, _ in on]).astype(np.int64)
    level = int(np.bincount(values.max(axis=0)[lit]).argmax())
    return (np.abs(values - level) <= LINE_LEVEL).any(axis=0)


def _one_colour(on, off_value, dots: np.ndarray) -> bool:
    """At least LINE_DOTS lit samples, 70% of which have (on the line or one
    pixel across) the dots' common grey level within LINE_LEVEL, standing
    RAY_DOT_CONTRAST above their sides on average: scanners draw a line in
    one colour, and speckle is not one (except where it saturates)."""
    if dots.sum() < LINE_DOTS:
        return False
    values = np.stack([v for v, _ in on])[:, dots].astype(float)  # (3, n)
    brightest = values.max(axis=0)
    level = np.median(brightest)
    share = (np.abs(values - level) <= LINE_LEVEL).any(axis=0).mean()
    return share >= 0.7 and (brightest - off_value[dots]).mean() >= RAY_DOT_CONTRAST


RAY_START = 30  # samples in which a dotted line leaving a caliper must show its spacing
RAY_DIRECTIONS = 8
RAY_DOT_CONTRAST, RAY_BETWEEN = 30, 0.15  # bright dots, clear gaps between them
RAY_DOTS, RAY_SATURATED = 6, 250  # a ray needs 6 dots, not at the saturated grey level


def _dotted_rays(image: _Views, a) -> list[np.ndarray]:
    """Dotted lines leaving a caliper whose partner was not found (it sits on
    tissue as bright as it is), in any of RAY_DIRECTIONS directions: the first
    RAY_START samples must hold a row of dots of one grey level
    (`_one_colour`, not saturated) standing RAY_DOT_CONTRAST above their sides
    with at most RAY_BETWEEN of the samples between them lit; the line is then
    followed while its grid positions stay lit (one miss in a row allowed)
    and kept if it has RAY_DOTS dots."""
    height, width = image.shape
    parts = []
    for k in range(RAY_DIRECTIONS):
        angle = 2 * math.pi * k / RAY_DIRECTIONS
        unit = (math.cos(angle), math.sin(angle))
        t = np.arange(CALIPER_RADIUS - 2, max(height, width), dtype=float)
        x, y = a[0] + t * unit[0], a[1] + t * unit[1]
        t = t[(x >= 0) & (x < width) & (y >= 0) & (y < height)]
        if t.size < RAY_START:
            continue
        on, off_value, lit = _profile(image, a, unit, t)
        head = lit[:RAY_START]
        if not 0.1 <= head.mean() <= 0.6:
            continue
        found = _dot_grid(head, spacing_and_phase=True, between=RAY_BETWEEN)
        if found is None:
            continue
        head_on = [(v[:RAY_START], yx) for v, yx in on]
        if not _one_colour(head_on, off_value[:RAY_START], head):
            continue
        if np.median(np.max([v for v, _ in head_on], axis=0)[head]) >= RAY_SATURATED:
            continue  # saturated speckle is one grey level too
        spacing, phase = found
        positions = np.rint(np.arange(phase, lit.size, spacing)).astype(int)
        positions = positions[positions < lit.size]
        hit = lit | np.roll(lit, 1) | np.roll(lit, -1)
        end, misses = 0, 0
        for position in positions:
            if hit[position]:
                end, misses = position, 0
            else:
                misses += 1
                if misses > 1:
                    break
        if int(hit[positions[positions <= end]].sum()) < RAY_DOTS:
            continue
        grid = np.zeros(lit.size, bool)
        for shift in (-1, 0, 1):
            grid[np.clip(positions + shift, 0, lit.size - 1)] = True
        grid[end + 2:] = False
        part = _line_mask(image, on, off_value, grid & lit, grid)
        if part is not None:
            parts.append(part)
    return parts


def _dot_grid(lit: np.ndarray, *, spacing_and_phase: bool = False, between: float = 1 / 3):
    """A regular row of dots in `lit` (1-D bool): (its lit samples, the grid
    positions with their neighbours), or with `spacing_and_phase` the grid's
    (spacing, phase); None if there is none. Spacings from 3 to 12 samples in
    quarter steps (scanners space dots evenly over the measured length, so
    the spacing is rarely a whole number of pixels)."""
    best = None
    hit = lit | np.roll(lit, 1) | np.roll(lit, -1)  # a dot may land one sample off the grid
    for spacing in np.arange(3.0, 12.01, 0.25):
        if lit.size < 3 * spacing:
            break
        for phase in range(int(np.ceil(spacing))):
            positions = np.rint(np.arange(phase, lit.size, spacing)).astype(int)
            positions = positions[positions < lit.size]
            share = hit[positions].mean()
            if positions.size < 3 or share < 0.8 or (best is not None and share <= best[0]):
                continue
            near = np.zeros(lit.size, bool)
            for shift in (-1, 0, 1):
                near[np.clip(positions + shift, 0, lit.size - 1)] = True
            lit_between = lit[~near].mean() if (~near).any() else 0.0
            if lit_between <= between:
                best = (share, near & lit, near, spacing, phase)
    if best is None:
        return None
    return best[3:] if spacing_and_phase else best[1:3]


# ------------------------------------------------------------------ text
TEXT_CONTRAST = 40  # grey levels above the local background
STROKE = 20  # ridge height of a stroke pixel
CHAR_HEIGHT = (5, 30)  # px
TEXT_LEVEL_DROP = 40  # grey levels; see `_brightest_members`
MIN_CHARS = 3
MIN_LINE_HEIGHT = 7  # px
# A line that is one connected piece (letters touching) needs this many stroke
# pixels: a caliper mark touching a tissue streak is one piece too, and small.
MIN_SINGLE_PIXELS = 100
# Stroke density in the line's box, in the rows just outside it (relative),
# share of vertical strokes (speckle grains are wide laterally, so their
# strokes are horizontal) and share of characters on a common top or bottom.
MIN_INSIDE, MAX_MARGIN, MIN_VERTICAL, MIN_ALIGNED = 0.08, 0.3, 0.45, 0.6
# Two passes: ridges 2 px wide find fonts with strokes of 1 to 3 px; ridges of
# 3 px find bold fonts (strokes up to 5 px) but also coarse speckle grains, so
# that pass asks for much brighter strokes and more of them (measured: speckle
# lines had a median stroke contrast of 45 to 50 and 40 to 56 stroke pixels;
# bold scanner text 100 to 200 and 195 or more).
TEXT_PASSES = (  # (ridge offsets, least median stroke contrast, least stroke pixels)
    ((2,), 0, 40),
    ((3,), 80, 100),
)
# Once a line is found, the image's other text is in the same font: groups of
# 2 or more separate characters of that height (within SAME_FONT_HEIGHT) and stroke
# grey level (within SAME_FONT_LEVEL) beside it or at the image's border
# (`_beside`) count as text too.
SAME_FONT_HEIGHT, SAME_FONT_LEVEL, SAME_FONT_PIXELS = 1.35, 25, 20
SAME_FONT_VERTICAL, SAME_FONT_DENSITY = 0.35, 0.12  # bold E, S, Q have few vertical strokes


@dataclass
class _Group:
    members: list[int]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    part: np.ndarray  # bool mask of its stroke pixels
    core: np.ndarray  # the same, less members much darker than the brightest (`_brightest_members`)
    chars: int
    height: float  # median component height
    level: float  # median grey level of its strokes
    contrast: float  # median stroke contrast
    pixels: int
    shape_ok: bool  # width, density, clear margins (not the character count)
    vertical: float  # share of its stroke pixels that are vertical strokes
    density: float  # stroke pixels per pixel of its box
    aligned: bool


def _text_lines(image: _Views, *, exclude: np.ndarray | None = None) -> list[np.ndarray]:
    """Lines of typed text; one mask per line (the characters' bodies).
    Pixels in `exclude` (bool, (H, W)) are never strokes."""
    found, rest = [], []
    for offsets, least_contrast, least_pixels in TEXT_PASSES:
        for group in _text_groups(image, offsets, exclude):
            single = len(group.members) == 1 and group.pixels < MIN_SINGLE_PIXELS
            if (group.shape_ok and group.aligned and group.chars >= MIN_CHARS and group.vertical >= MIN_VERTICAL
                    and not single
                    and group.box[3] - group.box[1] >= MIN_LINE_HEIGHT
                    and group.contrast >= least_contrast and group.pixels >= least_pixels):
                found.append(group)
            else:
                rest.append(group)
    lines = list(found)
    for group in rest:
        if (group.shape_ok and group.chars >= 2 and len(group.members) >= 2 and group.pixels >= SAME_FONT_PIXELS
                and group.vertical >= SAME_FONT_VERTICAL and group.density >= SAME_FONT_DENSITY
                and any(_same_font(group, line) and group.contrast >= 0.5 * line.contrast
                        and _beside(group, line, image.shape) for line in lines)):
            found.append(group)
    return _merge_overlapping([_character_bodies(image, g) for g in found])


def _same_font(group: _Group, line: _Group) -> bool:
    return (max(group.height, line.height) <= SAME_FONT_HEIGHT * min(group.height, line.height)
            and abs(group.level - line.level) <= SAME_FONT_LEVEL)  # fmt: skip


def _beside(group: _Group, line: _Group, shape: tuple[int, int]) -> bool:
    """On the line's rows or within 2.5 line heights above or below it, and
    at most 8 line heights to its side; or at the image's border (logos,
    depth labels)."""
    height, width = shape
    gx0, gy0, gx1, gy1 = group.box
    if gx0 <= 3 or gy0 <= 3 or gx1 >= width - 3 or gy1 >= height - 3:
        return True
    lx0, ly0, lx1, ly1 = line.box
    h = ly1 - ly0
    rows = abs((gy0 + gy1) / 2 - (ly0 + ly1) / 2) <= 2.5 * h
    columns = max(lx0 - gx1, gx0 - lx1, 0) <= 8 * h
    return rows and columns


def _text_groups(image: _Views, offsets: tuple[int, ...], exclude: np.ndarray | None = None) -> list[_Group]:
    horizontal, vertical = image.ridges(offsets)
    strokes = (image.contrast >= TEXT_CONTRAST) & ((horizontal >= STROKE) | (vertical >= STROKE))
    if exclude is not None:
        strokes &= ~exclude
    vertical = vertical >= STROKE
    grown = cv2.dilate(strokes.astype(np.uint8), np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    low, high = CHAR_HEIGHT
    pieces = [i for i in range(1, n) if low <= stats[i, 3] <= high and stats[i, 4] >= 6]
    groups = []
    for members in _group_into_lines(pieces, stats):
        x0, y0, x1, y1 = _line_box(members, stats)
        inside = strokes[y0:y1, x0:x1]
        chars = sum(max(1, round(stats[i, 2] / (0.75 * stats[i, 3]))) for i in members)
        if chars < 2 or not inside.any() or not _text_shape(strokes, (x0, y0, x1, y1)):
            continue  # no rule in `_text_lines` accepts it: skip the costlier measures
        part = np.zeros(image.shape, bool)
        part[y0:y1, x0:x1] = np.isin(labels[y0:y1, x0:x1], members) & inside
        core = np.zeros(image.shape, bool)
        kept = _brightest_members(members, labels, stats, image.value, strokes)
        core[y0:y1, x0:x1] = np.isin(labels[y0:y1, x0:x1], kept) & inside
        heights = np.array([stats[i, 3] for i in members])
        groups.append(_Group(
            members=members, box=(x0, y0, x1, y1), part=part, core=core,
            chars=chars,
            height=float(np.median(heights)),
            level=float(np.median(image.value[part])), contrast=float(np.median(image.contrast[part])),
            pixels=int(part.sum()),
            shape_ok=True,
            vertical=float(vertical[y0:y1, x0:x1][inside].mean()),
            density=float(inside.mean()),
            aligned=_aligned(members, stats),
        ))  # fmt: skip
    return groups


def _brightest_members(members: list[int], labels, stats, value, strokes) -> list[int]:
    """Components whose strokes are not much darker (by TEXT_LEVEL_DROP) than
    the brightest member's. Used for the mask of a line already accepted as a
    whole (pruning before the tests would let speckle pick its text-like
    subset): text is drawn in one colour, a tissue streak in line with it, a
    character's width away, is not."""
    if len(members) < 2:
        return members
    levels = []
    for i in members:
        x, y, w, h = stats[i, :4]
        own = (labels[y:y + h, x:x + w] == i) & strokes[y:y + h, x:x + w]
        levels.append(float(np.median(value[y:y + h, x:x + w][own])) if own.any() else 0.0)
    top = max(levels)
    return [i for i, level in zip(members, levels) if level >= top - TEXT_LEVEL_DROP]


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


def _text_shape(strokes: np.ndarray, box) -> bool:
    """What tells a line of text from a band of bright speckle: wider than
    1.4 line heights (two characters), strokes dense inside the box and sparse in the rows
    just above and below it. (Also asked: many vertical strokes, see
    `_text_lines`.)"""
    x0, y0, x1, y1 = box
    if x1 - x0 < 1.4 * (y1 - y0):
        return False
    inside = strokes[y0:y1, x0:x1]
    density = inside.mean()
    if density < MIN_INSIDE:
        return False
    above = strokes[max(0, y0 - 5):max(0, y0 - 1), x0:x1]
    below = strokes[y1 + 1:y1 + 5, x0:x1]
    if above.size + below.size:
        margin = (above.sum() + below.sum()) / (above.size + below.size)
        if margin > MAX_MARGIN * density:
            return False
    return True


def _aligned(members: list[int], stats: np.ndarray) -> bool:
    """Most components share the line's top or bottom (capitals and digits do)."""
    tops = np.array([stats[i, 1] for i in members])
    bottoms = tops + np.array([stats[i, 3] for i in members])
    tolerance = max(1.0, 0.12 * float(np.median([stats[i, 3] for i in members])))
    aligned = (np.abs(tops - np.median(tops)) <= tolerance) | (np.abs(bottoms - np.median(bottoms)) <= tolerance)
    return bool(aligned.mean() >= MIN_ALIGNED)


def _character_bodies(image: _Views, group: _Group) -> np.ndarray:
    """The whole characters of a line, not only their ridge pixels: pixels
    within 2 px of a stroke that stand out from the background by at least
    0.3 times the strokes' median contrast and connect to a stroke (bold
    strokes and anti-aliased edges included, tissue further away not)."""
    x0, y0, x1, y1 = group.box
    height, width = image.shape
    x0, y0, x1, y1 = max(0, x0 - 3), max(0, y0 - 3), min(width, x1 + 3), min(height, y1 + 3)
    strokes = group.core[y0:y1, x0:x1]
    near = cv2.dilate(strokes.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    bright = (near & (image.contrast[y0:y1, x0:x1] >= max(15.0, 0.3 * group.contrast))) | strokes
    _, labels = cv2.connectedComponents(bright.astype(np.uint8), connectivity=8)
    keep = np.unique(labels[strokes])
    part = np.zeros(image.shape, bool)
    part[y0:y1, x0:x1] = np.isin(labels, keep[keep > 0])
    return part


def _merge_overlapping(parts: list[np.ndarray]) -> list[np.ndarray]:
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


# ------------------------------------------------------------------ examples and figure
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
    import matplotlib.pyplot as plt

    from alnus import style

    rows = max(1, len(examples))
    with plt.rc_context(style.RC):
        fig, axes = plt.subplots(rows, 3, figsize=(7.0, 2.0 * rows), squeeze=False)
        if not examples:
            for ax in axes.ravel():
                ax.axis("off")
            axes[0, 1].text(0.5, 0.5, "No burned-in annotations were found\nin the development cohort.",
                            ha="center", va="center", transform=axes[0, 1].transAxes)
            return fig
        for index, (row, (image_id, (before, after, mask))) in enumerate(zip(axes, examples.items())):
            outline = np.dstack([before] * 3).astype(np.float32) / 255
            padded = np.pad(mask, 1)
            inner = np.all([padded[1 + dy:1 + dy + mask.shape[0], 1 + dx:1 + dx + mask.shape[1]]
                            for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)  # fmt: skip
            edge = mask & ~inner
            outline[edge] = (0.90, 0.62, 0.0)  # Okabe-Ito orange
            changed = int(np.count_nonzero(after != before))
            for ax, image, title in zip(row, (before, outline, after),
                                        ("Exported", "Annotations found", "Inpainted")):
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
