"""Rule cohort_table: images, patients, positives and negatives per cohort and set."""

from alnus.figures import cohort_table_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    table = cohort_table_from_files(
        snakemake.input.splits,
        {cohort: snakemake.input[cohort] for cohort in snakemake.params.cohorts},
        snakemake.input.readers[0] if snakemake.input.readers else None,
    )
    table.to_csv(snakemake.output[0], index=False)
