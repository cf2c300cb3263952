"""Crop and de-identify one cohort: source exports in, pseudonymised PNGs out.

What reaches results/ is only the cropped B-mode pixels (8-bit grayscale PNG,
no metadata) named by keyed pseudonyms; the link back to the source files and
the crop boxes go to the private linkage table outside results/.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from alnus.crop import CropBox, apply_crop, bbox_crop_box, find_bmode_box
from alnus.imageio import read_image, write_png
from alnus.pseudonym import pseudonym

log = logging.getLogger(__name__)

LINKAGE_COLUMNS = ["image", "id", "crop_x", "crop_y", "crop_w", "crop_h", "crop_method", "crop_note", "source_notes"]


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
    raise ValueError(f"preprocess.crop must be auto, bbox or none, got {mode!r}")


def _process_one(source: Path, out_png: Path, *, mode: str, bbox: str | None, bbox_margin: float):
    image = read_image(source)
    box = choose_crop(image.pixels, image.regions, mode=mode, bbox=bbox, bbox_margin=bbox_margin)
    write_png(out_png, apply_crop(image.pixels, box))
    return box, image.notes


def preprocess_cohort(
    manifest: pd.DataFrame,
    images_dir: str | Path,
    *,
    cohort: str,
    key: bytes,
    out_dir: str | Path,
    crop: str = "auto",
    bbox_margin: float = 0.1,
    threads: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Crop, convert and rename every image of a checked manifest.

    Parameters
    ----------
    manifest : checked manifest (see alnus.manifest.check_manifest).
    images_dir : folder the manifest's `image` paths are relative to.
    cohort : cohort name; part of every pseudonym, so equal patient ids in two
        hospitals stay two patients.
    key : pseudonym key (alnus.pseudonym.load_or_create_key).
    out_dir : folder that receives `{id}.png`.
    crop, bbox_margin : see config `preprocess`.
    threads : images processed in parallel.

    Returns
    -------
    (public, linkage): public has columns id, patient, label (and site where
    given) and may be written under results/; linkage has LINKAGE_COLUMNS and
    must stay in private/.

    Raises
    ------
    ValueError
        If two images get the same pseudonym (a corrupt key), or an image
        cannot be read or cropped (naming the file).
    """
    images_dir, out_dir = Path(images_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = [pseudonym(key, cohort, "image", image) for image in manifest["image"]]
    if len(set(ids)) != len(ids):
        raise ValueError(f"pseudonym collision in cohort {cohort}; the pseudonym key is too short or corrupt")
    bboxes = manifest["bbox"] if "bbox" in manifest.columns else [None] * len(manifest)

    def work(args):
        image, image_id, bbox = args
        try:
            return _process_one(
                images_dir / image, out_dir / f"{image_id}.png", mode=crop, bbox=bbox or None, bbox_margin=bbox_margin
            )
        except ValueError as error:
            raise ValueError(f"{cohort} image {images_dir / image}: {error}") from None

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        results = list(pool.map(work, zip(manifest["image"], ids, bboxes)))

    public = pd.DataFrame(
        {
            "id": ids,
            "patient": [pseudonym(key, cohort, "patient", p) for p in manifest["patient_id"]],
            "label": manifest["label"].astype(int).to_numpy(),
        }
    )
    if "site" in manifest.columns:
        public["site"] = manifest["site"].to_numpy()
    linkage = pd.DataFrame(
        {
            "image": manifest["image"].to_numpy(),
            "id": ids,
            "crop_x": [box.x for box, _ in results],
            "crop_y": [box.y for box, _ in results],
            "crop_w": [box.w for box, _ in results],
            "crop_h": [box.h for box, _ in results],
            "crop_method": [box.method for box, _ in results],
            "crop_note": [box.note for box, _ in results],
            "source_notes": ["; ".join(notes) for _, notes in results],
        },
        columns=LINKAGE_COLUMNS,
    )
    methods = linkage["crop_method"].value_counts().to_dict()
    log.info("%s: %d images cropped (%s)", cohort, len(linkage), methods)
    return public, linkage
