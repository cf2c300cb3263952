"""Tests for alnus.validate: the whole-study input check and its summary."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.encaps import encapsulate
from test_imageio import make_dicom

from alnus.manifest import InputError
from alnus.start_up import missing_inputs
from alnus.validate import cohort_paths, known_images, quick_check, validate_inputs_job, validate_study


def make_cohort(root: Path, name: str, rows: list[tuple[str, str, int]]) -> dict[str, str]:
    """Write tiny PNGs and a manifest for one cohort; return its config entry."""
    images = root / name / "images"
    images.mkdir(parents=True)
    lines = ["image,patient_id,label"]
    for image, patient, label in rows:
        assert cv2.imwrite(str(images / image), np.full((16, 16), 100, np.uint8))
        lines.append(f"{image},{patient},{label}")
    manifest = root / name / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return {"manifest": str(manifest), "images": str(images)}


def write_readers(root: Path, *rows: str) -> str:
    path = root / "readers.csv"
    path.write_text("\n".join(["image,reader,call", *rows]) + "\n")
    return str(path)


@pytest.fixture
def cohorts(tmp_path) -> dict[str, dict[str, str]]:
    return {
        "development": make_cohort(
            tmp_path,
            "development",
            [("d1.png", "P1", 1), ("d2.png", "P1", 1), ("d3.png", "P2", 0), ("d4.png", "P3", 0)],
        ),
        "external": make_cohort(tmp_path, "external", [("e1.png", "Q1", 1), ("e2.png", "Q2", 0)]),
    }


def test_summary_counts_per_cohort(tmp_path, cohorts):
    readers = write_readers(tmp_path, "d3.png,R1,0", "e1.png,R1,1", "e1.png,R2,1", "e2.png,R2,0")
    summary = validate_study(cohorts, readers)
    expected = pd.DataFrame(
        {
            "cohort": ["development", "external"],
            "images": [4, 2],
            "patients": [3, 2],
            "positives": [2, 1],
            "readers": [1, 2],
        }
    )
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)


@pytest.mark.parametrize("readers", [None, ""])
def test_without_readers_counts_none(cohorts, readers):
    summary = validate_study(cohorts, readers)
    assert list(summary["readers"]) == [0, 0]


def test_problems_of_both_cohorts_in_one_error(cohorts):
    Path(cohorts["development"]["manifest"]).write_text("image,patient_id,label\nd1.png,P1,2\n")
    Path(cohorts["external"]["manifest"]).write_text("image,patient_id,label\ne1.png,,1\n")
    with pytest.raises(InputError) as caught:
        validate_study(cohorts, None)
    message = str(caught.value)
    assert f"The development manifest {cohorts['development']['manifest']} has 1 problem(s)" in message
    assert "line 2: `label` must be 0 or 1, got '2'" in message
    assert f"The external manifest {cohorts['external']['manifest']} has 1 problem(s)" in message
    assert "line 2: `patient_id` is empty" in message


def test_pixels_are_checked(cohorts):
    (Path(cohorts["external"]["images"]) / "e2.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"line 3: image .*e2\.png cannot be used"):
        validate_study(cohorts, None)


def test_readers_problems_are_reported(tmp_path, cohorts):
    readers = write_readers(tmp_path, "d3.png,R1,yes")
    expected = rf"The readers file {re.escape(readers)} has 1 problem\(s\):\n.*line 2: `call`"
    with pytest.raises(InputError, match=expected):
        validate_study(cohorts, readers)


def test_reader_call_on_image_in_both_cohorts_gets_ambiguity_hint(tmp_path):
    cohorts = {
        "development": make_cohort(tmp_path, "development", [("same.png", "P1", 1), ("d2.png", "P2", 0)]),
        "external": make_cohort(tmp_path, "external", [("same.png", "Q1", 1), ("e2.png", "Q2", 0)]),
    }
    readers = write_readers(tmp_path, "same.png,R1,1", "e2.png,R1,0")
    with pytest.raises(InputError) as caught:
        validate_study(cohorts, readers)
    message = str(caught.value)
    assert "line 2: image 'same.png' is in no cohort's manifest" in message
    assert "(1 image names occur in both manifests, e.g. 'same.png'; make them unique)" in message


def test_shared_image_names_are_fine_without_reader_calls_on_them(tmp_path):
    cohorts = {
        "development": make_cohort(tmp_path, "development", [("same.png", "P1", 1), ("d2.png", "P2", 0)]),
        "external": make_cohort(tmp_path, "external", [("same.png", "Q1", 1), ("e2.png", "Q2", 0)]),
    }
    summary = validate_study(cohorts, write_readers(tmp_path, "e2.png,R1,0"))
    assert list(summary["readers"]) == [0, 1]


@pytest.mark.parametrize(
    "manifests, expected",
    [
        pytest.param({"a": ["x", "y"], "b": ["z"]}, {"x": "a", "y": "a", "z": "b"}, id="disjoint"),
        pytest.param({"a": ["x", "y"], "b": ["y"]}, {"x": "a", "y": "ambiguous"}, id="shared"),
        pytest.param({"a": ["y"], "b": ["y"], "c": ["y"]}, {"y": "ambiguous"}, id="three cohorts"),
    ],
)
def test_known_images(manifests, expected):
    tables = {cohort: pd.DataFrame({"image": images}) for cohort, images in manifests.items()}
    assert known_images(tables) == expected


def test_cohort_paths_from_named_inputs():
    inputs = {
        "development_manifest": "dev.csv",
        "development_images": "dev/images",
        "external_manifest": "ext.csv",
        "external_images": "ext/images",
        "readers": "readers.csv",
    }
    assert cohort_paths(inputs) == {
        "development": {"manifest": "dev.csv", "images": "dev/images"},
        "external": {"manifest": "ext.csv", "images": "ext/images"},
    }


# --- one run names every bad input ---------------------------------------------------


def bomb_png(path: Path, side: int = 30000) -> None:
    """A 100-byte PNG that declares side x side pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(side + 1)))
        + chunk(b"IEND", b"")
    )


