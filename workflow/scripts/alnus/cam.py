"""Class activation maps: the one seam around pytorch-grad-cam (`grad-cam`).

Nothing else in the pipeline imports pytorch_grad_cam; which layer of each
architecture is explained is named once, in `alnus.models.ARCHITECTURES`
(`cam_layer`, the last convolutional block), and found by
`alnus.models.cam_layer`.
"""

from __future__ import annotations

import numpy as np
import torch
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget

METHODS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus}


def grad_cam(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    *,
    layer: torch.nn.Module,
    method: str = "gradcam",
    classes=None,
) -> np.ndarray:
    """Grad-CAM (or Grad-CAM++) heat maps of a one-logit classifier.

    Parameters
    ----------
    model : network with one output logit (metastasis), as trained here.
    inputs : float tensor of shape (n_images, channels, H, W), normalised as
        for prediction (`alnus.data.normalise`), with the channels the model's
        stem takes (3, or 1 with config `training: input_channels: 1`).
    layer : the module whose activations are weighted, e.g.
        ``alnus.models.cam_layer(model, "resnet101")``.
    method : {"gradcam", "gradcam++"}, default "gradcam".
    classes : array-like of {0, 1}, shape (n_images,), optional
        Which class each map explains: 1 = evidence for metastasis (the
        logit), 0 = evidence against it (the negated logit). Default: 1 for
        every image.

    Returns
    -------
    maps : float32 array of shape (n_images, H, W), each scaled to [0, 1]
        (pytorch-grad-cam scales every map by its own maximum: the maps show
        where the network looks, not how strongly; a map of zeros means no
        positive evidence at that layer).

    Raises
    ------
    ValueError
        For an unknown method, inputs that are not (n, channels, H, W), a layer that
        is not part of the model, or classes that are not 0/1 of length n.
    """
    if method not in METHODS:
        raise ValueError(
            f"unknown Grad-CAM `method` {method!r}; valid names are {', '.join(map(repr, METHODS))} "
            "(config `figures: heatmaps: method`)"
        )
    if inputs.ndim != 4:
        raise ValueError(f"`inputs` must have shape (n_images, channels, H, W), got {tuple(inputs.shape)}")
    if not any(module is layer for module in model.modules()):
        raise ValueError(
            f"`layer` ({type(layer).__name__}) is not a module of the model; use alnus.models.cam_layer(model, arch)"
        )
    classes = np.ones(len(inputs), dtype=int) if classes is None else np.asarray(classes)
    if classes.shape != (len(inputs),) or not np.isin(classes, (0, 1)).all():
        raise ValueError(f"`classes` must be {len(inputs)} values of 0 or 1, got {classes.tolist()!r}")
    model.eval()
    cam = METHODS[method](model=model, target_layers=[layer])
    try:  # not `with cam:`, whose __exit__ swallows IndexError
        with torch.enable_grad():
            maps = cam(input_tensor=inputs, targets=[BinaryClassifierOutputTarget(int(c)) for c in classes])
    finally:
        cam.activations_and_grads.release()
    return np.asarray(maps, dtype=np.float32)
