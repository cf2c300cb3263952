"""Rule validate_inputs: check manifests, images and readers before anything runs."""

from alnus.logs import logged
from alnus.validate import cohort_paths, validate_inputs_job

with logged(snakemake.log[0]):
    validate_inputs_job(
        cohort_paths(snakemake.input),
        snakemake.input.get("readers"),
        snakemake.output[0],
        threads=snakemake.threads,
        clinical=snakemake.params.clinical,
    )
