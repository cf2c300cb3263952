"""Rule annotation_figure: a few development images before and after annotation removal."""

from alnus import style
from alnus.annotations import annotation_figure, load_examples
from alnus.logs import logged

with logged(snakemake.log[0]):
    fig = annotation_figure(load_examples(snakemake.input.examples))
    style.save(fig, snakemake.output.png)
