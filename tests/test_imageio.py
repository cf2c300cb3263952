"""Tests for alnus.imageio: raster and DICOM reading, readability checks, PNG writing."""

from __future__ import annotations

import re
import struct
import zlib

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import convert_color_space
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from alnus.imageio import (
    ImageReadError,
    UltrasoundRegion,
    check_readable,
    decode_problem,
    is_dicom,
    read_image,
    write_png,
)
from alnus.imageio import pixels as imageio_pixels

US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, size=(24, 32), dtype=np.uint8)
# A grey screen exported in colour: channels a little apart (as after JPEG
# chroma subsampling) and one saturated marker pixel, as a coloured caliper.
RGB = np.clip(GRAY[..., None].astype(int) + RNG.integers(-20, 21, size=(24, 32, 3)), 0, 255).astype(np.uint8)
RGB[3, 4] = (255, 220, 0)


def make_dicom(path, arr=GRAY, photometric="MONOCHROME2", bits_stored=8, *, preamble=True, regions=(), **elements):
    """Write a small ultrasound DICOM file; `elements` are extra top-level attributes."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = US_IMAGE_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = US_IMAGE_STORAGE
    ds.Modality = "US"
    if arr is not None:
        ds.set_pixel_data(arr, photometric, bits_stored)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    items = []
    for x0, y0, x1, y1, data_type in regions:
        item = Dataset()
        item.RegionLocationMinX0, item.RegionLocationMinY0 = x0, y0
        item.RegionLocationMaxX1, item.RegionLocationMaxY1 = x1, y1
        item.RegionDataType, item.RegionSpatialFormat = data_type, 1
        item.PhysicalDeltaX, item.PhysicalDeltaY = 0.01, 0.01
        item.PhysicalUnitsXDirection = 3
        items.append(item)
    if items:
        ds.SequenceOfUltrasoundRegions = Sequence(items)
    for name, value in elements.items():
        setattr(ds, name, value)
    ds.save_as(path, enforce_file_format=preamble)
    return path


def png_chunks(data: bytes) -> list[str]:
    """Chunk types of a PNG file, in order, with their CRCs checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks.append(kind.decode("ascii"))
        pos += 12 + length
    return chunks


# ---------------------------------------------------------------------------
# Raster files
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "fmt", "note"),
    [
        ("gray.png", GRAY, "png", None),
        ("bgr.png", RGB[..., ::-1], "png", "colour converted to grayscale"),
        ("bgra.png", np.dstack([RGB[..., ::-1], np.full(GRAY.shape, 128, np.uint8)]), "png", "alpha channel dropped"),
        ("sixteen.png", GRAY.astype(np.uint16) * 200, "png", "uint16 scaled min-max to 8-bit"),
        ("gray.bmp", GRAY, "bmp", None),
        ("bgr.bmp", RGB[..., ::-1], "bmp", "colour converted to grayscale"),
    ],
)
def test_read_lossless_raster(tmp_path, name, data, fmt, note):
    path = tmp_path / name
    cv2.imwrite(str(path), data)
    image = read_image(path)
    assert image.format == fmt and image.regions == ()
    assert image.pixels.shape == GRAY.shape and image.pixels.dtype == np.uint8
    if data.ndim == 2 and data.dtype == np.uint8:
        assert np.array_equal(image.pixels, GRAY) and image.notes == ()
    elif data.ndim == 3:
        expected = cv2.cvtColor(np.ascontiguousarray(data[..., :3]), cv2.COLOR_BGR2GRAY)
        assert np.abs(image.pixels.astype(int) - expected).max() <= 1
    else:  # 16-bit: min-max scaling of GRAY * 200 gives back GRAY stretched to 0..255
        stretched = np.rint((GRAY - GRAY.min()) * 255.0 / (GRAY.max() - GRAY.min()))
        assert np.abs(image.pixels - stretched).max() <= 1
    assert note is None or note in image.notes


