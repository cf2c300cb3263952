"""Tests for alnus.preprocess: crop, convert and pseudonymise one cohort."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from alnus.annotations import load_examples
from alnus.manifest import InputError
from alnus.preprocess import (
    ANNOTATION_COLUMNS,
    LINKAGE_COLUMNS,
    pick_examples,
    preprocess_cohort,
    preprocess_job,
)
from alnus.pseudonym import KEY_ENV_VAR, pseudonym

KEY = b"test-key-0123456789abcdef"
HEIGHT, WIDTH = 120, 160
# source image -> speckle rectangle (x, y, w, h) on a dark 160x120 screen
SCREENS = {
    "s1.png": (30, 20, 100, 80),
    "s2.png": (10, 30, 120, 70),
    "sub/s3.bmp": (40, 10, 90, 90),
    "colour.png": (20, 25, 110, 75),  # written as a 3-channel BGR image
}


def screen(rect: tuple[int, int, int, int], seed: int) -> np.ndarray:
    """A dark, flat scanner screen with a speckled B-mode rectangle."""
    x, y, w, h = rect
    pixels = np.full((HEIGHT, WIDTH), 12, np.uint8)
    pixels[y : y + h, x : x + w] = np.random.default_rng(seed).integers(40, 230, (h, w), dtype=np.uint8)
    return pixels


@pytest.fixture
def images(tmp_path) -> Path:
    folder = tmp_path / "images"
    for seed, (name, rect) in enumerate(SCREENS.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = screen(rect, seed)
        if name == "colour.png":
            pixels = cv2.merge([pixels, pixels, pixels])
        assert cv2.imwrite(str(path), pixels)
    return folder


@pytest.fixture
def manifest() -> pd.DataFrame:
    """A checked manifest (as alnus.manifest.check_manifest returns it)."""
    return pd.DataFrame(
        {
            "image": list(SCREENS),
            "patient_id": ["007", "007", "P2", "P3"],
            "label": [1, 1, 0, 1],
            "site": ["A", "A", "B", "A"],
            "bbox": ["35,25,50,40", "", "[50, 20, 30, 30]", "20,25,110,75"],
        }
    )


def run_full(manifest, images, tmp_path, **options):
    options = {"cohort": "development", "key": KEY, "out_dir": tmp_path / "out", **options}
    return preprocess_cohort(manifest, images, **options)


def run(manifest, images, tmp_path, **options):
    """(public, linkage), as most tests need."""
    return run_full(manifest, images, tmp_path, **options)[:2]


def read_png(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


# --- outputs -----------------------------------------------------------------------


@pytest.mark.parametrize("crop", ["auto", "none"])
def test_pngs_named_by_pseudonym_8bit_single_channel(tmp_path, images, manifest, crop):
    public, linkage = run(manifest, images, tmp_path, crop=crop)
    expected_ids = [pseudonym(KEY, "development", "image", image) for image in SCREENS]
    assert list(public["id"]) == expected_ids
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{i}.png" for i in expected_ids)
    for row in linkage.itertuples():
        png = read_png(tmp_path / "out" / f"{row.id}.png")
        assert png.dtype == np.uint8 and png.ndim == 2
        assert png.shape == (row.crop_h, row.crop_w)


def test_auto_crop_finds_the_bmode_rectangle(tmp_path, images, manifest):
    _, linkage = run(manifest, images, tmp_path, crop="auto")
    assert set(linkage["crop_method"]) == {"image_analysis"}
    for row in linkage.itertuples():
        box = (row.crop_x, row.crop_y, row.crop_w, row.crop_h)
        assert box == pytest.approx(SCREENS[row.image], abs=2)


def test_auto_crop_keeps_source_pixels(tmp_path, images, manifest):
    _, linkage = run(manifest.iloc[:1], images, tmp_path, crop="auto")
    row = linkage.iloc[0]
    source = read_png(images / row["image"])
    expected = source[row["crop_y"] : row["crop_y"] + row["crop_h"], row["crop_x"] : row["crop_x"] + row["crop_w"]]
    np.testing.assert_array_equal(read_png(tmp_path / "out" / f"{row['id']}.png"), expected)


def test_crop_none_keeps_the_full_image(tmp_path, images, manifest):
    _, linkage = run(manifest, images, tmp_path, crop="none")
    assert set(linkage["crop_method"]) == {"full_image"}
    assert (linkage[["crop_x", "crop_y", "crop_w", "crop_h"]].to_numpy() == [0, 0, WIDTH, HEIGHT]).all()


@pytest.mark.parametrize(
    "bbox, margin, box",
    [
        pytest.param("35,25,50,40", 0.0, (35, 25, 50, 40), id="no margin"),
        pytest.param("35,25,50,40", 0.1, (30, 21, 60, 48), id="10% margin"),
        pytest.param("[50, 20, 30, 30]", 0.0, (50, 20, 30, 30), id="BUS-BRA style"),
        pytest.param("140,100,40,40", 0.0, (140, 100, 20, 20), id="clipped to the image"),
    ],
)
def test_bbox_crop(tmp_path, images, manifest, bbox, margin, box):
    one = manifest.iloc[:1].assign(bbox=bbox)
    _, linkage = run(one, images, tmp_path, crop="bbox", bbox_margin=margin)
    row = linkage.iloc[0]
    assert (row["crop_x"], row["crop_y"], row["crop_w"], row["crop_h"]) == box
    assert row["crop_method"] == "bbox"
    assert read_png(tmp_path / "out" / f"{row['id']}.png").shape == (box[3], box[2])


@pytest.mark.parametrize("site", [True, False])
def test_public_frame_has_pseudonyms_and_no_source_names(tmp_path, images, manifest, site):
    if not site:
        manifest = manifest.drop(columns="site")
    public, _ = run(manifest, images, tmp_path, crop="none")
    assert list(public.columns) == ["id", "patient", "label"] + (["site"] if site else [])
    assert list(public["patient"]) == [pseudonym(KEY, "development", "patient", p) for p in manifest["patient_id"]]
    assert public["patient"].iloc[0] == public["patient"].iloc[1]  # two images of patient 007
    assert list(public["label"]) == [1, 1, 0, 1]
    cells = set(public.astype(str).to_numpy().ravel())
    assert not cells & (set(manifest["image"]) | set(manifest["patient_id"]))


def test_linkage_has_source_names_and_crop_boxes(tmp_path, images, manifest):
    public, linkage = run(manifest, images, tmp_path, crop="none")
    assert list(linkage.columns) == LINKAGE_COLUMNS
    assert list(linkage["image"]) == list(manifest["image"])
    assert list(linkage["id"]) == list(public["id"])
    assert linkage.loc[linkage["image"] == "colour.png", "source_notes"].iloc[0] != ""  # the conversion is noted


def test_cohort_is_part_of_every_pseudonym(tmp_path, images, manifest):
    development, _ = run(manifest, images, tmp_path, crop="none", cohort="development")
    external, _ = run(manifest, images, tmp_path, crop="none", cohort="external", out_dir=tmp_path / "ext")
    assert not set(development["id"]) & set(external["id"])
    assert not set(development["patient"]) & set(external["patient"])


def test_threads_give_the_same_result(tmp_path, images, manifest):
    one = run(manifest, images, tmp_path, crop="auto", threads=1, out_dir=tmp_path / "one")
    four = run(manifest, images, tmp_path, crop="auto", threads=4, out_dir=tmp_path / "four")
    for a, b in zip(one, four):
        pd.testing.assert_frame_equal(a, b)


def test_dicom_ultrasound_region_is_used(tmp_path, manifest):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, UltrasoundImageStorage, generate_uid

    pixels = screen((30, 20, 100, 80), seed=9)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UltrasoundImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    region = Dataset()
    region.RegionLocationMinX0, region.RegionLocationMinY0 = 32, 22
    region.RegionLocationMaxX1, region.RegionLocationMaxY1 = 121, 91
    region.RegionDataType, region.RegionSpatialFormat = 1, 1
    ds.SequenceOfUltrasoundRegions = pydicom.Sequence([region])
    images = tmp_path / "images"
    images.mkdir()
    ds.save_as(images / "IM0001", enforce_file_format=True)

    one = manifest.iloc[:1].assign(image="IM0001")
    _, linkage = run(one, images, tmp_path, crop="auto")
    row = linkage.iloc[0]
    assert row["crop_method"] == "dicom_region"
    assert (row["crop_x"], row["crop_y"], row["crop_w"], row["crop_h"]) == (32, 22, 90, 70)
    np.testing.assert_array_equal(read_png(tmp_path / "out" / f"{row['id']}.png"), pixels[22:92, 32:122])


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize("drop_column", [False, True], ids=["empty bbox", "no bbox column"])
def test_bbox_crop_without_bbox_names_the_file(tmp_path, images, manifest, drop_column):
    if drop_column:
        manifest = manifest.drop(columns="bbox")
    expected = (
        rf"line 2: image {re.escape(str(images / 's2.png'))} cannot be preprocessed: "
        r"preprocess.crop is bbox but this image has no `bbox` in the manifest"
    )
    with pytest.raises(InputError, match=expected):
        run(manifest.iloc[1:2], images, tmp_path, crop="bbox")


def test_unknown_crop_mode(tmp_path, images, manifest):
    with pytest.raises(ValueError, match=r"preprocess.crop must be auto, bbox or none, got 'roi'"):
        run(manifest, images, tmp_path, crop="roi")


def test_every_unusable_image_is_named_and_nothing_is_left(tmp_path, images, manifest):
    """Three bad images among four: all three named with their manifest
    lines in one error, and the good image's PNG removed again."""
    (images / "s2.png").write_text("not an image")
    (images / "sub" / "s3.bmp").unlink()
    cv2.imwrite(str(images / "s1.png"), np.full((1, 1), 9, np.uint8))
    manifest = manifest.iloc[[3, 0, 1, 2]]  # the good image first, so that its PNG is written
    with pytest.raises(InputError) as caught:
        run(manifest, images, tmp_path, crop="auto", threads=2, manifest_file="dev.csv")
    message = str(caught.value)
    assert message.startswith("The development manifest dev.csv has 3 problem(s):")
    for line, name, problem in [
        (3, "s1.png", "image is only 1 x 1 pixels"),
        (4, "s2.png", "not a PNG/JPEG/BMP"),
        (5, "sub/s3.bmp", "file not found"),
    ]:
        assert f"line {line}: image {images / name} cannot be preprocessed: {problem}" in message
    assert message.index("line 3:") < message.index("line 4:") < message.index("line 5:")
    assert list((tmp_path / "out").iterdir()) == []


