"""Rule metrics: results/tables/metrics.csv from predictions and readers' calls."""

from alnus.logs import logged
from alnus.metrics import metrics_from_files, metrics_options

with logged(snakemake.log[0]):
    table = metrics_from_files(
        snakemake.input.predictions,
        snakemake.input.readers[0] if snakemake.input.readers else None,
        seed_prediction_csvs=snakemake.input.seed_predictions,
        splits_csv=snakemake.input.splits,
        **metrics_options(snakemake.params.statistics, seed=snakemake.params.seed),
    )
    table.to_csv(snakemake.output[0], index=False, float_format="%.6f")
