"""Clinical variables of the manifests: their declaration, their check, and
their pseudonymised table.

A manifest may carry clinical columns (age, tumour size, BI-RADS category,
histological grade); config `clinical: variables` declares each one with its
type (numeric, categorical, ordinal), printed label, unit and allowed range
or levels. `inspect_clinical` checks the declared columns of one manifest,
adding every problem to the manifest's `Problems` (so that rule
validate_inputs names them together with every other input problem), and
`clinical_table` writes the checked values keyed by the pseudonymised image
id, the only form in which they reach results/. The combined models that use
them are in alnus.combined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alnus.checks import check_choice

VARIABLE_TYPES = ("numeric", "categorical", "ordinal")
MISSING_POLICIES = ("refuse", "impute")
MISSING_TOKENS = ("", "na", "n/a", "nan")  # compared lower-case, stripped
LISTED_LINES = 10  # lines named per column and kind of problem; the rest are counted


@dataclass(frozen=True)
class ClinicalVariable:
    """One declared clinical column.

    name : the manifest's column; kind : numeric, categorical or ordinal;
    label : printed name; unit : of a numeric variable ("" otherwise);
    low, high : its allowed range (numeric); levels : the allowed values
    (categorical: the first is the reference; ordinal: in order, entered as
    one linear term of their rank 0, 1, 2 ...); top_code : numeric values at
    or above it are recorded as it (HIPAA's "90 or older" for ages), or None.
    """

    name: str
    kind: str
    label: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] = ()
    top_code: float | None = None

    @property
    def display(self) -> str:
        """Label with its unit: "Age (years)"."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


def clinical_variables(declared: list[dict]) -> list[ClinicalVariable]:
    """The config's `clinical: variables` (a list of declarations, each with
    its `column`) as ClinicalVariable, in config order.

    Raises
    ------
    ValueError
        For a column declared twice, an unknown type, a numeric variable
        without unit, min and max or with min >= max, or a categorical/ordinal
        one without two levels (the schema refuses most of these already;
        code built outside the workflow meets the same message).
    """
    variables = []
    for spec in declared:
        name = spec["column"]
        where = f"config `clinical: variables`, column {name!r}"
        if name in [v.name for v in variables]:
            raise ValueError(f"{where} is declared twice; keep one declaration")
        kind = spec["type"]
        check_choice(kind, VARIABLE_TYPES, "`type`", where=where)
        if kind == "numeric":
            missing = [k for k in ("unit", "min", "max") if k not in spec]
            if missing:
                raise ValueError(f"{where}: a numeric variable needs {', '.join(missing)}")
            if not spec["min"] < spec["max"]:
                raise ValueError(f"{where}: `min` ({spec['min']}) must be below `max` ({spec['max']})")
            top = spec["top_code"] if "top_code" in spec else None
            variables.append(
                ClinicalVariable(
                    name,
                    kind,
                    spec["label"],
                    spec["unit"],
                    float(spec["min"]),
                    float(spec["max"]),
                    top_code=None if top is None else float(top),
                )
            )
        else:
            levels = tuple(str(level) for level in spec["levels"]) if "levels" in spec else ()
            if len(levels) < 2 or len(set(levels)) < len(levels):
                raise ValueError(f"{where}: a {kind} variable needs `levels`, at least two distinct values")
            variables.append(ClinicalVariable(name, kind, spec["label"], levels=levels))
    return variables


def is_missing(values: pd.Series) -> pd.Series:
    """True where a text cell is empty or NA/N/A/NaN."""
    return values.astype(str).str.strip().str.lower().isin(MISSING_TOKENS)


def _lines(index, shown: int = LISTED_LINES) -> str:
    lines = [str(i + 2) for i in index]  # line 1 is the header
    more = len(lines) - shown
    return ", ".join(lines[:shown]) + (f" and {more} more" if more > 0 else "")


def parse_column(values: pd.Series, variable: ClinicalVariable) -> tuple[pd.Series, dict[str, list[int]]]:
    """One manifest column (text) as values, and its bad rows by kind.

    Returns
    -------
    (values, bad) : a float Series (numeric) or str Series (categorical,
        ordinal) with NaN/None where missing or bad; bad maps "missing",
        "not a number", "out of range" and "unknown level" to the 0-based
        rows that have it.
    """
    missing = is_missing(values)
    text = values.astype(str).str.strip()
    bad = {"missing": list(np.flatnonzero(missing))}
    if variable.kind == "numeric":
        numbers = pd.to_numeric(text.where(~missing), errors="coerce")
        bad["not a number"] = list(np.flatnonzero(numbers.isna() & ~missing))
        outside = numbers.notna() & ~numbers.between(variable.low, variable.high)
        bad["out of range"] = list(np.flatnonzero(outside))
        return numbers.where(~outside).astype(float), bad
    unknown = ~missing & ~text.isin(variable.levels)
    bad["unknown level"] = list(np.flatnonzero(unknown))
    return text.where(~missing & ~unknown), bad


def inspect_clinical(
    table: pd.DataFrame, variables: list[ClinicalVariable], problems, *, missing: str = "refuse", constant: bool = True
) -> dict[str, int]:
    """Check the declared clinical columns of one manifest, raising nothing.

    Every problem goes to `problems` (alnus.manifest.Problems), by column
    with the lines that have it: a declared column the manifest lacks, a
    value that is not a number, outside its range or not a declared level,
    a missing value (with `missing` "refuse"), and, with `constant`, a column
    whose values are all the same (it can carry no information: remove it
    from the config).

    Parameters
    ----------
    table : the manifest as text (alnus.manifest.read_csv), shape (n_rows, n_columns).
    variables : the declared variables (`clinical_variables`).
    problems : where the problems go.
    missing : {"refuse", "impute"}; with impute, missing values are counted,
        and filled in later from the fitting data (alnus.combined).
    constant : look for constant columns (the development cohort, which the
        models are fitted on).

    Returns
    -------
    dict : column -> number of missing values.
    """
    check_choice(missing, MISSING_POLICIES, "`clinical: missing`")
    counts = {}
    for variable in variables:
        where = f"clinical column `{variable.name}` ({variable.display}, declared in config `clinical: variables`)"
        if variable.name not in table.columns:
            problems.add(f"{where} is missing; add it to the manifest or remove it from the config")
            continue
        values, bad = parse_column(table[variable.name], variable)
        counts[variable.name] = len(bad["missing"])
        if bad["missing"] and missing == "refuse":
            problems.add(
                f"{where} has {len(bad['missing'])} missing value(s), on line(s) {_lines(bad['missing'])}; "
                "fill them in, or set `clinical: missing: impute` (the median or most frequent value of "
                "the fitting set)"
            )
        if bad.get("not a number"):
            problems.add(f"{where} must be a number, on line(s) {_lines(bad['not a number'])}")
        if bad.get("out of range"):
            problems.add(
                f"{where} lies outside its allowed range {variable.low:g} to {variable.high:g} "
                f"{variable.unit}, on line(s) {_lines(bad['out of range'])}; correct the values or the "
                "range in the config"
            )
        if bad.get("unknown level"):
            seen = sorted(set(table[variable.name].iloc[bad["unknown level"]].astype(str).str.strip()))
            problems.add(
                f"{where} must be one of {', '.join(variable.levels)}, got {', '.join(map(repr, seen))} on "
                f"line(s) {_lines(bad['unknown level'])}; correct the values or add the level to `levels`"
            )
        present = values.dropna()
        if constant and len(present) and present.nunique() == 1:
            problems.add(
                f"{where} is constant (every value is {present.iloc[0]!r}), so it cannot inform a model; "
                "remove it from `clinical: variables`"
            )
    return counts


def unseen_levels(
    tables: dict[str, pd.DataFrame], variables: list[ClinicalVariable], *, reference: str = "development"
) -> list[tuple[str, str]]:
    """(cohort, problem) for each categorical level that occurs in a cohort
    but not in `reference` (the development cohort, which every model is
    fitted on): a model cannot score a level it has never seen."""
    problems = []
    for variable in (v for v in variables if v.kind == "categorical"):
        known = set(parse_column(tables[reference][variable.name], variable)[0].dropna())
        for cohort, table in tables.items():
            seen = set(parse_column(table[variable.name], variable)[0].dropna())
            for level in sorted(seen - known):
                problems.append(
                    (
                        cohort,
                        f"clinical column `{variable.name}` has level {level!r} in the {cohort} cohort but "
                        f"not in the {reference} cohort, so no model can learn it; merge it with another "
                        "level in the manifests, or declare the variable ordinal",
                    )
                )
    return problems


def clinical_table(
    manifests: dict[str, pd.DataFrame], linkages: dict[str, pd.DataFrame], variables: list[ClinicalVariable]
) -> pd.DataFrame:
    """The clinical values keyed by pseudonymised image id, for results/.

    Parameters
    ----------
    manifests : cohort -> the checked manifest (text columns as read).
    linkages : cohort -> private/{cohort}/linkage.csv (image, id, ...).
    variables : the declared variables.

    Returns
    -------
    DataFrame(id, cohort, <one column per variable>): numeric values as
    numbers, top-coded where declared; levels as text; missing values empty.
    No source image name or patient id is kept.

    Raises
    ------
    ValueError
        If an image of a manifest has no row in its cohort's linkage (stale
        files: rerun rule preprocess).
    """
    frames = []
    for cohort, manifest in manifests.items():
        ids = linkages[cohort].astype({"image": str, "id": str}).set_index("image")["id"]
        lost = ~manifest["image"].isin(ids.index)
        if lost.any():
            raise ValueError(
                f"image {manifest['image'][lost].iloc[0]!r} of the {cohort} manifest has no row in its "
                "linkage table; rerun rule preprocess"
            )
        frame = pd.DataFrame({"id": ids.loc[manifest["image"]].to_numpy(), "cohort": cohort})
        for variable in variables:
            values = parse_column(manifest[variable.name], variable)[0]
            if variable.top_code is not None:
                values = values.where(values.isna() | (values < variable.top_code), variable.top_code)
            frame[variable.name] = values.to_numpy()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
