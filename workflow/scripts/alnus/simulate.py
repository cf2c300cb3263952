"""Simulate a hospital's ultrasound export for the ALN-US demo study.

The demo replaces the paper's private data (Zhou et al., Radiology 2019) with a
synthetic study that has the same shape and the same problems as a real
export, small enough to train CNNs from scratch on a CPU in minutes:

* a development cohort from ``hospital_A`` and an external cohort from
  ``hospital_B``, a second site with a visible domain shift (screen size,
  gain, speckle size, pixel spacing, probe shape and UI layout);
* every image is a whole scanner screen: the B-mode image inside a dark UI with
  burned-in fake PHI, a depth ruler, settings, a logo and calipers on the lesion,
  so that the pipeline has to find and crop the B-mode region itself;
* half the images are PNG screenshots, half DICOM files whose header carries
  fake PHI and a Sequence of Ultrasound Regions that gives the B-mode rectangle;
* source folders are named after the (fake) patient, as exports often are;
* five simulated radiologists read the external cohort.

How the label is encoded
------------------------
Each patient has a latent *suspiciousness* ``s`` drawn from ``N(-d/2, 1)``
(negative) or ``N(+d/2, 1)`` (positive), so the classes overlap. Six visual
cues (size, margin, orientation, echogenicity, heterogeneity, posterior
feature) each read ``s`` plus their own noise, so that no single cue decides
the label. High values mean what a radiologist calls suspicious: a larger,
taller-than-wide, darker, heterogeneous mass with an irregular, spiculated or
microlobulated, indistinct margin and posterior shadowing; low values mean a
small oval, wider-than-tall, circumscribed, homogeneous mass with posterior
enhancement.

Determinism
-----------
All randomness comes from one :class:`numpy.random.Generator` made from
``seed`` and passed down explicitly; dates are drawn, never read from the
clock; DICOM UIDs are hashed from the seed. The same seed therefore writes
byte-identical files (with the same numpy, OpenCV and pydicom versions).

Only :func:`simulate_study` writes files; the functions it is built from
(:func:`sample_lesion`, :func:`render_bmode`, :func:`draw_screen`,
:func:`write_dicom`, :func:`simulate_readers`) work on plain objects and can be
used and tested one by one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import pandas as pd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian
from scipy.special import ndtr

__all__ = [
    "SITES",
    "READERS",
    "Site",
    "Lesion",
    "BMode",
    "Exam",
    "sample_lesion",
    "second_view",
    "render_bmode",
    "draw_screen",
    "write_dicom",
    "write_png",
    "simulate_readers",
    "simulate_clinical",
    "simulate_study",
]

US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
MANIFEST_COLUMNS = ["image", "patient_id", "label", "study_id", "site"]
# Clinical columns of the simulated manifests (config.yaml declares them under
# `clinical: variables`): per patient, drawn from their own random stream so
# that the images stay those of the image-only demo.
CLINICAL_COLUMNS = ["age", "tumour_size_mm", "birads"]
BIRADS_LEVELS = ("3", "4a", "4b", "4c", "5")
BIRADS_CUTS = (-1.5, -0.3, 0.5, 1.3)  # on the radiologist's noisy view of the latent suspiciousness

# Separation of the latent suspiciousness between classes (in SDs), the noise
# each visual cue adds on top of it, and how steeply a cue saturates. With
# these values (seed 2019, default sizes) a logistic regression on eight
# hand-made features of the cropped B-mode image (lesion size, aspect,
# darkness, heterogeneity, solidity, compactness, posterior ratio) trained on
# the development cohort reached an external AUC of 0.89, and a four-layer
# CNN trained from scratch on 128 px crops about 0.84 after 15 epochs; the
# latent itself separates the classes with an AUC of about 0.93.
LATENT_SEPARATION = 2.2
CUE_NOISE = 0.8
CUE_SLOPE = 1.1
CUES = ("size", "margin", "orientation", "echo", "heterogeneity", "posterior")


# --------------------------------------------------------------------------
# Sites
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Site:
    """How one hospital's scanner and export look.

    Sizes are (width, height) in pixels; ``speckle`` is the (lateral, axial)
    standard deviation in pixels of the point-spread function that sets the
    grain of the speckle; ``gain`` shifts the displayed brightness (1 = none);
    ``depth_cm`` is the range of imaging depths the sonographers used.
    """

    name: str
    institutions: tuple[str, ...]
    manufacturer: str
    model: str
    probe: str
    screen: tuple[int, int]
    bmode_width: tuple[int, int]
    bmode_height: tuple[int, int]
    depth_cm: tuple[float, float]
    speckle: tuple[float, float]
    gain: float
    dynamic_range_db: float
    attenuation: float
    p_sector: float
    p_rgb_dicom: float
    p_rgb_png: float
    background: tuple[int, int, int]
    text: tuple[int, int, int]
    accent: tuple[int, int, int]
    font: int
    font_scale: float
    layout: str
    id_prefix: str
    accession_prefix: str
    exam_dates: tuple[str, str]


SITES: dict[str, Site] = {
    "hospital_A": Site(
        name="hospital_A",
        institutions=("HOSPITAL SAO LUCAS DA AURORA", "AURORA BREAST IMAGING CENTRE"),
        manufacturer="SONORA MEDICAL SYSTEMS",
        model="SONORA S7",
        probe="L12-5",
        screen=(640, 480),
        bmode_width=(372, 420),
        bmode_height=(300, 360),
        depth_cm=(3.5, 4.5),
        speckle=(1.6, 0.9),
        gain=1.0,
        dynamic_range_db=42.0,
        attenuation=0.7,
        p_sector=0.1,
        p_rgb_dicom=0.15,
        p_rgb_png=0.3,
        background=(6, 6, 8),
        text=(205, 205, 205),
        accent=(120, 200, 235),
        font=cv2.FONT_HERSHEY_SIMPLEX,
        font_scale=0.4,
        layout="header_left",
        id_prefix="MRN",
        accession_prefix="ACC",
        exam_dates=("2016-01-04", "2017-12-22"),
    ),
    "hospital_B": Site(
        name="hospital_B",
        institutions=("NORTHBRIDGE WOMENS MEDICAL CENTER",),
        manufacturer="VISTAWAVE ULTRASOUND",
        model="VW-9 PRO",
        probe="9L4",
        screen=(800, 600),
        bmode_width=(480, 540),
        bmode_height=(380, 440),
        depth_cm=(4.0, 5.5),
        speckle=(2.6, 1.4),
        gain=2.0,
        dynamic_range_db=50.0,
        attenuation=0.8,
        p_sector=0.4,
        p_rgb_dicom=0.3,
        p_rgb_png=0.6,
        background=(20, 22, 30),
        text=(235, 235, 235),
        accent=(235, 220, 90),
        font=cv2.FONT_HERSHEY_PLAIN,
        font_scale=1.0,
        layout="banner_top",
        id_prefix="HB",
        accession_prefix="RX",
        exam_dates=("2018-02-05", "2018-11-30"),
    ),
}

# Five radiologists: (sensitivity, specificity) each would reach on an endless
# cohort. Their calls threshold the lesion's visible suspiciousness plus their
# own perception noise, so they agree on obvious cases and differ on others.
READERS: dict[str, tuple[float, float]] = {
    "reader_1": (0.85, 0.58),
    "reader_2": (0.73, 0.63),
    "reader_3": (0.62, 0.80),
    "reader_4": (0.78, 0.70),
    "reader_5": (0.68, 0.75),
}

# Fake names: all capitals and at least five letters, so that a leak test can
# grep for them without matching short strings that occur by chance.
FAMILY_NAMES = (
    "SILVA",
    "SANTOS",
    "OLIVEIRA",
    "PEREIRA",
    "FERREIRA",
    "ALMEIDA",
    "CARVALHO",
    "RODRIGUES",
    "MARTINS",
    "BARBOSA",
    "RIBEIRO",
    "MONTEIRO",
    "KOWALSKI",
    "NOWAKOWSKA",
    "MUELLER",
    "JOHANSSON",
    "OKAFOR",
    "TANAKA",
    "NAKAMURA",
    "ROSSINI",
    "MORENO",
    "CASTILLO",
    "HUANGFU",
    "WHITFIELD",
    "BRENNAN",
    "HARTLEY",
    "LINDQVIST",
    "PETROVA",
    "IVANOVA",
    "DUBOIS",
    "FONTAINE",
    "MORETTI",
    "KAPOOR",
    "CHATTERJEE",
    "ADEYEMI",
    "MENSAH",
    "HOFFMANN",
    "NIELSEN",
    "VARGAS",
    "QUINTERO",
)
GIVEN_NAMES = (
    "MARIA",
    "HELENA",
    "BEATRIZ",
    "FATIMA",
    "CLAUDIA",
    "SANDRA",
    "LUCIANA",
    "PATRICIA",
    "YUKIKO",
    "INGRID",
    "AMARA",
    "ELENA",
    "SOFIA",
    "MEILING",
    "GRACE",
    "JOANNA",
    "AGNIESZKA",
    "BRIGITTE",
    "ASTRID",
    "CHIOMA",
    "NADIA",
    "ROSALIND",
    "MARGARET",
    "TERESA",
    "VALENTINA",
    "ISABEL",
    "CAROLINA",
    "PRIYA",
    "ANOUK",
    "SIOBHAN",
    "DOLORES",
    "KATARINA",
    "LILIANA",
    "MIRIAM",
    "ROSEMARY",
    "YOLANDA",
)
STAFF_NAMES = (
    "DR^ESPINOZA^RAFAEL",
    "DR^WAKEFIELD^HENRY",
    "DR^YAMAMOTO^KENJI",
    "DR^ALBUQUERQUE^TIAGO",
    "DR^OSTERGAARD^LARS",
    "DR^FITZGERALD^AOIFE",
)
SONOGRAPHERS = (
    "BRAGANCA^LETICIA",
    "MCALLISTER^FIONA",
    "TREMBLAY^JOSEE",
    "KARLSSON^EBBA",
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
ANNOTATIONS = ("RADIAL", "ANTIRAD", "TRANS", "LONG", "PALPABLE", "SAG")


# --------------------------------------------------------------------------
# Lesions
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Lesion:
    """Appearance of one patient's primary tumour, shared by all its views.

    ``suspiciousness`` is the latent score; ``visible`` is the mean of the
    six cue values, i.e. what can be seen in the image (readers use it).
    The other fields are rendering parameters: ``width_frac`` is the lesion
    width as a fraction of the B-mode width; ``aspect`` is height / width
    (above 1 = taller than wide); ``echo`` is the lesion's echo level
    (fat is about 0.33, gland 1.0); ``heterogeneity`` scales its internal
    texture; ``lobulation``, ``microlobulation`` and ``spicules`` shape the
    margin; ``edge_blur`` (px at 400 px B-mode width) makes it indistinct;
    ``halo`` is an echogenic rim; ``posterior`` multiplies the echoes behind
    the lesion (< 1 shadowing, > 1 enhancement); ``calcifications`` counts
    bright foci inside.
    """

    suspiciousness: float
    visible: float
    width_frac: float
    aspect: float
    echo: float
    heterogeneity: float
    lobulation: float
    microlobulation: float
    spicules: int
    edge_blur: float
    halo: float
    posterior: float
    calcifications: int


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def sample_lesion(
    rng: np.random.Generator,
    label: int,
    *,
    separation: float = LATENT_SEPARATION,
    cue_noise: float = CUE_NOISE,
) -> Lesion:
    """Draw the appearance of a lesion for a patient with ``label``.

    Parameters
    ----------
    rng : numpy.random.Generator
    label : int
        1 for a patient with nodal metastasis, 0 without.
    separation : float
        Distance between the class means of the latent suspiciousness, in
        standard deviations; larger makes the task easier.
    cue_noise : float
        Standard deviation of each cue's own noise around the latent.

    Returns
    -------
    Lesion

    Raises
    ------
    ValueError
        If ``label`` is not 0 or 1.
    """
    if label not in (0, 1):
        raise ValueError(f"`label` must be 0 or 1, got {label!r}")
    s = float(rng.normal((label - 0.5) * separation, 1.0))
    f = {cue: s + cue_noise * float(rng.standard_normal()) for cue in CUES}
    # Map each cue to [0, 1]: 0 looks benign, 1 looks malignant.
    p = {cue: _sigmoid(CUE_SLOPE * value) for cue, value in f.items()}
    margin = p["margin"]
    return Lesion(
        suspiciousness=s,
        visible=float(np.mean(list(f.values()))),
        width_frac=0.15 + 0.20 * p["size"],
        aspect=0.50 + 0.75 * p["orientation"],
        echo=0.27 - 0.21 * p["echo"],
        heterogeneity=0.08 + 0.75 * p["heterogeneity"],
        lobulation=0.015 + 0.11 * margin,
        microlobulation=0.07 * max(0.0, margin - 0.3),
        spicules=int(round(14 * max(0.0, margin - 0.45) * 2)),
        edge_blur=0.7 + 3.5 * margin,
        halo=0.9 * max(0.0, margin - 0.4),
        # Enhancement up to x1.8 below p = 0.5, shadowing down to x0.15 above.
        posterior=math.exp(1.2 * (0.5 - p["posterior"]) if p["posterior"] < 0.5 else -3.8 * (p["posterior"] - 0.5)),
        calcifications=int(rng.poisson(6 * p["heterogeneity"] ** 3)),
    )


def second_view(rng: np.random.Generator, lesion: Lesion) -> Lesion:
    """Return the same lesion as seen in another plane (e.g. radial vs anti-radial).

    Size and shape change a little with the plane; the margin, echo pattern and
    posterior feature, which belong to the tumour, stay.
    """
    return dataclasses.replace(
        lesion,
        width_frac=float(np.clip(lesion.width_frac * rng.uniform(0.85, 1.12), 0.15, 0.35)),
        aspect=float(np.clip(lesion.aspect * rng.uniform(0.85, 1.15), 0.45, 1.35)),
    )


# --------------------------------------------------------------------------
# B-mode image
# --------------------------------------------------------------------------
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
    valid = _sector_mask(w, h, 0.36) if sector else np.ones((h, w), bool)

    # Place the lesion inside the gland, leaving room behind it for the
    # posterior feature and, for a sector, inside the narrower top.
    lw = lesion.width_frac * w
    lh = min(lesion.aspect * lw, 0.4 * h)
    lesion = dataclasses.replace(lesion, aspect=lh / lw)
    span = 0.1 if sector else 0.2
    cx = rng.uniform((0.5 - span) * w, (0.5 + span) * w)
    top, bottom = 0.30 * h + lh / 2, 0.66 * h - lh / 2
    cy = rng.uniform(top, max(top, bottom))
    mask, body = _insert_lesion(rng, echo, lesion, (cx, cy), lw, lh, scale)

    # Depth attenuation only partly compensated by the TGC.
    depth = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    echo *= np.exp(-site.attenuation * depth) * (1 + 0.3 * depth)

    # Fully developed speckle: the squared magnitude of complex Gaussian noise
    # blurred by the point-spread function multiplies the echo level. Two
    # looks are averaged (spatial compounding, as scanners do), which fills
    # the black nulls that single-look speckle would leave. Uniform draws are
    # several times cheaper than normal ones and, summed over the PSF, just
    # as Gaussian.
    sx, sy = site.speckle[0] * scale**0.5, site.speckle[1] * scale**0.5
    noise = rng.random((4, h, w), dtype=np.float32) - np.float32(0.5)
    speckle = np.zeros((h, w), np.float32)
    for component in noise:
        blurred = cv2.GaussianBlur(component, (0, 0), sigmaX=sx, sigmaY=sy)
        speckle += blurred * blurred
    # Echo levels are amplitudes: squared, fat is 10 dB and a dark lesion
    # 20 dB below the gland.
    intensity = np.maximum(echo, 1e-3) ** 2 * speckle / speckle.mean()

    # Log compression to the display's dynamic range; gain shifts it.
    db = 10 * np.log10(intensity + 1e-9) + 10 * math.log10(site.gain * gain)
    top_db = 16.0
    display = (db - (top_db - site.dynamic_range_db)) / site.dynamic_range_db
    display = np.clip(display, 0, 1) * 255
    pixels = np.clip(display, 0, 255).astype(np.uint8)
    pixels[~valid] = 0

    lesion_mask = (mask > 0.5) & valid
    # The box (what calipers measure) is the body's; spicules stick out of it.
    ys, xs = np.nonzero((body > 0.5) & valid)
    if xs.size == 0:  # a tiny lesion whose body blurred away
        ys, xs = np.nonzero(lesion_mask | (mask > 0))
    box = (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    return BMode(pixels, valid, lesion_mask, box)


# --------------------------------------------------------------------------
# Scanner screen
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Exam:
    """The fake patient and study data shown on the screen and in DICOM."""

    patient_id: str
    family: str
    given: str
    birth_date: dt.date
    institution: str
    accession: str
    exam_date: dt.date
    exam_time: str
    physician: str
    operator: str
    laterality: str
    clock: int
    depth_cm: float


def _text(img, text, org, site, *, color=None, scale=1.0, thickness=1):
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
        Screen size and layout.
    calipers : bool
        Whether the sonographer measured the lesion.

    Returns
    -------
    screen : uint8 array of shape (screen_height, screen_width, 3), RGB.
    region : (x0, y0, x1, y1)
        The B-mode rectangle in screen pixels, bounds inclusive as in the
        DICOM Sequence of Ultrasound Regions.
    """
    W, H = site.screen
    h, w = bmode.pixels.shape
    screen = np.empty((H, W, 3), np.uint8)
    screen[:] = site.background
    px_per_cm = h / exam.depth_cm
    name = f"{exam.family}, {exam.given}"
    dob = exam.birth_date
    when = exam.exam_date

    if site.layout == "header_left":
        # Three header lines at the top left; the image starts just below
        # them, sometimes only 2 px below the descenders.
        _text(screen, exam.institution, (8, 15), site)
        _text(screen, name, (8, 31), site, scale=1.1)
        _text(screen, f"ID {exam.patient_id}   DOB {dob:%d/%m/%Y}", (8, 47), site)
        date = f"{when:%d/%m/%Y}"
        _text(screen, date, (W - 8 - _text_width(date, site), 15), site)
        _text(screen, exam.exam_time, (W - 8 - _text_width(exam.exam_time, site), 31), site)
        cv2.rectangle(screen, (W - 250, 4), (W - 140, 22), site.accent, 1)
        _text(screen, "SONORA", (W - 236, 18), site, color=site.accent, scale=1.05)
        x0 = int(rng.integers(112, 150))
        y0 = 51 + int(rng.choice([2, 3, 5, 10, 16, 22]))
        settings_x, settings_y = 8, y0 + 24
        ruler_side = "right"
    else:
        # A banner across the top; ruler on the left of the image.
        cv2.rectangle(screen, (0, 0), (W - 1, 40), tuple(int(c * 1.8) for c in site.background), -1)
        line1 = f"{exam.family}^{exam.given}   {exam.patient_id}   {exam.institution}"
        # Month names from a table, not strftime's %b, which follows the locale.
        month = MONTHS[when.month - 1]
        line2 = (
            f"DOB {dob:%Y-%m-%d}  F   EXAM {when.day:02d}-{month}-{when.year}"
            f" {exam.exam_time[:5]}   ACC {exam.accession}"
        )
        _text(screen, line1, (10, 16), site)
        _text(screen, line2, (10, 34), site)
        logo_x = W - 12 - _text_width("VISTAWAVE", site)
        cv2.circle(screen, (logo_x - 12, H - 21), 7, site.accent, -1, cv2.LINE_AA)
        _text(screen, "VISTAWAVE", (logo_x, H - 16), site, color=site.accent)
        x0 = int(rng.integers(150, 200))
        y0 = 41 + int(rng.choice([2, 3, 6, 12, 20, 28]))
        settings_x, settings_y = 8, y0 + 40
        ruler_side = "left"

    # Paste the B-mode image; outside a sector the UI background stays.
    x1, y1 = x0 + w - 1, y0 + h - 1
    if x1 >= W - 40 or y1 >= H - 4:
        raise ValueError(f"B-mode image of size {w}x{h} does not fit the {W}x{H} screen of {site.name}")
    roi = screen[y0 : y1 + 1, x0 : x1 + 1]
    np.copyto(roi, bmode.pixels[..., None], where=bmode.valid[..., None])

    # Settings block and grey-scale bar.
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
    for k, line in enumerate(settings):
        _text(screen, line, (settings_x, settings_y + 16 * k), site, scale=0.9)
    bar_x = W - 22 if ruler_side == "right" else 10
    bar_y = settings_y + 16 * len(settings) if ruler_side == "left" else y0
    ramp = np.linspace(255, 0, 100).astype(np.uint8)
    screen[bar_y : bar_y + 100, bar_x : bar_x + 8] = ramp[:, None, None]

    if ruler_side == "right":
        _ruler(screen, site, x1 + 6, y0, y1, exam.depth_cm, side="right")
    else:
        _ruler(screen, site, x0 - 7, y0, y1, exam.depth_cm, side="left")
    _body_marker(screen, (40, H - 36), exam.laterality, exam.clock, site.text)
    side = "RT" if exam.laterality == "R" else "LT"
    _text(screen, side, (64, H - 14), site, scale=0.9)

    # Annotation typed by the sonographer, inside the image, away from the lesion.
    if rng.random() < 0.5:
        note = f"{side} BR {exam.clock}H {rng.integers(1, 6)}CMFN {rng.choice(ANNOTATIONS)}"
        lx, _, lw, _ = bmode.lesion_box
        tw = _text_width(note, site)
        nx = x0 + 10 if lx + lw / 2 > w / 2 else x1 - 10 - tw
        _text(screen, note, (max(x0 + 4, nx), y1 - 12), site)
    # Or a label just below the image, its capitals 1 to 3 px from the edge.
    elif rng.random() < 0.5 and y1 + 16 < H:
        cap = cv2.getTextSize("B", site.font, site.font_scale, 1)[0][1]
        _text(screen, f"{side} BREAST", (x0 + 6, y1 + 1 + cap + int(rng.integers(0, 3))), site)

    if calipers:
        lengths = _calipers(screen, bmode.lesion_box, (x0, y0), site.accent, rng)
        if ruler_side == "right":
            mx, my = 8, H - 84
        elif W - x1 >= 90:
            mx, my = x1 + 8, H - 60
        else:
            mx, my = x0 + 100, H - 28
        for k, px in enumerate(lengths):
            _text(screen, f"{k + 1} D {px / px_per_cm:.2f}cm", (mx, my + 16 * k), site, color=site.accent, scale=0.9)
    return screen, (x0, y0, x1, y1)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------
