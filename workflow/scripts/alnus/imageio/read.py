"""Read any image the pipeline takes, by its content: `read_image`, `decode_problem`, `check_readable`, `is_dicom`.

The format is sniffed from the file's first bytes (content decides before the
extension); PNG, JPEG and BMP files go to `alnus.imageio.raster`, DICOM files
to `alnus.imageio.dicom`.
"""

from __future__ import annotations

import os
from pathlib import Path

from alnus.imageio.dicom import check_dicom, read_dicom
from alnus.imageio.raster import check_raster, read_raster
from alnus.imageio.source import ImageReadError, SourceImage, brief

RASTER_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg", b"BM": "bmp"}
DICOM_SUFFIXES = {".dcm", ".dicom"}
WHERE = "check the manifest's `image` column and the cohort's `images` folder"
FIXES = {"file not found": WHERE, "not a file": WHERE, "file is empty": "re-export it or remove it from the manifest"}


def _sniff(path: Path) -> str | None:
    """Return "dicom", "png", "jpeg", "bmp" from the file's first bytes, else None.

    Content decides before the extension: exports without extension and
    JPEGs named .png both occur. A .dcm/.dicom file without the "DICM" magic
    (no preamble) still counts as DICOM.

    Raises
    ------
    OSError
        If the file cannot be opened.
    """
    with open(path, "rb") as f:
        head = f.read(132)
    if head[128:132] == b"DICM":
        return "dicom"
    for magic, fmt in RASTER_MAGIC.items():
        if head.startswith(magic):
            return fmt
    return "dicom" if path.suffix.lower() in DICOM_SUFFIXES else None


def is_dicom(path: str | os.PathLike) -> bool:
    """True if `path` is a DICOM file: "DICM" at byte 128, or a .dcm/.dicom
    extension on a file that is not a PNG/JPEG/BMP. Unopenable files are judged
    by their extension alone."""
    path = Path(path)
    try:
        return _sniff(path) == "dicom"
    except OSError:
        return path.suffix.lower() in DICOM_SUFFIXES


def _problem(path: Path) -> str | None:
    """File-level problems shared by `read_image` and `check_readable`."""
    if not path.exists():
        return "file not found"
    if not path.is_file():
        return "not a file"
    if path.stat().st_size == 0:
        return "file is empty"
    return None


def read_image(path: str | os.PathLike) -> SourceImage:
    """Read a PNG, JPEG, BMP or DICOM file as 8-bit grayscale.

    Colour images are converted to luma; 16-bit raster images are scaled
    min-max to 0..255; DICOM goes through `alnus.imageio.dicom.dicom_pixels`
    (frame 0, VOI LUT, MONOCHROME1 inversion, palette). Each conversion adds a note.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    SourceImage
        ``pixels`` of shape (H, W), uint8.

    Raises
    ------
    ImageReadError
        If the file is missing, empty, not a PNG/JPEG/BMP/DICOM file, corrupt,
        or a DICOM without (decodable) pixel data.
    """
    path = Path(path)
    problem = _problem(path)
    if problem:
        raise ImageReadError(path, f"{problem}; {FIXES[problem]}")
    fmt = _sniff(path)
    if fmt is None:
        raise ImageReadError(
            path, "not a PNG/JPEG/BMP or DICOM file (by its content); convert it to PNG or remove it from the manifest"
        )
    return read_dicom(path) if fmt == "dicom" else read_raster(path, fmt)


def decode_problem(path: str | os.PathLike) -> str | None:
    """Decode `path` fully, as `read_image` does, and say why it cannot be used.

    Unlike `check_readable`, every pixel is decoded and converted, so a
    truncated JPEG, pixel data no installed decoder can read and the images
    `read_image` refuses (too small, colour Doppler, cine loop) are all found.
    Safe to call from several threads at once.

    Returns
    -------
    str or None
        None if `read_image` succeeds, else the problem and its fix (without
        the path).
    """
    try:
        read_image(path)
    except ImageReadError as error:
        return error.problem
    except Exception as error:  # a decoder's own failure (MemoryError included): name it, do not stop the check
        return f"cannot decode ({type(error).__name__}: {brief(error)}); re-export it or remove it from the manifest"
    return None


def check_readable(path: str | os.PathLike) -> str | None:
    """Cheaply check that `path` can be read, without decoding its pixels.

    Raster files: PIL ``verify()`` (PNG chunk CRCs are checked; a truncated JPEG
    may pass). DICOM: the header is parsed with large values deferred, then the
    pixel data element, its length (uncompressed data) and the availability of a
    decoder for the transfer syntax are checked.

    Returns
    -------
    str or None
        None if readable, else a short problem ("file is empty", ...).
    """
    path = Path(path)
    problem = _problem(path)
    if problem:
        return problem
    try:
        fmt = _sniff(path)
    except OSError as exc:
        return f"cannot open file ({exc.strerror})"
    if fmt is None:
        return "not a PNG/JPEG/BMP or DICOM file"
    return check_dicom(path) if fmt == "dicom" else check_raster(path, fmt)
