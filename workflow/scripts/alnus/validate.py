"""Whole-study input check, run once before anything else: every manifest,
every image's pixels and the readers' calls, all problems in one message."""

from __future__ import annotations

import pandas as pd

from alnus.manifest import InputError, check_manifest, check_readers


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


def validate_study(cohorts: dict[str, dict[str, str]], readers: str | None) -> pd.DataFrame:
    """Check both cohorts (pixels included) and the readers' file.

    Parameters
    ----------
    cohorts : config `cohorts` (name -> {manifest, images}).
    readers : path of the readers' CSV, or None.

    Returns
    -------
    DataFrame with one row per cohort: cohort, images, patients, positives,
    and readers (number of readers with calls on that cohort).

    Raises
    ------
    InputError
        Listing the problems of every file at once.
    """
    manifests, problems = {}, []
    for cohort, paths in cohorts.items():
        try:
            manifests[cohort] = check_manifest(paths["manifest"], paths["images"], cohort=cohort, check_pixels=True)
        except InputError as error:
            problems.append(str(error))
    calls = None
    if readers and len(manifests) == len(cohorts):
        owner = known_images(manifests)
        try:
            calls = check_readers(readers, {k: v for k, v in owner.items() if v != "ambiguous"})
        except InputError as error:
            ambiguous = sorted(k for k, v in owner.items() if v == "ambiguous")
            hint = f"\n  ({len(ambiguous)} image names occur in both manifests, e.g. {ambiguous[0]!r}; make them unique)" if ambiguous else ""
            problems.append(str(error) + hint)
    if problems:
        raise InputError("\n\n".join(problems))
    rows = []
    for cohort, table in manifests.items():
        n_readers = 0 if calls is None else calls.loc[calls["cohort"] == cohort, "reader"].nunique()
        rows.append({"cohort": cohort, "images": len(table), "patients": table["patient_id"].nunique(),
                     "positives": int(table["label"].sum()), "readers": n_readers})  # fmt: skip
    return pd.DataFrame(rows)
