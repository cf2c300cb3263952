"""The study's networks, built by name from timm (one registry, like timm's own)."""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from safetensors.torch import load_file, save_model
from timm.models import adapt_input_conv

from alnus.checks import check_choice

# Architecture name in config -> timm model name, and the block whose
# activations Grad-CAM explains (the last convolutional stage).
ARCHITECTURES: dict[str, dict[str, str]] = {
    "inception_v3": {"timm_name": "inception_v3", "cam_layer": "Mixed_7c"},
    "inception_resnet_v2": {"timm_name": "inception_resnet_v2", "cam_layer": "conv2d_7b"},
    "resnet101": {"timm_name": "resnet101", "cam_layer": "layer4"},
}


def _check_name(name: str) -> dict[str, str]:
    check_choice(name, sorted(ARCHITECTURES), "an architecture", fix="change config `architectures`")
    return ARCHITECTURES[name]


def build_model(name: str, *, num_classes: int = 1, pretrained: str = "none", in_chans: int = 3) -> torch.nn.Module:
    """Create one of the study's networks with a `num_classes` output head.

    Parameters
    ----------
    name : key of ARCHITECTURES.
    num_classes : outputs of the classifier (1 = one logit for metastasis).
    pretrained : "none" (random initialisation), "imagenet" (timm's weights,
        needs them in the local cache or the network) or a path to a
        safetensors / torch state-dict file for this architecture.
    in_chans : input channels of the stem: 3 (grey repeated into RGB, what
        ImageNet weights expect) or 1 (a grayscale stem; pretrained stem
        weights are summed over their three colour channels, as timm does).

    Raises
    ------
    ValueError
        For an unknown name, or a weights file that is missing or does not fit
        the architecture.
    """
    spec = _check_name(name)
    if pretrained in ("none", "imagenet"):
        return timm.create_model(
            spec["timm_name"], pretrained=pretrained == "imagenet", num_classes=num_classes, in_chans=in_chans
        )
    path = Path(pretrained)
    if not path.is_file():
        raise ValueError(f"pretrained weights file {path} does not exist (config training.pretrained, for {name})")
    model = timm.create_model(spec["timm_name"], pretrained=False, num_classes=num_classes, in_chans=in_chans)
    load_weights(model, path, name=name)
    return model


def load_weights(model: torch.nn.Module, path: str | Path, *, name: str) -> None:
    """Load a safetensors or torch state-dict file into `model`, keeping the
    model's own classifier head where the file's has another number of classes
    (e.g. ImageNet's 1,000). Nothing is unpickled (torch.load weights_only).

    Raises
    ------
    ValueError
        If the file cannot be read, or its tensors do not fit the architecture
        (missing or mis-shaped weights outside the classifier).
    """
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            for wrapper in ("state_dict", "model", "state_dict_ema"):
                if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
                    state = state[wrapper]
                    break
    except Exception as error:  # a corrupt or pickled file: say which, not why torch choked
        raise ValueError(f"cannot read weights file {path} ({type(error).__name__}: {error})") from None
    own = model.state_dict()
    stem = model.pretrained_cfg.get("first_conv", "") + ".weight"
    if stem in own and stem in state and own[stem].shape[1] != state[stem].shape[1]:
        # RGB weights into a grayscale stem (or the reverse): timm's own adaptation.
        state = {**state, stem: adapt_input_conv(own[stem].shape[1], state[stem])}
    head = model.default_cfg.get("classifier", "fc")
    fitted = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    problems = [k for k in own if k not in fitted and not k.startswith(head + ".")]
    if problems:
        raise ValueError(
            f"weights file {path} does not fit architecture {name}: {len(problems)} of its tensors are missing or "
            f"mis-shaped (e.g. {', '.join(problems[:3])}); give a checkpoint of {name}"
        )
    model.load_state_dict(fitted, strict=False)


def fetch_imagenet_weights(name: str, out: str | Path) -> None:
    """Download timm's ImageNet weights of architecture `name` (through the
    Hugging Face cache) and save them as safetensors at `out`.

    Raises
    ------
    RuntimeError
        If the weights cannot be downloaded, saying how to provide them offline.
    """
    spec = _check_name(name)
    try:
        model = timm.create_model(spec["timm_name"], pretrained=True)
    except Exception as error:  # network errors come in many types (OSError, HTTPError, LocalEntryNotFoundError)
        raise RuntimeError(
            f"cannot download ImageNet weights of {name} ({type(error).__name__}: {error}). Run the workflow once "
            f"where the internet is reachable (fetch_weights is a local rule), or put a safetensors file at {out}, "
            "or set training.pretrained to a local weights file or to none."
        ) from None
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    save_model(model, str(out), metadata={"architecture": name, "source": f"timm {timm.__version__} ImageNet"})


def cam_layer(model: torch.nn.Module, name: str) -> torch.nn.Module:
    """The module whose activations Grad-CAM uses for architecture `name`."""
    return model.get_submodule(_check_name(name)["cam_layer"])
