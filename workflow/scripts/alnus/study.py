"""File-level jobs of the workflow: each reads the pipeline's files, calls the
library and writes the contract's outputs. The entry scripts call these."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import timm
import torch
from safetensors.torch import load_model, save_model

import alnus
from alnus.card_json import ModelCard
from alnus.data import preset_augmentation, read_image_cache
from alnus.devices import resolve_device, resolve_precision, set_determinism
from alnus.folds import fold_sets
from alnus.hardware import processor
from alnus.history import training_summary
from alnus.models import ARCHITECTURES, build_model
from alnus.train import TrainSettings, fit, predict_probabilities

log = logging.getLogger(__name__)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def labelled_splits(splits_csv: str | Path, manifests: dict[str, str | Path]) -> pd.DataFrame:
    """splits.csv joined with each cohort's preprocessed manifest: id, patient,
    cohort, set, label, in splits order.

    Raises
    ------
    ValueError
        If an id of the splits has no row in its cohort's manifest (stale files).
    """
    splits = pd.read_csv(splits_csv, dtype={"id": str, "patient": str})
    labels = pd.concat(
        [
            pd.read_csv(path, dtype={"id": str})[["id", "label"]].assign(cohort=cohort)
            for cohort, path in manifests.items()
        ]
    )
    table = splits.merge(labels, on=["id", "cohort"], how="left", validate="one_to_one")
    if table["label"].isna().any():
        missing = table.loc[table["label"].isna(), "id"].head(3).tolist()
        raise ValueError(f"ids {missing} of {splits_csv} are in no preprocessed manifest; rerun the split rule")
    table["label"] = table["label"].astype(int)
    return table


def image_paths(rows: pd.DataFrame, image_dirs: dict[str, str | Path]) -> list[Path]:
    """Path of each row's preprocessed PNG, from its cohort and id."""
    return [Path(image_dirs[cohort]) / f"{image_id}.png" for cohort, image_id in zip(rows["cohort"], rows["id"])]


def cached_images(rows: pd.DataFrame, manifests: dict[str, str], caches: dict[str, str]) -> torch.Tensor:
    """uint8 images (n, 1, size, size) of `rows` (cohort, id), in row order,
    from each cohort's image cache (rule cache_images: the cohort's images in
    the order of its preprocessed manifest).

    Raises
    ------
    ValueError
        If a cache does not hold one image per manifest row (stale files).
    """
    out = None
    for cohort, group in rows.groupby("cohort", sort=False):
        ids = pd.read_csv(manifests[cohort], dtype={"id": str})["id"]
        cached = np.load(caches[cohort], mmap_mode="r").shape[0]
        if cached != len(ids):
            raise ValueError(
                f"{caches[cohort]} holds {cached} images but {manifests[cohort]} lists {len(ids)}; "
                "delete the cache file and rerun"
            )
        position = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
        images = read_image_cache(caches[cohort], position[group["id"]].to_numpy())
        if out is None:
            out = torch.empty((len(rows), *images.shape[1:]), dtype=torch.uint8)
        out[np.flatnonzero((rows["cohort"] == cohort).to_numpy())] = images
    return out if out is not None else torch.empty((0, 1, 1, 1), dtype=torch.uint8)


def _setup_torch(threads: int, device: str, precision: str, deterministic: bool = False):
    """Threads, device, determinism and precision of a job: (device, the
    processor behind it, autocast dtype or None, why that precision)."""
    torch.set_num_threads(max(1, threads))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    log.info("torch uses %d threads (%d CPUs available to this process)", torch.get_num_threads(), cpus)
    resolved = resolve_device(device)
    set_determinism(deterministic, resolved)
    hardware = processor(resolved)
    dtype, reason = resolve_precision(precision, resolved, hardware=hardware)
    log.info(
        "%s on %s (capability %s, %s); precision %s",
        resolved,
        hardware.name,
        hardware.capability,
        hardware.detected_by,
        reason,
    )
    return resolved, hardware, dtype, reason


