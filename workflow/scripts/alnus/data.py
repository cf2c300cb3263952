"""Preprocessed images as network inputs: resizing, augmentation, normalisation."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch

from alnus.checks import check_choice

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

log = logging.getLogger(__name__)


def letterbox(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize a (H, W) uint8 image to (size, size), keeping its aspect ratio.

    The longer side becomes `size`; the shorter is centred and padded with
    black (the colour of anechoic tissue and of the screen around a scan), so
    lesion shape, a diagnostic cue, is not distorted.
    """
    height, width = pixels.shape[:2]
    scale = size / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    resized = cv2.resize(pixels, (new_w, new_h), interpolation=cv2.INTER_AREA)
    out = np.zeros((size, size), dtype=np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top : top + new_h, left : left + new_w] = resized
    return out


def unletterbox(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A map over a letterboxed network input (`letterbox`: the longer side
    scaled to the input size, the shorter centred between black bars) cut
    back to the image and resized to its (height, width)."""
    size, (height, width) = cam.shape[0], shape
    scale = size / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    top, left = (size - new_h) // 2, (size - new_w) // 2
    return cv2.resize(cam[top : top + new_h, left : left + new_w], (width, height), interpolation=cv2.INTER_LINEAR)


def load_images(paths: list[str | Path], size: int) -> torch.Tensor:
    """Read preprocessed PNGs into a uint8 tensor of shape (n, 1, size, size).

    Raises
    ------
    ValueError
        Naming the first file that cannot be read.
    """
    out = torch.empty((len(paths), 1, size, size), dtype=torch.uint8)
    for i, path in enumerate(paths):
        out[i, 0] = torch.from_numpy(_letterboxed(path, size))
    return out


def read_preprocessed(path: str | Path) -> np.ndarray:
    """A preprocessed PNG as (H, W) uint8; ValueError naming it if unreadable."""
    pixels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if pixels is None:
        raise ValueError(f"cannot read preprocessed image {path}; rerun the preprocess rule")
    return pixels


def _letterboxed(path: str | Path, size: int) -> np.ndarray:
    return letterbox(read_preprocessed(path), size)


def build_image_cache(paths: list[str | Path], size: int, out: str | Path, *, threads: int = 1) -> None:
    """Letterbox every image to (size, size) once and store them all as one
    .npy file of shape (n, 1, size, size), uint8, in the order of `paths`.

    Every training and prediction job of an input size reads this file
    (memory-mapped, `read_image_cache`) instead of decoding the PNGs again.
    The array is written through a memory map (the images never all sit in
    memory at once) beside `out` and renamed over it when complete.

    Raises
    ------
    ValueError
        Naming the first file that cannot be read.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(paths), 1, size, size))
        # OpenCV releases the GIL while decoding and resizing: threads scale.
        with ThreadPoolExecutor(max(1, threads)) as pool:
            for i, pixels in enumerate(pool.map(lambda p: _letterboxed(p, size), paths)):
                array[i, 0] = pixels
        array.flush()
        del array
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def cache_job(
    manifest_csv: str | Path, images_dir: str | Path, out: str | Path, *, size: int, threads: int = 1
) -> None:
    """Rule cache_images: the images of one preprocessed manifest
    (results/preprocessed/{cohort}/manifest.csv, `{id}.png` in `images_dir`),
    in manifest order, cached at `size` px by `build_image_cache` to `out`."""
    manifest = pd.read_csv(manifest_csv, dtype={"id": str})
    paths = [f"{images_dir}/{image_id}.png" for image_id in manifest["id"]]
    build_image_cache(paths, size, out, threads=threads)
    log.info("%d images cached at %d px in %s", len(paths), size, out)


def read_image_cache(path: str | Path, positions=None) -> torch.Tensor:
    """Images of a `build_image_cache` file as a uint8 tensor (n, 1, H, W):
    all of them, or those at `positions` (in that order), read through a
    memory map so that only they are loaded."""
    array = np.load(path, mmap_mode="r")
    chosen = array if positions is None else array[np.asarray(positions, dtype=np.int64)]
    return torch.from_numpy(np.array(chosen, dtype=np.uint8))