def _uid(seed: int, *parts: object) -> str:
    """A DICOM UID hashed from the seed and ``parts``: the same inputs give
    the same UID, so reruns are byte-identical.

    The "2.25." root takes a 128-bit number (ISO/IEC 9834-8); here it is a
    SHA-256 prefix. (pydicom's ``generate_uid(prefix=None)`` ignores its
    entropy sources and returns a random UUID, so it cannot be used.)
    """
    text = "|".join(["alnus.simulate", str(seed), *map(str, parts)])
    return f"2.25.{int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], 'big')}"


def write_png(path: Path, pixels: np.ndarray) -> None:
    """Write a grey (h, w) or RGB (h, w, 3) uint8 array as a PNG screenshot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), pixels, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
        raise OSError(f"could not write {path}")


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    exam: Exam,
    *,
    region: tuple[int, int, int, int],
    delta_cm: float,
    site: Site,
    uids: tuple[str, str, str],
    instance: int = 1,
) -> Dataset:
    """Write an ultrasound screen as a DICOM file (US Image Storage).

    Parameters
    ----------
    path : Path
    pixels : uint8 array of shape (h, w) (MONOCHROME2) or (h, w, 3) (RGB)
    exam : Exam
        Fake PHI for the header.
    region : (x0, y0, x1, y1)
        The B-mode rectangle, bounds inclusive; written to the Sequence of
        Ultrasound Regions.
    delta_cm : float
        Physical size of a pixel in cm (square pixels).
    site : Site
    uids : (study, series, sop instance) UIDs
    instance : int
        Instance number within the series.

    Returns
    -------
    pydicom.Dataset
        What was written.
    """
    study_uid, series_uid, sop_uid = uids
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = US_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID = US_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    date = f"{exam.exam_date:%Y%m%d}"
    time = exam.exam_time.replace(":", "")
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = time
    ds.AccessionNumber = exam.accession
    ds.Modality = "US"
    ds.Manufacturer = site.manufacturer
    ds.InstitutionName = exam.institution
    ds.ReferringPhysicianName = exam.physician
    ds.StudyDescription = "US BREAST"
    ds.OperatorsName = exam.operator
    ds.ManufacturerModelName = site.model
    ds.PatientName = f"{exam.family}^{exam.given}"
    ds.PatientID = exam.patient_id
    ds.PatientBirthDate = f"{exam.birth_date:%Y%m%d}"
    ds.PatientSex = "F"
    ds.BodyPartExamined = "BREAST"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance
    ds.ImageLaterality = exam.laterality
    ds.BurnedInAnnotation = "YES"

    x0, y0, x1, y1 = region
    item = Dataset()
    item.RegionSpatialFormat = 1  # 2D tissue image
    item.RegionDataType = 1  # tissue
    item.RegionFlags = 0
    item.RegionLocationMinX0 = x0
    item.RegionLocationMinY0 = y0
    item.RegionLocationMaxX1 = x1
    item.RegionLocationMaxY1 = y1
    item.ReferencePixelX0 = (x1 - x0) // 2
    item.ReferencePixelY0 = 0
    item.PhysicalUnitsXDirection = 3  # cm
    item.PhysicalUnitsYDirection = 3
    item.ReferencePixelPhysicalValueX = 0.0
    item.ReferencePixelPhysicalValueY = 0.0
    item.PhysicalDeltaX = float(delta_cm)
    item.PhysicalDeltaY = float(delta_cm)
    ds.SequenceOfUltrasoundRegions = Sequence([item])

    rgb = pixels.ndim == 3
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()

    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return ds


# --------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------
def re_export(pixels: np.ndarray) -> np.ndarray:
    """The same frame as a second export, as a scanner or PACS might write
    it: cut by 2-3 px, resized by 0.9, through JPEG at quality 80, and 6 grey
    levels brighter. A near-duplicate of `pixels` ((H, W) uint8) for the
    duplicate finder's tests and benchmark."""
    h, w = pixels.shape
    cut = pixels[3 : h - 1, 2 : w - 3]
    small = cv2.resize(cut, (int(cut.shape[1] * 0.9), int(cut.shape[0] * 0.9)), interpolation=cv2.INTER_AREA)
    _, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return np.clip(cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE).astype(np.int16) + 6, 0, 255).astype(np.uint8)


