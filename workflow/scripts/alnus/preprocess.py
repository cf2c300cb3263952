"""Crop, clean and de-identify one cohort: source exports in, pseudonymised PNGs out.

What reaches results/ is only the cropped B-mode pixels (8-bit grayscale PNG,
no metadata), with burned-in annotations (text, calipers, measurement lines)
inpainted, named by keyed pseudonyms; the link back to the source files and
the crop boxes go to the private linkage table outside results/. Per image,
what the annotation detector found and how many pixels it changed goes to an
audit table by pseudonym (`annotation_table`).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from alnus.annotations import DEFAULT_KINDS, KINDS, Cleaned, clean_annotations, save_examples
from alnus.crop import CropBox, apply_crop, bbox_crop_box, find_bmode_box
from alnus.imageio import read_image, write_png
from alnus.manifest import InputError, Problems, check_manifest
from alnus.pseudonym import load_key, pseudonym

log = logging.getLogger(__name__)

LINKAGE_COLUMNS = ["image", "id", "crop_x", "crop_y", "crop_w", "crop_h", "crop_method", "crop_note", "source_notes"]
ANNOTATION_COLUMNS = ["id", "mode", *KINDS, "mask_pixels", "pixels_changed", "share_changed", "found"]
CROP_MODES = ("auto", "bbox", "none")
DEFAULT_ANNOTATIONS = {"mode": "remove", "kinds": list(DEFAULT_KINDS), "inpaint_radius": 3, "dilate": 1}


class CohortResult(NamedTuple):
    """What `preprocess_cohort` returns.

    public : id, patient, label (and site): may be written under results/.
    linkage : LINKAGE_COLUMNS: must stay in private/.
    annotations : ANNOTATION_COLUMNS, by pseudonym: may be written under results/.
    examples : pseudonym -> (before, after, mask) arrays of a few cleaned
        images, for the before/after figure (see `pick_examples`).
    """

    public: pd.DataFrame
    linkage: pd.DataFrame
    annotations: pd.DataFrame
    examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def choose_crop(pixels, regions, *, mode: str, bbox: str | None, bbox_margin: float) -> CropBox:
    """Pick the crop box of one image by the configured mode (auto, bbox or none)."""
    height, width = pixels.shape[:2]
    if mode == "none":
        return CropBox(0, 0, width, height, "full_image", "crop disabled in config")
    if mode == "bbox":
        if not bbox:
            raise ValueError("preprocess.crop is bbox but this image has no `bbox` in the manifest")
        return bbox_crop_box(bbox, (height, width), margin=bbox_margin)
    if mode == "auto":
        return find_bmode_box(pixels, regions)
    raise ValueError(f"preprocess.crop must be {', '.join(CROP_MODES[:-1])} or {CROP_MODES[-1]}, got {mode!r}")


def _crop_and_clean(
    source: Path, *, mode: str, bbox: str | None, bbox_margin: float, annotations: dict, read_text=None
):
    """Read, crop and clean one image: (crop box, source notes, cropped pixels, alnus.annotations.Cleaned)."""
    image = read_image(source)
    box = choose_crop(image.pixels, image.regions, mode=mode, bbox=bbox, bbox_margin=bbox_margin)
    before = np.ascontiguousarray(apply_crop(image.pixels, box))
    return box, image.notes, before, clean_annotations(before, **annotations, read_text=read_text)


def text_reader(options: dict, ocr: dict | None):
    """The OCR reader of annotation kind "ocr_text" (alnus.ocr_engine.TextReader,
    engine and min_confidence from config `privacy.phi_audit.ocr`), or None
    when `options["kinds"]` does not ask for it.

    Raises
    ------
    ValueError
        If "ocr_text" is asked for without `ocr` settings.
    alnus.ocr_engine.OcrEngineMissing
        If the engine is not installed (before any image is read).
    """
    if "ocr_text" not in options["kinds"]:
        return None
    if ocr is None:
        raise ValueError(
            "preprocess.annotations.kinds has 'ocr_text', which needs the OCR settings (config privacy.phi_audit.ocr)"
        )
    from alnus.ocr_engine import TextReader

    return TextReader(ocr["engine"], min_confidence=ocr["min_confidence"])


def check_annotation_options(options: dict | None) -> dict:
    """`options` (config preprocess.annotations) completed with the defaults.

    Raises
    ------
    ValueError
        On an unknown key.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(DEFAULT_ANNOTATIONS))
    if unknown:
        raise ValueError(
            f"preprocess.annotations has unknown key(s) {', '.join(unknown)}; "
            f"valid keys are {', '.join(DEFAULT_ANNOTATIONS)}"
        )
    if options.get("mode") is False:  # YAML 1.1 reads an unquoted `off` as false
        options["mode"] = "off"
    return {**DEFAULT_ANNOTATIONS, **options}


