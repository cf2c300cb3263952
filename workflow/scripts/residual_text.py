"""Rule residual_text: read every preprocessed image of one cohort with OCR; identifying words are named by kind, never written."""

from alnus import style
from alnus.logs import logged
from alnus.ocr_audit import AuditSettings, audit_images, needles_scanners, residual_figure
from alnus.ocr_engine import build_engine
from alnus.phi_audit import collect_phi, read_key
from alnus.validate import cohort_paths

with logged(snakemake.log[0]) as log:
    ocr = snakemake.params.ocr
    settings = AuditSettings.from_config(ocr)
    engine = build_engine(ocr["engine"])  # raises OcrEngineMissing with the fix when it is not installed
    needles, _ = collect_phi(
        cohort_paths(snakemake.input),
        key=read_key(snakemake.params.key_file),
        extra_file=snakemake.params.extra_strings,
        min_length=snakemake.params.min_length,
        min_digits=snakemake.params.min_digits,
    )
    table = audit_images(snakemake.input.images, engine=engine, settings=settings, scanners=needles_scanners(needles))
    table.to_csv(snakemake.output.table, index=False)
    log.info(
        "%d images, %d with text read, %d with identifying text",
        table["image"].nunique(),
        table.loc[table["confidence"].notna(), "image"].nunique(),
        table.loc[table["identifying"] != "", "image"].nunique(),
    )
    style.save(residual_figure(table, snakemake.input.images, n=ocr["figure_images"]), snakemake.output.figure)
