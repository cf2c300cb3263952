"""The public BUS-BRA breast ultrasound dataset as the study's two cohorts.

BUS-BRA (Gómez-Flores et al., Medical Physics 2024; Zenodo doi
10.5281/zenodo.7730709) has 1,875 biopsy-proven images of 1,064 patients from
four scanners. It carries no lymph node status, so the closest public task
stands in: benign (0) versus malignant (1). As in the paper's two hospitals,
the development cohort is one vendor (GE Logiq 5 and Logiq 7) and the external
cohort the others (Toshiba Aplio 300 and U-Systems).

The manifests written here are ordinary ALN-US manifests; each cohort's
`images` folder holds one symbolic link per image into the dataset's own
Images/ folder, so nothing is copied and the dataset is never written to.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from alnus.manifest import InputError
from alnus.vocabulary import COHORTS

BUSBRA_IMAGES = 1875
ZENODO_DOI = "10.5281/zenodo.7730709"
CSV_NAME = "bus_data.csv"
IMAGES_NAME = "Images"
REQUIRED_COLUMNS = ("ID", "Case", "Pathology", "Device", "BBOX")
# Columns of bus_data.csv offered as clinical variables (config/bus-bra.yaml):
# BIRADS is the radiologist's category (2-5) given before biopsy, so a model
# that uses it is no longer image-only. Histology is the pathology result
# itself (the label) and Side, Width and Height say nothing about the lesion,
# so none of those is offered.
CLINICAL_COLUMNS = {"BIRADS": "birads"}
LABELS = {"benign": 0, "malignant": 1}
DEVICE_COHORT = {
    "GE Logiq 5": "development",
    "GE Logiq 7": "development",
    "Toshiba Aplio 300": "external",
    "U-Systems": "external",
}
MAX_NAMED = 10  # missing files named in a message; the rest are counted

LAYOUT = f"""\
BUS-BRA is published on Zenodo: https://doi.org/{ZENODO_DOI} (cite Gómez-Flores et al., Medical Physics 2024,
as its LICENSE.txt requires). Download and unpack it, then set `bus_bra_dir` in the config to the folder holding:
  {CSV_NAME}    one row per image, columns ID,Case,Histology,Pathology,BIRADS,Device,Width,Height,Side,BBOX
  {IMAGES_NAME}/         one PNG per row of {CSV_NAME}, named <ID>.png (bus_0001-l.png ...; {BUSBRA_IMAGES:,} files)
  Masks/, LICENSE.txt, 5-fold-cv.csv, 10-fold-cv.csv   (part of the download; not used here)"""


class BusBraError(InputError):
    """The BUS-BRA folder is missing, incomplete or not the published layout."""


def _fail(where: str, problems: list[str]) -> BusBraError:
    lines = [f"The BUS-BRA folder {where} cannot be used:"] + [f"  - {p}" for p in problems] + [LAYOUT]
    return BusBraError("\n".join(lines))


def read_busbra(bus_bra_dir: str | Path | None, *, expected_images: int = BUSBRA_IMAGES) -> pd.DataFrame:
    """Read and check the dataset's bus_data.csv against its Images/ folder.

    Parameters
    ----------
    bus_bra_dir : folder of the unpacked dataset (config `bus_bra_dir`).
    expected_images : rows bus_data.csv must have (1,875 in the published set).

    Returns
    -------
    DataFrame, one row per image in file order, with columns image (<ID>.png),
    patient_id (Case), label (1 = malignant), site (the scanner), bbox
    ("x,y,w,h"), birads (BIRADS as given, where bus_data.csv has it) and
    cohort.

    Raises
    ------
    BusBraError
        Listing everything missing or malformed: the folder, bus_data.csv,
        Images/, columns, the image count, files named in bus_data.csv but
        absent, unknown pathology or device values, malformed BBOX; each
        message says where the dataset is published and the layout expected.
    """
    root = _dataset_folder(bus_bra_dir)
    table, images = _read_table(root), root / IMAGES_NAME
    problems = []
    if len(table) != expected_images:
        problems.append(f"{CSV_NAME} lists {len(table):,} images; the published BUS-BRA has {expected_images:,}")
    names = table["ID"].str.strip() + ".png"
    lost = [name for name in names if not (images / name).is_file()]
    if lost:
        shown = ", ".join(lost[:MAX_NAMED]) + (f" and {len(lost) - MAX_NAMED:,} more" if len(lost) > MAX_NAMED else "")
        problems.append(f"{IMAGES_NAME}/ lacks {len(lost):,} of the {len(table):,} images named in {CSV_NAME}: {shown}")
    problems += _content_problems(table)
    if problems:
        raise _fail(str(root), problems)

    devices = table["Device"].map(_device)
    return pd.DataFrame(
        {
            "image": names,
            "patient_id": table["Case"].str.strip(),
            "label": table["Pathology"].str.strip().str.lower().map(LABELS).astype(int),
            "site": devices,
            "bbox": table["BBOX"].map(convert_bbox),
            **{ours: table[theirs].str.strip() for theirs, ours in CLINICAL_COLUMNS.items() if theirs in table},
            "cohort": devices.map(DEVICE_COHORT),
        }
    )


def _dataset_folder(bus_bra_dir: str | Path | None) -> Path:
    """The dataset's folder, checked to hold bus_data.csv and Images/; BusBraError otherwise."""
    if bus_bra_dir is None or not str(bus_bra_dir).strip():
        raise _fail("(none given)", ["`bus_bra_dir` is not set in the config"])
    root = Path(bus_bra_dir)
    if not root.is_dir():
        raise _fail(str(root), [f"the folder {root} does not exist (from {Path.cwd()}: {root.absolute()})"])
    missing = []
    if not (root / CSV_NAME).is_file():
        missing.append(f"{CSV_NAME} is missing")
    if not (root / IMAGES_NAME).is_dir():
        missing.append(f"the {IMAGES_NAME}/ folder is missing")
    if missing:
        raise _fail(str(root), missing)
    return root


