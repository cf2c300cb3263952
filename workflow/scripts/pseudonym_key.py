"""Rule pseudonym_key: create the pseudonym key file once (random, mode 0600); an existing key is kept."""

from alnus.logs import logged
from alnus.pseudonym import load_or_create_key

with logged(snakemake.log[0]):
    load_or_create_key(snakemake.output[0])
