"""Rule forest_plot: sensitivity and specificity with CIs of models and readers, from metrics.csv."""

import pandas as pd

from alnus import style
from alnus.figures import forest_figure
from alnus.logs import logged

with logged(snakemake.log[0]):
    fig = forest_figure(pd.read_csv(snakemake.input.metrics), level=snakemake.params.level)
    style.save(fig, snakemake.output.png, snakemake.output.pdf)
