"""Tests for alnus.history: the model card's account of a training run."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from alnus.history import STILL_IMPROVING, best_epoch, still_improving, training_summary


def history(val_auc: list[float]) -> pd.DataFrame:
    """A history as fit returns it: the kept epoch is the first highest AUC."""
    n = len(val_auc)
    frame = pd.DataFrame(
        {
            "epoch": range(1, n + 1),
            "lr": 1e-3,
            "train_loss": 0.5,
            "val_loss": [0.7 - 0.01 * k for k in range(n)],
            "val_auc": val_auc,
            "seconds": [10.0 + k for k in range(n)],
        }
    )
    frame["best"] = frame["epoch"] == frame.loc[frame["val_auc"].idxmax(), "epoch"]
    return frame


def test_summary_of_a_run_that_peaked_midway():
    summary = training_summary(history([0.6, 0.8, 0.7, 0.75]), epochs_planned=6, patience=2)
    assert summary["best_epoch"] == 2 and summary["best_validation_auc"] == 0.8
    assert summary["epochs_run"] == 4 and summary["epochs_planned"] == 6 and summary["stopped_early"]
    assert not summary["still_improving"] and summary["note"] is None
    assert summary["epoch"] == [1, 2, 3, 4] and summary["validation_auc"] == [0.6, 0.8, 0.7, 0.75]
    assert summary["validation_loss"] == pytest.approx([0.7, 0.69, 0.68, 0.67])
    assert summary["seconds_per_epoch"] == [10.0, 11.0, 12.0, 13.0] and summary["seconds_total"] == 46.0
    assert "validation AUC" in summary["selected_by"]


def test_summary_of_a_run_still_improving_at_its_end():
    summary = training_summary(history([0.6, 0.7, 0.8]), epochs_planned=3, patience=5)
    assert summary["best_epoch"] == 3 and summary["still_improving"] and not summary["stopped_early"]
    assert summary["note"] == STILL_IMPROVING == "still improving: more epochs would likely help"


def test_a_history_read_back_from_its_tsv_gives_the_same_answers():
    """history.tsv stores `best` as text; the kept epoch is found all the same."""
    frame = history([0.6, 0.9, 0.7])
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", index=False)
    buffer.seek(0)
    read = pd.read_csv(buffer, sep="\t", dtype={"best": str})
    assert best_epoch(read) == best_epoch(frame) == 2 and not still_improving(read)


def test_a_history_without_one_kept_epoch_is_refused():
    frame = history([0.6, 0.7]).assign(best=False)
    with pytest.raises(ValueError, match="exactly one epoch as best, got 0"):
        best_epoch(frame)
