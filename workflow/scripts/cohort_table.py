"""Rule cohort_table: images, patients, positives and negatives per cohort and set."""

from alnus.logs import logged
from alnus.study_tables import cohort_table_from_files

with logged(snakemake.log[0]):
    table = cohort_table_from_files(
        snakemake.input.splits,
        {cohort: snakemake.input[cohort] for cohort in snakemake.params.cohorts},
        snakemake.input.readers[0] if snakemake.input.readers else None,
    )
    table.to_csv(snakemake.output[0], index=False)
