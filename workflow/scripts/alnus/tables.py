"""Table 2 of the study, laid out as Radiology prints results tables.

Built from results/tables/metrics.csv and comparisons.csv only, rendered
twice from one structure: Markdown (results/tables/table2.md) and LaTeX with
booktabs (table2.tex). Cells read "0.89 (0.83, 0.95)" for an AUC and
"85% (35/41; 70%, 94%)" for a proportion; P values follow Radiology's style
(".17", ".004", "<.001", ">.99").
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from alnus.formatting import format_auc, format_difference, format_p, format_proportion, round_half_up
from alnus.vocabulary import (
    KIND_ORDER,
    MODEL_KINDS,
    SET_NAMES,
    TEST_SETS,
    display_name,
)

CI_TEXT = {
    "wilson_cc": "Wilson score intervals with continuity correction",
    "wilson": "Wilson score intervals",
    "exact": "Clopper-Pearson exact intervals",
}
AUC_CI_TEXT = {"delong": "DeLong's method", "bootstrap": "a stratified percentile bootstrap"}
TEST_NAMES = {
    "chi2": "χ²",
    "chi2_yates": "χ² (Yates)",
    "fisher": "Fisher",
    "mcnemar": "McNemar",
    "mcnemar_clustered": "clustered McNemar",
}
AUC_TESTS = {"delong": "DeLong", "obuchowski": "Obuchowski, clustered"}
UNIT_TITLES = {"image": "image level, each image a case", "patient": "patient level, each patient a case"}
AGGREGATE_TEXT = {"mean": "the mean of its images' probabilities", "max": "the highest of its images' probabilities"}
READER_AGGREGATE_TEXT = {"any": "any", "majority": "at least half", "all": "all"}
TEST_TEXT = {
    "chi2": "Pearson's χ² test without continuity correction (as in the original study)",
    "chi2_yates": "the χ² test with Yates' continuity correction",
    "fisher": "Fisher's exact test",
}
POLICY_TEXT = {"youden": "maximizing the Youden index", "fixed": "as a fixed probability"}


# --------------------------------------------------------------------------
# Structure: a block is (title, header, rows); a row is a list of cells, or a
# str for a section heading spanning the table.
# --------------------------------------------------------------------------
def units(metrics: pd.DataFrame) -> list[str]:
    """The units of analysis of metrics.csv, in order (image for older files)."""
    return list(dict.fromkeys(metrics["unit"])) if "unit" in metrics.columns else ["image"]


def of_unit(table: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The rows of one unit (all rows of an older file without the column)."""
    return table[table["unit"] == unit] if "unit" in table.columns else table


def set_title(set_name: str, n: int, positives: int, patients: int | None = None, *, unit: str = "image") -> str:
    """'External test set (n = 81; 41 positive)', naming the images and the
    patients where they differ; `unit` "patient" counts patients. The one
    wording of a set's heading, in Table 2 and in the figures."""
    if unit == "patient":
        return f"{SET_NAMES[set_name]} (n = {n} patients; {positives} positive)"
    count = f"{n} images of {patients} patients" if patients is not None and patients < n else f"{n}"
    return f"{SET_NAMES.get(set_name, set_name)} (n = {count}; {positives} positive)"


def set_heading(size: pd.Series, set_name: str, unit: str) -> str:
    """`set_title` of a metrics.csv row (n_in_set, positives, patients)."""
    n, positives = int(size["n_in_set"]), int(size["positives"])
    patients = int(size["patients"]) if "patients" in size and pd.notna(size["patients"]) else n
    return set_title(set_name, n, positives, patients, unit=unit)


