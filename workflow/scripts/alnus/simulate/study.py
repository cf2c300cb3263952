"""The study plan: two sites' exports, the readers' calls and the PHI list.

:func:`simulate_study` writes::

    out_dir/development/manifest.csv   image, patient_id, label, study_id, site,
                                       age, tumour_size_mm, birads (simulate_clinical)
    out_dir/development/images/<patient folder>/US_0001.dcm|png ...
    out_dir/external/manifest.csv
    out_dir/external/images/<patient folder>/IMG_0001.dcm|png ...
    out_dir/readers.csv                image, reader, call, score (external images)
    out_dir/phi.json                   {kind: [every fake PHI string used]}

The development cohort (``hospital_A``) has about 1.36 images per patient and
40% positive patients; the external cohort (``hospital_B``) about 1.03 and 50%
(:data:`STUDY_PLAN`). Half of each cohort's images are DICOM, half PNG, chosen
per study. In DICOM files the B-mode rectangle is the first item of the
Sequence of Ultrasound Regions, bounds inclusive; PNGs carry no metadata.

``phi.json`` maps each kind of fake PHI (``patient_names`` as ``FAMILY^GIVEN``,
``family_names``, ``given_names``, ``patient_ids``, ``birth_dates`` and
``exam_dates`` as ``YYYYMMDD``, ``institutions``, ``accession_numbers`` (also
the manifests' ``study_id``), ``physicians``, ``operators``,
``source_folders``, ``source_paths``) to the sorted list of every value used,
for leak tests. Studies exported as PNG carry theirs only burned into the
pixels (in the screen's own date formats).

The random draws happen in a fixed order (names, then per cohort the labels,
views, exams, export formats and images, then the readers), so that the same
seed writes the same bytes; the clinical columns come from a stream of their
own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import pandas as pd

from alnus.manifest import MANIFEST_OPTIONAL, MANIFEST_REQUIRED
from alnus.simulate.bmode import BMode, render_bmode
from alnus.simulate.clinical import simulate_clinical
from alnus.simulate.exams import FAMILY_NAMES, GIVEN_NAMES, Exam, make_exams, phi_lists, source_folder
from alnus.simulate.export import hashed_uid, write_dicom, write_screenshot
from alnus.simulate.lesions import Lesion, sample_lesion, second_view
from alnus.simulate.readers import simulate_readers
from alnus.simulate.screen import draw_screen
from alnus.simulate.sites import SITES, Site

__all__ = ["MANIFEST_COLUMNS", "CohortPlan", "STUDY_PLAN", "simulate_study"]

MANIFEST_COLUMNS = [*MANIFEST_REQUIRED, *(c for c in MANIFEST_OPTIONAL if c != "bbox")]  # no lesion boxes here
CLINICAL_STREAM = 17  # the clinical columns draw from default_rng([seed, CLINICAL_STREAM])
P_CALIPERS = 0.75  # share of images on which the sonographer measured the lesion


class CohortPlan(NamedTuple):
    """One cohort of the study: its name, the site that exported it, the
    share of positive patients, the mean number of images per patient and
    whether the readers call its images."""

    cohort: str
    site: str
    prevalence: float
    images_per_patient: float
    read: bool


# The paper's shape: 300 images of 220 patients for development, 80 of 78 external.
STUDY_PLAN = (
    CohortPlan("development", "hospital_A", 0.40, 300 / 220, read=False),
    CohortPlan("external", "hospital_B", 0.50, 80 / 78, read=True),
)


def _patients(rng: np.random.Generator, n_images: int, plan: CohortPlan) -> tuple[np.ndarray, np.ndarray]:
    """Labels and numbers of views (1 or 2), arrays of shape (n_patients,),
    for a cohort of ``n_images`` images with both classes."""
    n_patients = max(2, min(n_images, round(n_images / plan.images_per_patient)))
    n_pos = min(n_patients - 1, max(1, round(plan.prevalence * n_patients)))
    labels = rng.permutation(np.r_[np.ones(n_pos, int), np.zeros(n_patients - n_pos, int)])
    views = np.ones(n_patients, int)
    views[rng.choice(n_patients, size=n_images - n_patients, replace=False)] = 2
    return labels, views


def _dicom_studies(rng: np.random.Generator, views: np.ndarray) -> np.ndarray:
    """Which studies (bool, shape (n_patients,)) are exported as DICOM:
    exactly half the images, chosen per study, as a site exports a study one
    way (two-image studies count twice)."""
    is_dicom = np.zeros(len(views), bool)
    budget = int(views.sum()) // 2
    for i in rng.permutation(len(views)):
        if views[i] <= budget:
            is_dicom[i] = True
            budget -= views[i]
    return is_dicom


def _scan(
    rng: np.random.Generator, lesion: Lesion, exam: Exam, site: Site
) -> tuple[BMode, np.ndarray, tuple[int, int, int, int]]:
    """One image as the sonographer takes it: B-mode size, probe, gain and
    calipers drawn, then rendered and put on the screen; returns
    (bmode, screen, region) as :func:`draw_screen` does."""
    size = (int(rng.integers(*site.bmode_width)), int(rng.integers(*site.bmode_height)))
    sector = bool(rng.random() < site.p_sector)
    gain = float(rng.uniform(0.9, 1.1))
    bmode = render_bmode(rng, lesion, size, site=site, sector=sector, gain=gain)
    screen, region = draw_screen(rng, bmode, exam, site=site, calipers=bool(rng.random() < P_CALIPERS))
    return bmode, screen, region


def _export_patient(
    rng: np.random.Generator,
    site: Site,
    exam: Exam,
    label: int,
    *,
    views: int,
    dicom: bool,
    images_dir: Path,
    seed: int,
) -> tuple[Lesion, list[tuple[str, tuple[int, int, int, int], tuple[int, int, int, int]]]]:
    """Draw the patient's lesion, take ``views`` images of it and write them
    under ``images_dir``/<source folder>/ as DICOM or PNG (one format per
    study, grey or RGB per study).

    Returns the lesion and, per image, (path relative to ``images_dir``,
    B-mode region on the screen, lesion box in the B-mode image).
    """
    lesion = sample_lesion(rng, label)
    folder = source_folder(site, exam)
    study = (seed, site.name, exam.accession)
    series_uid, study_uid = hashed_uid(*study, "series"), hashed_uid(*study, "study")
    rgb = rng.random() < (site.p_rgb_dicom if dicom else site.p_rgb_png)
    images = []
    for v in range(views):
        bmode, screen, region = _scan(rng, lesion if v == 0 else second_view(rng, lesion), exam, site)
        pixels = screen if rgb else cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY)
        relative = f"{folder}/{site.file_prefix}_{v + 1:04d}.{'dcm' if dicom else 'png'}"
        if dicom:
            uids = (study_uid, series_uid, hashed_uid(*study, v))
            delta_cm = exam.depth_cm / bmode.pixels.shape[0]
            write_dicom(
                images_dir / relative,
                pixels,
                exam,
                region=region,
                delta_cm=delta_cm,
                site=site,
                uids=uids,
                instance=v + 1,
            )
        else:
            write_screenshot(images_dir / relative, pixels)
        images.append((relative, region, bmode.lesion_box))
    return lesion, images


def _simulate_cohort(
    rng: np.random.Generator,
    plan: CohortPlan,
    names: list[tuple[str, str]],
    used_ids: set[str],
    images_dir: Path,
    seed: int,
) -> tuple[pd.DataFrame, list[dict], list[Exam]]:
    """Render and write one cohort's images, one per name in ``names`` (the
    first ones are the patients' names).

    Returns its manifest (MANIFEST_COLUMNS), per image a record (``image``,
    ``label``, ``region``, ``lesion_box``, ``suspiciousness``, ``visible``,
    ``dicom``) and its exams.
    """
    site = SITES[plan.site]
    labels, views = _patients(rng, len(names), plan)
    exams = make_exams(rng, site, names[: len(labels)], used_ids)
    is_dicom = _dicom_studies(rng, views)
    rows, records = [], []
    for exam, label, n_views, dicom in zip(exams, labels, views, is_dicom):
        lesion, images = _export_patient(
            rng, site, exam, int(label), views=n_views, dicom=bool(dicom), images_dir=images_dir, seed=seed
        )
        for relative, region, box in images:
            rows.append((relative, exam.patient_id, int(label), exam.accession, site.name))
            records.append(
                {
                    "image": relative,
                    "label": int(label),
                    "region": region,
                    "lesion_box": box,
                    "suspiciousness": lesion.suspiciousness,
                    "visible": lesion.visible,
                    "dicom": bool(dicom),
                }
            )
    return pd.DataFrame(rows, columns=MANIFEST_COLUMNS), records, exams


def _check_sizes(**sizes: object) -> None:
    for arg, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 4:
            raise ValueError(f"`{arg}` must be an integer of at least 4, got {value!r}")


def _draw_names(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """``n`` fake (family, given) names, unique while the pool lasts; real
    hospitals have namesakes beyond it."""
    pool = [(f, g) for f in FAMILY_NAMES for g in GIVEN_NAMES]
    picks = np.concatenate([rng.permutation(len(pool)) for _ in range(n // len(pool) + 1)])
    return [pool[i] for i in picks[:n]]


def _cohort_summary(manifest: pd.DataFrame, cohort_dir: Path) -> dict:
    patients = manifest.drop_duplicates("patient_id")
    return {
        "images": len(manifest),
        "patients": len(patients),
        "positive_patients": int(patients["label"].sum()),
        "positive_images": int(manifest["label"].sum()),
        "dicom": int(manifest["image"].str.endswith(".dcm").sum()),
        "png": int(manifest["image"].str.endswith(".png").sum()),
        "manifest": str(cohort_dir / "manifest.csv"),
        "images_dir": str(cohort_dir / "images"),
    }


def simulate_study(
    out_dir: str | Path,
    *,
    seed: int = 2019,
    n_development: int = 300,
    n_external: int = 80,
) -> dict:
    """Simulate the demo study: two sites' exports, readers and a PHI list.

    What is written, and how, is in this module's docstring. Existing files
    of the same names are overwritten; nothing else in ``out_dir`` is touched.

    Parameters
    ----------
    out_dir : str or Path
    seed : int
        Same seed, same bytes.
    n_development, n_external : int
        Number of images per cohort, at least 4 each (so both classes occur).

    Returns
    -------
    dict
        ``seed``, ``out_dir``, ``readers``, ``phi`` (paths) and per cohort
        (``development``, ``external``) the counts ``images``, ``patients``,
        ``positive_patients``, ``positive_images``, ``dicom``, ``png`` and the
        paths ``manifest`` and ``images_dir``.

    Raises
    ------
    ValueError
        If a cohort size is below 4.
    """
    _check_sizes(n_development=n_development, n_external=n_external)
    sizes = {"development": n_development, "external": n_external}
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    clinical_rng = np.random.default_rng([seed, CLINICAL_STREAM])  # the images do not change with it
    names = _draw_names(rng, sum(sizes.values()))
    used_ids: set[str] = set()
    exams, images, read = [], [], []  # every exam and image; records of the images the readers call
    summary = {"seed": seed, "out_dir": str(out_dir)}
    for plan in STUDY_PLAN:
        cohort_dir, n = out_dir / plan.cohort, sizes[plan.cohort]
        manifest, records, cohort_exams = _simulate_cohort(rng, plan, names[:n], used_ids, cohort_dir / "images", seed)
        names = names[n:]
        manifest = simulate_clinical(clinical_rng, manifest, records)
        cohort_dir.mkdir(parents=True, exist_ok=True)
        manifest.to_csv(cohort_dir / "manifest.csv", index=False)
        summary[plan.cohort] = _cohort_summary(manifest, cohort_dir)
        exams += cohort_exams
        images += manifest["image"].tolist()
        read += records if plan.read else []
    simulate_readers(rng, pd.DataFrame(read)).to_csv(out_dir / "readers.csv", index=False)
    phi = phi_lists(exams, images)
    (out_dir / "phi.json").write_text(json.dumps(phi, indent=1) + "\n")
    summary["readers"] = str(out_dir / "readers.csv")
    summary["phi"] = str(out_dir / "phi.json")
    return summary
