"""Preprocessed images as network inputs: resizing, augmentation, normalisation."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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


def _letterboxed(path: str | Path, size: int) -> np.ndarray:
    pixels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if pixels is None:
        raise ValueError(f"cannot read preprocessed image {path}; rerun the preprocess rule")
    return letterbox(pixels, size)


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


def read_image_cache(path: str | Path, positions=None) -> torch.Tensor:
    """Images of a `build_image_cache` file as a uint8 tensor (n, 1, H, W):
    all of them, or those at `positions` (in that order), read through a
    memory map so that only they are loaded."""
    array = np.load(path, mmap_mode="r")
    chosen = array if positions is None else array[np.asarray(positions, dtype=np.int64)]
    return torch.from_numpy(np.array(chosen, dtype=np.uint8))


class RandomGamma(torch.nn.Module):
    """Random gamma on a uint8 image: mimics another scanner's grey map,
    which torchvision's ColorJitter (linear brightness/contrast) does not."""

    def __init__(self, low: float = 0.7, high: float = 1.4):
        super().__init__()
        self.low, self.high = low, high

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        gamma = float(torch.empty(1).uniform_(self.low, self.high))
        return (255.0 * (image.float() / 255.0) ** gamma).round().clamp(0, 255).to(torch.uint8)


def augmentation(size: int, *, strength: float = 1.0) -> v2.Transform:
    """Training augmentation suited to ultrasound: horizontal flip, small
    rotation/scale/shift and gain (brightness, contrast, gamma) changes; no
    vertical flip, since depth has a direction (shadowing falls below a lesion).

    strength scales the gain changes (0 = geometry only); 1 = +-30% brightness
    and contrast, gamma 0.7-1.4, which covers the gain differences between
    scanners and sites.
    """
    steps = [v2.RandomHorizontalFlip(), v2.RandomAffine(degrees=10, translate=(0.05, 0.05), scale=(0.9, 1.1))]
    if strength > 0:
        steps += [
            v2.ColorJitter(brightness=0.3 * strength, contrast=0.3 * strength),
            RandomGamma(1.0 - 0.3 * strength, 1.0 + 0.4 * strength),
        ]
    return v2.Compose(steps)


NORMALISATIONS = ("imagenet", "per_image")


def normalise(batch: torch.Tensor, mode: str = "imagenet", channels: int = 3) -> torch.Tensor:
    """uint8 (n, 1, H, W) -> float (n, channels, H, W): with 3 channels, grey
    repeated into the three that RGB stems expect; with 1, the grey image
    for a grayscale stem (ImageNet statistics then averaged over colours).

    mode "imagenet" uses ImageNet's channel means and deviations (what
    pretrained weights expect); "per_image" standardises each image to zero
    mean and unit deviation, which removes most of the overall gain
    difference between scanners.
    """
    if channels not in (1, 3):
        raise ValueError(f"input channels must be 1 or 3, got {channels!r}")
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
    raise ValueError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, got {mode!r}")


class ImageSet(torch.utils.data.Dataset):
    """In-memory images and labels; applies `transform` to each uint8 image."""

    def __init__(self, images: torch.Tensor, labels: np.ndarray, transform: v2.Transform | None = None):
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
