"""Tests for alnus.cam: the one seam around pytorch-grad-cam."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alnus.cam import METHODS, grad_cam
from alnus.models import build_model, cam_layer


class QuadrantNet(torch.nn.Module):
    """One logit that grows with the brightness of the top-left quadrant:
    a fixed 1x1 convolution (the layer explained), then the mean of the
    top-left quarter of its feature map."""

    def __init__(self, channels: int = 3):
        super().__init__()
        self.features = torch.nn.Conv2d(channels, 1, kernel_size=1, bias=False)
        torch.nn.init.constant_(self.features.weight, 1.0)

    def forward(self, x):
        maps = torch.relu(self.features(x))
        h, w = maps.shape[-2:]
        return maps[..., : h // 2, : w // 2].mean(dim=(2, 3)) - 1.0


@pytest.fixture
def bright_quadrant():
    inputs = torch.full((2, 3, 16, 16), 0.5)
    inputs[:, :, :8, :8] = 2.0
    return inputs


@pytest.mark.parametrize("method", sorted(METHODS))
def test_maps_are_scaled_images_of_the_input_size(bright_quadrant, method):
    net = QuadrantNet()
    maps = grad_cam(net, bright_quadrant, layer=net.features, method=method)
    assert maps.shape == (2, 16, 16) and maps.dtype == np.float32
    assert maps.min() >= 0 and np.isclose(maps.max(), 1, atol=1e-4)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_evidence_for_metastasis_lies_where_the_logit_looks(bright_quadrant, method):
    net = QuadrantNet()
    maps = grad_cam(net, bright_quadrant, layer=net.features, method=method)
    assert maps[:, :8, :8].mean() > 5 * maps[:, 8:, 8:].mean()


def test_class_zero_explains_the_negated_logit(bright_quadrant):
    """Against metastasis, this network has no positive evidence anywhere."""
    net = QuadrantNet()
    maps = grad_cam(net, bright_quadrant, layer=net.features, classes=[1, 0])
    assert maps[0].max() > 0.9 and maps[1].max() == 0


def test_gradients_are_on_even_under_no_grad(bright_quadrant):
    net = QuadrantNet()
    with torch.no_grad():
        maps = grad_cam(net, bright_quadrant, layer=net.features)
    assert maps.max() > 0.9


@pytest.mark.parametrize(
    "change, match",
    [
        ({"method": "scorecam"}, "unknown Grad-CAM `method` 'scorecam'; valid names are 'gradcam', 'gradcam\\+\\+'"),
        (
            {"inputs": torch.zeros(2, 16, 16)},
            r"`inputs` must have shape \(n_images, channels, H, W\), got \(2, 16, 16\)",
        ),
        ({"layer": torch.nn.Conv2d(3, 1, 1)}, "is not a module of the model; use alnus.models.cam_layer"),
        ({"classes": [1, 2]}, r"`classes` must be 2 values of 0 or 1, got \[1, 2\]"),
        ({"classes": [1]}, r"`classes` must be 2 values of 0 or 1"),
    ],
)
def test_refuses(bright_quadrant, change, match):
    net = QuadrantNet()
    options = {"inputs": bright_quadrant, "layer": net.features} | change
    inputs = options.pop("inputs")
    with pytest.raises(ValueError, match=match):
        grad_cam(net, inputs, **options)


def test_one_channel_models_have_maps_too(bright_quadrant):
    """config `training: input_channels: 1`: a one-channel stem is explained
    like a three-channel one (the seam refused such inputs once)."""
    net = QuadrantNet(channels=1)
    maps = grad_cam(net, bright_quadrant[:, :1], layer=net.features)
    assert maps.shape == (2, 16, 16) and maps[:, :8, :8].mean() > 5 * maps[:, 8:, 8:].mean()


@pytest.mark.parametrize("channels", [1, 3])
def test_works_on_a_study_architecture_at_its_named_layer(channels):
    torch.manual_seed(0)
    model = build_model("resnet101", in_chans=channels)
    maps = grad_cam(model, torch.randn(1, channels, 64, 64), layer=cam_layer(model, "resnet101"), method="gradcam++")
    assert maps.shape == (1, 64, 64) and np.isfinite(maps).all()