def _read_table(root: Path) -> pd.DataFrame:
    """bus_data.csv as text, column names stripped; BusBraError if it does
    not parse or lacks a required column."""
    try:
        table = pd.read_csv(root / CSV_NAME, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise _fail(str(root), [f"{CSV_NAME} is not a readable CSV file ({error})"]) from None
    table.columns = [str(c).strip() for c in table.columns]
    absent = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if absent:
        header = ", ".join(table.columns)
        raise _fail(str(root), [f"{CSV_NAME} lacks column(s) {', '.join(absent)}; its header is {header}"])
    return table


def _device(value: str) -> str:
    """Scanner name without its frequency band: "GE Logiq 7 @10-14MHz" -> "GE Logiq 7"."""
    return value.split("@")[0].strip()


def _content_problems(table: pd.DataFrame) -> list[str]:
    """Values the conversion cannot map, each with its line in bus_data.csv."""
    problems = []
    for i, row in table.iterrows():
        line = f"{CSV_NAME} line {i + 2}"
        if not row["ID"].strip():
            problems.append(f"{line}: `ID` is empty")
        if not row["Case"].strip():
            problems.append(f"{line}: `Case` is empty")
        if row["Pathology"].strip().lower() not in LABELS:
            problems.append(f"{line}: `Pathology` must be benign or malignant, got {row['Pathology']!r}")
        if _device(row["Device"]) not in DEVICE_COHORT:
            problems.append(f"{line}: unknown `Device` {row['Device']!r}; expected one of {', '.join(DEVICE_COHORT)}")
        try:
            convert_bbox(row["BBOX"])
        except ValueError as error:
            problems.append(f"{line}: {error}")
    cohorts = table["Device"].map(_device).map(DEVICE_COHORT)
    spanning = cohorts.groupby(table["Case"].str.strip()).nunique()
    for case in spanning.index[spanning > 1]:
        problems.append(f"Case {case} has images in both cohorts; the external test must not share patients")
    return problems


def convert_bbox(value: str) -> str:
    """BUS-BRA's "[x, y, w, h]" as the manifest's "x,y,w,h".

    Raises
    ------
    ValueError
        If `value` is not four numbers with x, y >= 0 and w, h > 0.
    """
    parts = [p for p in re.split(r"[\s,]+", str(value).strip().strip("[]()")) if p]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or min(numbers[:2]) < 0 or min(numbers[2:]) <= 0:
        raise ValueError(f"`BBOX` must be [x, y, w, h] with x, y >= 0 and w, h > 0, got {value!r}")
    return ",".join(f"{n:g}" for n in numbers)


def write_cohort(table: pd.DataFrame, images_dir: str | Path, out_dir: str | Path) -> None:
    """Write one cohort's manifest.csv and link its images.

    Parameters
    ----------
    table : rows of `read_busbra` for this cohort.
    images_dir : the dataset's Images/ folder, the links' targets.
    out_dir : receives manifest.csv and images/<ID>.png (symbolic links).
    """
    out_dir = Path(out_dir)
    links = out_dir / "images"
    links.mkdir(parents=True, exist_ok=True)
    target_dir = Path(images_dir).resolve()
    for name in table["image"]:
        link = links / name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(target_dir / name, link)
    columns = ["image", "patient_id", "label", "site", "bbox", *[c for c in CLINICAL_COLUMNS.values() if c in table]]
    table[columns].to_csv(out_dir / "manifest.csv", index=False)


def convert_busbra(
    bus_bra_dir: str | Path | None, out_dir: str | Path, *, expected_images: int = BUSBRA_IMAGES
) -> pd.DataFrame:
    """Convert the BUS-BRA folder into out_dir/{development,external}/.

    Each cohort gets manifest.csv (image, patient_id, label, site, bbox, and
    birads where bus_data.csv has it) and
    images/ with a link per image.

    Returns
    -------
    Summary, one row per cohort: cohort, images, patients, positives, sites.

    Raises
    ------
    BusBraError
        See `read_busbra`.
    """
    table = read_busbra(bus_bra_dir, expected_images=expected_images)
    rows = []
    for cohort in COHORTS:
        part = table[table["cohort"] == cohort]
        write_cohort(part, Path(bus_bra_dir) / IMAGES_NAME, Path(out_dir) / cohort)
        rows.append(
            {
                "cohort": cohort,
                "images": len(part),
                "patients": part["patient_id"].nunique(),
                "positives": int(part["label"].sum()),
                "sites": ", ".join(sorted(part["site"].unique())),
            }
        )
    return pd.DataFrame(rows)