def jpeg2000_dicom(path: Path) -> None:
    """A DICOM whose JPEG 2000 pixel data no decoder can read."""
    make_dicom(path, np.full((32, 32), 90, np.uint8))
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.90"  # JPEG 2000 lossless
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(60)])  # not a real codestream
    ds.save_as(path)


def doppler_screen() -> np.ndarray:
    """A grey B-mode screen (BGR) with a colour-flow box: red and blue blobs on 6% of it."""
    rng = np.random.default_rng(1)
    screen = cv2.merge([rng.integers(20, 200, (64, 80), dtype=np.uint8)] * 3)
    screen[20:34, 30:44] = (40, 40, 230)  # red flow (BGR)
    screen[40:44, 30:40] = (230, 60, 30)  # blue flow
    return screen


GOOD = np.random.default_rng(2).integers(30, 220, (32, 32), dtype=np.uint8)
# The bad-input cohort: (manifest row, how its file is made, what the message must say).
# Lines 2-16 of the manifest; good.png (on line 14, and again on 15) is the only good file.
BAD_INPUTS = [
    ("empty.png,P1,1", lambda p: (p / "empty.png").write_bytes(b""), "empty.png cannot be used: file is empty"),
    (
        "cut.png,P2,0",
        lambda p: (p / "cut.png").write_bytes(cv2.imencode(".png", GOOD)[1].tobytes()[:120]),
        "cut.png cannot be used: cannot decode this PNG file (truncated or corrupt)",
    ),
    (
        "cut.jpg,P3,1",
        lambda p: (p / "cut.jpg").write_bytes(cv2.imencode(".jpg", GOOD)[1].tobytes()[:-200]),
        "cut.jpg cannot be used: cannot decode this JPEG file (truncated or corrupt)",
    ),
    (
        "notes.png,P4,0",
        lambda p: (p / "notes.png").write_text("patient_id,label\n"),
        "notes.png cannot be used: not a PNG/JPEG/BMP or DICOM file",
    ),
    ("gone.png,P5,1", None, "gone.png does not exist"),
    (
        "report.dcm,P6,0",
        lambda p: make_dicom(p / "report.dcm", None),
        "report.dcm cannot be used: DICOM has no pixel data",
    ),
    (
        "j2k.dcm,P7,1",
        lambda p: jpeg2000_dicom(p / "j2k.dcm"),
        "j2k.dcm cannot be used: cannot decode DICOM pixel data (transfer syntax JPEG 2000 Image Compression",
    ),
    (
        "bomb.png,P8,0",
        lambda p: bomb_png(p / "bomb.png"),
        "bomb.png cannot be used: image declares 900000000 pixels = 858 megapixels, over the limit of 64 (a decompression bomb",
    ),
    (
        "../outside.png,P9,1",
        lambda p: cv2.imwrite(str(p.parent / "outside.png"), GOOD),
        "`image` '../outside.png' must be a path relative to the images folder",
    ),
    (
        "dot.png,P10,0",
        lambda p: cv2.imwrite(str(p / "dot.png"), GOOD[:1, :1]),
        "dot.png cannot be used: image is only 1 x 1 pixels",
    ),
    (
        "cine.dcm,P11,1",
        lambda p: make_dicom(p / "cine.dcm", np.stack([GOOD] * 3)),
        "cine.dcm cannot be used: multi-frame DICOM (a cine loop of 3 frames)",
    ),
    (
        "doppler.png,P12,0",
        lambda p: cv2.imwrite(str(p / "doppler.png"), doppler_screen()),
        "doppler.png cannot be used: colour image: 4.6% of its pixels are coloured (over 1%: a colour or power Doppler",
    ),
    ("good.png,P13,2", lambda p: cv2.imwrite(str(p / "good.png"), GOOD), "`label` must be 0 or 1, got '2'"),
    ("good.png,P13,1", None, "image 'good.png' is listed again (first on line 14)"),
    ("good2.png, ,1", lambda p: cv2.imwrite(str(p / "good2.png"), GOOD), "`patient_id` is empty"),
]


