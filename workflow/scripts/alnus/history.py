"""What happened in training, read from its history (one row per epoch:
epoch, lr, train_loss, val_loss, val_auc, seconds, best, as `alnus.train.fit`
returns it and history.tsv stores it): the epoch chosen, the validation
curve, the time per epoch, and whether the run was still improving when it
ended. Plain pandas, no torch, so that the report's rules can use it too."""

from __future__ import annotations

import pandas as pd

# The note of a run whose best validation epoch is its last one.
STILL_IMPROVING = "still improving: more epochs would likely help"


def kept_mask(history: pd.DataFrame) -> pd.Series:
    """Boolean mask of the epoch whose weights were kept (column `best`,
    read back from a TSV as bool or as the text True/False)."""
    return history["best"].astype(str).str.lower() == "true"


def best_epoch(history: pd.DataFrame) -> int:
    """The epoch whose weights were kept (the highest validation AUC).

    Raises
    ------
    ValueError
        If the history marks not exactly one epoch as `best`.
    """
    kept = history.loc[kept_mask(history), "epoch"]
    if len(kept) != 1:
        raise ValueError(f"a training history must mark exactly one epoch as best, got {len(kept)}")
    return int(kept.iloc[0])


def still_improving(history: pd.DataFrame) -> bool:
    """True when the epoch kept is the last epoch run: the validation AUC was
    still rising when training ended, and more epochs would likely help."""
    return best_epoch(history) == int(history["epoch"].max())


def training_summary(history: pd.DataFrame, *, epochs_planned: int, patience: int) -> dict:
    """The model card's account of one training run, from its history.

    Parameters
    ----------
    history : one row per epoch (epoch, val_loss, val_auc, seconds, best).
    epochs_planned : the preset's `epochs`.
    patience : the preset's `patience` (epochs without improvement before
        stopping early).

    Returns
    -------
    dict with
        best_epoch : the epoch whose weights were kept.
        selected_by : why that epoch, in words.
        best_validation_auc : its validation AUC.
        epochs_run, epochs_planned : epochs trained, and the preset's.
        stopped_early : whether `patience` epochs without improvement ended it.
        still_improving : whether the epoch kept is the last one run.
        note : STILL_IMPROVING when still_improving, else None.
        epoch, validation_auc, validation_loss, seconds_per_epoch : lists, one
            entry per epoch run (history.tsv's epoch, val_auc, val_loss, seconds).
        seconds_total : the sum of seconds_per_epoch (training and validation).
    """
    best = best_epoch(history)
    improving = still_improving(history)
    epochs_run = int(history["epoch"].max())
    return {
        "best_epoch": best,
        "selected_by": "highest validation AUC (the test sets play no part)",
        "best_validation_auc": float(history.loc[history["epoch"] == best, "val_auc"].iloc[0]),
        "epochs_run": epochs_run,
        "epochs_planned": epochs_planned,
        "stopped_early": epochs_run < epochs_planned and epochs_run - best >= patience,
        "still_improving": improving,
        "note": STILL_IMPROVING if improving else None,
        "epoch": [int(e) for e in history["epoch"]],
        "validation_auc": [float(v) for v in history["val_auc"]],
        "validation_loss": [float(v) for v in history["val_loss"]],
        "seconds_per_epoch": [float(v) for v in history["seconds"]],
        "seconds_total": float(history["seconds"].sum()),
    }
