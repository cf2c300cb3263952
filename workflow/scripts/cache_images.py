"""Rule cache_images: one cohort's preprocessed images, letterboxed to one input size, as a single .npy file."""

from alnus.data import cache_job
from alnus.logs import logged

with logged(snakemake.log[0]):
    cache_job(
        snakemake.input.manifest,
        snakemake.input.images,
        snakemake.output[0],
        size=snakemake.params.size,
        threads=snakemake.threads,
    )
