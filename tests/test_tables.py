"""Tests for alnus.tables: the paper's Table 2 in Markdown and LaTeX."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from alnus.comparisons import comparisons_table
from alnus.formatting import format_auc, format_difference, format_p, format_percent, format_proportion, round_half_up
from alnus.metrics import metrics_table
from alnus.stats import proportion_ci
from alnus.tables import table2, table2_from_files, tex_escape
from alnus.vocabulary import display_name

# --- cells ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, expected",
    [
        ("resnet101", "ResNet-101"),
        ("resnet101+clinical", "ResNet-101 + clinical"),
        ("ensemble+clinical", "Ensemble (mean probability) + clinical"),
        ("clinical", "Clinical variables only"),
    ],
)
def test_display_names_of_combined_and_clinical_models(model, expected):
    assert display_name(model) == expected


@pytest.mark.parametrize(
    "x, expected",
    [
        pytest.param(29 / 40, "73%", id="72.5 rounds up, as the paper"),
        pytest.param(0.725, "73%", id="0.725 is not 0.72499.. here"),
        pytest.param(35 / 41, "85%", id="85.4"),
        pytest.param(0.745, "75%", id="74.5"),
        pytest.param(0.0, "0%", id="zero"),
        pytest.param(1.0, "100%", id="one"),
        pytest.param(0.005, "1%", id="0.5 up"),
    ],
)
def test_format_percent_rounds_half_up(x, expected):
    assert format_percent(x) == expected


def test_round_half_up_differs_from_round():
    assert round(0.725, 2) == 0.72 and str(round_half_up(0.725, 2)) == "0.73"
    assert round(72.5) == 72 and str(round_half_up(72.5)) == "73"


@pytest.mark.parametrize(
    "k, n, expected",
    [
        (35, 41, "85% (35/41; 70%, 94%)"),
        (29, 40, "73% (29/40; 56%, 85%)"),
        (30, 41, "73% (30/41; 57%, 85%)"),
        (25, 40, "63% (25/40; 46%, 77%)"),
    ],
    ids=["model sensitivity", "model specificity", "radiologist sensitivity", "radiologist specificity"],
)
def test_format_proportion_gives_the_papers_cells(k, n, expected):
    assert format_proportion(k, n, *proportion_ci(k, n)) == expected


@pytest.mark.parametrize(
    "values, expected",
    [
        ((0.891, 0.834, 0.951), "0.89 (0.83, 0.95)"),
        ((0.885, 0.8249, 1.0), "0.89 (0.82, 1.00)"),
        ((0.5, 0.5, 0.5), "0.50 (0.50, 0.50)"),
    ],
)
def test_format_auc(values, expected):
    assert format_auc(*values) == expected


@pytest.mark.parametrize(
    "p, expected",
    [
        (0.17, ".17"),
        (0.3449, ".34"),
        (0.345, ".35"),
        (0.05, ".05"),
        (0.0095, ".01"),
        (0.0042, ".004"),
        (0.001, ".001"),
        (0.00049, "<.001"),
        (0.0, "<.001"),
        (0.994, ".99"),
        (0.996, ">.99"),
        (1.0, ">.99"),
    ],
)
def test_format_p_radiology_style(p, expected):
    assert format_p(p) == expected


@pytest.mark.parametrize("p", [float("nan"), 1.5, -0.1])
def test_format_p_rejects_non_p_values(p):
    with pytest.raises(ValueError, match=r"a P value must lie in \[0, 1\]"):
        format_p(p)


@pytest.mark.parametrize("x, expected", [(-0.214, "−0.21"), (0.145, "0.15"), (-0.001, "0.00"), (0.0, "0.00")])
def test_format_difference(x, expected):
    assert format_difference(x) == expected


def test_tex_escape():
    assert tex_escape("reader_1 85% (P <.001) χ² & #") == r"reader\_1 85\% (P $<$.001) $\chi$\textsuperscript{2} \& \#"


# --- the table ------------------------------------------------------------------------


def frame(positives, negatives, prefix: str) -> pd.DataFrame:
    scores = list(positives) + list(negatives)
    return pd.DataFrame(
        {
            "id": [f"{prefix}{i:03d}" for i in range(len(scores))],
            "label": [1] * len(positives) + [0] * len(negatives),
            "probability": scores,
        }
    )


def paper_study():
    """Hospital B's counts: model 35/41 and 29/40 at threshold 0.5; the
    radiologists 30/41 and 25/40 (one reader, so the majority vote is theirs)."""
    high, low = np.linspace(0.55, 0.95, 41), np.linspace(0.05, 0.45, 41)
    external = frame(np.r_[high[:35], low[:6]], np.r_[low[:29], high[:11]], "e")
    model = {
        "validation": frame([0.9, 0.8, 0.7], [0.1, 0.2, 0.3], "v"),
        "internal_test": frame([0.9, 0.8, 0.3], [0.1, 0.2, 0.6, 0.4], "i"),
        "external_test": external,
    }
    other = {s: f.assign(probability=f["probability"] ** 2) for s, f in model.items()}
    calls = np.r_[np.ones(30), np.zeros(11), np.zeros(25), np.ones(15)].astype(int)
    readers = pd.DataFrame(
        {"id": external["id"], "reader": "reader_1", "call": calls, "label": external["label"], "set": "external_test"}
    )
    return {"inception_v3": model, "resnet101": other}, readers


@pytest.fixture(scope="module")
def paper_tables():
    models, readers = paper_study()
    metrics = metrics_table(models, readers, threshold=0.5)
    comparisons = comparisons_table(models, readers, threshold=0.5)
    return metrics, comparisons


def test_table2_reproduces_the_papers_cells(paper_tables):
    markdown, latex = table2(*paper_tables)
    row = next(line for line in markdown.splitlines() if line.startswith("| Inception V3 |") and "35/41" in line)
    assert "85% (35/41; 70%, 94%) | 73% (29/40; 56%, 85%)" in row
    majority = next(line for line in markdown.splitlines() if line.startswith("| Radiologists (majority vote)"))
    assert "| NA | 73% (30/41; 57%, 85%) | 63% (25/40; 46%, 77%) |" in majority
    # The paper's P values: sensitivity .17, specificity .34 (chi-square).
    p_row = next(line for line in markdown.split("Table 2a")[1].splitlines() if line.startswith("| Inception V3"))
    chi2_sensitivity, _, chi2_specificity, _ = [c.strip() for c in p_row.strip("|").split("|")[1:]]
    assert (chi2_sensitivity, chi2_specificity) == (".17", ".34")
    assert r"85\% (35/41; 70\%, 94\%)" in latex


def test_table2_layout(paper_tables):
    markdown, latex = table2(*paper_tables)
    assert markdown.startswith("**Table 2: Diagnostic performance")
    assert (
        "**Internal test set (n = 7; 3 positive)**" in markdown
        and "**External test set (n = 81; 41 positive)**" in markdown
    )
    for name in ("Inception V3", "ResNet-101", "Ensemble (mean probability)", "reader_1"):
        assert f"| {name} |" in markdown
    assert "**Table 2b: AUCs of the models compared pairwise**" in markdown
    assert "Note.—Data in parentheses are 95% CIs" in markdown and "fixed probability" in markdown
    assert "an even split is called positive" in markdown and "unadjusted" in markdown
    widths = {line.count("|") for line in markdown.splitlines() if line.startswith("| ") and "P (" not in line}
    assert widths <= {6, 5}  # 5-column and 4-column tables only
    assert latex.count(r"\begin{table}") == latex.count(r"\end{table}") == 3
    assert latex.count(r"\toprule") == 3 and "reader\\_1" in latex
    assert not re.search(r"(?<!\\)%", latex)  # every percent sign escaped
    assert "Note.---" in latex


def test_table2_without_readers_or_pairs():
    models, _ = paper_study()
    single = {"inception_v3": models["inception_v3"]}
    markdown, _ = table2(metrics_table(single, None, threshold=0.5), comparisons_table(single, None, threshold=0.5))
    assert "Table 2a" not in markdown and "Radiologists" not in markdown
    assert "P values compare" not in markdown and "majority" not in markdown and "ensemble" not in markdown.lower()


def test_reader_with_missing_calls_is_marked():
    models, readers = paper_study()
    partial = readers.drop(index=[0, 50])
    markdown, _ = table2(
        metrics_table(models, partial, threshold=0.5), comparisons_table(models, partial, threshold=0.5)
    )
    assert "| reader_1 (read 79 of 81) | NA | 73% (29/40; " in markdown


def test_table2_refuses_empty_cells(paper_tables):
    metrics, comparisons = paper_tables
    broken = metrics.copy()
    broken.loc[0, "auc_low"] = np.nan
    with pytest.raises(ValueError, match=r"metrics.csv: inception_v3 on internal_test has an empty value"):
        table2(broken, comparisons)
    broken = comparisons.copy()
    broken.loc[0, "p"] = np.nan
    with pytest.raises(ValueError, match=r"comparisons.csv holds an empty or non-finite P value"):
        table2(metrics, broken)


def test_table2_from_files(tmp_path, paper_tables):
    metrics, comparisons = paper_tables
    metrics.to_csv(tmp_path / "metrics.csv", index=False, float_format="%.6f")
    comparisons.to_csv(tmp_path / "comparisons.csv", index=False, float_format="%.6g")
    table2_from_files(
        tmp_path / "metrics.csv",
        tmp_path / "comparisons.csv",
        markdown=tmp_path / "table2.md",
        latex=tmp_path / "table2.tex",
    )
    markdown, latex = table2(metrics, comparisons)
    assert (tmp_path / "table2.md").read_text() == markdown
    assert (tmp_path / "table2.tex").read_text() == latex
