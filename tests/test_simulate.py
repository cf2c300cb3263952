"""Tests of alnus.simulate: the simulated hospital export of the demo study."""

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


# ---------------------------------------------------------------- clinical
def test_clinical_columns_are_per_patient_plausible_and_follow_the_label():
    rng = np.random.default_rng(3)
    patients = 400
    labels = rng.permutation(np.r_[np.ones(patients // 2, int), np.zeros(patients // 2, int)])
    manifest = pd.DataFrame(
        {
            "image": [f"p{i}/US_{v}.png" for i in range(patients) for v in (1, 2)],
            "patient_id": [f"P{i}" for i in range(patients) for _ in (1, 2)],
            "label": np.repeat(labels, 2),
        }
    )
    records = [
        {"image": image, "suspiciousness": (label - 0.5) * sim.LATENT_SEPARATION + rng.normal()}
        for image, label in zip(manifest["image"], manifest["label"])
    ]
    table = sim.simulate_clinical(np.random.default_rng(1), manifest, records)
    assert list(table.columns) == ["image", "patient_id", "label", *sim.CLINICAL_COLUMNS]
    assert (table.groupby("patient_id")[sim.CLINICAL_COLUMNS].nunique() == 1).all().all()
    assert table["age"].between(25, 95).all() and table["tumour_size_mm"].between(4, 80).all()
    assert set(table["birads"]) <= set(sim.BIRADS_LEVELS) and table["birads"].nunique() >= 4
    by_label = table.drop_duplicates("patient_id").groupby("label")
    assert by_label["age"].mean()[1] < by_label["age"].mean()[0] - 2
    assert by_label["tumour_size_mm"].median()[1] > by_label["tumour_size_mm"].median()[0] + 3
    rank = table["birads"].map({level: i for i, level in enumerate(sim.BIRADS_LEVELS)})
    assert rank[table["label"] == 1].mean() > rank[table["label"] == 0].mean() + 1


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


def test_sites_differ_in_brightness_and_speckle():
    """The external site is a visible domain shift: brighter, with coarser speckle."""
    lesion = sim.sample_lesion(np.random.default_rng(9), 0)
    seen = {}
    for name, site in sim.SITES.items():
        pixels = sim.render_bmode(np.random.default_rng(10), lesion, (400, 340), site=site).pixels.astype(float)
        detail = pixels - cv2.GaussianBlur(pixels, (0, 0), 4)
        lateral = np.corrcoef(detail[:, :-2].ravel(), detail[:, 2:].ravel())[0, 1]
        seen[name] = pixels.mean(), lateral
    assert seen["hospital_B"][0] > seen["hospital_A"][0] + 10
    assert seen["hospital_B"][1] > seen["hospital_A"][1] + 0.1


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


# ---------------------------------------------------------------- building blocks
def test_sample_lesion_rejects_bad_label():
    with pytest.raises(ValueError, match="`label` must be 0 or 1, got 2"):
        sim.sample_lesion(np.random.default_rng(0), 2)


def test_lesion_cues_follow_the_label():
    rng = np.random.default_rng(0)
    pos = [sim.sample_lesion(rng, 1) for _ in range(300)]
    neg = [sim.sample_lesion(rng, 0) for _ in range(300)]

    def mean(lesions, field):
        return np.mean([getattr(lesion, field) for lesion in lesions])

    assert mean(pos, "suspiciousness") > mean(neg, "suspiciousness") + 1.5
    assert mean(pos, "width_frac") > mean(neg, "width_frac")
    assert mean(pos, "aspect") > mean(neg, "aspect")
    assert mean(pos, "echo") < mean(neg, "echo")
    assert mean(pos, "posterior") < 1 < mean(neg, "posterior")
    assert mean(pos, "spicules") > mean(neg, "spicules")
    # ...but the classes overlap: some negatives look worse than some positives.
    assert max(x.visible for x in neg) > min(x.visible for x in pos)
    for lesion in pos + neg:
        assert 0.15 <= lesion.width_frac <= 0.35


def test_second_view_keeps_the_tumour():
    rng = np.random.default_rng(1)
    lesion = sim.sample_lesion(rng, 1)
    other = sim.second_view(rng, lesion)
    assert other.suspiciousness == lesion.suspiciousness
    assert (other.echo, other.spicules, other.posterior) == (lesion.echo, lesion.spicules, lesion.posterior)
    assert 0.15 <= other.width_frac <= 0.35


@pytest.mark.parametrize("sector", [False, True])
def test_render_bmode_shape_and_lesion(sector):
    lesion = sim.sample_lesion(np.random.default_rng(2), 1)
    bmode = sim.render_bmode(np.random.default_rng(3), lesion, (300, 240), sector=sector)
    assert bmode.pixels.shape == bmode.valid.shape == bmode.lesion_mask.shape == (240, 300)
    assert bmode.pixels.dtype == np.uint8
    assert (bmode.pixels[~bmode.valid] == 0).all()
    assert bmode.valid.all() != sector
    x, y, w, h = bmode.lesion_box
    assert 0 <= x and x + w <= 300 and 0 <= y and y + h <= 240
    assert 0.1 * 300 <= w <= 0.5 * 300
    # The lesion is hypoechoic against its surroundings.
    assert bmode.pixels[bmode.lesion_mask].mean() < bmode.pixels[bmode.valid & ~bmode.lesion_mask].mean()
    again = sim.render_bmode(np.random.default_rng(3), lesion, (300, 240), sector=sector)
    assert np.array_equal(again.pixels, bmode.pixels)


def test_render_bmode_rejects_tiny_size():
    lesion = sim.sample_lesion(np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match=r"`size` must be at least \(64, 64\) pixels, got \(40, 300\)"):
        sim.render_bmode(np.random.default_rng(0), lesion, (40, 300))


def test_positive_lesions_render_darker_and_larger():
    """A small version of the signal check: the cues survive rendering."""
    rng = np.random.default_rng(4)
    stats = {0: [], 1: []}
    for label in (0, 1) * 12:
        bmode = sim.render_bmode(rng, sim.sample_lesion(rng, label), (200, 170))
        around = bmode.valid & ~bmode.lesion_mask
        stats[label].append(
            (bmode.lesion_mask.mean(), bmode.pixels[bmode.lesion_mask].mean() / bmode.pixels[around].mean())
        )
    area = {k: np.mean([s[0] for s in v]) for k, v in stats.items()}
    contrast = {k: np.mean([s[1] for s in v]) for k, v in stats.items()}
    assert area[1] > area[0]
    assert contrast[1] < contrast[0]


def _exam(site):
    import datetime as dt

    return sim.Exam(
        patient_id="MRN7654321",
        family="TESTCASE",
        given="EXAMPLE",
        birth_date=dt.date(1960, 5, 17),
        institution=site.institutions[0],
        accession="ACC2017123456",
        exam_date=dt.date(2017, 3, 2),
        exam_time="10:11:12",
        physician="DR^SOMEONE^ELSE",
        operator="SONOGRAPHER^ANNA",
        laterality="L",
        clock=2,
        depth_cm=4.0,
    )


@pytest.mark.parametrize("site_name", sorted(sim.SITES))
def test_draw_screen_places_bmode_inside_screen(site_name):
    site = sim.SITES[site_name]
    rng = np.random.default_rng(5)
    size = (site.bmode_width[1], site.bmode_height[1])
    bmode = sim.render_bmode(rng, sim.sample_lesion(rng, 0), size, site=site)
    screen, (x0, y0, x1, y1) = sim.draw_screen(rng, bmode, _exam(site), site=site)
    assert screen.shape == (site.screen[1], site.screen[0], 3)
    assert (x1 - x0 + 1, y1 - y0 + 1) == size
    # The B-mode pixels are pasted unchanged, except where calipers and notes are drawn on them.
    inside = screen[y0 : y1 + 1, x0 : x1 + 1, 0]
    assert np.mean(inside == bmode.pixels) > 0.97
    # PHI is burned into the margins, not into the B-mode image.
    margin = screen.copy()
    margin[y0 : y1 + 1, x0 : x1 + 1] = 0
    assert (margin[:y0] > 150).any()


def test_draw_screen_rejects_bmode_too_large_for_screen():
    site = sim.SITES["hospital_A"]
    rng = np.random.default_rng(6)
    bmode = sim.render_bmode(rng, sim.sample_lesion(rng, 0), (560, 440), site=site)
    with pytest.raises(ValueError, match="does not fit the 640x480 screen of hospital_A"):
        sim.draw_screen(rng, bmode, _exam(site), site=site)


@pytest.mark.parametrize("rgb", [False, True])
def test_write_dicom_round_trip(tmp_path, rgb):
    site = sim.SITES["hospital_B"]
    pixels = np.arange(60 * 80 * (3 if rgb else 1), dtype=np.uint64).astype(np.uint8)
    pixels = pixels.reshape((60, 80, 3) if rgb else (60, 80))
    path = tmp_path / "TESTCASE_EXAMPLE" / "IMG_0001.dcm"
    sim.write_dicom(
        path,
        pixels,
        _exam(site),
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


def test_simulate_readers_hits_targets_on_a_large_cohort():
    rng = np.random.default_rng(8)
    labels = np.r_[np.ones(4000, int), np.zeros(4000, int)]
    visible = [sim.sample_lesion(rng, int(y)).visible for y in labels]
    images = pd.DataFrame({"image": [f"img{k}" for k in range(len(labels))], "visible": visible})
    calls = sim.simulate_readers(rng, images)
    calls["label"] = np.tile(labels, len(sim.READERS))
    for reader, (sens, spec) in sim.READERS.items():
        mine = calls[calls["reader"] == reader]
        assert mine.loc[mine["label"] == 1, "call"].mean() == pytest.approx(sens, abs=0.03)
        assert 1 - mine.loc[mine["label"] == 0, "call"].mean() == pytest.approx(spec, abs=0.03)
    # Readers agree more than independent coin flips would: calls are correlated.
    wide = calls.pivot(index="image", columns="reader", values="call")
    assert wide.corr().to_numpy()[np.triu_indices(5, 1)].min() > 0.2


def test_simulate_readers_rejects_unreachable_target():
    images = pd.DataFrame({"image": ["a"], "visible": [0.0]})
    with pytest.raises(ValueError, match="reader 'perfect': sensitivity 0.99 with specificity 0.99 is not reachable"):
        sim.simulate_readers(np.random.default_rng(0), images, readers={"perfect": (0.99, 0.99)})
