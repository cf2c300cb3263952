"""Rule folds_table: results/tables/folds.csv, each fold model's AUCs and the out-of-fold estimate."""

from alnus.folds import folds_table_from_files
from alnus.logs import logged
from alnus.merit import interval_options

with logged(snakemake.log[0]):
    table = folds_table_from_files(
        snakemake.input.folds,
        snakemake.input.ensembles,
        **interval_options(snakemake.params.statistics, seed=snakemake.params.seed),
    )
    table.to_csv(snakemake.output[0], index=False, float_format="%.6f")