def test_read_jpeg_and_content_beats_extension(tmp_path):
    ok, encoded = cv2.imencode(".jpg", GRAY, [cv2.IMWRITE_JPEG_QUALITY, 95])
    (tmp_path / "scan.jpg").write_bytes(encoded.tobytes())
    (tmp_path / "misnamed.png").write_bytes(encoded.tobytes())  # a JPEG named .png
    for name in ("scan.jpg", "misnamed.png"):
        image = read_image(tmp_path / name)
        assert image.format == "jpeg"
        assert np.abs(image.pixels.astype(int) - GRAY).mean() < 8


# ---------------------------------------------------------------------------
# DICOM
# ---------------------------------------------------------------------------
def test_dicom_monochrome2_and_regions(tmp_path):
    path = make_dicom(tmp_path / "a.dcm", regions=[(2, 3, 29, 20, 1), (10, 5, 20, 15, 2)])
    image = read_image(path)
    assert image.format == "dicom" and image.notes == ()
    assert np.array_equal(image.pixels, GRAY)
    assert image.regions == (
        UltrasoundRegion(2, 3, 29, 20, 1, 1, 0.01, 0.01, 3),
        UltrasoundRegion(10, 5, 20, 15, 2, 1, 0.01, 0.01, 3),
    )
    assert image.regions[0].area == 28 * 18


@pytest.mark.parametrize(
    ("arr", "photometric", "bits", "expected", "note"),
    [
        (GRAY, "MONOCHROME1", 8, 255 - GRAY, "MONOCHROME1 inverted"),
        (RGB, "RGB", 8, cv2.cvtColor(RGB, cv2.COLOR_RGB2GRAY), "colour converted to grayscale"),
        (
            convert_color_space(RGB, "RGB", "YBR_FULL"),
            "YBR_FULL",
            8,
            cv2.cvtColor(RGB, cv2.COLOR_RGB2GRAY),
            "colour converted to grayscale",
        ),
        (GRAY.astype(np.uint16) * 16, "MONOCHROME2", 12, GRAY.astype(float) - GRAY.min(), "12-bit scaled min-max"),
    ],
    ids=["monochrome1", "rgb", "ybr_full", "12bit"],
)
def test_dicom_conversions(tmp_path, arr, photometric, bits, expected, note):
    path = make_dicom(tmp_path / "x.dcm", arr, photometric, bits)
    image = read_image(path)
    assert image.pixels.shape == GRAY.shape and image.pixels.dtype == np.uint8
    if photometric == "MONOCHROME2" and bits > 8:
        expected = np.rint(expected * 255.0 / expected.max())
    # YBR round trips in 8 bits lose a little.
    assert np.abs(image.pixels.astype(int) - expected).max() <= (3 if photometric == "YBR_FULL" else 1)
    assert any(n.startswith(note) for n in image.notes), image.notes


def test_dicom_16bit_window_is_applied(tmp_path):
    ramp = np.tile(np.arange(0, 4096, 16, dtype=np.uint16), (16, 1))  # 0..4080
    path = make_dicom(tmp_path / "w.dcm", ramp, "MONOCHROME1", 12, WindowCenter=1000, WindowWidth=400)
    image = read_image(path)
    # Window 800..1200 mapped to 0..255, then MONOCHROME1 inverted: below is white, above black.
    assert (image.pixels[:, ramp[0] < 790] == 255).all() and (image.pixels[:, ramp[0] > 1210] == 0).all()
    inside = image.pixels[0, (ramp[0] > 820) & (ramp[0] < 1180)]
    assert (np.diff(inside.astype(int)) < 0).all()
    assert "MONOCHROME1 inverted" in image.notes and any("VOI LUT applied" in n for n in image.notes)