def performance_rows(metrics: pd.DataFrame, unit: str = "image") -> list:
    """Per test set a heading, then models, ensemble, majority vote and readers."""
    rows = []
    for set_name in [s for s in TEST_SETS if s in set(metrics["set"])]:
        here = metrics[metrics["set"] == set_name]
        here = here.assign(order=here["kind"].map(KIND_ORDER)).sort_values("order", kind="stable")
        rows.append(set_heading(here.iloc[0], set_name, unit))
        for _, r in here.iterrows():
            name = display_name(r["model"])
            if r["n"] < r["n_in_set"]:
                name += f" (read {int(r['n'])} of {int(r['n_in_set'])})"
            auc = format_auc(r["auc"], r["auc_low"], r["auc_high"]) if r["kind"] in MODEL_KINDS else "NA"
            rows.append(
                [
                    name,
                    auc,
                    format_proportion(r["tp"], r["tp"] + r["fn"], r["sensitivity_low"], r["sensitivity_high"]),
                    format_proportion(r["tn"], r["tn"] + r["fp"], r["specificity_low"], r["specificity_high"]),
                    format_proportion(r["tp"] + r["tn"], r["n"], r["accuracy_low"], r["accuracy_high"]),
                ]
            )
    return rows


def reader_p_block(comparisons: pd.DataFrame):
    """Models against the readers' majority vote: P for sensitivity and
    specificity by each test; None when there are no readers."""
    rows_in = comparisons[comparisons["b"] == "readers_majority"]
    if rows_in.empty:
        return None
    tests = list(dict.fromkeys(rows_in["test"]))
    header = ["Model"] + [
        f"{m.capitalize()}, P ({TEST_NAMES.get(t, t)})" for m in ("sensitivity", "specificity") for t in tests
    ]
    rows = []
    for set_name in [s for s in TEST_SETS if s in set(rows_in["set"])]:
        here = rows_in[rows_in["set"] == set_name].set_index(["a", "measure", "test"])["p"]
        rows.append(SET_NAMES[set_name])
        for model in dict.fromkeys(here.index.get_level_values("a")):
            # The clustered McNemar test exists only where the read cases of that class hold a patient twice.
            rows.append(
                [display_name(model)]
                + [
                    format_p(here[(model, m, t)]) if (model, m, t) in here.index else "NA"
                    for m in ("sensitivity", "specificity")
                    for t in tests
                ]
            )
    return ("Models compared with the radiologists' majority vote on the same cases", header, rows)


def auc_p_block(comparisons: pd.DataFrame):
    """Pairs of models: AUC difference and DeLong P, raw and Holm-adjusted;
    None with fewer than two models."""
    pairs = comparisons[comparisons["test"].isin(list(AUC_TESTS))]
    if pairs.empty:
        return None
    tests = " or ".join(AUC_TESTS[t] for t in dict.fromkeys(pairs["test"]))
    header = ["Comparison", "Difference in AUC", f"P ({tests})", "P (Holm)"]
    rows = []
    for set_name in [s for s in TEST_SETS if s in set(pairs["set"])]:
        rows.append(SET_NAMES[set_name])
        for _, r in pairs[pairs["set"] == set_name].iterrows():
            rows.append(
                [
                    f"{display_name(r['a'])} vs {display_name(r['b'])}",
                    format_difference(r["difference"]),
                    format_p(r["p"]),
                    format_p(r["p_holm"]),
                ]
            )
    return ("AUCs of the models compared pairwise", header, rows)


def table2_notes(
    metrics: pd.DataFrame,
    comparisons: pd.DataFrame,
    *,
    level: float,
    proportion_ci: str,
    auc_ci: str,
    ties: str = "positive",
    aggregate: str = "mean",
    reader_aggregate: str = "any",
) -> list[str]:
    """The footnote sentences: what the cells are and how they were computed."""
    pct = f"{round_half_up(level, scale=100)}%"
    return [
        f"Data in parentheses are {pct} CIs; for proportions, the numerator and denominator precede them.",
        *unit_notes(
            metrics,
            level=level,
            proportion_ci=proportion_ci,
            auc_ci=auc_ci,
            aggregate=aggregate,
            reader_aggregate=reader_aggregate,
        ),
        _threshold_note(metrics),
        *_model_notes(metrics, ties=ties),
        *_comparison_notes(metrics, comparisons),
    ]


