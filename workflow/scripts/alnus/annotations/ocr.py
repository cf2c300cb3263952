"""Text that an OCR engine still reads once the other detectors have done.

The text detector (text.py) finds typed characters by their strokes; dim or
unusual lettering can escape it ("54 ANOS" in mid-grey on two BUS-BRA
images, docs/benchmarks.md, "OCR residual-text audit"). This detector asks
the OCR engine of the residual-text audit (alnus.ocr_engine) to read the
image after the other detectors' marks are inpainted, and masks the box of
every line it reads, padded by OCR_PAD pixels: the box, not the glyphs,
since the engine gives no finer outline, and as Presidio's DICOM image
redactor does with its OCR boxes. The audit then reads the result again.
"""

from __future__ import annotations

import numpy as np

OCR_PAD = 2  # px around each box read: the recogniser's boxes hug the glyphs
# A line of screen text is short: boxes taller than this share of the image
# (or than OCR_MAX_HEIGHT_PX) are misreads of tissue and are left alone. On
# BUS-BRA (docs/benchmarks.md) real lines are 13-29 px high; the one misread
# seen, "9" over a whole 320 x 434 image, would have inpainted all of it.
OCR_MAX_HEIGHT_SHARE = 0.15
OCR_MAX_HEIGHT_PX = 64


def ocr_text_parts(pixels: np.ndarray, read_text) -> list[np.ndarray]:
    """One mask per line of text read in `pixels`.

    Parameters
    ----------
    pixels : ndarray of shape (H, W), uint8
    read_text : callable
        ``read_text(pixels)`` -> words with x, y, w, h (alnus.ocr_engine.TextReader,
        which keeps only confident reads).

    Returns
    -------
    list of ndarray of shape (H, W), bool
        The padded box of each word read, clipped to the image; empty boxes
        and boxes too tall to be a line of text (OCR_MAX_HEIGHT_SHARE,
        OCR_MAX_HEIGHT_PX) dropped.
    """
    height, width = pixels.shape
    tallest = min(OCR_MAX_HEIGHT_PX, OCR_MAX_HEIGHT_SHARE * height)
    parts = []
    for word in read_text(pixels):
        if word.h > tallest:
            continue
        x0, y0 = max(0, word.x - OCR_PAD), max(0, word.y - OCR_PAD)
        x1, y1 = min(width, word.x + word.w + OCR_PAD), min(height, word.y + word.h + OCR_PAD)
        if x1 > x0 and y1 > y0:
            part = np.zeros((height, width), bool)
            part[y0:y1, x0:x1] = True
            parts.append(part)
    return parts
