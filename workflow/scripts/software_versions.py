"""Rule software_versions: pinned, installed and training versions of the software, for the report."""

from pathlib import Path

from alnus.logs import logged
from alnus.versions import software_versions

with logged(snakemake.log[0]):
    root = Path(snakemake.scriptdir).resolve().parents[1]  # the repository's
    cards = dict(zip(snakemake.params.architectures, snakemake.input.cards))
    table = software_versions(str(root / "requirements.txt"), cards, environment=str(root / "envs" / "stats.yaml"))
    table.to_csv(snakemake.output[0], index=False)
