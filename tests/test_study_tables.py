"""Tests for alnus.study_tables: cohorts.csv and training_history.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alnus.study_tables import cohort_table, training_history_from_files, training_history_table

# --- cohorts -----------------------------------------------------------------------


def cohort_inputs():
    """splits.csv, the manifests and readers.csv of a small two-cohort study."""
    splits = pd.DataFrame(
        {
            "id": [f"d{k}" for k in range(10)] + ["e0", "e1", "e2"],
            "patient": ["p0", "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "q0", "q1", "q1"],
            "cohort": ["development"] * 10 + ["external"] * 3,
            "set": ["train"] * 6 + ["validation"] * 2 + ["internal_test"] * 2 + ["external_test"] * 3,
        }
    )
    manifests = {
        "development": pd.DataFrame({"id": [f"d{k}" for k in range(10)], "label": [0, 1] * 5}),
        "external": pd.DataFrame({"id": ["e0", "e1", "e2"], "label": [1, 1, 0]}),
    }
    readers = pd.DataFrame({"id": ["e0", "e1", "e0"], "reader": ["r1", "r1", "r2"], "set": "external_test"})
    return splits, manifests, readers


@pytest.fixture
def cohorts():
    return cohort_inputs()


def test_cohort_table_counts_images_patients_and_labels(cohorts):
    table = cohort_table(*cohorts).set_index(["cohort", "set"])
    assert table.loc[("development", "all")].tolist() == [10, 9, 5, 5, 0]
    assert table.loc[("development", "train")].tolist() == [6, 5, 3, 3, 0]
    assert table.loc[("external", "external_test")].tolist() == [3, 2, 2, 1, 2]
    assert table.loc[("external", "all"), "readers"] == 2


def test_cohort_table_refuses_an_id_without_label(cohorts):
    splits, manifests, readers = cohorts
    manifests = {**manifests, "external": manifests["external"].iloc[:2]}
    with pytest.raises(ValueError, match=r"ids \['e2'\] of splits.csv are in no preprocessed manifest"):
        cohort_table(splits, manifests, readers)


# --- training history --------------------------------------------------------------


def _history(epochs):
    return pd.DataFrame(
        {
            "epoch": range(1, epochs + 1),
            "lr": 1e-3,
            "train_loss": np.linspace(0.7, 0.2, epochs),
            "val_loss": np.linspace(0.7, 0.4, epochs),
            "val_auc": np.linspace(0.6, 0.9, epochs),
            "seconds": 1.0,
            "best": [e == epochs for e in range(1, epochs + 1)],
        }
    )


def test_training_history_table_puts_the_model_first(tmp_path):
    for model in ("inception_v3", "resnet101"):
        (tmp_path / model).mkdir()
        _history(3).to_csv(tmp_path / model / "history.tsv", sep="\t", index=False)
    table = training_history_from_files([str(tmp_path / m / "history.tsv") for m in ("inception_v3", "resnet101")])
    assert table.columns[0] == "model" and table["model"].tolist() == ["inception_v3"] * 3 + ["resnet101"] * 3


def test_training_history_table_names_the_bad_history():
    with pytest.raises(ValueError, match="results/models/resnet101/history.tsv lacks column"):
        training_history_table({"resnet101": _history(2).drop(columns="val_auc")})
