"""Tests for alnus.vocabulary: the model names and kinds every table and figure shares."""

import pytest

from alnus.vocabulary import KIND_ORDER, MODEL_KINDS, combined_names, image_model_of, is_image_only, model_kind


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
