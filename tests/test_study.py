"""Tests for alnus.study: what the train and predict jobs read."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from alnus.data import build_image_cache
from alnus.study import cached_images


def test_cached_images_follow_the_rows_across_cohorts(tmp_path):
    """study.cached_images finds each row's image in its cohort's cache by
    the manifest order, and refuses a cache of another length."""
    manifests, caches = {}, {}
    for cohort, ids in {"development": ["a", "b", "c"], "external": ["x", "y"]}.items():
        paths = []
        for k, image_id in enumerate(ids):
            paths.append(tmp_path / f"{image_id}.png")
            cv2.imwrite(str(paths[-1]), np.full((8, 8), 10 * k + (100 if cohort == "external" else 0), dtype=np.uint8))
        manifests[cohort] = tmp_path / f"{cohort}.csv"
        pd.DataFrame({"id": ids, "label": [0, 1, 0][: len(ids)]}).to_csv(manifests[cohort], index=False)
        caches[cohort] = tmp_path / f"{cohort}_8px.npy"
        build_image_cache(paths, 8, caches[cohort])
    rows = pd.DataFrame({"cohort": ["external", "development", "development", "external"], "id": ["y", "c", "a", "x"]})
    images = cached_images(rows, manifests, caches)
    assert images.dtype == torch.uint8 and [int(v) for v in images[:, 0, 4, 4]] == [110, 20, 0, 100]
    pd.DataFrame({"id": ["x"], "label": [0]}).to_csv(manifests["external"], index=False)
    with pytest.raises(ValueError, match="external_8px.npy holds 2 images but .*external.csv lists 1"):
        cached_images(rows, manifests, caches)


def test_train_job_writes_what_happened_in_training_to_the_card(tmp_path, monkeypatch):
    """train_job on a tiny random-init network (build_model replaced): the
    card's `training` record holds the epoch chosen and why, the validation
    curve, the seconds per epoch, the processor, its capability, the
    precision used and the threads, the same numbers as history.tsv."""
    import json

    from test_train import tiny_model, toy_images

    from alnus import study
    from alnus.hardware import processor

    images, labels = toy_images(24, 0)
    ids = [f"i{k}" for k in range(24)]
    sets = ["train"] * 16 + ["validation"] * 8
    pd.DataFrame({"id": ids, "patient": ids, "cohort": "development", "set": sets}).to_csv(
        tmp_path / "splits.csv", index=False
    )
    pd.DataFrame({"id": ids, "label": labels}).to_csv(tmp_path / "manifest.csv", index=False)
    np.save(tmp_path / "cache.npy", images.numpy())
    monkeypatch.setattr(study, "build_model", lambda *args, **kwargs: tiny_model())
    preset = {
        "input_size": {"inception_v3": 80},
        "epochs": 1,
        "batch_size": 8,
        "learning_rate": 1e-3,
        "weight_decay": 0.0,
        "warmup_epochs": 0,
        "patience": 5,
    }
    training = {"device": "cpu", "precision": "auto", "deterministic": False, "input_channels": 3, "compile": False}
    out = tmp_path / "models" / "inception_v3"
    study.train_job(
        arch="inception_v3",
        splits_csv=str(tmp_path / "splits.csv"),
        manifests={"development": str(tmp_path / "manifest.csv")},
        caches={"development": str(tmp_path / "cache.npy")},
        seed=3,
        pretrained="none",
        threads=1,
        config={"training": training, "resolved_preset": preset},
        out_weights=str(out / "model.safetensors"),
        out_card=str(out / "model_card.json"),
        out_history=str(out / "history.tsv"),
    )
    record = json.loads((out / "model_card.json").read_text())["training"]
    history = pd.read_csv(out / "history.tsv", sep="\t")
    assert record["best_epoch"] == 1 and "highest validation AUC" in record["selected_by"]
    assert record["validation_auc"] == pytest.approx(history["val_auc"].tolist(), rel=1e-5)
    assert record["seconds_per_epoch"] == pytest.approx(history["seconds"].tolist(), rel=1e-5)
    assert record["still_improving"] and record["note"] == "still improving: more epochs would likely help"
    assert record["device"] == "cpu" and record["processor"] and record["threads"] == 1
    assert record["capability"] == processor(torch.device("cpu")).capability
    assert record["precision"] == "fp32" and record["precision_reason"].startswith("auto: fp32")
    assert isinstance(record["native_bf16"], bool) and record["capability_detected_by"]
