"""Answering a checklist: ANSWERS, the one registry of the answers by name
(shared by both checklists, so that a fact is worded in one place), and
answer_items, which answers each item of an item table from the run."""

from __future__ import annotations

import pandas as pd

from alnus.checklists import data, evaluation, modelling, study
from alnus.checklists.answer import AUTHORS, STATUS_AUTHORS, STATUS_BOTH, STATUS_RUN

ANSWERS = {
    f.__name__: f
    for f in (
        study.technique,
        study.summary,
        study.intended_use,
        study.objectives,
        study.design,
        study.goal,
        data.data_sources,
        data.eligibility,
        data.preprocessing,
        data.subsets,
        data.deidentification,
        data.missing_data,
        data.acquisition,
        data.reference_standard,
        data.test_annotation,
        data.reader_variability,
        data.partitions,
        data.disjoint,
        data.sample_size,
        modelling.model,
        modelling.software,
        modelling.initialisation,
        modelling.training,
        modelling.selection,
        modelling.ensembling,
        evaluation.metrics_used,
        evaluation.uncertainty,
        evaluation.robustness,
        evaluation.explainability,
        evaluation.internal_test,
        evaluation.external_test,
        data.flow,
        data.characteristics,
        evaluation.performance,
        evaluation.accuracy,
        evaluation.failures,
        study.limitations,
        study.protocol,
        study.availability,
        study.handling,
        modelling.outputs,
        data.class_imbalance,
        data.predictors,
        data.data_differences,
        evaluation.calibration,
        evaluation.heterogeneity,
        data.sample_events,
        modelling.prediction_method,
    )
}


def answer_items(items, run) -> pd.DataFrame:
    """Answer each item of a checklist from the run.

    Parameters
    ----------
    items : tuple of (number, section, paraphrase, answer name or None).
    run : alnus.run_facts.Run.

    Returns
    -------
    DataFrame(number, section, item, status, answer, where, authors), one row
    per item, status one of "from the run", "from the run; authors to
    complete", "authors"; `authors` says what the authors must supply.

    Raises
    ------
    ValueError
        If an item names an answer that ANSWERS does not hold.
    """
    rows = []
    for number, section, paraphrase, name in items:
        if name is None:
            rows.append((number, section, paraphrase, STATUS_AUTHORS, AUTHORS, "", AUTHORS))
            continue
        if name not in ANSWERS:
            raise ValueError(
                f"checklist item {number} names answer {name!r}, which is not one of ANSWERS; "
                "add the function or fix the name"
            )
        answer = ANSWERS[name](run)
        status = STATUS_BOTH if answer.authors else STATUS_RUN
        rows.append((number, section, paraphrase, status, answer.text, ", ".join(answer.where), answer.authors or ""))
    return pd.DataFrame(rows, columns=["number", "section", "item", "status", "answer", "where", "authors"])
