"""PHI audit: collect every identifying string of the inputs, then search every
file under results/ for them, byte by byte.

What is collected (`collect_phi`), each with its *kind* (what it is, never what
it says, is what reaches results/):

* from every DICOM input, headers only: each attribute that the DICOM basic
  application confidentiality profile (PS3.15 E.1-1) removes or replaces and
  that carries text: every person name (VR PN, anywhere in the data set,
  sequences included, also split into its components), patient, study and
  accession ids, institution, department, station, address, telephone,
  comments, every date (VR DA; also written as YYYY-MM-DD) and every instance
  UID (registered class and transfer-syntax UIDs are generic and skipped);
* from each manifest: ``patient_id`` and ``study_id``;
* from each manifest ``image`` path: the whole path, each folder name, the
  file name with and without extension, and the letter and digit runs of
  those names (exports name folders after the patient); a whole folder or
  file name found under two or more patients is the export's own naming
  ("US_0001.dcm") and is skipped;
* the pseudonym key (from the environment variable or the key file), and the
  lines of an optional private file of further strings (e.g. a RIS export).

Skipped, because they match by chance and would fail runs for nothing
(counted in the strings table): strings shorter than `min_length` (5)
characters, pure numbers of fewer than `min_digits` (6) digits, times (VR
TM), free-text descriptions (StudyDescription and the like, which are
protocol names), words of path names that occur in the paths of at least
half the patients (and at least three), and words in GENERIC_WORDS
("images"). Numbers must stand alone (no digit before or after them) and
name parts and path words must be whole words (no letter or digit before or
after), so that "20170315" is not found inside "0.201703151" and "ROSE" not
in "ROSETTE". Matching is case-insensitive (ASCII letters).

How files are searched: every file under results/, and its path, in the
parts that can carry text (`text_parts`): text files whole; of PNG images
every chunk but the image data (compressed text chunks inflated); of .npy
arrays the header; of safetensors files the JSON header; of zip containers
(.npz, torch checkpoints) the member names and members by the same rules;
of PDFs everything but image streams (Flate streams inflated). Files of any
other kind, and files whose structure does not parse, are searched whole.
Pixel and weight payloads are not text: ultrasound grey levels are the byte
values of letters and digits, so a 5-character patient id ("BRA75") turns up
in a 100 MB pixel cache by chance. `PhiScanner` is an Aho-Corasick automaton
(pyahocorasick) over the lower-cased bytes.

Text burned into pixels is read by OCR (`alnus.ocr_audit`, rule
residual_text) and its identifying lines are problems here (`run_audit`).
Not covered: text that a PDF writes as glyph indices, non-ASCII case folding,
the log files under logs/ (not results; error messages there may name a
source file), and the report, which is built after the audit.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import ahocorasick
import numpy as np
import pandas as pd

KEY_ENV_VAR = "ALNUS_PSEUDONYM_KEY"
CHUNK = 8 << 20  # bytes read at a time from a file searched whole
SHORTEST = 4  # bytes; shorter strings match by chance everywhere
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_MEMBER = 1 << 30  # zip members and PDF streams larger than this are searched raw, not inflated
GENERIC_WORDS = frozenset(
    {
        "image",
        "images",
        "export",
        "exports",
        "study",
        "studies",
        "series",
        "dicom",
        "breast",
        "ultrasound",
        "patient",
        "patients",
        "left",
        "right",
        "data",
        "scan",
        "scans",
        "mama",
        "direita",
        "esquerda",
        "folder",
        "files",
        "original",
        "anonymized",
        "anonymised",
        "jpeg",
        "bitmap",
        "screen",
        "capture",
    }
)
# Person names, ids and places the confidentiality profile removes (besides
# every PN anywhere, every DA and every instance UID, taken by VR).
DICOM_PHI_KEYWORDS = frozenset(
    {
        "PatientID",
        "OtherPatientIDs",
        "IssuerOfPatientID",
        "AccessionNumber",
        "StudyID",
        "MedicalRecordLocator",
        "PatientAddress",
        "PatientTelephoneNumbers",
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "StationName",
        "DeviceSerialNumber",
        "RequestedProcedureID",
        "PerformedProcedureStepID",
        "ScheduledProcedureStepID",
        "AdmissionID",
        "IssuerOfAdmissionID",
        "PatientComments",
        "AdditionalPatientHistory",
        "ImageComments",
        "Occupation",
        "RegionOfResidence",
        "ReferringPhysicianAddress",
        "ReferringPhysicianTelephoneNumbers",
        "InsurancePlanIdentification",
        "CurrentPatientLocation",
        "PatientInstitutionResidence",
        "RequestingService",
        "ReasonForStudy",
        "PerformedLocation",
        "ScheduledStudyLocation",
        "ServiceEpisodeID",
        "FillerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberImagingServiceRequest",
        "ContentCreatorName",
        "VerifyingObserverName",
    }
)


GENERIC_UID_SUFFIXES = ("ClassUID", "TransferSyntaxUID", "ImplementationClassUID", "CodingSchemeUID")
TEXT_VRS = frozenset({"PN", "DA", "UI", "LO", "SH", "ST", "LT", "UT", "UC", "CS", "AE"})


class PhiFound(RuntimeError):
    """PHI strings were found under results/; the message names files and kinds only."""


@dataclass(frozen=True)
class Needle:
    """One string to search for: ``text`` lower-cased ASCII bytes, ``kind``
    says what it is (written to results/ instead of the value), ``boundary``
    is "" (anywhere), "digits" (no digit before or after) or "word" (no
    letter or digit before or after)."""

    text: bytes
    kind: str
    boundary: str = ""


@dataclass(frozen=True)
class Finding:
    path: str
    kind: str
    offset: int
    text: bytes
    where: str = ""  # "", "file name", "PNG zTXt chunk", "PDF stream", "zip member NAME"


# ---------------------------------------------------------------- collecting
class PhiCollector:
    """Turn identifying values into needles, counting what is skipped and why."""

    def __init__(self, *, min_length: int = 5, min_digits: int = 6):
        if min_length < SHORTEST or min_digits < SHORTEST:
            raise ValueError(
                f"`min_length` and `min_digits` must be at least {SHORTEST}, got {min_length} and {min_digits}"
            )
        self.min_length, self.min_digits = min_length, min_digits
        self.needles: dict[tuple[bytes, str], Needle] = {}
        self.stats: dict[str, Counter] = defaultdict(Counter)

    def add(self, value, kind: str, *, boundary: str = "") -> None:
        text = str(value).strip()
        if not text:
            return
        data = text.encode("utf-8").lower()  # ASCII letters folded, as scanned
        if data.isdigit():
            if len(data) < self.min_digits:
                self.stats[kind]["skipped_short"] += 1
                return
            boundary = "digits"
        elif len(data) < self.min_length:
            self.stats[kind]["skipped_short"] += 1
            return
        key = (data, boundary)
        if key not in self.needles:
            self.needles[key] = Needle(data, kind, boundary)
            self.stats[kind]["searched"] += 1

    def skip(self, kind: str, reason: str = "skipped_generic") -> None:
        self.stats[kind][reason] += 1

    def add_name(self, value, kind: str) -> None:
        """A DICOM person name: whole, in reading orders, and each component as a word."""
        parts = [p for p in re.split(r"[\^=,]+", str(value)) if p.strip()]
        self.add(value, kind)
        if len(parts) >= 2:
            self.add(" ".join(parts), kind)
            self.add(" ".join(reversed(parts[:2])), kind)
            self.add(", ".join(parts[:2]), kind)
        for word in {w for p in parts for w in re.split(r"[\s.]+", p)}:
            self.add(word, kind + " (part)", boundary="word")

    def table(self) -> pd.DataFrame:
        """Counts per kind: searched, skipped_short, skipped_generic (no values)."""
        rows = [
            {
                "kind": kind,
                "searched": c["searched"],
                "skipped_short": c["skipped_short"],
                "skipped_generic": c["skipped_generic"],
            }
            for kind, c in sorted(self.stats.items())
        ]
        return pd.DataFrame(rows, columns=["kind", "searched", "skipped_short", "skipped_generic"])


def collect_phi(
    cohorts: dict[str, dict[str, str]],
    *,
    key: bytes | None = None,
    extra_file: str | Path | None = None,
    min_length: int = 5,
    min_digits: int = 6,
) -> tuple[list[Needle], pd.DataFrame]:
    """Every identifying string of the study's inputs.

    Parameters
    ----------
    cohorts : cohort -> {"manifest": path, "images": folder} (config `cohorts`).
    key : the pseudonym key, searched for as well; None if there is none yet.
    extra_file : optional text file, one further identifying string per line
        (lines starting with # are comments).
    min_length, min_digits : shorter strings, and pure numbers with fewer
        digits, are not searched (they match by chance).

    Returns
    -------
    (needles, table): the strings to search for, and per kind the number of
    strings searched and skipped (never the strings themselves).

    Raises
    ------
    ValueError
        If a manifest cannot be read or `extra_file` does not exist.
    """
    from alnus.imageio import is_dicom
    from alnus.manifest import InputError, read_csv

    collector = PhiCollector(min_length=min_length, min_digits=min_digits)
    paths: list[tuple[str, str]] = []  # (patient, image path)
    for cohort, where in cohorts.items():
        try:
            manifest = read_csv(where["manifest"], what=f"The {cohort} manifest")
        except InputError as error:
            raise ValueError(str(error)) from None
        for column, kind in (("patient_id", "manifest patient_id"), ("study_id", "manifest study_id")):
            if column in manifest.columns:
                for value in manifest[column]:
                    collector.add(value, kind)
        images = Path(where["images"])
        for patient, image in zip(manifest.get("patient_id", [""] * len(manifest)), manifest["image"]):
            paths.append((patient, image))
            source = images / image
            if source.is_file() and is_dicom(source):
                _collect_dicom(collector, source)
    _collect_paths(collector, paths)
    if key:
        collector.add(key.decode("utf-8", "replace"), "pseudonym key")
    if extra_file:
        extra = Path(extra_file)
        if not extra.is_file():
            raise ValueError(f"privacy.phi_audit.extra_strings: {extra} does not exist")
        for line in extra.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                collector.add(line, f"listed in {extra.name}")
    return list(collector.needles.values()), collector.table()


def _collect_dicom(collector: PhiCollector, path: Path) -> None:
    import pydicom
    from pydicom.uid import UID

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # an unreadable header has no PHI to collect; validate_inputs reports it
        return
    elements = list(ds.iterall())
    if hasattr(ds, "file_meta"):
        elements += list(ds.file_meta.iterall())
    for element in elements:
        if element.VR not in TEXT_VRS or element.value is None or element.value == "":
            continue
        values = element.value if element.VM > 1 else [element.value]
        kind = f"DICOM {element.keyword or element.tag}"
        for value in values:
            if element.VR == "PN":
                collector.add_name(value, kind)
            elif element.VR == "DA":
                text = str(value).strip()
                collector.add(text, kind)
                if re.fullmatch(r"\d{8}", text):
                    collector.add(f"{text[:4]}-{text[4:6]}-{text[6:]}", kind)
            elif element.VR == "UI":
                # Instance UIDs identify; registered UIDs (SOP classes, transfer
                # syntaxes) and the writing software's own UID are generic.
                generic = UID(str(value)).name != str(value) or element.keyword.endswith(GENERIC_UID_SUFFIXES)
                if not generic:
                    collector.add(value, kind)
            elif element.keyword in DICOM_PHI_KEYWORDS:
                collector.add(value, kind)


def _collect_paths(collector: PhiCollector, paths: list[tuple[str, str]]) -> None:
    """Source paths, their folder and file names, and the words in them; parts
    common to half the patients (and at least three) are generic."""
    candidates: list[tuple[str, str, str, str]] = []  # (patient, value, kind, boundary)
    for patient, image in paths:
        parts = PurePosixPath(image.replace("\\", "/")).parts
        candidates.append((patient, image, "source path", ""))
        names = [(p, "source folder name") for p in parts[:-1]] + [(parts[-1], "source file name")] if parts else []
        for name, kind in names:
            candidates.append((patient, name, kind, ""))
            stem = name.rsplit(".", 1)[0] if kind == "source file name" else name
            if stem != name:
                candidates.append((patient, stem, kind, ""))
            for word in re.findall(r"[A-Za-z]+|\d+", stem):
                if word != stem:
                    candidates.append((patient, word, kind + " (part)", "word"))
    patients_of: dict[str, set] = defaultdict(set)
    for patient, value, _, _ in candidates:
        patients_of[value.lower()].add(patient)
    n_patients = len({p for p, _ in paths})
    common = max(3, 0.5 * n_patients)
    seen = set()
    for _, value, kind, boundary in candidates:
        if (value, kind) in seen:
            continue
        seen.add((value, kind))
        sharing = len(patients_of[value.lower()])
        # A whole folder or file name under two patients is an export's own
        # naming ("US_0001.dcm"); a word in names must be common to be generic
        # (two patients may share a surname).
        generic = sharing >= common if kind.endswith("(part)") else sharing >= 2
        if value.lower() in GENERIC_WORDS or generic:
            collector.skip(kind)
        else:
            collector.add(value, kind, boundary=boundary)


def read_key(key_file: str | Path, *, env_var: str = KEY_ENV_VAR) -> bytes | None:
    """The pseudonym key as alnus.pseudonym reads it, or None; never creates one."""
    from_env = os.environ.get(env_var)
    if from_env:
        return from_env.strip().encode()
    path = Path(key_file)
    return path.read_text().strip().encode() if path.is_file() else None


# ---------------------------------------------------------------- searching


class PhiScanner:
    """Search bytes for many strings at once, ASCII case-insensitively.

    pyahocorasick's automaton over the bytes decoded as Latin-1 (one
    character per byte, so a match's index is its byte offset); the
    boundary rules of each `Needle` are checked on the bytes around a match.
    """

    def __init__(self, needles: Iterable[Needle]):
        self.needles = list(needles)
        short = [n.kind for n in self.needles if len(n.text) < SHORTEST]
        if short:
            raise ValueError(
                f"every needle must be at least {SHORTEST} bytes long; {len(short)} of kind "
                f"{short[0]!r} and others are shorter"
            )
        self.longest = max((len(n.text) for n in self.needles), default=SHORTEST)
        by_text: dict[bytes, list[Needle]] = defaultdict(list)
        for n in self.needles:
            by_text[n.text].append(n)
        self.automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        for text, group in by_text.items():
            self.automaton.add_word(text.decode("latin-1"), tuple(group))
        if by_text:
            self.automaton.make_automaton()

    def scan(self, data: bytes | memoryview) -> list[tuple[int, Needle]]:
        """(offset, needle) of every match in `data`, by offset."""
        return self._scan_piece(bytes(data), 0, len(data))

    def scan_stream(self, handle, *, chunk: int | None = None) -> Iterator[tuple[int, Needle]]:
        """Like `scan`, reading a binary file object chunk by chunk (bounded memory)."""
        chunk = chunk or CHUNK
        keep = self.longest + 1  # a match and the byte after it
        buffer, origin, first = b"", 0, 0  # origin: file offset of buffer[0]; first: next start to decide
        while True:
            block = handle.read(chunk)
            buffer += block
            end = len(buffer) if not block else len(buffer) - keep  # starts that can be decided now
            if end > first:
                for at, needle in self._scan_piece(buffer, first, end - first):
                    yield origin + at, needle
                buffer, origin, first = buffer[end - 1 :], origin + end - 1, 1  # keep one byte before
            if not block:
                return

    def _scan_piece(self, piece: bytes, begin: int, count: int) -> list[tuple[int, Needle]]:
        """Matches starting at piece[begin:begin + count]; bytes around are context."""
        if count <= 0 or not self.needles:
            return []
        text = piece.lower()  # bytes.lower() folds ASCII letters only, as the collector does
        found = []
        for last, group in self.automaton.iter(text.decode("latin-1")):
            at = last + 1 - len(group[0].text)
            if begin <= at < begin + count:
                found += [(at, n) for n in group if _matches(text, at, n)]
        found.sort(key=lambda item: item[0])
        return found


def _matches(text: bytes, at: int, needle: Needle) -> bool:
    end = at + len(needle.text)
    if text[at:end] != needle.text:
        return False
    if not needle.boundary:
        return True
    before = text[at - 1 : at] if at else b""
    after = text[end : end + 1]
    if needle.boundary == "digits":
        return not (before.isdigit() or after.isdigit())
    return not (before.isalnum() or after.isalnum())


# ---------------------------------------------------------------- auditing
def audit_tree(
    root: str | Path, scanner: PhiScanner, *, exclude: Iterable[str | Path] = ()
) -> tuple[pd.DataFrame, list[Finding]]:
    """Search every file under `root` (contents and path) with `scanner`.

    Parameters
    ----------
    root : folder to audit (results/).
    scanner : PhiScanner built from `collect_phi`'s needles.
    exclude : files not to read (the audit's own outputs).

    Returns
    -------
    (summary, findings): summary has one row per folder directly holding
    files (folder, files, bytes, findings) and a last row "total"; findings
    name the file and the kind of each match.
    """
    root = Path(root)
    skip = {Path(p).resolve() for p in exclude}
    per_folder: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    findings: list[Finding] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.resolve() in skip:
            continue
        shown = path.as_posix()
        found = [
            Finding(shown, n.kind, at, n.text, "file name")
            for at, n in scanner.scan(path.relative_to(root).as_posix().encode())
        ]
        found += scan_file(path, scanner)
        folder = path.parent.as_posix()
        per_folder[folder][0] += 1
        per_folder[folder][1] += path.stat().st_size
        per_folder[folder][2] += len(found)
        findings += found
    rows = [{"folder": k, "files": v[0], "bytes": v[1], "findings": v[2]} for k, v in sorted(per_folder.items())]
    total = {
        "folder": "total",
        "files": sum(r["files"] for r in rows),
        "bytes": sum(r["bytes"] for r in rows),
        "findings": len(findings),
    }
    return pd.DataFrame(rows + [total], columns=["folder", "files", "bytes", "findings"]), findings


def scan_file(path: str | Path, scanner: PhiScanner) -> list[Finding]:
    """Matches in the parts of one file that can carry text (`text_parts`).

    A file of a known binary format (PNG, .npy, safetensors, zip/.npz/torch
    checkpoint, PDF) is searched in its text-bearing parts only; a file of
    any other kind, or one whose structure does not parse, is searched
    whole, byte by byte.
    """
    path = Path(path)
    shown = path.as_posix()
    parts = text_parts(path)
    if parts is None:
        with open(path, "rb") as handle:
            return [Finding(shown, n.kind, at, n.text) for at, n in scanner.scan_stream(handle)]
    return [Finding(shown, n.kind, at, n.text, where) for where, data in parts for at, n in scanner.scan(data)]


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


def run_audit(
    cohorts: dict[str, dict[str, str]],
    results: str | Path = "results",
    *,
    key: bytes | None = None,
    extra_file: str | Path | None = None,
    min_length: int = 5,
    min_digits: int = 6,
    exclude: Iterable[str | Path] = (),
    residual_text: dict[str, str | Path] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Finding], list[str]]:
    """The whole audit of `results`.

    `residual_text` (cohort -> results/qc/{cohort}_residual_text.csv, rule
    residual_text's OCR of the preprocessed images) adds the pixels' half:
    each image with identifying text read is a problem
    (`alnus.ocr_audit.residual_problems`).

    Returns
    -------
    (summary, strings, findings, problems): per-folder counts (`audit_tree`),
    per-kind counts of the strings searched (`collect_phi`), the matches, and
    other problems: preprocessed PNGs with metadata chunks, key files
    (``*.key``) under `results`, and images with identifying text read by OCR.
    """
    needles, strings = collect_phi(
        cohorts, key=key, extra_file=extra_file, min_length=min_length, min_digits=min_digits
    )
    summary, findings = audit_tree(results, PhiScanner(needles), exclude=exclude)
    results = Path(results)
    problems = metadata_chunks(results / "preprocessed") if (results / "preprocessed").is_dir() else []
    problems = [f"{p} (PNG metadata chunks; preprocessed images must carry pixels only)" for p in problems]
    problems += [f"{p.as_posix()}: a key file under results/" for p in sorted(results.rglob("*.key"))]
    if residual_text:
        from alnus.ocr_audit import residual_problems

        problems += residual_problems(residual_text)
    return summary, strings, findings, problems


def failure_message(findings: list[Finding], problems: Iterable[str] = (), *, limit: int = 50) -> str:
    """The error for results/ and logs: files and kinds, never the strings."""
    problems = list(problems)
    lines = [
        f"PHI audit failed: {len(findings)} identifying string(s) of the inputs found under results/"
        + (f", and {len(problems)} other problem(s)" if problems else "")
        + ":"
    ]
    for f in findings[:limit]:
        where = f" ({f.where})" if f.where else ""
        lines.append(f"  - {f.path}{where}: {f.kind} at byte {f.offset}")
    if len(findings) > limit:
        lines.append(f"  ... and {len(findings) - limit} more")
    lines += [f"  - {p}" for p in problems[:limit]]
    if findings:
        lines.append(
            "Find what wrote it (a column copied from the manifest, a DICOM value, a source file name), "
            "fix it, delete the file and rerun. The strings themselves are printed above, on the "
            "terminal only."
        )
    return "\n".join(lines)


def detail_lines(findings: list[Finding], *, limit: int = 50) -> list[str]:
    """The same list with the matched strings, for the terminal only."""
    return [
        f"{f.path}{' (' + f.where + ')' if f.where else ''}: {f.kind} = {f.text.decode('utf-8', 'replace')!r}"
        for f in findings[:limit]
    ]