def preprocess_cohort(
    manifest: pd.DataFrame,
    images_dir: str | Path,
    *,
    cohort: str,
    key: bytes,
    out_dir: str | Path,
    crop: str = "auto",
    bbox_margin: float = 0.1,
    annotations: dict | None = None,
    ocr: dict | None = None,
    examples: int = 0,
    threads: int = 1,
    manifest_file: str | Path | None = None,
) -> CohortResult:
    """Crop, clean, convert and rename every image of a checked manifest.

    The steps are the functions below it (`_clean_all`, `public_table`,
    `linkage_table`, `annotation_table`, `_example_pairs`); what length it
    has is its options and their documentation.

    Parameters
    ----------
    manifest : checked manifest (see alnus.manifest.check_manifest).
    images_dir : folder the manifest's `image` paths are relative to.
    cohort : cohort name; part of every pseudonym, so equal patient ids in two
        hospitals stay two patients.
    key : pseudonym key (alnus.pseudonym.load_key).
    out_dir : folder that receives `{id}.png`.
    crop, bbox_margin : see config `preprocess`.
    annotations : options of alnus.annotations.clean_annotations (mode, kinds,
        inpaint_radius, dilate); defaults DEFAULT_ANNOTATIONS.
    ocr : config `privacy.phi_audit.ocr` (engine, min_confidence); used only
        when annotations' kinds include "ocr_text".
    examples : number of images with annotations to return before/after
        arrays of (for the figure); 0 for none.
    threads : images processed in parallel.
    manifest_file : the manifest's path, named in messages (its line numbers
        are those of `manifest`'s rows in order, after the header).

    Returns
    -------
    CohortResult

    Raises
    ------
    InputError
        Naming every image that cannot be read or cropped, with its manifest
        line; once one has failed, the others are only read and cropped, and
        the PNGs this call wrote are removed.
    ValueError
        If two images get the same pseudonym (a corrupt key) or an option is
        invalid.
    """
    images_dir, out_dir = Path(images_dir), Path(out_dir)
    options = check_annotation_options(annotations)
    read_text = text_reader(options, ocr)
    _check_options(options, crop=crop, bbox_margin=bbox_margin)
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = [pseudonym(key, cohort, "image", image) for image in manifest["image"]]
    if len(set(ids)) != len(ids):
        raise ValueError(f"pseudonym collision in cohort {cohort}; the pseudonym key is too short or corrupt")
    bboxes = list(manifest["bbox"]) if "bbox" in manifest.columns else [None] * len(manifest)
    settings = {"mode": crop, "bbox_margin": bbox_margin, "annotations": options, "read_text": read_text}
    sources = [images_dir / image for image in manifest["image"]]
    results = _clean_all(
        sources,
        ids,
        bboxes,
        out_dir=out_dir,
        settings=settings,
        cohort=cohort,
        threads=threads,
        manifest_file=manifest_file,
    )
    public = public_table(manifest, ids, key=key, cohort=cohort)
    linkage = linkage_table(manifest["image"].to_numpy(), ids, [(box, notes) for box, notes, _ in results])
    table = annotation_table(ids, [summary for _, _, summary in results], mode=options["mode"])
    log.info("%s: %d images cropped (%s)", cohort, len(linkage), linkage["crop_method"].value_counts().to_dict())
    log.info("%s: annotations (%s): %s", cohort, options["mode"], annotation_counts(table))
    pairs = _example_pairs(pick_examples(table, examples), ids, sources, bboxes, settings)
    return CohortResult(public, linkage, table, pairs)


