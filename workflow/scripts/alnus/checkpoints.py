"""Training checkpoints: written after every epoch, atomically, and read back
only by the run that wrote them (the fingerprint of its settings and data),
so that a killed job resumes (`alnus.train.fit`)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

log = logging.getLogger(__name__)


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write a training checkpoint atomically (a kill mid-write leaves the
    previous one intact). Only tensors and plain containers are stored, so
    it loads with torch.load(weights_only=True): nothing is unpickled."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, fingerprint: str) -> dict | None:
    """The checkpoint at `path` if it belongs to this run (same fingerprint of
    settings and data), else None; an unreadable checkpoint is ignored."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a torn or foreign file: start afresh rather than fail
        log.warning("ignoring unreadable checkpoint %s (%s)", path, error)
        return None
    if state.get("fingerprint") != fingerprint:
        log.info("checkpoint %s is from other settings or data; starting afresh", path)
        return None
    return state
