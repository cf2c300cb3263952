"""Rule roc_figure: ROC curves of the architectures, the ensemble and the readers on one test set."""

from alnus.figures.roc import roc_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    roc_from_files(
        snakemake.input.predictions,
        snakemake.input.metrics,
        set_name=snakemake.wildcards.set,
        png=snakemake.output.png,
        pdf=snakemake.output.pdf,
        **snakemake.params,
    )
