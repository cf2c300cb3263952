"""Tests for alnus.readers: radiologists' calls, pseudonymised and placed in the test sets."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from alnus.manifest import InputError
from alnus.readers import pseudonymised_reader_calls

# cohort -> (source image, source patient id, pseudonym id, label, set)
STUDY = {
    "development": [
        ("d1.png", "MRN1", "0001", 1, "train"),
        ("d2.png", "MRN2", "0002", 0, "train"),
        ("d3.png", "MRN3", "0003", 1, "validation"),
        ("d4.png", "MRN4", "0004", 1, "internal_test"),
        ("d5.png", "MRN5", "0005", 0, "internal_test"),
    ],
    "external": [
        ("e1.png", "MRN1", "0101", 1, "external_test"),
        ("e2.png", "MRN7", "0102", 0, "external_test"),
        ("e3.png", "MRN8", "0103", 0, "external_test"),
    ],
}
SOURCE_NAMES = {value for rows in STUDY.values() for row in rows for value in row[:2]}


def write_csv(path: Path, frame: pd.DataFrame) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return str(path)


def build_study(root: Path) -> dict:
    """Source manifests and images, private linkage, preprocessed manifests and splits."""
    cohorts, linkage, manifests, splits = {}, {}, {}, []
    for cohort, rows in STUDY.items():
        images = root / "data" / cohort
        images.mkdir(parents=True)
        for image, *_ in rows:
            assert cv2.imwrite(str(images / image), np.full((8, 8), 90, np.uint8))
        frame = pd.DataFrame(rows, columns=["image", "patient_id", "id", "label", "set"])
        source = write_csv(root / "data" / f"{cohort}.csv", frame[["image", "patient_id", "label"]])
        cohorts[cohort] = {"manifest": source, "images": str(images)}
        linkage[cohort] = write_csv(
            root / "private" / cohort / "linkage.csv",
            frame[["image", "id"]].assign(crop_x=0, crop_y=0, crop_w=8, crop_h=8),
        )
        frame["patient"] = "p" + frame["patient_id"]
        manifests[cohort] = write_csv(
            root / "results" / "preprocessed" / cohort / "manifest.csv", frame[["id", "patient", "label"]]
        )
        splits.append(frame.assign(cohort=cohort)[["id", "patient", "cohort", "set"]])
    splits_csv = write_csv(root / "results" / "splits.csv", pd.concat(splits))
    return {"cohorts": cohorts, "linkage_paths": linkage, "manifest_paths": manifests, "splits_csv": splits_csv}


def write_readers(root: Path, *rows: tuple[str, str, int]) -> str:
    return write_csv(root / "data" / "readers.csv", pd.DataFrame(rows, columns=["image", "reader", "call"]))


@pytest.fixture
def study(tmp_path) -> dict:
    return build_study(tmp_path)


@pytest.fixture
def readers_csv(tmp_path, study) -> str:
    return write_readers(
        tmp_path,
        ("d1.png", "R1", 1),
        ("d4.png", "R1", 1),
        ("d5.png", "R1", 0),
        ("e1.png", "R1", 1),
        ("e2.png", "R1", 1),
        ("e3.png", "R1", 0),
        ("d3.png", "R2", 0),
        ("d4.png", "R2", 0),
        ("e2.png", "R2", 0),
    )


def test_calls_by_pseudonym_on_test_sets_only(study, readers_csv):
    calls = pseudonymised_reader_calls(readers_csv, **study)
    assert list(calls.columns) == ["id", "patient", "reader", "call", "label", "set"]
    splits = pd.read_csv(study["splits_csv"], dtype=str).set_index("id")["patient"]
    assert calls["patient"].tolist() == splits.loc[calls["id"]].tolist()  # the pseudonym of splits.csv
    got = sorted(map(tuple, calls.drop(columns="patient").astype(str).to_numpy()))
    assert got == sorted(
        [
            ("0004", "R1", "1", "1", "internal_test"),
            ("0005", "R1", "0", "0", "internal_test"),
            ("0101", "R1", "1", "1", "external_test"),
            ("0102", "R1", "1", "0", "external_test"),
            ("0103", "R1", "0", "0", "external_test"),
            ("0004", "R2", "0", "1", "internal_test"),
            ("0102", "R2", "0", "0", "external_test"),
        ]
    )


def test_no_source_names_in_output(study, readers_csv):
    calls = pseudonymised_reader_calls(readers_csv, **study)
    cells = set(calls.astype(str).to_numpy().ravel())
    assert not cells & SOURCE_NAMES


def test_ids_stay_text(study, readers_csv):
    calls = pseudonymised_reader_calls(readers_csv, **study)
    assert set(calls["id"]) <= {"0004", "0005", "0101", "0102", "0103"}
    assert calls["call"].dtype.kind == "i" and calls["label"].dtype.kind == "i"


def test_dropped_and_partial_readings_are_logged(study, readers_csv, caplog):
    with caplog.at_level(logging.WARNING, logger="alnus.readers"):
        pseudonymised_reader_calls(readers_csv, **study)
    messages = [record.getMessage() for record in caplog.records]
    assert "reader R1: 1 calls on images outside the test sets were left out" in messages
    assert "reader R2: 1 calls on images outside the test sets were left out" in messages
    assert "reader R2 read 1 of the 2 internal_test images; their metrics cover those only" in messages


def test_same_patient_id_in_both_cohorts_stays_two_patients(tmp_path):
    """MRN1 is a patient id at both hospitals; each call lands in its own cohort's test set."""
    study = build_study(tmp_path)
    readers = write_readers(tmp_path, ("d4.png", "R1", 1), ("e1.png", "R1", 0))
    calls = pseudonymised_reader_calls(readers, **study)
    assert dict(zip(calls["id"], calls["set"])) == {"0004": "internal_test", "0101": "external_test"}


@pytest.mark.parametrize(
    "rows, expected",
    [
        pytest.param(
            [("d4.png", "R1", 1), ("zz.png", "R1", 0)],
            r"line 3: image 'zz\.png' is in no cohort's manifest",
            id="unknown image",
        ),
        pytest.param([("d4.png", "R1", 2)], r"line 2: `call` must be 0 or 1, got '2'", id="bad call"),
    ],
)
def test_bad_readers_file_raises(tmp_path, study, rows, expected):
    readers = write_readers(tmp_path, *rows)
    with pytest.raises(InputError, match=expected):
        pseudonymised_reader_calls(readers, **study)


def test_scores_are_carried_when_given(tmp_path, study):
    readers = write_csv(
        tmp_path / "data" / "readers.csv",
        pd.DataFrame(
            [("d4.png", "R1", 1, 80.5), ("e1.png", "R1", 0, 12)], columns=["image", "reader", "call", "score"]
        ),
    )
    calls = pseudonymised_reader_calls(readers, **study)
    assert list(calls.columns) == ["id", "patient", "reader", "call", "score", "label", "set"]
    assert dict(zip(calls["id"], calls["score"])) == {"0004": 80.5, "0101": 12.0}


def test_a_score_that_is_not_a_number_names_the_line(tmp_path, study):
    readers = write_csv(
        tmp_path / "data" / "readers.csv",
        pd.DataFrame(
            [("d4.png", "R1", 1, "80"), ("e1.png", "R1", 0, "high"), ("e2.png", "R1", 0, "")],
            columns=["image", "reader", "call", "score"],
        ),
    )
    with pytest.raises(InputError) as error:
        pseudonymised_reader_calls(readers, **study)
    assert "line 3: `score` must be a number" in str(error.value) and "got 'high'" in str(error.value)
    assert "line 4: `score` must be a number" in str(error.value)
