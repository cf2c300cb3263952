"""Rule predict: score the validation and both test sets with one trained model."""

from alnus.logs import logged
from alnus.study import predict_job
from alnus.vocabulary import COHORTS, PREDICTION_SETS

with logged(snakemake.log[0]):
    predict_job(
        arch=snakemake.params.arch,
        weights=snakemake.input.weights,
        card=snakemake.input.card,
        splits_csv=snakemake.input.splits,
        manifests=dict(zip(COHORTS, snakemake.input.manifests)),
        caches=dict(zip(COHORTS, snakemake.input.caches)),
        device=snakemake.params.device,
        precision=snakemake.params.precision,
        threads=snakemake.threads,
        flip_tta=snakemake.params.flip_tta,
        fold=snakemake.params.fold,
        outputs={name: snakemake.output[name] for name in PREDICTION_SETS},
    )
