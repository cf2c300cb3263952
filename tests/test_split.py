"""Tests for alnus.split: patient-level, label-stratified, seeded split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alnus.split import split_cohorts


def cohort(n_patients: int, *, two_image_patients: int = 0, positive_share: float = 0.4, seed: int = 0,
           prefix: str = "d") -> pd.DataFrame:  # fmt: skip
    """Preprocessed manifest (id, patient, label); the first `two_image_patients` have two images."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = int(rng.random() < positive_share)
        for view in range(2 if p < two_image_patients else 1):
            rows.append((f"{prefix}{p:03d}v{view}", f"{prefix}patient{p:03d}", label))
    return pd.DataFrame(rows, columns=["id", "patient", "label"])


@pytest.fixture(scope="module")
def development() -> pd.DataFrame:
    frame = cohort(220, two_image_patients=80)  # 300 images
    assert len(frame) == 300
    return frame


@pytest.fixture(scope="module")
def external() -> pd.DataFrame:
    return cohort(30, prefix="e", seed=1)


@pytest.fixture(scope="module")
def splits(development, external) -> pd.DataFrame:
    return split_cohorts(development, external, seed=7)


def test_columns_and_order(splits, development, external):
    assert list(splits.columns) == ["id", "patient", "cohort", "set"]
    assert list(splits["id"]) == list(development["id"]) + list(external["id"])
    assert list(splits["cohort"]) == ["development"] * len(development) + ["external"] * len(external)


def test_no_patient_in_two_sets(splits):
    assert (splits.groupby("patient")["set"].nunique() == 1).all()


def test_every_set_has_both_labels(splits, development, external):
    labels = pd.concat([development, external])[["id", "label"]]
    merged = splits.merge(labels, on="id")
    assert set(merged["set"]) == {"train", "validation", "internal_test", "external_test"}
    assert (merged.groupby("set")["label"].nunique() == 2).all()


def test_external_rows_are_all_external_test(splits):
    external = splits[splits["cohort"] == "external"]
    assert (external["set"] == "external_test").all()
    assert (splits.loc[splits["cohort"] == "development", "set"] != "external_test").all()


@pytest.mark.parametrize("test_fraction, validation_fraction", [(0.1, 0.1), (0.2, 0.1), (0.1, 0.25)])
def test_patient_fractions_are_roughly_respected(development, external, test_fraction, validation_fraction):
    splits = split_cohorts(development, external, internal_test_fraction=test_fraction,
                           validation_fraction=validation_fraction, seed=3)  # fmt: skip
    dev = splits[splits["cohort"] == "development"]
    share = dev.groupby("set")["patient"].nunique() / development["patient"].nunique()
    assert share["internal_test"] == pytest.approx(test_fraction, abs=0.03)
    assert share["validation"] == pytest.approx(validation_fraction, abs=0.03)
    assert share["train"] == pytest.approx(1 - test_fraction - validation_fraction, abs=0.05)


def test_same_seed_same_split(splits, development, external):
    pd.testing.assert_frame_equal(split_cohorts(development, external, seed=7), splits)


def test_different_seed_different_split(splits, development, external):
    other = split_cohorts(development, external, seed=8)
    assert (other["set"] != splits["set"]).any()


def test_input_index_does_not_matter(splits, development, external):
    reindexed = development.set_axis(np.arange(len(development))[::-1] + 1000)
    pd.testing.assert_frame_equal(split_cohorts(reindexed, external, seed=7), splits)


@pytest.mark.parametrize(
    "n_patients, test_fraction, expected",
    [
        pytest.param(6, 0.1, "cannot hold out 10% of 6 patients; the development cohort is too small", id="6 patients"),
        pytest.param(4, 0.2, "cannot hold out 20% of 4 patients; the development cohort is too small", id="4 patients"),
    ],
)
def test_too_small_cohort_raises(external, n_patients, test_fraction, expected):
    development = cohort(n_patients, positive_share=0.5)
    with pytest.raises(ValueError, match=expected):
        split_cohorts(development, external, internal_test_fraction=test_fraction)


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_set_without_positives_raises(external):
    development = pd.DataFrame({"id": [f"d{i}" for i in range(40)], "patient": [f"p{i}" for i in range(40)],
                                "label": [1] + [0] * 39})  # fmt: skip
    with pytest.raises(ValueError, match=r"the \w+ set has only label 0; the cohort is too small or too unbalanced"):
        split_cohorts(development, external)


def test_external_with_one_label_raises(development):
    external = pd.DataFrame({"id": ["e1", "e2"], "patient": ["q1", "q2"], "label": [1, 1]})
    with pytest.raises(ValueError, match="the external_test set has only label 1"):
        split_cohorts(development, external)



def test_split_does_not_depend_on_the_pseudonym_values():
    """A new pseudonym key renames every patient and image but keeps the
    manifest order: the split, set by set, must stay the same."""
    development = cohort(60, two_image_patients=10, seed=3)
    external = cohort(10, seed=4)
    renamed = development.assign(patient="zz" + development["patient"].str[::-1], id="x" + development["id"].str[::-1])
    first = split_cohorts(development, external, seed=5)
    second = split_cohorts(renamed, external, seed=5)
    assert list(first["set"]) == list(second["set"])