def _threshold_note(metrics: pd.DataFrame) -> str:
    """How each model's threshold was chosen, and its value (per unit where there are two)."""
    models = metrics[metrics["kind"].isin(MODEL_KINDS)].drop_duplicates(
        ["model", "unit"] if "unit" in metrics else ["model"]
    )
    policy = models["threshold_policy"].iloc[0] if len(models) else "youden"
    policy_text = POLICY_TEXT.get(policy, f"as the highest threshold reaching {policy.replace('>=', ' ≥ ')}")
    cuts = "; ".join(
        (f"{unit} level: " if len(units(metrics)) > 1 else "")
        + ", ".join(f"{display_name(m)} {t:.3f}" for m, t in zip(here["model"], here["threshold"]))
        for unit in units(metrics)
        for here in [of_unit(models, unit)]
    )
    return (
        f"Each model's probability threshold was chosen on the validation set {policy_text} and frozen before "
        f"the test sets were scored: {cuts}."
    )


def _model_notes(metrics: pd.DataFrame, *, ties: str) -> list[str]:
    """What the ensemble, the combined models and the majority vote are, where the table has them."""
    notes = []
    if (metrics["kind"] == "ensemble").any():
        notes.append("The ensemble averages the models' probabilities case by case.")
    if metrics["kind"].isin(["combined", "clinical"]).any():
        notes.append(
            "A model marked + clinical is a logistic regression of the network's logit and the clinical variables; "
            "Clinical variables only is the same without the network. Both were fitted on the validation set, which "
            "the networks never trained on, and are not image-only models (results/tables/combined_coefficients.csv)."
        )
    if (metrics["kind"] == "majority").any():
        notes.append(
            "The radiologists' majority vote takes the call of most radiologists who read a case; an even split is "
            f"called {ties}. NA = not applicable (a binary call has no ROC curve)."
        )
    return notes


def _comparison_notes(metrics: pd.DataFrame, comparisons: pd.DataFrame) -> list[str]:
    """Which tests gave the P values, and where every comparison is."""
    notes = []
    tests = [t for t in dict.fromkeys(comparisons["test"]) if t in TEST_TEXT]
    if tests:
        clustered = (
            " and, where patients have several images, by Durkalski's clustered McNemar test"
            if (comparisons["test"] == "mcnemar_clustered").any()
            else ""
        )
        notes.append(
            f"P values compare each model with the radiologists' majority vote on the cases read, by "
            f"{TEST_TEXT[tests[0]]} and by McNemar's exact test for paired readings{clustered}; they are unadjusted."
        )
    if comparisons["test"].isin(list(AUC_TESTS)).any():
        how = (
            "DeLong's paired test (Obuchowski's clustered form where patients have several images)"
            if (comparisons["test"] == "obuchowski").any()
            else "DeLong's paired test"
        )
        families = (
            " (the image-only models' pairs, and each combined model against its network and against the "
            "clinical-only model, as two families)"
            if "family" in comparisons.columns and (comparisons["family"] == "clinical").any()
            else ""
        )
        notes.append(
            f"AUCs are compared by {how}, with Holm's adjustment across the model pairs of each set{families}."
        )
    if len(comparisons):
        readers = ", each radiologist's included," if metrics["kind"].isin(["reader", "majority"]).any() else ""
        notes.append(f"Every comparison{readers} is in comparisons.csv with Holm-adjusted P values.")
    return notes


