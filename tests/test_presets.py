"""The preset a config resolves to, and the training settings made from it."""

from pathlib import Path

import yaml

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
    settings = TrainSettings.from_preset(preset, seed=7, input_channels=1)
    assert (settings.epochs, settings.batch_size, settings.seed, settings.input_channels) == (
        preset["epochs"],
        preset["batch_size"],
        7,
        1,
    )
    assert settings.ema_decay == 0.99 and settings.label_smoothing == 0.0 and settings.precise_bn is False
