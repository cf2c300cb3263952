"""The package's job: detect burned-in annotations in a cropped B-mode image and, in mode "remove", inpaint them.

`detect_annotations` runs the image-analysis detectors (calipers, measurement
lines, text); `clean_annotations` checks its options, grows their mask,
inpaints, and runs the OCR detector last on what they cleaned. The detectors
and their measurements: the docstring of `alnus.annotations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from alnus.annotations.calipers import caliper_centers, caliper_mask, shadowed_centers
from alnus.annotations.common import DEFAULT_KINDS, KINDS, Finding, Views, cv2, finding
from alnus.annotations.lines import measurement_lines
from alnus.annotations.ocr import ocr_text_parts
from alnus.annotations.text import text_lines
from alnus.checks import check_choice

MODES = ("remove", "detect", "off")


@dataclass(frozen=True)
class Cleaned:
    """Result of `clean_annotations`.

    Attributes
    ----------
    pixels : ndarray of shape (H, W), uint8
        The image with the marks inpainted (a copy of the input when nothing
        was removed).
    mask : ndarray of shape (H, W), bool
        Pixels that were (mode "remove") or would be (mode "detect") replaced.
    findings : tuple of Finding
    pixels_changed : int
        Pixels whose value differs between input and output.
    """

    pixels: np.ndarray
    mask: np.ndarray
    findings: tuple[Finding, ...] = field(default=())
    pixels_changed: int = 0

    def counts(self) -> dict[str, int]:
        """Number of findings per kind (every kind in KINDS, zeros included)."""
        return {kind: sum(f.kind == kind for f in self.findings) for kind in KINDS}


def clean_annotations(
    pixels: np.ndarray,
    *,
    mode: str = "remove",
    kinds: tuple[str, ...] | list[str] = DEFAULT_KINDS,
    inpaint_radius: int = 3,
    dilate: int = 1,
    read_text=None,
) -> Cleaned:
    """Detect burned-in annotations and, in mode "remove", inpaint them.

    Parameters
    ----------
    pixels : ndarray of shape (H, W), uint8
        A cropped B-mode image.
    mode : {"remove", "detect", "off"}
        "remove" inpaints; "detect" only reports (the image is returned
        unchanged); "off" does neither.
    kinds : subset of KINDS, default DEFAULT_KINDS
        Which detectors run. Measurement lines are searched only between
        calipers, so "line" without "caliper" finds nothing. "ocr_text"
        (annotations/ocr.py) runs last, on the image the others cleaned, and
        needs `read_text`.
    inpaint_radius : int
        Neighbourhood (px) that cv2.inpaint (Telea) draws from.
    dilate : int
        The mask is grown by this many pixels, to take the marks'
        anti-aliased fringe with them (not the OCR boxes, which are padded).
    read_text : callable, optional
        ``read_text(pixels)`` -> words read (alnus.ocr_engine.TextReader);
        required when "ocr_text" is in `kinds`.

    Returns
    -------
    Cleaned

    Raises
    ------
    ValueError
        If `pixels` is not a non-empty 2-D uint8 array, or `mode`, `kinds`,
        `inpaint_radius` or `dilate` is invalid, or "ocr_text" is asked for
        without `read_text`.
    """
    pixels = np.asarray(pixels)
    _check_options(pixels, mode=mode, kinds=kinds, inpaint_radius=inpaint_radius, dilate=dilate, read_text=read_text)
    if mode == "off":
        return Cleaned(pixels.copy(), np.zeros(pixels.shape, bool))
    mask, findings = detect_annotations(pixels, kinds=kinds)
    if dilate and mask.any():
        size = 2 * dilate + 1
        mask = cv2.dilate(mask.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)
    out = pixels.copy()
    if mode == "remove" and mask.any():
        out = cv2.inpaint(pixels, mask.astype(np.uint8), inpaint_radius, cv2.INPAINT_TELEA)
    if "ocr_text" in kinds:
        out, boxes = _ocr_pass(out, read_text, findings, inpaint=inpaint_radius if mode == "remove" else 0)
        mask = mask | boxes
    if mode == "detect":
        return Cleaned(pixels.copy(), mask, tuple(findings))
    return Cleaned(out, mask, tuple(findings), int(np.count_nonzero(out != pixels)))


def _ocr_pass(pixels: np.ndarray, read_text, findings: list[Finding], *, inpaint: int) -> tuple[np.ndarray, np.ndarray]:
    """The OCR detector on `pixels` (the image the others cleaned): its
    findings appended to `findings`, and (pixels, boxes) with the boxes
    inpainted at radius `inpaint` (0: left as they are)."""
    boxes = np.zeros(pixels.shape, bool)
    for part in ocr_text_parts(pixels, read_text):
        findings.append(finding("ocr_text", part))
        boxes |= part
    if inpaint and boxes.any():
        pixels = cv2.inpaint(pixels, boxes.astype(np.uint8), inpaint, cv2.INPAINT_TELEA)
    return pixels, boxes


def _check_options(pixels: np.ndarray, *, mode, kinds, inpaint_radius, dilate, read_text) -> None:
    """Raise `clean_annotations`' ValueErrors (see there) for bad pixels or options."""
    if pixels.ndim != 2 or pixels.dtype != np.uint8 or pixels.size == 0:
        raise ValueError(
            f"`pixels` must be a non-empty (H, W) uint8 array, got shape {pixels.shape} dtype {pixels.dtype}"
        )
    check_choice(mode, MODES, "`mode`")
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"`kinds` may only contain {', '.join(KINDS)}, got {', '.join(map(repr, unknown))}")
    if inpaint_radius < 1 or dilate < 0:
        raise ValueError(f"`inpaint_radius` must be >= 1 and `dilate` >= 0, got {inpaint_radius} and {dilate}")
    if "ocr_text" in kinds and read_text is None:
        raise ValueError("annotation kind 'ocr_text' needs an OCR reader (`read_text`, alnus.ocr_engine.TextReader)")


def detect_annotations(pixels: np.ndarray, *, kinds=DEFAULT_KINDS) -> tuple[np.ndarray, list[Finding]]:
    """Mask (H, W) bool of annotation pixels (before dilation) and the
    findings of the image-analysis detectors among `kinds` (text, caliper,
    line; "ocr_text" is clean_annotations' step).

    Images smaller than 32 px on a side are returned without findings.
    """
    height, width = pixels.shape
    mask = np.zeros((height, width), bool)
    findings: list[Finding] = []
    if min(height, width) < 32:
        return mask, findings
    image = Views(pixels)
    centers: list[tuple[int, int]] = []
    marks = np.zeros((height, width), bool)
    found = caliper_centers(image)
    found += shadowed_centers(image, taken=found)
    for mark in found:
        part = caliper_mask(image, mark)
        centers.append((mark.y, mark.x))
        marks |= part
        if "caliper" in kinds:
            findings.append(finding("caliper", part))
            mask |= part
    if "line" in kinds:
        for part in measurement_lines(image, centers):
            findings.append(finding("line", part))
            mask |= part
    if "text" in kinds:
        # Caliper marks ("x", "+") look like characters: left out, they cannot
        # make a tissue streak beside them a "line of text".
        marks = cv2.dilate(marks.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        for part in text_lines(image, exclude=marks):
            findings.append(finding("text", part))
            mask |= part
    return mask, findings
