"""Rule software_versions: pinned, installed and training versions of the software, for the report."""

from alnus.figures import software_versions
from alnus.logs import logged

with logged(snakemake.log[0]):
    cards = dict(zip(snakemake.params.architectures, snakemake.input.cards))
    software_versions(snakemake.params.requirements, cards).to_csv(snakemake.output[0], index=False)
