"""Rule residual_text: read every preprocessed image of one cohort with OCR
(`alnus.ocr_audit`) and mark the words that match the inputs' identifying
strings (`alnus.phi_audit`); identifying words are named by kind, never
written. Its own module because it joins the two: alnus.phi_audit already
reads alnus.ocr_audit's tables, so the job cannot live in either."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from alnus import style
from alnus.ocr_audit import AuditSettings, audit_images, residual_figure
from alnus.ocr_engine import build_engine
from alnus.phi_audit import collect_phi, needles_scanners, read_key

log = logging.getLogger(__name__)


def residual_text_job(
    cohort_paths: dict,
    images: str | Path,
    *,
    ocr: dict,
    key_file: str | Path,
    extra_strings: str | Path | None,
    min_length: int,
    min_digits: int,
    table_csv: str | Path,
    figure_png: str | Path,
) -> pd.DataFrame:
    """OCR one cohort's preprocessed images and write what was read.

    Parameters
    ----------
    cohort_paths : the inputs whose identifying strings are searched for
        (`alnus.validate.cohort_paths` of the rule's input).
    images : results/preprocessed/{cohort}/images.
    ocr : config `privacy: phi_audit: ocr` (engine, thresholds, figure_images).
    key_file, extra_strings, min_length, min_digits : as `alnus.phi_audit.collect_phi`.
    table_csv, figure_png : results/qc/{cohort}_residual_text.csv and the figure
        of the worst images (identifying words blacked out).

    Returns
    -------
    The table written: one row per word read (`alnus.ocr_audit.audit_images`).

    Raises
    ------
    alnus.ocr_engine.OcrEngineMissing
        With the fix, when the configured engine is not installed.
    """
    engine = build_engine(ocr["engine"])
    needles, _ = collect_phi(
        cohort_paths,
        key=read_key(key_file),
        extra_file=extra_strings,
        min_length=min_length,
        min_digits=min_digits,
    )
    settings = AuditSettings.from_config(ocr)
    table = audit_images(images, engine=engine, settings=settings, scanners=needles_scanners(needles))
    table.to_csv(table_csv, index=False)
    log.info(
        "%d images, %d with text read, %d with identifying text",
        table["image"].nunique(),
        table.loc[table["confidence"].notna(), "image"].nunique(),
        table.loc[table["identifying"] != "", "image"].nunique(),
    )
    style.save(residual_figure(table, images, n=ocr["figure_images"]), figure_png)
    return table
