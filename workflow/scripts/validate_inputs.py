"""Rule validate_inputs: check manifests, images and readers before anything runs."""

from alnus.logs import logged
from alnus.validate import cohort_paths, validate_study

with logged(snakemake.log[0]):
    summary = validate_study(
        cohort_paths(snakemake.input),
        snakemake.input.get("readers"),
        threads=snakemake.threads,
        clinical=snakemake.params.clinical,
    )
    summary.to_csv(snakemake.output[0], sep="\t", index=False)
