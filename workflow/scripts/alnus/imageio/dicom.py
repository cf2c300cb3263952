"""DICOM files: read the single frame as 8-bit grey with its ultrasound regions, or check the header cheaply.

What is refused, and why: files without pixel data (reports, structured
documents), declared sizes over MAX_PIXELS, multi-frame files (cine loops:
which frame to use is the user's choice), pixel data that no installed decoder
reads, and colour content. What is converted, each with a note: the palette
(PALETTE COLOR), the VOI LUT of 16-bit data, MONOCHROME1 inversion, YBR and RGB
to luma.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pydicom.pixels

from alnus.imageio.pixels import minmax8, refuse_unusable, to_gray8, too_large
from alnus.imageio.source import ImageReadError, SourceImage, UltrasoundRegion, brief

PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
DECODER_HINT = (
    "install a decoder for it (pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg) or export uncompressed DICOM"
)


def frames(ds: pydicom.Dataset) -> int:
    """NumberOfFrames of a DICOM dataset (1 when absent or empty)."""
    return int(ds.get("NumberOfFrames", 1) or 1)


def read_dicom(path: Path) -> SourceImage:
    """Read the DICOM file `path`: its single frame as (H, W) uint8 and its ultrasound regions.

    Raises
    ------
    ImageReadError
        If the file does not parse, has no pixel data, fails `header_problem`,
        or its pixels do not decode or are unusable (`dicom_pixels`).
    """
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as exc:  # pydicom raises many types on corrupt files
        raise ImageReadError(path, f"cannot parse DICOM ({brief(exc)}); re-export the file") from exc
    if not any(tag in ds for tag in PIXEL_TAGS):
        raise ImageReadError(
            path, "DICOM has no pixel data (a report or structured document?); export the image itself"
        )
    # Checked before the pixels are decoded (the header is all that is parsed so far).
    problem = header_problem(ds)
    if problem:
        raise ImageReadError(path, problem)
    pixels, notes = dicom_pixels(ds, path)
    return SourceImage(pixels, regions(ds), "dicom", notes)


def header_problem(ds: pydicom.Dataset) -> str | None:
    """Problems a DICOM header shows before any pixel is decoded: a declared
    size over MAX_PIXELS, or a multi-frame file (a cine loop)."""
    problem = too_large(ds.get("Columns", 0) or 0, ds.get("Rows", 0) or 0, frames(ds))
    if problem:
        return problem
    if frames(ds) > 1:
        # Frame 0 of a loop is whichever frame the probe recorded first, rarely
        # the one the sonographer froze and measured: the choice is the user's.
        return (
            f"multi-frame DICOM (a cine loop of {frames(ds)} frames); the pipeline takes one still "
            "image per manifest row: export the frame to use as a single-frame DICOM or PNG, "
            "or remove it from the manifest"
        )
    return None


def dicom_pixels(ds: pydicom.Dataset, path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    """The single frame of `ds` as (H, W) uint8, with notes on what was converted.

    Raises
    ------
    ImageReadError
        If the pixel data does not decode, or the decoded image is unusable
        (`refuse_unusable`).
    """
    notes = []
    arr = _decode(ds, path)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        arr = pydicom.pixels.apply_color_lut(arr, ds)
        if arr.dtype != np.uint8:  # 16-bit palette entries span the full range
            arr = np.rint(arr / 257.0).astype(np.uint8)
        notes.append("PALETTE COLOR applied")
    refuse_unusable(path, arr)
    if arr.ndim == 3:
        gray, more = to_gray8(arr, bgr=False)
        return gray, tuple(notes) + more
    if arr.dtype != np.uint8:
        if "WindowCenter" in ds or "VOILUTSequence" in ds:
            arr = pydicom.pixels.apply_voi_lut(pydicom.pixels.apply_modality_lut(arr, ds), ds)
            notes.append(f"{ds.get('BitsStored', '?')}-bit: VOI LUT applied, then scaled min-max to 8-bit")
        else:
            notes.append(f"{ds.get('BitsStored', '?')}-bit scaled min-max to 8-bit")
        arr = minmax8(arr)
    if photometric == "MONOCHROME1":
        arr = 255 - arr
        notes.append("MONOCHROME1 inverted")
    return np.ascontiguousarray(arr), tuple(notes)


def _decode(ds: pydicom.Dataset, path: Path) -> np.ndarray:
    """The pixel array of `ds`, or ImageReadError naming the transfer syntax and the fix."""
    try:
        # pixels.pixel_array converts YBR_FULL/YBR_FULL_422 to RGB by default (pydicom 3).
        return pydicom.pixels.pixel_array(ds)
    except Exception as exc:
        ts = ds.file_meta.get("TransferSyntaxUID", "unknown") if hasattr(ds, "file_meta") else "unknown"
        name = getattr(ts, "name", "")
        ts = f"{name}, {ts}" if name and name != ts else ts
        raise ImageReadError(
            path, f"cannot decode DICOM pixel data (transfer syntax {ts}: {brief(exc)}); {DECODER_HINT}"
        ) from exc


def regions(ds: pydicom.Dataset) -> tuple[UltrasoundRegion, ...]:
    """The items of the Sequence of Ultrasound Regions of `ds` that give all four bounds."""

    def opt(item, name, kind):
        value = item.get(name)
        return None if value is None or value == "" else kind(value)

    found = []
    for item in ds.get("SequenceOfUltrasoundRegions", []):
        bounds = [item.get(f"RegionLocation{n}") for n in ("MinX0", "MinY0", "MaxX1", "MaxY1")]
        if any(b is None for b in bounds):
            continue
        found.append(
            UltrasoundRegion(
                *(int(b) for b in bounds),
                data_type=int(item.get("RegionDataType", 0) or 0),
                spatial_format=int(item.get("RegionSpatialFormat", 0) or 0),
                physical_delta_x=opt(item, "PhysicalDeltaX", float),
                physical_delta_y=opt(item, "PhysicalDeltaY", float),
                physical_units_x=opt(item, "PhysicalUnitsXDirection", int),
            )
        )
    return tuple(found)


def check_dicom(path: Path) -> str | None:
    """Check the DICOM file `path` without decoding its pixels: None, or the problem.

    The header is parsed with large values deferred; then the pixel data
    element, `header_problem`, and either a decoder for a compressed transfer
    syntax or the length of uncompressed pixel data are checked.
    """
    try:
        ds = pydicom.dcmread(path, force=True, defer_size="4 KB")
    except Exception as exc:
        return f"cannot parse DICOM ({brief(exc)})"
    tag = next((t for t in PIXEL_TAGS if t in ds), None)
    if tag is None:
        return "DICOM has no pixel data"
    if "Rows" not in ds or "Columns" not in ds:
        return "DICOM has no Rows/Columns"
    problem = header_problem(ds)
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
        ds.Rows * ds.Columns * int(ds.get("SamplesPerPixel", 1)) * frames(ds) * int(ds.get("BitsAllocated", 8))
    ) // 8
    raw = ds.get_item(tag)
    if getattr(raw, "value", b"") is None:  # deferred: only its position in the file was read
        available = path.stat().st_size - raw.value_tell
    else:
        available = len(ds[tag].value)
    return "DICOM pixel data is truncated" if available < expected else None
