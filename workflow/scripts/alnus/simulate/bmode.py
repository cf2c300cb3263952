"""B-mode rendering: a breast ultrasound image with one lesion.

Normal tissue (skin, fat with Cooper's ligaments, gland, retromammary fat,
pectoralis) is an echo-level map; the lesion, its halo and its posterior
feature are drawn into it; depth attenuation, fully developed speckle and log
compression to the site's dynamic range make the displayed image.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import cv2
import numpy as np

from alnus.simulate.lesions import Lesion
from alnus.simulate.sites import SITES, Site

__all__ = ["BMode", "render_bmode"]

SECTOR_HALF_ANGLE = 0.36  # radians, of the convex-probe sector
TOP_DB = 16.0  # brightest displayed echo, in dB above the gland's mean intensity


class BMode(NamedTuple):
    """A rendered B-mode image.

    pixels : uint8 array of shape (height, width), 0 outside the sector.
    valid : bool array of shape (height, width), True where there is image data.
    lesion_mask : bool array of shape (height, width).
    lesion_box : (x, y, w, h) of the lesion in B-mode pixels.
    """

    pixels: np.ndarray
    valid: np.ndarray
    lesion_mask: np.ndarray
    lesion_box: tuple[int, int, int, int]


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], scale: float, *, stretch: float = 1.0
) -> np.ndarray:
    """Zero-mean, unit-SD random field of shape (h, w) with blobs of about
    ``scale`` px (``stretch`` times wider than tall): a coarse grid of normal
    draws upsampled bicubically, which is much cheaper than a large blur."""
    h, w = shape
    gh = max(2, math.ceil(h / scale)) + 3
    gw = max(2, math.ceil(w / (scale * stretch))) + 3
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    field = cv2.resize(grid, (w + 2 * round(w / gw), h + 2 * round(h / gh)), interpolation=cv2.INTER_CUBIC)
    # Drop the border, where the bicubic kernel runs off the grid.
    oy, ox = round(h / gh), round(w / gw)
    field = field[oy : oy + h, ox : ox + w]
    return (field - field.mean()) / (field.std() + 1e-6)


def _wavy(rng: np.random.Generator, width: int, level: float, amplitude: float) -> np.ndarray:
    """A smooth random boundary: array of shape (width,) around ``level``."""
    knots = rng.standard_normal(6).astype(np.float32).reshape(1, -1)
    curve = cv2.resize(knots, (width, 1), interpolation=cv2.INTER_CUBIC)[0]
    return level + amplitude * curve


def _sector_mask(w: int, h: int, half_angle: float) -> np.ndarray:
    """Bool mask (h, w) of a convex-probe sector whose bounding box is (w, h)."""
    radius_out = (w - 1) / (2 * math.sin(half_angle))
    radius_in = radius_out - (h - 1)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = x - (w - 1) / 2, y + radius_in
    r = np.hypot(dx, dy)
    theta = np.abs(np.arctan2(dx, dy))
    return (r >= radius_in - 0.5) & (r <= radius_out + 0.5) & (theta <= half_angle + 1e-3)


def _tissue(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Echo-level map (h, w) of normal breast: skin, fat with Cooper's
    ligaments, fibroglandular tissue, retromammary fat and pectoralis."""
    y = np.arange(h, dtype=np.float32)[:, None]
    skin = max(4, round(0.02 * h))
    fat_bottom = _wavy(rng, w, rng.uniform(0.17, 0.28) * h, 0.03 * h)[None, :]
    gland_bottom = _wavy(rng, w, rng.uniform(0.74, 0.84) * h, 0.03 * h)[None, :]
    muscle_top = gland_bottom + rng.uniform(0.03, 0.06) * h

    fat = 0.33 * np.exp(0.25 * _smooth_noise(rng, (h, w), 30 * scale))
    gland = 1.0 * np.exp(0.35 * _smooth_noise(rng, (h, w), 14 * scale, stretch=3.0))
    phase = 2 * np.pi * y / (rng.uniform(7, 11) * scale)
    muscle = 0.55 * (1 + 0.45 * np.sin(phase + 0.8 * _smooth_noise(rng, (h, w), 40 * scale, stretch=3)))

    echo = np.where(y < fat_bottom, fat, gland)
    echo = np.where(y >= gland_bottom, 0.3, echo)
    echo = np.where(y >= muscle_top, muscle, echo)
    echo[:skin] = 1.8
    echo[skin : skin + max(2, skin // 2)] = 0.25
    echo = echo.astype(np.float32)

    # Cooper's ligaments: thin bright arcs crossing the fat into the gland.
    for _ in range(int(rng.integers(3, 7))):
        x0 = rng.uniform(0, w)
        xs = x0 + np.cumsum(rng.normal(0.6, 1.2, size=40)) * w / 120
        ys = np.linspace(skin * 2, float(fat_bottom.mean()) + 0.05 * h, 40)
        pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
        cv2.polylines(echo, [pts], False, 1.6, thickness=max(1, round(scale)))
    return cv2.GaussianBlur(echo, (0, 0), 1.2 * scale)


def _lesion_shape(
    rng: np.random.Generator, lesion: Lesion, center: tuple[float, float], width: float, shape: tuple[int, int]
) -> np.ndarray:
    """Float mask (h, w) in [0, 1] of the lesion outline, anti-aliased.

    The outline is an ellipse in polar form whose radius is modulated by low
    harmonics (lobulation), high harmonics (microlobulation) and narrow spikes
    (spiculation)."""
    a, b = width / 2, lesion.aspect * width / 2
    theta = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    radius = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2)
    modulation = np.zeros_like(theta)
    for k in (2, 3, 4, 5):
        modulation += lesion.lobulation * rng.normal(0, 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for k in range(8, 15):
        modulation += lesion.microlobulation * np.abs(rng.normal(0, 1)) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for angle in rng.uniform(0, 2 * np.pi, size=lesion.spicules):
        d = np.angle(np.exp(1j * (theta - angle)))
        modulation += rng.uniform(0.2, 0.55) * np.exp(-0.5 * (d / rng.uniform(0.02, 0.045)) ** 2)
    radius = radius * (1 + modulation)
    pts = np.stack([center[0] + radius * np.cos(theta), center[1] + radius * np.sin(theta)], axis=1)
    mask = np.zeros(shape, np.uint8)
    # shift=4: sub-pixel vertices, so small spikes are not lost to rounding.
    cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255


def _insert_lesion(
    rng: np.random.Generator,
    echo: np.ndarray,
    lesion: Lesion,
    center: tuple[float, float],
    lw: float,
    lh: float,
    scale: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the lesion, its halo and its posterior feature into ``echo``
    (float32, shape (h, w)) in place.

    Returns the outline mask and the body mask (the outline with spicules
    smoothed away), both float32 of shape (h, w) in [0, 1].
    """
    h, w = echo.shape
    mask = _lesion_shape(rng, lesion, center, lw, (h, w))
    blur = lesion.edge_blur * scale
    # Work in a window around the lesion and everything behind it, where the
    # large blurs below cost a fraction of what they would on the whole image.
    x, y, bw, _ = cv2.boundingRect((mask > 0).astype(np.uint8))
    margin = int(3 * (3 * blur + 2) + 0.25 * lw) + 4
    win = (slice(max(0, y - margin), h), slice(max(0, x - margin), min(w, x + bw + margin)))
    oy, ox = win[0].start, win[1].start
    m, e = mask[win], echo[win]  # views: writing to e writes to echo

    # Inside: a (possibly very) hypoechoic mass with blotchy heterogeneity and
    # a few bright microcalcifications in the suspicious ones.
    soft = cv2.GaussianBlur(m, (0, 0), blur)
    inner = lesion.echo * np.exp(lesion.heterogeneity * _smooth_noise(rng, m.shape, 9 * scale))
    for _ in range(lesion.calcifications):
        px, py = rng.normal(center[0], lw / 6) - ox, rng.normal(center[1], lh / 6) - oy
        cv2.circle(inner, (int(px), int(py)), max(1, round(1.2 * scale)), 3.0, -1)
    e[:] = e * (1 - soft) + inner * soft

    # Echogenic halo: a bright band just outside an indistinct margin.
    if lesion.halo > 0:
        rim = np.clip(cv2.GaussianBlur(m, (0, 0), 3 * blur + 2) - m, 0, 1)
        e *= 1 + 2.5 * lesion.halo * rim

    # Posterior feature: the columns behind the lesion's body are darker
    # (shadow) or brighter (enhancement); cummax along depth marks "behind",
    # the cumsum gives the distance behind the lesion for the fade-out.
    b = (cv2.GaussianBlur(m, (0, 0), 0.08 * lw) > 0.5).astype(np.float32)
    behind = np.clip(np.maximum.accumulate(b, axis=0) - np.maximum(b, m), 0, 1)
    behind = cv2.GaussianBlur(behind, (0, 0), sigmaX=0.06 * lw + 1, sigmaY=1)
    distance = np.cumsum(behind, axis=0)
    fade = np.exp(-distance / ((3.0 if lesion.posterior < 1 else 1.2) * lh))
    e *= 1 + (lesion.posterior - 1) * behind * fade

    body = np.zeros_like(mask)
    body[win] = b
    return mask, body


def _place_lesion(
    rng: np.random.Generator, lesion: Lesion, w: int, h: int, *, sector: bool
) -> tuple[Lesion, tuple[float, float], float, float]:
    """Size the lesion for a (w, h) image and place it inside the gland.

    Leaves room behind it for the posterior feature and, for a sector, inside
    the narrower top. Returns the lesion (its aspect capped so that it is at
    most 0.4 h tall), its centre (x, y), width and height in pixels.
    """
    lw = lesion.width_frac * w
    lh = min(lesion.aspect * lw, 0.4 * h)
    lesion = dataclasses.replace(lesion, aspect=lh / lw)
    span = 0.1 if sector else 0.2
    cx = rng.uniform((0.5 - span) * w, (0.5 + span) * w)
    top, bottom = 0.30 * h + lh / 2, 0.66 * h - lh / 2
    cy = rng.uniform(top, max(top, bottom))
    return lesion, (cx, cy), lw, lh


def _speckle(rng: np.random.Generator, echo: np.ndarray, site: Site, scale: float) -> np.ndarray:
    """Intensity (h, w) of ``echo`` (amplitudes, float32) under fully developed speckle.

    The squared magnitude of complex Gaussian noise blurred by the
    point-spread function multiplies the echo level. Two looks are averaged
    (spatial compounding, as scanners do), which fills the black nulls that
    single-look speckle would leave. Uniform draws are several times cheaper
    than normal ones and, summed over the PSF, just as Gaussian.
    """
    h, w = echo.shape
    sx, sy = site.speckle[0] * scale**0.5, site.speckle[1] * scale**0.5
    noise = rng.random((4, h, w), dtype=np.float32) - np.float32(0.5)
    speckle = np.zeros((h, w), np.float32)
    for component in noise:
        blurred = cv2.GaussianBlur(component, (0, 0), sigmaX=sx, sigmaY=sy)
        speckle += blurred * blurred
    # Echo levels are amplitudes: squared, fat is 10 dB and a dark lesion
    # 20 dB below the gland.
    return np.maximum(echo, 1e-3) ** 2 * speckle / speckle.mean()


def _log_compress(intensity: np.ndarray, site: Site, gain: float) -> np.ndarray:
    """Display (uint8, same shape) of ``intensity``: log compression to the
    site's dynamic range below TOP_DB; gain shifts it."""
    db = 10 * np.log10(intensity + 1e-9) + 10 * math.log10(site.gain * gain)
    display = (db - (TOP_DB - site.dynamic_range_db)) / site.dynamic_range_db
    display = np.clip(display, 0, 1) * 255
    return np.clip(display, 0, 255).astype(np.uint8)


def _lesion_box(mask: np.ndarray, body: np.ndarray, valid: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the lesion's body, which calipers measure (spicules
    stick out of it); of the whole outline when the body blurred away."""
    ys, xs = np.nonzero((body > 0.5) & valid)
    if xs.size == 0:  # a tiny lesion whose body blurred away
        ys, xs = np.nonzero(((mask > 0.5) & valid) | (mask > 0))
    return (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))


def render_bmode(
    rng: np.random.Generator,
    lesion: Lesion,
    size: tuple[int, int],
    *,
    site: Site = SITES["hospital_A"],
    sector: bool = False,
    gain: float = 1.0,
) -> BMode:
    """Render a breast B-mode image with one lesion.

    Parameters
    ----------
    rng : numpy.random.Generator
    lesion : Lesion
        What the lesion looks like.
    size : (width, height)
        Size of the B-mode rectangle in pixels.
    site : Site
        Sets the speckle grain, attenuation, dynamic range and brightness.
    sector : bool
        Convex-probe sector instead of a linear-probe rectangle; the sector
        fills the rectangle's width and height, its corners are 0.
    gain : float
        Extra per-image gain on top of the site's (sonographers vary it).

    Returns
    -------
    BMode
        ``pixels`` is a uint8 array of shape (height, width).

    Raises
    ------
    ValueError
        If ``size`` is below 64 x 64.
    """
    w, h = size
    if w < 64 or h < 64:
        raise ValueError(f"`size` must be at least (64, 64) pixels, got {size!r}")
    scale = w / 400  # structures are sized for a 400 px wide image
    echo = _tissue(rng, h, w, scale)
    valid = _sector_mask(w, h, SECTOR_HALF_ANGLE) if sector else np.ones((h, w), bool)
    lesion, center, lw, lh = _place_lesion(rng, lesion, w, h, sector=sector)
    mask, body = _insert_lesion(rng, echo, lesion, center, lw, lh, scale)

    # Depth attenuation only partly compensated by the TGC.
    depth = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    echo *= np.exp(-site.attenuation * depth) * (1 + 0.3 * depth)
    pixels = _log_compress(_speckle(rng, echo, site, scale), site, gain)
    pixels[~valid] = 0
    return BMode(pixels, valid, (mask > 0.5) & valid, _lesion_box(mask, body, valid))
