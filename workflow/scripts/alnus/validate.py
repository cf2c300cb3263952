"""Whole-study input check, run once before anything else (rule
validate_inputs): every manifest, every image's pixels and the readers'
calls, all problems in one message."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from alnus.clinical import clinical_variables, unseen_levels
from alnus.manifest import all_problems, checked_table, decode_images, inspect_manifest, inspect_readers, raise_all
from alnus.start_up import missing_inputs

log = logging.getLogger(__name__)


class QuickCheck(NamedTuple):
    """What `quick_check` found: `stop` when the run cannot go on to rule
    validate_inputs (a configured file or folder is missing); `message` lists
    every problem found, or is empty."""

    stop: bool
    message: str


def cohort_paths(inputs) -> dict[str, dict[str, str]]:
    """Cohort -> {manifest, images} from a rule's named inputs
    `<cohort>_manifest` and `<cohort>_images` (common.smk: all_cohort_inputs)."""
    names = [key[: -len("_manifest")] for key in inputs.keys() if key.endswith("_manifest")]
    return {c: {"manifest": inputs[f"{c}_manifest"], "images": inputs[f"{c}_images"]} for c in names}


def known_images(manifests: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Map each manifest `image` value to its cohort; a value present in two
    cohorts maps to "ambiguous" (a readers' call on it cannot be placed)."""
    owner: dict[str, str] = {}
    for cohort, table in manifests.items():
        for image in table["image"]:
            owner[image] = "ambiguous" if owner.get(image, cohort) != cohort else cohort
    return owner


def validate_study(
    cohorts: dict[str, dict[str, str]], readers: str | None, *, threads: int = 1, clinical: dict | None = None
) -> pd.DataFrame:
    """Check both cohorts (every image decoded fully) and the readers' file.

    Every problem of the study is collected before anything is raised: each
    manifest's own (alnus.manifest.inspect_manifest), every image that cannot
    be decoded or used (alnus.manifest.decode_images, all cohorts' images in
    one pool of `threads`), and the readers' calls.

    Parameters
    ----------
    cohorts : config `cohorts` (name -> {manifest, images}).
    readers : path of the readers' CSV, or None.
    threads : images decoded at once.
    clinical : config `clinical` (variables, missing), or None: the declared
        clinical columns are checked too (alnus.clinical), and a categorical
        level found in the external cohort but not in the development cohort
        is a problem.

    Returns
    -------
    DataFrame with one row per cohort: cohort, images, patients, positives,
    and readers (number of readers with calls on that cohort); with clinical
    variables declared, also clinical_missing (missing clinical values, with
    `clinical: missing: impute` filled in from the fitting set).

    Raises
    ------
    InputError
        One message with the problems of every file, file by file in the
        order cohorts, readers, each file's by line.
    """
    checks = {
        cohort: inspect_manifest(paths["manifest"], paths["images"], cohort=cohort, clinical=clinical)
        for cohort, paths in cohorts.items()
    }
    decode_images(list(checks.values()), threads=threads)
    problems = [check.problems for check in checks.values()]
    _check_levels(checks, clinical)
    owner = None
    if all(check.complete for check in checks.values()):
        owner = known_images({cohort: check.table for cohort, check in checks.items()})
    calls = None
    if readers:
        known = None if owner is None else {k: v for k, v in owner.items() if v != "ambiguous"}
        calls, reader_problems = inspect_readers(readers, known)
        ambiguous = sorted(k for k, v in (owner or {}).items() if v == "ambiguous")
        if ambiguous and reader_problems:
            reader_problems.add(
                f"({len(ambiguous)} image names occur in both manifests, e.g. {ambiguous[0]!r}; make them unique)"
            )
        problems.append(reader_problems)
    raise_all(problems)
    tables = {cohort: checked_table(check.table) for cohort, check in checks.items()}
    if calls is not None:
        calls = calls.assign(cohort=calls["image"].map(owner))
    rows = []
    for cohort, table in tables.items():
        n_readers = 0 if calls is None else calls.loc[calls["cohort"] == cohort, "reader"].nunique()
        rows.append(
            {
                "cohort": cohort,
                "images": len(table),
                "patients": table["patient_id"].nunique(),
                "positives": int(table["label"].sum()),
                "readers": n_readers,
            }
        )
        if clinical and clinical["variables"]:
            rows[-1]["clinical_missing"] = sum(checks[cohort].missing.values())
    return pd.DataFrame(rows)


