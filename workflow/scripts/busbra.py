"""Rule convert_busbra: the BUS-BRA folder as the study's two cohort manifests."""

from pathlib import Path

from alnus.busbra import convert_busbra
from alnus.logs import logged

with logged(snakemake.log[0]) as log:
    out_dir = Path(snakemake.output.development_manifest).parent.parent
    summary = convert_busbra(snakemake.params.bus_bra_dir, out_dir)
    log.info("converted BUS-BRA %s into %s:\n%s", snakemake.params.bus_bra_dir, out_dir, summary.to_string(index=False))
