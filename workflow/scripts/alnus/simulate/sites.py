"""The site catalogue: how each simulated hospital's scanner and export look.

Everything that differs between sites is a field of :class:`Site`, so that no
code asks which site it is working for: the screen layout is named by
``layout`` (see :data:`alnus.simulate.screen.LAYOUTS`), source folders follow
``folder_format``, image files start with ``file_prefix``, and patient IDs and
accession numbers follow ``patient_id_format`` and ``accession_format``.
"""

from __future__ import annotations

import dataclasses

import cv2

__all__ = ["Site", "SITES"]


@dataclasses.dataclass(frozen=True)
class Site:
    """How one hospital's scanner and export look.

    Sizes are (width, height) in pixels; ``speckle`` is the (lateral, axial)
    standard deviation in pixels of the point-spread function that sets the
    grain of the speckle; ``gain`` shifts the displayed brightness (1 = none);
    ``depth_cm`` is the range of imaging depths the sonographers used.

    The export's naming: ``folder_format`` names a patient's source folder
    (fields ``patient_id``, ``family``, ``given``); files are
    ``<file_prefix>_0001.dcm|png``; ``patient_id_format`` and
    ``accession_format`` (fields ``number``, a random number of
    ``patient_id_digits`` or ``accession_digits`` digits, and ``date``, the
    exam date) make the IDs. ``logo`` is the brand the screen shows.
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
    logo: str
    folder_format: str
    file_prefix: str
    patient_id_format: str
    patient_id_digits: int
    accession_format: str
    accession_digits: int
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
        logo="SONORA",
        folder_format="{patient_id}_{family}_{given}",
        file_prefix="US",
        patient_id_format="MRN{number}",  # 10 characters, as hospital_B's
        patient_id_digits=7,
        accession_format="ACC{date:%Y}{number}",
        accession_digits=6,
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
        logo="VISTAWAVE",
        folder_format="{family}_{given}_{patient_id}",
        file_prefix="IMG",
        patient_id_format="HB{number}",
        patient_id_digits=8,
        accession_format="RX{number}",
        accession_digits=8,
        exam_dates=("2018-02-05", "2018-11-30"),
    ),
}
