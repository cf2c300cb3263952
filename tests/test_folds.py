"""Tests for alnus.folds: fold models' names, the sets each sees, the
out-of-fold and fold-mean predictions, the ensemble's card and folds.csv."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from alnus.card_json import ModelCard
from alnus.folds import (
    FOLDS_COLUMNS,
    ensemble_card,
    fold_ensemble_job,
    fold_mean,
    fold_model,
    fold_of,
    fold_sets,
    folds_table,
    out_of_fold,
)


@pytest.mark.parametrize(
    "model, fold",
    [
        ("resnet101/fold-2", 2),
        ("inception_v3/fold-10", 10),
        ("resnet101", None),
        ("resnet101/seed-3", None),
        ("ensemble", None),
    ],
)
def test_fold_of(model, fold):
    assert fold_of(model) == fold


def test_fold_model_round_trips():
    assert fold_model("resnet101", 3) == "resnet101/fold-3" and fold_of(fold_model("resnet101", 3)) == 3


@pytest.fixture
def table() -> pd.DataFrame:
    """splits.csv as labelled_splits reads it: the fold column is float, NaN for the test rows."""
    return pd.DataFrame(
        {
            "id": list("abcdefgh"),
            "set": ["train", "train", "validation", "train", "validation", "internal_test", "external_test", "train"],
            "fold": [1, 2, 1, 3, 2, np.nan, np.nan, 3],
        }
    )


def test_fold_sets_hold_out_one_fold(table):
    sets = fold_sets(table, 2).set_index("id")["set"]
    assert sets.to_dict() == {
        "a": "train",
        "b": "validation",
        "c": "train",
        "d": "train",
        "e": "validation",
        "f": "internal_test",
        "g": "external_test",
        "h": "train",
    }
    assert fold_sets(table, None) is table
    assert list(table["set"])[:3] == ["train", "train", "validation"]  # the input is not changed


@pytest.mark.parametrize(
    "frame, fold, match",
    [
        (pd.DataFrame({"id": ["a"], "set": ["train"]}), 1, r"lacks \(made without `split: folds`\)"),
        (pd.DataFrame({"id": ["a"], "set": ["train"], "fold": [1]}), 4, r"no fold 4 \(its folds: \[1\]\)"),
    ],
)
def test_fold_sets_errors(frame, fold, match):
    with pytest.raises(ValueError, match=match):
        fold_sets(frame, fold)


def predictions(ids, probabilities, labels=None) -> pd.DataFrame:
    labels = labels if labels is not None else [i % 2 for i in range(len(ids))]
    return pd.DataFrame({"id": ids, "patient": [f"p{i}" for i in ids], "label": labels, "probability": probabilities})


def test_out_of_fold_concatenates_each_held_out_fold_once():
    table = out_of_fold({2: predictions(["c", "d"], [0.3, 0.4]), 1: predictions(["a", "b"], [0.1, 0.2])})
    assert list(table.columns) == ["id", "patient", "label", "probability", "fold"]
    assert list(table["id"]) == ["a", "b", "c", "d"] and list(table["fold"]) == [1, 1, 2, 2]
    with pytest.raises(ValueError, match=r"images \['b'\] are in the held-out predictions of two folds"):
        out_of_fold({1: predictions(["a", "b"], [0.1, 0.2]), 2: predictions(["b", "c"], [0.3, 0.4])})


def test_fold_mean_is_the_mean_probability():
    mean = fold_mean({1: predictions(["x", "y"], [0.2, 0.9]), 2: predictions(["x", "y"], [0.4, 0.5])})
    assert list(mean.columns) == ["id", "patient", "label", "probability"]
    np.testing.assert_allclose(mean["probability"], [0.3, 0.7])
    with pytest.raises(ValueError, match="fold 2's predictions list other images than fold 1's"):
        fold_mean({1: predictions(["x", "y"], [0.2, 0.9]), 2: predictions(["y", "x"], [0.4, 0.5])})


def card(fold: int, best: int) -> dict:
    return {
        "architecture": "resnet101",
        "input_size": 64,
        "fold": fold,
        "settings": {"epochs": 3},
        "versions": {"torch": "2"},
        "train_images": 30 + fold,
        "validation_images": 20 - fold,
        "training": {
            "best_epoch": best,
            "best_validation_auc": 0.6 + fold / 10,
            "epochs_run": 3,
            "still_improving": best == 3,
            "device": "cpu",
        },
    }


def test_ensemble_card_is_fold_1s_with_every_fold_listed():
    cards = {2: ModelCard.from_dict(card(2, 3)), 1: ModelCard.from_dict(card(1, 2))}
    made = ensemble_card(cards, weights={1: "w1", 2: "w2"}).to_dict()
    assert made["architecture"] == "resnet101" and made["training"]["best_epoch"] == 2  # fold 1's
    cv = made["cross_validation"]
    assert cv["folds"] == 2 and cv["shown_fold"] == 1
    assert [(m["fold"], m["weights"], m["best_epoch"], m["train_images"]) for m in cv["models"]] == [
        (1, "w1", 2, 31),
        (2, "w2", 3, 32),
    ]


def test_fold_ensemble_job_writes_out_of_fold_and_mean(tmp_path):
    paths, cards = {}, {}
    for k, held in ((1, ["a", "b"]), (2, ["c", "d"])):
        paths[k] = {}
        for set_name, frame in (
            ("validation", predictions(held, [0.1 * k, 0.2 * k])),
            ("internal_test", predictions(["t1", "t2"], [0.2 * k, 0.6])),
            ("external_test", predictions(["e1", "e2"], [0.1, 0.3 * k])),
        ):
            paths[k][set_name] = tmp_path / f"fold-{k}-{set_name}.csv"
            frame.to_csv(paths[k][set_name], index=False)
        cards[k] = tmp_path / f"card-{k}.json"
        cards[k].write_text(json.dumps(card(k, k)))
    outputs = {s: tmp_path / f"{s}.csv" for s in ("validation", "internal_test", "external_test")}
    fold_ensemble_job(
        cards=cards, weights={1: "w1", 2: "w2"}, predictions=paths, outputs=outputs, out_card=tmp_path / "card.json"
    )
    validation = pd.read_csv(outputs["validation"])
    assert list(validation["id"]) == ["a", "b", "c", "d"] and list(validation["fold"]) == [1, 1, 2, 2]
    np.testing.assert_allclose(pd.read_csv(outputs["internal_test"])["probability"], [0.3, 0.6])
    np.testing.assert_allclose(pd.read_csv(outputs["external_test"])["probability"], [0.1, 0.45])
    assert json.loads((tmp_path / "card.json").read_text())["cross_validation"]["folds"] == 2


def test_folds_table_rows_and_clustered_out_of_fold_interval():
    rng = np.random.default_rng(0)

    def frame(n, patients):
        labels = np.tile([0, 1], n // 2)
        return pd.DataFrame(
            {
                "id": [f"i{i}" for i in range(n)],
                "patient": [f"p{i % patients}" for i in range(n)],
                "label": labels,
                "probability": labels * 0.3 + rng.random(n) * 0.7,
            }
        )

    per_fold = {
        k: {"validation": frame(20, 20), "internal_test": frame(16, 16), "external_test": frame(16, 16)} for k in (1, 2)
    }
    # Out-of-fold: 40 images of 20 patients, two each (ids i, i+20 share patient p(i mod 20)).
    ensembles = {"validation": frame(40, 20), "internal_test": frame(16, 16), "external_test": frame(16, 16)}
    table = folds_table({"resnet101": per_fold}, {"resnet101": ensembles}, level=0.95)
    assert list(table.columns) == FOLDS_COLUMNS and len(table) == 2 * 3 + 3
    assert list(table["fold"]) == ["1"] * 3 + ["2"] * 3 + ["out-of-fold", "mean", "mean"]
    oof = table[table["fold"] == "out-of-fold"].iloc[0]
    assert oof["set"] == "validation" and oof["n"] == 40 and oof["patients"] == 20
    assert "clustered by patient" in oof["ci_method"] and oof["auc_low"] < oof["auc"] < oof["auc_high"]
    assert (table.loc[table["fold"] != "out-of-fold", "ci_method"] == "delong").all()
