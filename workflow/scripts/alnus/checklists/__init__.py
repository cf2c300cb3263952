"""Reporting checklists answered from a finished run: CLAIM 2024 (Tejani et
al., Radiol Artif Intell 2024;6(4):e240300; 44 items) and TRIPOD+AI (Collins et
al., BMJ 2024;385:e078378; 27 main items, 52 items and sub-items in all).

Each item table (claim.py, tripod_ai.py) is the one home of its list: each
item's published number, a short paraphrase in this project's own words, and
the name of the answer that the run can give, or None where only the authors
know. An answer (answer.Answer) is a small function of the run's outputs
(alnus.run_facts.Run) that cites numbers and names the output that shows
them; it may add what the authors must still supply. The answers live by
topic (study.py, data.py, modelling.py, evaluation.py); answering.py holds
their registry ANSWERS and answers a table; writing.py holds CHECKLISTS and
writes them.

Importing the package loads pandas and numpy (through alnus.run_facts) but no
plotting or deep-learning library: workflow/rules/common.smk imports
CHECKLISTS when the workflow starts.
"""

from alnus.checklists.answer import AUTHORS, STATUS_AUTHORS, STATUS_BOTH, STATUS_RUN, Answer
from alnus.checklists.answering import ANSWERS, answer_items
from alnus.checklists.claim import CLAIM_2024
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
from alnus.checklists.tripod_ai import TRIPOD_AI
from alnus.checklists.writing import CHECKLISTS, checklist_blocks, checklists_from_files, write_checklists

__all__ = [
    "ANSWERS",
    "AUTHORS",
    "Answer",
    "CHECKLISTS",
    "CLAIM_2024",
    "STATUS_AUTHORS",
    "STATUS_BOTH",
    "STATUS_RUN",
    "TRIPOD_AI",
    "accuracy",
    "acquisition",
    "answer_items",
    "availability",
    "calibration",
    "characteristics",
    "checklist_blocks",
    "checklists_from_files",
    "class_imbalance",
    "data_differences",
    "data_sources",
    "deidentification",
    "design",
    "disjoint",
    "eligibility",
    "ensembling",
    "explainability",
    "external_test",
    "failures",
    "flow",
    "goal",
    "handling",
    "heterogeneity",
    "initialisation",
    "intended_use",
    "internal_test",
    "limitations",
    "metrics_used",
    "missing_data",
    "model",
    "objectives",
    "outputs",
    "partitions",
    "performance",
    "prediction_method",
    "predictors",
    "preprocessing",
    "protocol",
    "reader_variability",
    "reference_standard",
    "robustness",
    "sample_events",
    "sample_size",
    "selection",
    "software",
    "subsets",
    "summary",
    "technique",
    "test_annotation",
    "training",
    "uncertainty",
    "write_checklists",
]
