"""Rule training_curves: loss and validation AUC by epoch, from training_history.csv."""

import pandas as pd

from alnus import style
from alnus.figures.training import training_figure
from alnus.logs import logged

with logged(snakemake.log[0]):
    fig = training_figure(pd.read_csv(snakemake.input[0]))
    style.save(fig, snakemake.output.png, snakemake.output.pdf)
