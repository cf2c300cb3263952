"""Answers about the models: architectures, software, initialisation,
training, model selection, ensembling, and how predictions are made."""

from __future__ import annotations

from alnus import run_facts as facts
from alnus.card_json import ModelCard
from alnus.checklists.answer import Answer
from alnus.vocabulary import display_name


def model(run) -> Answer:
    parts = []
    for arch, card in run.cards.items():
        channels = card.input_channels
        parts.append(
            f"{display_name(arch)} (timm `{card.timm_name or arch}`, {card.input_size} px, "
            f"{channels} channel{'s' if channels != 1 else ''})"
        )
    return Answer(
        "; ".join(parts) + ". Input: the letterboxed grayscale image; output: one logit, its sigmoid the "
        "probability of metastasis.",
        tuple(f"results/models/{a}/model_card.md" for a in run.cards),
    )


def software(run) -> Answer:
    return Answer(
        f"{facts.versions_text(run)}; the full list with the versions recorded at training is in the report.",
        ("results/report/software_versions.csv",),
    )


def initialisation(run) -> Answer:
    pretrained = run.config["training"]["pretrained"]
    start = (
        "random initialisation (trained from scratch)" if pretrained == "none" else f"pretrained weights `{pretrained}`"
    )
    seeds = [run.config["seed"], *[s for s in run.config["training"]["seeds"] if s != run.config["seed"]]]
    return Answer(f"{start}; seed(s) {', '.join(map(str, seeds))}.", ("config.yaml (training)",))


def training(run) -> Answer:
    card = next(iter(run.cards.values()))
    s = card.setting
    seeds = 1 + len([x for x in run.config["training"]["seeds"] if x != run.config["seed"]])
    return Answer(
        f"Class-weighted binary cross-entropy, AdamW with warm-up and cosine decay; at most "
        f"{facts.epochs_text(s('epochs'))}, batch {s('batch_size')}, learning rate "
        f"{s('learning_rate')}, weight decay {s('weight_decay')}, early stopping after "
        f"{facts.epochs_text(s('patience'))} without gain; augmentation: "
        "horizontal flip, small affine, brightness/contrast/gamma. Device "
        f"{facts.card_text(card, 'device')}, precision {facts.card_text(card, 'precision')}. "
        f"{len(run.cards)} architecture(s) x {seeds} seed(s)"
        f"{f' x {folds} folds' if (folds := run.config['split']['folds']) else ''} trained.",
        ("config.yaml (training)", "results/models/*/model_card.json", "results/tables/training_history.csv"),
    )


def _fold_epochs(card: ModelCard) -> str:
    """Each fold model's selected epoch, from a fold ensemble's card (`cross_validation`)."""
    return ", ".join(
        f"fold {m['fold']} epoch {m['best_epoch']} of {m['epochs_run']} (AUC "
        f"{m['best_validation_auc']:.3f} on its held-out fold)"
        for m in card.cross_validation["models"]
    )


def selection(run) -> Answer:
    epochs = "; ".join(
        f"{display_name(a)} "
        + (
            _fold_epochs(c)
            if c.cross_validation is not None
            else f"epoch {facts.card_text(c, 'chosen_epoch')} of {facts.card_text(c, 'epochs_run')} "
            f"(validation AUC {facts.card_text(c, 'validation_auc', fmt='{:.3f}')})"
        )
        for a, c in run.cards.items()
    )
    return Answer(
        f"The epoch with the best validation AUC: {epochs}. Thresholds chosen on the validation set "
        f"(`{run.config['statistics']['threshold']}`) and frozen before the test sets were scored.",
        ("results/models/*/model_card.json", "results/tables/metrics.csv"),
    )


def ensembling(run) -> Answer:
    if not run.config["statistics"]["ensemble"]:
        return Answer("No ensemble (`statistics: ensemble: false`).", ("config.yaml (statistics)",))
    return Answer(
        "The `ensemble` rows average the architectures' probabilities, with their own validation threshold.",
        ("results/tables/metrics.csv",),
    )


def outputs(run) -> Answer:
    st = run.config["statistics"]
    thresholds = facts.rows_of(run, set_name="external_test")[["model", "threshold"]]
    text = ", ".join(f"{display_name(r.model)} {r.threshold:.3f}" for r in thresholds.itertuples())
    return Answer(
        f"A probability of metastasis per image; a positive call above a threshold chosen on validation "
        f"(`{st['threshold']}`): {text}.",
        ("results/tables/metrics.csv", "results/predictions/"),
    )


def prediction_method(run) -> Answer:
    tta = " with horizontal-flip test-time augmentation" if run.config["training"]["flip_tta"] else ""
    return Answer(
        f"Each trained network scores every image of a test set{tta}; the frozen weights are in the model folders.",
        ("results/predictions/", "results/models/"),
    )
