"""Rule preprocess: crop, clean and de-identify one cohort."""

from alnus.annotations import save_examples
from alnus.logs import logged
from alnus.manifest import check_manifest
from alnus.preprocess import preprocess_cohort
from alnus.pseudonym import load_or_create_key

with logged(snakemake.log[0]):
    cohort = snakemake.wildcards.cohort
    result = preprocess_cohort(
        check_manifest(snakemake.input.manifest, snakemake.input.images, cohort=cohort),
        snakemake.input.images,
        cohort=cohort,
        key=load_or_create_key(snakemake.params.key_file),
        out_dir=snakemake.output.images,
        crop=snakemake.params.crop,
        bbox_margin=snakemake.params.bbox_margin,
        annotations=snakemake.params.annotations,
        ocr=snakemake.params.ocr,
        examples=snakemake.params.examples,
        threads=snakemake.threads,
        manifest_file=snakemake.input.manifest,
    )
    result.public.to_csv(snakemake.output.manifest, index=False)
    result.linkage.to_csv(snakemake.output.linkage, index=False)
    result.annotations.to_csv(snakemake.output.annotations, index=False)
    save_examples(snakemake.output.examples, result.examples)
