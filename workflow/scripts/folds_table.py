"""Rule folds_table: results/tables/folds.csv, each fold model's AUCs and the out-of-fold estimate."""

from alnus.folds import folds_table_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    stats = snakemake.params.statistics
    table = folds_table_from_files(
        snakemake.input.folds,
        snakemake.input.ensembles,
        level=stats["level"],
        auc_ci=stats["auc_ci"],
        n_resamples=stats["bootstrap_resamples"],
        seed=snakemake.params.seed,
        clustered=stats["clustered"],
        clustered_auc=stats["clustered_auc_ci"],
    )
    table.to_csv(snakemake.output[0], index=False, float_format="%.6f")
