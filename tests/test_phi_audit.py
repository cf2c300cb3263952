"""Tests for alnus.phi_audit: identifying strings collected from the inputs and
searched for in every file under results/."""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from PIL import Image, PngImagePlugin

from alnus import phi_audit
from alnus.imageio import write_png
from alnus.phi_audit import (
    Needle,
    PhiCollector,
    PhiFound,
    PhiScanner,
    audit_tree,
    collect_phi,
    detail_lines,
    failure_message,
    metadata_chunks,
    phi_audit_job,
    png_chunks,
    read_key,
    run_audit,
)
from alnus.simulate import simulate_study

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A small simulated export: DICOM and PNG studies, PHI in headers and folder names."""
    out = tmp_path_factory.mktemp("study")
    simulate_study(out, seed=3, n_development=6, n_external=4)
    cohorts = {
        c: {"manifest": str(out / c / "manifest.csv"), "images": str(out / c / "images")}
        for c in ("development", "external")
    }
    return out, cohorts, json.loads((out / "phi.json").read_text())


def texts(needles) -> set[bytes]:
    return {n.text for n in needles}


# --- searching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "needle, boundary, data, found",
    [
        pytest.param("mrn1234567", "", b"id,MRN1234567,x", True, id="case-insensitive"),
        pytest.param("mrn1234567", "", b"xxmrn1234567yy", True, id="inside other text"),
        pytest.param("20170315", "digits", b"date 20170315\n", True, id="number alone"),
        pytest.param("20170315", "digits", b"0.2017031512", False, id="number inside a longer number"),
        pytest.param("20170315", "digits", b"x20170315y", True, id="number between letters"),
        pytest.param("silva", "word", b"SILVA^MARIA", True, id="name part"),
        pytest.param("silva", "word", b"SILVANA", False, id="name part inside a longer word"),
        pytest.param("silva", "word", b"da_silva.png", True, id="name part between punctuation"),
        pytest.param("oliveira", "", b"\x00\xffOLIVEIRA\x00", True, id="binary"),
        pytest.param("oliveira", "", b"OLIVEIR", False, id="truncated"),
        pytest.param("oliveira", "", b"", False, id="empty"),
    ],
)
def test_scanner_cases(needle, boundary, data, found):
    scanner = PhiScanner([Needle(needle.encode(), "kind", boundary)])
    assert bool(scanner.scan(data)) is found
    assert bool(list(scanner.scan_stream(io.BytesIO(data), chunk=3))) is found


@pytest.mark.parametrize("chunk", [5, 7, 64, 1 << 20])
def test_scanner_matches_a_naive_search_across_chunk_edges(monkeypatch, chunk):
    rng = np.random.default_rng(chunk)
    needles = [Needle(f"mrn{rng.integers(10**6, 10**7)}".encode(), "id") for _ in range(200)]
    needles += [Needle(f"19{rng.integers(10**5, 10**6)}".encode(), "date", "digits") for _ in range(200)]
    data = bytearray(rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    for k, n in enumerate(needles[::20]):
        at = 1000 + 2400 * k
        data[at - 1 : at + len(n.text) + 1] = b"_" + n.text.upper() + b"_"
    data = bytes(data)
    monkeypatch.setattr(phi_audit.scan, "CHUNK", chunk)
    scanner = PhiScanner(needles)
    lowered = data.lower()
    naive = sorted(
        (m.start(), n.text)
        for n in needles
        for m in re.finditer(re.escape(n.text), lowered)
        if phi_audit.scan._matches(lowered, m.start(), n)
    )
    assert len(naive) >= 20
    assert sorted((at, n.text) for at, n in scanner.scan(data)) == naive
    assert sorted((at, n.text) for at, n in scanner.scan_stream(io.BytesIO(data), chunk=chunk)) == naive


def test_short_needles_are_refused():
    with pytest.raises(ValueError, match=r"every needle must be at least 4 bytes long; 1 of kind 'x'"):
        PhiScanner([Needle(b"abc", "x")])


# --- collecting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, searched, why",
    [
        ("MRN1234567", True, "id"),
        ("007", False, "short number"),
        ("12345", False, "5-digit number"),
        ("123456", True, "6-digit number"),
        ("ANA", False, "short text"),
        ("ROSSI", True, "5 letters"),
        ("  ", False, "blank"),
    ],
)
def test_collector_skips_short_strings(value, searched, why):
    collector = PhiCollector(min_length=5, min_digits=6)
    collector.add(value, "patient id")
    assert bool(collector.needles) is searched, why
    table = collector.table()
    if value.strip():
        assert table["searched"].sum() + table["skipped_short"].sum() == 1


def test_person_names_are_split_into_words():
    collector = PhiCollector()
    collector.add_name("OLIVEIRA^MARIA HELENA", "DICOM PatientName")
    found = {n.text: n.boundary for n in collector.needles.values()}
    assert found[b"oliveira^maria helena"] == found[b"oliveira maria helena"] == ""
    assert found[b"maria helena oliveira"] == ""
    assert found[b"oliveira"] == found[b"maria"] == found[b"helena"] == "word"


def test_collect_phi_finds_every_header_and_path_string(study):
    out, cohorts, phi = study
    needles, table = collect_phi(cohorts, key=KEY.encode())
    searched = texts(needles)
    inputs = b"".join(p.read_bytes() for p in out.rglob("*.dcm")).lower()
    inputs += b"".join(Path(c["manifest"]).read_bytes() for c in cohorts.values()).lower()
    for kind, values in phi.items():
        for value in values:
            word = value.lower().encode()
            if len(word) >= 6 and word in inputs:  # in a header, a manifest or a path
                assert word in searched or any(word in s for s in searched), (kind, value)
    assert KEY.encode() in searched
    assert set(table.columns) == {"kind", "searched", "skipped_short", "skipped_generic"}
    assert table.loc[table["kind"] == "DICOM PatientName", "searched"].iloc[0] > 0
    # Generic path parts (the same file name in half the patients' folders) are not searched.
    assert b"us_0001.dcm" not in searched and b"images" not in searched
    # Registered UIDs (SOP class, transfer syntax) are generic too.
    assert b"1.2.840.10008.5.1.4.1.1.6.1" not in searched


def test_collect_phi_adds_extra_strings(study, tmp_path):
    _, cohorts, _ = study
    extra = tmp_path / "ris_names.txt"
    extra.write_text("# names from the RIS\nWHITFIELD-SMYTHE\n\nBOB\n")
    needles, table = collect_phi(cohorts, extra_file=extra)
    assert b"whitfield-smythe" in texts(needles) and b"bob" not in texts(needles)
    with pytest.raises(ValueError, match=r"privacy.phi_audit.extra_strings: .*missing.txt does not exist"):
        collect_phi(cohorts, extra_file=tmp_path / "missing.txt")


def test_read_key_never_creates_one(tmp_path, monkeypatch):
    monkeypatch.delenv("ALNUS_PSEUDONYM_KEY", raising=False)
    assert read_key(tmp_path / "pseudonym.key") is None
    assert not (tmp_path / "pseudonym.key").exists()
    (tmp_path / "pseudonym.key").write_text(KEY + "\n")
    assert read_key(tmp_path / "pseudonym.key") == KEY.encode()
    monkeypatch.setenv("ALNUS_PSEUDONYM_KEY", "from-the-environment-0123")
    assert read_key(tmp_path / "pseudonym.key") == b"from-the-environment-0123"


# --- auditing results/ ----------------------------------------------------------------


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def pdf_with_stream(text: bytes) -> bytes:
    stream = zlib.compress(b"BT /F1 12 Tf (" + text + b") Tj ET")
    head = b"%PDF-1.4\n1 0 obj << /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n"
    return head + stream + b"\nendstream\nendobj\n%%EOF\n"


def png_with_text(text: str) -> bytes:
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text, zip=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def leaks(study) -> dict[str, tuple[bytes, set[str]]]:
    """Files that each leak PHI in one way: name -> (bytes, kinds it may be found as)."""
    out, cohorts, _ = study
    manifest = pd.read_csv(cohorts["development"]["manifest"], dtype=str)
    pid, folder = manifest["patient_id"].iloc[0], manifest["image"].iloc[0].split("/")[0]
    header = pydicom.dcmread(next(out.rglob("*.dcm")), stop_before_pixels=True)
    return {
        "tables/ids.csv": (f"id,patient\nabc,{pid}\n".encode(), {"manifest patient_id"}),
        "models/weights.bin": (
            b"\x00\x01" * 100 + str(header.PatientName).encode() + b"\xff" * 50,
            {"DICOM PatientName"},
        ),
        "figures/meta.png": (png_with_text(f"exported from {folder}"), {"source folder name"}),
        "figures/roc.pdf": (pdf_with_stream(header.InstitutionName.encode()), {"DICOM InstitutionName"}),
        "models/ckpt.zip": (
            zipped("data/meta.txt", header.AccessionNumber.encode()),
            {"DICOM AccessionNumber", "manifest study_id"},
        ),
    }


@pytest.mark.parametrize(
    "leak", ["tables/ids.csv", "models/weights.bin", "figures/meta.png", "figures/roc.pdf", "models/ckpt.zip"]
)
def test_audit_finds_planted_phi_and_names_file_and_kind(study, tmp_path, leak):
    _, cohorts, _ = study
    data, kind = leaks(study)[leak]
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "metrics.csv").write_text("model,auc\ninception_v3,0.89\n")
    (results / leak).parent.mkdir(parents=True, exist_ok=True)
    (results / leak).write_bytes(data)
    needles, _ = collect_phi(cohorts)
    summary, findings = audit_tree(results, PhiScanner(needles))
    assert findings, leak
    assert {f.path for f in findings} == {(results / leak).as_posix()}
    assert {f.kind for f in findings} & kind, [f.kind for f in findings]
    assert summary.iloc[-1]["findings"] == len(findings) and summary.iloc[-1]["files"] == 2


def test_phi_in_a_file_name_is_found(study, tmp_path):
    _, cohorts, _ = study
    pid = pd.read_csv(cohorts["external"]["manifest"], dtype=str)["patient_id"].iloc[0]
    results = tmp_path / "results"
    (results / "qc").mkdir(parents=True)
    (results / "qc" / f"{pid}.txt").write_text("nothing inside")
    _, findings = audit_tree(results, PhiScanner(collect_phi(cohorts)[0]))
    assert {f.where for f in findings} == {"file name"}
    assert "manifest patient_id" in {f.kind for f in findings}


def test_clean_results_pass_and_are_summarised(study, tmp_path):
    _, cohorts, _ = study
    results = tmp_path / "results"
    write_png(
        results / "preprocessed" / "development" / "images" / "0123456789abcdef.png",
        np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8),
    )
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "metrics.csv").write_text("model,set,auc\ninception_v3,external_test,0.89\n")
    summary, strings, findings, problems = run_audit(cohorts, results, key=KEY.encode())
    assert findings == [] and problems == []
    assert list(summary.columns) == ["folder", "files", "bytes", "findings"]
    assert summary.iloc[-1].to_dict()["files"] == 2 and summary.iloc[-1]["folder"] == "total"
    assert strings["searched"].sum() > 20


def test_metadata_chunks_and_key_files_are_problems(study, tmp_path):
    _, cohorts, _ = study
    results = tmp_path / "results"
    images = results / "preprocessed" / "external" / "images"
    write_png(images / "aaaaaaaaaaaaaaaa.png", np.zeros((8, 8), np.uint8))
    (images / "bbbbbbbbbbbbbbbb.png").write_bytes(png_with_text("scanner"))
    (results / "pseudonym.key").write_text("not the key\n")
    _, _, findings, problems = run_audit(cohorts, results)
    assert findings == []
    assert len(problems) == 2
    assert "bbbbbbbbbbbbbbbb.png: zTXt (PNG metadata chunks" in problems[0]
    assert problems[1].endswith("pseudonym.key: a key file under results/")


def test_own_outputs_are_not_read(study, tmp_path):
    _, cohorts, _ = study
    results = tmp_path / "results"
    (results / "qc").mkdir(parents=True)
    pid = pd.read_csv(cohorts["development"]["manifest"], dtype=str)["patient_id"].iloc[0]
    (results / "qc" / "phi_audit.tsv").write_text(f"stale {pid}\n")
    _, findings = audit_tree(results, PhiScanner(collect_phi(cohorts)[0]), exclude=[results / "qc" / "phi_audit.tsv"])
    assert findings == []


def test_failure_message_names_files_and_kinds_but_never_the_strings(study, tmp_path):
    _, cohorts, _ = study
    data, _ = leaks(study)["tables/ids.csv"]
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "ids.csv").write_bytes(data)
    _, _, findings, problems = run_audit(cohorts, results)
    message = failure_message(findings, problems)
    pid = data.decode().split(",")[-1].strip()
    assert "results/tables/ids.csv: manifest patient_id at byte" in message
    assert pid not in message and pid.lower() not in message.lower()
    assert any(pid.lower() in line for line in detail_lines(findings))


def test_the_job_writes_both_tables_of_a_clean_tree(study, tmp_path):
    _, cohorts, _ = study
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "metrics.csv").write_text("model,set,auc\ninception_v3,external_test,0.89\n")
    summary, strings = results / "qc" / "phi_audit.tsv", results / "qc" / "phi_strings.tsv"
    summary.parent.mkdir()
    phi_audit_job(cohorts, summary_tsv=summary, strings_tsv=strings, key_file=tmp_path / "no.key")
    table = pd.read_csv(summary, sep="\t")
    assert table.iloc[-1]["folder"] == "total" and table.iloc[-1]["files"] == 1  # its own outputs are not read
    assert pd.read_csv(strings, sep="\t")["searched"].sum() > 20


def test_the_job_fails_naming_the_file_and_shows_the_string_on_stderr_only(study, tmp_path, capsys):
    _, cohorts, _ = study
    data, _ = leaks(study)["tables/ids.csv"]
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "ids.csv").write_bytes(data)
    summary = results / "qc" / "phi_audit.tsv"
    with pytest.raises(PhiFound, match="results/tables/ids.csv: manifest patient_id at byte"):
        phi_audit_job(cohorts, summary_tsv=summary, strings_tsv=results / "qc" / "s.tsv", key_file=tmp_path / "k")
    pid = data.decode().split(",")[-1].strip()
    assert pid.lower() in capsys.readouterr().err.lower()
    assert not summary.exists()


# --- PNG output stays metadata-free -----------------------------------------------------


def test_write_png_has_only_image_chunks(tmp_path):
    write_png(tmp_path / "a.png", np.random.default_rng(1).integers(0, 255, (32, 48), dtype=np.uint8))
    assert [t for t, _ in png_chunks((tmp_path / "a.png").read_bytes())] == [b"IHDR", b"IDAT", b"IEND"]
    assert metadata_chunks(tmp_path) == []
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((4, 4), np.uint8))
    assert metadata_chunks(tmp_path) == []


def test_png_chunks_refuses_truncated_files():
    data = png_with_text("x")
    with pytest.raises(ValueError, match="not a PNG file"):
        png_chunks(b"GIF89a" + data)
    length = struct.unpack(">I", data[8:12])[0]
    with pytest.raises(ValueError, match=r"PNG chunk b'IHDR' at byte 8 runs past the end"):
        png_chunks(data[: 8 + 8 + length - 1])


# --- pixel and weight payloads are not text (a short id is in them by chance) --------------


def png_stored(pixels: np.ndarray, text_chunk: bytes = b"") -> bytes:
    """A grayscale PNG whose IDAT holds the rows uncompressed (deflate level 0),
    so that the pixel bytes appear verbatim in the file."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    h, w = pixels.shape
    rows = b"".join(b"\0" + pixels[y].tobytes() for y in range(h))
    head = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    text = chunk(b"tEXt", text_chunk) if text_chunk else b""
    return b"\x89PNG\r\n\x1a\n" + head + text + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b"")


