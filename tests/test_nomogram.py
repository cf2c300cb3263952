"""Tests for alnus.nomogram: points scales that reproduce the model's probability."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from alnus.nomogram import MAX_POINTS, nomogram_from_file, scales, spaced, total_scale

CARD = {
    "model": "resnet101+clinical",
    "image_model": "resnet101",
    "fitted_on": "validation",
    "intercept": -1.0,
    "terms": [
        {
            "term": "network_logit",
            "variable": "network_logit",
            "kind": "logit",
            "label": "resnet101",
            "coefficient": 0.8,
            "range": [-3.0, 3.0],
        },
        {
            "variable": "age",
            "kind": "numeric",
            "label": "Age (years)",
            "term": "age",
            "coefficient": -0.04,
            "range": [30.0, 80.0],
        },
        {
            "variable": "birads",
            "kind": "ordinal",
            "label": "BI-RADS",
            "term": "birads",
            "coefficient": 0.9,
            "range": [0.0, 4.0],
            "levels": ["3", "4a", "4b", "4c", "5"],
        },
        {
            "variable": "grade",
            "kind": "categorical",
            "label": "Grade",
            "levels": ["1", "2", "3"],
            "coefficients": [0.0, 0.3, -0.2],
        },
    ],
}


def test_the_widest_predictor_spans_100_points_and_the_others_scale_with_it():
    rows = {r["label"]: r for r in scales(CARD)}
    assert set(rows) == {"ResNet-101 probability", "Age (years)", "BI-RADS", "Grade"}
    spans = {name: r["span"] for name, r in rows.items()}
    assert spans["BI-RADS"] == pytest.approx(3.6) and spans["ResNet-101 probability"] == pytest.approx(4.8)
    assert max(r["points"].max() for r in rows.values()) <= MAX_POINTS  # the network's ticks are round probabilities
    assert rows["BI-RADS"]["points"].tolist() == pytest.approx([0, 18.75, 37.5, 56.25, 75])
    # Age lowers the risk: the oldest age has 0 points, the youngest the most.
    assert rows["Age (years)"]["points"][-1] < rows["Age (years)"]["points"][0]
    assert rows["BI-RADS"]["ticks"] == ["3", "4a", "4b", "4c", "5"]
    assert rows["Grade"]["points"].tolist() == pytest.approx([2 / 4.8 * 100 * 0.1, 0.5 / 4.8 * 100, 0.0])


def test_points_add_up_to_the_models_probability():
    rows = scales(CARD)
    most, ticks, points = total_scale(CARD, rows)
    assert most == pytest.approx(sum(r["span"] for r in rows) / 4.8 * 100)
    # A case: network probability 0.5 (logit 0), age 50, BI-RADS 4b (rank 2), grade 2.
    lp = -1.0 + 0.8 * 0 - 0.04 * 50 + 0.9 * 2 + 0.3
    total = (0.8 * 0 - 0.8 * -3) / 4.8 * 100 + (-0.04 * 50 + 0.04 * 80) / 4.8 * 100 + 1.8 / 4.8 * 100 + 0.5 / 4.8 * 100
    p = 1 / (1 + np.exp(-lp))
    assert np.interp(p, ticks, points) == pytest.approx(total, rel=0.05)


def test_the_figure_is_written(tmp_path):
    card = tmp_path / "card.json"
    card.write_text(json.dumps(CARD))
    nomogram_from_file(str(card), png=str(tmp_path / "n.png"), pdf=str(tmp_path / "n.pdf"))
    image = cv2.imread(str(tmp_path / "n.png"))
    assert image is not None and image.shape[1] > 1500
    assert (tmp_path / "n.pdf").read_bytes().startswith(b"%PDF")


def test_ticks_closer_than_the_gap_are_left_unlabelled():
    assert spaced(np.array([0.0, 1.0, 2.0, 10.0, 12.0, 30.0])) == [0, 3, 5]
    assert spaced(np.array([30.0, 20.0, 0.0])) == [2, 1, 0]  # a falling scale: the order of the positions counts


def test_a_model_without_effects_has_no_nomogram():
    flat = CARD | {"terms": [CARD["terms"][1] | {"coefficient": 0.0}]}
    with pytest.raises(ValueError, match="every coefficient is 0"):
        scales(flat)
