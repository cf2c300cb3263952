"""Rule checklists: CLAIM 2024 and TRIPOD+AI answered from the run (results/report/{claim,tripod_ai}.{md,html})."""

from alnus.checklists import checklists_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    i, p = snakemake.input, snakemake.params
    paths = {
        **dict(i.items()),
        "manifests": dict(zip(p.cohorts, i.manifests)),
        "cards": dict(zip(p.architectures, i.cards)),
        "annotations": dict(zip(p.cohorts, i.annotations)),
        "residual_text": dict(zip(p.cohorts, i.residual_text)),
        "mrmc": i.mrmc[0] if i.mrmc else None,
        "readers": i.readers[0] if i.readers else None,
    }
    outputs = {
        key: {"markdown": snakemake.output[f"{key}_markdown"], "html": snakemake.output[f"{key}_html"]}
        for key in p.checklists
    }
    checklists_from_files(paths, config=p.config, simulated=p.simulated, outputs=outputs)
