"""Patient-level, label-stratified split of the development cohort.

Every image of a patient lands in one set, so the internal test never sees a
lesion (or the other view of it) that was trained on. With cross-validation
(config `split: folds`), the train and validation patients are also dealt
into folds, the same way: grouped, stratified by label, seeded.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedGroupKFold

from alnus.duplicates import check_duplicates, read_pairs

log = logging.getLogger(__name__)


def _hold_out(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of about `fraction` of the groups, stratified by label."""
    n_splits = max(2, int(round(1.0 / fraction)))
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(f"cannot hold out {fraction:.0%} of {n_groups} patients; the development cohort is too small")
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    _, held = next(folds.split(np.zeros(len(labels)), labels, groups))
    mask = np.zeros(len(labels), dtype=bool)
    mask[held] = True
    return mask


def split_groups(patients: np.ndarray, ids: np.ndarray, together: list[tuple[str, str]] = ()) -> np.ndarray:
    """Group number of each image: images of one patient share a group, and
    so do the two images of each pair in `together` (near-duplicates kept in
    one set), transitively.

    Groups are numbered in order of first appearance, so the split depends on
    the manifests' row order and the seed only, not on the values of the
    pseudonyms: those change with the pseudonym key, and a rerun with a new
    key (a fresh checkout, another site) must give the same split.

    Parameters
    ----------
    patients, ids : per image, in manifest order.
    together : (id, id) pairs; ids not in `ids` are ignored.
    """
    patients, ids = np.asarray(patients).astype(str), np.asarray(ids).astype(str)
    patient_group, _ = pd.factorize(patients)
    index = {image_id: k for k, image_id in enumerate(ids)}
    edges = [(index[a], index[b]) for a, b in together if a in index and b in index]
    if not edges:
        return patient_group
    # Nodes: images, then patients; an image joins its patient, a pair joins two images.
    n = len(ids) + patient_group.max() + 1
    rows = np.concatenate([np.arange(len(ids)), [a for a, _ in edges]])
    cols = np.concatenate([len(ids) + patient_group, [b for _, b in edges]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    return pd.factorize(component[: len(ids)])[0]


def fold_capacity(labels: np.ndarray, groups: np.ndarray) -> tuple[int, int]:
    """How many groups (patients, joined by near-duplicates) have a positive
    image, and how many a negative one: the most folds that can each hold
    both classes.

    labels, groups : arrays of shape (n_images,).
    """
    labels, groups = np.asarray(labels).astype(int), np.asarray(groups)
    return len(np.unique(groups[labels == 1])), len(np.unique(groups[labels == 0]))


def manifest_fold_problem(manifest: pd.DataFrame, *, folds: int) -> str | None:
    """At start-up, before anything is preprocessed: the message if a
    development manifest (columns patient_id, label, as the user gives it)
    has fewer patients with, or without, metastasis than `folds`, else None.
    Rows whose label is not 0 or 1 are left to the input check. The split
    checks again, exactly, once the internal test is held out
    (`assign_folds`)."""
    labels = pd.to_numeric(manifest.get("label"), errors="coerce")
    patients = manifest.get("patient_id")
    if labels is None or patients is None:
        return None
    positive = patients[labels == 1].dropna().nunique()
    negative = patients[labels == 0].dropna().nunique()
    if folds <= min(positive, negative):
        return None
    return (
        f"`split: folds` is {folds}, but the development manifest has {positive} patients with metastasis "
        f"(label 1) and {negative} without, before the internal test takes its share; every fold must hold "
        f"both: set `split: folds` to at most {min(positive, negative)} (rule split then checks the patients the "
        "internal test leaves), or to null for the single train/validation split"
    )


def assign_folds(labels: np.ndarray, groups: np.ndarray, *, folds: int, seed: int) -> np.ndarray:
    """Fold (1..folds) of each image: scikit-learn's StratifiedGroupKFold
    with `seed`, so a group's images share a fold and each fold has about the
    cohort's share of positives.

    Parameters
    ----------
    labels, groups : arrays of shape (n_images,): 0/1 labels and the group of
        each image (`split_groups`).
    folds : number of folds, at least 2 (config `split: folds`).
    seed : fixes the assignment.

    Returns
    -------
    int array of shape (n_images,), values 1..folds.

    Raises
    ------
    ValueError
        If `folds` is below 2 or exceeds the groups of either class (a fold
        would then lack positives or negatives), naming `split: folds`, the
        counts and the fix.
    """
    labels, groups = np.asarray(labels).astype(int), np.asarray(groups)
    positive, negative = fold_capacity(labels, groups)
    if folds < 2 or folds > min(positive, negative):
        raise ValueError(
            f"`split: folds` is {folds}, but the development cohort's train and validation patients (those the "
            f"internal test leaves; patients joined by near-duplicate images count once) are {positive} with "
            f"metastasis (label 1) and {negative} without; every fold must hold both, so folds must be between 2 "
            f"and {min(positive, negative)}: set `split: folds` to at most {min(positive, negative)}, or to null "
            "for the single train/validation split"
        )
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold = np.zeros(len(labels), dtype=int)
    for k, (_, held) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups), start=1):
        fold[held] = k
    for k in range(1, folds + 1):
        if len(np.unique(labels[fold == k])) < 2:
            raise ValueError(
                f"fold {k} of `split: folds` {folds} has only label {labels[fold == k][0]}; "
                "the classes are too unevenly spread over the patients: lower `split: folds`"
            )
    return fold


