"""The machine-readable model card, results/models/{arch}/model_card.json,
as one typed record: `ModelCard`, written by `alnus.study.train_job` (and
`alnus.folds.ensemble_card` for a fold ensemble) and read by the predict and
heat-map jobs and the report (`alnus.run_facts`, `alnus.model_cards`,
`alnus.checklists`). Light (standard library only), so that the report's
environment reads cards without torch.

Cards of earlier versions of the pipeline still load: a field such a card
lacks is None, which the report prints as "not recorded"; a key this version
does not know is kept and written back unchanged.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

# Cards written before config `training: input_channels` existed record no
# channels: every model then had the three-channel stem.
CHANNELS_BEFORE_THE_OPTION = 3


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """One trained model's card; None (or an empty dict) where the card does
    not record a field. The fields, in the order model_card.json lists them:

    architecture : key of `alnus.models.ARCHITECTURES`.
    timm_name : the network's timm name.
    input_size : side of the square input, in pixels.
    pretrained : "none", the imagenet weights file, or a checkpoint path.
    seed : the model's training seed.
    fold : the held-out fold of a fold model (config `split: folds`), else None.
    settings : the `alnus.train.TrainSettings` of the run, as a dict.
    training : what happened in training (`alnus.study.train_job` lists it).
    train_images, validation_images : images trained on and selected on.
    data_sha256 : file name -> SHA-256 of the splits and manifests.
    versions : package -> version (alnus, python, torch, timm).
    config : the job's config (`training`, `resolved_preset`, `seed`).
    cross_validation : a fold ensemble's record (`alnus.folds.ensemble_card`), else None.
    other : keys of the JSON this version does not know, kept as they are.
    """

    architecture: str | None = None
    timm_name: str | None = None
    input_size: int | None = None
    pretrained: str | None = None
    seed: int | None = None
    fold: int | None = None
    settings: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    train_images: int | None = None
    validation_images: int | None = None
    data_sha256: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    cross_validation: dict | None = None
    other: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, record: dict) -> ModelCard:
        """The card of a model_card.json's content; absent fields are None."""
        known = {f.name for f in dataclasses.fields(cls)} - {"other"}
        return cls(
            **{k: v for k, v in record.items() if k in known},
            other={k: v for k, v in record.items() if k not in known},
        )

    def to_dict(self) -> dict:
        """The JSON content: every field in order, `fold` and
        `cross_validation` only where set, then the unknown keys."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "other"}
        for optional in ("fold", "cross_validation"):
            if out[optional] is None:
                del out[optional]
        return out | self.other

    @classmethod
    def from_json(cls, path: str | Path) -> ModelCard:
        """Read a model_card.json."""
        return cls.from_dict(json.loads(Path(path).read_text()))

    def to_json(self, path: str | Path) -> None:
        """Write the card as model_card.json (indented; values JSON cannot
        hold, such as paths, as their text)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")

    def setting(self, name: str):
        """The training setting `name` (a `TrainSettings` field), or None
        where the card does not record it."""
        return self.settings.get(name)

    @property
    def input_channels(self) -> int:
        """Input channels of the model's stem (3 for a card written before
        the option, CHANNELS_BEFORE_THE_OPTION)."""
        recorded = self.setting("input_channels")
        return CHANNELS_BEFORE_THE_OPTION if recorded is None else recorded
