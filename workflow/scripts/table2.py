"""Rule table2: results/tables/table2.md and table2.tex, laid out as Radiology prints results."""

from alnus.logs import logged
from alnus.tables import table2_from_files

with logged(snakemake.log[0]):
    stats = snakemake.params.statistics
    table2_from_files(
        snakemake.input.metrics,
        snakemake.input.comparisons,
        markdown=snakemake.output.markdown,
        latex=snakemake.output.latex,
        level=stats["level"],
        proportion_ci=stats["proportion_ci"],
        auc_ci=stats["auc_ci"],
        ties=stats["majority_ties"],
        aggregate=stats["aggregate"],
        reader_aggregate=stats["reader_aggregate"],
    )
