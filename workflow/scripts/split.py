"""Rule split: patient-level, stratified train/validation/internal-test split
(and cross-validation folds, `split: folds`); then no near-duplicate pair may
lie across two sets (or folds)."""

import pandas as pd

from alnus.duplicates import check_duplicates
from alnus.logs import logged
from alnus.split import sets_and_folds, split_cohorts

with logged(snakemake.log[0]) as log:
    pairs = pd.read_csv(
        snakemake.input.duplicates, sep="\t", dtype={"id_a": str, "id_b": str, "patient_a": str, "patient_b": str}
    )
    policy = snakemake.params.duplicates_across_sets
    development_pairs = pairs[(pairs["cohort_a"] == "development") & (pairs["cohort_b"] == "development")]
    splits = split_cohorts(
        pd.read_csv(snakemake.input.development, dtype={"id": str, "patient": str}),
        pd.read_csv(snakemake.input.external, dtype={"id": str, "patient": str}),
        internal_test_fraction=snakemake.params.internal_test_fraction,
        validation_fraction=snakemake.params.validation_fraction,
        seed=snakemake.params.seed,
        together=list(zip(development_pairs["id_a"], development_pairs["id_b"])) if policy == "group" else [],
        folds=snakemake.params.folds,
    )
    check_duplicates(pairs, sets_and_folds(splits), across_sets=policy)
    splits.to_csv(snakemake.output[0], index=False)
    log.info("images per set:\n%s", splits["set"].value_counts().to_string())
