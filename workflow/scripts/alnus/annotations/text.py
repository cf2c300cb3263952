"""Typed text (`text_lines`): thin bright strokes grouped into a line of at
least three characters whose tops or bottoms align, with many vertical
strokes (speckle grains are wide laterally, so their strokes are horizontal),
in a short line one continuous stroke 1.5 characters' heights long
(speckle strands and bright dots are ridges only in bits) and clear
background in the rows just above and below. Bright tissue bands carry
strokes above and below as well, and fail. A second pass finds bold fonts
(without the continuous stroke); shorter words in the same font beside a
line found (or at the image's border: logos, depth labels) count too.

The stroke components are measured all at once (OpenCV's component
statistics, an integral image for the box densities, one sort for the
components' median grey levels, `scipy.sparse.csgraph` to join them into
lines); only the few groups that pass the box tests are looked at one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from alnus.annotations.common import Views, cv2, merge_overlapping

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
# A short line of the thin pass (under SHORT_LINE_PIXELS stroke pixels) also
# needs one continuous stroke (`_Group.stroke_length`, in character heights):
# a thin font's strokes are ridges all along, so at least one character of a
# line ("2", "L", "o", "1" with its foot, ...) is one connected piece of
# stroke pixels 1.5 times as long as the character is tall. Speckle strands
# and small bright dots are ridges only in bits, which the 3 x 3 growing of
# the strokes glues into character-sized components; three or four of those
# side by side pass the other tests only when they are small (measured, issue
# 14: the lines the thin pass found in the benchmark's 500 clean simulated
# images had 43 to 52 stroke pixels and a longest stroke of 0.6 to 1.2; in
# its images 500 to 1999, not looked at before the rule was set, 43 to 50 and
# 1.0 to 1.3. Of that pass's 531 lines on the 464 BUS-BRA images of
# `benchmarks/bench_annotations.py`, 527 had 1.5 or more; the other four were
# a GE logo (58 pixels, 1.3), an "x" caliper with tissue beside it (42, 1.4)
# and two bold lines of 119 and 216 pixels whose strokes the thin pass breaks
# up, 1.0 and 1.2). Bold strokes are wider than the bold pass's ridges at
# corners and junctions, so break there: that pass does not ask it.
TEXT_PASSES = (  # (ridge offsets, least median stroke contrast, least stroke pixels, least stroke length)
    ((2,), 0, 40, 1.5),
    ((3,), 80, 100, 0.0),
)
SHORT_LINE_PIXELS = 100
# Once a line is found, the image's other text is in the same font: groups of
# 2 or more separate characters of that height (within SAME_FONT_HEIGHT) and stroke
# grey level (within SAME_FONT_LEVEL) beside it or at the image's border
# (`_beside`) count as text too.
SAME_FONT_HEIGHT, SAME_FONT_LEVEL, SAME_FONT_PIXELS = 1.35, 25, 20
SAME_FONT_VERTICAL, SAME_FONT_DENSITY = 0.35, 0.12  # bold E, S, Q have few vertical strokes


@dataclass
class _Group:
    members: np.ndarray  # component labels, ascending
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    core: np.ndarray  # bool mask (the box's shape) of its stroke pixels, less members much darker
    # than the brightest (`_brightest_members`)
    chars: int
    height: float  # median component height
    level: float  # median grey level of its strokes
    contrast: float  # median stroke contrast
    pixels: int
    vertical: float  # share of the stroke pixels in its box that are vertical strokes
    density: float  # stroke pixels per pixel of its box
    aligned: bool
    stroke_length: float  # pixels of its largest 8-connected piece of stroke pixels, in character heights


def text_lines(image: Views, *, exclude: np.ndarray | None = None) -> list[np.ndarray]:
    """Lines of typed text; one mask per line (the characters' bodies).
    Pixels in `exclude` (bool, (H, W)) are never strokes."""
    found, rest = [], []
    for offsets, least_contrast, least_pixels, least_length in TEXT_PASSES:
        for group in _text_groups(image, offsets, exclude):
            single = len(group.members) == 1 and group.pixels < MIN_SINGLE_PIXELS
            if (
                group.aligned
                and group.chars >= MIN_CHARS
                and group.vertical >= MIN_VERTICAL
                and not single
                and group.box[3] - group.box[1] >= MIN_LINE_HEIGHT
                and group.contrast >= least_contrast
                and group.pixels >= least_pixels
                and (group.stroke_length >= least_length or group.pixels >= SHORT_LINE_PIXELS)
            ):
                found.append(group)
            else:
                rest.append(group)
    lines = list(found)
    for group in rest:
        if (
            group.chars >= 2
            and len(group.members) >= 2
            and group.pixels >= SAME_FONT_PIXELS
            and group.vertical >= SAME_FONT_VERTICAL
            and group.density >= SAME_FONT_DENSITY
            and any(
                _same_font(group, line) and group.contrast >= 0.5 * line.contrast and _beside(group, line, image.shape)
                for line in lines
            )
        ):
            found.append(group)
    return merge_overlapping([_character_bodies(image, g) for g in found])


def _same_font(group: _Group, line: _Group) -> bool:
    return (
        max(group.height, line.height) <= SAME_FONT_HEIGHT * min(group.height, line.height)
        and abs(group.level - line.level) <= SAME_FONT_LEVEL
    )


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


def _text_groups(image: Views, offsets: tuple[int, ...], exclude: np.ndarray | None = None) -> list[_Group]:
    """Candidate lines of one pass: stroke components of a character's height
    joined into lines (`_group_into_lines`), those that can pass a rule of
    `text_lines` (two characters or more, the box tests of `_text_shape`)
    measured."""
    horizontal, vertical = image.ridges(offsets)
    strokes = (image.contrast >= TEXT_CONTRAST) & ((horizontal >= STROKE) | (vertical >= STROKE))
    if exclude is not None:
        strokes &= ~exclude
    vertical = vertical >= STROKE
    grown = cv2.dilate(strokes.astype(np.uint8), np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    low, high = CHAR_HEIGHT
    heights = stats[:, 3]
    pieces = np.flatnonzero((heights >= low) & (heights <= high) & (stats[:, 4] >= 6))
    pieces = pieces[pieces > 0]
    pieces, line = _group_into_lines(pieces, stats)
    if not pieces.size:
        return []
    count = line.max() + 1
    boxes = np.stack(
        [
            _per_line(np.minimum, stats[pieces, 0], line, count),
            _per_line(np.minimum, stats[pieces, 1], line, count),
            _per_line(np.maximum, stats[pieces, 0] + stats[pieces, 2], line, count),
            _per_line(np.maximum, stats[pieces, 1] + stats[pieces, 3], line, count),
        ],
        axis=1,
    )
    chars = np.bincount(
        line, weights=np.maximum(1, np.rint(stats[pieces, 2] / (0.75 * heights[pieces]))), minlength=count
    ).astype(np.int64)
    integral = cv2.integral(strokes.view(np.uint8))
    candidates = (chars >= 2) & _text_shape(integral, boxes)
    if candidates.any():
        candidates &= _may_pass(pieces, line, boxes, chars, labels, stats, strokes, vertical, integral, offsets)
    if not candidates.any():  # no rule in `text_lines` accepts any: skip the costlier measures
        return []
    wanted = np.zeros(n, bool)
    wanted[pieces[candidates[line]]] = True  # the components of the lines measured
    levels = _median_levels(labels, strokes, image.pixels, wanted)
    return [
        _measure(
            image,
            pieces[line == k],
            tuple(int(v) for v in boxes[k]),
            int(chars[k]),
            labels,
            stats,
            strokes,
            vertical,
            levels,
        )
        for k in np.flatnonzero(candidates)
    ]


def _may_pass(pieces, line, boxes, chars, labels, stats, strokes, vertical, integral, offsets) -> np.ndarray:
    """Which candidate lines can pass a rule of `text_lines` on the measures
    that need no median: stroke pixels, share of vertical strokes, density,
    members, characters and line height (the rest are asked of these only)."""
    count = len(boxes)
    pixels = np.bincount(line, weights=np.bincount(labels[strokes], minlength=len(stats))[pieces], minlength=count)
    members = np.bincount(line, minlength=count)
    x0, y0, x1, y1 = boxes.T.astype(np.int64)
    inside = _box_sums(integral, x0, y0, x1, y1)
    upright = _box_sums(cv2.integral((strokes & vertical).view(np.uint8)), x0, y0, x1, y1)
    share = np.divide(upright, inside, out=np.zeros(count), where=inside > 0)
    density = inside / ((x1 - x0) * (y1 - y0))
    least_pixels = next(p for o, _, p, _ in TEXT_PASSES if o == offsets)
    line_rule = (
        (chars >= MIN_CHARS)
        & (share >= MIN_VERTICAL)
        & (y1 - y0 >= MIN_LINE_HEIGHT)
        & ~((members == 1) & (pixels < MIN_SINGLE_PIXELS))
        & (pixels >= least_pixels)
    )
    same_font = (
        (chars >= 2)
        & (members >= 2)
        & (pixels >= SAME_FONT_PIXELS)
        & (share >= SAME_FONT_VERTICAL)
        & (density >= SAME_FONT_DENSITY)
    )
    return line_rule | same_font


def _per_line(ufunc, values: np.ndarray, line: np.ndarray, count: int) -> np.ndarray:
    """`ufunc` (np.minimum or np.maximum) of `values` over each line's members."""
    out = np.full(count, values.max() if ufunc is np.minimum else values.min(), values.dtype)
    ufunc.at(out, line, values)
    return out


def _measure(image: Views, members, box, chars, labels, stats, strokes, vertical, levels) -> _Group:
    """The measures of one candidate line (`_Group`)."""
    x0, y0, x1, y1 = box
    inside = strokes[y0:y1, x0:x1]
    own = labels[y0:y1, x0:x1]
    part = np.isin(own, members) & inside
    kept = _brightest_members(members, levels)
    core = part if kept.size == members.size else np.isin(own, kept) & inside
    height = float(np.median(stats[members, 3]))
    return _Group(
        members=members,
        box=box,
        core=core,
        chars=chars,
        height=height,
        level=float(np.median(image.value[y0:y1, x0:x1][part])),
        contrast=float(np.median(image.contrast[y0:y1, x0:x1][part])),
        pixels=int(np.count_nonzero(part)),
        vertical=float(vertical[y0:y1, x0:x1][inside].mean()),
        density=float(inside.mean()),
        aligned=_aligned(members, stats),
        stroke_length=_stroke_length(part, height),
    )


def _stroke_length(part: np.ndarray, height: float) -> float:
    """Pixels of the largest 8-connected piece of the stroke pixels `part`
    (bool, a line's box), in character heights: `height` is the median height
    of the line's grown components, 2 px more than the characters'."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(part.view(np.uint8), connectivity=8)
    return float(stats[1:, cv2.CC_STAT_AREA].max()) / max(1.0, height - 2) if n > 1 else 0.0


def _median_levels(labels: np.ndarray, strokes: np.ndarray, pixels: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Median grey level of the stroke pixels of each component in `wanted`
    (bool, one per label; 0 for the others), all at once: one sort of
    (component, grey level) keys."""
    own = labels[strokes]
    keep = wanted[own]
    key = np.sort(own[keep].astype(np.int64) * 256 + pixels[strokes][keep])
    own, grey = key >> 8, (key & 255).astype(float)
    count = np.bincount(own, minlength=wanted.size)
    start = np.cumsum(count) - count
    low, high = start + (count - 1) // 2, start + count // 2
    levels = np.zeros(wanted.size)
    some = count > 0
    levels[some] = 0.5 * (grey[low[some]] + grey[high[some]])
    return levels


def _brightest_members(members: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Components whose strokes are not much darker (by TEXT_LEVEL_DROP) than
    the brightest member's (`levels`: each component's median stroke grey).
    Used for the mask of a line already accepted as a whole (pruning before
    the tests would let speckle pick its text-like subset): text is drawn in
    one colour, a tissue streak in line with it, a character's width away,
    is not."""
    if len(members) < 2:
        return members
    own = levels[members]
    return members[own >= own.max() - TEXT_LEVEL_DROP]


def _group_into_lines(pieces: np.ndarray, stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group components that sit side by side on one text line: similar height,
    overlapping rows, a gap under 1.2 character heights.

    Each component is compared with those to its right (in order of their left
    edge) up to the first one farther than 1.2 of the larger height; the pairs
    that match are joined with `scipy.sparse.csgraph.connected_components`.
    Returns the pieces in ascending label order and each one's line, lines
    numbered in the order of their lowest label.
    """
    if pieces.size == 0:
        return pieces, pieces
    order = pieces[np.argsort(stats[pieces, 0], kind="stable")]
    x, y, w, h = (stats[order, k].astype(np.int64) for k in range(4))
    n = order.size
    reach = int(np.ceil(1.2 * CHAR_HEIGHT[1]))  # no gap beyond this is under 1.2 heights
    count = np.maximum(np.searchsorted(x, x + w + reach, side="right") - np.arange(n) - 1, 0)
    start = np.cumsum(count) - count
    a = np.repeat(np.arange(n), count)
    b = a + 1 + np.arange(a.size) - np.repeat(start, count)
    high, low = np.maximum(h[a], h[b]), np.minimum(h[a], h[b])
    far = x[b] - (x[a] + w[a]) > 1.2 * high
    seen = np.cumsum(far)
    before = np.concatenate([[0], seen])[np.repeat(start, count)]  # far ones before this pair's run
    near = seen - before == 0  # the comparison stopped at the first far one
    overlap = np.minimum(y[a] + h[a], y[b] + h[b]) - np.maximum(y[a], y[b])
    join = near & (high <= 1.8 * low) & (overlap >= 0.6 * low)
    graph = coo_matrix((np.ones(int(join.sum())), (a[join], b[join])), shape=(n, n))
    _, line = connected_components(graph, directed=False)
    by_label = np.argsort(order)  # positions in `order` of the pieces, ascending label
    line, ascending = line[by_label], order[by_label]
    _, first = np.unique(line, return_index=True)
    renumber = np.empty(line.max() + 1, np.int64)
    renumber[line[np.sort(first)]] = np.arange(first.size)  # lines numbered by their lowest label
    return ascending, renumber[line]


def _box_sums(integral: np.ndarray, x0, y0, x1, y1) -> np.ndarray:
    return integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]


