"""Rule forest_plot: sensitivity and specificity with CIs of models and readers, from metrics.csv."""

from alnus import style
from alnus.figures.common import read_metrics
from alnus.figures.performance import forest_figure
from alnus.logs import logged

with logged(snakemake.log[0]):
    fig = forest_figure(read_metrics(snakemake.input.metrics), level=snakemake.params.level)
    style.save(fig, snakemake.output.png, snakemake.output.pdf)