def pixels_holding(text: str, shape=(64, 64)) -> np.ndarray:
    """Random grey levels with the bytes of `text` written into them, as a
    pixel array holds a short id by chance."""
    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    data = np.frombuffer(f"_{text}_".encode(), np.uint8)
    pixels.reshape(-1)[500 : 500 + data.size] = data
    return pixels


def pdf_with_image(data: bytes) -> bytes:
    """A PDF holding one uncompressed image XObject of `data`."""
    head = (
        b"%PDF-1.4\n1 0 obj << /Type /XObject /Subtype /Image /Width 8 /Height 8 /BitsPerComponent 8 "
        b"/ColorSpace /DeviceGray /Length " + str(len(data)).encode() + b" >>\nstream\n"
    )
    return head + data + b"\nendstream\nendobj\n%%EOF\n"


def payload_files(pid: str) -> dict[str, tuple[bytes, bool]]:
    """name -> (bytes, whether `pid` must be found): the id once in a pixel or
    weight payload (not text: no finding), once where text is kept."""
    import torch
    from safetensors.torch import save as save_safetensors

    pixels = pixels_holding(pid)
    weights = torch.from_numpy(pixels.astype(np.uint8).copy())

    def npy(array) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=True)
        return buffer.getvalue()

    def npz(**arrays) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    def checkpoint(state) -> bytes:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return buffer.getvalue()

    return {
        "cache/development_112px.npy": (npy(pixels[None]), False),
        "tables/ids.csv": (f"id,patient\nabc,{pid}\n".encode(), True),
        "preprocessed/development/images/a.png": (png_stored(pixels), False),
        "figures/tagged.png": (png_stored(np.zeros((4, 4), np.uint8), f"Comment\0{pid}".encode()), True),
        "figures/broken.png": (png_stored(pixels)[:-30], True),  # does not parse: searched whole
        "models/model.safetensors": (save_safetensors({"w": weights}), False),
        "models/tagged.safetensors": (save_safetensors({"w": weights[:2]}, metadata={"source": pid}), True),
        "models/checkpoint.pt": (checkpoint({"weights": weights, "epoch": 3}), False),
        "models/tagged.pt": (checkpoint({"weights": weights[:2], "note": pid}), True),
        "qc/examples.npz": (npz(a__before=pixels, a__mask=pixels > 9), False),
        "qc/objects.npy": (npy(np.array([pid, "x"], dtype=object)), True),
        "figures/heatmap.pdf": (pdf_with_image(pixels.tobytes()), False),
        "figures/roc.pdf": (pdf_with_image(b"\0" * 64)[:-6] + f"(exported {pid}) Tj\n%%EOF\n".encode(), True),
    }


