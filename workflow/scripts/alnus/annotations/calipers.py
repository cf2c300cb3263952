"""Caliper marks: "+", "x" and "*" (`caliper_centers`), Toshiba's
dark-outlined "+" (`shadowed_centers`), and the mask of a mark
(`caliper_mask`).

Both tests are run in two steps: a cheap necessary condition on whole-image
maps (the arms' first pixels are ridges, or of the centre's grey level; the
outlined mark's bar stands above its rows), then the full test on the few
pixels that pass, gathered with `Views.take`. The result is the same as the
full test at every pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alnus.annotations.common import FLAT_TOLERANCE, PAD, Views, best_per_group, cv2

# Arms of a "+" and an "x": (arm direction, perpendicular step to the side pixels).
ARMS = {
    "plus": (((1, 0), (0, 2)), ((-1, 0), (0, 2)), ((0, 1), (2, 0)), ((0, -1), (2, 0))),
    "x": (((1, 1), (2, -2)), ((-1, -1), (2, -2)), ((1, -1), (2, 2)), ((-1, 1), (2, 2))),
}
# Pixels between the arms, one group per gap: the quadrants of a "+", the axes of an "x".
GAPS = {
    "plus": tuple(
        tuple((sx * i, sy * j) for i, j in ((2, 2), (3, 2), (2, 3), (3, 3)))
        for sx, sy in ((1, 1), (1, -1), (-1, 1), (-1, -1))
    ),
    "x": tuple(
        tuple((sx * i + sy * j, sy * i + sx * j) for i, j in ((2, 0), (3, 0), (3, 1), (3, -1)))
        for sx, sy in ((1, 0), (-1, 0), (0, 1), (0, -1))
    ),
}
ARM_LENGTH = 3  # px of each arm that must pass (marks have arms of 3 to 8 px)
# Arms are tested from 1 px and from 2 px out: in a mark drawn 2 px thick, the
# first pixel of each arm lies on the other arm's second row.
ARM_STARTS = (1, 2)
THICK_STRENGTH = 1.5  # arms tested from 2 px out skip the centre's neighbours, so they must stand out more
RIDGE_MIN, RIDGE_MEAN, RIDGE_ARM = 5, 30, 20  # a bright mark: every arm pixel a ridge, on average by 30
# grey levels, and each arm by at least 20 (crossing tissue bands have a strong and a weak pair)
THIN_MIN, THIN_SHARE = 8, 0.6  # ... and most of that step is taken within 1 px of the arm
FLAT_MIN, FLAT_MEAN, FLAT_FLOOR = 6, 15, 40  # a mark of one exact grey level (within FLAT_TOLERANCE)
FLAT_GAP = 12  # grey levels each gap differs from that level by, on average
GAP_MIN = 15  # grey levels the arms exceed the pixels between them by
SPREAD_SHARE = 0.5  # arms' grey levels vary by at most half their ridge height (measured on BUS-BRA: <= 0.42)


@dataclass(frozen=True)
class Mark:
    y: int
    x: int
    level: float  # mean grey level of its arms
    flat: bool  # found as a mark of one exact grey level
    shadowed: bool = False  # found by `shadowed_centers` (a mark with a dark outline)


def _arm_pixels(arms, start: int) -> list[tuple[int, int, int, int]]:
    """(ax, ay, px, py) of the ARM_LENGTH pixels of each arm from `start` px out."""
    return [(sx * d, sy * d, px, py) for (sx, sy), (px, py) in arms for d in range(start, start + ARM_LENGTH)]


def _first_arm_maps(image: Views) -> tuple[dict, dict]:
    """Per image, the two maps `_candidates` asks of each arm's first pixel,
    on the padded grid less 2 px (`_on_grid`): for each side step p of ARMS,
    where a pixel is a ridge of RIDGE_MIN across p; for each step s of a
    first arm pixel (one of each pair s, -s), where the pixel s away is within
    FLAT_TOLERANCE of the pixel. uint8 with OpenCV's saturating arithmetic
    (v - max(sides) >= RIDGE_MIN is saturate(v - max(sides)) >= RIDGE_MIN)."""
    low, high = image.padded(0), image.padded(255)
    rows, columns = low.shape

    def shifted(padded, dx, dy):
        return padded[2 + dy : rows - 2 + dy, 2 + dx : columns - 2 + dx]

    ridge = {
        (px, py): cv2.subtract(shifted(low, 0, 0), cv2.max(shifted(high, px, py), shifted(high, -px, -py))) >= RIDGE_MIN
        for px, py in {step for arms in ARMS.values() for _, step in arms}
    }
    same = {
        (dx, dy): cv2.absdiff(shifted(low, dx, dy), shifted(low, 0, 0)) <= FLAT_TOLERANCE
        for dx, dy in ((1, 0), (0, 1), (2, 0), (0, 2), (1, 1), (1, -1), (2, 2), (2, -2))
    }
    return ridge, same


def _on_grid(image: Views, grid: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``grid`` (from `_first_arm_maps`) at the image pixels shifted by (dx, dy): (H, W)."""
    height, width = image.shape
    return grid[PAD - 2 + dy : PAD - 2 + dy + height, PAD - 2 + dx : PAD - 2 + dx + width]


