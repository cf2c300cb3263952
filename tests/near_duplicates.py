"""Test helper: near-duplicates of an image, as a second export would make them.

Not library code: the duplicate finder's tests (tests/test_duplicates.py) and
benchmark (benchmarks/bench_duplicates.py, which puts tests/ on its path) use
it to make copies that the perceptual hash must still find.
"""

from __future__ import annotations

import cv2
import numpy as np


def re_export(pixels: np.ndarray) -> np.ndarray:
    """The same frame as a second export, as a scanner or PACS might write
    it: cut by 2-3 px, resized by 0.9, through JPEG at quality 80, and 6 grey
    levels brighter.

    Parameters
    ----------
    pixels : uint8 array of shape (H, W)

    Returns
    -------
    uint8 array of shape (int(0.9 * (H - 4)), int(0.9 * (W - 5))), a near-duplicate of ``pixels``.
    """
    h, w = pixels.shape
    cut = pixels[3 : h - 1, 2 : w - 3]
    small = cv2.resize(cut, (int(cut.shape[1] * 0.9), int(cut.shape[0] * 0.9)), interpolation=cv2.INTER_AREA)
    _, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return np.clip(cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE).astype(np.int16) + 6, 0, 255).astype(np.uint8)
