"""OCR residual-text audit (issue 14, item 3): two offline engines on BUS-BRA
and on clean simulated tissue.

For each image of a per-device sample of BUS-BRA (spread evenly over
bus_data.csv, as bench_annotations.py does), the image as shipped ("before")
and after `alnus.annotations.clean_annotations` ("after") are read by each
engine; clean simulated B-mode images (`alnus.simulate.render_bmode`) give the
false reads. Engines:

* ``rapidocr``: `alnus.ocr_audit`'s engine (rapidocr 3, one
  thread), exactly as rule residual_text runs it;
* ``tesseract``: Tesseract 5.5 through tesserocr 2.13.0 (not a project
  requirement: ``pip install tesserocr==2.13.0`` and
  ``apt-get install tesseract-ocr-eng`` for this comparison), on the image's
  bright thin strokes (`TesseractEngine`).

With --truth FILE (CSV: ID, words; the words seen by eye in the "before"
image, space-separated; empty for none), recall is the share of those words
(2 characters or more) found in what the engine read at or above its
confidence threshold (0.7 of 1; the image's reads upper-cased, everything but letters
and digits dropped, joined: a word counts as read if it is a substring, so
"MAMAESQUERDA" reads both words).

Usage:
    python benchmarks/bench_ocr.py --bus-bra ../shared/data/bus-bra --limit 12 --simulated 40 \
        --truth benchmarks/data/ocr_truth.csv --keep /tmp/ocr

Prints Markdown tables: per engine the recall, the false reads (reads at or
above threshold on clean tissue; images with any; images the audit would
fail), seconds per image; and per engine and device the share of images with
a read before and after annotation removal, and the share the audit would fail.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from bench_annotations import bus_bra_images, simulated_images  # noqa: E402

from alnus import ocr_audit, ocr_engine  # noqa: E402
from alnus.annotations import clean_annotations  # noqa: E402

BUS_BRA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bus-bra"


class TesseractEngine:
    """Tesseract 5 (tesserocr, Debian's tesseract-ocr-eng) behind alnus.ocr_audit's `read` face:
    sparse-text segmentation on bright thin strokes (white top-hat, 15 px, above 60 grey
    levels, black on white, enlarged twice: on the raw image it read no line of BUS-BRA's)."""

    name = "tesseract"

    def __init__(self, tessdata: str = "/usr/share/tesseract-ocr/5/tessdata"):
        import tesserocr

        self.tesserocr = tesserocr
        self.api = tesserocr.PyTessBaseAPI(path=tessdata, lang="eng", psm=tesserocr.PSM.SPARSE_TEXT)

    def read(self, pixels: np.ndarray) -> list[ocr_audit.Word]:
        from PIL import Image

        tophat = cv2.morphologyEx(pixels, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)))
        strokes = cv2.resize(
            np.where(tophat > 60, 0, 255).astype(np.uint8), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC
        )
        ril = self.tesserocr.RIL
        self.api.SetImage(Image.fromarray(strokes))
        self.api.Recognize()
        words = []
        for item in self.tesserocr.iterate_level(self.api.GetIterator(), ril.WORD):
            text, box = (item.GetUTF8Text(ril.WORD) or "").strip(), item.BoundingBox(ril.WORD)
            if text and box:
                x0, y0, x1, y1 = (v // 2 for v in box)
                words.append(ocr_audit.Word(text, x0, y0, x1 - x0, y1 - y0, item.Confidence(ril.WORD) / 100))
        return words


def engines(names: list[str]) -> dict:
    return {name: TesseractEngine() if name == "tesseract" else ocr_engine.build_engine(name) for name in names}


def read_rows(engine, key: dict, pixels: np.ndarray, stage: str, settings: ocr_audit.AuditSettings) -> list[dict]:
    start = time.perf_counter()
    words = engine.read(pixels)
    seconds = time.perf_counter() - start
    kept = [w for w in words if w.confidence >= settings.min_confidence]
    kinds = {ocr_audit.identifying_kind(w.text, settings=settings) for w in kept} - {""}
    return [
        {
            **key,
            "engine": engine.name,
            "stage": stage,
            "seconds": seconds,
            "reads": len(kept),
            "text": " ".join(w.text for w in kept),
            "identifying": ";".join(sorted(kinds)),
        }
    ]


def normalised(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def recall(rows: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    merged = rows.merge(truth, on="ID")
    out = []
    for engine, part in merged.groupby("engine"):
        found = total = images = images_read = 0
        for text, words in zip(part["text"], part["words"].fillna("")):
            words = [normalised(w) for w in str(words).split() if len(normalised(w)) >= 2]
            if not words:
                continue
            read = normalised(text)
            hits = sum(w in read for w in words)
            found, total = found + hits, total + len(words)
            images, images_read = images + 1, images_read + (hits > 0)
        out.append(
            {
                "engine": engine,
                "images with text": images,
                "words": total,
                "words read": found,
                "recall": found / max(total, 1),
                "images with a word read": images_read,
            }
        )
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bus-bra", type=Path, default=BUS_BRA)
    parser.add_argument("--limit", type=int, default=12, help="images per device")
    parser.add_argument("--simulated", type=int, default=40)
    parser.add_argument("--engines", nargs="+", default=["rapidocr", "tesseract"])
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--keep", type=Path, help="folder for reads.csv")
    args = parser.parse_args()
    settings = ocr_audit.AuditSettings()
    found = engines(args.engines)
    rows = []
    for key, pixels in bus_bra_images(args.bus_bra, args.limit):
        cleaned = clean_annotations(pixels).pixels
        for engine in found.values():
            rows += read_rows(engine, key, pixels, "before", settings)
            rows += read_rows(engine, key, cleaned, "after", settings)
    for key, pixels in simulated_images(args.simulated):
        for engine in found.values():
            rows += read_rows(engine, {"ID": f"sim{key['seed']}", "Device": "simulated"}, pixels, "clean", settings)
    table = pd.DataFrame(rows)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.keep / "reads.csv", index=False)
    bus = table[table["Device"] != "simulated"]
    per_device = (
        bus.assign(read=bus["reads"] > 0, fails=bus["identifying"] != "")
        .groupby(["engine", "Device", "stage"])
        .agg(images=("ID", "size"), with_text=("read", "mean"), fails=("fails", "mean"))
    )
    print(per_device.unstack("stage").to_markdown(floatfmt=".3f"))
    sim = table[table["Device"] == "simulated"]
    summary = table.groupby("engine").agg(s_per_image=("seconds", "mean"))
    summary["clean reads"] = sim.groupby("engine")["reads"].sum()
    summary["clean images with a read"] = sim.groupby("engine")["reads"].apply(lambda r: int((r > 0).sum()))
    summary["clean images failing"] = sim.groupby("engine")["identifying"].apply(lambda r: int((r != "").sum()))
    print(summary.to_markdown(floatfmt=".3f"))
    if args.truth:
        print(recall(bus[bus["stage"] == "before"], pd.read_csv(args.truth)).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
