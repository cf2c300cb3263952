"""Rule split: patient-level, stratified train/validation/internal-test split."""

import pandas as pd

from alnus.logs import logged
from alnus.split import split_cohorts

with logged(snakemake.log[0]) as log:
    splits = split_cohorts(
        pd.read_csv(snakemake.input.development, dtype={"id": str, "patient": str}),
        pd.read_csv(snakemake.input.external, dtype={"id": str, "patient": str}),
        internal_test_fraction=snakemake.params.internal_test_fraction,
        validation_fraction=snakemake.params.validation_fraction,
        seed=snakemake.params.seed,
    )
    splits.to_csv(snakemake.output[0], index=False)
    log.info("images per set:\n%s", splits["set"].value_counts().to_string())
