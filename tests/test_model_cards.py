"""Tests for alnus.model_cards: the readable model card of one architecture,
from a small finished study (tests/test_run_facts.write_run)."""

from __future__ import annotations

import json
import re

import pytest
from test_run_facts import TRAINING_RECORD, study_config, write_run

from alnus import model_cards
from alnus import run_facts as facts
from alnus.formatting import format_auc

SECTIONS = [
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Training data",
    "Evaluation data",
    "Quantitative analyses",
    "Ethical considerations",
    "Caveats and recommendations",
    "Metadata (MONAI bundle fields)",
]


@pytest.fixture
def run(tmp_path):
    return facts.load_run(write_run(tmp_path / "run"), config=study_config(), simulated=True)


def test_card_has_the_model_card_sections_in_order(run):
    headings = [b[2] for b in model_cards.card_blocks("inception_v3", run) if b[0] == "heading" and b[1] == 2]
    assert headings == SECTIONS


def test_card_reports_each_test_set_with_its_interval(run, tmp_path):
    model_cards.write_model_card("inception_v3", run, markdown=str(tmp_path / "c.md"), html=str(tmp_path / "c.html"))
    text = (tmp_path / "c.md").read_text()
    m = run.metrics
    for set_name, title in (("internal_test", "Internal test set"), ("external_test", "External test set")):
        row = m[(m["model"] == "inception_v3") & (m["set"] == set_name) & (m["unit"] == "image")].iloc[0]
        assert (
            f"| {title} | image | {int(row['n'])} ({int(row['positives'])} positive) | "
            f"AUC {format_auc(row['auc'], row['auc_low'], row['auc_high'])};" in text
        )
    assert "| External test set | B2 | 20 | 10 | 10 |" in text  # training and evaluation data by site and label
    assert "<h2>Caveats and recommendations</h2>" in (tmp_path / "c.html").read_text()


def test_card_states_the_threshold_shift_and_the_training_record(run):
    text = "\n".join(str(b) for b in model_cards.card_blocks("resnet101", run))
    shift = facts.threshold_shift(run, "resnet101")
    assert f"at its one validation threshold ({shift['threshold']:.3f})" in text
    assert f"sensitivity is {shift['internal'][0]:.0%} on the internal and {shift['external'][0]:.0%}" in text
    assert "7 of 12 run (validation AUC 0.812)" in text
    assert "['Processor', 'not recorded (device `cpu`, 2 threads)']" in text
    assert "['Capability of the processor', 'not recorded (native bf16: not recorded)']" in text
    assert "simulated demo data" in text


def test_card_reads_the_newer_training_record_fields(tmp_path):
    record = {
        **TRAINING_RECORD,
        "processor": "Intel Xeon Platinum",
        "capability": "amx_bf16",
        "native_bf16": True,
        "seconds_per_epoch": [41.0, 41.52],
        "precision": "bf16",
        "still_improving": True,
    }
    run = facts.load_run(write_run(tmp_path, card_extra={"training": record}), config=study_config())
    rows = dict(next(b for b in model_cards.card_blocks("inception_v3", run) if b[0] == "table")[2])
    assert rows["Processor"] == "Intel Xeon Platinum (device `cpu`, 2 threads)"
    assert rows["Capability of the processor"] == "amx_bf16 (native bf16: yes)"
    assert rows["Seconds per epoch"] == "41.3" and rows["Precision used"] == "bf16"
    assert rows["Still improving at the last epoch"] == "yes"


def test_monai_metadata_describes_inputs_and_outputs(run):
    meta = model_cards.monai_metadata("inception_v3", run.cards["inception_v3"])
    image = meta["network_data_format"]["inputs"]["image"]
    assert image["spatial_shape"] == [112, 112] and image["num_channels"] == 3 and image["modality"] == "US"
    assert "ImageNet" in image["value_range"]
    assert meta["network_data_format"]["outputs"]["pred"]["value_range"] == [0, 1]
    assert meta["pytorch_version"] == "2.14.1" and json.loads(json.dumps(meta)) == meta


def test_an_architecture_without_a_card_is_named(run):
    message = "no model card for architecture 'resnet50'; the run has inception_v3, resnet101"
    with pytest.raises(ValueError, match=re.escape(message)):
        model_cards.card_blocks("resnet50", run)


def test_a_fold_ensembles_card_says_so_and_lists_every_fold(tmp_path):
    """split: folds: the card (alnus.folds.ensemble_card) names the ensemble,
    the fold whose record the other rows give, and each fold's epoch."""
    models = [
        {
            "fold": k,
            "weights": f"results/models/inception_v3/fold-{k}/model.safetensors",
            "best_epoch": k + 1,
            "best_validation_auc": 0.7 + k / 100,
            "epochs_run": 4,
            "still_improving": False,
            "train_images": 90,
            "validation_images": 45,
        }
        for k in (1, 2)
    ]
    extra = {"cross_validation": {"folds": 2, "combined_by": "mean", "shown_fold": 1, "models": models}}
    run = facts.load_run(write_run(tmp_path, card_extra=extra), config=study_config())
    rows = dict(next(b for b in model_cards.card_blocks("inception_v3", run) if b[0] == "table")[2])
    assert rows["Cross-validation"].startswith("2-fold ensemble: the mean probability of 2 models")
    assert "heat maps are fold 1's model's" in rows["Cross-validation"]
    assert rows["Selected epoch of each fold"] == (
        "fold 1: epoch 2 of 4 (AUC 0.710 on its held-out fold, 45 images; "
        "trained on 90); fold 2: epoch 3 of 4 (AUC 0.720 on its held-out "
        "fold, 45 images; trained on 90)"
    )
    assert "fold-*/model.safetensors" in rows["Version"]
    text = "\n".join(str(b) for b in model_cards.card_blocks("inception_v3", run))
    assert "dealt by patient into 2 folds" in text


def test_a_single_split_card_has_no_fold_rows(run):
    rows = dict(next(b for b in model_cards.card_blocks("inception_v3", run) if b[0] == "table")[2])
    assert "Cross-validation" not in rows and rows["Version"].endswith(
        "`results/models/inception_v3/model.safetensors`"
    )