def preprocess_job(
    manifest_csv: str | Path,
    images_dir: str | Path,
    *,
    cohort: str,
    key_file: str | Path,
    out_manifest: str | Path,
    out_images: str | Path,
    out_linkage: str | Path,
    out_annotations: str | Path,
    out_examples: str | Path,
    crop: str,
    bbox_margin: float,
    annotations: dict,
    ocr: dict | None,
    examples: int,
    threads: int = 1,
) -> None:
    """Rule preprocess: check one cohort's manifest (alnus.manifest.check_manifest),
    run `preprocess_cohort` with the pseudonym key (alnus.pseudonym.load_key:
    ALNUS_PSEUDONYM_KEY, else `key_file`, which rule pseudonym_key writes), and
    write its four tables and the before/after examples.

    Parameters
    ----------
    manifest_csv, images_dir : the cohort as configured (`cohorts: {cohort}`).
    cohort : its name.
    key_file : private/pseudonym.key.
    out_manifest, out_images : results/preprocessed/{cohort}/manifest.csv and images/.
    out_linkage : private/{cohort}/linkage.csv.
    out_annotations, out_examples : results/qc/{cohort}_annotations.csv and
        {cohort}_annotation_examples.npz.
    crop, bbox_margin, annotations, ocr, examples, threads : see `preprocess_cohort`.
    """
    result = preprocess_cohort(
        check_manifest(manifest_csv, images_dir, cohort=cohort),
        images_dir,
        cohort=cohort,
        key=load_key(key_file),
        out_dir=out_images,
        crop=crop,
        bbox_margin=bbox_margin,
        annotations=annotations,
        ocr=ocr,
        examples=examples,
        threads=threads,
        manifest_file=manifest_csv,
    )
    result.public.to_csv(out_manifest, index=False)
    result.linkage.to_csv(out_linkage, index=False)
    result.annotations.to_csv(out_annotations, index=False)
    save_examples(out_examples, result.examples)


def public_table(manifest: pd.DataFrame, ids: list[str], *, key: bytes, cohort: str) -> pd.DataFrame:
    """The preprocessed manifest (results/preprocessed/{cohort}/manifest.csv):
    `id` (the image pseudonyms `ids`), `patient` (pseudonym of `patient_id`),
    `label`, and `site` where the manifest has it."""
    public = pd.DataFrame(
        {
            "id": ids,
            "patient": [pseudonym(key, cohort, "patient", p) for p in manifest["patient_id"]],
            "label": manifest["label"].astype(int).to_numpy(),
        }
    )
    if "site" in manifest.columns:
        public["site"] = manifest["site"].to_numpy()
    return public


def _example_pairs(chosen: list[str], ids: list[str], sources: list[Path], bboxes: list, settings: dict) -> dict:
    """Pseudonym -> (before, after, mask) of the `chosen` images, cleaned
    again with annotation mode "remove" (deterministic: holding every image's
    arrays until the choice is made would not scale)."""
    pairs = {}
    for image_id in chosen:
        row = ids.index(image_id)
        _, _, before, cleaned = _crop_and_clean(
            sources[row],
            bbox=bboxes[row] or None,
            **{**settings, "annotations": {**settings["annotations"], "mode": "remove"}},
        )
        pairs[image_id] = (before, cleaned.pixels, cleaned.mask)
    return pairs


def _check_options(options: dict, *, crop: str, bbox_margin: float) -> None:
    """Raise the ValueError of an invalid annotation option or crop mode before any image is read
    (the OCR step left out: a 1 x 1 image has no text)."""
    clean_annotations(
        np.zeros((1, 1), np.uint8), **{**options, "kinds": [k for k in options["kinds"] if k != "ocr_text"]}
    )
    if crop not in CROP_MODES:
        choose_crop(np.zeros((1, 1), np.uint8), (), mode=crop, bbox=None, bbox_margin=bbox_margin)  # raises


