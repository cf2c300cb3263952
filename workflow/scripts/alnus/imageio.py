"""Read ultrasound images (PNG, JPEG, BMP, DICOM) as 8-bit grayscale; write PNGs.

Everything a scanner export can throw at the pipeline ends here as one
``SourceImage``: an ``(H, W)`` uint8 array, the DICOM ultrasound regions if any,
and notes on every conversion made, so that the preprocessing log can say what
was done to each file.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pydicom.pixels
from PIL import Image

RASTER_MAGIC = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg", b"BM": "bmp"}
DICOM_SUFFIXES = {".dcm", ".dicom"}
PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
DECODER_HINT = (
    "install a decoder for it (pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg) or export uncompressed DICOM"
)
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
WHERE = "check the manifest's `image` column and the cohort's `images` folder"
FIXES = {"file not found": WHERE, "not a file": WHERE, "file is empty": "re-export it or remove it from the manifest"}


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


def _too_large(width: int, height: int, frames: int = 1) -> str | None:
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


def _raster_too_large(path: Path) -> str | None:
    """`_too_large` of a PNG/JPEG/BMP from its header alone (PIL decodes
    nothing at open), or None, also when the header cannot be read: the
    decoder or verifier reports that."""
    try:
        with Image.open(path) as im:
            return _too_large(*im.size)
    except Image.DecompressionBombError as exc:  # PIL's own, far higher limit: refused at open, size unread
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        return _too_large(int(declared.group(1)) if declared else 2**40, 1) or _brief(exc)
    except Exception:
        return None


def _frames(ds: pydicom.Dataset) -> int:
    """NumberOfFrames of a DICOM dataset (1 when absent or empty)."""
    return int(ds.get("NumberOfFrames", 1) or 1)


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
    min-max to 0..255; DICOM goes through `_dicom_pixels` (frame 0, VOI LUT,
    MONOCHROME1 inversion, palette). Each conversion adds a note.

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
    if fmt == "dicom":
        pixels, regions, notes = _read_dicom(path)
        return SourceImage(pixels, regions, fmt, notes)
    too_large = _raster_too_large(path)
    if too_large:
        raise ImageReadError(path, too_large)
    data = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)  # None if truncated or corrupt
    if data is None:
        raise ImageReadError(path, f"cannot decode this {fmt.upper()} file (truncated or corrupt); re-export it")
    _refuse_unusable(path, data)
    pixels, notes = _to_gray8(data, bgr=True)
    return SourceImage(pixels, (), fmt, notes)


def _refuse_unusable(path: Path, arr: np.ndarray) -> None:
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
        share = _colour_share(arr)
        if share > MAX_COLOUR_SHARE:
            raise ImageReadError(
                path,
                f"colour image: {share:.1%} of its pixels are coloured (over "
                f"{MAX_COLOUR_SHARE:.0%}: a colour or power Doppler or elastography screen?); "
                "the pipeline takes grayscale B-mode images: export the B-mode image "
                "without the colour overlay, or remove it from the manifest",
            )


def _colour_share(arr: np.ndarray) -> float:
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


def _to_gray8(arr: np.ndarray, *, bgr: bool) -> tuple[np.ndarray, tuple[str, ...]]:
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
    return _minmax8(arr), tuple(notes)


def _minmax8(arr: np.ndarray) -> np.ndarray:
    arr = arr.astype(np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return np.rint((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def _brief(exc: Exception, limit: int = 200) -> str:
    """An exception's message on one line, cut to `limit` characters."""
    text = re.sub(r" ?<[^<>]* at 0x[0-9a-fA-F]+>", "", " ".join(str(exc).split())) or type(exc).__name__  # no reprs
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_dicom(path: Path) -> tuple[np.ndarray, tuple[UltrasoundRegion, ...], tuple[str, ...]]:
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as exc:  # pydicom raises many types on corrupt files
        raise ImageReadError(path, f"cannot parse DICOM ({_brief(exc)}); re-export the file") from exc
    if not any(tag in ds for tag in PIXEL_TAGS):
        raise ImageReadError(
            path, "DICOM has no pixel data (a report or structured document?); export the image itself"
        )
    # Checked before the pixels are decoded (the header is all that is parsed so far).
    problem = _dicom_header_problem(ds)
    if problem:
        raise ImageReadError(path, problem)
    pixels, notes = _dicom_pixels(ds, path)
    return pixels, _regions(ds), notes


def _dicom_header_problem(ds: pydicom.Dataset) -> str | None:
    """Problems a DICOM header shows before any pixel is decoded: a declared
    size over MAX_PIXELS, or a multi-frame file (a cine loop)."""
    too_large = _too_large(ds.get("Columns", 0) or 0, ds.get("Rows", 0) or 0, _frames(ds))
    if too_large:
        return too_large
    if _frames(ds) > 1:
        # Frame 0 of a loop is whichever frame the probe recorded first, rarely
        # the one the sonographer froze and measured: the choice is the user's.
        return (
            f"multi-frame DICOM (a cine loop of {_frames(ds)} frames); the pipeline takes one still "
            "image per manifest row: export the frame to use as a single-frame DICOM or PNG, "
            "or remove it from the manifest"
        )
    return None


