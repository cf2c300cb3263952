"""Find the B-mode image on an ultrasound screen, or the lesion box, and crop to it.

Three sources of a crop, in order of trust: the DICOM ultrasound regions
(`find_bmode_box` with ``regions``), image analysis of the screen
(`find_bmode_box` without), and a lesion box from the manifest (`bbox_crop_box`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from alnus.imageio import UltrasoundRegion

TISSUE, SPATIAL_2D = 1, 1  # RegionDataType and RegionSpatialFormat codes
MIN_FRACTION = 0.10  # a B-mode region smaller than this share of the screen is not plausible


@dataclass(frozen=True)
class CropBox:
    """A crop in source pixels: columns x..x+w-1, rows y..y+h-1.

    ``method`` is "dicom_region", "image_analysis", "bbox" or "full_image";
    ``note`` says anything a reviewer should know (several regions, clipping).
    """

    x: int
    y: int
    w: int
    h: int
    method: str
    note: str = ""


def apply_crop(pixels: np.ndarray, box: CropBox) -> np.ndarray:
    """Return ``pixels[y:y+h, x:x+w]`` (a view) for array of shape (H, W) or (H, W, C).

    Raises
    ------
    ValueError
        If the box is empty or not inside the image.
    """
    height, width = pixels.shape[:2]
    if box.w <= 0 or box.h <= 0 or box.x < 0 or box.y < 0 or box.x + box.w > width or box.y + box.h > height:
        raise ValueError(f"crop box {box.x},{box.y},{box.w},{box.h} (x,y,w,h) is not inside the {width}x{height} image")
    return pixels[box.y : box.y + box.h, box.x : box.x + box.w]


def bbox_crop_box(bbox: str | Sequence[float], image_shape: tuple[int, ...], *, margin: float = 0.1) -> CropBox:
    """Crop box around a lesion box from the manifest, expanded and clipped.

    Parameters
    ----------
    bbox : str or sequence of 4 numbers
        "x,y,w,h" in source pixels; "[x, y, w, h]" (as BUS-BRA writes it) works too.
    image_shape : tuple
        ``pixels.shape``, (H, W) or (H, W, C).
    margin : float, optional
        Added on each side as a fraction of w (left, right) and h (top, bottom).

    Raises
    ------
    ValueError
        If `bbox` is not four numbers with w, h > 0, if `margin` is negative,
        or if the box lies outside the image.
    """
    values = _parse_bbox(bbox)
    if margin < 0:
        raise ValueError(f"`margin` must be >= 0, got {margin}")
    x, y, w, h = values
    height, width = image_shape[:2]
    x0 = max(0, int(np.floor(x - margin * w)))
    y0 = max(0, int(np.floor(y - margin * h)))
    x1 = min(width, int(np.ceil(x + w + margin * w)))
    y1 = min(height, int(np.ceil(y + h + margin * h)))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(
            f"bbox {bbox!r} lies outside the {width}x{height} image; check that it is x,y,w,h in source pixels"
        )
    note = f"lesion bbox {x:g},{y:g},{w:g},{h:g} expanded by {margin:g} of its size per side"
    if x - margin * w < 0 or y - margin * h < 0 or x + w + margin * w > width or y + h + margin * h > height:
        note += ", clipped to the image"
    return CropBox(x0, y0, x1 - x0, y1 - y0, "bbox", note)


def _parse_bbox(bbox: str | Sequence[float]) -> tuple[float, float, float, float]:
    expected = 'expected "x,y,w,h" (or "[x, y, w, h]") with w and h > 0, in source pixels'
    try:
        parts = re.sub(r"^\s*[\[(]|[\])]\s*$", "", bbox).split(",") if isinstance(bbox, str) else list(bbox)
        values = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)) or values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"bbox {bbox!r} is malformed; {expected}")
    return values


def find_bmode_box(pixels: np.ndarray, regions: Sequence[UltrasoundRegion] = ()) -> CropBox:
    """Bounding box of the B-mode image on an ultrasound screen. Never fails.

    With DICOM ultrasound regions, the largest 2-D tissue region is taken.
    Otherwise the screen is analysed: the B-mode image is the largest area
    densely covered by textured, non-background pixels (`_foreground`); text,
    rulers, colour bars and logos are too sparse, too flat or too small to
    count, and the empty gap around them stops the box (`_snap`, `_grow`,
    then `_trim` at the first background line next to the image). On a
    lossless screen the bottom then follows deep tissue too dark or too flat
    to count as texture, down to the first background row (`_extend_down`).
    An image that reaches three edges of the picture is taken as already
    cropped and kept whole.

    Parameters
    ----------
    pixels : ndarray of shape (H, W), uint8
    regions : sequence of UltrasoundRegion, optional

    Returns
    -------
    CropBox
        method "dicom_region", "image_analysis" or "full_image" (already
        cropped, or nothing plausible: no region of at least 10% of the
        screen); ``note`` says which, and whether there were several regions.

    Raises
    ------
    ValueError
        If `pixels` is not a non-empty 2-D uint8 array.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.size == 0 or pixels.dtype != np.uint8:
        raise ValueError(
            f"`pixels` must be a non-empty (H, W) uint8 array, got shape {pixels.shape} dtype {pixels.dtype}"
        )
    tissue = [r for r in regions if r.data_type == TISSUE and r.spatial_format == SPATIAL_2D]
    if tissue:
        box = _region_box(tissue, pixels.shape)
        if box is not None:
            return box
    note = "no usable 2-D tissue region in the DICOM; " if regions else ""
    return _analyse(pixels, note)


