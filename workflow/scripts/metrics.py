"""Rule metrics: results/tables/metrics.csv from predictions and readers' calls."""

from alnus.logs import logged
from alnus.metrics import metrics_from_files

with logged(snakemake.log[0]):
    stats = snakemake.params.statistics
    table = metrics_from_files(
        snakemake.input.predictions,
        snakemake.input.readers[0] if snakemake.input.readers else None,
        seed_prediction_csvs=snakemake.input.seed_predictions,
        splits_csv=snakemake.input.splits,
        threshold=stats["threshold"],
        level=stats["level"],
        method=stats["proportion_ci"],
        auc_ci=stats["auc_ci"],
        n_resamples=stats["bootstrap_resamples"],
        seed=snakemake.params.seed,
        ensemble=stats["ensemble"],
        ties=stats["majority_ties"],
        unit=stats["unit"],
        aggregate=stats["aggregate"],
        reader_aggregate=stats["reader_aggregate"],
        clustered=stats["clustered"],
        clustered_auc=stats["clustered_auc_ci"],
    )
    table.to_csv(snakemake.output[0], index=False, float_format="%.6f")
