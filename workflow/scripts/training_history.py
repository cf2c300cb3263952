"""Rule training_history: the architectures' history.tsv files as one table."""

from alnus.logs import logged
from alnus.study_tables import training_history_from_files

with logged(snakemake.log[0]):
    training_history_from_files(snakemake.input).to_csv(snakemake.output[0], index=False, float_format="%.6g")