def test_dicom_palette_color(tmp_path):
    index = (GRAY // 32).astype(np.uint8)  # 8 palette entries
    lut = np.array([0, 40, 80, 120, 160, 200, 230, 255], np.uint16) * 257
    path = make_dicom(
        tmp_path / "p.dcm",
        index,
        "PALETTE COLOR",
        8,
        RedPaletteColorLookupTableDescriptor=[8, 0, 16],
        GreenPaletteColorLookupTableDescriptor=[8, 0, 16],
        BluePaletteColorLookupTableDescriptor=[8, 0, 16],
        RedPaletteColorLookupTableData=lut.tobytes(),
        GreenPaletteColorLookupTableData=lut.tobytes(),
        BluePaletteColorLookupTableData=lut.tobytes(),
    )
    image = read_image(path)
    assert np.array_equal(image.pixels, (lut // 257).astype(np.uint8)[index])
    assert "PALETTE COLOR applied" in image.notes


@pytest.mark.parametrize(
    ("name", "writer", "expected"),
    [
        ("IM000001", lambda p: make_dicom(p), True),  # no extension, "DICM" magic
        ("nopreamble.dcm", lambda p: make_dicom(p, preamble=False), True),
        ("fake.dcm", lambda p: p.write_bytes(cv2.imencode(".png", GRAY)[1].tobytes()), False),  # a PNG named .dcm
        ("image.png", lambda p: cv2.imwrite(str(p), GRAY), False),
        ("missing.dcm", lambda p: None, True),
        ("missing.png", lambda p: None, False),
    ],
)
def test_is_dicom(tmp_path, name, writer, expected):
    writer(tmp_path / name)
    assert is_dicom(tmp_path / name) is expected


def test_dicom_without_preamble_is_read(tmp_path):
    path = make_dicom(tmp_path / "raw.dcm", preamble=False)
    assert np.array_equal(read_image(path).pixels, GRAY)


# ---------------------------------------------------------------------------
# Errors and readability checks
# ---------------------------------------------------------------------------
def _write(path, content):
    path.write_bytes(content)


def _truncated_png(path):
    cv2.imwrite(str(path), RGB)
    path.write_bytes(path.read_bytes()[:200])


def _truncated_dicom(path):
    make_dicom(path, np.zeros((64, 64), np.uint8))
    path.write_bytes(path.read_bytes()[:-1000])


BROKEN = [
    # (name, how to make it, read_image message, check_readable problem)
    ("missing.png", None, "file not found", "file not found"),
    ("empty.png", lambda p: _write(p, b""), "file is empty", "file is empty"),
    ("text.png", lambda p: _write(p, b"patient_id,label\n1,0\n"), "not a PNG/JPEG/BMP or DICOM", "not a PNG/JPEG/BMP"),
    ("scan.tiff", lambda p: _write(p, b"II*\x00" + bytes(100)), "convert it to PNG", "not a PNG/JPEG/BMP"),
    ("truncated.png", _truncated_png, "cannot decode this PNG", "corrupt PNG"),
    ("report.dcm", lambda p: make_dicom(p, None), "DICOM has no pixel data", "DICOM has no pixel data"),
    ("cut.dcm", _truncated_dicom, "cannot decode DICOM pixel data", "DICOM pixel data is truncated"),
]


@pytest.mark.parametrize(("name", "make", "message", "problem"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_files(tmp_path, name, make, message, problem):
    path = tmp_path / name
    if make:
        make(path)
    with pytest.raises(ImageReadError, match=message) as info:
        read_image(path)
    assert str(path) in str(info.value)
    assert check_readable(path).startswith(problem)


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(ImageReadError, match="not a file"):
        read_image(tmp_path)
    assert check_readable(tmp_path) == "not a file"


@pytest.mark.parametrize("name", ["ok.png", "ok.jpg", "ok.bmp", "ok.dcm", "IM0001"])
def test_check_readable_accepts_good_files(tmp_path, name):
    path = tmp_path / name
    if name.startswith("ok.") and not name.endswith(".dcm"):
        cv2.imwrite(str(path), GRAY)
    else:
        make_dicom(path, RGB, "RGB", 8)
    assert check_readable(path) is None


def test_check_readable_reports_missing_decoder(tmp_path, monkeypatch):
    path = make_dicom(tmp_path / "j2k.dcm")
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.90"  # JPEG 2000 lossless
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(60)])  # not a real codestream
    ds.save_as(path)
    with pytest.raises(ImageReadError, match="cannot decode DICOM pixel data.*install a decoder"):
        read_image(path)

    class NoDecoder:
        is_available = False

    monkeypatch.setattr("pydicom.pixels.get_decoder", lambda uid: NoDecoder())
    assert check_readable(path).startswith("no decoder installed for transfer syntax")


# ---------------------------------------------------------------------------
# write_png
# ---------------------------------------------------------------------------
def test_write_png_round_trip_without_metadata(tmp_path):
    path = tmp_path / "out" / "a.png"
    write_png(path, GRAY)
    assert png_chunks(path.read_bytes()) == ["IHDR", "IDAT", "IEND"]
    assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), GRAY)
    write_png(path, 255 - GRAY)  # overwrites in place
    assert np.array_equal(read_image(path).pixels, 255 - GRAY)
    assert [p.name for p in path.parent.iterdir()] == ["a.png"]  # no temporary files left


def test_write_png_leaves_nothing_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    write_png(path, GRAY)

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_png(path, 255 - GRAY)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    assert np.array_equal(read_image(path).pixels, GRAY)  # the old file is intact


@pytest.mark.parametrize(
    "pixels",
    [RGB, GRAY.astype(np.uint16), GRAY.astype(float), np.zeros((0, 5), np.uint8), np.zeros(5, np.uint8)],
    ids=["rgb", "uint16", "float", "empty", "1d"],
)
def test_write_png_rejects_non_gray8(tmp_path, pixels):
    with pytest.raises(ValueError, match=r"`pixels` must be a non-empty \(H, W\) uint8 array"):
        write_png(tmp_path / "a.png", pixels)


def test_write_png_writes_rgb_only_when_asked(tmp_path):
    path = tmp_path / "a.png"
    write_png(path, RGB, colour=True)
    assert png_chunks(path.read_bytes()) == ["IHDR", "IDAT", "IEND"]
    assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), RGB[..., ::-1])  # cv2 reads BGR
    write_png(path, GRAY, colour=True)  # grey stays grey
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).ndim == 2
    with pytest.raises(ValueError, match=r"`pixels` must be a non-empty \(H, W\) or \(H, W, 3\) uint8 array"):
        write_png(path, np.zeros((4, 4, 4), np.uint8), colour=True)


