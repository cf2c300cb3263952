"""Rule mrmc: results/tables/mrmc.csv (each model against the average radiologist, readers as a random sample)."""

from alnus.logs import logged
from alnus.reader_study import mrmc_from_files

with logged(snakemake.log[0]):
    stats = snakemake.params.statistics
    table = mrmc_from_files(
        snakemake.input.predictions,
        snakemake.input.readers[0],
        splits_csv=snakemake.input.splits,
        threshold=stats["threshold"],
        level=stats["level"],
        ensemble=stats["ensemble"],
        ties=stats["majority_ties"],
        unit=stats["unit"],
        aggregate=stats["aggregate"],
        reader_aggregate=stats["reader_aggregate"],
    )
    table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
