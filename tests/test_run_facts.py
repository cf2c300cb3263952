"""Tests for alnus.run_facts: a finished run's outputs read back, and the
counts, performance and recorded training details cited from them.

`write_run` builds a small finished study on disk with the library's own
table builders (cohort_table, metrics_table, calibration_table), so the
files have the columns the workflow writes; tests/test_checklists.py and
tests/test_model_cards.py use it too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from snakemake.utils import validate

from alnus import run_facts as facts
from alnus.calibration import calibration_table
from alnus.card_json import ModelCard
from alnus.formatting import format_auc, format_proportion
from alnus.metrics import metrics_table
from alnus.study_tables import cohort_table

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
ARCHS = ("inception_v3", "resnet101")
SETS = {"train": 40, "validation": 10, "internal_test": 10}


def study_config(**overrides) -> dict:
    """A configuration as the workflow validates it, every default filled in."""
    config = {
        "cohorts": {
            c: {"manifest": f"resources/demo/{c}/manifest.csv", "images": f"resources/demo/{c}/images"}
            for c in ("development", "external")
        },
        "readers": "resources/demo/readers.csv",
        "architectures": list(ARCHS),
        **overrides,
    }
    validate(config, str(SCHEMA))
    return config


# The `training` record of a card as alnus.study.train_job writes it (processor left out).
TRAINING_RECORD = {
    "best_epoch": 7,
    "best_validation_auc": 0.8125,
    "epochs_run": 12,
    "device": "cpu",
    "precision": "fp32",
    "threads": 2,
    "seconds_per_epoch": [10.0, 12.0, 14.0],
}


def _model_card(arch: str, **extra) -> dict:
    return {
        "architecture": arch,
        "timm_name": arch,
        "input_size": 112 if arch == "inception_v3" else 96,
        "pretrained": "none",
        "seed": 2019,
        "settings": {
            "epochs": 12,
            "batch_size": 16,
            "learning_rate": 0.001,
            "weight_decay": 0.0001,
            "warmup_epochs": 1,
            "patience": 5,
            "seed": 2019,
            "normalisation": "imagenet",
            "input_channels": 3,
        },
        "training": TRAINING_RECORD,
        "versions": {"alnus": "0.1.0", "python": "3.11.7", "torch": "2.14.1", "timm": "1.0.31"},
        **extra,
    }


def write_run(root: Path, *, readers: bool = True, sites: bool = True, card_extra: dict | None = None) -> dict:
    """A small finished study under `root`: 60 development images of 30
    patients (two images each; train 40, validation 10, internal test 10)
    and 40 external images of 40 patients, two architectures, and readers.
    Returns the paths as alnus.run_facts.load_run takes them."""
    rng = np.random.default_rng(3)
    rows, manifests = [], {}
    dev_ids = [f"d{i:03d}" for i in range(60)]
    dev = pd.DataFrame(
        {"id": dev_ids, "patient": [f"p{i // 2:03d}" for i in range(60)], "label": [(i // 2) % 2 for i in range(60)]}
    )
    ext = pd.DataFrame(
        {
            "id": [f"e{i:03d}" for i in range(40)],
            "patient": [f"q{i:03d}" for i in range(40)],
            "label": [i % 2 for i in range(40)],
        }
    )
    if sites:
        dev["site"], ext["site"] = "A", np.where(np.arange(40) < 20, "B1", "B2")
    manifests = {"development": dev, "external": ext}
    bounds = np.cumsum([0, *SETS.values()])
    for (name, _), start, stop in zip(SETS.items(), bounds[:-1], bounds[1:]):
        part = dev.iloc[start:stop]
        rows.append(part[["id", "patient"]].assign(cohort="development", set=name))
    rows.append(ext[["id", "patient"]].assign(cohort="external", set="external_test"))
    splits = pd.concat(rows, ignore_index=True)
    labels = pd.concat([dev, ext])[["id", "label"]]
    predictions = {}
    for k, arch in enumerate(ARCHS):
        predictions[arch] = {}
        for set_name in ("validation", "internal_test", "external_test"):
            part = splits[splits["set"] == set_name].merge(labels, on="id")
            shift = 0.0 if set_name != "external_test" else -0.15  # the external scanner lowers the scores
            prob = np.clip(0.3 + 0.4 * part["label"] + shift + rng.normal(0, 0.25 + 0.05 * k, len(part)), 0.01, 0.99)
            predictions[arch][set_name] = part[["id", "patient", "label"]].assign(probability=prob)
    reader_calls = None
    if readers:
        ext_pred = predictions[ARCHS[0]]["external_test"]
        reader_calls = pd.concat(
            [
                ext_pred[["id", "patient", "label"]].assign(
                    reader=f"reader_{r}",
                    set="external_test",
                    call=np.where(rng.random(len(ext_pred)) < 0.75, ext_pred["label"], 1 - ext_pred["label"]),
                )
                for r in (1, 2)
            ],
            ignore_index=True,
        )
    out = {"manifests": {}, "cards": {}, "annotations": {}, "residual_text": {}}
    root.mkdir(parents=True, exist_ok=True)
    for cohort, manifest in manifests.items():
        out["manifests"][cohort] = str(root / f"{cohort}_manifest.csv")
        manifest.to_csv(out["manifests"][cohort], index=False)
        ann = pd.DataFrame(
            {"id": manifest["id"], "mode": "remove", "text": [1, 0] * (len(manifest) // 2), "caliper": 0, "line": 0}
        )
        out["annotations"][cohort] = str(root / f"{cohort}_annotations.csv")
        ann.to_csv(out["annotations"][cohort], index=False)
        residual = pd.DataFrame({"image": ["x.png"], "text": ["L"], "identifying": [""], "confidence": [0.9]})
        out["residual_text"][cohort] = str(root / f"{cohort}_residual_text.csv")
        residual.to_csv(out["residual_text"][cohort], index=False)
    for arch in ARCHS:
        out["cards"][arch] = str(root / f"{arch}_model_card.json")
        Path(out["cards"][arch]).write_text(json.dumps(_model_card(arch, **(card_extra or {}))))
    tables = {
        "splits": splits,
        "cohorts": cohort_table(splits, manifests, reader_calls),
        "metrics": metrics_table(predictions, reader_calls),
        "calibration": calibration_table(predictions),
        "versions": pd.DataFrame(
            {
                "package": ["python", "torch", "timm"],
                "pinned": ["3.11", "2.14.1", "1.0.31"],
                "installed": ["3.11.7", "2.14.1", "1.0.31"],
            }
        ),
        "input_check": pd.DataFrame({"cohort": ["development", "external"], "images": [60, 40]}),
        "duplicates": pd.DataFrame(
            columns=["cohort_a", "id_a", "patient_a", "cohort_b", "id_b", "patient_b", "distance", "identical"]
        ),
    }
    if readers:
        tables["readers"] = reader_calls
    for name, table in tables.items():
        sep = "\t" if name in ("input_check", "duplicates") else ","
        out[name] = str(root / f"{name}.{'tsv' if sep == chr(9) else 'csv'}")
        table.to_csv(out[name], sep=sep, index=False)
    out["heatmaps"] = [str(root / "inception_v3_external_test.png")]
    return out


@pytest.fixture
def run(tmp_path):
    return facts.load_run(write_run(tmp_path), config=study_config(), simulated=True)


# --- reading ------------------------------------------------------------------------


def test_load_run_reads_every_output(run):
    assert set(run.cards) == set(ARCHS) and set(run.manifests) == {"development", "external"}
    assert run.readers is not None and run.calibration is not None and run.mrmc is None
    assert len(run.splits) == 100 and run.duplicates.empty


def test_load_run_names_a_missing_required_output(tmp_path):
    paths = write_run(tmp_path)
    del paths["metrics"]
    with pytest.raises(ValueError, match=r"needs the outputs \['metrics'\]"):
        facts.load_run(paths, config=study_config())


# --- counts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "images, patients, positives, expected",
    [
        (1234, 567, 370, "1,234 images of 567 patients; 370 positive (30%)"),
        (0, 0, 0, "0 images of 0 patients; 0 positive"),
    ],
)
def test_count_text(images, patients, positives, expected):
    assert facts.count_text(images, patients, positives) == expected


def test_set_counts_of_sets_and_cohorts(run):
    assert facts.set_counts(run, "train") == {"images": 40, "patients": 20, "positives": 20, "negatives": 20}
    assert facts.set_counts(run, "external") == {"images": 40, "patients": 40, "positives": 20, "negatives": 20}
    assert facts.set_counts(run, "no_such_set") is None and facts.set_text(run, "no_such_set") == "none"


def test_sites_and_training_sites_count_images_by_site_and_label(run, tmp_path):
    assert facts.sites(run) == {"development": {"A": 60}, "external": {"B1": 20, "B2": 20}}
    table = facts.training_sites(run)
    assert list(table["set"]) == ["train", "validation", "internal_test", "external_test", "external_test"]
    assert table.loc[table["site"] == "B1", ["images", "positives", "negatives"]].values.tolist() == [[20, 10, 10]]
    bare = facts.load_run(write_run(tmp_path / "bare", sites=False), config=study_config())
    assert facts.sites(bare) == {"development": {}, "external": {}}
    assert set(facts.training_sites(bare)["site"]) == {"not given"}


# --- performance ------------------------------------------------------------------------


def test_best_row_is_the_highest_auc_among_models(run):
    rows = facts.rows_of(run, set_name="external_test")
    assert set(rows["kind"]) <= {"model", "ensemble"}
    assert facts.best_row(run)["auc"] == rows["auc"].max()


def test_performance_text_cites_counts_and_intervals(run):
    row = facts.best_row(run)
    text = facts.performance_text(row)
    sensitivity = format_proportion(
        int(row["tp"]), int(row["tp"] + row["fn"]), row["sensitivity_low"], row["sensitivity_high"]
    )
    assert text.startswith(f"AUC {format_auc(row['auc'], row['auc_low'], row['auc_high'])}; ")
    assert f"; sensitivity {sensitivity}; specificity " in text and "; accuracy " in text


def test_threshold_shift_reads_one_threshold_on_both_test_sets(run):
    shift = facts.threshold_shift(run, "inception_v3")
    m = run.metrics
    internal = m[(m["model"] == "inception_v3") & (m["set"] == "internal_test") & (m["unit"] == "image")].iloc[0]
    assert shift["threshold"] == pytest.approx(internal["threshold"])
    assert shift["internal"] == (pytest.approx(internal["sensitivity"]), pytest.approx(internal["specificity"]))
    assert facts.threshold_shift(run, "no_such_model") is None


# --- model cards -------------------------------------------------------------------------


def test_card_value_reads_the_training_record():
    card = ModelCard.from_dict(
        {
            "training": {
                "best_epoch": 4,
                "processor": "Intel Xeon",
                "native_bf16": True,
                "seconds_per_epoch": [12.0, 12.69],
            }
        }
    )
    assert facts.card_value(card, "chosen_epoch") == 4
    assert facts.card_text(card, "processor") == "Intel Xeon"
    assert facts.card_text(card, "bf16") == "yes"
    assert facts.card_text(card, "seconds_per_epoch", fmt="{:.1f}") == "12.3"  # the mean over epochs
    assert facts.card_text(card, "precision") == facts.NOT_RECORDED
    only_top_level = ModelCard.from_dict({"best_epoch": 4})
    assert facts.card_text(only_top_level, "chosen_epoch") == facts.NOT_RECORDED  # only the record counts


def test_versions_text_prefers_the_installed_versions(run):
    assert facts.versions_text(run) == "python 3.11.7, torch 2.14.1, timm 1.0.31"
    run.versions = None
    assert facts.versions_text(run, ("torch", "timm")) == "torch 2.14.1, timm 1.0.31"


@pytest.mark.parametrize("epochs, expected", [(6, "6 epochs"), (1, "1 epoch"), (None, facts.NOT_RECORDED)])
def test_epochs_text(epochs, expected):
    assert facts.epochs_text(epochs) == expected


@pytest.mark.parametrize(
    "value, low, high, expected",
    [
        (1.034, 0.36, 1.714, "1.03 (0.36, 1.71)"),
        (1.034, None, None, "1.03"),
        (float("nan"), float("nan"), float("nan"), "not estimable"),
        (float("nan"), None, None, "not estimable"),
    ],
)
def test_estimate_text(value, low, high, expected):
    assert facts.estimate_text(value, low, high) == expected
