"""Rule residual_text: read every preprocessed image of one cohort with OCR; identifying words are named by kind, never written."""

from alnus.logs import logged
from alnus.residual_text import residual_text_job
from alnus.validate import cohort_paths

with logged(snakemake.log[0]):
    residual_text_job(
        cohort_paths(snakemake.input),
        snakemake.input.images,
        ocr=snakemake.params.ocr,
        key_file=snakemake.params.key_file,
        extra_strings=snakemake.params.extra_strings,
        min_length=snakemake.params.min_length,
        min_digits=snakemake.params.min_digits,
        table_csv=snakemake.output.table,
        figure_png=snakemake.output.figure,
    )