@pytest.mark.parametrize("compression", [0, 3, 9])
def test_write_png_compression_gives_the_bytes_of_that_level(tmp_path, compression):
    """The level changes the bytes, never the pixels; without one, OpenCV's default."""
    path = tmp_path / "a.png"
    write_png(path, GRAY, compression=compression)
    assert path.read_bytes() == cv2.imencode(".png", GRAY, [cv2.IMWRITE_PNG_COMPRESSION, compression])[1].tobytes()
    assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), GRAY)
    write_png(path, GRAY)
    assert path.read_bytes() == cv2.imencode(".png", GRAY)[1].tobytes()


@pytest.mark.parametrize("compression", [-1, 10, 3.0, True, "3"])
def test_write_png_rejects_bad_compression(tmp_path, compression):
    with pytest.raises(ValueError, match=r"`compression` must be None or an integer from 0 to 9, got"):
        write_png(tmp_path / "a.png", GRAY, compression=compression)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("kind", ["png", "dicom"])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, kind, monkeypatch):
    """A file declaring more pixels than MAX_PIXELS is refused by the cheap
    check and by the reader, with its size, the limit and the fix."""
    monkeypatch.setattr(imageio_pixels, "MAX_PIXELS", 100 * 100)
    path = tmp_path / f"big.{'png' if kind == 'png' else 'dcm'}"
    pixels = np.zeros((120, 100), dtype=np.uint8)
    if kind == "png":
        cv2.imwrite(str(path), pixels)
    else:
        make_dicom(path, pixels)
    problem = check_readable(path)
    assert "100 x 120" in problem and "megapixels" in problem and "remove it from the manifest" in problem
    with pytest.raises(ImageReadError, match=r"big\.(png|dcm): image declares 100 x 120"):
        read_image(path)
    monkeypatch.setattr(imageio_pixels, "MAX_PIXELS", 120 * 100)
    assert check_readable(path) is None and read_image(path).pixels.shape == (120, 100)


