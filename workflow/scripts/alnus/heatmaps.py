"""Rule heatmaps: Grad-CAM maps of the trained networks on chosen test
cases, drawn by `alnus.figures` (the torch side of the heat-map figures, kept
apart so that the figure module needs no torch)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from alnus import style
from alnus.cam import grad_cam
from alnus.card_json import ModelCard
from alnus.data import letterbox, normalise, read_preprocessed, unletterbox
from alnus.figures import label
from alnus.figures.heatmaps import CATEGORIES, heatmap_architectures, heatmap_gallery
from alnus.metrics import ENSEMBLE, frozen_thresholds, model_predictions, read_predictions
from alnus.models import ARCHITECTURES, cam_layer
from alnus.study import load_trained
from alnus.vocabulary import SET_NAMES

log = logging.getLogger(__name__)

SELECTIONS = ("most_confident", "least_confident", "median")
CAM_TARGETS = ("metastasis", "predicted")


def _case_maps(
    arch: str, weights: str, card: ModelCard, images: dict[str, np.ndarray], *, method: str, classes
) -> tuple[dict[str, np.ndarray], str]:
    """id -> heat map over each case's preprocessed image (`images`: id ->
    (H, W) uint8, each map at its image's size), and what the maps are made
    of ("last block Mixed_7c: 2 × 2 feature map at 112 px input"). The
    inputs are the model's own (its card's input size, normalisation and
    stem channels: 1 or 3)."""
    model = load_trained(arch, weights, card)
    letterboxed = np.stack([letterbox(pixels, card.input_size) for pixels in images.values()])[:, None]
    inputs = normalise(torch.from_numpy(letterboxed), card.settings["normalisation"], card.input_channels)
    layer = cam_layer(model, arch)
    grid = []
    hook = layer.register_forward_hook(lambda module, args, output: grid.append(tuple(output.shape[-2:])))
    with torch.no_grad():
        model.eval()(inputs[:1])
    hook.remove()
    name = ARCHITECTURES[arch]["cam_layer"]
    source = f"last block {name}: {grid[0][0]} \u00d7 {grid[0][1]} feature map at {card.input_size} px input"
    if grid[0][0] * grid[0][1] == 1:
        log.warning(
            "%s: the feature map of %s is 1 x 1 at %d px input, so its maps show no place; use a larger input_size",
            arch,
            name,
            card.input_size,
        )
    maps = grad_cam(model, inputs, layer=layer, method=method, classes=classes)
    return {i: unletterbox(m, pixels.shape) for (i, pixels), m in zip(images.items(), maps)}, source


def _architecture_maps(
    arch: str, cases: list[str], *, frame, threshold: float, weights: str, card: str, images, method: str, target: str
) -> tuple[dict, dict, str]:
    """One architecture's heat maps of `cases` (ids): (id -> map, id ->
    probability, what the maps are made of). `frame`: its predictions on the
    set, indexed by id; target "predicted" explains each case's call at
    `threshold`, "metastasis" the logit."""
    calls = (frame.loc[cases, "probability"] >= threshold).astype(int).to_numpy()
    maps, source = _case_maps(
        arch,
        weights,
        ModelCard.from_json(card),
        {i: images[i] for i in cases},
        method=method,
        classes=calls if target == "predicted" else None,
    )
    return maps, frame.loc[cases, "probability"].to_dict(), source


def heatmaps_job(
    *,
    set_name: str,
    prediction_csvs: list[str],
    splits_csv: str,
    image_dirs: dict[str, str],
    weights: dict[str, str],
    cards: dict[str, str],
    threshold,
    ensemble: bool,
    method: str,
    target: str,
    selection: str,
    per_category: int,
    opacity: float,
    galleries: dict[str, str],
    across: str,
) -> None:
    """Write the heat-map figures of one test set (options: config
    `statistics: threshold, ensemble` and `figures: heatmaps`).

    For each architecture, a gallery of its representative TP, FN, FP and
    TN cases (`select_cases` at its threshold frozen on validation, chosen
    by `alnus.metrics.frozen_thresholds` exactly as in metrics.csv), and
    one figure of the cases chosen on the ensemble (or the first
    architecture without one) across all architectures.

    target : "metastasis" explains the metastasis logit for every case;
        "predicted" explains each architecture's own call (the negated logit
        where it calls a case negative).

    Raises
    ------
    ValueError
        For an unknown target, selection or method, or bad predictions.
    """
    if target not in CAM_TARGETS:
        raise ValueError(
            f"unknown heat-map `target` {target!r}; valid names are {', '.join(map(repr, CAM_TARGETS))} "
            "(config `figures: heatmaps: target`)"
        )
    models = model_predictions(read_predictions(prediction_csvs), ensemble=ensemble)
    thresholds = frozen_thresholds(models, policy=threshold)
    splits = pd.read_csv(splits_csv, dtype={"id": str, "patient": str}).set_index("id")
    chooser = ENSEMBLE if ENSEMBLE in models else next(iter(weights))
    chosen = {
        arch: select_cases(models[arch][set_name], thresholds[arch], rule=selection, per_category=per_category)
        for arch in dict.fromkeys([chooser, *weights])
    }
    every = list(dict.fromkeys(i for cases in chosen.values() for i in cases["id"]))
    images = {i: read_preprocessed(Path(image_dirs[splits.loc[i, "cohort"]]) / f"{i}.png") for i in every}
    maps, probabilities, sources = {}, {}, {}
    for arch, path in weights.items():
        ids = list(dict.fromkeys([*chosen[arch]["id"], *chosen[chooser]["id"]]))
        maps[arch], probabilities[arch], sources[arch] = _architecture_maps(
            arch,
            ids,
            frame=models[arch][set_name].set_index("id"),
            threshold=thresholds[arch],
            weights=path,
            card=cards[arch],
            images=images,
            method=method,
            target=target,
        )
        log.info("%s on %s: %s maps of %d cases (%s)", arch, set_name, method, len(ids), sources[arch])
    figures = {"method": method, "opacity": opacity, "galleries": galleries, "across": across}
    _draw(set_name, chosen, chooser, images, maps, probabilities, sources, thresholds, **figures)


def _draw(
    set_name, chosen, chooser, images, maps, probabilities, sources, thresholds, *, method, opacity, galleries, across
) -> None:
    """Save each architecture's gallery of its own cases (`galleries`: arch
    -> PNG) and the figure of `chooser`'s cases across the architectures
    (`across`), from what `heatmaps_job` gathered."""
    for arch, png in galleries.items():
        title = f"{label(arch)}, {SET_NAMES[set_name].lower()} (threshold {thresholds[arch]:.3f})\n{sources[arch]}"
        fig = heatmap_gallery(
            chosen[arch], images, maps[arch], title=title, method=method, opacity=opacity, threshold=thresholds[arch]
        )
        style.save(fig, png)
    chooser_name = "the ensemble" if chooser == ENSEMBLE else label(chooser)
    title = f"Cases chosen by {chooser_name}, {SET_NAMES[set_name].lower()}"
    fig = heatmap_architectures(
        chosen[chooser],
        images,
        maps,
        probabilities,
        title=title,
        method=method,
        opacity=opacity,
        thresholds=thresholds,
        chosen_by=chooser,
    )
    style.save(fig, across)


def select_cases(frame: pd.DataFrame, threshold: float, *, rule: str = "most_confident", per_category: int = 1):
    """Representative cases of each outcome at a model's frozen threshold.

    Parameters
    ----------
    frame : DataFrame(id, label, probability) of one model on one set.
    threshold : the model's threshold (probability >= threshold is positive).
    rule : {"most_confident", "least_confident", "median"}
        most_confident: furthest from the threshold on the side of the call
        (highest probability among true and false positives, lowest among
        true and false negatives); least_confident: nearest the threshold;
        median: nearest the category's median probability. Ties go to the
        smaller id, so the choice is deterministic.
    per_category : cases per category (fewer where a category has fewer).

    Returns
    -------
    DataFrame(id, label, probability, call, category) ordered TP, FN, FP, TN;
    a category without cases has no rows.

    Raises
    ------
    ValueError
        For an unknown rule or per_category below 1.
    """
    if rule not in SELECTIONS:
        raise ValueError(
            f"unknown selection `rule` {rule!r}; valid names are {', '.join(map(repr, SELECTIONS))} "
            "(config `figures: heatmaps: selection`)"
        )
    if per_category < 1:
        raise ValueError(f"`per_category` must be at least 1, got {per_category}")
    frame = frame.assign(id=frame["id"].astype(str), call=(frame["probability"] >= threshold).astype(int))
    parts = []
    for category, (_, truth, call) in CATEGORIES.items():
        group = frame[(frame["label"] == truth) & (frame["call"] == call)]
        if rule == "most_confident":
            key = -group["probability"] if call else group["probability"]
        elif rule == "least_confident":
            key = (group["probability"] - threshold).abs()
        else:
            key = (group["probability"] - group["probability"].median()).abs()
        chosen = group.assign(_key=key).sort_values(["_key", "id"]).head(per_category)
        parts.append(chosen.drop(columns="_key").assign(category=category))
    return pd.concat(parts, ignore_index=True)[["id", "label", "probability", "call", "category"]]
