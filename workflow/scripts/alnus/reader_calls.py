"""Readers' calls: checked against the test sets, with the readers' majority vote.

results/tables/readers.csv (one row per reader and case) read, checked
against the cases of each test set and logged for coverage; the majority
vote of the readers added as reader "readers_majority"; calls taken to the
patient level.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from alnus.checks import check_choice
from alnus.patients import patient_reader_calls
from alnus.predictions import TEST_SETS, with_patients
from alnus.vocabulary import MAJORITY

log = logging.getLogger(__name__)

READER_COLUMNS = ("id", "patient", "reader", "call", "label", "set")  # and score, where the readers file has it
MAJORITY_TIES = ("positive", "negative")


def check_reader_calls(readers: pd.DataFrame, set_cases: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Check readers' calls against the test sets and log their coverage.

    Parameters
    ----------
    readers : DataFrame(id, patient, reader, call, label, set[, score]),
        results/tables/readers.csv (without `patient`, each case is its own
        patient).
    set_cases : test set -> DataFrame(id, label) of every case in that set.

    Returns
    -------
    DataFrame(id, patient, reader, call, label, set[, score]) with ids as
    str, call int and score float.

    Raises
    ------
    ValueError
        Naming the reader and set, for a missing column, a call other than
        0/1, a case read twice, a set other than the test sets, a case that is
        not in the set, or a label that differs from the predictions'.
    """
    readers = _checked_values(with_patients(readers))
    for (reader, set_name), rows in readers.groupby(["reader", "set"], sort=True):
        _check_cases(rows, set_cases[set_name].set_index("id")["label"], reader=reader, set_name=set_name)
    _log_coverage(readers)
    return readers[list(READER_COLUMNS) + (["score"] if "score" in readers.columns else [])].reset_index(drop=True)


def _checked_values(readers: pd.DataFrame) -> pd.DataFrame:
    """`check_reader_calls`' checks of each row alone: the columns, scores,
    calls, sets and no case read twice; ids and patients as str, call int
    and score float."""
    missing = [c for c in READER_COLUMNS if c not in readers.columns]
    if missing:
        raise ValueError(f"readers' calls lack column(s) {', '.join(missing)}; expected {', '.join(READER_COLUMNS)}")
    readers = readers.assign(id=readers["id"].astype(str), patient=readers["patient"].astype(str))
    if "score" in readers.columns:
        scores = pd.to_numeric(readers["score"], errors="coerce")
        if not np.isfinite(scores.to_numpy(dtype=float)).all():
            row = readers[~np.isfinite(scores.to_numpy(dtype=float))].iloc[0]
            raise ValueError(
                f"reader {row['reader']} on {row['set']}: score must be a number, got {row['score']!r} "
                f"for case {row['id']!r}; rerun rule readers"
            )
        readers = readers.assign(score=scores.astype(float))
    calls = pd.to_numeric(readers["call"], errors="coerce")
    for bad, problem in [
        (~calls.isin([0, 1]), "call must be 0 or 1, got {call}"),
        (~readers["set"].isin(TEST_SETS), "set must be internal_test or external_test, got {set!r}"),
        (readers.duplicated(["reader", "id"]), "case {id!r} is read twice"),
    ]:
        if bad.any():
            row = readers[bad.to_numpy()].iloc[0]
            raise ValueError(f"reader {row['reader']} on {row['set']}: " + problem.format(**row))
    return readers.assign(call=calls.astype(int))


