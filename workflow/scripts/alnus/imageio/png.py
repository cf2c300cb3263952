"""Write PNGs: `write_png`, the library's one PNG writer (preprocessed images and simulated screenshots)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import cv2
import numpy as np


def write_png(
    path: str | os.PathLike, pixels: np.ndarray, *, colour: bool = False, compression: int | None = None
) -> None:
    """Write `pixels` as an 8-bit PNG without metadata, atomically.

    cv2 writes only IHDR/IDAT/IEND chunks (no text, time or EXIF chunks). The
    file is written beside `path` and renamed over it, so readers never see a
    half-written PNG. This is the library's one PNG writer: the preprocessed
    images and the simulated screenshots both go through it.

    Parameters
    ----------
    path : str or path-like
        Destination; its folder is created if missing.
    pixels : ndarray of shape (H, W), uint8
        Or of shape (H, W, 3), RGB, when `colour` is True.
    colour : bool
        Accept RGB arrays (written as a colour PNG) besides grey ones.
    compression : int or None
        zlib level from 0 (none) to 9; None keeps OpenCV's default (fastest).
        The same pixels at another level give other bytes.

    Raises
    ------
    ValueError
        If `pixels` is not a non-empty 2-D uint8 array (or RGB one with
        `colour`), or `compression` is not None or an integer from 0 to 9.
    OSError
        If the file cannot be written.
    """
    pixels = np.asarray(pixels)
    rgb = colour and pixels.ndim == 3 and pixels.shape[2] == 3
    if (pixels.ndim != 2 and not rgb) or pixels.dtype != np.uint8 or pixels.size == 0:
        shapes = "(H, W) or (H, W, 3)" if colour else "(H, W)"
        raise ValueError(
            f"`pixels` must be a non-empty {shapes} uint8 array, got shape {pixels.shape} dtype {pixels.dtype}"
        )
    if compression is not None and (
        isinstance(compression, bool) or not isinstance(compression, int) or not 0 <= compression <= 9
    ):
        raise ValueError(f"`compression` must be None or an integer from 0 to 9, got {compression!r}")
    if rgb:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    params = [] if compression is None else [cv2.IMWRITE_PNG_COMPRESSION, compression]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels), params)
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique sibling name opened with "x": same file system for os.replace, default permissions.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(encoded.tobytes())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
