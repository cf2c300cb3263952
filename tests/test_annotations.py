"""Tests for alnus.annotations: burned-in text, calipers and measurement lines
found and inpainted, tissue left alone."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from alnus import simulate as sim
from alnus.annotations import (
    KINDS,
    annotation_figure,
    clean_annotations,
    load_examples,
    save_examples,
)

FONT = cv2.FONT_HERSHEY_SIMPLEX


def bmode(seed: int, *, site: str = "hospital_A", sector: bool = False) -> sim.BMode:
    """A clean simulated B-mode image (speckle, lesion, calcifications) with its lesion mask."""
    rng = np.random.default_rng(seed)
    lesion = sim.sample_lesion(rng, seed % 2)
    return sim.render_bmode(rng, lesion, (360, 300), site=sim.SITES[site], sector=sector)


def plus(image: np.ndarray, x: int, y: int, value: int, *, arm: int = 4, shape: str = "plus") -> None:
    """Draw a 1-px caliper mark as scanners do (no anti-aliasing)."""
    if shape == "plus":
        cv2.line(image, (x - arm, y), (x + arm, y), value, 1)
        cv2.line(image, (x, y - arm), (x, y + arm), value, 1)
    else:
        cv2.line(image, (x - arm, y - arm), (x + arm, y + arm), value, 1)
        cv2.line(image, (x - arm, y + arm), (x + arm, y - arm), value, 1)


def outlined_plus(image: np.ndarray, x: int, y: int, value: int, *, shadow: int = 25) -> None:
    """Draw a caliper as Toshiba's look once exported: a light 7-px bar and a
    dimmer 2-px vertical arm (its 1 px mixed with the outline beside it),
    outlined in black 1 px around."""
    plus = np.zeros(image.shape, np.uint8)
    cv2.line(plus, (x - 3, y), (x + 3, y), 1, 1)
    cv2.line(plus, (x, y - 2), (x, y + 2), 1, 1)
    outline = cv2.dilate(plus, np.ones((3, 3), np.uint8)).astype(bool) & ~plus.astype(bool)
    image[outline], image[plus.astype(bool)] = shadow, (value + shadow) // 2
    image[y, x - 3:x + 4] = value


def exam(rng) -> sim.Exam:
    return sim.Exam(patient_id="MRN1234567", family="SILVA", given="MARIA", birth_date=dt.date(1960, 1, 1),
                    institution="HOSPITAL X", accession="ACC2017123456", exam_date=dt.date(2017, 1, 1),
                    exam_time="10:00:00", physician="DR^A^B", operator="C^D",
                    laterality=str(rng.choice(["L", "R"])), clock=int(rng.integers(1, 13)), depth_cm=4.0)  # fmt: skip


def simulated_crop(seed: int, site: str):
    """A cropped B-mode region of a simulated screen with calipers (and often a
    typed note), the same image without them, and the true annotation mask."""
    rng = np.random.default_rng(seed)
    site = sim.SITES[site]
    lesion = sim.sample_lesion(rng, 1)
    size = (int(rng.integers(*site.bmode_width)), int(rng.integers(*site.bmode_height)))
    b = sim.render_bmode(rng, lesion, size, site=site)
    screen, (x0, y0, x1, y1) = sim.draw_screen(rng, b, exam(rng), site=site, calipers=True)
    annotated = cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY)[y0:y1 + 1, x0:x1 + 1]
    return annotated, b.pixels, annotated != b.pixels


# --- tissue is left alone ------------------------------------------------------------


@pytest.mark.parametrize(
    "seed, site, sector",
    [(1, "hospital_A", False), (2, "hospital_A", True), (3, "hospital_B", False), (4, "hospital_B", True),
     (5, "hospital_A", False), (6, "hospital_B", False)],
)  # fmt: skip
def test_clean_simulated_bmode_has_no_findings(seed, site, sector):
    image = bmode(seed, site=site, sector=sector).pixels
    cleaned = clean_annotations(image)
    assert cleaned.findings == ()
    assert cleaned.pixels_changed == 0
    np.testing.assert_array_equal(cleaned.pixels, image)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_uniform_noise_has_no_findings(seed):
    image = np.random.default_rng(seed).integers(0, 256, (200, 240), dtype=np.uint8)
    assert clean_annotations(image).findings == ()


def test_bright_round_blob_is_not_a_caliper():
    """A calcification: bright, small and round, brighter along its axes than
    2 px to their sides, like a "+", but not darker between them."""
    image = bmode(7).pixels.copy()
    cv2.circle(image, (180, 150), 3, 250, -1)
    image = cv2.GaussianBlur(image, (0, 0), 0.8)
    assert not [f for f in clean_annotations(image).findings if f.kind == "caliper"]


# --- marks are found and removed ----------------------------------------------------


@pytest.mark.parametrize(
    "shape, value, arm",
    [("plus", 235, 4), ("plus", 200, 6), ("x", 235, 4), ("x", 210, 5)],
)
def test_caliper_is_found_and_removed(shape, value, arm):
    image = bmode(8).pixels.copy()
    x, y = 120, 90
    plus(image, x, y, value, arm=arm, shape=shape)
    cleaned = clean_annotations(image)
    calipers = [f for f in cleaned.findings if f.kind == "caliper"]
    assert len(calipers) == 1
    f = calipers[0]
    assert f.x <= x <= f.x + f.w and f.y <= y <= f.y + f.h
    assert cleaned.mask[y, x] and cleaned.pixels[y, x] != value
    # Only the mark's neighbourhood changes.
    changed = np.argwhere(cleaned.pixels != image)
    assert np.abs(changed - [y, x]).max() <= arm + 3


@pytest.mark.parametrize("seed, x, y, value", [(8, 120, 90, 150), (10, 150, 150, 140), (11, 80, 200, 110),
                                                 (12, 60, 60, 130)])  # fmt: skip
def test_outlined_caliper_is_found_and_removed(seed, x, y, value):
    """Toshiba's calipers: as bright as the tissue around them (or darker),
    seen only against their own black outline."""
    image = bmode(seed).pixels.copy()
    outlined_plus(image, x, y, value)
    cleaned = clean_annotations(image)
    calipers = [f for f in cleaned.findings if f.kind == "caliper"]
    assert len(calipers) == 1 and cleaned.counts() == {"text": 0, "caliper": 1, "line": 0}
    f = calipers[0]
    assert f.x <= x - 3 and x + 3 < f.x + f.w and f.y <= y - 1 and y + 1 < f.y + f.h
    drawn = image != bmode(seed).pixels
    assert cleaned.mask[drawn].all()  # the outline too: it is what shows
    changed = np.argwhere(cleaned.pixels != image)
    assert np.abs(changed - [y, x]).max() <= 6


# A dot of Toshiba's depth ruler as exported (BUS-BRA bus_1014-l, 7 x 9 px around it).
RULER_DOT = np.array([[36, 32, 31, 28, 26, 23, 20, 32, 28], [25, 26, 21, 21, 28, 32, 18, 35, 39],
                      [25, 18, 25, 83, 155, 81, 33, 37, 53], [39, 24, 75, 169, 197, 168, 73, 44, 55],
                      [33, 30, 28, 58, 138, 64, 36, 44, 49], [40, 44, 26, 38, 31, 44, 47, 57, 49],
                      [40, 47, 60, 57, 57, 59, 51, 47, 43]], np.uint8)  # fmt: skip


@pytest.mark.parametrize("seed, x, y", [(8, 120, 90), (10, 150, 150)])
def test_depth_ruler_dot_is_not_an_outlined_caliper(seed, x, y):
    """The depth ruler's dots are outlined too, but brightest in their middle,
    not one grey level along a bar (without that test they would be found)."""
    image = bmode(seed).pixels.copy()
    image[y - 3:y + 4, x - 4:x + 5] = RULER_DOT
    assert not [f for f in clean_annotations(image).findings if f.kind == "caliper"]


def test_dotted_line_between_calipers_is_found():
    image = bmode(9).pixels.copy()
    a, b = (80, 150), (260, 150)
    plus(image, *a, 230)
    plus(image, *b, 230)
    for x in range(a[0] + 10, b[0] - 6, 5):
        image[150, x] = 230
    cleaned = clean_annotations(image)
    assert cleaned.counts() == {"text": 0, "caliper": 2, "line": 1}
    assert cleaned.mask[150, a[0] + 10:b[0] - 6:5].all()
    # The tissue between the dots is not masked.
    assert not cleaned.mask[140, a[0] + 12:b[0] - 10].any()


def test_dotted_line_over_tissue_as_bright_as_its_dots_is_found():
    """A dotted line whose middle third crosses tissue as bright as its dots
    (there the dots do not stand out from their sides): all of its dots are
    still masked, found by their common grey level (in the demo's annotation
    figure such a line was masked only from one caliper to the bright part)."""
    image = bmode(9).pixels.copy()
    a, b = (80, 150), (260, 150)
    band = image[135:166, 130:210].astype(np.int16)  # tissue made as bright as the dots
    image[135:166, 130:210] = np.clip(band - int(np.median(band)) + 180, 0, 255)
    plus(image, *a, 180)
    plus(image, *b, 180)
    dots = list(range(a[0] + 10, b[0] - 6, 5))
    image[150, dots] = 180
    cleaned = clean_annotations(image)
    assert cleaned.counts()["line"] == 1
    assert cleaned.mask[150, dots].all()
    assert not cleaned.mask[140, a[0] + 12:b[0] - 10].any()


@pytest.mark.parametrize("text, scale, value", [("RT BREAST 2H", 0.45, 220), ("MAMA ESQUERDA", 0.5, 255),
                                                 ("LONG 3CMFN", 0.4, 200)])  # fmt: skip
def test_typed_text_is_found_and_removed(text, scale, value):
    image = bmode(10).pixels.copy()
    cv2.putText(image, text, (30, 270), FONT, scale, value, 1, cv2.LINE_AA)
    drawn = image != bmode(10).pixels
    cleaned = clean_annotations(image)
    assert {f.kind for f in cleaned.findings} == {"text"}  # one line, or one per word
    assert cleaned.mask[drawn].mean() > 0.95
    assert (cleaned.pixels[drawn].astype(int) - value).__abs__().mean() > 40


@pytest.mark.parametrize("seed, site", [(11, "hospital_A"), (12, "hospital_B"), (13, "hospital_A")])
def test_simulated_screen_marks_are_removed_without_eating_tissue(seed, site):
    annotated, clean, truth = simulated_crop(seed, site)
    cleaned = clean_annotations(annotated)
    visible = truth & (np.abs(annotated.astype(int) - clean) >= 30)  # a 180 dot on 170 tissue does not count
    assert cleaned.mask[visible].mean() >= 0.9
    near_truth = cv2.dilate(truth.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    # Tissue more than 4 px from any mark: a few pixels where speckle touches text, no more.
    assert (cleaned.mask & ~near_truth).sum() <= 0.01 * cleaned.mask.sum()


# --- options and contract -------------------------------------------------------------


def test_detect_mode_reports_without_changing_pixels():
    image = bmode(8).pixels.copy()
    plus(image, 120, 90, 235)
    cleaned = clean_annotations(image, mode="detect")
    assert cleaned.counts()["caliper"] == 1 and cleaned.mask.any()
    assert cleaned.pixels_changed == 0
    np.testing.assert_array_equal(cleaned.pixels, image)


def test_off_mode_and_kinds():
    image = bmode(8).pixels.copy()
    plus(image, 120, 90, 235)
    cv2.putText(image, "RT BREAST 2H", (30, 270), FONT, 0.45, 220, 1, cv2.LINE_AA)
    assert clean_annotations(image, mode="off").findings == ()
    assert clean_annotations(image, kinds=["text"]).counts() == {"text": 1, "caliper": 0, "line": 0}
    assert clean_annotations(image, kinds=("caliper",)).counts() == {"text": 0, "caliper": 1, "line": 0}


def test_pixels_changed_counts_differing_pixels():
    image = bmode(8).pixels.copy()
    plus(image, 120, 90, 235)
    cleaned = clean_annotations(image)
    assert cleaned.pixels_changed == int(np.count_nonzero(cleaned.pixels != image)) > 0
    assert cleaned.pixels.dtype == np.uint8 and cleaned.pixels.shape == image.shape
    assert not (cleaned.pixels != image)[~cleaned.mask].any()


def test_tiny_image_is_returned_unchanged():
    image = np.full((20, 20), 100, np.uint8)
    image[10, 5:15] = 255
    assert clean_annotations(image).findings == ()


@pytest.mark.parametrize(
    "pixels, options, message",
    [
        (np.zeros((40, 40), np.float32), {}, r"`pixels` must be a non-empty \(H, W\) uint8 array, got shape \(40, 40\) dtype float32"),
        (np.zeros((40, 40, 3), np.uint8), {}, r"got shape \(40, 40, 3\)"),
        (np.zeros((40, 40), np.uint8), {"mode": "erase"}, r"`mode` must be one of remove, detect, off, got 'erase'"),
        (np.zeros((40, 40), np.uint8), {"kinds": ["text", "logo"]}, r"`kinds` may only contain text, caliper, line, got 'logo'"),
        (np.zeros((40, 40), np.uint8), {"inpaint_radius": 0}, r"`inpaint_radius` must be >= 1 and `dilate` >= 0, got 0 and 1"),
    ],
)  # fmt: skip
def test_invalid_arguments(pixels, options, message):
    with pytest.raises(ValueError, match=message):
        clean_annotations(pixels, **options)


def test_examples_roundtrip_and_figure(tmp_path):
    image = bmode(8).pixels.copy()
    plus(image, 120, 90, 235)
    cleaned = clean_annotations(image)
    examples = {"0123456789abcdef": (image, cleaned.pixels, cleaned.mask), "fedcba9876543210": (image, image, cleaned.mask)}
    save_examples(tmp_path / "examples.npz", examples)
    loaded = load_examples(tmp_path / "examples.npz")
    assert list(loaded) == list(examples)
    for key, arrays in examples.items():
        for a, b in zip(arrays, loaded[key]):
            np.testing.assert_array_equal(a, b)
    fig = annotation_figure(loaded)
    assert len(fig.axes) == 6
    assert annotation_figure({}).axes  # an empty cohort still gives a figure


def test_kinds_constant():
    assert KINDS == ("text", "caliper", "line")