def _data_hashes(splits_csv: str, manifests: dict[str, str]) -> dict[str, str]:
    """SHA-256 of the files a model is trained from: splits.csv and each
    cohort's preprocessed manifest ("development/manifest.csv", ...)."""
    hashes = {"splits.csv": sha256_file(splits_csv)}
    return hashes | {f"{cohort}/manifest.csv": sha256_file(path) for cohort, path in manifests.items()}


def _fingerprint(run: list) -> str:
    """SHA-256 of what a training run depends on (architecture, the whole
    resolved preset, so that every preset key counts without being listed,
    the training settings, pretrained weights, precision, data hashes, fold),
    so that a checkpoint is resumed only by the run that wrote it
    (`alnus.checkpoints.load_checkpoint`)."""
    return hashlib.sha256(json.dumps(run, sort_keys=True).encode()).hexdigest()


def _training_record(history: pd.DataFrame, settings: TrainSettings, machine, *, deterministic: bool) -> dict:
    """The card's `training` record: what happened in training, read by the
    human-readable model card (so these names are kept plain).

    best_epoch, selected_by, best_validation_auc, epochs_run, epochs_planned,
    stopped_early, still_improving, note, and per epoch epoch,
    validation_auc, validation_loss, seconds_per_epoch, with seconds_total
    (all from the history, see `alnus.history.training_summary`); then
    device ("cpu", "cuda", "mps"), processor (its name), capability
    ("avx2", "avx512", "avx512_bf16", "amx_bf16", "cuda: <name> (sm_XY)",
    "mps"), capability_detected_by, native_bf16, precision ("fp32" or
    "bf16" autocast), precision_reason (`alnus.devices.resolve_precision`),
    threads (torch's) and deterministic. `machine`: (device, processor,
    autocast dtype, precision reason) as `_setup_torch` returns them."""
    device, hardware, autocast_dtype, precision_reason = machine
    return {
        **training_summary(history, epochs_planned=settings.epochs, patience=settings.patience),
        "device": str(device),
        "processor": hardware.name,
        "capability": hardware.capability,
        "capability_detected_by": hardware.detected_by,
        "native_bf16": hardware.native_bf16,
        "precision": "bf16" if autocast_dtype == torch.bfloat16 else "fp32",
        "precision_reason": precision_reason,
        # CPU results depend on the thread count (oneDNN splits reductions
        # by thread), so a rerun is bit-identical only with the same threads.
        "threads": torch.get_num_threads(),
        "deterministic": deterministic if device.type == "cuda" else "cpu: always, for these threads",
    }


def _versions() -> dict[str, str]:
    """The versions a card records: alnus, python, torch, timm."""
    return {
        "alnus": alnus.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "timm": timm.__version__,
    }


