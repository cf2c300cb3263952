"""Tests for alnus.vocabulary: the model names and kinds every table and figure shares."""

from pathlib import Path

import pytest
import yaml

from alnus import metrics, models, style
from alnus.data import NORMALISATIONS
from alnus.model_cards import NORMALISATION_TEXT
from alnus.vocabulary import (
    ARCHITECTURE_NAMES,
    COHORT_NAMES,
    COHORTS,
    DISPLAY_NAMES,
    KIND_ORDER,
    MODEL_KINDS,
    PREDICTION_SETS,
    SET_NAMES,
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


def test_the_architectures_have_one_list_that_the_models_schema_names_and_colours_follow():
    """alnus.vocabulary names the study's networks once; the model registry,
    the schema's enum and default, the printed names and the colours must
    cover exactly those (a network added in one place only fails here)."""
    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow" / "schemas" / "config.schema.yaml").read_text())
    architectures = schema["properties"]["architectures"]
    assert tuple(models.ARCHITECTURES) == ARCHITECTURE_NAMES
    assert tuple(architectures["items"]["enum"]) == ARCHITECTURE_NAMES == tuple(architectures["default"])
    assert set(ARCHITECTURE_NAMES) <= set(DISPLAY_NAMES) and set(ARCHITECTURE_NAMES) <= set(style.MODEL_COLORS)


def test_every_set_and_cohort_has_a_printed_name():
    assert tuple(SET_NAMES) == SETS and tuple(COHORT_NAMES) == COHORTS


def test_the_normalisations_have_one_list_that_the_schema_and_the_cards_follow():
    """alnus.data.NORMALISATIONS is what `normalise` accepts; the schema's enum
    and the model card's wording must name exactly those."""
    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow" / "schemas" / "config.schema.yaml").read_text())
    enum = schema["$defs"]["preset"]["properties"]["normalisation"]["enum"]
    assert tuple(enum) == NORMALISATIONS and tuple(NORMALISATION_TEXT) == NORMALISATIONS
