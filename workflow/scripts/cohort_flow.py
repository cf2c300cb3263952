"""Rule cohort_flow: the STARD-style flow diagram of the study, from cohorts.csv."""

import pandas as pd

from alnus import style
from alnus.figures.cohorts import cohort_flow_figure
from alnus.logs import logged

with logged(snakemake.log[0]):
    fig = cohort_flow_figure(pd.read_csv(snakemake.input[0]))
    style.save(fig, snakemake.output.png, snakemake.output.pdf)
