"""Rule calibration: results/tables/calibration.csv (Brier score, calibration intercept and slope)."""

from alnus.calibration import calibration_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    stats = snakemake.params.statistics
    table = calibration_from_files(snakemake.input.predictions, level=stats["level"], ensemble=stats["ensemble"])
    table.to_csv(snakemake.output[0], index=False, float_format="%.6g")
