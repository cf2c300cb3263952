"""Rule confusion_matrices: 2 x 2 tables of each model and the readers' majority vote, from metrics.csv."""

from alnus import style
from alnus.figures.common import read_metrics
from alnus.figures.performance import confusion_figure
from alnus.logs import logged

with logged(snakemake.log[0]):
    fig = confusion_figure(read_metrics(snakemake.input.metrics))
    style.save(fig, snakemake.output.png, snakemake.output.pdf)
