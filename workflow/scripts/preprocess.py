"""Rule preprocess: crop, clean and de-identify one cohort."""

from alnus.logs import logged
from alnus.preprocess import preprocess_job

with logged(snakemake.log[0]):
    params, output = snakemake.params, snakemake.output
    preprocess_job(
        snakemake.input.manifest,
        snakemake.input.images,
        cohort=snakemake.wildcards.cohort,
        key_file=params.key_file,
        out_manifest=output.manifest,
        out_images=output.images,
        out_linkage=output.linkage,
        out_annotations=output.annotations,
        out_examples=output.examples,
        crop=params.crop,
        bbox_margin=params.bbox_margin,
        annotations=params.annotations,
        ocr=params.ocr,
        examples=params.examples,
        threads=snakemake.threads,
    )
