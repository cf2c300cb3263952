"""Tests of alnus.busbra: the BUS-BRA folder as the study's two cohort manifests.

Every test builds its own tiny BUS-BRA folder (same layout, eight images); the
real dataset is never needed.
"""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from alnus.busbra import BusBraError, convert_bbox, convert_busbra, read_busbra
from alnus.manifest import check_manifest

GE7, GE5 = "GE Logiq 7 @10-14MHz", "GE Logiq 5 @10-12MHz"
TOSHIBA, USYS = "Toshiba Aplio 300 @12-14 MHz", "U-Systems @10-14MHz"
# ID, Case, Pathology, Device, BBOX: as bus_data.csv writes them
ROWS = [
    ("bus_0001-l", 1, "malignant", GE7, "[2,3,10,8]"),
    ("bus_0001-r", 1, "malignant", GE7, "[4,1,9,9]"),
    ("bus_0002-s", 2, "benign", GE5, "[0,0,5,5]"),
    ("bus_0003-l", 3, "benign", GE5, "[1,2,3,4]"),
    ("bus_0003-r", 3, "benign", GE5, "[5,6,7,8]"),
    ("bus_0004-s", 4, "malignant", TOSHIBA, "[3,3,12,10]"),
    ("bus_0005-l", 5, "benign", USYS, "[6,2,8,8]"),
    ("bus_0005-r", 5, "benign", USYS, "[7,4,6,9]"),
]
N = len(ROWS)


def make_busbra(root: Path, rows=ROWS, *, images=True) -> Path:
    """Write a BUS-BRA-shaped folder: bus_data.csv, Images/<ID>.png, Masks/."""
    root.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows, columns=["ID", "Case", "Pathology", "Device", "BBOX"])
    malignant = table["Pathology"] == "malignant"
    table.insert(2, "Histology", np.where(malignant, "invasive ductal carcinoma", "fibroadenoma"))
    table.insert(4, "BIRADS", 4)
    table.insert(6, "Width", 24)
    table.insert(7, "Height", 20)
    table.insert(8, "Side", table["ID"].str[-1].map({"l": "left", "r": "right", "s": "single"}))
    table.to_csv(root / "bus_data.csv", index=False)
    (root / "Masks").mkdir(exist_ok=True)
    if images:
        (root / "Images").mkdir(exist_ok=True)
        pixels = np.random.default_rng(0).integers(0, 256, (20, 24), dtype=np.uint8)
        for image_id in table["ID"]:
            cv2.imwrite(str(root / "Images" / f"{image_id}.png"), pixels)
    return root


@pytest.fixture
def busbra(tmp_path):
    return make_busbra(tmp_path / "bus-bra")


@pytest.fixture
def converted(busbra, tmp_path):
    out = tmp_path / "resources" / "bus-bra"
    summary = convert_busbra(busbra, out, expected_images=N)
    return busbra, out, summary


def manifest(out: Path, cohort: str) -> pd.DataFrame:
    return pd.read_csv(out / cohort / "manifest.csv", dtype=str)


# ---------------------------------------------------------------- conversion
@pytest.mark.parametrize(
    "cohort, images, patients, positives, sites",
    [
        ("development", 5, 3, 2, "GE Logiq 5, GE Logiq 7"),
        ("external", 3, 2, 1, "Toshiba Aplio 300, U-Systems"),
    ],
)
def test_summary_and_manifest_counts(converted, cohort, images, patients, positives, sites):
    _, out, summary = converted
    row = summary.set_index("cohort").loc[cohort]
    assert (row["images"], row["patients"], row["positives"], row["sites"]) == (images, patients, positives, sites)
    table = manifest(out, cohort)
    assert list(table.columns) == ["image", "patient_id", "label", "site", "bbox", "birads"]
    assert set(table["birads"]) == {"4"}  # bus_data.csv's BIRADS, offered as a clinical variable
    assert len(table) == images and table["patient_id"].nunique() == patients
    assert (table["label"] == "1").sum() == positives


