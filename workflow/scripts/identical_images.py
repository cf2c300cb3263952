"""Rule identical_images: the same preprocessed image twice, within or across cohorts."""

import pandas as pd

from alnus.logs import logged
from alnus.preprocess import check_identical_images, find_identical_images

with logged(snakemake.log[0]):
    cohorts = {c: (pd.read_csv(snakemake.input[f"{c}_manifest"], dtype=str), snakemake.input[f"{c}_images"])
               for c in snakemake.params.cohorts}  # fmt: skip
    table = find_identical_images(cohorts)
    check_identical_images(table, across_cohorts=snakemake.params.across_cohorts)
    table.to_csv(snakemake.output[0], sep="\t", index=False)