@pytest.fixture
def bad_study(tmp_path) -> tuple[dict[str, dict[str, str]], str]:
    """A development cohort with every kind of bad input of BAD_INPUTS, an
    external cohort with a corrupt image, and a readers' file with a bad call."""
    cohorts = {"external": make_cohort(tmp_path, "external", [("e1.png", "Q1", 1), ("e2.png", "Q2", 0)])}
    (Path(cohorts["external"]["images"]) / "e2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    images = tmp_path / "development" / "images"
    images.mkdir(parents=True)
    for _, make, _ in BAD_INPUTS:
        if make:
            make(images)
    manifest = tmp_path / "development" / "manifest.csv"
    manifest.write_text("\n".join(["image,patient_id,label", *(row for row, _, _ in BAD_INPUTS)]) + "\n")
    cohorts = {"development": {"manifest": str(manifest), "images": str(images)}, **cohorts}
    return cohorts, write_readers(tmp_path, "e1.png,R1,1", "e2.png,R1,maybe")


def test_one_call_names_every_bad_input(bad_study):
    """Twelve kinds of bad input, three more (1 x 1 pixels, a cine loop, a
    colour Doppler screen), a bad image of the other cohort and a bad reader's
    call: all in one message, by file, then line, each with its fix."""
    cohorts, readers = bad_study
    with pytest.raises(InputError) as caught:
        validate_study(cohorts, readers, threads=2)
    message = str(caught.value)
    development, external = cohorts["development"]["manifest"], cohorts["external"]["manifest"]
    assert message.startswith(f"{len(BAD_INPUTS) + 2} input problem(s) in 3 file(s); fix them all, then run again.")
    assert f"The development manifest {development} has {len(BAD_INPUTS)} problem(s):" in message
    positions = []
    for line, (_, _, expected) in enumerate(BAD_INPUTS, start=2):
        match = re.search(rf"\n  - line {line}: [^\n]*{re.escape(expected)}[^\n]*", message)
        assert match, f"line {line}: {expected!r} not in\n{message}"
        assert "; " in match.group() or "must be" in match.group(), f"no fix in {match.group()!r}"
        positions.append(match.start())
    assert positions == sorted(positions)  # by line
    assert f"The external manifest {external} has 1 problem(s):\n  - line 3: image " in message
    assert f"The readers file {readers} has 1 problem(s):\n  - line 3: `call` must be 0 or 1" in message
    assert message.index(development) < message.index(external) < message.index(readers)  # by file


def test_quick_check_reports_and_leaves_the_pixels_to_validate_inputs(bad_study):
    """At start-up the manifest's own problems are reported, the run is not
    stopped, and no image is opened (the corrupt ones are not named yet)."""
    cohorts, readers = bad_study
    check = quick_check(cohorts, readers)
    assert not check.stop
    assert "rule validate_inputs checks every image's pixels too" in check.message
    assert "line 6: image file" in check.message and "gone.png does not exist" in check.message
    assert "line 15: image 'good.png' is listed again" in check.message
    assert "cannot be used" not in check.message
    assert "line 3: `call` must be 0 or 1" in check.message


@pytest.mark.parametrize("what", ["manifest", "images", "readers"])
def test_quick_check_stops_on_a_missing_input(tmp_path, cohorts, what):
    """A configured file or folder that does not exist stops the run at start-up
    (validate_inputs could not run), with the other problems found so far."""
    Path(cohorts["external"]["manifest"]).write_text("image,patient_id,label\ne1.png,Q1,7\n")
    readers = write_readers(tmp_path, "e1.png,R1,1")
    if what == "readers":
        readers = str(tmp_path / "nope.csv")
    else:
        cohorts["development"][what] = str(tmp_path / "nope")
    check = quick_check(cohorts, readers)
    assert check.stop
    assert f"{tmp_path / 'nope'}" in check.message and "does not exist; fix `" in check.message
    assert "line 2: `label` must be 0 or 1, got '7'" in check.message


def test_quick_check_skips_generated_inputs(tmp_path, cohorts):
    cohorts["development"] = {"manifest": str(tmp_path / "demo" / "m.csv"), "images": str(tmp_path / "demo" / "i")}
    assert quick_check(cohorts, str(tmp_path / "demo" / "r.csv"), generated=(str(tmp_path / "demo"),)) == (False, "")


@pytest.mark.parametrize(
    "what, key",
    [
        ("manifest", "`cohorts: development: manifest`"),
        ("images", "`cohorts: development: images`"),
        ("readers", "`readers`"),
    ],
)
def test_missing_inputs_name_the_config_key_and_skip_generated_ones(tmp_path, cohorts, what, key):
    readers = write_readers(tmp_path, "e1.png,R1,1")
    assert missing_inputs(cohorts, readers) == []
    if what == "readers":
        readers = str(tmp_path / "nope")
    else:
        cohorts["development"][what] = str(tmp_path / "nope")
    (message,) = missing_inputs(cohorts, readers)
    assert f"{tmp_path / 'nope'} does not exist; fix {key} in the config" in message
    assert missing_inputs(cohorts, readers, generated=(str(tmp_path / "nope"),)) == []


def test_validate_inputs_job_prints_the_quick_check_first_then_raises_everything(bad_study, tmp_path, capsys):
    cohorts, readers = bad_study
    with pytest.raises(InputError, match=r"input problem\(s\) in 3 file\(s\)"):
        validate_inputs_job(cohorts, readers, tmp_path / "check.tsv", threads=2, clinical=None)
    printed = capsys.readouterr().err
    assert printed.startswith("Start-up input check") and "cannot be used" not in printed
    assert not (tmp_path / "check.tsv").exists()


def test_validate_inputs_job_writes_the_summary(tmp_path, cohorts, capsys):
    summary = validate_inputs_job(cohorts, None, tmp_path / "check.tsv", clinical=None)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "check.tsv", sep="\t"), summary)
    assert capsys.readouterr().err == ""