def unit_notes(
    metrics: pd.DataFrame, *, level: float, proportion_ci: str, auc_ci: str, aggregate: str, reader_aggregate: str
) -> list[str]:
    """What one case is at each unit, how many images and patients the test
    sets hold, and whether each unit's intervals account for clustering."""
    methods = metrics["ci_method"].astype(str) if "ci_method" in metrics.columns else pd.Series([""] * len(metrics))
    plain = f"AUC intervals by {AUC_CI_TEXT.get(auc_ci, auc_ci)}; proportions with {CI_TEXT.get(proportion_ci, proportion_ci)}."
    if "unit" not in metrics.columns:
        return [plain]
    notes = []
    for unit in units(metrics):
        here, how = of_unit(metrics, unit), methods[metrics["unit"] == unit]
        sizes = here.drop_duplicates("set")
        counted = ", ".join(
            f"{SET_NAMES.get(r['set'], r['set']).lower()} {int(r['images'])} images of {int(r['patients'])} patients"
            for _, r in sizes.iterrows()
        )
        if unit == "patient":
            notes.append(
                f"Patient-level rows make one case of each patient ({counted}): its probability is "
                f"{AGGREGATE_TEXT.get(aggregate, aggregate)}, it is positive if any of its images is, and a "
                f"radiologist's call is positive if {READER_AGGREGATE_TEXT.get(reader_aggregate)} of its "
                f"images were called positive; thresholds were chosen at patient level. {plain}"
            )
        elif how.str.contains("clustered by patient").any():
            scale = " on the logit scale" if how.str.contains("obuchowski_logit").any() else ""
            method = (
                "a stratified patient bootstrap for every figure"
                if how.str.contains("bootstrap").any()
                else f"Obuchowski's method{scale} for AUC and Rao-Scott-adjusted Wilson intervals for proportions"
            )
            notes.append(
                f"Image-level rows count each image as a case ({counted}); their intervals account for "
                f"patients with several images ({method})."
            )
        elif how.str.contains("assumes independent images").any():
            notes.append(
                f"Image-level rows count each image as a case ({counted}). {plain} These intervals assume "
                "independent images, which does not hold where a patient has several: they are too narrow "
                "(statistics: clustered: true gives intervals clustered by patient)."
            )
        else:
            notes.append(plain)
    return notes


def table2_blocks(metrics: pd.DataFrame, comparisons: pd.DataFrame) -> list:
    """The blocks of Table 2, per unit of analysis: performance, then P
    values where there are any."""
    readers = metrics["kind"].isin(["reader", "majority"]).any()
    several = len(units(metrics)) > 1
    blocks = []
    for unit in units(metrics):
        suffix = f" ({UNIT_TITLES[unit]})" if several or unit != "image" else ""
        blocks.append(
            (
                f"Diagnostic performance of the models{' and radiologists' if readers else ''} on the test "
                f"sets{suffix}",
                ["Model or reader" if readers else "Model", "AUC", "Sensitivity", "Specificity", "Accuracy"],
                performance_rows(of_unit(metrics, unit), unit),
            )
        )
        here = of_unit(comparisons, unit)
        for block in (reader_p_block(here), auc_p_block(here)):
            if block is not None:
                blocks.append((block[0] + suffix, *block[1:]))
    return blocks


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------
def to_markdown(blocks: list, notes: list[str]) -> str:
    """Pipe tables, one per block, section headings in bold, then the note."""
    lines = []
    for i, (title, header, rows) in enumerate(blocks):
        lines += [f"**Table 2{'abcdefg'[i - 1] if i else ''}: {title}**", ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
        for row in rows:
            cells = [f"**{row}**"] + [""] * (len(header) - 1) if isinstance(row, str) else row
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    lines.append("Note.—" + " ".join(notes))
    return "\n".join(lines) + "\n"


TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"$<$",
    ">": r"$>$",
    "χ": r"$\chi$",
    "²": r"\textsuperscript{2}",
    "≥": r"$\geq$",
    "—": "---",
    "−": r"$-$",
}


def tex_escape(text: str) -> str:
    """Plain text -> LaTeX text-mode source."""
    return "".join(TEX_ESCAPES.get(c, c) for c in text)


