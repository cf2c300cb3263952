"""Rule duplicates: exact and near-duplicate preprocessed images, within and across cohorts."""

import pandas as pd

from alnus.duplicates import find_duplicates
from alnus.logs import logged

with logged(snakemake.log[0]):
    cohorts = {
        c: (pd.read_csv(snakemake.input[f"{c}_manifest"], dtype=str), snakemake.input[f"{c}_images"])
        for c in snakemake.params.cohorts
    }
    pairs = find_duplicates(cohorts, max_distance=snakemake.params.max_distance)
    pairs.to_csv(snakemake.output[0], sep="\t", index=False)
