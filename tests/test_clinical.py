"""Tests for alnus.clinical: declaring, checking and pseudonymising the clinical columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alnus.clinical import (
    ClinicalVariable,
    clinical_table,
    clinical_variables,
    inspect_clinical,
    parse_column,
    unseen_levels,
)
from alnus.manifest import Problems

DECLARED = [
    {"column": "age", "type": "numeric", "label": "Age", "unit": "years", "min": 18, "max": 110, "top_code": 90},
    {"column": "birads", "type": "ordinal", "label": "BI-RADS", "levels": ["3", "4a", "4b", "4c", "5"]},
    {"column": "grade", "type": "categorical", "label": "Histological grade", "levels": [1, 2, 3]},
]


def manifest(**columns) -> pd.DataFrame:
    base = {
        "image": [f"i{k}.png" for k in range(4)],
        "patient_id": ["P1", "P1", "P2", "P3"],
        "label": ["1", "1", "0", "0"],
        "age": ["45", "45", "91", "60"],
        "birads": ["5", "5", "3", "4a"],
        "grade": ["3", "3", "1", "2"],
    }
    return pd.DataFrame(base | columns)


def problems_of(table, *, missing="refuse", constant=True) -> tuple[list[str], dict]:
    problems = Problems("m.csv", "The development manifest")
    counts = inspect_clinical(table, clinical_variables(DECLARED), problems, missing=missing, constant=constant)
    return problems.items, counts


def test_declarations_become_typed_variables():
    age, birads, grade = clinical_variables(DECLARED)
    assert age == ClinicalVariable("age", "numeric", "Age", "years", 18.0, 110.0, top_code=90.0)
    assert age.display == "Age (years)" and birads.display == "BI-RADS"
    assert birads.levels == ("3", "4a", "4b", "4c", "5") and grade.levels == ("1", "2", "3")


@pytest.mark.parametrize(
    "spec, match",
    [
        ([{"type": "numeric", "label": "Age", "unit": "y", "min": 5}], "needs max"),
        ([{"type": "numeric", "label": "Age", "unit": "y", "min": 5, "max": 5}], "must be below"),
        ([{"type": "ordinal", "label": "B", "levels": ["3"]}], "at least two distinct"),
        ([{"type": "date", "label": "B"}], "must be one of numeric"),
        ([{"type": "ordinal", "label": "B", "levels": ["3", "4"]}] * 2, "column 'x' is declared twice"),
    ],
)
def test_bad_declarations_are_named(spec, match):
    with pytest.raises(ValueError, match=match):
        clinical_variables([s | {"column": "x"} for s in spec])


def test_a_clean_manifest_has_no_problem():
    items, counts = problems_of(manifest())
    assert items == [] and counts == {"age": 0, "birads": 0, "grade": 0}


def test_every_problem_is_named_by_column_and_line_together():
    table = manifest(age=["45", "", "abc", "130"], birads=["5", "5", "6", "4a"]).drop(columns="grade")
    items, counts = problems_of(table)
    text = "\n".join(items)
    assert "`grade` (Histological grade, declared in config `clinical: variables`) is missing; add it" in text
    assert "`age` (Age (years)" in text and "1 missing value(s), on line(s) 3" in text
    assert "must be a number, on line(s) 4" in text
    assert "outside its allowed range 18 to 110 years, on line(s) 5" in text
    assert "must be one of 3, 4a, 4b, 4c, 5, got '6' on line(s) 4" in text
    assert counts["age"] == 1


def test_impute_counts_missing_values_instead_of_refusing_them():
    items, counts = problems_of(manifest(age=["45", "NA", " ", "60"]), missing="impute")
    assert items == [] and counts["age"] == 2


def test_a_constant_column_is_refused_where_models_are_fitted_only():
    table = manifest(grade=["2", "2", "2", ""])
    items, _ = problems_of(table, missing="impute")
    assert len(items) == 1 and "is constant (every value is '2')" in items[0] and "remove it" in items[0]
    assert problems_of(table, missing="impute", constant=False)[0] == []


def test_parse_column_keeps_numbers_and_levels():
    age, birads, _ = clinical_variables(DECLARED)
    values, bad = parse_column(pd.Series(["45.5", "", "17"]), age)
    assert values.iloc[0] == 45.5 and np.isnan(values.iloc[1]) and np.isnan(values.iloc[2])
    assert bad["missing"] == [1] and bad["out of range"] == [2]
    levels, bad = parse_column(pd.Series(["4b", "x"]), birads)
    assert levels.iloc[0] == "4b" and pd.isna(levels.iloc[1])
    assert bad["unknown level"] == [1]


def test_a_level_unseen_in_development_is_named_with_its_cohort():
    variables = clinical_variables(DECLARED)
    tables = {"development": manifest(grade=["1", "1", "2", "2"]), "external": manifest()}
    found = unseen_levels(tables, variables)
    assert len(found) == 1 and found[0][0] == "external"
    assert "level '3' in the external cohort but not in the development cohort" in found[0][1]
    # Ordinal variables are one linear term: an unseen BI-RADS level is scored on the scale.
    tables["development"]["birads"] = ["5", "5", "3", "3"]
    assert len(unseen_levels(tables, variables)) == 1


def test_the_table_is_keyed_by_pseudonym_and_top_codes_ages():
    linkages = {"development": pd.DataFrame({"image": [f"i{k}.png" for k in range(4)], "id": list("abcd")})}
    table = clinical_table(
        {"development": manifest(age=["45", "89", "91", ""])}, linkages, clinical_variables(DECLARED)
    )
    assert list(table.columns) == ["id", "cohort", "age", "birads", "grade"]
    assert list(table["id"]) == list("abcd") and "image" not in table and "patient_id" not in table
    assert table["age"].tolist()[:3] == [45.0, 89.0, 90.0] and np.isnan(table["age"].iloc[3])
    assert table["birads"].tolist() == ["5", "5", "3", "4a"]


def test_the_table_refuses_stale_linkage():
    linkages = {"development": pd.DataFrame({"image": ["i0.png"], "id": ["a"]})}
    with pytest.raises(ValueError, match="no row in its linkage table; rerun rule preprocess"):
        clinical_table({"development": manifest()}, linkages, clinical_variables(DECLARED))
