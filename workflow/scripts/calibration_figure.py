"""Rule calibration_figure: calibration plots of the models on each test set."""

from alnus.figures.calibration import calibration_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    calibration_from_files(
        snakemake.input.predictions,
        snakemake.input.calibration,
        png=snakemake.output.png,
        pdf=snakemake.output.pdf,
        **snakemake.params,
    )
