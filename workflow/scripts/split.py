"""Rule split: patient-level, stratified train/validation/internal-test split
(and cross-validation folds, `split: folds`), judged against the near-duplicates."""

from alnus.logs import logged
from alnus.split import split_job

with logged(snakemake.log[0]):
    params = snakemake.params
    split_job(
        snakemake.input.development,
        snakemake.input.external,
        snakemake.input.duplicates,
        snakemake.output[0],
        internal_test_fraction=params.internal_test_fraction,
        validation_fraction=params.validation_fraction,
        folds=params.folds,
        seed=params.seed,
        duplicates_across_sets=params.duplicates_across_sets,
    )
