"""Tests of alnus.simulate.export: DICOM and PNG files, UIDs."""

import cv2
import numpy as np
import pydicom
import pytest
from test_simulate_screen import exam

from alnus import simulate as sim
from alnus.simulate.export import hashed_uid, write_screenshot


@pytest.mark.parametrize("rgb", [False, True])
def test_write_dicom_round_trip(tmp_path, rgb):
    site = sim.SITES["hospital_B"]
    pixels = np.arange(60 * 80 * (3 if rgb else 1), dtype=np.uint64).astype(np.uint8)
    pixels = pixels.reshape((60, 80, 3) if rgb else (60, 80))
    path = tmp_path / "TESTCASE_EXAMPLE" / "IMG_0001.dcm"
    sim.write_dicom(
        path,
        pixels,
        exam(site),
        region=(10, 5, 69, 54),
        delta_cm=0.0125,
        site=site,
        uids=("2.25.1", "2.25.2", "2.25.3"),
    )
    ds = pydicom.dcmread(path)
    assert np.array_equal(ds.pixel_array, pixels)
    assert ds.PhotometricInterpretation == ("RGB" if rgb else "MONOCHROME2")
    assert str(ds.PatientName) == "TESTCASE^EXAMPLE"
    assert ds.PatientBirthDate == "19600517"
    r = ds.SequenceOfUltrasoundRegions[0]
    assert (r.RegionLocationMinX0, r.RegionLocationMinY0, r.RegionLocationMaxX1, r.RegionLocationMaxY1) == (
        10,
        5,
        69,
        54,
    )
    assert r.PhysicalDeltaX == r.PhysicalDeltaY == 0.0125
    assert path.read_bytes()[128:132] == b"DICM"


def test_hashed_uids_are_valid_deterministic_and_distinct():
    uid = hashed_uid(2019, "hospital_A", "ACC2017123456", "study")
    assert uid == hashed_uid(2019, "hospital_A", "ACC2017123456", "study")
    assert uid.startswith("2.25.") and len(uid) <= 64 and uid[5:].isdigit()
    assert len({uid, hashed_uid(2020, "hospital_A", "ACC2017123456", "study"), hashed_uid(2019, "x", "y", 0)}) == 3


@pytest.mark.parametrize("rgb", [False, True])
def test_screenshots_have_the_bytes_of_a_level_3_cv2_png(tmp_path, rgb):
    """The demo's PNG bytes: what cv2.imwrite wrote at compression 3 before
    the screenshots went through alnus.imageio.write_png."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (48, 64, 3) if rgb else (48, 64), dtype=np.uint8)
    path = tmp_path / "P1" / "US_0001.png"
    write_screenshot(path, pixels)
    reference = tmp_path / "reference.png"
    cv2.imwrite(
        str(reference), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if rgb else pixels, [cv2.IMWRITE_PNG_COMPRESSION, 3]
    )
    assert path.read_bytes() == reference.read_bytes()
