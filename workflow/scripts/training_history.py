"""Rule training_history: the architectures' history.tsv files as one table."""

from alnus.figures import training_history_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    training_history_from_files(snakemake.input).to_csv(snakemake.output[0], index=False, float_format="%.6g")