def simulate_readers(
    rng: np.random.Generator,
    images: pd.DataFrame,
    *,
    readers: dict[str, tuple[float, float]] = READERS,
    separation: float = LATENT_SEPARATION,
    cue_noise: float = CUE_NOISE,
) -> pd.DataFrame:
    """Simulate radiologists' calls on test images.

    Each reader sees the lesion's visible suspiciousness plus their own
    perception noise and calls it positive above their threshold. Noise and
    threshold are solved from the reader's target (sensitivity, specificity)
    for the cohort's class-conditional distribution of ``visible``
    (normal, means +-separation/2, variance 1 + cue_noise**2 / 6).

    Parameters
    ----------
    rng : numpy.random.Generator
    images : DataFrame with columns ``image`` and ``visible``
    readers : dict name -> (sensitivity, specificity)

    Returns
    -------
    DataFrame with columns ``image``, ``reader``, ``call``, ``score`` (long
    format). ``score`` is the reader's confidence on a 0-100 scale, the
    normal probability of what they saw relative to their own threshold
    (call 1 exactly where score > 50), as a reader rating probability of
    malignancy would give it.

    Raises
    ------
    ValueError
        If a target pair is not reachable with this class separation.
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf
    sd_visible = math.sqrt(1 + cue_noise**2 / len(CUES))
    rows = []
    for name, (sens, spec) in readers.items():
        total = z(sens) + z(spec)
        if total <= 0 or total > separation / sd_visible:
            raise ValueError(
                f"reader {name!r}: sensitivity {sens} with specificity {spec} is not reachable "
                f"with separation {separation}; lower one of them"
            )
        sd_total = separation / total
        noise = math.sqrt(max(0.0, sd_total**2 - sd_visible**2))
        threshold = separation / 2 - z(sens) * sd_total
        seen = images["visible"].to_numpy() + rng.normal(0, noise, size=len(images))
        scores = np.round(100 * ndtr((seen - threshold) / sd_total), 1)
        calls = (scores > 50).astype(int)  # from the rounded score, so that the two always agree
        rows.append(pd.DataFrame({"image": images["image"].to_numpy(), "reader": name, "call": calls, "score": scores}))
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------
# Study
# --------------------------------------------------------------------------
def _date_between(rng: np.random.Generator, first: str, last: str) -> dt.date:
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return a + dt.timedelta(days=int(rng.integers(0, (b - a).days + 1)))


def _make_exams(rng: np.random.Generator, site: Site, names: list[tuple[str, str]], used_ids: set[str]) -> list[Exam]:
    """Fake patients and their breast US studies for one site."""
    exams = []
    digits = 7 if site.id_prefix == "MRN" else 8  # IDs of 10 characters either way
    for family, given in names:
        while True:
            pid = f"{site.id_prefix}{int(rng.integers(10 ** (digits - 1), 10**digits))}"
            if pid not in used_ids:
                used_ids.add(pid)
                break
        exam_date = _date_between(rng, *site.exam_dates)
        age_days = int(rng.uniform(30, 82) * 365.25)
        while True:
            accession = (
                f"{site.accession_prefix}{exam_date:%Y}{int(rng.integers(10**5, 10**6))}"
                if site.accession_prefix == "ACC"
                else f"{site.accession_prefix}{int(rng.integers(10**7, 10**8))}"
            )
            if accession not in used_ids:
                used_ids.add(accession)
                break
        exams.append(
            Exam(
                patient_id=pid,
                family=family,
                given=given,
                birth_date=exam_date - dt.timedelta(days=age_days),
                institution=str(rng.choice(site.institutions)),
                accession=accession,
                exam_date=exam_date,
                exam_time=f"{int(rng.integers(7, 19)):02d}:{int(rng.integers(0, 60)):02d}:{int(rng.integers(0, 60)):02d}",
                physician=str(rng.choice(STAFF_NAMES)),
                operator=str(rng.choice(SONOGRAPHERS)),
                laterality=str(rng.choice(["L", "R"])),
                clock=int(rng.integers(1, 13)),
                depth_cm=float(rng.choice(np.arange(site.depth_cm[0], site.depth_cm[1] + 0.01, 0.5))),
            )
        )
    return exams


def _folder(site: Site, exam: Exam) -> str:
    """Source folder named after the patient, as many exports do."""
    if site.name == "hospital_A":
        return f"{exam.patient_id}_{exam.family}_{exam.given}"
    return f"{exam.family}_{exam.given}_{exam.patient_id}"


def _simulate_cohort(rng, site, *, cohort, n_images, prevalence, images_per_patient, names, used_ids, out_dir, seed):
    """Render and write one cohort; returns (manifest, per-image records, exams)."""
    n_patients = max(2, min(n_images, round(n_images / images_per_patient)))
    n_pos = min(n_patients - 1, max(1, round(prevalence * n_patients)))
    labels = rng.permutation(np.r_[np.ones(n_pos, int), np.zeros(n_patients - n_pos, int)])
    views = np.ones(n_patients, int)
    views[rng.choice(n_patients, size=n_images - n_patients, replace=False)] = 2
    exams = _make_exams(rng, site, names[:n_patients], used_ids)
    # Exactly half the images are DICOM; the format is chosen per study, as a
    # site exports a study one way (two-image studies count twice).
    order = rng.permutation(n_patients)
    is_dicom = np.zeros(n_patients, bool)
    budget = n_images // 2
    for i in order:
        if views[i] <= budget:
            is_dicom[i] = True
            budget -= views[i]

    images_dir = out_dir / cohort / "images"
    rows, records = [], []
    for i, (exam, label) in enumerate(zip(exams, labels)):
        lesion = sample_lesion(rng, int(label))
        folder = _folder(site, exam)
        series_uid = _uid(seed, site.name, exam.accession, "series")
        study_uid = _uid(seed, site.name, exam.accession, "study")
        rgb = rng.random() < (site.p_rgb_dicom if is_dicom[i] else site.p_rgb_png)
        for v in range(views[i]):
            view = lesion if v == 0 else second_view(rng, lesion)
            size = (int(rng.integers(*site.bmode_width)), int(rng.integers(*site.bmode_height)))
            bmode = render_bmode(
                rng, view, size, site=site, sector=bool(rng.random() < site.p_sector), gain=float(rng.uniform(0.9, 1.1))
            )
            screen, region = draw_screen(rng, bmode, exam, site=site, calipers=bool(rng.random() < 0.75))
            pixels = screen if rgb else cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY)
            prefix = "US" if site.name == "hospital_A" else "IMG"
            relative = f"{folder}/{prefix}_{v + 1:04d}.{'dcm' if is_dicom[i] else 'png'}"
            if is_dicom[i]:
                write_dicom(
                    images_dir / relative,
                    pixels,
                    exam,
                    region=region,
                    delta_cm=exam.depth_cm / size[1],
                    site=site,
                    uids=(study_uid, series_uid, _uid(seed, site.name, exam.accession, v)),
                    instance=v + 1,
                )
            else:
                write_png(images_dir / relative, pixels)
            rows.append(
                {
                    "image": relative,
                    "patient_id": exam.patient_id,
                    "label": int(label),
                    "study_id": exam.accession,
                    "site": site.name,
                }
            )
            records.append(
                {
                    "image": relative,
                    "label": int(label),
                    "region": region,
                    "lesion_box": bmode.lesion_box,
                    "suspiciousness": lesion.suspiciousness,
                    "visible": lesion.visible,
                    "dicom": bool(is_dicom[i]),
                }
            )
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    (out_dir / cohort).mkdir(parents=True, exist_ok=True)
    manifest.to_csv(out_dir / cohort / "manifest.csv", index=False)
    return manifest, records, exams


def simulate_clinical(rng: np.random.Generator, manifest: pd.DataFrame, records: list[dict]) -> pd.DataFrame:
    """Clinical columns of one simulated cohort, one draw per patient.

    Age (years) is younger with metastasis (mean 52 vs 57, SD 11; 25-95,
    so that a few exceed 89 and are top-coded in results/), tumour size (mm)
    larger (log-normal, median 22 vs 15 mm; 4-80 mm), and the BI-RADS
    category (3, 4a, 4b, 4c, 5) is a radiologist's reading of the lesion's
    latent suspiciousness with noise of SD 1, so it overlaps with what the
    images show, as a real BI-RADS reading does.

    Parameters
    ----------
    rng : numpy.random.Generator (its own stream, not the images').
    manifest : the cohort's manifest (image, patient_id, label, ...).
    records : per image, with "image" and "suspiciousness".

    Returns
    -------
    `manifest` with CLINICAL_COLUMNS appended (the same values for every
    image of a patient).
    """
    suspicious = dict(zip((r["image"] for r in records), (r["suspiciousness"] for r in records)))
    patients = manifest.drop_duplicates("patient_id")
    label = patients["label"].to_numpy()
    n = len(patients)
    age = np.clip(np.round(rng.normal(57 - 5 * label, 11)), 25, 95).astype(int)
    size = np.clip(np.round(np.exp(rng.normal(np.log(15) + 0.4 * label, 0.4)), 1), 4, 80)
    reading = patients["image"].map(suspicious).to_numpy(float) + rng.normal(0, 1.0, n)
    birads = np.array(BIRADS_LEVELS)[np.searchsorted(BIRADS_CUTS, reading)]
    values = pd.DataFrame(
        {"patient_id": patients["patient_id"].to_numpy(), "age": age, "tumour_size_mm": size, "birads": birads}
    )
    return manifest.merge(values, on="patient_id", how="left", validate="many_to_one")


def _phi(cohorts: dict[str, tuple[pd.DataFrame, list[Exam]]]) -> dict[str, list[str]]:
    """Every fake PHI string used, by kind (DICOM spellings for dates)."""
    kinds: dict[str, set[str]] = {
        k: set()
        for k in (
            "patient_names",
            "family_names",
            "given_names",
            "patient_ids",
            "birth_dates",
            "exam_dates",
            "institutions",
            "accession_numbers",
            "physicians",
            "operators",
            "source_folders",
            "source_paths",
        )
    }
    for manifest, exams in cohorts.values():
        for e in exams:
            kinds["patient_names"].add(f"{e.family}^{e.given}")
            kinds["family_names"].add(e.family)
            kinds["given_names"].add(e.given)
            kinds["patient_ids"].add(e.patient_id)
            kinds["birth_dates"].add(f"{e.birth_date:%Y%m%d}")
            kinds["exam_dates"].add(f"{e.exam_date:%Y%m%d}")
            kinds["institutions"].add(e.institution)
            kinds["accession_numbers"].add(e.accession)
            kinds["physicians"].add(e.physician)
            kinds["operators"].add(e.operator)
        for image in manifest["image"]:
            kinds["source_folders"].add(image.split("/")[0])
            kinds["source_paths"].add(image)
    return {k: sorted(v) for k, v in kinds.items()}


def simulate_study(
    out_dir: str | Path,
    *,
    seed: int = 2019,
    n_development: int = 300,
    n_external: int = 80,
) -> dict:
    """Simulate the demo study: two sites' exports, readers and a PHI list.

    Writes::

        out_dir/development/manifest.csv   image, patient_id, label, study_id, site,
                                           age, tumour_size_mm, birads (simulate_clinical)
        out_dir/development/images/<patient folder>/US_0001.dcm|png ...
        out_dir/external/manifest.csv
        out_dir/external/images/<patient folder>/IMG_0001.dcm|png ...
        out_dir/readers.csv                image, reader, call (external images)
        out_dir/phi.json                   {kind: [every fake PHI string used]}

    The development cohort (``hospital_A``) has about 1.36 images per patient
    and 40% positive patients; the external cohort (``hospital_B``) about 1.03
    and 50%. Half of each cohort's images are DICOM, half PNG, chosen per
    study. In DICOM files the B-mode rectangle is the first item of the
    Sequence of Ultrasound Regions, bounds inclusive; PNGs carry no metadata.

    ``phi.json`` maps each kind of fake PHI (``patient_names`` as
    ``FAMILY^GIVEN``, ``family_names``, ``given_names``, ``patient_ids``,
    ``birth_dates`` and ``exam_dates`` as ``YYYYMMDD``, ``institutions``,
    ``accession_numbers`` (also the manifests' ``study_id``), ``physicians``,
    ``operators``, ``source_folders``, ``source_paths``) to the sorted list
    of every value used, for leak tests. Studies exported as PNG carry
    theirs only burned into the pixels (in the screen's own date formats).

    Existing files of the same names are overwritten; nothing else in
    ``out_dir`` is touched.

    Parameters
    ----------
    out_dir : str or Path
    seed : int
        Same seed, same bytes.
    n_development, n_external : int
        Number of images per cohort, at least 4 each (so both classes occur).

    Returns
    -------
    dict
        ``seed``, ``out_dir``, ``readers``, ``phi`` (paths) and per cohort
        (``development``, ``external``) the counts ``images``, ``patients``,
        ``positive_patients``, ``positive_images``, ``dicom``, ``png`` and the
        paths ``manifest`` and ``images_dir``.

    Raises
    ------
    ValueError
        If a cohort size is below 4.
    """
    for arg, value in (("n_development", n_development), ("n_external", n_external)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 4:
            raise ValueError(f"`{arg}` must be an integer of at least 4, got {value!r}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    clinical_rng = np.random.default_rng([seed, 17])  # its own stream: the images do not change with it
    pool = [(f, g) for f in FAMILY_NAMES for g in GIVEN_NAMES]
    n_names = n_development + n_external
    # Unique names while the pool lasts; real hospitals have namesakes beyond it.
    picks = np.concatenate([rng.permutation(len(pool)) for _ in range(n_names // len(pool) + 1)])
    names = [pool[i] for i in picks[:n_names]]

    used_ids: set[str] = set()
    cohorts, summary = {}, {"seed": seed, "out_dir": str(out_dir)}
    plan = (
        ("development", "hospital_A", n_development, 0.40, 300 / 220),
        ("external", "hospital_B", n_external, 0.50, 80 / 78),
    )
    start = 0
    for cohort, site_name, n, prevalence, per_patient in plan:
        manifest, records, exams = _simulate_cohort(
            rng,
            SITES[site_name],
            cohort=cohort,
            n_images=n,
            prevalence=prevalence,
            images_per_patient=per_patient,
            names=names[start : start + n],
            used_ids=used_ids,
            out_dir=out_dir,
            seed=seed,
        )
        start += n
        manifest = simulate_clinical(clinical_rng, manifest, records)
        manifest.to_csv(out_dir / cohort / "manifest.csv", index=False)
        cohorts[cohort] = (manifest, exams, records)
        patients = manifest.drop_duplicates("patient_id")
        summary[cohort] = {
            "images": len(manifest),
            "patients": len(patients),
            "positive_patients": int(patients["label"].sum()),
            "positive_images": int(manifest["label"].sum()),
            "dicom": int(manifest["image"].str.endswith(".dcm").sum()),
            "png": int(manifest["image"].str.endswith(".png").sum()),
            "manifest": str(out_dir / cohort / "manifest.csv"),
            "images_dir": str(out_dir / cohort / "images"),
        }

    external = pd.DataFrame(cohorts["external"][2])
    readers = simulate_readers(rng, external)
    readers.to_csv(out_dir / "readers.csv", index=False)
    phi = _phi({k: (m, e) for k, (m, e, _) in cohorts.items()})
    (out_dir / "phi.json").write_text(json.dumps(phi, indent=1) + "\n")
    summary["readers"] = str(out_dir / "readers.csv")
    summary["phi"] = str(out_dir / "phi.json")
    return summary
