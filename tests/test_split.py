"""Tests for alnus.split: patient-level, label-stratified, seeded split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alnus.duplicates import PAIR_COLUMNS
from alnus.split import split_cohorts, split_job


def cohort(
    n_patients: int, *, two_image_patients: int = 0, positive_share: float = 0.4, seed: int = 0, prefix: str = "d"
) -> pd.DataFrame:
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
    splits = split_cohorts(
        development, external, internal_test_fraction=test_fraction, validation_fraction=validation_fraction, seed=3
    )
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
    development = pd.DataFrame(
        {"id": [f"d{i}" for i in range(40)], "patient": [f"p{i}" for i in range(40)], "label": [1] + [0] * 39}
    )
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


# --- cross-validation folds (split: folds) ------------------------------------


@pytest.fixture(scope="module")
def folded(development, external) -> pd.DataFrame:
    return split_cohorts(development, external, seed=7, folds=5)


def test_folds_leave_the_sets_as_the_single_split_makes_them(folded, splits):
    assert list(folded.columns) == ["id", "patient", "cohort", "set", "fold"]
    pd.testing.assert_frame_equal(folded.drop(columns="fold"), splits)


def test_folds_cover_train_and_validation_only(folded):
    development = folded["set"].isin(["train", "validation"])
    assert folded.loc[development, "fold"].notna().all() and folded.loc[~development, "fold"].isna().all()
    assert sorted(folded.loc[development, "fold"].unique()) == [1, 2, 3, 4, 5]


def test_folds_are_grouped_by_patient_and_stratified(folded, development):
    rows = folded.dropna(subset=["fold"]).merge(development[["id", "label"]], on="id")
    assert (rows.groupby("patient")["fold"].nunique() == 1).all()
    share = rows.groupby("fold")["label"].mean()
    assert (share - rows["label"].mean()).abs().max() < 0.05
    patients = rows.groupby("fold")["patient"].nunique()
    assert patients.max() - patients.min() <= 3


def test_folds_are_fixed_by_the_seed(folded, development, external):
    pd.testing.assert_frame_equal(split_cohorts(development, external, seed=7, folds=5), folded)
    other = split_cohorts(development, external, seed=8, folds=5)
    assert (other["fold"].fillna(0) != folded["fold"].fillna(0)).any()


def test_near_duplicates_share_a_fold():
    """Pairs joining patients 2k and 2k+1 (duplicates: across_sets: group)
    land in one fold, whatever the seed; without them some would not."""
    n = 80
    development = pd.DataFrame(
        {
            "id": [f"i{k}" for k in range(n)],
            "patient": [f"p{k}" for k in range(n)],
            "label": [int(k % 4 < 2) for k in range(n)],
        }
    )
    external = pd.DataFrame({"id": ["x1", "x2"], "patient": ["q1", "q2"], "label": [0, 1]})
    together = [(f"i{2 * k}", f"i{2 * k + 1}") for k in range(n // 2)]
    for seed in range(4):
        folds = split_cohorts(development, external, seed=seed, together=together, folds=3).set_index("id")["fold"]
        assert all(folds[a] == folds[b] for a, b in together if pd.notna(folds[a]))
    apart = split_cohorts(development, external, seed=0, folds=3).set_index("id")["fold"]
    assert any(apart[a] != apart[b] for a, b in together if pd.notna(apart[a]) and pd.notna(apart[b]))


def test_a_pair_in_two_folds_is_judged_as_across_sets():
    """With the default duplicates policy (error) a pair under two patients
    in two folds stops the run as a pair across sets would."""
    from alnus.duplicates import check_duplicates
    from alnus.split import sets_and_folds

    splits = pd.DataFrame(
        {
            "id": ["a", "b"],
            "patient": ["p1", "p2"],
            "cohort": "development",
            "set": "train",
            "fold": pd.array([1, 2], dtype="Int64"),
        }
    )
    pairs = pd.DataFrame(
        {
            "cohort_a": ["development"],
            "id_a": ["a"],
            "patient_a": ["p1"],
            "cohort_b": ["development"],
            "id_b": ["b"],
            "patient_b": ["p2"],
            "identical": [False],
            "distance": [3],
        }
    )
    assert check_duplicates(pairs, splits)  # one set: a warning only
    with pytest.raises(ValueError, match=r"development/a \(fold 1\) and development/b \(fold 2\)"):
        check_duplicates(pairs, sets_and_folds(splits))


@pytest.mark.parametrize(
    "folds, positives, negatives",
    [pytest.param(4, 3, 20, id="too few positive patients"), pytest.param(6, 12, 5, id="too few negative patients")],
)
def test_too_many_folds_raise_naming_the_key_counts_and_fix(folds, positives, negatives):
    from alnus.split import assign_folds

    labels = np.array([1] * positives + [0] * negatives)
    groups = np.arange(len(labels))
    fewest = min(positives, negatives)
    expected = (
        rf"`split: folds` is {folds}, .* are {positives} with metastasis \(label 1\) and {negatives} without;"
        rf".* set `split: folds` to at most {fewest}, or to null"
    )
    with pytest.raises(ValueError, match=expected):
        assign_folds(labels, groups, folds=folds, seed=0)


def test_folds_count_patients_not_images():
    """Three positive patients with two images each allow three folds, not six."""
    from alnus.split import assign_folds, fold_capacity

    labels = np.array([1, 1, 1, 1, 1, 1] + [0] * 10)
    groups = np.array([0, 0, 1, 1, 2, 2, *range(3, 13)])
    assert fold_capacity(labels, groups) == (3, 10)
    assert sorted(set(assign_folds(labels, groups, folds=3, seed=1))) == [1, 2, 3]
    with pytest.raises(ValueError, match="are 3 with metastasis"):
        assign_folds(labels, groups, folds=4, seed=1)


@pytest.mark.parametrize(
    "folds, expected",
    [
        (2, None),
        (3, None),
        (4, "`split: folds` is 4, but the development manifest has 3 patients with metastasis (label 1) and 5 without"),
    ],
)
def test_the_manifest_is_checked_for_folds_at_start_up(folds, expected):
    from alnus.split import manifest_fold_problem

    manifest = pd.DataFrame(
        {
            "patient_id": ["a", "a", "b", "c", "d", "e", "f", "g", "h", None],
            "label": ["1", "1", "1", "1", "0", "0", "0", "0", "0", "1"],
        }
    )
    problem = manifest_fold_problem(manifest, folds=folds)
    assert problem == expected if expected is None else problem.startswith(expected)


def test_split_job_writes_the_split_of_split_cohorts_and_judges_the_pairs(tmp_path, development, external, splits):
    development.to_csv(tmp_path / "development.csv", index=False)
    external.to_csv(tmp_path / "external.csv", index=False)
    pd.DataFrame(columns=PAIR_COLUMNS).to_csv(tmp_path / "pairs.tsv", sep="\t", index=False)
    options = {"internal_test_fraction": 0.1, "validation_fraction": 0.1, "folds": None, "seed": 7}
    args = (tmp_path / "development.csv", tmp_path / "external.csv", tmp_path / "pairs.tsv", tmp_path / "splits.csv")
    split_job(*args, **options, duplicates_across_sets="error")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "splits.csv", dtype={"id": str, "patient": str}), splits)
    ids = splits["id"]
    one, other = ids[splits["set"] == "train"].iloc[0], ids[splits["set"] == "internal_test"].iloc[0]
    row = ("development", one, "p1", "development", other, "p2", 0, True)
    pd.DataFrame([row], columns=PAIR_COLUMNS).to_csv(tmp_path / "pairs.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"1 near-duplicate pair\(s\) lie in two different sets"):
        split_job(*args, **options, duplicates_across_sets="error")
    together = split_job(*args, **options, duplicates_across_sets="group").set_index("id")["set"]
    assert together[one] == together[other]
