"""Training one network: `fit` runs epochs of `train_one_epoch` and `evaluate`,
selecting the epoch with the best validation AUC (the test sets are never seen)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from timm.utils import ModelEmaV3

from alnus.checkpoints import load_checkpoint, save_checkpoint
from alnus.data import ImageSet, normalise
from alnus.devices import CPU, autocast, default_batch_size
from alnus.history import STILL_IMPROVING, still_improving

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings of one run: a resolved preset's (config
    `training.<preset>`, `alnus.presets.resolve_preset`), the run's seed, and
    the stem and compile switches of config `training`. No field has a
    default here: every default is the schema's (workflow/schemas/config.schema.yaml)."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_epochs: int
    patience: int
    seed: int
    normalisation: str
    input_channels: int
    compile: bool
    precise_bn: bool
    ema_decay: float
    label_smoothing: float

    @classmethod
    def from_preset(cls, preset: dict, *, seed: int, input_channels: int, compile: bool) -> TrainSettings:
        """The settings of a resolved preset (`alnus.presets.resolve_preset`,
        which gives every key of the schema's preset block); keys of the
        preset that are not fields here (input_size, augmentation, affine, aspect_jitter)
        are left.

        Raises
        ------
        ValueError
            If the preset lacks a field (a preset not resolved against the schema).
        """
        fields = [key for key in cls.__dataclass_fields__ if key not in ("seed", "input_channels", "compile")]
        missing = [key for key in fields if key not in preset]
        if missing:
            raise ValueError(
                f"the training preset lacks {missing}; resolve it against the schema with alnus.presets.resolve_preset"
            )
        return cls(**{key: preset[key] for key in fields}, seed=seed, input_channels=input_channels, compile=compile)

    @classmethod
    def from_config(cls, config: dict, *, seed: int) -> TrainSettings:
        """The settings of a training job's config, as rule train passes it
        (common.smk's `training_config`: `training`, the config's section
        validated against the schema, and `resolved_preset`).

        seed : this model's seed (the config's `seed`, or one of `training.seeds`).
        """
        training = config["training"]
        return cls.from_preset(
            config["resolved_preset"], seed=seed, input_channels=training["input_channels"], compile=training["compile"]
        )


def warmup_cosine(optimizer, *, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the peak learning rate, then cosine decay to zero, per step."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _to_input(images: torch.Tensor, device: torch.device, normalisation: str, channels: int = 3) -> torch.Tensor:
    return normalise(images, normalisation, channels).to(device).contiguous(memory_format=torch.channels_last)


def train_one_epoch(
    model,
    loader,
    optimizer,
    scheduler,
    loss_fn,
    *,
    device,
    autocast_dtype,
    normalisation="imagenet",
    channels=3,
    label_smoothing=0.0,
    ema=None,
) -> float:
    """One pass over `loader`; returns the mean training loss.

    label_smoothing ε moves the 0/1 targets to ε/2 and 1 - ε/2; `ema`, a
    timm `ModelEmaV3` of `model`, is updated after every optimiser step."""
    model.train()
    total, count = 0.0, 0
    for images, labels in loader:
        inputs, labels = _to_input(images, device, normalisation, channels), labels.to(device)
        with autocast(device, autocast_dtype):
            logits = model(inputs).squeeze(1)
        loss = loss_fn(logits.float(), labels * (1.0 - label_smoothing) + 0.5 * label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if ema is not None:
            ema.update(model, step=scheduler.last_epoch)
        total += loss.item() * len(labels)
        count += len(labels)
    return total / max(1, count)


@torch.no_grad()
def recompute_batchnorm(
    model,
    images: torch.Tensor,
    *,
    device,
    autocast_dtype=None,
    normalisation="imagenet",
    channels: int = 3,
    batch_size: int = 32,
) -> None:
    """Replace the BatchNorm running statistics of `model` by the exact mean
    and variance of its activations over `images` (uint8, not augmented):
    "precise BN". After a few short epochs from scratch the running averages
    (momentum 0.1) still lag far behind the weights, and evaluation mode then
    sees other activations than training did. torch's `update_bn` does the
    averaging; this feeds it normalised batches."""
    batches = (
        _to_input(images[start : start + batch_size], device, normalisation, channels)
        for start in range(0, len(images), batch_size)
    )
    with autocast(device, autocast_dtype):
        torch.optim.swa_utils.update_bn(batches, model, device=device)


@torch.no_grad()
def predict_probabilities(
    model,
    images: torch.Tensor,
    *,
    device,
    autocast_dtype=None,
    normalisation="imagenet",
    flip_tta: bool = False,
    batch_size: int | None = None,
    channels: int = 3,
) -> np.ndarray:
    """Probabilities of metastasis, array of shape (n,), for uint8 images (n, 1, H, W).

    flip_tta averages the probabilities of each image and its mirror image
    (test-time augmentation with the one flip used in training).
    batch_size None chooses it: `default_batch_size`, halved whenever the
    device runs out of memory, down to 1.
    """
    model.eval()
    batch_size = batch_size or default_batch_size(device)
    out, start = [], 0
    while start < len(images):
        try:
            out.append(
                _predict_batch(
                    model,
                    images[start : start + batch_size],
                    device=device,
                    autocast_dtype=autocast_dtype,
                    normalisation=normalisation,
                    flip_tta=flip_tta,
                    channels=channels,
                )
            )
        except torch.OutOfMemoryError:
            if batch_size == 1:
                raise
            batch_size //= 2
            log.info("out of memory: inference batch size lowered to %d", batch_size)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            continue
        start += batch_size
    return np.concatenate(out) if out else np.empty(0)


def _predict_batch(model, batch, *, device, autocast_dtype, normalisation, flip_tta, channels) -> np.ndarray:
    inputs = _to_input(batch, device, normalisation, channels)
    views = [inputs, torch.flip(inputs, dims=[3])] if flip_tta else [inputs]
    probabilities = 0.0
    for view in views:
        with autocast(device, autocast_dtype):
            probabilities = probabilities + torch.sigmoid(model(view).squeeze(1).float())
    return (probabilities / len(views)).cpu().numpy()


def class_weight(labels: np.ndarray) -> float:
    """BCE's positive weight for 0/1 labels of shape (n,): negatives per
    positive (a set without positives counts one), so that both classes
    weigh alike in the loss."""
    positives = float(np.sum(labels))
    return (len(labels) - positives) / max(positives, 1.0)


def weighted_bce(probabilities: np.ndarray, labels: np.ndarray, *, pos_weight: float) -> float:
    """Mean class-weighted binary cross-entropy of probabilities against 0/1
    labels (arrays of shape (n,)): torch's BCEWithLogitsLoss(pos_weight), the
    training loss, with each positive's term weighted by `pos_weight`;
    probabilities are clipped to [1e-7, 1 - 1e-7]."""
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    return float(-np.mean(pos_weight * labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped)))


def evaluate(
    model, images, labels, *, pos_weight: float, device, autocast_dtype=None, normalisation="imagenet", channels=3
) -> dict[str, float]:
    """Validation loss and AUC of `model` on uint8 images (n, 1, H, W) and
    0/1 labels (n,): {"val_loss", "val_auc"}. The loss is the training loss,
    class-weighted with the training set's `pos_weight` (`class_weight`), so
    that training and validation losses compare on one axis."""
    probabilities = predict_probabilities(
        model, images, device=device, autocast_dtype=autocast_dtype, normalisation=normalisation, channels=channels
    )
    return {
        "val_loss": weighted_bce(probabilities, labels, pos_weight=pos_weight),
        "val_auc": float(roc_auc_score(labels, probabilities)),
    }


def _loader(images: torch.Tensor, labels: np.ndarray, settings: TrainSettings, transform):
    """The shuffled training batches and the generator that shuffles them
    (seeded by `settings.seed`; a checkpoint saves and restores its state)."""
    generator = torch.Generator().manual_seed(settings.seed)
    loader = torch.utils.data.DataLoader(
        ImageSet(images, labels, transform),
        batch_size=settings.batch_size,
        shuffle=True,
        drop_last=len(labels) > settings.batch_size,  # BatchNorm cannot take a batch of one
        generator=generator,
    )
    return loader, generator


@dataclass
class _Parts:
    """The objects of one training run. `model` is trained and returned;
    `step_model` is what the optimiser steps (`model`, or its torch.compile
    wrapper, which shares its parameters); `kept` the weights validated and
    kept and `scored` what validation runs: the weight average where there
    is one (`ema`), else `model` and `step_model`."""

    model: torch.nn.Module
    step_model: torch.nn.Module
    ema: ModelEmaV3 | None
    kept: torch.nn.Module
    scored: torch.nn.Module
    loader: torch.utils.data.DataLoader
    generator: torch.Generator
    loss_fn: torch.nn.Module
    pos_weight: float
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR


def _parts(model, train_images, train_labels, settings: TrainSettings, *, transform, device) -> _Parts:
    """Set up a run: the loader, the class-weighted loss (`class_weight`),
    AdamW with warm-up and cosine decay, and the weights' exponential moving
    average with `ema_decay` (timm's, with its decay warm-up, so the first
    steps do not average in the random initialisation)."""
    loader, generator = _loader(train_images, train_labels, settings, transform)
    model = model.to(device).to(memory_format=torch.channels_last)
    step_model = torch.compile(model) if settings.compile else model
    pos_weight = class_weight(train_labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = warmup_cosine(
        optimizer, warmup_steps=settings.warmup_epochs * len(loader), total_steps=settings.epochs * len(loader)
    )
    ema = (
        ModelEmaV3(model, decay=settings.ema_decay, use_warmup=True, warmup_power=0.75) if settings.ema_decay else None
    )
    return _Parts(
        model=model,
        step_model=step_model,
        ema=ema,
        kept=ema.module if ema is not None else model,
        scored=ema.module if ema is not None else step_model,
        loader=loader,
        generator=generator,
        loss_fn=torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight, device=device)),
        pos_weight=pos_weight,
        optimizer=optimizer,
        scheduler=scheduler,
    )


def _resume(checkpoint, fingerprint: str, parts: _Parts) -> dict:
    """The run's progress (epoch, best_auc, since_best, rows, best_state):
    restored, with the training state of `parts`, from `checkpoint` where it
    belongs to this run (`load_checkpoint`), else a fresh start."""
    resumed = load_checkpoint(checkpoint, fingerprint) if checkpoint else None
    if not resumed:
        return {"epoch": 0, "best_auc": -1.0, "since_best": 0, "rows": [], "best_state": None}
    parts.model.load_state_dict(resumed["model"])
    if parts.ema is not None:
        parts.ema.module.load_state_dict(resumed["ema"])
    parts.optimizer.load_state_dict(resumed["optimizer"])
    parts.scheduler.load_state_dict(resumed["scheduler"])
    torch.set_rng_state(resumed["torch_rng"])
    parts.generator.set_state(resumed["loader_rng"])
    log.info("resumed from %s after epoch %d", checkpoint, resumed["run"]["epoch"])
    return resumed["run"]


def _checkpoint_state(fingerprint: str, run: dict, parts: _Parts) -> dict:
    """Everything `_resume` needs to continue after the epoch just run."""
    return {
        "fingerprint": fingerprint,
        "model": parts.model.state_dict(),
        "optimizer": parts.optimizer.state_dict(),
        "scheduler": parts.scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "loader_rng": parts.generator.get_state(),
        "run": run,
        **({"ema": parts.ema.module.state_dict()} if parts.ema is not None else {}),
    }


def _epoch(epoch: int, parts: _Parts, train_images, val_images, val_labels, settings: TrainSettings, inputs) -> dict:
    """Train one epoch, recompute the BatchNorm statistics with `precise_bn`,
    validate: the epoch's history row (epoch, lr, train_loss, val_loss,
    val_auc, seconds). `inputs`: device, autocast_dtype, normalisation, channels."""
    start, lr = time.perf_counter(), parts.optimizer.param_groups[0]["lr"]
    train_loss = train_one_epoch(
        parts.step_model,
        parts.loader,
        parts.optimizer,
        parts.scheduler,
        parts.loss_fn,
        label_smoothing=settings.label_smoothing,
        ema=parts.ema,
        **inputs,
    )
    if settings.precise_bn:
        recompute_batchnorm(parts.kept, train_images, **inputs)
    scores = evaluate(parts.scored, val_images, val_labels, pos_weight=parts.pos_weight, **inputs)
    return {"epoch": epoch, "lr": lr, "train_loss": train_loss, **scores, "seconds": time.perf_counter() - start}


def _record_epoch(run: dict, row: dict, kept: torch.nn.Module) -> None:
    """Add one epoch's history row to `run`, keeping a copy of the weights
    of `kept` when its validation AUC is the best so far."""
    improved = row["val_auc"] > run["best_auc"]
    if improved:
        best_state = {k: v.detach().cpu().clone() for k, v in kept.state_dict().items()}
        run.update(best_auc=row["val_auc"], best_state=best_state, since_best=0)
    else:
        run["since_best"] += 1
    run["epoch"] = row["epoch"]
    run["rows"].append(row)
    log.info(
        "epoch %d: train loss %.4f, val loss %.4f, val AUC %.3f%s",
        row["epoch"],
        row["train_loss"],
        row["val_loss"],
        row["val_auc"],
        " (best)" if improved else "",
    )


def _history(rows: list[dict], settings: TrainSettings) -> pd.DataFrame:
    """The history table of a run's rows, its best epoch marked; a run whose
    best epoch is its last logs a warning (`alnus.history.still_improving`)."""
    history = pd.DataFrame(rows)
    history["best"] = history["epoch"] == int(history.loc[history["val_auc"].idxmax(), "epoch"])
    if still_improving(history):
        log.warning(
            "the best validation AUC is at the last epoch (%d of %d planned): %s (the preset's epochs)",
            int(history["epoch"].max()),
            settings.epochs,
            STILL_IMPROVING,
        )
    return history


def fit(
    model: torch.nn.Module,
    train_images: torch.Tensor,
    train_labels: np.ndarray,
    val_images: torch.Tensor,
    val_labels: np.ndarray,
    settings: TrainSettings,
    *,
    transform=None,
    device: torch.device = CPU,
    autocast_dtype: torch.dtype | None = None,
    checkpoint: str | Path | None = None,
    fingerprint: str = "",
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train `model` and return it at its best validation-AUC epoch.

    Class imbalance is met with BCE's positive weight (`class_weight` of the
    training labels), which the validation loss uses too; AdamW with warm-up
    and cosine decay; early stopping after `settings.patience` epochs
    without improvement.

    With `checkpoint`, the full training state (model, optimizer, scheduler,
    RNG states, best epoch so far, history) is saved after every epoch, and a
    run killed midway resumes from it when `fit` is called again with the same
    `fingerprint`; on the CPU the result equals an uninterrupted run's.

    Returns
    -------
    (model, history): the best-epoch model and one history row per epoch
    (epoch, lr, train_loss, val_loss, val_auc, seconds, best).
    """
    torch.manual_seed(settings.seed)
    parts = _parts(model, train_images, train_labels, settings, transform=transform, device=device)
    run = _resume(checkpoint, fingerprint, parts)
    inputs = {"device": device, "autocast_dtype": autocast_dtype, "normalisation": settings.normalisation}
    inputs["channels"] = settings.input_channels
    for epoch in range(run["epoch"] + 1, settings.epochs + 1):
        if run["since_best"] >= settings.patience:
            break
        _record_epoch(run, _epoch(epoch, parts, train_images, val_images, val_labels, settings, inputs), parts.kept)
        if checkpoint:
            save_checkpoint(checkpoint, _checkpoint_state(fingerprint, run, parts))
        if run["since_best"] >= settings.patience:
            log.info("no improvement for %d epochs: stopping early", settings.patience)
    parts.model.load_state_dict(run["best_state"])
    return parts.model, _history(run["rows"], settings)