def split_cohorts(
    development: pd.DataFrame,
    external: pd.DataFrame,
    *,
    internal_test_fraction: float = 0.1,
    validation_fraction: float = 0.1,
    seed: int = 2019,
    together: list[tuple[str, str]] = (),
    folds: int | None = None,
) -> pd.DataFrame:
    """Assign every image to train, validation, internal_test or external_test,
    and with `folds` each train and validation image to a fold.

    Parameters
    ----------
    development, external : preprocessed manifests with columns id, patient, label.
    internal_test_fraction : share of development patients for the internal test.
    validation_fraction : share of development patients for validation
        (model selection and the operating threshold).
    seed : fixes the assignment.
    together : (id, id) pairs of development images to keep in one set
        (near-duplicates under two patients); each pair joins the two patients'
        groups (and so the two images share a fold).
    folds : None, or the number of cross-validation folds of the train and
        validation images (`assign_folds` with `seed`); the sets are the
        same either way.

    Returns
    -------
    DataFrame with columns id, patient, cohort, set, and with `folds` a
    column fold (1..folds for train and validation rows, empty for the test
    sets); development rows first, in manifest order.

    Raises
    ------
    ValueError
        If a set or fold would lack a class, or the cohort has too few patients.
    """
    dev = development[["id", "patient", "label"]].reset_index(drop=True)
    labels, groups = dev["label"].to_numpy(), split_groups(dev["patient"], dev["id"], together)
    test = _hold_out(labels, groups, internal_test_fraction, seed)
    rest = np.flatnonzero(~test)
    # Validation is a share of the whole cohort, taken from what the test left.
    validation_share = validation_fraction / (1.0 - internal_test_fraction)
    validation = np.zeros(len(dev), dtype=bool)
    validation[rest[_hold_out(labels[rest], groups[rest], validation_share, seed + 1)]] = True
    dev["set"] = np.where(test, "internal_test", np.where(validation, "validation", "train"))
    dev["cohort"] = "development"
    columns = ["id", "patient", "cohort", "set"]
    if folds is not None:
        dev["fold"] = pd.array([pd.NA] * len(dev), dtype="Int64")
        dev.loc[rest, "fold"] = assign_folds(labels[rest], groups[rest], folds=folds, seed=seed)
        columns.append("fold")
    ext = external[["id", "patient", "label"]].reset_index(drop=True).assign(cohort="external", set="external_test")
    if folds is not None:
        ext["fold"] = pd.array([pd.NA] * len(ext), dtype="Int64")
    splits = pd.concat([dev, ext], ignore_index=True)
    for name, rows in splits.groupby("set"):
        if rows["label"].nunique() < 2:
            raise ValueError(
                f"the {name} set has only label {rows['label'].iloc[0]}; the cohort is too small or too unbalanced to split"
            )
    return splits[columns]


def sets_and_folds(splits: pd.DataFrame) -> pd.DataFrame:
    """`splits` with each train and validation row's set replaced by its fold
    ("fold 2"), where splits has a fold column: what the near-duplicate check
    (`alnus.duplicates.check_duplicates`) then judges, since with
    cross-validation a pair in two folds is trained on by the model that is
    validated on it. Without a fold column, `splits` unchanged."""
    if "fold" not in splits.columns:
        return splits
    folded = splits["fold"].notna()
    return splits.assign(set=splits["set"].where(~folded, "fold " + splits["fold"].astype(str)))


def split_job(
    development_csv: str | Path,
    external_csv: str | Path,
    duplicates_tsv: str | Path,
    out: str | Path,
    *,
    internal_test_fraction: float,
    validation_fraction: float,
    folds: int | None,
    seed: int,
    duplicates_across_sets: str,
) -> pd.DataFrame:
    """Rule split: `split_cohorts` on the two preprocessed manifests, then no
    near-duplicate pair of rule duplicates may lie across two sets (or folds;
    `alnus.duplicates.check_duplicates`); results/splits.csv written to `out`.

    Parameters
    ----------
    development_csv, external_csv : results/preprocessed/{cohort}/manifest.csv.
    duplicates_tsv : results/qc/duplicates.tsv (`alnus.duplicates.find_duplicates`).
    out : the splits CSV to write.
    internal_test_fraction, validation_fraction, folds, seed : see `split_cohorts`.
    duplicates_across_sets : config `preprocess.duplicates.across_sets`; with
        "group" the development pairs are kept in one set.

    Returns
    -------
    The splits written.

    Raises
    ------
    ValueError
        From `split_cohorts` or `check_duplicates`.
    """
    pairs = read_pairs(duplicates_tsv)
    development_pairs = pairs[(pairs["cohort_a"] == "development") & (pairs["cohort_b"] == "development")]
    together = (
        list(zip(development_pairs["id_a"], development_pairs["id_b"])) if duplicates_across_sets == "group" else []
    )
    splits = split_cohorts(
        pd.read_csv(development_csv, dtype={"id": str, "patient": str}),
        pd.read_csv(external_csv, dtype={"id": str, "patient": str}),
        internal_test_fraction=internal_test_fraction,
        validation_fraction=validation_fraction,
        seed=seed,
        together=together,
        folds=folds,
    )
    check_duplicates(pairs, sets_and_folds(splits), across_sets=duplicates_across_sets)
    splits.to_csv(out, index=False)
    log.info("images per set:\n%s", splits["set"].value_counts().to_string())
    return splits
