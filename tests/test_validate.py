"""Tests for alnus.validate: the whole-study input check and its summary."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from alnus.manifest import InputError
from alnus.validate import cohort_paths, known_images, validate_study


def make_cohort(root: Path, name: str, rows: list[tuple[str, str, int]]) -> dict[str, str]:
    """Write tiny PNGs and a manifest for one cohort; return its config entry."""
    images = root / name / "images"
    images.mkdir(parents=True)
    lines = ["image,patient_id,label"]
    for image, patient, label in rows:
        assert cv2.imwrite(str(images / image), np.full((8, 8), 100, np.uint8))
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
        "development": make_cohort(tmp_path, "development", [("d1.png", "P1", 1), ("d2.png", "P1", 1),
                                                             ("d3.png", "P2", 0), ("d4.png", "P3", 0)]),
        "external": make_cohort(tmp_path, "external", [("e1.png", "Q1", 1), ("e2.png", "Q2", 0)]),
    }  # fmt: skip


def test_summary_counts_per_cohort(tmp_path, cohorts):
    readers = write_readers(tmp_path, "d3.png,R1,0", "e1.png,R1,1", "e1.png,R2,1", "e2.png,R2,0")
    summary = validate_study(cohorts, readers)
    expected = pd.DataFrame({"cohort": ["development", "external"], "images": [4, 2], "patients": [3, 2],
                             "positives": [2, 1], "readers": [1, 2]})  # fmt: skip
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
    with pytest.raises(InputError, match=r"line 3: image .*e2\.png cannot be read"):
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