@pytest.mark.parametrize("cohort", ["development", "external"])
def test_manifests_pass_the_pipelines_own_check(converted, cohort):
    _, out, _ = converted
    checked = check_manifest(out / cohort / "manifest.csv", out / cohort / "images", cohort=cohort, check_pixels=True)
    assert set(checked["label"]) <= {0, 1}


def test_images_are_links_into_the_dataset_not_copies(converted):
    busbra, out, _ = converted
    links = sorted((out / "development" / "images").iterdir()) + sorted((out / "external" / "images").iterdir())
    assert len(links) == N
    for link in links:
        assert link.is_symlink()
        assert link.resolve() == (busbra / "Images" / link.name).resolve()


def test_labels_follow_pathology(converted):
    _, out, _ = converted
    both = pd.concat([manifest(out, c) for c in ("development", "external")]).set_index("image")
    expected = {f"{image_id}.png": str(int(pathology == "malignant")) for image_id, _, pathology, _, _ in ROWS}
    assert both["label"].to_dict() == expected


def test_patient_is_the_case_and_keeps_both_views_together(converted):
    _, out, _ = converted
    table = manifest(out, "development").set_index("image")
    assert table.loc["bus_0001-l.png", "patient_id"] == table.loc["bus_0001-r.png", "patient_id"] == "1"
    assert table.loc["bus_0003-l.png", "patient_id"] == table.loc["bus_0003-r.png", "patient_id"] == "3"
    assert table.loc["bus_0002-s.png", "patient_id"] == "2"


@pytest.mark.parametrize(
    "image, cohort, site",
    [
        ("bus_0001-l.png", "development", "GE Logiq 7"),
        ("bus_0002-s.png", "development", "GE Logiq 5"),
        ("bus_0004-s.png", "external", "Toshiba Aplio 300"),
        ("bus_0005-r.png", "external", "U-Systems"),
    ],
)
def test_device_decides_cohort_and_site(converted, image, cohort, site):
    _, out, _ = converted
    table = manifest(out, cohort).set_index("image")
    assert table.loc[image, "site"] == site
    other = "external" if cohort == "development" else "development"
    assert image not in set(manifest(out, other)["image"])


def test_bbox_column_is_converted(converted):
    _, out, _ = converted
    table = manifest(out, "development").set_index("image")
    assert table.loc["bus_0001-l.png", "bbox"] == "2,3,10,8"


def test_converting_again_replaces_the_links(converted):
    busbra, out, _ = converted
    summary = convert_busbra(busbra, out, expected_images=N)
    assert summary["images"].sum() == N
    assert len(list((out / "external" / "images").iterdir())) == 3


# ---------------------------------------------------------------- bbox
@pytest.mark.parametrize(
    "value, expected",
    [
        ("[91,24,103,79]", "91,24,103,79"),
        ("[91, 24, 103, 79]", "91,24,103,79"),
        (" [0,0,5,5] ", "0,0,5,5"),
        ("[1.5,2,3.25,4]", "1.5,2,3.25,4"),
        ("91,24,103,79", "91,24,103,79"),
    ],
)
def test_convert_bbox(value, expected):
    assert convert_bbox(value) == expected


@pytest.mark.parametrize("value", ["[1,2,3]", "[1,2,3,4,5]", "[1,2,0,4]", "[1,2,3,-4]", "[-1,2,3,4]", "[a,b,c,d]", ""])
def test_convert_bbox_refuses(value):
    with pytest.raises(ValueError, match=r"`BBOX` must be \[x, y, w, h\]"):
        convert_bbox(value)


# ---------------------------------------------------------------- errors
def _drop_images(root: Path):
    for name in ("bus_0001-r.png", "bus_0005-l.png"):
        (root / "Images" / name).unlink()


def _drop_csv(root: Path):
    (root / "bus_data.csv").unlink()


def _drop_images_folder(root: Path):
    for path in (root / "Images").iterdir():
        path.unlink()
    (root / "Images").rmdir()


def _rewrite(column: str, row: int, value):
    def change(root: Path):
        table = pd.read_csv(root / "bus_data.csv", dtype=str, keep_default_na=False)
        table.loc[row, column] = value
        table.to_csv(root / "bus_data.csv", index=False)

    return change


