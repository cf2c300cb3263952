"""Tests for alnus.crop: B-mode detection on synthetic scanner screens, DICOM regions, lesion boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from alnus.crop import CropBox, apply_crop, bbox_crop_box, find_bmode_box
from alnus.imageio import UltrasoundRegion

SCREEN = (768, 1024)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def speckle(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Log-compressed Rayleigh speckle with tissue texture, depth attenuation and a dark lesion."""
    field = [cv2.GaussianBlur(rng.normal(size=(h, w)), (0, 0), 1.2) for _ in range(2)]
    envelope = np.hypot(*field)
    tissue = cv2.GaussianBlur(rng.uniform(0.3, 1.0, size=(h, w)), (0, 0), 12)
    img = np.log1p(20 * envelope * tissue / envelope.mean()) * np.linspace(1.0, 0.6, h)[:, None]
    lesion = np.zeros((h, w), np.uint8)
    cv2.ellipse(lesion, (w // 2, h // 3), (w // 8, h // 10), 0, 0, 360, 1, -1)
    img[lesion > 0] *= 0.35
    return np.clip(img / img.max() * 230, 0, 255).astype(np.uint8)


def fan(h: int, w: int) -> np.ndarray:
    """0/1 mask of a convex-probe sector that touches all four sides of an (h, w) box."""
    mask = np.zeros((h, w), np.uint8)
    apex_y = -int(0.3 * h)
    cv2.ellipse(mask, (w // 2, apex_y), (h - apex_y - 1,) * 2, 90, -24, 24, 1, -1)
    cv2.circle(mask, (w // 2, apex_y), int(0.45 * h) - apex_y, 0, -1)
    ys, xs = np.nonzero(mask)
    return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def screen(*, sector=False, ui=0, jpeg=None, bar_gap=None, seed=0, box=(180, 110, 620, 540)):
    """A scanner screen and the true B-mode box (x, y, w, h).

    Text lines 3-5 px from the image (above and below), patient data and
    settings in the margins, a depth ruler whose ticks touch the image, a grey
    bar and a colour bar (as grey), a logo; optionally JPEG compressed.
    """
    rng = np.random.default_rng(seed)
    s = np.full(SCREEN, ui, np.uint8)
    x, y, w, h = box
    img = speckle(h, w, rng)
    if sector:
        mask = fan(h, w)
        h, w = mask.shape
        x, y = x + (box[2] - w) // 2, y + (box[3] - h) // 2
        s[y : y + h, x : x + w] = np.where(mask > 0, img[:h, :w], ui)
    else:
        s[y : y + h, x : x + w] = img
    for text, org, scale, thick in [
        ("PATIENT: DOE^JANE  ID 12345678", (10, 30), 0.8, 2),
        ("2019-03-14 10:22:31  MI 1.1 TIS 0.3", (SCREEN[1] - 330, 30), 0.6, 1),
        ("L12-5  BREAST  GAIN 52  DR 60", (x + 10, y - 4), 0.6, 1),  # baseline 4 px above the image
        ("RIGHT 10 O'CLOCK 3CM FN", (x + 40, y + h + 3 + 16), 0.7, 2),  # capitals 3 px below it
        ("Frq 12.0 MHz   Gn 52   D 4.0cm", (10, SCREEN[0] - 20), 0.7, 1),
        ("FR 27Hz", (x + w + 40, y + 200), 0.9, 2),
    ]:
        cv2.putText(s, text, org, FONT, scale, 230, thick, cv2.LINE_AA)
    for i, ty in enumerate(range(y, y + h, 27)):  # depth ruler touching the right edge
        cv2.line(s, (x + w, ty), (x + w + (10 if i % 5 == 0 else 5), ty), 220, 1)
        if i % 5 == 0:
            cv2.putText(s, str(i // 5), (x + w + 14, ty + 5), FONT, 0.45, 220, 1)
    s[150:350, 40:56] = np.linspace(255, 0, 200)[:, None].astype(np.uint8)  # grey bar
    colour = (np.sin(np.linspace(0, 6, 200)) * 100 + 120).astype(np.uint8)[:, None]
    bx = 40 if bar_gap is None else x - bar_gap - 14  # colour bar, optionally close to the image
    s[400:600, bx : bx + 14] = colour
    cv2.rectangle(s, (SCREEN[1] - 120, SCREEN[0] - 80), (SCREEN[1] - 40, SCREEN[0] - 40), 200, -1)  # logo
    if jpeg:
        s = cv2.imdecode(cv2.imencode(".jpg", s, [cv2.IMWRITE_JPEG_QUALITY, jpeg])[1], cv2.IMREAD_GRAYSCALE)
    return s, (x, y, w, h)


def dual_screen(*, ui=0, gap=6, seed=0):
    """Two B-mode panels side by side; the right one is wider. Returns the screen and the right panel's box."""
    rng = np.random.default_rng(seed)
    s = np.full(SCREEN, ui, np.uint8)
    left, right = (60, 150, 400, 460), (60 + 400 + gap, 150, 460, 460)
    for x, y, w, h in (left, right):
        s[y : y + h, x : x + w] = speckle(h, w, rng)
    cv2.putText(s, "DUAL  L12-5  BREAST", (20, 40), FONT, 0.8, 230, 2, cv2.LINE_AA)
    cv2.putText(s, "LEFT 2 O'CLOCK", (70, 146), FONT, 0.6, 230, 1, cv2.LINE_AA)
    return s, right


def dark_bottom_screen(*, deep: str, ui: int = 0, gradient: bool = False, seed: int = 0):
    """A screen whose image fades to black at depth; returns the screen and the true box (x, y, w, h).

    The bottom 35% of the image is `deep`: "noise" (grey levels 0-3, as deep
    tissue on a black-level-0 scanner) or "black-level" (flat 16, as on a
    video-range scanner). A depth ruler touches the image's right edge, a
    label line is 4 px below it and patient text sits at the screen's bottom.
    With `gradient`, the UI is a vertical grey ramp from `ui` to `ui` + 20.
    """
    rng = np.random.default_rng(seed)
    x, y, w, h = 200, 120, 520, 460
    s = np.full(SCREEN, ui, np.uint8)
    if gradient:
        s[:] = np.linspace(ui, ui + 20, SCREEN[0]).astype(np.uint8)[:, None]
    img = speckle(h, w, rng)
    dark = int(0.65 * h)
    if deep == "noise":
        img[dark:] = rng.integers(0, 4, (h - dark, w))
    else:  # a video-range scanner at low gain clips dark echoes at 16 (3-7% of BUS-BRA's pixels)
        img = np.clip(img.astype(np.int16) - 40, 16, 235).astype(np.uint8)
        img[dark:] = 16
    s[y : y + h, x : x + w] = img
    for i, ty in enumerate(range(y, y + h, 23)):  # depth ruler touching the right edge
        cv2.line(s, (x + w, ty), (x + w + (10 if i % 5 == 0 else 5), ty), 220, 1)
    cv2.putText(s, "RIGHT 10 O'CLOCK 3CM FN", (x + 20, y + h + 4 + 16), FONT, 0.7, 230, 2, cv2.LINE_AA)
    cv2.putText(s, "PATIENT: DOE^JANE  ID 12345678", (10, SCREEN[0] - 20), FONT, 0.7, 230, 1, cv2.LINE_AA)
    return s, (x, y, w, h)


def assert_close(box: CropBox, truth: tuple[int, int, int, int]):
    """Each side within 4 px or 2% of that side's length."""
    x, y, w, h = truth
    tol_x, tol_y = max(4, 0.02 * w), max(4, 0.02 * h)
    sides = [abs(box.x - x), abs(box.x + box.w - x - w), abs(box.y - y), abs(box.y + box.h - y - h)]
    assert max(sides[:2]) <= tol_x and max(sides[2:]) <= tol_y, f"found {box}, true {truth}"


# ---------------------------------------------------------------------------
# Image analysis
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("sector", [False, True], ids=["linear", "sector"])
@pytest.mark.parametrize(
    ("ui", "jpeg", "bar_gap"),
    [(0, None, None), (90, None, None), (0, 90, None), (90, 75, None), (0, None, 6), (90, 90, 6)],
    ids=["dark", "grey", "dark-jpeg90", "grey-jpeg75", "dark-bar-6px", "grey-jpeg90-bar-6px"],
)
def test_finds_bmode_on_screen(sector, ui, jpeg, bar_gap):
    pixels, truth = screen(sector=sector, ui=ui, jpeg=jpeg, bar_gap=bar_gap)
    box = find_bmode_box(pixels)
    assert box.method == "image_analysis" and box.note == ""
    assert_close(box, truth)


@pytest.mark.parametrize(
    ("deep", "ui", "gradient"),
    [
        ("noise", 0, False),
        ("black-level", 0, False),
        ("noise", 40, False),
        ("black-level", 90, False),
        ("noise", 10, True),
    ],
    ids=["noise-on-black", "black-level-on-black", "noise-on-dark-grey", "black-level-on-grey", "noise-on-gradient"],
)
def test_dark_deep_tissue_is_kept_and_label_below_is_cut(deep, ui, gradient):
    # The bottom third of the image is nearly black; the crop must still reach
    # the image's last row, and stop there: not over the label 4 px below.
    pixels, (x, y, w, h) = dark_bottom_screen(deep=deep, ui=ui, gradient=gradient)
    box = find_bmode_box(pixels)
    assert box.method == "image_analysis"
    assert (box.x, box.y, box.w, box.h) == (x, y, w, h)


def test_gradient_background_gives_the_exact_box():
    # The 3x3 texture of `_foreground` spreads 1 px past the image, and on a
    # gradient no background grey takes it back; `_trim` does.
    pixels, (x, y, w, h) = dark_bottom_screen(deep="noise", ui=0, gradient=True, seed=3)
    pixels[y + int(0.65 * h) : y + h, x : x + w] = speckle(h - int(0.65 * h), w, np.random.default_rng(4))
    box = find_bmode_box(pixels)
    assert (box.x, box.y, box.w, box.h) == (x, y, w, h)


def test_dark_deep_tissue_on_jpeg_screen_is_not_grown_into_the_label():
    # JPEG ringing looks like faint tissue noise; on a lossy screen the crop
    # may stop short of black tissue, but must not take the label below.
    pixels, (x, y, w, h) = dark_bottom_screen(deep="noise", ui=0)
    pixels = cv2.imdecode(cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])[1], cv2.IMREAD_GRAYSCALE)
    box = find_bmode_box(pixels)
    assert box.y + box.h <= y + h + 2 and box.h >= 0.6 * h


@pytest.mark.parametrize("seed", range(3))
def test_finds_bmode_other_positions(seed):
    rng = np.random.default_rng(seed)
    w, h = int(rng.integers(450, 750)), int(rng.integers(380, 600))
    x, y = int(rng.integers(70, SCREEN[1] - w - 60)), int(rng.integers(60, SCREEN[0] - h - 40))
    pixels, truth = screen(box=(x, y, w, h), seed=seed, sector=bool(seed % 2))
    assert_close(find_bmode_box(pixels), truth)


@pytest.mark.parametrize(("ui", "gap"), [(0, 3), (0, 6), (90, 6), (0, 20)])
def test_dual_view_takes_the_larger_panel(ui, gap):
    pixels, truth = dual_screen(ui=ui, gap=gap)
    box = find_bmode_box(pixels)
    assert_close(box, truth)
    assert box.note == "dual-view screen: 2 B-mode regions, took the largest"


def test_already_cropped_image_is_kept_whole():
    pixels = speckle(360, 280, np.random.default_rng(1))
    pixels[300:] //= 8  # a dark deep region is still image
    cv2.putText(pixels, "MAMA DIR", (100, 340), FONT, 0.5, 255, 1)
    box = find_bmode_box(pixels)
    assert (box.x, box.y, box.w, box.h, box.method) == (0, 0, 280, 360, "full_image")
    assert "already cropped" in box.note


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros(SCREEN, np.uint8),
        np.full((20, 30), 255, np.uint8),
        np.zeros((5, 1), np.uint8),
        cv2.putText(np.zeros(SCREEN, np.uint8), "NO IMAGE ON THIS SCREEN", (100, 300), FONT, 1.5, 255, 2),
    ],
    ids=["black", "small-white", "tiny", "text-only"],
)
def test_nothing_plausible_gives_full_image(pixels):
    box = find_bmode_box(pixels)
    assert (box.x, box.y, box.w, box.h) == (0, 0, pixels.shape[1], pixels.shape[0])
    assert box.method == "full_image" and "no plausible B-mode region" in box.note


@pytest.mark.parametrize("seed", range(6))
def test_never_fails(seed):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 400)), int(rng.integers(1, 400))
    kind = seed % 3
    pixels = (
        rng.integers(0, 256, (h, w))
        if kind == 0
        else np.tile(np.arange(w) % 256, (h, 1))
        if kind == 1
        else (rng.random((h, w)) < 0.05) * 255
    ).astype(np.uint8)
    box = find_bmode_box(pixels)
    assert apply_crop(pixels, box).size > 0


def test_rejects_non_grayscale():
    with pytest.raises(ValueError, match=r"`pixels` must be a non-empty \(H, W\) uint8 array"):
        find_bmode_box(np.zeros((10, 10, 3), np.uint8))


# ---------------------------------------------------------------------------
# DICOM regions
# ---------------------------------------------------------------------------
def region(x0, y0, x1, y1, data_type=1, spatial_format=1):
    return UltrasoundRegion(x0, y0, x1, y1, data_type, spatial_format)


@pytest.mark.parametrize(
    ("regions", "expected", "note"),
    [
        ([region(100, 50, 699, 549)], (100, 50, 600, 500), ""),
        ([region(100, 50, 699, 549), region(300, 100, 500, 300, data_type=2)], (100, 50, 600, 500), ""),
        (
            [region(10, 50, 409, 549), region(420, 50, 949, 549)],
            (420, 50, 530, 500),
            "2 tissue regions; took the largest",
        ),
        ([region(-5, 50, 1100, 549)], (0, 50, 1024, 500), "region clipped to the image"),
        ([region(0, 0, 99, 99, spatial_format=2), region(100, 50, 699, 549)], (100, 50, 600, 500), ""),
    ],
    ids=["tissue", "tissue+colour-flow", "dual-view", "clipped", "m-mode-ignored"],
)
def test_dicom_regions(regions, expected, note):
    box = find_bmode_box(np.zeros(SCREEN, np.uint8), regions)
    assert (box.x, box.y, box.w, box.h) == expected
    assert box.method == "dicom_region" and box.note == note


@pytest.mark.parametrize(
    "regions",
    [[region(100, 50, 699, 549, data_type=2)], [region(2000, 2000, 2100, 2100)]],
    ids=["colour-flow-only", "outside-image"],
)
def test_unusable_regions_fall_back_to_image_analysis(regions):
    pixels, truth = screen()
    box = find_bmode_box(pixels, regions)
    assert box.method == "image_analysis" and box.note.startswith("no usable 2-D tissue region in the DICOM")
    assert_close(box, truth)


# ---------------------------------------------------------------------------
# Lesion boxes and cropping
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bbox", "margin", "expected", "clipped"),
    [
        ("100,50,40,20", 0.1, (96, 48, 48, 24), False),
        ("[91,24,103,79]", 0.0, (91, 24, 103, 79), False),  # as BUS-BRA writes it
        (" [ 91, 24, 103, 79 ] ", 0.0, (91, 24, 103, 79), False),
        ((100, 50, 40, 20), 0.25, (90, 45, 60, 30), False),
        ("100.5,50,40,20", 0.0, (100, 50, 41, 20), False),
        ("2,3,40,20", 0.1, (0, 1, 46, 24), True),
        ("280,190,40,20", 0.1, (276, 188, 44, 12), True),
    ],
)
def test_bbox_crop_box(bbox, margin, expected, clipped):
    box = bbox_crop_box(bbox, (200, 320), margin=margin)
    assert (box.x, box.y, box.w, box.h) == expected and box.method == "bbox"
    assert ("clipped to the image" in box.note) is clipped


@pytest.mark.parametrize(
    "bbox",
    ["", "1,2,3", "1,2,3,4,5", "a,b,c,d", "10,10,0,5", "10,10,5,-1", "nan,1,2,3", (1, 2, 3), None, "1;2;3;4"],
)
def test_bbox_crop_box_rejects_malformed(bbox):
    with pytest.raises(ValueError, match=r"is malformed; expected \"x,y,w,h\""):
        bbox_crop_box(bbox, (200, 320))


def test_bbox_outside_image_and_negative_margin():
    with pytest.raises(ValueError, match="lies outside the 320x200 image"):
        bbox_crop_box("400,10,20,20", (200, 320))
    with pytest.raises(ValueError, match="`margin` must be >= 0"):
        bbox_crop_box("10,10,20,20", (200, 320), margin=-0.1)


def test_apply_crop():
    pixels = np.arange(200 * 320, dtype=np.int64).reshape(200, 320)
    crop = apply_crop(pixels, CropBox(10, 20, 30, 40, "bbox"))
    assert crop.shape == (40, 30) and crop[0, 0] == pixels[20, 10] and crop[-1, -1] == pixels[59, 39]
    assert apply_crop(np.dstack([pixels] * 3), CropBox(0, 0, 320, 200, "full_image")).shape == (200, 320, 3)


@pytest.mark.parametrize("box", [(300, 0, 30, 10), (0, 0, 0, 10), (-1, 0, 5, 5), (0, 195, 10, 10)])
def test_apply_crop_rejects_boxes_outside(box):
    with pytest.raises(ValueError, match=r"is not inside the 320x200 image"):
        apply_crop(np.zeros((200, 320), np.uint8), CropBox(*box, "bbox"))
