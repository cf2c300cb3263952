"""Rule fetch_weights: download timm's ImageNet weights once, on a node with
internet, into resources/weights/, so that training needs no network."""

from alnus.logs import logged
from alnus.models import fetch_imagenet_weights

with logged(snakemake.log[0]):
    fetch_imagenet_weights(snakemake.wildcards.arch, snakemake.output[0])