def _check_levels(checks: dict, clinical: dict | None) -> None:
    """Add to the non-development manifests' problems each categorical level
    the development cohort lacks (alnus.clinical.unseen_levels)."""
    if not (clinical and clinical["variables"]) or "development" not in checks:
        return
    variables = clinical_variables(clinical["variables"])
    tables = {c: check.table for c, check in checks.items() if check.complete}
    declared = [v for v in variables if all(v.name in t.columns for t in tables.values())]
    if "development" in tables:
        for cohort, problem in unseen_levels(tables, declared):
            checks[cohort].problems.add(problem)


def quick_check(
    cohorts: dict[str, dict[str, str]], readers: str | None, *, generated=(), clinical: dict | None = None
) -> QuickCheck:
    """The quick check of rule validate_inputs: every manifest and the readers'
    file without opening an image (seconds for 100,000 rows), printed before
    the images are decoded.

    A missing manifest, images folder or readers' file (`missing_inputs`)
    sets `stop`; every other problem is reported and left to
    `validate_study`, which names it again together with every image that
    cannot be decoded, in one message, before any image is preprocessed.

    Parameters
    ----------
    cohorts : config `cohorts` (name -> {manifest, images}).
    readers : path of the readers' CSV, or None.
    generated : path prefixes of inputs a rule of the workflow writes (the
        demo's); those need not exist yet.
    clinical : config `clinical`, or None (see `validate_study`).
    """
    missing, problems, checks = missing_inputs(cohorts, readers, generated=generated), [], {}
    for cohort, paths in cohorts.items():
        if Path(paths["manifest"]).is_file():
            checks[cohort] = inspect_manifest(paths["manifest"], paths["images"], cohort=cohort, clinical=clinical)
            problems.append(checks[cohort].problems)
    if readers and Path(readers).is_file():
        complete = len(checks) == len(cohorts) and all(c.complete for c in checks.values())
        owner = known_images({c: check.table for c, check in checks.items()}) if complete else None
        known = None if owner is None else {k: v for k, v in owner.items() if v != "ambiguous"}
        problems.append(inspect_readers(readers, known)[1])
    found = all_problems(problems)
    if missing:
        return QuickCheck(True, "\n\n".join(missing + ([found] if found else [])))
    if found:
        return QuickCheck(
            False,
            "Start-up input check (rule validate_inputs checks every image's pixels too, then "
            "stops the run with all problems in one message, before any image is preprocessed):"
            f"\n\n{found}",
        )
    return QuickCheck(False, "")


def validate_inputs_job(
    cohorts: dict[str, dict[str, str]], readers: str | None, out: str | Path, *, threads: int = 1, clinical: dict | None
) -> pd.DataFrame:
    """Rule validate_inputs: `quick_check` first, its problems printed to
    stderr (and logged) at once; then `validate_study`, which decodes every
    image and raises with every problem in one message; its summary is
    written to `out` (results/qc/input_check.tsv).

    Raises
    ------
    InputError
        From `validate_study`.
    """
    check = quick_check(cohorts, readers, clinical=clinical)
    if check.message:
        log.warning("%s", check.message)
        print(check.message, file=sys.stderr, flush=True)
    summary = validate_study(cohorts, readers, threads=threads, clinical=clinical)
    summary.to_csv(out, sep="\t", index=False)
    return summary
