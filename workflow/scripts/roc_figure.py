"""Rule roc_figure: ROC curves of all architectures (and readers) on one test set."""

import pandas as pd

from alnus import style
from alnus.figures import roc_figure
from alnus.logs import logged

with logged(snakemake.log[0]):
    metrics = pd.read_csv(snakemake.input.metrics)
    set_name = snakemake.wildcards.set
    predictions = {name: pd.read_csv(path) for name, path in snakemake.input.items() if name != "metrics"}
    readers = metrics[(metrics["kind"] == "reader") & (metrics["set"] == set_name)]
    fig = roc_figure(set_name, predictions, metrics, readers)
    style.save(fig, snakemake.output.png, snakemake.output.pdf)