def _candidates(image: Views, pixels: list[tuple[int, int, int, int]], maps) -> tuple[np.ndarray, np.ndarray]:
    """Padded indices of the pixels that can pass either test, and which of
    them can pass the bright test: each arm's first pixel a ridge of
    RIDGE_MIN (every arm pixel must be one for a bright mark), or, at or above
    FLAT_FLOOR, of the centre's grey level (every arm pixel must be for a
    flat mark). `maps`: `_first_arm_maps`."""
    ridges, same = maps
    ridge = np.ones(image.shape, bool)
    flat = image.pixels >= FLAT_FLOOR
    for ax, ay, px, py in pixels[::ARM_LENGTH]:
        ridge &= _on_grid(image, ridges[px, py], ax, ay)
        if (ax, ay) in same:  # |image(x + a) - image(x)|
            flat &= _on_grid(image, same[ax, ay], 0, 0)
        else:  # the same, read off the map of -a at x + a: |image(x + a - a) - image(x + a)|
            flat &= _on_grid(image, same[-ax, -ay], ax, ay)
    either = ridge | flat
    return image.index(either), ridge[either]


def _gather(image: Views, idx: np.ndarray, offsets, fill: int = 255) -> np.ndarray:
    """``take(idx, dx, dy, fill)`` for each (dx, dy) of `offsets`: an array of shape (len(offsets), idx.size)."""
    steps = np.array([dy * image.stride + dx for dx, dy in offsets])
    return image.take(idx[None, :] + steps[:, None], 0, 0, fill)


