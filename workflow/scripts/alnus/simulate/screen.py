"""The scanner screen: a B-mode image inside the scanner's user interface.

A screen is drawn in parts, in this order (later parts draw over earlier
ones): the site's layout (header or banner with burned-in PHI and the logo;
it also decides where the B-mode image goes), the B-mode image, the settings
block and grey-scale bar, the depth ruler, the body marker, a typed note and
the calipers with their measurements. Layouts are named by ``Site.layout``
and listed in :data:`LAYOUTS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from alnus.checks import check_choice
from alnus.simulate.bmode import BMode
from alnus.simulate.exams import Exam
from alnus.simulate.sites import Site

__all__ = ["LAYOUTS", "MONTHS", "ANNOTATIONS", "draw_screen"]

# Month names from a table, not strftime's %b, which follows the locale.
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
ANNOTATIONS = ("RADIAL", "ANTIRAD", "TRANS", "LONG", "PALPABLE", "SAG")
LINE_HEIGHT = 16  # px between lines of the settings block and of the measurements


class Frame(NamedTuple):
    """Where a layout puts the rest of the screen: the B-mode image's top-left
    corner (x0, y0), the first line of the settings block and the side of the
    image ("left" or "right") that carries the depth ruler."""

    x0: int
    y0: int
    settings: tuple[int, int]
    ruler_side: str


def _text(img, text, org, site, *, color=None, scale=1.0, thickness=1):
    """Burn ``text`` into ``img`` at ``org`` (x, y of the baseline's start) in the site's font."""
    cv2.putText(
        img,
        text,
        (int(org[0]), int(org[1])),
        site.font,
        site.font_scale * scale,
        color or site.text,
        thickness,
        cv2.LINE_AA,
    )


def _text_width(text, site, scale=1.0):
    """Width in pixels of ``text`` in the site's font."""
    return cv2.getTextSize(text, site.font, site.font_scale * scale, 1)[0][0]


def _ruler(img, site, x, y0, y1, depth_cm, *, side):
    """Depth ruler: a vertical line with a tick every 0.5 cm and a label every cm."""
    color = site.text
    cv2.line(img, (x, y0), (x, y1), color, 1)
    step = (y1 - y0) / depth_cm
    sign = 1 if side == "right" else -1
    for k in range(int(depth_cm * 2) + 1):
        yy = int(round(y0 + k * step / 2))
        major = k % 2 == 0
        cv2.line(img, (x, yy), (x + sign * (6 if major else 3), yy), color, 1)
        if major and k:
            label = str(k // 2)
            tx = x + 9 if side == "right" else x - 9 - _text_width(label, site, 0.8)
            _text(img, label, (tx, yy + 4), site, scale=0.8)


def _body_marker(img, center, laterality, clock, color):
    """Breast pictogram with the probe position, as scanners print it."""
    cx, cy = center
    cv2.circle(img, (cx, cy), 16, color, 1, cv2.LINE_AA)
    cv2.circle(img, (cx, cy), 2, color, -1, cv2.LINE_AA)
    angle = math.radians(90 - 30 * clock)
    px, py = cx + 10 * math.cos(angle), cy - 10 * math.sin(angle)
    dx, dy = 6 * math.sin(angle), 6 * math.cos(angle)
    cv2.line(img, (int(px - dx), int(py - dy)), (int(px + dx), int(py + dy)), color, 2)


def _calipers(img, box, offset, color, rng):
    """'+' marks on the lesion's borders joined by dotted lines, and the
    measured lengths in pixels (horizontal, vertical)."""
    x, y, w, h = box
    ox, oy = offset
    pairs = [((x, y + h / 2), (x + w - 1, y + h / 2))]
    if rng.random() < 0.75:
        pairs.append(((x + w / 2, y), (x + w / 2, y + h - 1)))
    for a, b in pairs:
        a = (a[0] + ox + rng.normal(0, 1), a[1] + oy + rng.normal(0, 1))
        b = (b[0] + ox + rng.normal(0, 1), b[1] + oy + rng.normal(0, 1))
        for px, py in (a, b):
            px, py = int(round(px)), int(round(py))
            cv2.line(img, (px - 4, py), (px + 4, py), color, 1)
            cv2.line(img, (px, py - 4), (px, py + 4), color, 1)
        n = max(2, int(math.hypot(b[0] - a[0], b[1] - a[1]) / 5))
        for t in np.linspace(0, 1, n)[1:-1]:
            px, py = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
            cv2.circle(img, (int(round(px)), int(round(py))), 0, color, -1)
    return [w, h][: len(pairs)]


def _header_left(screen: np.ndarray, rng: np.random.Generator, exam: Exam, site: Site) -> Frame:
    """Three header lines at the top left, date and time at the top right, the
    logo boxed between them; the image starts just below, sometimes only 2 px
    below the descenders; ruler on the right of the image."""
    W = site.screen[0]
    _text(screen, exam.institution, (8, 15), site)
    _text(screen, f"{exam.family}, {exam.given}", (8, 31), site, scale=1.1)
    _text(screen, f"ID {exam.patient_id}   DOB {exam.birth_date:%d/%m/%Y}", (8, 47), site)
    date = f"{exam.exam_date:%d/%m/%Y}"
    _text(screen, date, (W - 8 - _text_width(date, site), 15), site)
    _text(screen, exam.exam_time, (W - 8 - _text_width(exam.exam_time, site), 31), site)
    cv2.rectangle(screen, (W - 250, 4), (W - 140, 22), site.accent, 1)
    _text(screen, site.logo, (W - 236, 18), site, color=site.accent, scale=1.05)
    x0 = int(rng.integers(112, 150))
    y0 = 51 + int(rng.choice([2, 3, 5, 10, 16, 22]))
    return Frame(x0, y0, (8, y0 + 24), "right")


def _banner_top(screen: np.ndarray, rng: np.random.Generator, exam: Exam, site: Site) -> Frame:
    """A lighter banner of two lines across the top, the logo at the bottom
    right; ruler on the left of the image."""
    W, H = site.screen
    cv2.rectangle(screen, (0, 0), (W - 1, 40), tuple(int(c * 1.8) for c in site.background), -1)
    when = exam.exam_date
    line1 = f"{exam.family}^{exam.given}   {exam.patient_id}   {exam.institution}"
    line2 = (
        f"DOB {exam.birth_date:%Y-%m-%d}  F   EXAM {when.day:02d}-{MONTHS[when.month - 1]}-{when.year}"
        f" {exam.exam_time[:5]}   ACC {exam.accession}"
    )
    _text(screen, line1, (10, 16), site)
    _text(screen, line2, (10, 34), site)
    logo_x = W - 12 - _text_width(site.logo, site)
    cv2.circle(screen, (logo_x - 12, H - 21), 7, site.accent, -1, cv2.LINE_AA)
    _text(screen, site.logo, (logo_x, H - 16), site, color=site.accent)
    x0 = int(rng.integers(150, 200))
    y0 = 41 + int(rng.choice([2, 3, 6, 12, 20, 28]))
    return Frame(x0, y0, (8, y0 + 40), "left")


LAYOUTS: dict[str, Callable[[np.ndarray, np.random.Generator, Exam, Site], Frame]] = {
    "header_left": _header_left,
    "banner_top": _banner_top,
}


def _paste_bmode(screen: np.ndarray, bmode: BMode, frame: Frame, site: Site) -> tuple[int, int, int, int]:
    """Paste the B-mode image at the frame's corner (outside a sector the UI
    background stays); return its region (x0, y0, x1, y1), bounds inclusive."""
    W, H = site.screen
    h, w = bmode.pixels.shape
    x0, y0 = frame.x0, frame.y0
    x1, y1 = x0 + w - 1, y0 + h - 1
    if x1 >= W - 40 or y1 >= H - 4:
        raise ValueError(f"B-mode image of size {w}x{h} does not fit the {W}x{H} screen of {site.name}")
    roi = screen[y0 : y1 + 1, x0 : x1 + 1]
    np.copyto(roi, bmode.pixels[..., None], where=bmode.valid[..., None])
    return x0, y0, x1, y1


def _settings(screen: np.ndarray, rng: np.random.Generator, frame: Frame, exam: Exam, site: Site) -> None:
    """The settings block (probe, frequency, gain, ...) and the grey-scale bar
    (below the settings on the left, beside the image's top on the right)."""
    gain_db = int(rng.integers(48, 66))
    settings = [
        site.probe,
        f"{rng.choice([10.0, 12.0, 13.5]):.1f}MHz",
        f"Gn {gain_db}",
        f"DR {int(site.dynamic_range_db + 20)}",
        f"FR {int(rng.integers(14, 32))}",
        f"D {exam.depth_cm:.1f}cm",
        f"MI {rng.uniform(0.6, 1.3):.1f}",
        "TIs 0.1",
    ]
    settings_x, settings_y = frame.settings
    for k, line in enumerate(settings):
        _text(screen, line, (settings_x, settings_y + LINE_HEIGHT * k), site, scale=0.9)
    bar_x = site.screen[0] - 22 if frame.ruler_side == "right" else 10
    bar_y = settings_y + LINE_HEIGHT * len(settings) if frame.ruler_side == "left" else frame.y0
    ramp = np.linspace(255, 0, 100).astype(np.uint8)
    screen[bar_y : bar_y + 100, bar_x : bar_x + 8] = ramp[:, None, None]


def _note(
    screen: np.ndarray,
    rng: np.random.Generator,
    bmode: BMode,
    region: tuple[int, int, int, int],
    exam: Exam,
    site: Site,
) -> None:
    """Half the time a note typed by the sonographer inside the image, away
    from the lesion; else, half the time, a label just below the image, its
    capitals 1 to 3 px from the edge."""
    x0, _, x1, y1 = region
    side = _side(exam)
    if rng.random() < 0.5:
        note = f"{side} BR {exam.clock}H {rng.integers(1, 6)}CMFN {rng.choice(ANNOTATIONS)}"
        lx, _, lw, _ = bmode.lesion_box
        tw = _text_width(note, site)
        nx = x0 + 10 if lx + lw / 2 > bmode.pixels.shape[1] / 2 else x1 - 10 - tw
        _text(screen, note, (max(x0 + 4, nx), y1 - 12), site)
    elif rng.random() < 0.5 and y1 + 16 < site.screen[1]:
        cap = cv2.getTextSize("B", site.font, site.font_scale, 1)[0][1]
        _text(screen, f"{side} BREAST", (x0 + 6, y1 + 1 + cap + int(rng.integers(0, 3))), site)


def _side(exam: Exam) -> str:
    return "RT" if exam.laterality == "R" else "LT"


def _measurements(
    screen: np.ndarray,
    rng: np.random.Generator,
    bmode: BMode,
    region: tuple[int, int, int, int],
    frame: Frame,
    exam: Exam,
    site: Site,
) -> None:
    """Calipers on the lesion and the lengths they measured, in cm, in a free
    corner of the screen."""
    W, H = site.screen
    x0, y0, x1, _ = region
    lengths = _calipers(screen, bmode.lesion_box, (x0, y0), site.accent, rng)
    if frame.ruler_side == "right":
        mx, my = 8, H - 84
    elif W - x1 >= 90:
        mx, my = x1 + 8, H - 60
    else:
        mx, my = x0 + 100, H - 28
    px_per_cm = bmode.pixels.shape[0] / exam.depth_cm
    for k, px in enumerate(lengths):
        text = f"{k + 1} D {px / px_per_cm:.2f}cm"
        _text(screen, text, (mx, my + LINE_HEIGHT * k), site, color=site.accent, scale=0.9)


def draw_screen(
    rng: np.random.Generator,
    bmode: BMode,
    exam: Exam,
    *,
    site: Site,
    calipers: bool = True,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Compose a scanner screen around a B-mode image.

    Draws the dark UI with burned-in PHI, settings, logo, depth ruler,
    grey-scale bar and body marker in the margins, and (optionally) calipers
    with a dotted measurement line on the lesion inside the B-mode image.

    Parameters
    ----------
    rng : numpy.random.Generator
    bmode : BMode
        From :func:`render_bmode`; must fit the site's screen.
    exam : Exam
        The text to burn in.
    site : Site
        Screen size and layout (one of LAYOUTS).
    calipers : bool
        Whether the sonographer measured the lesion.

    Returns
    -------
    screen : uint8 array of shape (screen_height, screen_width, 3), RGB.
    region : (x0, y0, x1, y1)
        The B-mode rectangle in screen pixels, bounds inclusive as in the
        DICOM Sequence of Ultrasound Regions.

    Raises
    ------
    ValueError
        If the site's layout is unknown or the B-mode image does not fit its screen.
    """
    check_choice(site.layout, sorted(LAYOUTS), "`layout`", where=f"site {site.name!r}")
    W, H = site.screen
    screen = np.empty((H, W, 3), np.uint8)
    screen[:] = site.background
    frame = LAYOUTS[site.layout](screen, rng, exam, site)
    region = _paste_bmode(screen, bmode, frame, site)
    x0, y0, x1, y1 = region
    _settings(screen, rng, frame, exam, site)
    ruler_x = x1 + 6 if frame.ruler_side == "right" else x0 - 7
    _ruler(screen, site, ruler_x, y0, y1, exam.depth_cm, side=frame.ruler_side)
    _body_marker(screen, (40, H - 36), exam.laterality, exam.clock, site.text)
    _text(screen, _side(exam), (64, H - 14), site, scale=0.9)
    _note(screen, rng, bmode, region, exam, site)
    if calipers:
        _measurements(screen, rng, bmode, region, frame, exam, site)
    return screen, region