def _clean_all(
    sources: list[Path],
    ids: list[str],
    bboxes: list,
    *,
    out_dir: Path,
    settings: dict,
    cohort: str,
    threads: int,
    manifest_file: str | Path | None,
) -> list[tuple[CropBox, list[str], dict]]:
    """Crop and clean every source image into `out_dir/{id}.png`, `threads` at
    a time; per image its crop box, source notes and annotation summary.

    Raises
    ------
    InputError
        Naming every image that cannot be read or cropped, by manifest line
        (line 2 is the first row); once one has failed, the others are only
        read and cropped, and the PNGs already written are removed.
    """
    problems = Problems(str(manifest_file or "(as given)"), f"The {cohort} manifest")
    failed = threading.Event()  # after a failure, only look for more: no cleaning, no writing
    lock = threading.Lock()
    written = []

    def work(args):
        line, source, image_id, bbox = args
        try:
            if failed.is_set():
                read = read_image(source)
                choose_crop(
                    read.pixels,
                    read.regions,
                    mode=settings["mode"],
                    bbox=bbox or None,
                    bbox_margin=settings["bbox_margin"],
                )
                return None
            box, notes, _, cleaned = _crop_and_clean(source, bbox=bbox or None, **settings)
        except ValueError as error:  # ImageReadError, or a crop that cannot be made
            failed.set()
            with lock:
                problems.add(f"image {source} cannot be preprocessed: {getattr(error, 'problem', error)}", line=line)
            return None
        if failed.is_set():
            return None
        write_png(out_dir / f"{image_id}.png", cleaned.pixels)
        with lock:
            written.append(out_dir / f"{image_id}.png")
        return box, notes, _summary(cleaned)

    lines = range(2, len(sources) + 2)  # line 1 is the header
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        results = list(pool.map(work, zip(lines, sources, ids, bboxes)))
    if problems:
        for path in written:  # nothing partial is left behind
            path.unlink(missing_ok=True)
        message = problems.message()
        raise InputError(f"{message}\nNo image of the {cohort} cohort was kept; fix these, then run again.")
    return results


def linkage_table(images, ids: list[str], crops: list[tuple[CropBox, list[str]]]) -> pd.DataFrame:
    """The private linkage table (LINKAGE_COLUMNS): per image its manifest
    `image` value, pseudonym, crop box in source pixels, how the crop was
    found, and the notes of reading the source file."""
    boxes = [box for box, _ in crops]
    return pd.DataFrame(
        {
            "image": images,
            "id": ids,
            "crop_x": [box.x for box in boxes],
            "crop_y": [box.y for box in boxes],
            "crop_w": [box.w for box in boxes],
            "crop_h": [box.h for box in boxes],
            "crop_method": [box.method for box in boxes],
            "crop_note": [box.note for box in boxes],
            "source_notes": ["; ".join(notes) for _, notes in crops],
        },
        columns=LINKAGE_COLUMNS,
    )


def _summary(cleaned: Cleaned) -> dict:
    return {
        **cleaned.counts(),
        "mask_pixels": int(cleaned.mask.sum()),
        "pixels_changed": cleaned.pixels_changed,
        "share_changed": round(cleaned.pixels_changed / cleaned.mask.size, 6),
        "found": "; ".join(f"{f.kind} {f.x},{f.y},{f.w},{f.h}" for f in cleaned.findings),
    }


def annotation_table(ids: list[str], summaries: list[dict], *, mode: str) -> pd.DataFrame:
    """The per-image audit table (ANNOTATION_COLUMNS): pseudonym, mode, the
    number of findings of each kind, mask pixels, pixels changed and their
    share of the image, and the findings' boxes ("kind x,y,w,h" in the
    cropped image's pixels)."""
    table = pd.DataFrame(summaries, columns=[c for c in ANNOTATION_COLUMNS if c not in ("id", "mode")])
    table.insert(0, "mode", mode)
    table.insert(0, "id", ids)
    return table[ANNOTATION_COLUMNS]


def annotation_counts(table: pd.DataFrame) -> dict:
    """Images with findings of each kind, images with any, and pixels changed."""
    counts = {kind: int((table[kind] > 0).sum()) for kind in KINDS}
    counts["any"] = int((table[list(KINDS)].sum(axis=1) > 0).sum())
    counts["images"] = len(table)
    counts["pixels_changed"] = int(table["pixels_changed"].sum())
    return counts


def pick_examples(table: pd.DataFrame, n: int) -> list[str]:
    """Pseudonyms of up to `n` images to show before and after cleaning:
    those with the most kinds of annotation, then the most pixels masked;
    ties broken by pseudonym, so the choice is deterministic and says
    nothing about manifest order."""
    if n <= 0 or table.empty:
        return []
    found = table[table[list(KINDS)].sum(axis=1) > 0].copy()
    found["kinds_found"] = (found[list(KINDS)] > 0).sum(axis=1)
    found = found.sort_values(["kinds_found", "mask_pixels", "id"], ascending=[False, False, True])
    return found["id"].head(n).tolist()