CLINICAL = {
    "variables": [
        {"column": "age", "type": "numeric", "label": "Age", "unit": "years", "min": 18, "max": 110},
        {"column": "grade", "type": "categorical", "label": "Grade", "levels": ["1", "2", "3"]},
    ],
    "missing": "refuse",
}


def add_columns(cohort: dict[str, str], **columns) -> None:
    table = pd.read_csv(cohort["manifest"], dtype=str)
    table.assign(**columns).to_csv(cohort["manifest"], index=False)


def test_clinical_columns_are_checked_with_everything_else(tmp_path, cohorts):
    add_columns(cohorts["development"], age=["50", "", "200", "40"], grade=["1", "1", "2", "2"])
    add_columns(cohorts["external"], grade=["3", "1"])
    with pytest.raises(InputError) as raised:
        validate_study(cohorts, None, clinical=CLINICAL)
    message = str(raised.value)
    assert "4 input problem(s) in 2 file(s)" in message
    assert "clinical column `age` (Age (years)" in message and "1 missing value(s), on line(s) 3" in message
    assert "outside its allowed range 18 to 110 years, on line(s) 4" in message
    assert "`age` (Age (years), declared in config `clinical: variables`) is missing; add it" in message
    assert "level '3' in the external cohort but not in the development cohort" in message


def test_imputed_clinical_values_are_counted_in_the_summary(tmp_path, cohorts):
    add_columns(cohorts["development"], age=["50", "", "61", "40"], grade=["1", "1", "2", "2"])
    add_columns(cohorts["external"], age=["70", "NA"], grade=["1", "2"])
    summary = validate_study(cohorts, None, clinical=CLINICAL | {"missing": "impute"})
    assert summary["clinical_missing"].tolist() == [1, 1]
    assert quick_check(cohorts, None, clinical=CLINICAL | {"missing": "impute"}) == (False, "")
