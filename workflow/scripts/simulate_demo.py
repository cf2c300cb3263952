"""Rule simulate_demo: write the simulated demo study under resources/demo/."""

from pathlib import Path

from alnus.logs import logged
from alnus.simulate import simulate_study

with logged(snakemake.log[0]) as log:
    summary = simulate_study(
        Path(snakemake.output.readers).parent,
        seed=snakemake.params.seed,
        n_development=snakemake.params.n_development,
        n_external=snakemake.params.n_external,
    )
    log.info("simulated demo study: %s", summary)
