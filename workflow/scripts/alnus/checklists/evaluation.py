"""Answers about the evaluation: the metrics and their uncertainty, the
results on the test sets, calibration, robustness, failures and heat maps."""

from __future__ import annotations

from alnus import run_facts as facts
from alnus.checklists.answer import Answer, simulated_note
from alnus.tables import AUC_CI_TEXT, CI_TEXT, TEST_TEXT
from alnus.vocabulary import SET_NAMES, TEST_SETS, display_name


def metrics_used(run) -> Answer:
    units = ", ".join(dict.fromkeys(run.metrics["unit"]))
    return Answer(
        f"AUC, sensitivity, specificity and accuracy at the frozen threshold, per unit of analysis ({units}); "
        "calibration (Brier score, intercept, slope) and net benefit.",
        ("results/tables/metrics.csv", "results/tables/calibration.csv", "results/tables/decision_curve.csv"),
    )


def uncertainty(run) -> Answer:
    st = run.config["statistics"]
    return Answer(
        f"{st['level']:.0%} intervals: AUC by {AUC_CI_TEXT.get(st['auc_ci'], st['auc_ci'])}, proportions by "
        f"{CI_TEXT.get(st['proportion_ci'], st['proportion_ci'])} (each row's method in its `ci_method`); "
        "models compared by "
        "DeLong's paired test, models against readers by "
        f"{TEST_TEXT.get(st['proportion_test'], st['proportion_test'])} "
        "and McNemar's test, Holm-adjusted; the multi-reader analysis by Obuchowski-Rockette.",
        ("results/tables/metrics.csv", "results/tables/comparisons.csv", "results/tables/mrmc.csv"),
    )


def robustness(run) -> Answer:
    parts = [
        f"external test AUCs {facts.auc_range(run, 'external_test')} against internal "
        f"{facts.auc_range(run, 'internal_test')}"
    ]
    if "seeds" in run.metrics and (run.metrics["seeds"].fillna(1) > 1).any():
        rows = run.metrics.dropna(subset=["auc_seed_sd"])
        parts.append(f"AUC spread over seeds up to SD {rows['auc_seed_sd'].max():.3f}")
    units = list(dict.fromkeys(run.metrics["unit"]))
    if len(units) > 1:
        parts.append("image and patient units both reported")
    return Answer(
        "; ".join(parts) + ".",
        ("results/tables/metrics.csv", "results/figures/forest_plot.png"),
        "Any further sensitivity analysis.",
    )


def explainability(run) -> Answer:
    hm = run.config["figures"]["heatmaps"]
    return Answer(
        f"`{hm['method']}` heat maps of each architecture on chosen test cases ({hm['selection']}, "
        f"{hm['per_category']} per outcome: TP, FN, FP, TN; target `{hm['target']}`): {len(run.heatmaps)} "
        "figure(s). The run does not validate the maps.",
        tuple(run.heatmaps[:2]) or ("results/figures/heatmaps/",),
        "How the heat maps were judged, and by whom.",
    )


def internal_test(run) -> Answer:
    return Answer(
        f"Internal test set ({facts.set_text(run, 'internal_test')}): {facts.headline(run, 'internal_test')}.",
        ("results/tables/metrics.csv", "results/figures/roc_internal_test.png"),
    )


def external_test(run) -> Answer:
    return Answer(
        f"External test set ({facts.set_text(run, 'external_test')}): {facts.headline(run, 'external_test')}."
        f"{simulated_note(run)}",
        ("results/tables/metrics.csv", "results/figures/roc_external_test.png"),
    )


def performance(run) -> Answer:
    sets = [s for s in TEST_SETS if not facts.rows_of(run, set_name=s).empty]
    lines = []
    for set_name in sets:
        rows = facts.rows_of(run, set_name=set_name)
        lines.append(
            f"{SET_NAMES[set_name]}: "
            + ", ".join(
                f"{display_name(r.model)} {r.auc:.2f} ({r.auc_low:.2f}, {r.auc_high:.2f})" for r in rows.itertuples()
            )
        )
    return Answer("AUC (95% CI) " + "; ".join(lines) + ".", ("results/tables/metrics.csv", "results/tables/table2.md"))


def accuracy(run) -> Answer:
    text = f"At the frozen threshold, {facts.headline(run, 'external_test')} (external test)."
    majority = facts.rows_of(run, set_name="external_test", kinds=("majority",))
    if not majority.empty:
        text += f" Radiologists (majority vote): {facts.performance_text(majority.iloc[0])}."
    return Answer(
        text, ("results/tables/metrics.csv", "results/tables/comparisons.csv", "results/figures/confusion_matrices.png")
    )


def failures(run) -> Answer:
    row = facts.best_row(run, "external_test")
    counts = ""
    if row is not None:
        counts = (
            f" {display_name(row['model'])} on the external test set: {int(row['fn'])} false negatives, "
            f"{int(row['fp'])} false positives."
        )
    return Answer(
        f"Confusion matrices per model and set; heat maps of false negatives and false positives.{counts}",
        ("results/figures/confusion_matrices.png", "results/figures/heatmaps/"),
        "A clinical review of the misclassified cases.",
    )


def calibration(run) -> Answer:
    if run.calibration is None or run.calibration.empty:
        return Answer("The run has no calibration table.", ())
    ext = run.calibration[run.calibration["set"] == "external_test"]
    text = ", ".join(
        f"{display_name(r.model)} slope {facts.estimate_text(r.slope)}, Brier {r.brier:.3f}" for r in ext.itertuples()
    )
    return Answer(
        f"No model updating or recalibration. External test calibration: {text}.",
        ("results/tables/calibration.csv", "results/figures/calibration.png"),
    )


def heterogeneity(run) -> Answer:
    return Answer(
        f"Performance reported per institution (internal {facts.auc_range(run, 'internal_test')}, external "
        f"{facts.auc_range(run, 'external_test')}); not modelled further.",
        ("results/tables/metrics.csv",),
    )
