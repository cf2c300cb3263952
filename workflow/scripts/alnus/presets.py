"""The training preset a config resolves to. Light (no third-party import),
so that the workflow's rule files can read it when they start."""

from __future__ import annotations


def resolve_preset(training_schema: dict, training: dict) -> dict:
    """The chosen preset's settings: config `training.<preset>` over that
    preset's default in the schema, `input_size` merged per architecture, so
    that `training: {demo: {epochs: 3}}` keeps the demo's other settings.

    training_schema : the schema's `properties.training.properties`.
    training : the config's `training` section (`preset` may be absent: the
        schema's default preset then).
    """
    name = training.get("preset", training_schema["preset"]["default"])
    defaults, given = training_schema[name]["default"], training.get(name) or {}
    return {**defaults, **given, "input_size": {**defaults["input_size"], **given.get("input_size", {})}}
