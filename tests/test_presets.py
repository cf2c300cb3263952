"""The preset a config resolves to, and the training settings made from it."""

from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from alnus.presets import resolve_preset
from alnus.train import TrainSettings

SCHEMA = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"
TRAINING = yaml.safe_load(SCHEMA.read_text())["properties"]["training"]["properties"]


def test_a_partial_preset_keeps_the_schema_defaults_and_the_other_architectures_sizes():
    preset = resolve_preset(TRAINING, {"preset": "cpu", "cpu": {"epochs": 3, "input_size": {"resnet101": 128}}})
    assert preset["epochs"] == 3
    assert preset["input_size"] == {"inception_v3": 160, "inception_resnet_v2": 160, "resnet101": 128}
    assert preset["normalisation"] == TRAINING["cpu"]["default"]["normalisation"]


def test_without_a_preset_key_the_schema_default_preset_is_used():
    assert resolve_preset(TRAINING, {}) == TRAINING[TRAINING["preset"]["default"]]["default"]


def test_settings_from_a_preset_take_its_fields_and_default_the_rest():
    preset = resolve_preset(TRAINING, {"preset": "demo", "demo": {"ema_decay": 0.99}})
    settings = TrainSettings.from_preset(preset, seed=7, input_channels=1, compile=False)
    assert (settings.epochs, settings.batch_size, settings.seed, settings.input_channels) == (
        preset["epochs"],
        preset["batch_size"],
        7,
        1,
    )
    assert settings.ema_decay == 0.99 and settings.label_smoothing == 0.0 and settings.precise_bn is False


@pytest.mark.parametrize("name", ["paper", "demo", "cpu"])
def test_every_preset_block_of_the_schema_holds_every_setting(name):
    """The schema is the one home of the defaults: each preset's block gives
    every TrainSettings field that a preset sets, and the three it also holds
    (input size and the augmentation's three)."""
    preset = resolve_preset(TRAINING, {"preset": name})
    settings = TrainSettings.from_preset(preset, seed=1, input_channels=3, compile=False)
    fields = set(TrainSettings.__dataclass_fields__) - {"seed", "input_channels", "compile"}
    assert set(preset) == fields | {"input_size", "augmentation", "affine", "aspect_jitter"}
    assert {key: getattr(settings, key) for key in fields} == {key: preset[key] for key in fields}


def test_settings_from_a_jobs_config_take_the_stem_and_compile_switches():
    config = {
        "seed": 2019,
        "training": {"input_channels": 1, "compile": True},
        "resolved_preset": resolve_preset(TRAINING, {"preset": "demo"}),
    }
    settings = TrainSettings.from_config(config, seed=11)
    assert (settings.seed, settings.input_channels, settings.compile) == (11, 1, True)
    assert settings.epochs == TRAINING["demo"]["default"]["epochs"]


def test_a_preset_not_resolved_against_the_schema_is_refused():
    with pytest.raises(ValueError, match=r"the training preset lacks \['label_smoothing'\]; resolve it against"):
        TrainSettings.from_preset(
            {k: v for k, v in TRAINING["demo"]["default"].items() if k != "label_smoothing"},
            seed=1,
            input_channels=3,
            compile=False,
        )


@pytest.mark.parametrize("key", ["augmentation", "affine", "aspect_jitter"])
def test_a_negative_augmentation_strength_is_refused_naming_the_key(key):
    """The schema's `minimum: 0` refuses a negative strength when the workflow
    validates the config; Snakemake's message names the value, the minimum and
    the key's place in the config."""
    config = {
        "cohorts": {c: {"manifest": "m.csv", "images": "images"} for c in ("development", "external")},
        "training": {"cpu": {key: -0.5}},
    }
    with pytest.raises(WorkflowError) as refused:
        validate(config, str(SCHEMA))
    message = str(refused.value)
    assert "-0.5 is less than the minimum of 0" in message
    assert f"instance['training']['cpu']['{key}']" in message
