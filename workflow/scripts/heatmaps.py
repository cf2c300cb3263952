"""Rule heatmaps: Grad-CAM galleries of each architecture, and the same cases across architectures, on one test set."""

import torch

from alnus.heatmaps import heatmaps_job
from alnus.logs import logged

with logged(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    archs = snakemake.params.architectures
    heatmaps_job(
        set_name=snakemake.wildcards.set,
        prediction_csvs=snakemake.input.predictions,
        splits_csv=snakemake.input.splits,
        image_dirs=dict(zip(snakemake.params.cohorts, snakemake.input.images)),
        weights=dict(zip(archs, snakemake.input.weights)),
        cards=dict(zip(archs, snakemake.input.cards)),
        threshold=snakemake.params.threshold,
        ensemble=snakemake.params.ensemble,
        **snakemake.params.heatmaps,
        galleries={arch: snakemake.output[arch] for arch in archs},
        across=snakemake.output.across,
    )
