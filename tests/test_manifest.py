"""Tests for alnus.manifest: every problem in a user's manifest or readers file
is reported at once, with the file, the line and the fix."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from alnus.manifest import MAX_LISTED, InputError, check_manifest, check_readers

HEADER = "image,patient_id,label"


def write_png(path: Path, value: int = 128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((16, 16), value, np.uint8))
    return path


@pytest.fixture
def images(tmp_path) -> Path:
    """An images folder with a.png, b.png, c.png and sub/d.png."""
    folder = tmp_path / "images"
    for name in ("a.png", "b.png", "c.png", "sub/d.png"):
        write_png(folder / name)
    return folder


def write_csv(tmp_path: Path, *lines: str, name: str = "development.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def problem(path: Path, text: str) -> str:
    """Pattern for an InputError that names `path` and lists `text` (escaped)."""
    return rf"{re.escape(str(path))} has \d+ problem\(s\):[\s\S]*{re.escape(text)}"


# --- check_manifest: good input --------------------------------------------------


def test_good_manifest_returns_int_labels_in_file_order(tmp_path, images):
    path = write_csv(tmp_path, HEADER, "a.png,P1,1", "b.png,P1,0", "sub/d.png,P2, 1")
    table = check_manifest(path, images, cohort="development")
    assert list(table["image"]) == ["a.png", "b.png", "sub/d.png"]
    assert list(table["label"]) == [1, 0, 1]
    assert table["label"].dtype.kind == "i"


def test_patient_ids_stay_text(tmp_path, images):
    path = write_csv(tmp_path, HEADER, "a.png,007,1", "b.png,0042,0")
    table = check_manifest(path, images, cohort="development")
    assert list(table["patient_id"]) == ["007", "0042"]


def test_optional_columns_are_kept(tmp_path, images):
    path = write_csv(tmp_path, f"{HEADER},study_id,site,bbox", 'a.png,P1,1,S1,A,"1,2,3,4"', "b.png,P2,0,S2,B,")
    table = check_manifest(path, images, cohort="development")
    assert list(table["site"]) == ["A", "B"]
    assert list(table["bbox"]) == ["1,2,3,4", ""]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("scan.JPG", id="upper-case jpg"),
        pytest.param("scan.bmp", id="bmp"),
        pytest.param("scan.dcm", id="dcm"),
        pytest.param("IM0001", id="dicom without extension"),
    ],
)
def test_supported_extensions_pass(tmp_path, images, name):
    (images / name).write_bytes(b"x")  # content is only checked with check_pixels=True
    path = write_csv(tmp_path, HEADER, f"{name},P1,1", "a.png,P2,0")
    assert len(check_manifest(path, images, cohort="development")) == 2


def test_dicom_named_by_uid_passes(tmp_path, images):
    name = "1.2.840.113619.2.55.3.78"
    (images / name).write_bytes(b"x")
    path = write_csv(tmp_path, HEADER, f"{name},P1,1")
    assert len(check_manifest(path, images, cohort="development")) == 1


# --- check_manifest: each bad input --------------------------------------------


@pytest.mark.parametrize(
    "lines, expected",
    [
        pytest.param(
            ["image,label", "a.png,1"],
            "missing column(s) patient_id; the header has image, label and needs image, patient_id, label",
            id="missing column",
        ),
        pytest.param([HEADER], "has a header but no rows; add one row per image", id="header only"),
        pytest.param([HEADER, "a.png,P1,2"], "line 2: `label` must be 0 or 1, got '2'", id="label 2"),
        pytest.param(
            [HEADER, "a.png,P1,0", "b.png,P2,yes"], "line 3: `label` must be 0 or 1, got 'yes'", id="label yes"
        ),
        pytest.param([HEADER, "a.png,P1,"], "line 2: `label` must be 0 or 1, got ''", id="label empty"),
        pytest.param(
            [HEADER, "a.png,,1"],
            "line 2: `patient_id` is empty; every image needs its patient's id",
            id="empty patient_id",
        ),
        pytest.param(
            [HEADER, "a.png,P1,1", "b.png,P2,0", "a.png,P1,1"],
            "line 4: image 'a.png' is listed again (first on line 2)",
            id="duplicate image",
        ),
        pytest.param([HEADER, "a.png,P1,1", "missing.png,P2,0"], "line 3: image file ", id="missing image file"),
        pytest.param(
            [HEADER, "/etc/a.png,P1,1"],
            "line 2: `image` '/etc/a.png' must be a path relative to the images folder",
            id="absolute path",
        ),
        pytest.param(
            [HEADER, "../images/a.png,P1,1"],
            "line 2: `image` '../images/a.png' must be a path relative to the images folder",
            id="dot-dot",
        ),
        pytest.param([HEADER, "sub/../a.png,P1,1"], "without '..'", id="inner dot-dot"),
        pytest.param(
            [HEADER, "a.tif,P1,1"],
            "line 2: `image` 'a.tif' has an unsupported extension; use .png, .jpg, .bmp or DICOM",
            id="unsupported extension",
        ),
        pytest.param(
            [f"{HEADER},bbox", 'a.png,P1,1,"1,2,3"'], "line 2: bbox '1,2,3' is malformed", id="bbox with three numbers"
        ),
        pytest.param(
            [f"{HEADER},bbox", 'a.png,P1,1,"1,2,0,4"'], "line 2: bbox '1,2,0,4' is malformed", id="bbox with zero width"
        ),
        pytest.param([f"{HEADER},bbox", "a.png,P1,1,left"], "line 2: bbox 'left' is malformed", id="bbox text"),
    ],
)
def test_bad_manifest_names_file_and_line(tmp_path, images, lines, expected):
    path = write_csv(tmp_path, *lines)
    with pytest.raises(InputError, match=problem(path, expected)):
        check_manifest(path, images, cohort="development")


def test_missing_image_file_names_the_full_path(tmp_path, images):
    path = write_csv(tmp_path, HEADER, "missing.png,P1,1")
    with pytest.raises(InputError, match=problem(path, f"line 2: image file {images / 'missing.png'} does not exist")):
        check_manifest(path, images, cohort="development")


def test_missing_images_folder(tmp_path):
    path = write_csv(tmp_path, HEADER, "a.png,P1,1")
    folder = tmp_path / "nowhere"
    expected = f"the images folder {folder} does not exist; check `cohorts: external: images` in config.yaml"
    with pytest.raises(InputError, match=problem(path, expected)):
        check_manifest(path, folder, cohort="external")


def test_missing_manifest_file(tmp_path, images):
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError, match=rf"{re.escape(str(path))} does not exist; check the path in config.yaml"):
        check_manifest(path, images, cohort="development")


def test_empty_manifest_file(tmp_path, images):
    path = write_csv(tmp_path)
    with pytest.raises(InputError, match=rf"{re.escape(str(path))} is empty; it needs a header line"):
        check_manifest(path, images, cohort="development")


def test_message_names_the_cohort(tmp_path, images):
    path = write_csv(tmp_path, HEADER, "a.png,P1,2")
    with pytest.raises(InputError, match=r"^The external manifest "):
        check_manifest(path, images, cohort="external")


def test_several_problems_come_in_one_error(tmp_path, images):
    path = write_csv(tmp_path, HEADER, "a.png,P1,2", "b.png,,1", "missing.png,P3,0", "a.png,P1,1")
    with pytest.raises(InputError) as caught:
        check_manifest(path, images, cohort="development")
    message = str(caught.value)
    assert f"{path} has 4 problem(s):" in message
    for expected in (
        "line 2: `label`",
        "line 3: `patient_id` is empty",
        "line 4: image file",
        "line 5: image 'a.png' is listed again (first on line 2)",
    ):
        assert expected in message


def test_more_than_max_listed_problems_are_truncated(tmp_path, images):
    extra = 7
    rows = [f"img{i}.png,P{i},1" for i in range(MAX_LISTED + extra)]  # every image file is missing
    path = write_csv(tmp_path, HEADER, *rows)
    with pytest.raises(InputError) as caught:
        check_manifest(path, images, cohort="development")
    message = str(caught.value)
    assert f"has {MAX_LISTED + extra} problem(s):" in message
    assert message.count("\n  - ") == MAX_LISTED
    assert message.endswith(f"... and {extra} more of the same kinds")


# --- check_manifest: pixels ----------------------------------------------------


def test_check_pixels_catches_a_corrupt_image(tmp_path, images):
    (images / "x.png").write_text("this is not an image")
    path = write_csv(tmp_path, HEADER, "a.png,P1,1", "x.png,P2,0")
    assert len(check_manifest(path, images, cohort="development")) == 2  # quick check: file exists
    expected = f"line 3: image {images / 'x.png'} cannot be used: not a PNG/JPEG/BMP or DICOM file"
    with pytest.raises(InputError, match=problem(path, expected)):
        check_manifest(path, images, cohort="development", check_pixels=True)


def test_check_pixels_passes_good_images(tmp_path, images):
    path = write_csv(tmp_path, HEADER, "a.png,P1,1", "sub/d.png,P2,0")
    assert len(check_manifest(path, images, cohort="development", check_pixels=True)) == 2


# --- check_readers ---------------------------------------------------------------

KNOWN = {"a.png": "development", "b.png": "development", "e1.png": "external"}
READERS_HEADER = "image,reader,call"


def test_good_readers_file(tmp_path):
    path = write_csv(tmp_path, READERS_HEADER, "a.png,R1,1", "e1.png,R1,0", "a.png,R2, 0", name="readers.csv")
    table = check_readers(path, KNOWN)
    assert list(table["call"]) == [1, 0, 0]
    assert table["call"].dtype.kind == "i"
    assert list(table["cohort"]) == ["development", "external", "development"]


@pytest.mark.parametrize(
    "lines, expected",
    [
        pytest.param(["image,call", "a.png,1"], "missing column(s) reader", id="missing column"),
        pytest.param([READERS_HEADER], "has a header but no rows", id="header only"),
        pytest.param([READERS_HEADER, "a.png,R1,2"], "line 2: `call` must be 0 or 1, got '2'", id="call 2"),
        pytest.param([READERS_HEADER, "a.png,R1,"], "line 2: `call` must be 0 or 1, got ''", id="call missing"),
        pytest.param([READERS_HEADER, "a.png,,1"], "line 2: `reader` is empty", id="empty reader"),
        pytest.param(
            [READERS_HEADER, "a.png,R1,1", "zzz.png,R1,0"],
            "line 3: image 'zzz.png' is in no cohort's manifest; use the manifest's `image` value",
            id="unknown image",
        ),
        pytest.param(
            [READERS_HEADER, "a.png,R1,1", "b.png,R1,0", "a.png,R1,0"],
            "line 4: reader 'R1' calls image 'a.png' twice",
            id="same image twice",
        ),
    ],
)
def test_bad_readers_file_names_file_and_line(tmp_path, lines, expected):
    path = write_csv(tmp_path, *lines, name="readers.csv")
    with pytest.raises(InputError, match=rf"^The readers file {problem(path, expected)}"):
        check_readers(path, KNOWN)


def test_two_readers_may_call_the_same_image(tmp_path):
    path = write_csv(tmp_path, READERS_HEADER, "a.png,R1,1", "a.png,R2,1", name="readers.csv")
    assert len(check_readers(path, KNOWN)) == 2