def _text_shape(integral: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """What tells a line of text from a band of bright speckle, for each box
    ((n, 4): x0, y0, x1, y1) given the strokes' integral image: wider than
    1.4 line heights (two characters), strokes dense inside the box and
    sparse in the 4 rows just above and below it (one row apart). (Also
    asked: many vertical strokes, see `text_lines`.)"""
    height = integral.shape[0] - 1
    x0, y0, x1, y1 = boxes.T.astype(np.int64)
    inside = _box_sums(integral, x0, y0, x1, y1)
    density = inside / ((x1 - x0) * (y1 - y0))
    above_0, above_1 = np.maximum(0, y0 - 5), np.maximum(0, y0 - 1)
    below_0, below_1 = np.minimum(height, y1 + 1), np.minimum(height, y1 + 5)
    margin_pixels = _box_sums(integral, x0, above_0, x1, above_1) + _box_sums(integral, x0, below_0, x1, below_1)
    margin_size = (above_1 - above_0 + below_1 - below_0) * (x1 - x0)
    margin = np.divide(margin_pixels, margin_size, out=np.zeros(len(boxes)), where=margin_size > 0)
    return (
        (x1 - x0 >= 1.4 * (y1 - y0))
        & (inside > 0)
        & (density >= MIN_INSIDE)
        & ((margin_size == 0) | (margin <= MAX_MARGIN * density))
    )


def _aligned(members: list[int], stats: np.ndarray) -> bool:
    """Most components share the line's top or bottom (capitals and digits do)."""
    tops = np.array([stats[i, 1] for i in members])
    bottoms = tops + np.array([stats[i, 3] for i in members])
    tolerance = max(1.0, 0.12 * float(np.median([stats[i, 3] for i in members])))
    aligned = (np.abs(tops - np.median(tops)) <= tolerance) | (np.abs(bottoms - np.median(bottoms)) <= tolerance)
    return bool(aligned.mean() >= MIN_ALIGNED)


def _character_bodies(image: Views, group: _Group) -> np.ndarray:
    """The whole characters of a line, not only their ridge pixels: pixels
    within 2 px of a stroke that stand out from the background by at least
    0.3 times the strokes' median contrast and connect to a stroke (bold
    strokes and anti-aliased edges included, tissue further away not)."""
    bx0, by0, bx1, by1 = group.box
    height, width = image.shape
    x0, y0, x1, y1 = max(0, bx0 - 3), max(0, by0 - 3), min(width, bx1 + 3), min(height, by1 + 3)
    strokes = np.zeros((y1 - y0, x1 - x0), bool)
    strokes[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = group.core
    near = cv2.dilate(strokes.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    bright = (near & (image.contrast[y0:y1, x0:x1] >= max(15.0, 0.3 * group.contrast))) | strokes
    _, labels = cv2.connectedComponents(bright.astype(np.uint8), connectivity=8)
    keep = np.unique(labels[strokes])
    part = np.zeros(image.shape, bool)
    part[y0:y1, x0:x1] = np.isin(labels, keep[keep > 0])
    return part
