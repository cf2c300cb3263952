"""Rule duplicates: exact and near-duplicate preprocessed images, within and across cohorts."""

from alnus.duplicates import duplicates_job
from alnus.logs import logged
from alnus.vocabulary import COHORTS

with logged(snakemake.log[0]):
    duplicates_job(
        {c: (snakemake.input[f"{c}_manifest"], snakemake.input[f"{c}_images"]) for c in COHORTS},
        snakemake.output[0],
        max_distance=snakemake.params.max_distance,
    )
