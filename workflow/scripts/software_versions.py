"""Rule software_versions: pinned, installed and training versions of the software, for the report."""

from pathlib import Path

from alnus.figures import software_versions
from alnus.logs import logged

with logged(snakemake.log[0]):
    requirements = Path(snakemake.scriptdir).resolve().parents[1] / "requirements.txt"  # the repository's
    cards = dict(zip(snakemake.params.architectures, snakemake.input.cards))
    software_versions(str(requirements), cards).to_csv(snakemake.output[0], index=False)
