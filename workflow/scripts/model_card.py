"""Rule model_card: the human-readable model card of one architecture (results/models/{arch}/model_card.{md,html})."""

from alnus.logs import logged
from alnus.model_cards import model_card_from_files

with logged(snakemake.log[0]):
    i, p = snakemake.input, snakemake.params
    paths = {
        **dict(i.items()),
        "manifests": dict(zip(p.cohorts, i.manifests)),
        "cards": {p.arch: i.cards[0]},
        "annotations": dict(zip(p.cohorts, i.annotations)),
        "residual_text": dict(zip(p.cohorts, i.residual_text)),
        "mrmc": i.mrmc[0] if i.mrmc else None,
        "readers": i.readers[0] if i.readers else None,
    }
    model_card_from_files(
        p.arch,
        paths,
        config=p.config,
        simulated=p.simulated,
        markdown=snakemake.output.markdown,
        html=snakemake.output.html,
    )
