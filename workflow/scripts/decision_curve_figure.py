"""Rule decision_curve_figure: net benefit of the models on each test set, from decision_curve.csv."""

import pandas as pd

from alnus import style
from alnus.figures.performance import decision_curve_figure
from alnus.logs import logged

with logged(snakemake.log[0]):
    fig = decision_curve_figure(pd.read_csv(snakemake.input[0]))
    style.save(fig, snakemake.output.png, snakemake.output.pdf)
