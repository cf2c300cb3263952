"""Rule readers: pseudonymise the readers' calls and attach label and test set."""

from alnus.logs import logged
from alnus.readers import pseudonymised_reader_calls
from alnus.validate import cohort_paths
from alnus.vocabulary import COHORTS

with logged(snakemake.log[0]):
    calls = pseudonymised_reader_calls(
        snakemake.input.readers,
        cohorts=cohort_paths(snakemake.input),
        linkage_paths=dict(zip(COHORTS, snakemake.input.linkage)),
        manifest_paths=dict(zip(COHORTS, snakemake.input.manifests)),
        splits_csv=snakemake.input.splits,
    )
    calls.to_csv(snakemake.output[0], index=False)
