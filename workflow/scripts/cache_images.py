"""Rule cache_images: one cohort's preprocessed images, letterboxed to one input size, as a single .npy file."""

import pandas as pd

from alnus.data import build_image_cache
from alnus.logs import logged

with logged(snakemake.log[0]) as log:
    manifest = pd.read_csv(snakemake.input.manifest, dtype={"id": str})
    paths = [f"{snakemake.input.images}/{image_id}.png" for image_id in manifest["id"]]
    build_image_cache(paths, snakemake.params.size, snakemake.output[0], threads=snakemake.threads)
    log.info("%d images cached at %d px in %s", len(paths), snakemake.params.size, snakemake.output[0])
