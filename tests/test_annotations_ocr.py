"""Tests for annotation kind "ocr_text" (alnus.annotations.ocr and its step in
clean_annotations): the boxes of text an OCR reader reads are inpainted,
after the other detectors' marks; and with the real engine, dim text that
the text detector leaves is gone from the result."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
from test_ocr_audit import needs_engine, tissue

from alnus.annotations import DEFAULT_KINDS, KINDS, clean_annotations
from alnus.annotations.ocr import OCR_PAD, ocr_text_parts
from alnus.ocr_audit import AuditSettings, Word, identifying_kind
from alnus.preprocess import preprocess_cohort, text_reader


class FakeReader:
    """Reads the given words on every image; records what it was shown."""

    def __init__(self, *words: Word):
        self.words, self.seen = list(words), []

    def __call__(self, pixels):
        self.seen.append(pixels.copy())
        return self.words


def test_ocr_text_is_not_a_default_kind():
    assert "ocr_text" in KINDS and "ocr_text" not in DEFAULT_KINDS


def test_parts_are_padded_boxes_clipped_to_the_image():
    pixels = np.zeros((100, 80), np.uint8)
    parts = ocr_text_parts(pixels, FakeReader(Word("54 ANOS", 10, 20, 30, 8, 0.99), Word("X", 75, 95, 10, 10, 0.9)))
    assert len(parts) == 2
    ys, xs = np.nonzero(parts[0])
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (
        10 - OCR_PAD,
        10 + 30 + OCR_PAD - 1,
        20 - OCR_PAD,
        20 + 8 + OCR_PAD - 1,
    )
    ys, xs = np.nonzero(parts[1])
    assert (xs.max(), ys.max()) == (79, 99)  # clipped at the edges


def test_boxes_too_tall_for_a_line_of_text_are_left_alone():
    # A misread seen on BUS-BRA: "9" over the whole 320 x 434 image.
    pixels = np.zeros((434, 320), np.uint8)
    assert ocr_text_parts(pixels, FakeReader(Word("9", 0, 0, 319, 373, 0.79))) == []
    assert len(ocr_text_parts(pixels, FakeReader(Word("54 ANOS", 0, 0, 90, 29, 0.99)))) == 1
    small = np.zeros((100, 200), np.uint8)  # 15% of 100 px: 15 px
    assert len(ocr_text_parts(small, FakeReader(Word("A", 0, 0, 10, 15, 0.9), Word("B", 0, 0, 10, 16, 0.9)))) == 1


def test_ocr_text_needs_a_reader():
    with pytest.raises(ValueError, match="'ocr_text' needs an OCR reader"):
        clean_annotations(tissue(1), kinds=["text", "ocr_text"])


def test_boxes_read_are_inpainted_after_the_other_detectors():
    pixels = tissue(2)
    pixels[100:110, 60:120] = 250  # a bright bar where the fake reader "reads" text
    reader = FakeReader(Word("54 ANOS", 60, 100, 60, 10, 0.99))
    cleaned = clean_annotations(pixels, kinds=["caliper", "ocr_text"], read_text=reader)
    assert [f.kind for f in cleaned.findings] == ["ocr_text"]
    assert cleaned.mask[100:110, 60:120].all() and cleaned.mask.sum() == (10 + 2 * OCR_PAD) * (60 + 2 * OCR_PAD)
    assert cleaned.pixels[100:110, 60:120].max() < 250 and cleaned.pixels_changed > 0
    outside = ~cleaned.mask
    assert np.array_equal(cleaned.pixels[outside], pixels[outside])
    assert len(reader.seen) == 1


def test_detect_mode_reports_and_leaves_the_image():
    pixels = tissue(3)
    cleaned = clean_annotations(
        pixels, mode="detect", kinds=["ocr_text"], read_text=FakeReader(Word("GE", 5, 5, 20, 9, 0.9))
    )
    assert [f.kind for f in cleaned.findings] == ["ocr_text"]
    assert np.array_equal(cleaned.pixels, pixels) and cleaned.pixels_changed == 0


def test_nothing_read_changes_nothing():
    pixels = tissue(4)
    cleaned = clean_annotations(pixels, kinds=["ocr_text"], read_text=FakeReader())
    assert np.array_equal(cleaned.pixels, pixels) and not cleaned.findings


def test_preprocess_asks_for_the_ocr_settings():
    options = {"mode": "remove", "kinds": ["text", "ocr_text"], "inpaint_radius": 3, "dilate": 1}
    with pytest.raises(ValueError, match=r"needs the OCR settings \(config privacy.phi_audit.ocr\)"):
        text_reader(options, None)
    assert text_reader({**options, "kinds": ["text"]}, None) is None


# ---------------------------------------------------------------- the real engine
def dim_text(seed: int) -> np.ndarray:
    """Dark tissue with an age typed in mid-grey, as on two BUS-BRA GE Logiq 7 screens."""
    out = tissue(seed)
    out[215:255, 20:200] = (out[215:255, 20:200] * 0.35).astype(np.uint8)
    cv2.putText(out, "54 ANOS", (40, 240), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 150, 1, cv2.LINE_AA)
    return out


@needs_engine
def test_dim_age_is_read_then_removed():
    from alnus.ocr_engine import TextReader

    reader = TextReader("rapidocr", min_confidence=0.7)
    settings = AuditSettings()
    for seed in (5, 6):
        pixels = dim_text(seed)
        assert "age" in {identifying_kind(w.text, settings=settings) for w in reader(pixels)}
        alone = clean_annotations(pixels, kinds=["ocr_text"], read_text=reader)
        assert "ocr_text" in {f.kind for f in alone.findings}
        for cleaned in (alone, clean_annotations(pixels, kinds=[*DEFAULT_KINDS, "ocr_text"], read_text=reader)):
            assert {identifying_kind(w.text, settings=settings) for w in reader(cleaned.pixels)} <= {""}


@needs_engine
def test_preprocess_cohort_with_ocr_text(tmp_path):
    from alnus.imageio import write_png
    from alnus.ocr_engine import TextReader

    images = tmp_path / "images"
    images.mkdir()
    for k in range(3):
        write_png(images / f"s{k}.png", dim_text(10 + k) if k < 2 else tissue(12))
    manifest = pd.DataFrame(
        {"image": ["s0.png", "s1.png", "s2.png"], "patient_id": ["a", "b", "c"], "label": [0, 1, 0]}
    )
    ocr = {"engine": "rapidocr", "min_confidence": 0.7}
    result = preprocess_cohort(
        manifest,
        images,
        cohort="development",
        key=b"k" * 32,
        out_dir=tmp_path / "out",
        crop="none",
        annotations={"kinds": ["ocr_text"]},
        ocr=ocr,
        threads=2,
    )
    found = result.annotations.set_index("id")["ocr_text"]
    assert (found.iloc[:2] > 0).all() and found.iloc[2] == 0
    reader = TextReader("rapidocr", min_confidence=0.7)
    for image_id in result.public["id"]:
        pixels = cv2.imread(str(tmp_path / "out" / f"{image_id}.png"), cv2.IMREAD_GRAYSCALE)
        assert {identifying_kind(w.text) for w in reader(pixels)} <= {""}