# --- burned-in annotations -------------------------------------------------------------


def annotated_screen(seed: int, *, mark: bool) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A dark screen with a simulated B-mode image pasted at (40, 30); with `mark`,
    a caliper "+" burned into the image as scanners do."""
    from alnus import simulate as sim

    rng = np.random.default_rng(seed)
    b = sim.render_bmode(rng, sim.sample_lesion(rng, 1), (240, 200))
    image = b.pixels.copy()
    if mark:
        cv2.line(image, (96, 60), (104, 60), 235, 1)
        cv2.line(image, (100, 56), (100, 64), 235, 1)
    screen = np.full((280, 320), 8, np.uint8)
    screen[30:230, 40:280] = image
    return screen, (40, 30, 240, 200)


@pytest.fixture
def marked(tmp_path) -> tuple[Path, pd.DataFrame]:
    folder = tmp_path / "marked"
    folder.mkdir()
    for name, seed, mark in (("a.png", 1, True), ("b.png", 2, False), ("c.png", 3, True)):
        assert cv2.imwrite(str(folder / name), annotated_screen(seed, mark=mark)[0])
    manifest = pd.DataFrame(
        {"image": ["a.png", "b.png", "c.png"], "patient_id": ["P1", "P2", "P3"], "label": [1, 0, 1]}
    )
    return folder, manifest


def test_annotations_are_removed_and_audited(tmp_path, marked):
    folder, manifest = marked
    result = run_full(manifest, folder, tmp_path, crop="auto")
    table = result.annotations.set_index("id")
    assert list(result.annotations.columns) == ANNOTATION_COLUMNS
    assert list(table.index) == list(result.public["id"])
    ids = dict(zip(manifest["image"], result.public["id"]))
    assert table.loc[ids["a.png"], "caliper"] == 1 and table.loc[ids["c.png"], "caliper"] == 1
    assert table.loc[ids["b.png"], ["text", "caliper", "line", "pixels_changed"]].sum() == 0
    assert table.loc[ids["a.png"], "pixels_changed"] > 0 and table.loc[ids["a.png"], "mode"] == "remove"
    assert table.loc[ids["a.png"], "found"].startswith("caliper ")
    for image, image_id in ids.items():
        source, (x, y, w, h) = annotated_screen({"a.png": 1, "b.png": 2, "c.png": 3}[image], mark=image != "b.png")
        written = read_png(tmp_path / "out" / f"{image_id}.png")
        crop = source[y : y + h, x : x + w]
        changed = int(np.count_nonzero(written != crop))
        assert changed == table.loc[image_id, "pixels_changed"]
        if image != "b.png":
            assert written[60 - y + 30, 100 - x + 40] != 235  # the caliper's centre is gone


@pytest.mark.parametrize("mode", ["detect", "off", False])
def test_annotation_modes_leave_pixels(tmp_path, marked, mode):
    folder, manifest = marked
    result = run_full(manifest, folder, tmp_path, crop="auto", annotations={"mode": mode})
    assert (result.annotations["pixels_changed"] == 0).all()
    expected = 2 if mode == "detect" else 0
    assert int((result.annotations["caliper"] > 0).sum()) == expected
    assert set(result.annotations["mode"]) == {"off" if mode is False else mode}


def test_examples_are_the_annotated_images(tmp_path, marked):
    folder, manifest = marked
    result = run_full(manifest, folder, tmp_path, crop="auto", examples=4)
    ids = dict(zip(manifest["image"], result.public["id"]))
    assert set(result.examples) == {ids["a.png"], ids["c.png"]}
    before, after, mask = result.examples[ids["a.png"]]
    assert before.shape == after.shape == mask.shape == (200, 240) and mask.dtype == bool
    np.testing.assert_array_equal(after, read_png(tmp_path / "out" / f"{ids['a.png']}.png"))
    assert run_full(manifest, folder, tmp_path, crop="auto", examples=0, out_dir=tmp_path / "o2").examples == {}


def test_pick_examples_prefers_more_kinds_then_more_pixels_then_id():
    table = pd.DataFrame(
        {
            "id": ["b", "a", "c", "d", "e"],
            "text": [1, 1, 0, 0, 0],
            "caliper": [2, 2, 1, 0, 3],
            "line": [0, 0, 0, 0, 1],
            "ocr_text": [0] * 5,
            "mask_pixels": [50, 50, 900, 0, 10],
        }
    )
    assert pick_examples(table, 3) == ["a", "b", "e"]  # two kinds each; then pixels, then id
    assert pick_examples(table, 0) == [] and pick_examples(table, 10) == ["a", "b", "e", "c"]


def test_invalid_annotation_options_fail_before_any_image(tmp_path, marked):
    folder, manifest = marked
    with pytest.raises(ValueError, match=r"preprocess.annotations has unknown key\(s\) colour; valid keys are mode"):
        run_full(manifest, folder, tmp_path, annotations={"colour": True})
    with pytest.raises(ValueError, match=r"`mode` must be one of remove, detect, off, got 'blur'"):
        run_full(manifest, folder, tmp_path, annotations={"mode": "blur"})
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_outputs_carry_no_metadata_and_no_source_names(tmp_path, marked):
    from alnus.phi_audit import png_chunks

    folder, manifest = marked
    result = run_full(manifest, folder, tmp_path, crop="auto")
    for png in (tmp_path / "out").iterdir():
        assert {t for t, _ in png_chunks(png.read_bytes())} == {b"IHDR", b"IDAT", b"IEND"}
    public_text = result.public.to_csv() + result.annotations.to_csv()
    for value in [*manifest["image"], *manifest["patient_id"], str(folder)]:
        assert value not in public_text


def test_preprocess_job_checks_the_manifest_reads_the_key_and_writes_every_output(
    tmp_path, images, manifest, monkeypatch
):
    """The rule's job: the manifest file checked, the key from the key file
    (never created here), the four tables and the examples written; the
    tables are those of preprocess_cohort."""
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    out = {name: tmp_path / "job" / name for name in ("manifest.csv", "linkage.csv", "annotations.csv", "examples.npz")}
    options = {"crop": "auto", "bbox_margin": 0.1, "annotations": None, "ocr": None, "examples": 1}
    job = {
        "cohort": "development",
        "key_file": tmp_path / "private" / "pseudonym.key",
        "out_manifest": out["manifest.csv"],
        "out_images": tmp_path / "job" / "images",
        "out_linkage": out["linkage.csv"],
        "out_annotations": out["annotations.csv"],
        "out_examples": out["examples.npz"],
        **options,
    }
    with pytest.raises(ValueError, match="does not exist; rule pseudonym_key writes it"):
        preprocess_job(tmp_path / "manifest.csv", images, **job)
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "pseudonym.key").write_text(KEY.decode() + "\n")
    (tmp_path / "job").mkdir()
    preprocess_job(tmp_path / "manifest.csv", images, **job)
    result = run_full(manifest, images, tmp_path, **options)
    public = pd.read_csv(out["manifest.csv"], dtype={"id": str, "patient": str, "site": str})
    pd.testing.assert_frame_equal(public, result.public)
    assert pd.read_csv(out["linkage.csv"])["id"].tolist() == result.linkage["id"].tolist()
    assert pd.read_csv(out["annotations.csv"])["id"].tolist() == result.annotations["id"].tolist()
    assert list(load_examples(out["examples.npz"])) == list(result.examples)
    assert sorted(p.name for p in (tmp_path / "job" / "images").iterdir()) == sorted(
        p.name for p in (tmp_path / "out").iterdir()
    )
