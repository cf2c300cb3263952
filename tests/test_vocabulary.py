"""Tests for alnus.vocabulary: the model names and kinds every table and figure shares."""

import pytest

from alnus import metrics
from alnus.vocabulary import (
    COHORTS,
    KIND_ORDER,
    MODEL_KINDS,
    PREDICTION_SETS,
    SETS,
    TEST_SETS,
    combined_names,
    image_model_of,
    is_image_only,
    model_kind,
)


@pytest.mark.parametrize(
    "model, kind, image_only",
    [
        ("resnet101", "model", True),
        ("ensemble", "ensemble", True),
        ("resnet101+clinical", "combined", False),
        ("ensemble+clinical", "combined", False),
        ("clinical", "clinical", False),
    ],
)
def test_kinds(model, kind, image_only):
    assert model_kind(model) == kind and is_image_only(model) is image_only
    assert kind in MODEL_KINDS and kind in KIND_ORDER


def test_combined_names_follow_the_architectures_and_the_ensemble():
    assert combined_names(["a", "b"]) == ["a+clinical", "b+clinical", "ensemble+clinical", "clinical"]
    assert combined_names(["a"]) == ["a+clinical", "clinical"]
    assert combined_names(["a", "b"], ensemble=False) == ["a+clinical", "b+clinical", "clinical"]
    assert image_model_of("ensemble+clinical") == "ensemble" and image_model_of("a") == "a"


def test_one_home_for_the_cohorts_and_sets():
    assert COHORTS == ("development", "external")
    assert SETS == ("train", *PREDICTION_SETS) and PREDICTION_SETS == ("validation", *TEST_SETS)
    assert metrics.PREDICTION_SETS is PREDICTION_SETS and metrics.TEST_SETS is TEST_SETS
