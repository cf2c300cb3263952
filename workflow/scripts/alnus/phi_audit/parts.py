"""The parts of a file that can carry text: PNG chunks, .npy and safetensors headers, zip members, PDF streams.

Pixel and weight payloads are left out (see `text_parts`); `metadata_chunks`
finds preprocessed PNGs that carry more than pixels.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_MEMBER = 1 << 30  # zip members and PDF streams larger than this are searched raw, not inflated


def text_parts(path: str | Path) -> list[tuple[str, bytes]] | None:
    """The parts of a file that can carry text, as (where, bytes); None when
    the whole file is to be searched (text, CSV, JSON, unknown formats).

    Pixel and weight payloads are left out: grey levels and float bytes are
    the byte values of letters and digits, so a 5-character id turns up in a
    large image array by chance, and deleting and rebuilding the file gives
    the same bytes again. What is kept, per format:

    * PNG: every chunk but IDAT (image data), compressed text chunks
      (zTXt, iTXt, iCCP) also inflated;
    * .npy: the header (dtype, shape); object arrays (pickled Python
      objects, which may be strings) whole;
    * safetensors: the JSON header (names, dtypes, metadata);
    * zip (.npz, torch checkpoints, other archives): each member's name,
      and its contents by these same rules: .npy members by their header,
      torch tensor storages (``data/N`` beside a ``data.pkl``) left out,
      other members whole;
    * PDF: everything outside streams, and each stream but image XObjects,
      inflated where it is Flate-compressed.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(16)
    try:
        if head.startswith(PNG_SIGNATURE):
            return _png_parts(path.read_bytes())
        if head.startswith(b"\x93NUMPY"):
            with open(path, "rb") as handle:
                return _npy_parts(handle)
        if head.startswith(b"PK\x03\x04"):
            return _zip_parts(path)
        if head.startswith(b"%PDF"):
            return _pdf_parts(path.read_bytes())
        if _is_safetensors(path, head):
            with open(path, "rb") as handle:
                size = struct.unpack("<Q", handle.read(8))[0]
                return [("safetensors header", handle.read(size))]
    except (ValueError, OSError, zipfile.BadZipFile, zlib.error, NotImplementedError, struct.error):
        return None  # malformed: search it whole
    return None


def _png_parts(data: bytes) -> list[tuple[str, bytes]]:
    parts = []
    for chunk_type, body in png_chunks(data):
        if chunk_type == b"IDAT":
            continue
        name = chunk_type.decode("latin-1")
        parts.append((f"PNG {name} chunk", chunk_type + body))
        if chunk_type in (b"zTXt", b"iTXt", b"iCCP"):
            text = _inflate_text_chunk(chunk_type, body)
            if text:
                parts.append((f"PNG {name} chunk, inflated", text))
    return parts


def _npy_parts(handle) -> list[tuple[str, bytes]] | None:
    """The header of an .npy stream, or None for object arrays (search whole)."""
    version = np.lib.format.read_magic(handle)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    _, _, dtype = read_header(handle, max_header_size=1 << 20)
    if dtype.hasobject:
        return None
    end = handle.tell()
    handle.seek(0)
    return [("npy header", handle.read(end))]


def _is_safetensors(path: Path, head: bytes) -> bool:
    """An 8-byte little-endian header length, then a JSON object that fits the file."""
    if len(head) < 9:
        return False
    size = struct.unpack("<Q", head[:8])[0]
    return head[8:9] == b"{" and 8 + size <= path.stat().st_size


TORCH_STORAGE = re.compile(r"(?:^|/)data/\d+$")


def _zip_parts(path: Path) -> list[tuple[str, bytes]]:
    parts = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        torch_archive = any(n.endswith("data.pkl") for n in names)
        parts.append(("zip member names", "\n".join(names).encode("utf-8") + b"\n" + archive.comment))
        for info in archive.infolist():
            where = f"zip member {info.filename}"
            if info.is_dir() or (torch_archive and TORCH_STORAGE.search(info.filename)):
                continue
            if info.file_size > MAX_MEMBER:
                raise ValueError(f"{where} is too large to inflate")  # searched whole, raw
            with archive.open(info) as member:
                if info.filename.endswith(".npy") and member.read(6) == b"\x93NUMPY":
                    member.seek(0)
                    header = _npy_parts(member)
                    if header is not None:
                        parts += [(f"{where} ({w})", data) for w, data in header]
                        continue
                member.seek(0)
                parts.append((where, member.read()))
    return parts


PDF_STREAM = re.compile(rb"stream\r?\n")
PDF_IMAGE = re.compile(rb"/Subtype\s*/Image\b")


def _pdf_parts(raw: bytes) -> list[tuple[str, bytes]]:
    """The PDF outside its streams, and its streams but images, inflated
    where Flate-compressed (a stream that does not inflate is kept raw)."""
    outside, streams, at = [], [], 0
    for match in PDF_STREAM.finditer(raw):
        if match.start() < at:
            continue  # the word inside a stream already passed
        end = raw.find(b"endstream", match.end())
        if end < 0:
            break
        opened = raw.rfind(b"obj", at, match.start())
        dictionary = raw[max(opened, at) : match.start()]
        outside.append(raw[at : match.end()])
        body, at = raw[match.end() : end], end + len(b"endstream")
        if PDF_IMAGE.search(dictionary):
            continue
        if b"/FlateDecode" in dictionary:
            try:
                body = zlib.decompressobj().decompress(body, MAX_MEMBER)
            except zlib.error:
                pass
        streams.append(("PDF stream", body))
    outside.append(raw[at:])
    return [("PDF outside streams", b"\n".join(outside)), *streams]


def _inflate_text_chunk(chunk_type: bytes, data: bytes) -> bytes:
    try:
        if chunk_type in (b"zTXt", b"iCCP"):
            keyword, _, rest = data.partition(b"\0")
            return keyword + b"\0" + zlib.decompress(rest[1:])
        keyword, _, rest = data.partition(b"\0")  # iTXt: flag, method, language\0, translated\0, text
        compressed, rest = rest[0], rest[2:]
        language, _, rest = rest.partition(b"\0")
        translated, _, text = rest.partition(b"\0")
        return b"\0".join([keyword, language, translated, zlib.decompress(text) if compressed else text])
    except (zlib.error, IndexError):
        return b""


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk of a PNG file, in order.

    Raises
    ------
    ValueError
        If `data` is not a PNG or a chunk runs past the end.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    chunks, at = [], 8
    while at + 8 <= len(data):
        length, chunk_type = struct.unpack(">I4s", data[at : at + 8])
        if at + 12 + length > len(data):
            raise ValueError(f"PNG chunk {chunk_type!r} at byte {at} runs past the end of the file")
        chunks.append((chunk_type, data[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


IMAGE_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND"})


def metadata_chunks(folder: str | Path) -> list[str]:
    """'file: chunk types' for every PNG in `folder` (recursively) that carries
    any chunk besides the image's own (IHDR, PLTE, IDAT, IEND): text, time,
    EXIF, physical size, colour profile..."""
    problems = []
    for path in sorted(Path(folder).rglob("*.png")):
        types = {t for t, _ in png_chunks(path.read_bytes())}
        extra = sorted(t.decode("latin-1") for t in types - IMAGE_CHUNKS)
        if extra:
            problems.append(f"{path.as_posix()}: {', '.join(extra)}")
    return problems
