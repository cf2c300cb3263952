"""CLAIM 2024, the Checklist for Artificial Intelligence in Medical Imaging
(Tejani et al., Radiol Artif Intell 2024;6(4):e240300): its 44 items, each
with its published number and section, a paraphrase in this project's own
words (read the published list for its wording), and the name of the answer
(alnus.checklists.ANSWERS) that the run gives, or None where only the authors
know. Standard library only.

Where the list was checked (item numbers, sections, meaning). The publication
itself (PMC11304031) was not in the stored material that could be read; the
list was checked against github.com/Aperivue/medsci-skills,
skills/check-reporting/references/checklists/CLAIM_2024.md (44 items by
section; one stored version says it was compared with PMC11304031, another
marks itself unverified), and two completed CLAIM 2024 checklists in public
repositories (the search index did not name them) that give each item's
heading, one taken from PMC11304031, the other from the list at
pubs.rsna.org/page/ai/claim. All three agree with the table below.
"""

TITLE = "CLAIM 2024"
REFERENCE = (
    "Checklist for Artificial Intelligence in Medical Imaging, 2024 update (Tejani et al., "
    "Radiol Artif Intell 2024;6:e240300)"
)

# (number, section, paraphrase, answer or None)
CLAIM_2024 = (
    ("1", "Title or abstract", "Name the study as AI and the kind of method", "technique"),
    ("2", "Abstract", "Summary of design, methods, results, conclusions", "summary"),
    ("3", "Introduction", "Background, intended use and role of the AI", "intended_use"),
    ("4", "Introduction", "Aims and any hypotheses", "objectives"),
    ("5", "Methods: study design", "Prospective or retrospective", "design"),
    ("6", "Methods: study design", "Goal of the study", "goal"),
    ("7", "Methods: data", "Where the data come from", "data_sources"),
    ("8", "Methods: data", "Who and what was included or excluded", "eligibility"),
    ("9", "Methods: data", "Preprocessing of the data", "preprocessing"),
    ("10", "Methods: data", "Any selection of data subsets", "subsets"),
    ("11", "Methods: data", "How data were de-identified", "deidentification"),
    ("12", "Methods: data", "How missing data were handled", "missing_data"),
    ("13", "Methods: data", "How the images were acquired", "acquisition"),
    ("14", "Methods: reference standard", "How the reference standard was obtained", "reference_standard"),
    ("15", "Methods: reference standard", "Why that reference standard", None),
    ("16", "Methods: reference standard", "Who provided the reference annotations, their qualifications", None),
    ("17", "Methods: reference standard", "How the test set was annotated", "test_annotation"),
    ("18", "Methods: reference standard", "Variability between and within annotators", "reader_variability"),
    ("19", "Methods: data partitions", "How data were assigned to partitions", "partitions"),
    ("20", "Methods: data partitions", "Level at which partitions do not overlap", "disjoint"),
    ("21", "Methods: testing data", "Intended sample size", "sample_size"),
    ("22", "Methods: model", "The model in detail", "model"),
    ("23", "Methods: model", "Software and versions", "software"),
    ("24", "Methods: model", "How parameters were initialised", "initialisation"),
    ("25", "Methods: training", "Training procedure and settings", "training"),
    ("26", "Methods: training", "How the final model was chosen", "selection"),
    ("27", "Methods: training", "Any ensembling", "ensembling"),
    ("28", "Methods: evaluation", "Performance metrics", "metrics_used"),
    ("29", "Methods: evaluation", "Statistical significance and uncertainty", "uncertainty"),
    ("30", "Methods: evaluation", "Robustness or sensitivity analyses", "robustness"),
    ("31", "Methods: evaluation", "Explainability methods and their validation", "explainability"),
    ("32", "Methods: evaluation", "Evaluation on internal data", "internal_test"),
    ("33", "Methods: evaluation", "Testing on external data", "external_test"),
    ("34", "Methods: evaluation", "Trial registration", None),
    ("35", "Results: data", "Cases included and excluded, with a flow diagram", "flow"),
    ("36", "Results: data", "Demographic and clinical characteristics per partition", "characteristics"),
    ("37", "Results: model performance", "Performance with its uncertainty", "performance"),
    ("38", "Results: model performance", "Diagnostic accuracy estimates and their precision", "accuracy"),
    ("39", "Results: model performance", "Analysis of failures", "failures"),
    ("40", "Discussion", "Limitations", "limitations"),
    ("41", "Discussion", "Implications for practice and intended role", None),
    ("42", "Other information", "Where the protocol or further details are", "protocol"),
    ("43", "Other information", "Availability of code, model and data", "availability"),
    ("44", "Other information", "Funding and the funders' role", None),
)
