"""Tests for alnus.residual_text: the job of rule residual_text, with a stand-in OCR engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from alnus import ocr_engine
from alnus.imageio import write_png
from alnus.ocr_audit import Word
from alnus.residual_text import residual_text_job

SCHEMA = Path(__file__).parents[1] / "workflow" / "schemas" / "config.schema.yaml"
OCR_SETTINGS = yaml.safe_load(SCHEMA.read_text())["properties"]["privacy"]["properties"]["phi_audit"]["properties"][
    "ocr"
]
# The schema's defaults (their one home), with the stand-in engine.
OCR = {key: spec["default"] for key, spec in OCR_SETTINGS["properties"].items()} | {"engine": "stand_in"}


class StandInEngine:
    """Reads "MARIA SILVA" on images whose top-left pixel is bright, nothing elsewhere."""

    def read(self, pixels: np.ndarray) -> list[Word]:
        return [Word("MARIA SILVA", 4, 4, 40, 10, 0.97)] if pixels[0, 0] > 128 else []


@pytest.fixture
def engine(monkeypatch):
    monkeypatch.setitem(ocr_engine.ENGINES, "stand_in", StandInEngine)


def test_the_job_writes_the_table_and_figure_and_never_the_identifying_words(engine, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    write_png(images / "a1.png", np.full((64, 80), 200, np.uint8))
    write_png(images / "b2.png", np.full((64, 80), 30, np.uint8))
    table_csv, figure_png = tmp_path / "residual.csv", tmp_path / "residual.png"
    table = residual_text_job(
        {},
        images,
        ocr=OCR,
        key_file=tmp_path / "no.key",
        extra_strings=None,
        min_length=4,
        min_digits=6,
        table_csv=table_csv,
        figure_png=figure_png,
    )
    written = pd.read_csv(table_csv, keep_default_na=False)
    assert sorted(set(written["image"])) == ["a1", "b2"] and len(written) == len(table)
    assert set(written.loc[written["image"] == "a1", "identifying"]) == {"name"}
    assert "MARIA" not in table_csv.read_text().upper()  # identifying text is named by kind only
    assert figure_png.stat().st_size > 0


def test_an_unknown_engine_is_refused_before_any_image_is_read(tmp_path):
    with pytest.raises(ValueError, match="`privacy: phi_audit: ocr: engine` must be one of rapidocr, got 'stand_in'"):
        residual_text_job(
            {},
            tmp_path,
            ocr=OCR,
            key_file=tmp_path / "no.key",
            extra_strings=None,
            min_length=4,
            min_digits=6,
            table_csv=tmp_path / "t.csv",
            figure_png=tmp_path / "f.png",
        )
