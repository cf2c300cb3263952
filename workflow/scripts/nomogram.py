"""Rule nomogram: the points scales of one combined (or the clinical-only) model."""

from alnus.logs import logged
from alnus.nomogram import nomogram_from_file

with logged(snakemake.log[0]):
    nomogram_from_file(snakemake.input[0], png=snakemake.output.png, pdf=snakemake.output.pdf)