class UltrasoundAugmentation:
    """Random training augmentation of one uint8 image (1, H, W) or (H, W):
    horizontal flip, rotation/scale/shift about the centre (black fill), then
    brightness, contrast (towards the image's mean grey) and gamma as one
    grey-level lookup table. With `aspect` > 0, the width-to-height ratio is
    also multiplied by a factor drawn log-uniformly from [1 / (1 + aspect),
    1 + aspect], the area kept (width times sqrt(factor), height divided by
    it), so that the network sees the development scanner's images at the
    aspect ratios of others (BUS-BRA's GE images are 0.75 wide per unit of
    height at the median, its Toshiba and U-Systems images 0.90). With
    `aspect` 0 it draws the same random numbers as before it existed, so runs
    without it are unchanged.

    Written with OpenCV rather than composed from torchvision's v2 transforms
    because those run each step as several small torch operations: measured
    on a 2-core CPU at 112 px, 1.2 ms per image with one torch thread and 31
    ms with two threads while another process used the CPU, against 0.05 ms
    here (one warpAffine and one LUT). In the training loop that difference
    was up to a fifth of the step time. The random draws come from torch's
    generator, so the run's seed and its checkpointed RNG state govern them
    as before.
    """

    def __init__(
        self,
        *,
        degrees: float,
        translate: float,
        scale: tuple[float, float],
        brightness: float,
        contrast: float,
        gamma: tuple[float, float],
        aspect: float = 0.0,
    ):
        # No default ranges here: `augmentation` is their one home.
        if aspect < 0:
            raise ValueError(f"`aspect` must be 0 (off) or more, got {aspect!r}")
        self.degrees, self.translate, self.scale = degrees, translate, scale
        self.brightness, self.contrast, self.gamma = brightness, contrast, gamma
        self.aspect = aspect

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        draws = torch.rand(9 if self.aspect else 8, dtype=torch.float64).tolist()
        flip, angle, zoom, shift_x, shift_y, gain, spread, gamma = draws[:8]
        pixels = image.numpy().reshape(image.shape[-2:])
        height, width = pixels.shape
        centre = ((width - 1) / 2, (height - 1) / 2)
        matrix = cv2.getRotationMatrix2D(
            centre, self.degrees * (2 * angle - 1), self.scale[0] + zoom * (self.scale[1] - self.scale[0])
        )
        if self.aspect:  # stretch along the image's own axes first, then rotate and zoom, about the centre
            root = (1.0 + self.aspect) ** (draws[8] - 0.5)  # sqrt of a log-uniform factor
            matrix[:, :2] = matrix[:, :2] @ np.diag([root, 1.0 / root])
            matrix[:, 2] = np.asarray(centre) - matrix[:, :2] @ np.asarray(centre)
        matrix[:, 2] += (self.translate * width * (2 * shift_x - 1), self.translate * height * (2 * shift_y - 1))
        if flip < 0.5:  # mirror the source first: x -> width - 1 - x
            matrix = matrix @ np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        out = cv2.warpAffine(
            pixels, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        if self.brightness or self.contrast or self.gamma != (1.0, 1.0):
            b = 1.0 + self.brightness * (2 * gain - 1)
            c = 1.0 + self.contrast * (2 * spread - 1)
            g = self.gamma[0] + gamma * (self.gamma[1] - self.gamma[0])
            mean = min(1.0, b * cv2.mean(out)[0] / 255.0)
            levels = np.clip(b * np.arange(256) / 255.0, 0.0, 1.0)
            levels = np.clip(c * levels + (1.0 - c) * mean, 0.0, 1.0)
            out = cv2.LUT(out, np.round(255.0 * levels**g).astype(np.uint8))
        return torch.from_numpy(out).reshape(image.shape)


def augmentation(
    size: int, *, strength: float = 1.0, aspect: float = 0.0, affine: float = 1.0
) -> UltrasoundAugmentation:
    """Training augmentation suited to ultrasound: horizontal flip, small
    rotation (+-10 degrees), scale (0.9-1.1) and shift (+-5%), and gain
    changes; no vertical flip, since depth has a direction (shadowing falls
    below a lesion). `size` is the input size (the transforms work at any).

    strength scales the gain changes (0 = geometry only); 1 = +-30% brightness
    and contrast, gamma 0.7-1.4, which covers the gain differences between
    scanners and sites. aspect is the largest relative change of the
    width-to-height ratio (0 = none; `UltrasoundAugmentation`), the preset's
    `aspect_jitter`. affine scales the rotation, scale and shift ranges (0 =
    flips and gain only), the preset's `affine`.
    """
    return UltrasoundAugmentation(
        degrees=10.0 * affine,
        translate=0.05 * affine,
        scale=(1.0 - 0.1 * affine, 1.0 + 0.1 * affine),
        brightness=0.3 * strength,
        contrast=0.3 * strength,
        gamma=(1.0 - 0.3 * strength, 1.0 + 0.4 * strength),
        aspect=aspect,
    )


def preset_augmentation(preset: dict, size: int) -> UltrasoundAugmentation:
    """The training augmentation a resolved preset asks for (its `augmentation`
    strength, `affine` and `aspect_jitter`; `alnus.presets.resolve_preset`) at
    input size `size`: the one place that says which preset keys drive it."""
    return augmentation(size, strength=preset["augmentation"], aspect=preset["aspect_jitter"], affine=preset["affine"])


NORMALISATIONS = ("imagenet", "per_image", "per_image_unpadded")


def normalise(batch: torch.Tensor, mode: str = "imagenet", channels: int = 3) -> torch.Tensor:
    """uint8 (n, 1, H, W) -> float (n, channels, H, W): with 3 channels, grey
    repeated into the three that RGB stems expect; with 1, the grey image
    for a grayscale stem (ImageNet statistics then averaged over colours).

    mode "imagenet" uses ImageNet's channel means and deviations (what
    pretrained weights expect); "per_image" standardises each image to zero
    mean and unit deviation, which removes most of the overall gain
    difference between scanners. "per_image_unpadded" does the same over the
    image's nonzero pixels only: the letterbox bars and the black fill of the
    augmentation's rotations are exact zeros, and their share of the square
    depends on the scanner's aspect ratio (a quarter of a 3:4 image, a tenth
    of a 9:10 one), so with "per_image" they shift each scanner's statistics
    differently. Tissue that is exactly 0 is left out too. The zeros are
    still standardised with the image's statistics.
    """
    if channels not in (1, 3):
        raise ValueError(f"input channels must be 1 or 3, got {channels!r}")
    check_choice(mode, NORMALISATIONS, "`normalisation`")
    images = batch.float().div(255.0).expand(-1, channels, -1, -1)
    if mode == "imagenet":
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        if channels == 1:
            mean, std = mean.mean(dim=0, keepdim=True), std.mean(dim=0, keepdim=True)
        return (images - mean.view(1, channels, 1, 1)) / std.view(1, channels, 1, 1)
    if mode == "per_image":
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        std = images.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
        return (images - mean) / std
    if mode == "per_image_unpadded":
        inside = (batch > 0).expand_as(images)
        count = inside.sum(dim=(1, 2, 3), keepdim=True)
        mean = (images * inside).sum(dim=(1, 2, 3), keepdim=True) / count.clamp_min(1)
        square = ((images - mean) ** 2 * inside).sum(dim=(1, 2, 3), keepdim=True)
        std = (square / (count - 1).clamp_min(1)).sqrt().clamp_min(1e-3)
        return (images - mean) / std
    raise AssertionError(f"normalisation {mode!r} is in NORMALISATIONS but not handled here")


class ImageSet(torch.utils.data.Dataset):
    """In-memory images and labels; applies `transform` to each uint8 image."""

    def __init__(
        self, images: torch.Tensor, labels: np.ndarray, transform: Callable[[torch.Tensor], torch.Tensor] | None = None
    ):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.transform = images, transform
        self.labels = torch.tensor(np.asarray(labels, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[index]
