"""Rule confusion_matrices: 2 x 2 tables of each model and the readers' majority vote, from metrics.csv."""

import pandas as pd

from alnus import style
from alnus.figures import confusion_figure
from alnus.logs import logged

with logged(snakemake.log[0]):
    fig = confusion_figure(pd.read_csv(snakemake.input.metrics))
    style.save(fig, snakemake.output.png, snakemake.output.pdf)
