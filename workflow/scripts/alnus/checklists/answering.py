"""Answering a checklist: ANSWERS, the one registry of the answers by name
(shared by both checklists, so that a fact is worded in one place), and
answer_items, which answers each item of an item table from the run."""

from __future__ import annotations

import pandas as pd

from alnus.checklists.answer import AUTHORS, STATUS_AUTHORS, STATUS_BOTH, STATUS_RUN
from alnus.checklists.data import (
    acquisition,
    characteristics,
    class_imbalance,
    data_differences,
    data_sources,
    deidentification,
    disjoint,
    eligibility,
    flow,
    missing_data,
    partitions,
    predictors,
    preprocessing,
    reader_variability,
    reference_standard,
    sample_events,
    sample_size,
    subsets,
    test_annotation,
)
from alnus.checklists.evaluation import (
    accuracy,
    calibration,
    explainability,
    external_test,
    failures,
    heterogeneity,
    internal_test,
    metrics_used,
    performance,
    robustness,
    uncertainty,
)
from alnus.checklists.modelling import (
    ensembling,
    initialisation,
    model,
    outputs,
    prediction_method,
    selection,
    software,
    training,
)
from alnus.checklists.study import (
    availability,
    design,
    goal,
    handling,
    intended_use,
    limitations,
    objectives,
    protocol,
    summary,
    technique,
)

ANSWERS = {
    f.__name__: f
    for f in (
        technique,
        summary,
        intended_use,
        objectives,
        design,
        goal,
        data_sources,
        eligibility,
        preprocessing,
        subsets,
        deidentification,
        missing_data,
        acquisition,
        reference_standard,
        test_annotation,
        reader_variability,
        partitions,
        disjoint,
        sample_size,
        model,
        software,
        initialisation,
        training,
        selection,
        ensembling,
        metrics_used,
        uncertainty,
        robustness,
        explainability,
        internal_test,
        external_test,
        flow,
        characteristics,
        performance,
        accuracy,
        failures,
        limitations,
        protocol,
        availability,
        handling,
        outputs,
        class_imbalance,
        predictors,
        data_differences,
        calibration,
        heterogeneity,
        sample_events,
        prediction_method,
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
