"""The OCR engine of the residual-text audit (`alnus.ocr_audit`), behind one
seam: `build_engine(name)` gives an object whose ``read(pixels)`` returns the
text boxes read in an 8-bit grayscale image (`alnus.ocr_audit.Word`).

RapidOCR (the `rapidocr` package, 3.x): PaddleOCR's PP-OCRv6 small text
detector and recogniser, run by ONNX Runtime on the CPU; the models ship
inside the wheel (rapidocr/models/, checked by hash before use) and nothing
is downloaded at run time. It depends on opencv-python-headless, as the rest
of the pipeline does; the older rapidocr-onnxruntime 1.x required the GUI
build opencv-python, whose cv2 links libGL and fails to import on headless
cluster nodes. Without the engine the audit stops
with `OcrEngineMissing`, which says how to install it: it never passes
without having read the images.
"""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np

from alnus.checks import check_choice
from alnus.ocr_audit import Word

INSTALL_HINT = (
    "Install what .ci/run installs: `pip install -r requirements.txt` (rapidocr, onnxruntime), "
    "or run with --software-deployment-method conda (envs/ocr.yaml)."
)


class OcrEngineMissing(RuntimeError):
    """The OCR engine (or its models) is not installed: the audit cannot run."""


class RapidOcrEngine:
    """RapidOCR (rapidocr 3.x): detection and recognition, no angle
    classifier (screen text is upright), `threads` ONNX Runtime threads."""

    name = "rapidocr"

    def __init__(self, *, threads: int = 1):
        try:
            from rapidocr import RapidOCR
        except ImportError as error:
            raise OcrEngineMissing(
                f"The OCR audit needs rapidocr, which cannot be imported ({error}). {INSTALL_HINT}"
            ) from None
        # The detector's default scales an image's short side up to 736 px, which
        # quadruples the work on a 300 x 400 crop; the long side is only capped
        # at 960 instead (measured on BUS-BRA: same words read, 6x faster).
        self.ocr = RapidOCR(
            params={
                "Global.use_cls": False,
                "Global.log_level": "warning",
                "Det.limit_type": "max",
                "Det.limit_side_len": 960,
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        # It logs each model load, and a warning for each image without text (most
        # of them), into the rule's log; its constructor sets its logger's level,
        # so the level is lowered after it.
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)

    def read(self, pixels: np.ndarray) -> list[Word]:
        """Every text box read in `pixels` (H x W uint8), with its bounding box."""
        result = self.ocr(cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR), use_cls=False)
        if result.boxes is None or result.txts is None:
            return []
        words = []
        for box, text, score in zip(result.boxes, result.txts, result.scores):
            corners = np.asarray(box, dtype=float)
            (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
            words.append(
                Word(
                    str(text).strip(),
                    int(x0),
                    int(y0),
                    max(1, int(round(x1 - x0))),
                    max(1, int(round(y1 - y0))),
                    float(score),
                )
            )
        return [w for w in words if w.text]


ENGINES = {"rapidocr": RapidOcrEngine}


def build_engine(name: str = "rapidocr", **options):
    """The OCR engine `name` (a key of ENGINES), ready to `read` images.

    Raises
    ------
    ValueError
        If `name` is not a known engine.
    OcrEngineMissing
        If the engine is not installed.
    """
    check_choice(name, sorted(ENGINES), "`privacy: phi_audit: ocr: engine`")
    return ENGINES[name](**options)


class TextReader:
    """A callable ``reader(pixels) -> list[Word]``: the words an engine reads
    with at least `min_confidence`, one engine per thread.

    For preprocessing's OCR redaction (annotation kind "ocr_text"), whose
    images are cleaned in a thread pool: each thread builds its own engine
    the first time it reads (about half a second), rather than sharing one
    engine behind a lock, which would serialise the reads. The engine is
    built once here as well, so that a missing engine fails before the first
    image (OcrEngineMissing).
    """

    def __init__(self, name: str = "rapidocr", *, min_confidence: float = 0.7):
        self.name, self.min_confidence = name, float(min_confidence)
        self._local = threading.local()
        self._local.engine = build_engine(name)

    def __call__(self, pixels: np.ndarray) -> list[Word]:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = build_engine(self.name)
        return [word for word in engine.read(pixels) if word.confidence >= self.min_confidence]