def _dicom_pixels(ds: pydicom.Dataset, path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    """The single frame of `ds` as (H, W) uint8, with notes on what was converted.

    Raises
    ------
    ImageReadError
        If the pixel data does not decode, or the decoded image is unusable
        (`_refuse_unusable`).
    """
    notes = []
    try:
        # pixels.pixel_array converts YBR_FULL/YBR_FULL_422 to RGB by default (pydicom 3).
        arr = pydicom.pixels.pixel_array(ds)
    except Exception as exc:
        ts = ds.file_meta.get("TransferSyntaxUID", "unknown") if hasattr(ds, "file_meta") else "unknown"
        name = getattr(ts, "name", "")
        ts = f"{name}, {ts}" if name and name != ts else ts
        raise ImageReadError(
            path, f"cannot decode DICOM pixel data (transfer syntax {ts}: {_brief(exc)}); {DECODER_HINT}"
        ) from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        arr = pydicom.pixels.apply_color_lut(arr, ds)
        if arr.dtype != np.uint8:  # 16-bit palette entries span the full range
            arr = np.rint(arr / 257.0).astype(np.uint8)
        notes.append("PALETTE COLOR applied")
    _refuse_unusable(path, arr)
    if arr.ndim == 3:
        gray, more = _to_gray8(arr, bgr=False)
        return gray, tuple(notes) + more
    if arr.dtype != np.uint8:
        if "WindowCenter" in ds or "VOILUTSequence" in ds:
            arr = pydicom.pixels.apply_voi_lut(pydicom.pixels.apply_modality_lut(arr, ds), ds)
            notes.append(f"{ds.get('BitsStored', '?')}-bit: VOI LUT applied, then scaled min-max to 8-bit")
        else:
            notes.append(f"{ds.get('BitsStored', '?')}-bit scaled min-max to 8-bit")
        arr = _minmax8(arr)
    if photometric == "MONOCHROME1":
        arr = 255 - arr
        notes.append("MONOCHROME1 inverted")
    return np.ascontiguousarray(arr), tuple(notes)


def _regions(ds: pydicom.Dataset) -> tuple[UltrasoundRegion, ...]:
    def opt(item, name, kind):
        value = item.get(name)
        return None if value is None or value == "" else kind(value)

    regions = []
    for item in ds.get("SequenceOfUltrasoundRegions", []):
        bounds = [item.get(f"RegionLocation{n}") for n in ("MinX0", "MinY0", "MaxX1", "MaxY1")]
        if any(b is None for b in bounds):
            continue
        regions.append(
            UltrasoundRegion(
                *(int(b) for b in bounds),
                data_type=int(item.get("RegionDataType", 0) or 0),
                spatial_format=int(item.get("RegionSpatialFormat", 0) or 0),
                physical_delta_x=opt(item, "PhysicalDeltaX", float),
                physical_delta_y=opt(item, "PhysicalDeltaY", float),
                physical_units_x=opt(item, "PhysicalUnitsXDirection", int),
            )
        )
    return tuple(regions)


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
        return f"cannot decode ({type(error).__name__}: {_brief(error)}); re-export it or remove it from the manifest"
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
    if fmt != "dicom":
        too_large = _raster_too_large(path)
        if too_large:
            return too_large
        try:
            with Image.open(path) as im:
                im.verify()
        except Exception as exc:
            return f"corrupt {fmt.upper()} file ({_brief(exc)})"
        return None
    return _check_dicom(path)


def _check_dicom(path: Path) -> str | None:
    try:
        ds = pydicom.dcmread(path, force=True, defer_size="4 KB")
    except Exception as exc:
        return f"cannot parse DICOM ({_brief(exc)})"
    tag = next((t for t in PIXEL_TAGS if t in ds), None)
    if tag is None:
        return "DICOM has no pixel data"
    if "Rows" not in ds or "Columns" not in ds:
        return "DICOM has no Rows/Columns"
    problem = _dicom_header_problem(ds)
    if problem:
        return problem
    ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if ts is not None and (not ts.is_transfer_syntax or ts.is_compressed):
        try:
            available = pydicom.pixels.get_decoder(ts).is_available
        except NotImplementedError:
            available = False
        return None if available else f"no decoder installed for transfer syntax {ts.name}; {DECODER_HINT}"
    # Uncompressed: a truncated file holds fewer bytes than the pixel data needs.
    expected = (
        ds.Rows * ds.Columns * int(ds.get("SamplesPerPixel", 1)) * _frames(ds) * int(ds.get("BitsAllocated", 8))
    ) // 8
    raw = ds.get_item(tag)
    if getattr(raw, "value", b"") is None:  # deferred: only its position in the file was read
        available = path.stat().st_size - raw.value_tell
    else:
        available = len(ds[tag].value)
    return "DICOM pixel data is truncated" if available < expected else None


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