# ---------------------------------------------------------------------------
# Images read_image refuses, and decode_problem (the full check of validate_inputs)
# ---------------------------------------------------------------------------
def _doppler(path):
    screen = cv2.merge([GRAY] * 3)
    screen[4:12, 8:20] = (30, 30, 230)  # a colour-flow blob on 12.5% of the screen
    cv2.imwrite(str(path), screen)


REFUSED = [
    # (name, how to make it, problem, what check_readable (headers only) says)
    ("dot.png", lambda p: cv2.imwrite(str(p), GRAY[:1, :1]), "image is only 1 x 1 pixels", None),
    ("strip.dcm", lambda p: make_dicom(p, GRAY[:, :8]), "image is only 8 x 24 pixels", None),
    (
        "cine.dcm",
        lambda p: make_dicom(p, np.stack([GRAY, 255 - GRAY, GRAY // 2])),
        "multi-frame DICOM (a cine loop of 3 frames)",
        "multi-frame DICOM",
    ),
    ("doppler.png", _doppler, "colour image: 12.5% of its pixels are coloured", None),
    (
        "doppler.dcm",
        lambda p: make_dicom(p, np.where(np.arange(32)[None, :, None] < 8, np.uint8([220, 20, 20]), RGB), "RGB", 8),
        "colour image: 25.0% of its pixels are coloured",
        None,
    ),
    (
        "cut.jpg",
        lambda p: p.write_bytes(cv2.imencode(".jpg", GRAY)[1].tobytes()[:-100]),
        "cannot decode this JPEG file (truncated or corrupt)",
        None,
    ),
]


@pytest.mark.parametrize(("name", "make", "problem", "header"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_images_name_the_problem_and_fix(tmp_path, name, make, problem, header):
    """What decode_problem finds and read_image refuses; the header check sees
    only what the header shows (a truncated JPEG passes it)."""
    path = tmp_path / name
    make(path)
    with pytest.raises(ImageReadError, match=re.escape(problem)) as info:
        read_image(path)
    assert info.value.path == path and str(info.value) == f"{path}: {info.value.problem}"
    assert decode_problem(path) == info.value.problem
    assert re.search(r"[:;] (re-)?export", info.value.problem)  # the fix
    assert (check_readable(path) or "").startswith(header) if header else check_readable(path) is None


def test_grey_screen_with_coloured_annotations_is_accepted(tmp_path):
    """Coloured calipers and logos (under MAX_COLOUR_SHARE of the screen) are
    converted with the rest; the colour share is no judgement on them."""
    path = tmp_path / "screen.png"
    screen = cv2.merge([GRAY] * 3)
    screen[2, 2:9] = (0, 220, 255)  # a yellow caliper line: 7 of 768 pixels, 0.9%
    cv2.imwrite(str(path), screen)
    assert decode_problem(path) is None
    assert read_image(path).notes == ("colour converted to grayscale",)


def test_decode_problem_names_an_unexpected_decoder_failure(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), GRAY)

    def fail(*args):
        raise MemoryError("out of memory")

    monkeypatch.setattr(cv2, "imdecode", fail)
    assert (
        decode_problem(path)
        == "cannot decode (MemoryError: out of memory); re-export it or remove it from the manifest"
    )