def _region_box(tissue: list[UltrasoundRegion], shape: tuple[int, int]) -> CropBox | None:
    height, width = shape
    # Largest first; ties to the leftmost, then topmost.
    best = min(tissue, key=lambda r: (-r.area, r.x0, r.y0))
    x0, y0 = max(0, best.x0), max(0, best.y0)
    x1, y1 = min(width - 1, best.x1), min(height - 1, best.y1)
    if x1 < x0 or y1 < y0:
        return None
    notes = [f"{len(tissue)} tissue regions; took the largest"] if len(tissue) > 1 else []
    if (x0, y0, x1, y1) != (best.x0, best.y0, best.x1, best.y1):
        notes.append("region clipped to the image")
    return CropBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1, "dicom_region", "; ".join(notes))


def _analyse(pixels: np.ndarray, note: str) -> CropBox:
    """Image-analysis path of `find_bmode_box`; `note` is prefixed to the box's note."""
    height, width = pixels.shape
    full = CropBox(0, 0, width, height, "full_image", note + "no plausible B-mode region found; kept the full image")
    k = int(np.clip(min(height, width) // 32, 7, 41)) | 1  # 25 px on a 1024x768 screen
    if min(height, width) < 2 * k:
        return full
    # The 3x3 grey-level range and the flat background grey, used by both
    # the foreground map and the edge maps below.
    spread = cv2.morphologyEx(pixels, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    background = _background(pixels, spread)
    fg = _foreground(pixels, spread, background)
    # Density of foreground in a k x k window: speckle is dense (>0.7); text, tick
    # marks and thin bars are sparse, and the gap between them and the image
    # lowers the density there, so they separate from the image.
    density = cv2.blur(fg * np.uint8(255), (k, k), borderType=cv2.BORDER_REPLICATE)
    core = (density >= 0.7 * 255).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=4)
    if n < 2:
        return full
    areas = stats[1:, cv2.CC_STAT_AREA]
    x, y, w, h = stats[1 + np.argmax(areas), :4]
    pieces = _split_at_gaps(fg, (x, y, x + w - 1, y + h - 1))
    mass = [int(fg[b[1] : b[3] + 1, b[0] : b[2] + 1].sum()) for b in pieces]
    views = int(np.sum(areas >= 0.5 * areas.max())) + sum(m >= 0.5 * max(mass) for m in mass) - 1
    box = _grow(fg, _snap(fg, pieces[int(np.argmax(mass))], depth=k))
    maps = _edge_maps(pixels, box, spread, background)
    box = _trim(maps, box, depth=3 * k)
    if not _lossy(maps, box):
        box = _extend_down(maps[3], box)
    x0, y0, x1, y1 = box
    if (x1 - x0 + 1) * (y1 - y0 + 1) < MIN_FRACTION * height * width:
        return full
    tx, ty = max(2, width // 100), max(2, height // 100)
    if (x0 <= tx) + (y0 <= ty) + (x1 >= width - 1 - tx) + (y1 >= height - 1 - ty) >= 3:
        # A screen has UI on at least two sides; an image that reaches three
        # edges was cropped already, and what the fourth side lacks is usually
        # dark image (deep tissue, shadow), not UI.
        return CropBox(
            0,
            0,
            width,
            height,
            "full_image",
            note + "B-mode region reaches 3 edges: already cropped; kept the full image",
        )
    if views > 1:
        note += f"dual-view screen: {views} B-mode regions, took the largest"
    return CropBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1, "image_analysis", note.rstrip("; "))


def _foreground(
    pixels: np.ndarray, spread: np.ndarray, background: int | None, *, contrast: int = 2, tolerance: int = 6
) -> np.ndarray:
    """0/1 uint8 mask (H, W) of pixels that look like B-mode image, not scanner UI;
    `spread` is the 3x3 grey-level range of `pixels`, `background` its
    `_background`.

    Scanner UI is drawn in flat colours; speckle is never flat, even where it
    is dark. A pixel is textured if its 3x3 grey-level range is at least
    `contrast`. If a flat background exists (one grey level covering >= 3% of
    the screen in flat patches), a pixel must also differ from it by more than
    `tolerance`: this drops JPEG ringing around text and the image edge, and the
    1 px by which the 3x3 range spreads past every edge. Without one (an
    already cropped image), that spread is taken back by a 3x3 erosion.
    """
    textured = (spread >= contrast).astype(np.uint8)
    if background is None:
        return cv2.erode(textured, np.ones((3, 3), np.uint8))
    if background < 16:  # a black UI: JPEG ringing is one-sided there and dark tissue must count
        tolerance = min(tolerance, 2)
    return textured & (np.abs(pixels.astype(np.int16) - background) > tolerance)


def _background(pixels: np.ndarray, spread: np.ndarray) -> int | None:
    """The screen's flat background grey: the level of most pixels whose 3x3
    range `spread` is 0, if it covers >= 3% of the screen; else None."""
    counts = np.bincount(pixels[spread == 0], minlength=256)
    return int(counts.argmax()) if counts.max() >= 0.03 * pixels.size else None


def _edge_maps(
    pixels: np.ndarray, box: tuple[int, int, int, int], spread: np.ndarray, background: int | None
) -> list[np.ndarray]:
    """Per side of `box` (left, top, right, bottom), a bool map (H, W) of pixels
    that look like image when that side's edge runs through them (`spread`
    and `background` as for `_foreground`).

    A pixel looks like image from the bottom if it differs from the pixel
    below it and its 1x3 range along the row is not 0 (likewise for the other
    sides), or if it is at the image's own black level. A UI background,
    flat or a gradient in one direction, never passes: a vertical gradient's
    step rows are flat along the row, a horizontal one's step columns equal
    the next row. Looking outward only, not inward, keeps the background line
    just outside the image from passing because it touches the image (the
    3x3 range of `_foreground` spreads 1 px there, which on a gradient
    background no grey-level test can take back).

    The black level is the most common grey of flat pixels inside `box`,
    used if it covers >= 1% of it and is not the background's: deep tissue
    is often flat at the scanner's black level (16 on video-range scanners),
    which a UI does not happen to share.
    """
    x0, y0, x1, y1 = box
    along_rows = cv2.morphologyEx(pixels, cv2.MORPH_GRADIENT, np.ones((1, 3), np.uint8)) > 0
    along_cols = cv2.morphologyEx(pixels, cv2.MORPH_GRADIENT, np.ones((3, 1), np.uint8)) > 0
    left, top, right, bottom = (np.zeros(pixels.shape, bool) for _ in range(4))
    left[:, 1:] = right[:, :-1] = pixels[:, 1:] != pixels[:, :-1]
    top[1:] = bottom[:-1] = pixels[1:] != pixels[:-1]
    maps = [left & along_cols, top & along_rows, right & along_cols, bottom & along_rows]
    counts = np.bincount(pixels[y0 : y1 + 1, x0 : x1 + 1][spread[y0 : y1 + 1, x0 : x1 + 1] == 0], minlength=256)
    black = int(counts.argmax())
    if counts[black] >= 0.01 * (y1 - y0 + 1) * (x1 - x0 + 1) and (background is None or abs(black - background) > 1):
        maps = [m | (pixels == black) for m in maps]
    return maps


def _line_shares(edge_map: np.ndarray, box: tuple[int, int, int, int], side: int, start: int, stop: int) -> np.ndarray:
    """Share of True in `edge_map` along lines start..stop-1 (columns for sides
    0 and 2, rows for 1 and 3), each over the box's span."""
    x0, y0, x1, y1 = box
    if side in (1, 3):
        return edge_map[start:stop, x0 : x1 + 1].mean(axis=1)
    return edge_map[y0 : y1 + 1, start:stop].mean(axis=0)


def _trim(
    maps: list[np.ndarray], box: tuple[int, int, int, int], *, depth: int, empty: float = 0.02
) -> tuple[int, int, int, int]:
    """Move each side of `box` inward past any empty line within `depth` of it.

    A label, logo or settings text close to the image can pull the density
    map, and `_grow` after it, across the gap and over itself; `_snap` misses
    it when the text is taller than its depth or as dense as the image edge.
    The gap is a line with almost no pixel that looks like image seen from
    that side (`_edge_maps`; below `empty`): <= 1% on the background lines
    next to 225 BUS-BRA images pasted into the benchmark's screens, >= 30% on
    their darkest tissue lines. An image line is empty only if flat, at a
    grey other than its black level, across the whole image.
    """
    bounds = list(box)
    for side in range(4):
        low, high = bounds[side % 2], bounds[side % 2 + 2]
        n = min(depth, (high - low + 1) // 4)
        if side < 2:  # left, top: the outer lines are low..low+n-1, the innermost last
            shares = _line_shares(maps[side], box, side, low, low + n)
            gaps = np.flatnonzero(shares < empty)
            if gaps.size:
                bounds[side] = low + int(gaps[-1]) + 1
        else:  # right, bottom: the outer lines are high-n+1..high, the innermost first
            shares = _line_shares(maps[side], box, side, high - n + 1, high + 1)
            gaps = np.flatnonzero(shares < empty)
            if gaps.size:
                bounds[side] = high - n + int(gaps[0])
    return tuple(int(v) for v in bounds)


def _lossy(maps: list[np.ndarray], box: tuple[int, int, int, int], *, floor: float = 0.1) -> bool:
    """Whether the background just outside the image's edges rings like a JPEG-compressed screen.

    JPEG leaves faint noise in the background next to every edge, which
    `_edge_maps` cannot tell from faint deep tissue; on a lossless screen the
    background next to the image is clean. For the left, right and top sides
    (the bottom is what `_extend_down` decides), takes the box's edge pixels
    that look like image (so a sector's corners, far from the image, do not
    count) and the share of them with an image-like pixel among the 2 just
    outside; lossy if the median of the three shares exceeds `floor`, so that
    text touching one side, or a top edge found inside the image, does not
    decide it (measured: <= 0.02 on 300 lossless screens, >= 0.2 at JPEG
    quality 90). With fewer than 10 such pixels on every side, lossy.
    """
    x0, y0, x1, y1 = box
    width = maps[0].shape[1]
    sides = []
    if x0 >= 2:
        sides.append((maps[0][y0 : y1 + 1, x0], maps[0][y0 : y1 + 1, x0 - 2 : x0].any(axis=1)))
    if x1 + 3 <= width:
        sides.append((maps[2][y0 : y1 + 1, x1], maps[2][y0 : y1 + 1, x1 + 1 : x1 + 3].any(axis=1)))
    if y0 >= 2:
        sides.append((maps[1][y0, x0 : x1 + 1], maps[1][y0 - 2 : y0, x0 : x1 + 1].any(axis=0)))
    shares = [outside[edge].mean() for edge, outside in sides if edge.sum() >= 10]
    return not shares or float(np.median(shares)) > floor


def _extend_down(
    bottom_map: np.ndarray, box: tuple[int, int, int, int], *, share: float = 0.25
) -> tuple[int, int, int, int]:
    """Move the bottom of `box` down over dark deep tissue that `_foreground` missed.

    Echoes weaken with depth, so the bottom of a B-mode image is often almost
    black: a few grey levels of noise, smoothed when the image was resized, or
    flat at the scanner's black level. There `_foreground` finds too little
    3x3 texture, or tissue as grey as the background, and `_grow` stops
    short. A row below the box joins while at least `share` of its pixels
    look like image from below (`bottom_map`, the bottom map of `_edge_maps`).
    The first row that fails ends the image: a label or any UI below is
    separated from the image by at least one background row, and <= 1% of
    such rows pass, against >= 30% of rows of dark tissue (measured on
    BUS-BRA images pasted into screens). Only the bottom: it is where
    attenuation darkens the image, and the sides and top have UI close by.

    Tissue exactly as black as the background (a black-level-0 scanner on a
    black screen, deep rows all 0) is invisible to this and stays cut off. A
    depth ruler beside the image would bound it, but rulers differ between
    scanners (a line with ticks, ticks only, dots inside the image as on
    BUS-BRA's own images) and some screens show none, so none is relied on.
    """
    x0, y0, x1, y1 = box
    shares = _line_shares(bottom_map, box, 3, y1 + 1, bottom_map.shape[0])
    stop = np.flatnonzero(shares < share)
    return x0, y0, x1, y1 + int(stop[0] if stop.size else shares.size)


def _split_at_gaps(fg: np.ndarray, box: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """Split a box at columns that are (almost) empty over its whole height.

    Dual-view panels a few pixels apart merge in the density map; an empty
    column through the box is the gap between them.
    """
    x0, y0, x1, y1 = box
    filled = fg[y0 : y1 + 1, x0 : x1 + 1].mean(axis=0) >= 0.03
    pieces, start = [], None
    for i, f in enumerate(np.append(filled, False)):
        if f and start is None:
            start = i
        elif not f and start is not None:
            pieces.append((x0 + start, y0, x0 + i - 1, y1))
            start = None
    return pieces or [box]


def _snap(
    fg: np.ndarray, box: tuple[int, int, int, int], *, depth: int, ratio: float = 0.5
) -> tuple[int, int, int, int]:
    """Move each side of `box` inward past any sparse line within `depth` of it.

    Text a few pixels from the image can pull the density map across the gap;
    the gap is a line much sparser than the image (not empty: JPEG ringing),
    and the image starts after it. `_grow` then restores any image lines.
    """
    x0, y0, x1, y1 = box
    sub = fg[y0 : y1 + 1, x0 : x1 + 1]
    moves = []
    for share in (sub.mean(axis=0), sub.mean(axis=1)):  # columns, then rows
        n = min(depth, len(share) // 4)
        sparse = share < ratio * np.median(share)
        head, tail = np.flatnonzero(sparse[:n]), np.flatnonzero(sparse[::-1][:n])
        moves.append((head[-1] + 1 if head.size else 0, tail[-1] + 1 if tail.size else 0))
    (left, right), (top, bottom) = moves
    return x0 + left, y0 + top, x1 - right, y1 - bottom


def _grow(
    fg: np.ndarray, box: tuple[int, int, int, int], *, ratio: float = 0.5, floor: float = 0.005
) -> tuple[int, int, int, int]:
    """Move each side of `box` outward while the next line of pixels looks like image.

    The density map puts the box a little inside the image. A line (row or
    column, over the box's current span) joins if its foreground share is

    - at least `floor`,
    - at least `ratio` times the mean of the last 3 lines taken on that side,
    - not a rise after a fall to sparse lines: once a share below 0.25 was
      taken, at most 1.5 times the smallest share taken + 0.05.

    The image's edge lines pass and sector images taper gradually, while the
    gap before text (with any JPEG ringing in it) and the sparse tick marks of
    a ruler stop the growth.
    """
    height, width = fg.shape
    total = cv2.integral(fg)  # total[y, x] = fg[:y, :x].sum()
    bounds = list(box)  # x0, y0, x1, y1

    def share(side, i):
        x0, y0, x1, y1 = bounds
        if side in (1, 3):  # a row
            return (total[i + 1, x1 + 1] - total[i, x1 + 1] - total[i + 1, x0] + total[i, x0]) / (x1 - x0 + 1)
        return (total[y1 + 1, i + 1] - total[y1 + 1, i] - total[y0, i + 1] + total[y0, i]) / (y1 - y0 + 1)

    changed = True
    while changed:
        changed = False
        for side in range(4):
            step = -1 if side < 2 else 1
            limit = width if side % 2 == 0 else height
            inside = abs(bounds[side] - bounds[(side + 2) % 4]) + 1
            taken = [share(side, bounds[side] - step * i) for i in range(min(3, inside))]
            low = min(taken)
            while 0 <= bounds[side] + step < limit:
                s = share(side, bounds[side] + step)
                if s < floor or s < ratio * np.mean(taken[-3:]) or (low < 0.25 and s > 1.5 * low + 0.05):
                    break
                bounds[side] += step
                taken.append(s)
                low = min(low, s)
                changed = True
    return tuple(int(v) for v in bounds)
