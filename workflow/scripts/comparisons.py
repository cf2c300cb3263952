"""Rule comparisons: results/tables/comparisons.csv (models with each other and with the readers)."""

from alnus.comparisons import comparisons_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    stats = snakemake.params.statistics
    table = comparisons_from_files(
        snakemake.input.predictions,
        snakemake.input.readers[0] if snakemake.input.readers else None,
        splits_csv=snakemake.input.splits,
        threshold=stats["threshold"],
        proportion_test=stats["proportion_test"],
        ensemble=stats["ensemble"],
        ties=stats["majority_ties"],
        unit=stats["unit"],
        aggregate=stats["aggregate"],
        reader_aggregate=stats["reader_aggregate"],
        clustered=stats["clustered"],
    )
    table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
