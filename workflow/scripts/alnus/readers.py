"""The reader study's input: radiologists' calls, pseudonymised and placed in
the test sets, so that results/ never holds a source file name."""

from __future__ import annotations

import logging

import pandas as pd

from alnus.manifest import READERS_SCORE, check_manifest, check_readers
from alnus.metrics import TEST_SETS
from alnus.validate import known_images

log = logging.getLogger(__name__)


def pseudonymised_reader_calls(
    readers_csv: str,
    *,
    cohorts: dict[str, dict[str, str]],
    linkage_paths: dict[str, str],
    manifest_paths: dict[str, str],
    splits_csv: str,
) -> pd.DataFrame:
    """Readers' calls on test-set images, by pseudonym.

    Parameters
    ----------
    readers_csv : the user's readers file (image, reader, call).
    cohorts : config `cohorts`, to read the source manifests.
    linkage_paths : cohort -> private linkage table (image, id).
    manifest_paths : cohort -> preprocessed manifest (id, label).
    splits_csv : results/splits.csv.

    Returns
    -------
    DataFrame with columns id, patient (the pseudonym of splits.csv), reader,
    call, label, set, and score where the readers file has it. Calls on
    images outside the test sets (e.g. training images) are dropped and
    logged.
    """
    manifests = {c: check_manifest(p["manifest"], p["images"], cohort=c) for c, p in cohorts.items()}
    owner = {k: v for k, v in known_images(manifests).items() if v != "ambiguous"}
    calls = check_readers(readers_csv, owner)
    linkage = pd.concat([pd.read_csv(p, dtype=str).assign(cohort=c) for c, p in linkage_paths.items()])
    labels = pd.concat(
        [pd.read_csv(p, dtype={"id": str})[["id", "label"]].assign(cohort=c) for c, p in manifest_paths.items()]
    )
    splits = pd.read_csv(splits_csv, dtype=str)
    table = calls.merge(linkage[["image", "id", "cohort"]], on=["image", "cohort"], how="inner")
    table = table.merge(splits[["id", "patient", "cohort", "set"]], on=["id", "cohort"]).merge(
        labels, on=["id", "cohort"]
    )
    in_test = table["set"].isin(TEST_SETS)
    for reader, n in table.loc[~in_test].groupby("reader").size().items():
        log.warning("reader %s: %d calls on images outside the test sets were left out", reader, n)
    for (reader, set_name), rows in table.loc[in_test].groupby(["reader", "set"]):
        total = int((splits["set"] == set_name).sum())
        if len(rows) < total:
            log.warning(
                "reader %s read %d of the %d %s images; their metrics cover those only",
                reader,
                len(rows),
                total,
                set_name,
            )
    columns = [
        "id",
        "patient",
        "reader",
        "call",
        *([READERS_SCORE] if READERS_SCORE in table.columns else []),
        "label",
        "set",
    ]
    return table.loc[in_test, columns].reset_index(drop=True)
