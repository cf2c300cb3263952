"""Rule clinical_table: the declared clinical columns keyed by pseudonymised image id."""

import pandas as pd

from alnus.clinical import clinical_table, clinical_variables
from alnus.logs import logged
from alnus.manifest import read_csv
from alnus.validate import cohort_paths

with logged(snakemake.log[0]):
    cohorts = cohort_paths(snakemake.input)
    manifests = {c: read_csv(cohorts[c]["manifest"], what=f"The {c} manifest") for c in snakemake.params.cohorts}
    linkages = {c: pd.read_csv(path, dtype=str) for c, path in zip(snakemake.params.cohorts, snakemake.input.linkage)}
    table = clinical_table(manifests, linkages, clinical_variables(snakemake.params.variables))
    table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