def _check_cases(rows: pd.DataFrame, cases: pd.Series, *, reader: str, set_name: str) -> None:
    """One reader's calls on one test set against the set's cases (id ->
    label): every case known, every label the same; a warning where the
    reader read only some."""
    unknown = ~rows["id"].isin(cases.index)
    if unknown.any():
        raise ValueError(
            f"reader {reader} on {set_name}: {int(unknown.sum())} call(s) on cases with no prediction in "
            f"{set_name} (e.g. {rows['id'][unknown].iloc[0]!r}); rerun rule readers"
        )
    differ = rows["label"].to_numpy() != cases.loc[rows["id"]].to_numpy()
    if differ.any():
        raise ValueError(
            f"reader {reader} on {set_name}: label of case {rows['id'][differ].iloc[0]!r} differs from the "
            "predictions'; rerun rule readers"
        )
    if len(rows) < len(cases):
        log.warning(
            "reader %s read %d of the %d %s cases; their rows and comparisons cover those only",
            reader,
            len(rows),
            len(cases),
            set_name,
        )


def _log_coverage(readers: pd.DataFrame) -> None:
    """Log each test set no reader read, and each reader who made no calls on a set that others read."""
    for set_name in TEST_SETS:
        here = set(readers.loc[readers["set"] == set_name, "reader"])
        if not here:
            log.info("no reader read %s; it has no reader rows", set_name)
        for reader in sorted(set(readers["reader"]) - here if here else ()):
            log.warning("reader %s made no calls on %s, which other readers read", reader, set_name)


def majority_vote(readers: pd.DataFrame, *, ties: str = "positive") -> pd.DataFrame:
    """The readers' majority vote, case by case, among those who read the case.

    Parameters
    ----------
    readers : DataFrame(id, patient, reader, call, label, set), checked.
    ties : {"positive", "negative"}, default "positive"
        The call when as many readers said positive as negative (an even
        number read the case). "positive" errs towards axillary work-up, the
        safer error for a staging question.

    Returns
    -------
    DataFrame(id, patient, reader, call, label, set) with reader
    "readers_majority", one row per case read by at least one reader (no
    score: the vote is a call).

    Raises
    ------
    ValueError
        If `ties` is not one of the names above.
    """
    check_choice(ties, MAJORITY_TIES, "`ties`")
    votes = (
        with_patients(readers)
        .groupby(["set", "id"], sort=False)
        .agg(patient=("patient", "first"), label=("label", "first"), positive=("call", "sum"), readers=("call", "size"))
    )
    call = np.sign(2 * votes["positive"] - votes["readers"])
    tied = call == 0
    for set_name, n in votes[tied].groupby(level="set").size().items():
        log.info("readers' majority on %s: %d tied case(s) called %s", set_name, n, ties)
    votes["call"] = np.where(tied, int(ties == "positive"), call > 0).astype(int)
    out = votes.reset_index().assign(reader=MAJORITY)
    return out[list(READER_COLUMNS)]


def study_readers(readers: pd.DataFrame | None, models: dict, *, ties: str = "positive") -> pd.DataFrame | None:
    """Checked readers' calls with the majority vote appended, or None.

    readers : DataFrame(id, reader, call, label, set) or None; models : as
    returned by `model_predictions` (for the test sets' cases).
    """
    if readers is None or readers.empty:
        return None
    first = next(iter(models.values()))
    calls = check_reader_calls(readers, {s: first[s] for s in TEST_SETS})
    return pd.concat([calls, majority_vote(calls, ties=ties)], ignore_index=True)


def unit_reader_calls(calls: pd.DataFrame | None, unit: str, *, rule: str = "any", ties: str = "positive"):
    """Readers' checked image calls (majority vote appended) at `unit`: the
    patient level aggregates each reader's calls (`patient_reader_calls`)
    and takes the majority vote of the readers' patient calls."""
    if calls is None or unit == "image":
        return calls
    own = patient_reader_calls(calls[calls["reader"] != MAJORITY], rule=rule)
    return pd.concat([own, majority_vote(own.drop(columns="score", errors="ignore"), ties=ties)], ignore_index=True)


def read_readers(readers_csv: str | None) -> pd.DataFrame | None:
    """results/tables/readers.csv as a DataFrame, or None without readers."""
    return pd.read_csv(readers_csv, dtype={"id": str, "patient": str, "reader": str}) if readers_csv else None