@pytest.mark.parametrize("name", list(payload_files("BRA75")))
def test_pixel_and_weight_payloads_are_not_searched_but_text_is(study, tmp_path, name):
    """A 5-character id such as BRA75 (BUS-BRA's) is found in a CSV, a PNG
    text chunk, a safetensors header, a pickled note and a PDF's text, but
    not where it lies by chance in pixels or weights."""
    _, cohorts, _ = study
    pid = "BRA75"
    data, expected = payload_files(pid)[name]
    inside = np.load(io.BytesIO(data))["a__before"].tobytes() if name.endswith(".npz") else data
    assert pid.encode() in inside  # by construction, as the byte search of every file found it
    results = tmp_path / "results"
    (results / name).parent.mkdir(parents=True)
    (results / name).write_bytes(data)
    needles, _ = collect_phi(cohorts | {"bra": short_id_cohort(tmp_path, pid)})
    assert pid.lower().encode() in texts(needles)
    _, findings = audit_tree(results, PhiScanner(needles))
    assert bool(findings) is expected, [(f.where, f.kind) for f in findings]
    if expected:
        assert {f.kind for f in findings} == {"manifest patient_id"}


def short_id_cohort(tmp_path: Path, pid: str) -> dict[str, str]:
    """A cohort whose only patient id is `pid` (BUS-BRA style: short codes)."""
    folder = tmp_path / "bra"
    folder.mkdir(exist_ok=True)
    (folder / "manifest.csv").write_text(f"image,patient_id,label\nbus_0001-l.png,{pid},1\n")
    return {"manifest": str(folder / "manifest.csv"), "images": str(folder)}
