"""Rule decision_curve: results/tables/decision_curve.csv (net benefit across threshold probabilities)."""

from alnus.calibration import decision_curve_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    stats = snakemake.params.statistics
    table = decision_curve_from_files(
        snakemake.input.predictions, ensemble=stats["ensemble"], **stats["decision_curve"]
    )
    table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
