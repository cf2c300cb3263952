"""PNG, JPEG and BMP files: read as 8-bit grey, or checked cheaply without decoding."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from alnus.imageio.pixels import refuse_unusable, to_gray8, too_large
from alnus.imageio.source import ImageReadError, SourceImage, brief


def raster_too_large(path: Path) -> str | None:
    """`too_large` of a PNG/JPEG/BMP from its header alone (PIL decodes
    nothing at open), or None, also when the header cannot be read: the
    decoder or verifier reports that."""
    try:
        with Image.open(path) as im:
            return too_large(*im.size)
    except Image.DecompressionBombError as exc:  # PIL's own, far higher limit: refused at open, size unread
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        return too_large(int(declared.group(1)) if declared else 2**40, 1) or brief(exc)
    except Exception:
        return None


def read_raster(path: Path, fmt: str) -> SourceImage:
    """Read the PNG, JPEG or BMP file `path` as 8-bit grey.

    Parameters
    ----------
    path : Path
    fmt : str
        "png", "jpeg" or "bmp", as sniffed from the file's content.

    Returns
    -------
    SourceImage
        Colour converted to luma, 16 bits scaled min-max to 0..255, a note for each.

    Raises
    ------
    ImageReadError
        If the header declares too many pixels, the file does not decode, or
        the pixels are unusable (`refuse_unusable`).
    """
    problem = raster_too_large(path)
    if problem:
        raise ImageReadError(path, problem)
    data = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)  # None if truncated or corrupt
    if data is None:
        raise ImageReadError(path, f"cannot decode this {fmt.upper()} file (truncated or corrupt); re-export it")
    refuse_unusable(path, data)
    pixels, notes = to_gray8(data, bgr=True)
    return SourceImage(pixels, (), fmt, notes)


def check_raster(path: Path, fmt: str) -> str | None:
    """The header size and PIL ``verify()`` of a PNG/JPEG/BMP file (PNG chunk
    CRCs are checked; a truncated JPEG may pass): None, or the problem."""
    problem = raster_too_large(path)
    if problem:
        return problem
    try:
        with Image.open(path) as im:
            im.verify()
    except Exception as exc:
        return f"corrupt {fmt.upper()} file ({brief(exc)})"
    return None
