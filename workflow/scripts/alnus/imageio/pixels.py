"""Decoded pixels to (H, W) uint8 grey, and the limits on pixels the pipeline can use.

Shared by the raster and the DICOM readers: the size limit checked from a
header before decoding (`too_large`), the refusal of thumbnails and colour
content after decoding (`refuse_unusable`), and the conversion to 8-bit grey
(`to_gray8`, `minmax8`).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from alnus.imageio.source import ImageReadError

# Decompression-bomb guard: a few kilobytes of PNG or DICOM can declare a
# gigapixel image. Scanner screens are about 1 megapixel; 64 MP leaves room for
# panoramic sweeps and stops a file before its pixels are allocated.
MAX_PIXELS = 64 * 1024 * 1024
# Smallest side of an image worth cropping: below it a file is a thumbnail,
# an icon or a placeholder, not an ultrasound screen or B-mode crop.
MIN_SIDE = 16
# An RGB screen is accepted (converted to luma) when its colour is only
# annotations: the demo's coloured logos, markers and calipers cover at most
# 0.32% of a screen in pixels whose channels differ by COLOUR_CHROMA or more.
# Above MAX_COLOUR_SHARE the colour is image content (colour or power Doppler,
# elastography) that luma would blend into the B-mode tissue: refused.
COLOUR_CHROMA = 48
MAX_COLOUR_SHARE = 0.01


def too_large(width: int, height: int, frames: int = 1) -> str | None:
    """A problem string if the declared size exceeds MAX_PIXELS, else None."""
    pixels = int(width) * int(height) * max(1, int(frames))
    if pixels <= MAX_PIXELS:
        return None
    what = f"{width} x {height}" + (f" x {frames} frames" if frames > 1 else "") if height > 1 else f"{width} pixels"
    return (
        f"image declares {what} = {pixels / 2**20:.0f} megapixels, over the limit of "
        f"{MAX_PIXELS / 2**20:.0f} (a decompression bomb, or not an ultrasound image); "
        "downscale it or remove it from the manifest"
    )


def refuse_unusable(path: Path, arr: np.ndarray) -> None:
    """Raise ImageReadError for decoded pixels the pipeline cannot use: fewer
    than MIN_SIDE pixels a side, or colour content (see MAX_COLOUR_SHARE)."""
    height, width = arr.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise ImageReadError(
            path,
            f"image is only {width} x {height} pixels (at least {MIN_SIDE} a side needed; "
            "a thumbnail or placeholder?); export the full image or remove it from the manifest",
        )
    if arr.ndim == 3 and arr.shape[2] >= 3:
        share = colour_share(arr)
        if share > MAX_COLOUR_SHARE:
            raise ImageReadError(
                path,
                f"colour image: {share:.1%} of its pixels are coloured (over "
                f"{MAX_COLOUR_SHARE:.0%}: a colour or power Doppler or elastography screen?); "
                "the pipeline takes grayscale B-mode images: export the B-mode image "
                "without the colour overlay, or remove it from the manifest",
            )


def colour_share(arr: np.ndarray) -> float:
    """Share of the pixels of an (H, W, 3 or 4) image whose channels differ by
    COLOUR_CHROMA or more (of 255; scaled for 16 bits)."""
    channels = [np.ascontiguousarray(arr[..., i]) for i in range(3)]
    if arr.dtype in (np.uint8, np.uint16):  # OpenCV's vectorised max/min: numpy's over a last axis of 3 is ~10x slower
        high = cv2.max(cv2.max(channels[0], channels[1]), channels[2])
        low = cv2.min(cv2.min(channels[0], channels[1]), channels[2])
    else:
        high, low = np.maximum.reduce(channels), np.minimum.reduce(channels)
    limit = COLOUR_CHROMA * (257 if arr.dtype == np.uint16 else 1)
    return float(np.count_nonzero((high - low) >= limit)) / high.size  # unsigned: high >= low


def to_gray8(arr: np.ndarray, *, bgr: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) of any numeric type -> (H, W) uint8."""
    notes = []
    depth = arr.dtype
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        if arr.shape[2] == 4:
            notes.append("alpha channel dropped")
        rgb = arr[..., 2::-1] if bgr else arr[..., :3]
        # ITU-R BT.601 luma, as cv2.COLOR_RGB2GRAY, in float so that 16-bit colour works too.
        arr = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        notes.append("colour converted to grayscale")
    if depth == np.uint8:
        return np.ascontiguousarray(np.rint(arr).astype(np.uint8)), tuple(notes)
    notes.append(f"{depth} scaled min-max to 8-bit")
    return minmax8(arr), tuple(notes)


def minmax8(arr: np.ndarray) -> np.ndarray:
    """`arr` of any numeric type scaled min-max to uint8 (all zeros when constant)."""
    arr = arr.astype(np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return np.rint((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)