def train_job(
    *,
    arch: str,
    splits_csv: str,
    manifests: dict[str, str],
    caches: dict[str, str],
    seed: int,
    pretrained: str,
    threads: int,
    config: dict,
    out_weights: str,
    out_card: str,
    out_history: str,
    fold: int | None = None,
) -> None:
    """Train `arch` on the train set, select on validation, write weights
    (safetensors), the model card (JSON, `alnus.card_json.ModelCard`) and the
    history (TSV). `caches` maps each cohort to its image cache at this
    architecture's input size.

    `config` holds every setting the model depends on, and goes into its
    card as it is: `training` (the config's section: device, precision,
    input_channels, compile, deterministic, ...) and `resolved_preset` (the
    preset's epochs, sizes, optimiser settings; `TrainSettings.from_config`).
    `seed` is this model's (the config's, or one of `training.seeds`);
    `pretrained` is "none", "imagenet" resolved to its weights file, or a
    file. `fold` (config `split: folds`): train on the other folds, select on
    this one (`alnus.folds.fold_sets`); the card then records `fold`. The
    card's `training` record says what happened (`_training_record`)."""
    preset, training = config["resolved_preset"], config["training"]
    table = fold_sets(labelled_splits(splits_csv, manifests), fold)
    size = preset["input_size"][arch]
    train, val = table[table["set"] == "train"], table[table["set"] == "validation"]
    log.info("%s: %d training and %d validation images at %d px", arch, len(train), len(val), size)
    machine = _setup_torch(threads, training["device"], training["precision"], training["deterministic"])
    settings = TrainSettings.from_config(config, seed=seed)
    data_hashes = _data_hashes(splits_csv, manifests)
    run = [arch, preset, settings.__dict__, pretrained, training["precision"], data_hashes] + (
        [fold] if fold is not None else []
    )
    checkpoint = Path(out_weights).with_name("checkpoint.pt")
    torch.manual_seed(seed)  # the random initialisation is part of the run
    model, history = fit(
        build_model(arch, num_classes=1, pretrained=pretrained, in_chans=settings.input_channels),
        cached_images(train, manifests, caches),
        train["label"].to_numpy(),
        cached_images(val, manifests, caches),
        val["label"].to_numpy(),
        settings,
        transform=preset_augmentation(preset, size),
        device=machine[0],
        autocast_dtype=machine[2],
        checkpoint=checkpoint,
        fingerprint=_fingerprint(run),
    )
    Path(out_weights).parent.mkdir(parents=True, exist_ok=True)
    save_model(model.cpu(), out_weights, metadata={"architecture": arch, "input_size": str(size)})
    history.to_csv(out_history, sep="\t", index=False, float_format="%.6g")
    ModelCard(
        architecture=arch,
        timm_name=ARCHITECTURES[arch]["timm_name"],
        input_size=size,
        pretrained=pretrained,
        seed=seed,
        fold=fold,
        settings=settings.__dict__,
        training=_training_record(history, settings, machine, deterministic=training["deterministic"]),
        train_images=len(train),
        validation_images=len(val),
        data_sha256=data_hashes,
        versions=_versions(),
        config=config,
    ).to_json(out_card)
    checkpoint.unlink(missing_ok=True)  # the run is complete; nothing to resume


def load_trained(arch: str, weights: str, card: ModelCard) -> torch.nn.Module:
    """Rebuild `arch` as its model card describes it (input channels) and load
    its trained safetensors weights (no unpickling)."""
    model = build_model(arch, num_classes=1, pretrained="none", in_chans=card.input_channels)
    load_model(model, weights)
    return model


def predict_job(
    *,
    arch: str,
    weights: str,
    card: str,
    splits_csv: str,
    manifests: dict[str, str],
    caches: dict[str, str],
    device: str,
    precision: str,
    threads: int,
    outputs: dict[str, str],
    flip_tta: bool = False,
    fold: int | None = None,
) -> None:
    """Score every image of the validation and both test sets; write one CSV
    (id, patient, label, probability) per set, `patient` the pseudonym of
    splits.csv. A fold model (`fold`) scores its own held-out fold as
    validation (`alnus.folds.fold_sets`)."""
    card = ModelCard.from_json(card)
    size, normalisation = card.input_size, card.settings["normalisation"]
    table = fold_sets(labelled_splits(splits_csv, manifests), fold)
    torch_device, _, autocast_dtype, _ = _setup_torch(threads, device, precision)
    model = load_trained(arch, weights, card).to(torch_device).to(memory_format=torch.channels_last)
    for set_name, out in outputs.items():
        rows = table[table["set"] == set_name]
        images = cached_images(rows, manifests, caches)
        if images.shape[-1] != size:
            raise ValueError(
                f"the image caches are at {images.shape[-1]} px but {arch} was trained at {size} px; "
                "rerun the train rule (snakemake --forcerun train)"
            )
        probabilities = predict_probabilities(
            model,
            images,
            device=torch_device,
            autocast_dtype=autocast_dtype,
            normalisation=normalisation,
            flip_tta=flip_tta,
            channels=card.input_channels,
        )
        frame = pd.DataFrame(
            {
                "id": rows["id"].to_numpy(),
                "patient": rows["patient"].to_numpy(),
                "label": rows["label"].to_numpy(),
                "probability": probabilities,
            }
        )
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False, float_format="%.8f")
        log.info("%s on %s: %d images scored", arch, set_name, len(frame))
