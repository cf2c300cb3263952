"""Tests for alnus.heatmaps: the choice of the cases whose heat maps are drawn,
and the heat-map job on a tiny network."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from alnus import heatmaps
from alnus.card_json import ModelCard
from alnus.heatmaps import select_cases


def outcome_frame():
    """One model's predictions: six positives and four negatives around 0.5."""
    return pd.DataFrame(
        {
            "id": ["a", "b", "i", "c", "d", "j", "e", "f", "g", "h"],
            "label": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
            "probability": [0.9, 0.7, 0.6, 0.4, 0.1, 0.3, 0.8, 0.55, 0.3, 0.3],
        }
    )


@pytest.fixture
def outcomes():
    return outcome_frame()


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("most_confident", ["a", "d", "e", "g"]),
        ("least_confident", ["i", "c", "f", "g"]),
        ("median", ["b", "j", "e", "g"]),
    ],
)
def test_select_cases_is_deterministic(outcomes, rule, expected):
    cases = select_cases(outcomes, 0.5, rule=rule)
    assert cases["category"].tolist() == ["TP", "FN", "FP", "TN"]
    assert cases["id"].tolist() == expected


def test_select_cases_leaves_out_an_empty_outcome(outcomes):
    cases = select_cases(outcomes[outcomes["label"] == 1], 0.5, per_category=2)
    assert cases["category"].tolist() == ["TP", "TP", "FN", "FN"] and cases["id"].tolist() == ["a", "b", "d", "j"]


@pytest.mark.parametrize(
    "options, match", [({"rule": "random"}, "unknown selection `rule` 'random'"), ({"per_category": 0}, "at least 1")]
)
def test_select_cases_refuses(outcomes, options, match):
    with pytest.raises(ValueError, match=match):
        select_cases(outcomes, 0.5, **options)


class OneChannelNet(torch.nn.Module):
    """A one-channel stem (config `training: input_channels: 1`) whose one
    logit grows with the brightness of the top-left quadrant."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Conv2d(1, 1, kernel_size=1, bias=False)
        torch.nn.init.constant_(self.features.weight, 1.0)

    def forward(self, x):
        maps = torch.relu(self.features(x))
        h, w = maps.shape[-2:]
        return maps[..., : h // 2, : w // 2].mean(dim=(2, 3)) - 1.0


def one_channel_run(tmp_path, monkeypatch) -> dict:
    """A trained one-channel resnet101 as the heat-map job meets it: its card,
    predictions on validation and both test sets (ten patients each,
    bright top-left quadrant for the positives), the preprocessed PNGs and
    splits.csv; the network itself is OneChannelNet (load_trained and
    cam_layer replaced), so the job runs in a second."""
    net = OneChannelNet()
    monkeypatch.setattr(heatmaps, "load_trained", lambda arch, weights, card: net)
    monkeypatch.setattr(heatmaps, "cam_layer", lambda model, arch: model.features)
    rng = np.random.default_rng(0)
    rows, csvs = [], []
    for set_name in ("validation", "internal_test", "external_test"):
        ids = [f"{set_name[:2]}{k}" for k in range(10)]
        labels = np.tile([0, 1], 5)
        probabilities = np.clip(labels * 0.5 + rng.uniform(0.1, 0.5, 10), 0, 1)
        path = tmp_path / "predictions" / "resnet101" / f"{set_name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"id": ids, "patient": ids, "label": labels, "probability": probabilities}).to_csv(
            path, index=False
        )
        csvs.append(str(path))
        for image_id, label in zip(ids, labels):
            pixels = rng.integers(0, 60, (40, 48)).astype(np.uint8)
            if label:
                pixels[:20, :24] += 150
            cv2.imwrite(str(tmp_path / f"{image_id}.png"), pixels)
            rows.append({"id": image_id, "patient": image_id, "cohort": "development", "set": set_name})
    pd.DataFrame(rows).to_csv(tmp_path / "splits.csv", index=False)
    card = ModelCard(
        architecture="resnet101", input_size=32, settings={"normalisation": "imagenet", "input_channels": 1}
    )
    card.to_json(tmp_path / "model_card.json")
    return {
        "prediction_csvs": csvs,
        "splits_csv": str(tmp_path / "splits.csv"),
        "image_dirs": {"development": str(tmp_path)},
        "weights": {"resnet101": str(tmp_path / "model.safetensors")},
        "cards": {"resnet101": str(tmp_path / "model_card.json")},
        "threshold": "youden",
        "ensemble": False,
        "method": "gradcam",
        "selection": "most_confident",
        "per_category": 1,
        "opacity": 0.6,
        "galleries": {"resnet101": str(tmp_path / "gallery.png")},
        "across": str(tmp_path / "across.png"),
    }


@pytest.mark.parametrize("target", ["metastasis", "predicted"])
def test_heat_maps_of_a_one_channel_model(tmp_path, monkeypatch, target):
    """config `training: input_channels: 1`, valid in the schema: the job
    feeds the model (n, 1, H, W) inputs and draws both figures (it once
    failed in alnus.cam, which took three channels only)."""
    job = one_channel_run(tmp_path, monkeypatch)
    seen = []
    forward = OneChannelNet.forward
    monkeypatch.setattr(OneChannelNet, "forward", lambda self, x: seen.append(tuple(x.shape[1:])) or forward(self, x))
    heatmaps.heatmaps_job(set_name="internal_test", target=target, **job)
    assert seen and set(seen) == {(1, 32, 32)}
    for png in (job["galleries"]["resnet101"], job["across"]):
        image = cv2.imread(png)
        assert image is not None and image.shape[0] > 100


def test_case_maps_lie_over_each_cases_image(tmp_path, monkeypatch):
    """The maps come back at each preprocessed image's own size (the
    letterbox undone), bright where the positive case is bright, and the
    source names the layer and the feature map's size."""
    job = one_channel_run(tmp_path, monkeypatch)
    images = {i: cv2.imread(str(tmp_path / f"{i}.png"), cv2.IMREAD_GRAYSCALE) for i in ("in1", "in3")}
    card = ModelCard.from_json(job["cards"]["resnet101"])
    maps, source = heatmaps._case_maps("resnet101", "unused", card, images, method="gradcam", classes=None)
    assert {i: m.shape for i, m in maps.items()} == {"in1": (40, 48), "in3": (40, 48)}
    assert maps["in1"][:20, :24].mean() > 2 * maps["in1"][20:, 24:].mean()
    assert source == "last block layer4: 32 \u00d7 32 feature map at 32 px input"


def test_an_unknown_target_is_refused(tmp_path, monkeypatch):
    job = one_channel_run(tmp_path, monkeypatch)
    with pytest.raises(
        ValueError, match="unknown heat-map `target` 'logit'; valid names are 'metastasis', 'predicted'"
    ):
        heatmaps.heatmaps_job(set_name="internal_test", target="logit", **job)
