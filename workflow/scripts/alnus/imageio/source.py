"""What the image readers return and raise: `SourceImage`, `UltrasoundRegion`, `ImageReadError`.

Also `brief`, which puts a third-party exception's message on one line for
the messages of `ImageReadError` and of the readability checks.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class ImageReadError(ValueError):
    """A file that cannot be read as an image; the message names the path and the fix.

    Attributes
    ----------
    path : Path
    problem : str
        The message without the path: what is wrong and the fix.
    """

    def __init__(self, path: str | os.PathLike, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = Path(path), problem


@dataclass(frozen=True)
class UltrasoundRegion:
    """One item of a DICOM *Sequence of Ultrasound Regions* (0018,6011).

    Bounds are inclusive pixel coordinates, as in RegionLocationMinX0/MinY0/MaxX1/MaxY1.
    ``data_type`` is RegionDataType (1 tissue/B-mode, 2 colour flow, 3 PW spectral,
    ...), ``spatial_format`` is RegionSpatialFormat (1 = 2D).
    """

    x0: int
    y0: int
    x1: int
    y1: int
    data_type: int
    spatial_format: int
    physical_delta_x: float | None = None
    physical_delta_y: float | None = None
    physical_units_x: int | None = None

    @property
    def area(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)


@dataclass(frozen=True)
class SourceImage:
    """An image as read from disk.

    Attributes
    ----------
    pixels : ndarray of shape (H, W), uint8
        Grayscale pixels.
    regions : tuple of UltrasoundRegion
        From the DICOM *Sequence of Ultrasound Regions*; empty for raster files.
    format : str
        "png", "jpeg", "bmp" or "dicom".
    notes : tuple of str
        Conversions worth recording ("MONOCHROME1 inverted", ...).
    """

    pixels: np.ndarray
    regions: tuple[UltrasoundRegion, ...] = ()
    format: str = "png"
    notes: tuple[str, ...] = ()


def brief(exc: Exception, limit: int = 200) -> str:
    """An exception's message on one line, cut to `limit` characters."""
    text = re.sub(r" ?<[^<>]* at 0x[0-9a-fA-F]+>", "", " ".join(str(exc).split())) or type(exc).__name__  # no reprs
    return text if len(text) <= limit else text[: limit - 3] + "..."
