"""Tests for alnus.ocr_audit: the identifying patterns on text, and the OCR
engine on images drawn here (text burned onto simulated tissue must be read
and fail the audit; clean tissue must pass; a missing engine is an error)."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from alnus import ocr_audit, ocr_engine, simulate
from alnus.imageio import write_png
from alnus.ocr_audit import AuditSettings, identifying_kind
from alnus.ocr_engine import OcrEngineMissing
from alnus.phi_audit import Needle, needles_scanners


def _engine_installed() -> bool:
    try:
        import rapidocr  # noqa: F401
    except ImportError:
        return False
    return True


# .ci/run installs the engine (requirements.txt): there a missing engine fails these tests.
needs_engine = pytest.mark.skipif(
    not _engine_installed() and not os.environ.get("CI"), reason="rapidocr not installed (.ci/run installs it)"
)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("66 ANOS", "age"),
        ("66ANOS", "age"),
        ("45 Y", "age"),
        ("45Y", "age"),
        ("45 YRS", "age"),
        ("AGE 52", "age"),
        ("IDADE: 52", "age"),
        ("12/03/2019", "date"),
        ("12.03.19", "date"),
        ("2019-03-12", "date"),
        ("20190312", "date"),
        ("12 MAR 2019", "date"),
        ("MAR 2019", "date"),
        ("ID 4829173", "id"),
        ("123456", "id"),
        ("MARIA SILVA", "name"),
        ("MARIASILVA", "name"),
        ("JOSE DA COSTA", "name"),
        ("NAME: Smith", "name"),
        ("PACIENTE JOAO", "name"),
    ],
)
def test_identifying_text(text, kind):
    assert identifying_kind(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "MAMA ESQUERDA",
        "MAMAESQUERDA",
        "QSE MAMA DIREITA",
        "QUERDA QII",
        "EITA RETROAREOLAR",
        "UQQINF MAMA DIR",
        "RT BREAST",
        "RT BR 3H 2CMFN RADIAL",
        "GE",
        "X13.2mm",
        "10.0MHz",
        "Gn 52",
        "DR 80",
        "FR 22",
        "D 4.0cm",
        "1 D 2.35cm",
        "MI 1.1",
        "TIs 0.1",
        "L12-5",
        "0.123456",
        "9H MAMA DIR 6.4MM 5.4MM",
        "72",
        "SONORA",
    ],
)
def test_scanner_text_is_not_identifying(text):
    assert identifying_kind(text) == ""


def test_allowed_words_and_thresholds():
    assert identifying_kind("LOGIQE ACUVIX") == "name"
    assert (
        identifying_kind("LOGIQE ACUVIX", settings=AuditSettings(allowed_words=frozenset({"logiqe", "acuvix"}))) == ""
    )
    assert identifying_kind("12345") == ""
    assert identifying_kind("12345", settings=AuditSettings(min_id_digits=5)) == "id"


def test_known_strings_with_and_without_spaces():
    scanners = needles_scanners(
        [
            Needle(b"bra75", "manifest patient_id"),
            Needle(b"ana lima", "DICOM PatientName"),
            Needle(b"lima", "DICOM PatientName (part)", "word"),
        ]
    )
    assert identifying_kind("ID BRA75", scanners=scanners) == "known"
    assert identifying_kind("ANALIMA", scanners=scanners) == "known"
    assert identifying_kind("MAMA ESQUERDA", scanners=scanners) == ""


def test_missing_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr", None)  # import fails as if not installed
    with pytest.raises(OcrEngineMissing, match=r"needs rapidocr.*requirements\.txt"):
        ocr_engine.build_engine("rapidocr")


def test_unknown_engine():
    with pytest.raises(ValueError, match=r"`privacy: phi_audit: ocr: engine` must be one of rapidocr, got 'tesseract'"):
        ocr_engine.build_engine("tesseract")


def test_residual_problems_name_image_and_kind_only(tmp_path):
    table = pd.DataFrame(
        {
            "image": ["a1", "a1", "b2"],
            "text": ["", "MAMA", ""],
            "identifying": ["age", "", ""],
            "confidence": [0.9, 0.95, None],
            "x": [1, 2, None],
            "y": [1, 2, None],
            "w": [5, 5, None],
            "h": [5, 5, None],
        }
    )
    table.to_csv(tmp_path / "development_residual_text.csv", index=False)
    problems = ocr_audit.residual_problems({"development": tmp_path / "development_residual_text.csv"})
    assert len(problems) == 1
    assert "development/images/a1.png" in problems[0] and "kind age" in problems[0]


# ---------------------------------------------------------------- the engine on drawn images
def tissue(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return simulate.render_bmode(rng, simulate.sample_lesion(rng, seed % 2), (360, 300)).pixels


def burn(pixels: np.ndarray, text: str, at: tuple[int, int]) -> np.ndarray:
    out = pixels.copy()
    cv2.putText(out, text, at, cv2.FONT_HERSHEY_SIMPLEX, 0.55, 235, 1, cv2.LINE_AA)
    return out


@pytest.fixture(scope="module")
def engine():
    return ocr_engine.build_engine("rapidocr")


@needs_engine
def test_burned_in_text_is_read_and_fails_the_audit(engine, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    drawn = {"p1": ("MARIA SILVA", "name"), "p2": ("12/03/2019", "date"), "p3": ("66 ANOS", "age")}
    for k, (image, (text, _)) in enumerate(drawn.items()):
        write_png(folder / f"{image}.png", burn(tissue(k), text, (40, 250)))
    write_png(folder / "p4.png", tissue(7))
    table = ocr_audit.audit_images(folder, engine=engine)
    kinds = table.groupby("image")["identifying"].apply(lambda k: set(k) - {""})
    for image, (text, kind) in drawn.items():
        assert kinds[image] == {kind}, (image, text, table[table["image"] == image])
    assert table.loc[table["identifying"] != "", "text"].eq("").all()  # identifying text is never written
    assert kinds["p4"] == set()
    table.to_csv(tmp_path / "t.csv", index=False)
    problems = ocr_audit.residual_problems({"development": tmp_path / "t.csv"})
    assert [p.split(":")[0] for p in problems] == [
        f"results/preprocessed/development/images/p{k}.png" for k in (1, 2, 3)
    ]


@needs_engine
def test_scanner_words_are_read_and_pass(engine):
    rows = ocr_audit.read_image(engine, "x", burn(tissue(3), "MAMA ESQUERDA", (60, 240)), settings=AuditSettings())
    assert "MAMA" in "".join(rows["text"]).upper()
    assert (rows["identifying"] == "").all()


@needs_engine
def test_clean_tissue_reads_nothing(engine, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for seed in range(4):
        write_png(folder / f"c{seed}.png", tissue(100 + seed))
    table = ocr_audit.audit_images(folder, engine=engine)
    assert sorted(table["image"]) == ["c0", "c1", "c2", "c3"]  # one row per image, nothing read
    assert (table["text"] == "").all() and table["confidence"].isna().all()
    table.to_csv(tmp_path / "t.csv", index=False)
    assert ocr_audit.residual_problems({"development": tmp_path / "t.csv"}) == []


@needs_engine
def test_figure_hides_identifying_text(engine, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    write_png(folder / "p1.png", burn(tissue(1), "66 ANOS", (40, 250)))
    write_png(folder / "p2.png", tissue(2))
    table = ocr_audit.audit_images(folder, engine=engine)
    assert ocr_audit.worst_images(table) == ["p1"]
    fig = ocr_audit.residual_figure(table, folder)
    assert any(p.get_fill() for p in fig.axes[0].patches)  # the age is covered by a filled box
    fig.savefig(tmp_path / "f.png")


def test_no_images_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="found no PNG image"):
        ocr_audit.audit_images(tmp_path, engine=None)
