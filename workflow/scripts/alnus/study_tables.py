"""The tables that describe the study rather than score it, each behind a
figure: results/tables/cohorts.csv (images, patients, labels and readers per
cohort and set; the cohort flow diagram) and
results/tables/training_history.csv (the architectures' training curves).
The scored tables are `alnus.metrics`'s and Table 2 is `alnus.tables`'s.
Light: pandas and numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alnus.folds import fold_of
from alnus.history import STILL_IMPROVING, kept_mask, still_improving
from alnus.vocabulary import COHORT_NAMES, SETS

COHORT_COLUMNS = ["cohort", "set", "images", "patients", "positives", "negatives", "readers"]
HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "val_auc", "best"]


def check_columns(frame: pd.DataFrame, columns, *, table: str) -> None:
    """Raise ValueError naming `table` and the `columns` that `frame` lacks,
    and the fix (rerun the rule that writes it); the figures check their
    tables with it too."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table} lacks column(s) {', '.join(missing)}; rerun the rule that writes it")


# --------------------------------------------------------------------------
# Cohorts (results/tables/cohorts.csv)
# --------------------------------------------------------------------------
def cohort_table(splits: pd.DataFrame, manifests: dict[str, pd.DataFrame], readers: pd.DataFrame | None = None):
    """Images, patients, positives and negatives per cohort and set, and the
    number of readers who read cases of each set (results/tables/cohorts.csv).

    Parameters
    ----------
    splits : results/splits.csv (id, patient, cohort, set).
    manifests : cohort -> results/preprocessed/{cohort}/manifest.csv (id, label).
    readers : results/tables/readers.csv (id, reader, set), or None.

    Returns
    -------
    DataFrame with COHORT_COLUMNS: per cohort a row of set "all", then one
    row per set.

    Raises
    ------
    ValueError
        If an id of the splits is in no manifest of its cohort.
    """
    labels = pd.concat([m[["id", "label"]].assign(cohort=c) for c, m in manifests.items()])
    table = splits.astype({"id": str}).merge(labels.astype({"id": str}), on=["cohort", "id"], how="left")
    if table["label"].isna().any():
        missing = table.loc[table["label"].isna(), "id"].head(3).tolist()
        raise ValueError(
            f"ids {missing} of splits.csv are in no preprocessed manifest of their cohort; rerun rule split"
        )
    read = readers.groupby("set")["reader"].nunique() if readers is not None and len(readers) else pd.Series(dtype=int)
    cohorts = [c for c in COHORT_NAMES if c in set(table["cohort"])] + sorted(set(table["cohort"]) - set(COHORT_NAMES))
    rows = []
    for cohort in cohorts:
        here = table[table["cohort"] == cohort]
        sets = [s for s in SETS if s in set(here["set"])]
        for set_name, part in [("all", here)] + [(s, here[here["set"] == s]) for s in sets]:
            readers_here = read.reindex(sets if set_name == "all" else [set_name]).fillna(0)
            rows.append(
                {
                    "cohort": cohort,
                    "set": set_name,
                    "images": len(part),
                    "patients": part["patient"].nunique(),
                    "positives": int((part["label"] == 1).sum()),
                    "negatives": int((part["label"] == 0).sum()),
                    "readers": int(readers_here.max()) if len(readers_here) else 0,
                }
            )
    return pd.DataFrame(rows, columns=COHORT_COLUMNS)


def cohort_table_from_files(splits_csv: str, manifests: dict[str, str], readers_csv: str | None) -> pd.DataFrame:
    """cohort_table over splits.csv, the preprocessed manifests and readers.csv."""
    read = {"dtype": {"id": str, "patient": str}}
    return cohort_table(
        pd.read_csv(splits_csv, **read),
        {c: pd.read_csv(p, **read) for c, p in manifests.items()},
        pd.read_csv(readers_csv, dtype={"id": str}) if readers_csv else None,
    )


# --------------------------------------------------------------------------
# Training history (results/tables/training_history.csv)
# --------------------------------------------------------------------------
def training_history_table(histories: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The architectures' history.tsv files as one table with a `model`
    column first (results/tables/training_history.csv), and a `note` column
    last: `alnus.history.STILL_IMPROVING` on the kept epoch of a model whose
    kept epoch is its last one, else empty.

    Raises ValueError naming the architecture whose history lacks a column.
    """
    parts = []
    for model, history in histories.items():
        check_columns(history, HISTORY_COLUMNS, table=f"results/models/{model}/history.tsv")
        note = np.where(kept_mask(history) & still_improving(history), STILL_IMPROVING, "")
        parts.append(history.assign(model=model, note=note))
    table = pd.concat(parts, ignore_index=True)
    return table[["model"] + [c for c in table.columns if c not in ("model", "note")] + ["note"]]


def training_history_from_files(history_tsvs: list[str]) -> pd.DataFrame:
    """training_history_table over results/models/{model}/history.tsv; a fold
    model's (results/models/{arch}/fold-{k}/, split.folds) is named by its architecture."""

    def model(path: Path) -> str:
        return path.parent.parent.name if fold_of(f"{path.parent.parent.name}/{path.parent.name}") else path.parent.name

    return training_history_table({model(Path(p)): pd.read_csv(p, sep="\t") for p in history_tsvs})