def _drop_column(column: str):
    def change(root: Path):
        pd.read_csv(root / "bus_data.csv", dtype=str).drop(columns=column).to_csv(root / "bus_data.csv", index=False)

    return change


@pytest.mark.parametrize(
    "damage, expected, match",
    [
        (_drop_csv, N, r"bus_data\.csv is missing"),
        (_drop_images_folder, N, r"the Images/ folder is missing"),
        (_drop_images, N, r"Images/ lacks 2 of the 8 images named in bus_data\.csv: bus_0001-r\.png, bus_0005-l\.png"),
        (None, 1875, r"bus_data\.csv lists 8 images; the published BUS-BRA has 1,875"),
        (_drop_column("Device"), N, r"bus_data\.csv lacks column\(s\) Device"),
        (_rewrite("Pathology", 2, "normal"), N, r"line 4: `Pathology` must be benign or malignant, got 'normal'"),
        (_rewrite("Device", 0, "Philips iU22"), N, r"line 2: unknown `Device` 'Philips iU22'"),
        (_rewrite("BBOX", 3, "[1,2,3]"), N, r"line 5: `BBOX` must be \[x, y, w, h\]"),
        (_rewrite("Case", 5, "1"), N, r"Case 1 has images in both cohorts"),
    ],
)
def test_incomplete_or_wrong_folder_is_refused(busbra, tmp_path, damage, expected, match):
    if damage:
        damage(busbra)
    with pytest.raises(BusBraError, match=match) as raised:
        convert_busbra(busbra, tmp_path / "out", expected_images=expected)
    message = str(raised.value)
    assert "https://doi.org/10.5281/zenodo.7730709" in message
    assert "bus_data.csv" in message and "Images/" in message  # the layout expected
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_missing_folder_is_refused_with_the_download_instructions(tmp_path):
    with pytest.raises(BusBraError, match=r"the folder .*nowhere does not exist") as raised:
        read_busbra(tmp_path / "nowhere")
    assert "zenodo.7730709" in str(raised.value) and "set `bus_bra_dir`" in str(raised.value)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_unset_bus_bra_dir_is_refused(value):
    with pytest.raises(BusBraError, match=r"`bus_bra_dir` is not set in the config"):
        read_busbra(value)


def test_all_problems_are_reported_together(busbra):
    _drop_images(busbra)
    _rewrite("Pathology", 2, "normal")(busbra)
    with pytest.raises(BusBraError) as raised:
        read_busbra(busbra)
    message = str(raised.value)
    assert "lists 8 images" in message and "lacks 2 of the 8" in message and "`Pathology`" in message


def test_many_missing_images_are_counted_not_all_named(tmp_path):
    rows = [(f"bus_{i:04d}-s", i, "benign", GE5, "[1,1,2,2]") for i in range(1, 31)]
    root = make_busbra(tmp_path / "bus-bra", rows, images=False)
    (root / "Images").mkdir()
    with pytest.raises(BusBraError, match=r"lacks 30 of the 30 images .*bus_0010-s\.png and 20 more"):
        read_busbra(root, expected_images=30)


# ---------------------------------------------------------------- workflow
# These run the real Snakefile; they need common.smk's start-up check to let
# manifests under resources/bus-bra/ be absent (rule convert_busbra writes them).
ROOT = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, bus_bra_dir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(ROOT / "config" / "bus-bra.yaml"),
        "--config",
        f"bus_bra_dir={bus_bra_dir}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_bus_bra_config_plans_the_whole_study(busbra, tmp_path):
    run = snakemake(tmp_path / "work", busbra, "--dry-run", "--quiet", "rules")
    assert run.returncode == 0, run.stdout + run.stderr
    for rule in ("convert_busbra", "validate_inputs", "preprocess", "train", "predict", "metrics", "roc_figure"):
        assert rule in run.stdout


def test_rule_reports_an_incomplete_folder_to_the_user(busbra, tmp_path):
    _drop_images(busbra)
    run = snakemake(tmp_path / "work", busbra, "--cores", "1", "resources/bus-bra/development/manifest.csv")
    assert run.returncode != 0
    assert "lacks 2 of the 8 images" in run.stderr and "https://doi.org/10.5281/zenodo.7730709" in run.stderr
