"""Measurement lines (`measurement_lines`): between two calipers, a row of
regularly spaced dots or a solid thin line (where the dots cross tissue as
bright as they are, the row is found among the samples at the dots' grey
level); from a caliper whose partner was missed, a row of dots of one grey
level. The mask is the dots or line pixels, never the segment's tissue in
between.

Lines are sampled along the segment only (`_profile`), never over the whole
image; the regular row of dots is searched for all spacings and phases at
once (`_dot_grid`).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from alnus.annotations.calipers import CALIPER_RADIUS
from alnus.annotations.common import FLAT_TOLERANCE, Views, merge_overlapping

LINE_MIN_LENGTH = 12  # px between two calipers
LINE_CONTRAST = 15  # grey levels a dot or line pixel exceeds the pixels 3 px to its sides by
LINE_DOTS = 4  # lit samples a line needs at least
LINE_LEVEL = 3  # grey levels by which a dot may miss the line's common level


def measurement_lines(image: Views, centers: list[tuple[int, int]]) -> list[np.ndarray]:
    """Dotted or solid lines joining two calipers, and dotted lines leaving a
    caliper whose partner was not found; one mask per line."""
    parts, joined = [], set()
    for i, (ay, ax) in enumerate(centers):
        for k, (by, bx) in enumerate(centers[i + 1 :], start=i + 1):
            length = math.hypot(bx - ax, by - ay)
            if length >= LINE_MIN_LENGTH:
                part = _line_between(image, (ax, ay), (bx, by), length)
                if part is not None:
                    parts.append(part)
                    joined |= {i, k}
    for i, (ay, ax) in enumerate(centers):
        if i not in joined:
            parts += _dotted_rays(image, (ax, ay))
    return merge_overlapping(parts)


def _profile(image: Views, a, unit, t: np.ndarray):
    """Samples along a + t * unit: the on-line samples (offsets -1, 0, 1 across
    the line) as (values, (y, x)) and which samples are lit (the brightest of
    the three exceeds the pixels 3 and 4 px to either side by LINE_CONTRAST)."""
    height, width = image.shape
    ux, uy = unit
    nx, ny = -uy, ux  # unit normal
    px, py = a[0] + t * ux, a[1] + t * uy
    across = np.array([-1, 0, 1, -3, 3, -4, 4], float)[:, None]
    x = np.clip(np.rint(px + across * nx).astype(int), 0, width - 1)
    y = np.clip(np.rint(py + across * ny).astype(int), 0, height - 1)
    value = image.value[y, x]
    on = [(value[k], (y[k], x[k])) for k in range(3)]
    off_value = value[3:].max(axis=0)
    return on, off_value, value[:3].max(axis=0) - off_value >= LINE_CONTRAST


def _line_mask(image: Views, on, off_value, dots: np.ndarray, grid: np.ndarray | None) -> np.ndarray | None:
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


def _line_between(image: Views, a, b, length: float) -> np.ndarray | None:
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


def _dotted_rays(image: Views, a) -> list[np.ndarray]:
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
        grid[end + 2 :] = False
        part = _line_mask(image, on, off_value, grid & lit, grid)
        if part is not None:
            parts.append(part)
    return parts


DOT_SPACINGS = np.arange(3.0, 12.01, 0.25)  # samples; scanners space dots evenly over the measured length,
# so the spacing is rarely a whole number of pixels


@functools.lru_cache(maxsize=64)
def _grids(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every dot grid `_dot_grid` tries on `size` samples, in its order
    (spacing, then phase): each grid's (spacing, phase), positions (flat,
    with the grid each belongs to), number of positions, and the grid
    positions with their neighbours as a (grids, size) bool array."""
    spacing = DOT_SPACINGS[3 * DOT_SPACINGS <= size]
    spacing, phase = (
        (np.concatenate(v) for v in zip(*[(np.full(int(np.ceil(s)), s), np.arange(np.ceil(s))) for s in spacing]))
        if spacing.size
        else (spacing, spacing)
    )
    grids = np.stack([spacing, phase], axis=1)
    at = (
        phase[:, None] + spacing[:, None] * np.arange(int(size // 3) + 2)[None, :]
    )  # as np.arange(phase, size, spacing)
    kept = at < size
    at = np.rint(at).astype(int)
    kept &= at < size
    owner = np.nonzero(kept)[0]
    flat = at[kept]
    near = np.zeros((len(grids), size), bool)
    for shift in (-1, 0, 1):
        near[owner, np.clip(flat + shift, 0, size - 1)] = True
    return grids, flat, owner, np.bincount(owner, minlength=len(grids)), near


def _dot_grid(lit: np.ndarray, *, spacing_and_phase: bool = False, between: float = 1 / 3):
    """A regular row of dots in `lit` (1-D bool): (its lit samples, the grid
    positions with their neighbours), or with `spacing_and_phase` the grid's
    (spacing, phase); None if there is none.

    Spacings of DOT_SPACINGS, every phase: the grid whose positions (or a
    neighbour: a dot may land one sample off the grid) are lit most often,
    at least 80% and at least 3 of them, with at most `between` of the other
    samples lit; the first in (spacing, phase) order among equals.
    """
    grids, flat, owner, count, near = _grids(lit.size)
    if not len(grids):
        return None
    hit = lit | np.roll(lit, 1) | np.roll(lit, -1)
    share = np.bincount(owner, weights=hit[flat], minlength=len(grids)) / count
    rest = lit.size - near.sum(axis=1)
    lit_rest = int(lit.sum()) - near.astype(np.int64) @ lit.astype(np.int64)
    lit_between = np.divide(lit_rest, rest, out=np.zeros(len(grids)), where=rest > 0)
    valid = (count >= 3) & (share >= 0.8) & (lit_between <= between)
    if not valid.any():
        return None
    best = np.flatnonzero(valid)[np.argmax(share[valid])]
    if spacing_and_phase:
        spacing, phase = grids[best]
        return float(spacing), int(phase)
    return near[best] & lit, near[best].copy()
