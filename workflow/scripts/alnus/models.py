"""The study's networks, built by name from timm (one registry, like timm's own)."""

from __future__ import annotations

from pathlib import Path

import timm
import torch

# Architecture name in config -> timm model name, and the block whose
# activations Grad-CAM explains (the last convolutional stage).
ARCHITECTURES: dict[str, dict[str, str]] = {
    "inception_v3": {"timm_name": "inception_v3", "cam_layer": "Mixed_7c"},
    "inception_resnet_v2": {"timm_name": "inception_resnet_v2", "cam_layer": "conv2d_7b"},
    "resnet101": {"timm_name": "resnet101", "cam_layer": "layer4"},
}


def _check_name(name: str) -> dict[str, str]:
    if name not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {name!r}; choose one of {', '.join(sorted(ARCHITECTURES))} in config `architectures`"
        )
    return ARCHITECTURES[name]


def build_model(name: str, *, num_classes: int = 1, pretrained: str = "none") -> torch.nn.Module:
    """Create one of the study's networks with a `num_classes` output head.

    Parameters
    ----------
    name : key of ARCHITECTURES.
    num_classes : outputs of the classifier (1 = one logit for metastasis).
    pretrained : "none" (random initialisation), "imagenet" (timm's weights,
        needs them in the local cache or the network) or a path to a
        safetensors / torch state-dict file for this architecture.

    Raises
    ------
    ValueError
        For an unknown name, or a weights file that is missing or does not fit
        the architecture.
    """
    spec = _check_name(name)
    if pretrained in ("none", "imagenet"):
        return timm.create_model(spec["timm_name"], pretrained=pretrained == "imagenet", num_classes=num_classes)
    path = Path(pretrained)
    if not path.is_file():
        raise ValueError(f"pretrained weights file {path} does not exist (config training.pretrained, for {name})")
    model = timm.create_model(spec["timm_name"], pretrained=False, num_classes=num_classes)
    try:
        # timm loads safetensors and weights-only torch files; nothing is unpickled.
        timm.models.load_checkpoint(model, str(path), strict=False, filter_fn=None)
    except (RuntimeError, KeyError, ValueError) as error:
        raise ValueError(f"pretrained weights {path} do not fit architecture {name}: {error}") from None
    return model


def cam_layer(model: torch.nn.Module, name: str) -> torch.nn.Module:
    """The module whose activations Grad-CAM uses for architecture `name`."""
    return model.get_submodule(_check_name(name)["cam_layer"])
