"""Rule combined_models: each network's logit with the clinical variables, and the clinical-only model."""

from alnus.combined import combined_from_files
from alnus.logs import logged

with logged(snakemake.log[0]):
    models, sets = snakemake.params.models, snakemake.params.sets
    outputs = iter(snakemake.output.predictions)  # expand(): model by model, each set in turn
    combined_from_files(
        snakemake.input.predictions,
        snakemake.input.clinical,
        declared=snakemake.params.clinical["variables"],
        missing=snakemake.params.clinical["missing"],
        method=snakemake.params.clinical["fit"],
        level=snakemake.params.level,
        ensemble=snakemake.params.ensemble,
        splits_csv=snakemake.input.splits,
        prediction_outputs={model: {set_name: next(outputs) for set_name in sets} for model in models},
        coefficients_csv=snakemake.output.coefficients,
        card_outputs=dict(zip(models, snakemake.output.cards)),
    )
