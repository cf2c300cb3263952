"""Export: the simulated scanner's files, DICOM or PNG, and their UIDs.

DICOM files are US Image Storage with the fake PHI in the header and the
B-mode rectangle in the Sequence of Ultrasound Regions; PNG screenshots carry
no metadata (their PHI is burned into the pixels) and are written by the
library's one PNG writer, :func:`alnus.imageio.write_png`. UIDs are hashed
from the seed, so that reruns are byte-identical.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from alnus.imageio import write_png
from alnus.simulate.exams import Exam
from alnus.simulate.sites import Site

__all__ = ["US_IMAGE_STORAGE", "SCREENSHOT_COMPRESSION", "hashed_uid", "write_screenshot", "write_dicom"]

US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
SCREENSHOT_COMPRESSION = 3  # zlib level of the PNG screenshots; the demo's bytes depend on it


def hashed_uid(seed: int, *parts: object) -> str:
    """A DICOM UID hashed from the seed and ``parts``: the same inputs give
    the same UID, so reruns are byte-identical.

    The "2.25." root takes a 128-bit number (ISO/IEC 9834-8); here it is a
    SHA-256 prefix. (pydicom's ``generate_uid(prefix=None)`` ignores its
    entropy sources and returns a random UUID, so it cannot be used.)
    """
    text = "|".join(["alnus.simulate", str(seed), *map(str, parts)])
    return f"2.25.{int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], 'big')}"


def write_screenshot(path: Path, pixels: np.ndarray) -> None:
    """Write a grey (h, w) or RGB (h, w, 3) uint8 screen as a PNG screenshot."""
    write_png(path, pixels, colour=True, compression=SCREENSHOT_COMPRESSION)


def _file_meta(sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = US_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def _study_header(ds: Dataset, exam: Exam, site: Site, uids: tuple[str, str, str], instance: int) -> None:
    """Patient, study, series and equipment attributes, with the fake PHI."""
    study_uid, series_uid, sop_uid = uids
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


def _ultrasound_region(region: tuple[int, int, int, int], delta_cm: float) -> Dataset:
    """The item of the Sequence of Ultrasound Regions: a 2D tissue image in
    ``region`` (x0, y0, x1, y1, bounds inclusive) with square pixels of ``delta_cm``."""
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
    return item


def _pixel_module(ds: Dataset, pixels: np.ndarray) -> None:
    """Image pixel attributes and data: MONOCHROME2 for (h, w), RGB for (h, w, 3)."""
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
    ds = Dataset()
    ds.file_meta = _file_meta(uids[2])
    ds.preamble = b"\0" * 128
    _study_header(ds, exam, site, uids, instance)
    ds.SequenceOfUltrasoundRegions = Sequence([_ultrasound_region(region, delta_cm)])
    _pixel_module(ds, pixels)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return ds
