"""Rule fold_ensemble: an architecture's out-of-fold validation and fold-mean test predictions, and its card."""

from alnus.folds import fold_ensemble_job
from alnus.logs import logged
from alnus.vocabulary import PREDICTION_SETS

with logged(snakemake.log[0]):
    folds, i = snakemake.params.folds, snakemake.input
    fold_ensemble_job(
        cards=dict(zip(folds, i.cards)),
        weights=dict(zip(folds, i.weights)),
        predictions={k: {s: i[f"{s}_{k}"] for s in PREDICTION_SETS} for k in folds},
        outputs={s: snakemake.output[s] for s in PREDICTION_SETS},
        out_card=snakemake.output.card,
    )