def _test(
    image: Views, idx: np.ndarray, may_ridge: np.ndarray, shape: str, start: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The full caliper test at the pixels `idx` (`may_ridge`: those that can
    pass the bright test): the pixels found, and each one's arm mean and
    whether it was found as a flat mark. The conditions on every arm pixel
    come first; the rest are computed where they hold."""
    pixels = _arm_pixels(ARMS[shape], start)
    k = len(pixels)
    value = _gather(image, idx, [(ax, ay) for ax, ay, _, _ in pixels], 0)
    centre = image.take(idx, 0, 0)
    even = (np.abs(value - centre).max(axis=0) <= FLAT_TOLERANCE) & (centre >= FLAT_FLOOR)
    keep = even | may_ridge
    idx, value, centre, even = idx[keep], value[:, keep], centre[keep], even[keep]
    sides = _gather(image, idx, [(ax + s * px, ay + s * py) for s in (1, -1) for ax, ay, px, py in pixels])
    ridge = value - np.maximum(sides[:k], sides[k:])
    keep = (ridge.min(axis=0) >= RIDGE_MIN) | even
    idx, value, ridge, centre, even = idx[keep], value[:, keep], ridge[:, keep], centre[keep], even[keep]
    halves = _gather(
        image, idx, [(ax + s * (px // 2), ay + s * (py // 2)) for s in (1, -1) for ax, ay, px, py in pixels]
    )
    lows = _gather(image, idx, [(ax + s * px, ay + s * py) for s in (1, -1) for ax, ay, px, py in pixels], 0)
    thin = value - np.minimum(halves[:k], halves[k:])
    differs = np.abs(2 * value - (lows[:k] + lows[k:])) // 2
    ys, xs = image.yx(idx)
    background = image.background[ys, xs]
    per_arm = (4, ARM_LENGTH, idx.size)
    arm_mean, ridge_mean = value.mean(axis=0), ridge.mean(axis=0)
    # Thin arms: the gaps between them are darker than the arms by half their
    # height above the background (a round blob is as bright between its "arms").
    gap_pixels = _gather(image, idx, [offset for gap in GAPS[shape] for offset in gap]).reshape(4, 4, idx.size)
    # One gap may hold the mark's label ("3+"): the second brightest gap counts.
    gaps = np.sort(gap_pixels.mean(axis=1), axis=0)[-2]
    separated = arm_mean - gaps >= np.maximum(GAP_MIN, 0.5 * (arm_mean - background))
    # Thin arms (1-2 px): a side pixel next to the arm is already darker.
    thin = (
        thin.reshape(per_arm).mean(axis=1) >= np.maximum(THIN_MIN, THIN_SHARE * ridge.reshape(per_arm).mean(axis=1))
    ).all(axis=0)
    # One mark: arms of similar grey level, and a centre as bright as they are
    # (noise can put bright arms around a dark pixel).
    whole = (value.std(axis=0) <= SPREAD_SHARE * ridge_mean) & (centre >= arm_mean - 0.5 * ridge_mean)
    strength = 1.0 if start == 1 else THICK_STRENGTH
    bright = (
        (ridge.min(axis=0) >= RIDGE_MIN)
        & (ridge_mean >= strength * RIDGE_MEAN)
        & (ridge.reshape(per_arm).mean(axis=1).min(axis=0) >= strength * RIDGE_ARM)
        & thin
        & whole
        & separated
    )
    # A mark of one grey level: each gap differs from that level on average.
    apart = np.abs(gap_pixels - centre).mean(axis=1).min(axis=0) >= FLAT_GAP
    flat = even & (np.partition(differs, 2, axis=0)[2] >= FLAT_MIN) & (differs.mean(axis=0) >= FLAT_MEAN) & apart
    found = bright | flat
    return idx[found], arm_mean[found], flat[found]


def caliper_centers(image: Views) -> list[Mark]:
    """ "+", "x" and "*" marks, one per connected group of hits, centred on the
    group's pixel with the brightest arms.

    * bright marks: four thin arms meeting at a point, each arm pixel brighter
      than the pixels 2 px to either side of it (a *ridge*), clear gaps
      between the arms, arms of similar grey level;
    * flat marks, drawn in a grey that tissue around them exceeds: four arms
      of one exact grey level that differ from both sides.
    """
    hits = np.zeros(image.shape, bool)
    score = np.full(image.shape, -1.0, np.float32)
    level = np.zeros(image.shape, np.float32)
    flat_hit = np.zeros(image.shape, bool)
    maps = _first_arm_maps(image)
    for shape in ARMS:
        for start in ARM_STARTS:
            idx, may_ridge = _candidates(image, _arm_pixels(ARMS[shape], start), maps)
            found, arm_mean, flat = _test(image, idx, may_ridge, shape, start)
            ys, xs = image.yx(found)
            hits[ys, xs] = True
            better = arm_mean > score[ys, xs]
            ys, xs = ys[better], xs[better]
            score[ys, xs], level[ys, xs], flat_hit[ys, xs] = arm_mean[better], arm_mean[better], flat[better]
    return [Mark(y, x, float(level[y, x]), bool(flat_hit[y, x])) for y, x in best_per_group(hits, score)]


# Toshiba's calipers: a small "+" in a light grey with a black outline (a drop
# shadow), blurred by the export's scaling. What survives is a horizontal bar
# 5 to 7 px long and 1 px high with dark rows directly above and below it, and
# a vertical arm of 1 or 2 px that breaks those dark rows at the centre; the
# arm is dimmer than the bar (its 1 px is mixed with the outline beside it),
# so the centre stands out from the pixels above and below it too. The bar is
# often no brighter than the tissue around it (what `caliper_centers` needs),
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


def _shadowed_hits(image: Views) -> tuple[np.ndarray, np.ndarray]:
    """Padded indices of the pixels that pass the outlined-mark test, and
    their bars' mean height above the rows beside them."""
    bar = cv2.subtract(image.pixels, cv2.max(image.at(0, -1), image.at(0, 1)))  # where >= 0, as exact
    standing = bar >= SHADOW_BAR_MIN
    padded = np.pad(standing, ((0, 0), (2, 2)))
    width = image.shape[1]
    for dx in (-2, -1, 1, 2):  # every one of the bar's 5 central pixels
        standing &= padded[:, 2 + dx : 2 + dx + width]
    idx = image.index(standing)
    ys, xs = image.yx(idx)
    bars = np.stack([bar[ys, xs + dx] for dx in range(-2, 3)]).astype(np.int16)
    bar_mean = bars.mean(axis=0)
    core = np.stack([image.take(idx, dx, 0, 0) for dx in range(-2, 3)])
    outline = np.stack([image.take(idx, dx, dy) for dx in (-3, -2, 2, 3) for dy in (-1, 1)])
    arm = np.min(
        [
            np.max(
                [image.take(idx, 0, dy) - np.maximum(image.take(idx, -o, dy), image.take(idx, o, dy)) for o in (1, 2)],
                axis=0,
            )
            for dy in (-1, 1)
        ],
        axis=0,
    )
    hit = (
        (bar_mean >= SHADOW_BAR_MEAN)
        & (image.background[ys, xs] - outline.mean(axis=0) >= SHADOW_DARK)
        & (outline.std(axis=0) <= SHADOW_SPREAD)
        & (arm >= SHADOW_CROSS)
        & (core.max(axis=0) - core.min(axis=0) <= SHADOW_RANGE)
    )
    return idx[hit], bar_mean[hit]


def shadowed_centers(image: Views, *, taken: list[Mark] = ()) -> list[Mark]:
    """Dark-outlined "+" marks (Toshiba's): one per connected group of hits,
    centred on the group's pixel whose bar stands out most; groups within
    SHADOW_BOX of a mark in `taken` (found already) are left out.

    Found as a 1-px bar of one grey level, 5 px or more long, with dark rows
    of one dark grey right above and below it that a dimmer vertical arm
    breaks at the centre. Tissue fails the combination: a thin bright streak
    has no dark rows on both sides darker than the tissue around it, and none
    broken by a short vertical arm in the middle; a speckle grain is not 1 px
    high over 5 px; the depth ruler's dots (also outlined) are round and
    brightest in the middle, not one grey level along a bar.
    """
    idx, bar_mean = _shadowed_hits(image)
    hits = np.zeros(image.shape, bool)
    score = np.zeros(image.shape)
    ys, xs = image.yx(idx)
    hits[ys, xs], score[ys, xs] = True, bar_mean
    marks = []
    for y, x in best_per_group(hits, score):
        if not any(abs(x - m.x) <= SHADOW_BOX[0] and abs(y - m.y) <= SHADOW_BOX[1] for m in taken):
            level = float(
                np.mean([image.value[y, x + dx] if 0 <= x + dx < image.shape[1] else 0 for dx in range(-2, 3)])
            )
            marks.append(Mark(y, x, level, False, shadowed=True))
    return marks


CALIPER_RADIUS = 8  # px; a mark's arms are followed up to this far from its centre
DIRECTIONS = 16  # rays followed from a mark's centre ("+", "x" and the 60-degree arms of "*")
# Ray steps: (dx, dy) of the d-th pixel (d = 1..CALIPER_RADIUS) of each direction, and of its
# sides 2 px across (s = -1, 1).
_UNITS = [(math.cos(2 * math.pi * k / DIRECTIONS), math.sin(2 * math.pi * k / DIRECTIONS)) for k in range(DIRECTIONS)]
_RAY_STEPS = np.array([[(round(d * ux), round(d * uy)) for d in range(1, CALIPER_RADIUS + 1)] for ux, uy in _UNITS])
_SIDE_STEPS = np.array([[(-round(2 * s * uy), round(2 * s * ux)) for s in (-1, 1)] for ux, uy in _UNITS])


def caliper_mask(image: Views, mark: Mark) -> np.ndarray:
    """The mark's pixels: its centre and every ray from it that stays on the
    mark for at least 2 px (brighter than half-way from the background to the
    arms' level and than the pixels 2 px to its sides; for a mark of one grey
    level, that level), followed up to CALIPER_RADIUS. For a dark-outlined
    mark (`shadowed_centers`), the box of SHADOW_BOX around its centre."""
    height, width = image.shape
    part = np.zeros(image.shape, bool)
    if mark.shadowed:  # the outline is as much a part of it as the light core: the whole box
        dx, dy = SHADOW_BOX
        part[max(0, mark.y - dy) : mark.y + dy + 1, max(0, mark.x - dx) : mark.x + dx + 1] = True
        return part
    part[mark.y, mark.x] = True
    xs, ys = mark.x + _RAY_STEPS[..., 0], mark.y + _RAY_STEPS[..., 1]  # (DIRECTIONS, CALIPER_RADIUS)
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    cx, cy = np.clip(xs, 0, width - 1), np.clip(ys, 0, height - 1)
    value = image.value[cy, cx].astype(float)
    if mark.flat:
        on = np.abs(value - mark.level) <= FLAT_TOLERANCE
    else:
        background = float(image.background[mark.y, mark.x])
        half = background + 0.5 * (mark.level - background)
        sx = np.clip(cx[..., None] + _SIDE_STEPS[:, None, :, 0], 0, width - 1)
        sy = np.clip(cy[..., None] + _SIDE_STEPS[:, None, :, 1], 0, height - 1)
        sides = image.value[sy, sx].astype(float)  # (DIRECTIONS, CALIPER_RADIUS, 2)
        ridge = value - 0.5 * (sides[..., 0] + sides[..., 1])
        on = (value >= half) & (ridge >= 0.25 * (mark.level - background))
    run = np.cumprod(on & inside, axis=1).astype(bool)  # each ray until its first miss or the border
    keep = run & (run.sum(axis=1) >= 2)[:, None]
    part[ys[keep], xs[keep]] = True
    return part
