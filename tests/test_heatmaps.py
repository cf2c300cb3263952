"""Tests for alnus.heatmaps: the choice of the cases whose heat maps are drawn."""

from __future__ import annotations

import pandas as pd
import pytest

from alnus.heatmaps import select_cases


def outcome_frame():
    """One model's predictions: six positives and four negatives around 0.5."""
    return pd.DataFrame(
        {
            "id": ["a", "b", "i", "c", "d", "j", "e", "f", "g", "h"],
            "label": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
            "probability": [0.9, 0.7, 0.6, 0.4, 0.1, 0.3, 0.8, 0.55, 0.3, 0.3],
        }
    )


@pytest.fixture
def outcomes():
    return outcome_frame()


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("most_confident", ["a", "d", "e", "g"]),
        ("least_confident", ["i", "c", "f", "g"]),
        ("median", ["b", "j", "e", "g"]),
    ],
)
def test_select_cases_is_deterministic(outcomes, rule, expected):
    cases = select_cases(outcomes, 0.5, rule=rule)
    assert cases["category"].tolist() == ["TP", "FN", "FP", "TN"]
    assert cases["id"].tolist() == expected


def test_select_cases_leaves_out_an_empty_outcome(outcomes):
    cases = select_cases(outcomes[outcomes["label"] == 1], 0.5, per_category=2)
    assert cases["category"].tolist() == ["TP", "TP", "FN", "FN"] and cases["id"].tolist() == ["a", "b", "d", "j"]


@pytest.mark.parametrize(
    "options, match", [({"rule": "random"}, "unknown selection `rule` 'random'"), ({"per_category": 0}, "at least 1")]
)
def test_select_cases_refuses(outcomes, options, match):
    with pytest.raises(ValueError, match=match):
        select_cases(outcomes, 0.5, **options)
