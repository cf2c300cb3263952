"""Rule train: train one architecture (or one fold of it), select its best epoch on validation."""

from alnus.logs import logged
from alnus.study import train_job
from alnus.vocabulary import COHORTS

with logged(snakemake.log[0]):
    train_job(
        arch=snakemake.params.arch,
        splits_csv=snakemake.input.splits,
        manifests=dict(zip(COHORTS, snakemake.input.manifests)),
        caches=dict(zip(COHORTS, snakemake.input.caches)),
        seed=snakemake.params.seed,
        fold=snakemake.params.fold,
        pretrained=snakemake.params.pretrained,
        threads=snakemake.threads,
        config=snakemake.params.config,
        out_weights=snakemake.output.weights,
        out_card=snakemake.output.card,
        out_history=snakemake.output.history,
    )
