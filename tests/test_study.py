"""Tests for alnus.study: the train and predict jobs, on tiny random-init networks and toy images."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import save_model
from test_train import tiny_model, toy_images

from alnus import study
from alnus.card_json import ModelCard
from alnus.data import build_image_cache
from alnus.hardware import processor
from alnus.presets import resolve_preset
from alnus.study import cached_images
from alnus.train import TrainSettings

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"
TRAINING = yaml.safe_load(SCHEMA.read_text())["properties"]["training"]["properties"]


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


def tiny_study(tmp_path: Path, *, channels: int = 3) -> dict:
    """A development cohort of 32 toy images (16 train, 8 validation, 8
    internal test) in one image cache, and a train job's config resolved
    from the schema's demo preset at 80 px, 1 epoch: train_job's arguments
    but the outputs."""
    images, labels = toy_images(32, 0)
    ids = [f"i{k}" for k in range(32)]
    sets = ["train"] * 16 + ["validation"] * 8 + ["internal_test"] * 8
    pd.DataFrame({"id": ids, "patient": ids, "cohort": "development", "set": sets}).to_csv(
        tmp_path / "splits.csv", index=False
    )
    pd.DataFrame({"id": ids, "label": labels}).to_csv(tmp_path / "manifest.csv", index=False)
    np.save(tmp_path / "cache.npy", images.numpy())
    given = {"input_size": {"inception_v3": 80}, "epochs": 1, "batch_size": 8, "learning_rate": 1e-3}
    given |= {"weight_decay": 0.0, "warmup_epochs": 0, "patience": 5}
    training = {"device": "cpu", "precision": "auto", "deterministic": False, "input_channels": channels}
    training |= {"compile": False, "preset": "demo"}
    config = {
        "seed": 3,
        "training": training,
        "resolved_preset": resolve_preset(TRAINING, {"preset": "demo", "demo": given}),
    }
    return {
        "arch": "inception_v3",
        "splits_csv": str(tmp_path / "splits.csv"),
        "manifests": {"development": str(tmp_path / "manifest.csv")},
        "caches": {"development": str(tmp_path / "cache.npy")},
        "seed": 3,
        "pretrained": "none",
        "threads": 1,
        "config": config,
    }


def tiny_network(*args, in_chans: int = 3, **kwargs) -> torch.nn.Module:
    """study.build_model's stand-in: test_train's tiny CNN with `in_chans` channels."""
    model = tiny_model()
    model[0] = torch.nn.Conv2d(in_chans, 8, 3, stride=2)
    return model


def train_tiny(tmp_path: Path, monkeypatch, *, channels: int = 3) -> tuple[dict, Path]:
    """Run train_job on tiny_study with tiny_network: (its arguments, the model's folder)."""
    monkeypatch.setattr(study, "build_model", tiny_network)
    job = tiny_study(tmp_path, channels=channels)
    out = tmp_path / "models" / "inception_v3"
    study.train_job(
        **job,
        out_weights=str(out / "model.safetensors"),
        out_card=str(out / "model_card.json"),
        out_history=str(out / "history.tsv"),
    )
    return job, out


def test_train_job_writes_what_happened_in_training_to_the_card(tmp_path, monkeypatch):
    """train_job on a tiny random-init network (build_model replaced): the
    card's `training` record holds the epoch chosen and why, the validation
    curve, the seconds per epoch, the processor, its capability, the
    precision used and the threads, the same numbers as history.tsv."""
    _, out = train_tiny(tmp_path, monkeypatch)
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


def test_the_card_holds_the_settings_the_model_was_trained_with(tmp_path, monkeypatch):
    """The card's keys in the order earlier runs wrote them, its settings
    TrainSettings.from_config's, its config the job's; it reads back as
    ModelCard unchanged, and no checkpoint is left behind."""
    job, out = train_tiny(tmp_path, monkeypatch)
    written = json.loads((out / "model_card.json").read_text())
    assert list(written) == [
        "architecture",
        "timm_name",
        "input_size",
        "pretrained",
        "seed",
        "settings",
        "training",
        "train_images",
        "validation_images",
        "data_sha256",
        "versions",
        "config",
    ]
    assert written["settings"] == TrainSettings.from_config(job["config"], seed=3).__dict__
    assert written["config"] == job["config"] and (written["train_images"], written["validation_images"]) == (16, 8)
    assert written["data_sha256"]["splits.csv"] == study.sha256_file(job["splits_csv"])
    assert ModelCard.from_json(out / "model_card.json").to_dict() == written
    assert not (out / "checkpoint.pt").exists()


def test_a_checkpoint_is_resumed_only_under_the_same_preset(tmp_path, monkeypatch):
    """train_job hands fit a fingerprint that changes with any key of the
    resolved preset (the augmentation's included, and keys added later, which
    no list names), and stays the same for the same job; fit resumes a
    checkpoint only under its own fingerprint (test_resume)."""
    seen = []

    class Stop(Exception):
        pass

    def fit(*args, fingerprint, **kwargs):
        seen.append(fingerprint)
        raise Stop

    monkeypatch.setattr(study, "build_model", tiny_network)
    monkeypatch.setattr(study, "fit", fit)
    job = tiny_study(tmp_path)
    outputs = {name: str(tmp_path / name) for name in ("out_weights", "out_card", "out_history")}
    preset = job["config"]["resolved_preset"]
    for change in ({}, {}, {"aspect_jitter": 0.3}, {"augmentation": 0.5}, {"a_key_added_later": 1}):
        job["config"]["resolved_preset"] = preset | change
        with pytest.raises(Stop):
            study.train_job(**job, **outputs)
    assert seen[0] == seen[1] and len(set(seen)) == 4


def predict_tiny(job: dict, out: Path, outputs: dict[str, str]) -> None:
    """predict_job on the CPU with the model train_tiny wrote to `out`."""
    study.predict_job(
        arch=job["arch"],
        weights=str(out / "model.safetensors"),
        card=str(out / "model_card.json"),
        splits_csv=job["splits_csv"],
        manifests=job["manifests"],
        caches=job["caches"],
        device="cpu",
        precision="fp32",
        threads=1,
        outputs=outputs,
    )


@pytest.mark.parametrize("channels", [1, 3])
def test_predict_job_scores_each_set_with_the_trained_model(tmp_path, monkeypatch, channels):
    """predict_job rebuilds the model with its card's stem (1 or 3 channels)
    and writes one CSV per set: id, patient, label and a probability."""
    job, out = train_tiny(tmp_path, monkeypatch, channels=channels)
    built = []
    monkeypatch.setattr(study, "build_model", lambda *a, **k: built.append(k["in_chans"]) or tiny_network(*a, **k))
    outputs = {name: str(tmp_path / "predictions" / f"{name}.csv") for name in ("validation", "internal_test")}
    predict_tiny(job, out, outputs)
    assert built == [channels]
    for path in outputs.values():
        frame = pd.read_csv(path, dtype={"id": str})
        assert list(frame.columns) == ["id", "patient", "label", "probability"] and len(frame) == 8
        assert frame["probability"].between(0, 1).all()


def test_predict_job_refuses_caches_of_another_size(tmp_path, monkeypatch):
    job, out = train_tiny(tmp_path, monkeypatch)
    images, _ = toy_images(32, 0)
    np.save(tmp_path / "cache.npy", images[:, :, :64, :64].contiguous().numpy())
    with pytest.raises(ValueError, match="the image caches are at 64 px but inception_v3 was trained at 80 px"):
        predict_tiny(job, out, {"validation": str(tmp_path / "validation.csv")})


def test_load_trained_takes_the_stem_from_the_card(tmp_path, monkeypatch):
    """A card without input_channels (written before the option) is of a
    three-channel model."""
    built = []
    monkeypatch.setattr(study, "build_model", lambda *a, **k: built.append(k["in_chans"]) or tiny_network(*a, **k))
    for channels in (1, 3):
        save_model(tiny_network(in_chans=channels), str(tmp_path / f"{channels}.safetensors"))
    study.load_trained("resnet101", str(tmp_path / "1.safetensors"), ModelCard(settings={"input_channels": 1}))
    study.load_trained("resnet101", str(tmp_path / "3.safetensors"), ModelCard(settings={"epochs": 3}))
    assert built == [1, 3]


def test_labelled_splits_refuse_ids_of_no_manifest(tmp_path):
    pd.DataFrame({"id": ["a", "b"], "patient": ["p", "q"], "cohort": "development", "set": "train"}).to_csv(
        tmp_path / "splits.csv", index=False
    )
    pd.DataFrame({"id": ["a"], "label": [1]}).to_csv(tmp_path / "manifest.csv", index=False)
    with pytest.raises(ValueError, match=r"ids \['b'\] of .*splits.csv are in no preprocessed manifest"):
        study.labelled_splits(tmp_path / "splits.csv", {"development": tmp_path / "manifest.csv"})
