"""Tests of alnus.simulate.study: the simulated hospital export of the demo study, as written."""

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest

from alnus import simulate as sim

N_DEV, N_EXT = 20, 10
PHI_ATTRIBUTES = {
    "PatientName": "patient_names",
    "PatientID": "patient_ids",
    "PatientBirthDate": "birth_dates",
    "StudyDate": "exam_dates",
    "InstitutionName": "institutions",
    "AccessionNumber": "accession_numbers",
    "ReferringPhysicianName": "physicians",
    "OperatorsName": "operators",
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One small simulated study shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("study")
    summary = sim.simulate_study(out, seed=7, n_development=N_DEV, n_external=N_EXT)
    return out, summary


def manifest(out: Path, cohort: str) -> pd.DataFrame:
    return pd.read_csv(out / cohort / "manifest.csv", dtype={"patient_id": str, "study_id": str})


def load_image(path: Path) -> np.ndarray:
    if path.suffix == ".dcm":
        return pydicom.dcmread(path).pixel_array
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"cv2 cannot read {path}"
    return image


def regions(out: Path):
    """(cohort, path, dataset) for every DICOM file of the study."""
    for cohort in ("development", "external"):
        for image in manifest(out, cohort)["image"]:
            if image.endswith(".dcm"):
                path = out / cohort / "images" / image
                yield cohort, path, pydicom.dcmread(path)


# ---------------------------------------------------------------- layout
@pytest.mark.parametrize("cohort, n, site", [("development", N_DEV, "hospital_A"), ("external", N_EXT, "hospital_B")])
def test_manifest_counts_columns_and_files(study, cohort, n, site):
    out, summary = study
    table = manifest(out, cohort)
    assert list(table.columns) == [
        "image",
        "patient_id",
        "label",
        "study_id",
        "site",
        "age",
        "tumour_size_mm",
        "birads",
    ]
    assert len(table) == n == summary[cohort]["images"]
    assert table["image"].is_unique
    assert set(table["site"]) == {site}
    assert table["patient_id"].nunique() == summary[cohort]["patients"]
    assert table["patient_id"].str.len().min() >= 7
    assert abs(summary[cohort]["dicom"] - n / 2) <= 1
    assert summary[cohort]["dicom"] + summary[cohort]["png"] == n
    for image in table["image"]:
        folder, name = image.split("/")
        assert (out / cohort / "images" / image).is_file()
        assert name.endswith((".dcm", ".png"))
    # Source folders carry the patient's ID and name, as real exports do.
    for image, pid in zip(table["image"], table["patient_id"]):
        assert pid in image.split("/")[0]


def test_cohort_sizes_follow_the_paper_shape(study):
    _, summary = study
    dev, ext = summary["development"], summary["external"]
    assert dev["patients"] < dev["images"]  # some patients have two views
    assert ext["patients"] == round(N_EXT / (80 / 78))
    assert 0.25 <= dev["positive_patients"] / dev["patients"] <= 0.55
    assert 0.35 <= ext["positive_patients"] / ext["patients"] <= 0.65


@pytest.mark.parametrize("cohort", ["development", "external"])
def test_labels_are_binary_with_both_classes(study, cohort):
    out, _ = study
    labels = manifest(out, cohort)["label"]
    assert set(labels) == {0, 1}


@pytest.mark.parametrize("cohort", ["development", "external"])
def test_label_and_study_are_per_patient(study, cohort):
    out, _ = study
    table = manifest(out, cohort)
    per_patient = table.groupby("patient_id").agg(
        labels=("label", "nunique"), studies=("study_id", "nunique"), images=("image", "size")
    )
    assert (per_patient["labels"] == 1).all()
    assert (per_patient["studies"] == 1).all()
    assert per_patient["images"].max() <= 2
    if cohort == "development":
        assert (per_patient["images"] == 2).any()


def test_patient_ids_are_unique_across_sites(study):
    out, _ = study
    dev, ext = manifest(out, "development"), manifest(out, "external")
    assert not set(dev["patient_id"]) & set(ext["patient_id"])
    assert not set(dev["study_id"]) & set(ext["study_id"])


# ---------------------------------------------------------------- images
def test_dicom_files_are_ultrasound_with_regions_and_phi(study):
    out, _ = study
    seen = 0
    for cohort, path, ds in regions(out):
        seen += 1
        row = manifest(out, cohort).set_index("image").loc[path.relative_to(out / cohort / "images").as_posix()]
        assert ds.Modality == "US"
        assert ds.file_meta.MediaStorageSOPClassUID == sim.US_IMAGE_STORAGE
        assert ds.BitsAllocated == 8
        assert ds.PhotometricInterpretation in ("MONOCHROME2", "RGB")
        assert ds.pixel_array.shape[:2] == (ds.Rows, ds.Columns)
        assert ds.pixel_array.ndim == (3 if ds.PhotometricInterpretation == "RGB" else 2)
        assert ds.PatientID == row["patient_id"]
        assert ds.AccessionNumber == row["study_id"]
        for keyword in PHI_ATTRIBUTES:
            assert str(ds.get(keyword, "")).strip(), f"{keyword} missing in {path}"
        (region,) = ds.SequenceOfUltrasoundRegions
        assert region.RegionSpatialFormat == 1
        assert region.RegionDataType == 1
        assert region.PhysicalUnitsXDirection == 3
        assert 0.005 < region.PhysicalDeltaX == region.PhysicalDeltaY < 0.03
    assert seen >= (N_DEV + N_EXT) // 2 - 2


def test_dicom_region_is_the_bmode_rectangle(study):
    out, _ = study
    for _, path, ds in regions(out):
        r = ds.SequenceOfUltrasoundRegions[0]
        x0, y0, x1, y1 = (r.RegionLocationMinX0, r.RegionLocationMinY0, r.RegionLocationMaxX1, r.RegionLocationMaxY1)
        assert 0 < x0 < x1 < ds.Columns - 1 and 0 < y0 < y1 < ds.Rows - 1, path
        gray = ds.pixel_array if ds.pixel_array.ndim == 2 else cv2.cvtColor(ds.pixel_array, cv2.COLOR_RGB2GRAY)
        inside = gray[y0 : y1 + 1, x0 : x1 + 1].astype(float)
        # Each edge of the rectangle touches image data (tight box)...
        for edge in (inside[0], inside[-1], inside[:, 0], inside[:, -1]):
            assert edge.max() > 60, path
        # ...speckle inside, mostly dark UI just outside.
        assert inside.std() > 20
        for outside in (
            gray[y0 - 1, x0 : x1 + 1],
            gray[y1 + 1, x0 : x1 + 1],
            gray[y0 : y1 + 1, x0 - 1],
            gray[y0 : y1 + 1, x1 + 1],
        ):
            assert outside.mean() < 45, path


@pytest.mark.parametrize(
    "cohort, size", [("development", sim.SITES["hospital_A"].screen), ("external", sim.SITES["hospital_B"].screen)]
)
def test_every_image_opens_as_a_whole_screen(study, cohort, size):
    out, _ = study
    for image in manifest(out, cohort)["image"]:
        pixels = load_image(out / cohort / "images" / image)
        assert pixels.dtype == np.uint8
        assert pixels.shape[:2] == (size[1], size[0])
        # The dark UI dominates the border of the screen.
        assert np.median(pixels[:4]) < 60


# ---------------------------------------------------------------- readers, PHI
def test_readers_call_every_external_image_once(study):
    out, _ = study
    readers = pd.read_csv(out / "readers.csv")
    assert list(readers.columns) == ["image", "reader", "call", "score"]
    assert readers["score"].between(0, 100).all()
    assert ((readers["score"] > 50) == (readers["call"] == 1)).all()
    external = manifest(out, "external")
    assert set(readers["image"]) == set(external["image"])
    assert sorted(readers["reader"].unique()) == [f"reader_{k}" for k in range(1, 6)]
    assert (readers.groupby(["image", "reader"]).size() == 1).all()
    assert len(readers) == 5 * len(external)
    assert set(readers["call"]) <= {0, 1}


def test_phi_lists_what_the_files_contain(study):
    out, _ = study
    phi = json.loads((out / "phi.json").read_text())
    assert set(phi) == set(PHI_ATTRIBUTES.values()) | {"family_names", "given_names", "source_folders", "source_paths"}
    tables = pd.concat([manifest(out, c) for c in ("development", "external")])
    text = "\n".join((out / c / "manifest.csv").read_text() for c in ("development", "external"))
    # Everything the manifests carry is listed, and everything listed of those kinds is in them.
    assert set(phi["patient_ids"]) == set(tables["patient_id"])
    assert set(phi["accession_numbers"]) == set(tables["study_id"])
    assert set(phi["source_paths"]) == set(tables["image"])
    assert set(phi["source_folders"]) == {i.split("/")[0] for i in tables["image"]}
    for kind in ("family_names", "given_names"):
        for value in phi[kind]:
            assert value in text, f"{kind} {value!r} not in any manifest"
    # Every PHI value in a DICOM header is listed, and is in the file's bytes.
    for _, path, ds in regions(out):
        raw = path.read_bytes()
        for keyword, kind in PHI_ATTRIBUTES.items():
            value = str(ds.get(keyword))
            assert value in phi[kind], f"{keyword} {value!r} of {path} not in phi.json"
            assert value.encode() in raw
    # Strings are distinctive: long enough not to turn up by chance in binary files.
    for kind, values in phi.items():
        assert values, kind
        assert min(len(v) for v in values) >= 5, kind
        if kind in ("family_names", "given_names", "patient_names", "institutions"):
            assert all(v == v.upper() for v in values)


# ---------------------------------------------------------------- determinism
def test_same_seed_gives_byte_identical_files(tmp_path):
    def snapshot(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    a = sim.simulate_study(tmp_path / "a", seed=11, n_development=6, n_external=4)
    b = sim.simulate_study(tmp_path / "b", seed=11, n_development=6, n_external=4)
    first, second = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert first.keys() == second.keys()
    assert all(first[k] == second[k] for k in first)

    def counts(summary):
        return {
            cohort: {k: v for k, v in summary[cohort].items() if isinstance(v, int)}
            for cohort in ("development", "external")
        }

    assert counts(a) == counts(b)
    c = sim.simulate_study(tmp_path / "c", seed=12, n_development=6, n_external=4)
    assert (
        manifest(tmp_path / "c", "development")["patient_id"].tolist()
        != manifest(tmp_path / "a", "development")["patient_id"].tolist()
    )
    assert c["development"]["images"] == 6


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_development": 3}, "`n_development` must be an integer of at least 4, got 3"),
        ({"n_external": 0}, "`n_external` must be an integer of at least 4, got 0"),
        ({"n_external": 10.0}, "`n_external` must be an integer"),
        ({"n_development": True}, "`n_development` must be an integer"),
    ],
)
def test_simulate_study_rejects_bad_sizes(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sim.simulate_study(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir())