def to_latex(blocks: list, notes: list[str]) -> str:
    """One booktabs `table` per block; the note under the last."""
    out = []
    for i, (title, header, rows) in enumerate(blocks):
        ncol = len(header)
        label = f"2{'abcdefg'[i - 1] if i else ''}"
        out += [
            r"\begin{table}[htbp]",
            r"\centering",
            rf"\caption{{{tex_escape(title)}}}",
            rf"\label{{tab:table{label}}}",
            r"\begin{tabular}{l" + "r" * (ncol - 1) + "}",
            r"\toprule",
            " & ".join(tex_escape(h) for h in header) + r" \\",
            r"\midrule",
        ]
        for row in rows:
            if isinstance(row, str):
                out.append(rf"\multicolumn{{{ncol}}}{{l}}{{\textit{{{tex_escape(row)}}}}} \\")
            else:
                out.append(" & ".join(tex_escape(c) for c in row) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}"]
        if i == len(blocks) - 1:
            out += [
                r"\par\smallskip",
                r"\begin{minipage}{\linewidth}\footnotesize",
                "Note.---" + tex_escape(" ".join(notes)),
                r"\end{minipage}",
            ]
        out += [r"\end{table}", ""]
    return "\n".join(out)


def table2(
    metrics: pd.DataFrame,
    comparisons: pd.DataFrame,
    *,
    level: float = 0.95,
    proportion_ci: str = "wilson_cc",
    auc_ci: str = "delong",
    ties: str = "positive",
    aggregate: str = "mean",
    reader_aggregate: str = "any",
) -> tuple[str, str]:
    """Table 2 as (Markdown, LaTeX).

    Parameters
    ----------
    metrics : results/tables/metrics.csv.
    comparisons : results/tables/comparisons.csv.
    level, proportion_ci, auc_ci, ties, aggregate, reader_aggregate : what
        the intervals are, how the majority vote breaks ties and how patient
        rows aggregate images, for the note.

    Returns
    -------
    (markdown, latex) : tuple of str

    Raises
    ------
    ValueError
        If metrics holds a NaN where a cell needs a number (it never should:
        the rules that write it fail instead).
    """
    needed = [
        "auc",
        "auc_low",
        "auc_high",
        "sensitivity_low",
        "sensitivity_high",
        "specificity_low",
        "specificity_high",
        "accuracy_low",
        "accuracy_high",
        "tp",
        "fp",
        "tn",
        "fn",
    ]
    scored = metrics[metrics["kind"].isin(MODEL_KINDS)]
    for frame, columns in ((scored, needed), (metrics, needed[3:])):
        bad = frame[columns].isna().any(axis=1)
        if bad.any():
            row = frame[bad].iloc[0]
            raise ValueError(f"metrics.csv: {row['model']} on {row['set']} has an empty value; rerun rule metrics")
    if comparisons["p"].isna().any() or not comparisons["p"].map(math.isfinite).all():
        raise ValueError("comparisons.csv holds an empty or non-finite P value; rerun rule comparisons")
    blocks = table2_blocks(metrics, comparisons)
    notes = table2_notes(
        metrics,
        comparisons,
        level=level,
        proportion_ci=proportion_ci,
        auc_ci=auc_ci,
        ties=ties,
        aggregate=aggregate,
        reader_aggregate=reader_aggregate,
    )
    return to_markdown(blocks, notes), to_latex(blocks, notes)


def table2_from_files(metrics_csv: str, comparisons_csv: str, *, markdown: str, latex: str, **options) -> None:
    """Write table2.md and table2.tex from the two tables; options as for table2."""
    metrics = pd.read_csv(metrics_csv, keep_default_na=False, na_values=[""])
    comparisons = pd.read_csv(comparisons_csv, keep_default_na=False, na_values=[""])
    md, tex = table2(metrics, comparisons, **options)
    Path(markdown).write_text(md)
    Path(latex).write_text(tex)
