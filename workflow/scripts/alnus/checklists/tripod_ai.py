"""TRIPOD+AI (Collins et al., BMJ 2024;385:e078378): its 27 main items, 52
items and sub-items in all, each with its published number and section, a
paraphrase in this project's own words (read the published list for its
wording), and the name of the answer (alnus.checklists.ANSWERS) that the run
gives, or None where only the authors know. Standard library only.

Where the list was checked (item numbers, sub-items, sections, meaning). The
BMJ article and the checklist PDF on tripod-statement.org were not in the
stored material that could be read; the list was checked against public
transcriptions of it, which agree with each other item for item:
github.com/Aperivue/medsci-skills,
skills/check-reporting/references/checklists/TRIPOD_AI.md (the 52 items with
their topics and D/E marks, reproduced from the statement and its
supplement); github.com/yangjun1997/machine-learning-lsr,
src/mechine_learning_lsr/tripod_checklist.py (the same 52 rows; it names the
tripod-statement.org checklist PDF as its source);
skills.sh/htlin222/dotfiles/tripod-check (items 1 to 6c). Numbering: 1, 2,
3a-c, 4, 5a-b, 6a-c, 7, 8a-c, 9a-c, 10, 11, 12a-g, 13-17, 18a-f, 19, 20a-c,
21, 22, 23a-b, 24, 25, 26, 27a-c. Sections are the published ones, most with
the item's topic added.
"""

TITLE = "TRIPOD+AI"
REFERENCE = "TRIPOD+AI (Collins et al., BMJ 2024;385:e078378)"

# (number, section, paraphrase, answer or None)
TRIPOD_AI = (
    ("1", "Title", "Say a prediction model is developed or evaluated, for whom and what", "technique"),
    ("2", "Abstract", "Abstract following the TRIPOD+AI abstract list", "summary"),
    ("3a", "Introduction: background", "Care context (diagnostic or prognostic), rationale, existing models", None),
    ("3b", "Introduction: background", "Target population, intended purpose and users", "intended_use"),
    ("3c", "Introduction: background", "Known health inequalities between groups", None),
    ("4", "Introduction: objectives", "Objectives: development and/or evaluation", "objectives"),
    ("5a", "Methods: data", "Data sources per dataset, why used, how representative", "data_sources"),
    ("5b", "Methods: data", "Dates of data collection", "design"),
    ("6a", "Methods: participants", "Setting, number and location of centres", "data_sources"),
    ("6b", "Methods: participants", "Eligibility of participants", "eligibility"),
    ("6c", "Methods: participants", "Treatments received and how handled", None),
    ("7", "Methods: data preparation", "Preprocessing and quality checks", "preprocessing"),
    ("8a", "Methods: outcome", "Outcome definition, rationale, how and when assessed", "reference_standard"),
    ("8b", "Methods: outcome", "Qualifications and demographics of outcome assessors, if subjective", None),
    ("8c", "Methods: outcome", "Blinding of outcome assessment", None),
    ("9a", "Methods: predictors", "Choice of initial predictors", "predictors"),
    ("9b", "Methods: predictors", "Definition of predictors, how and when measured", "acquisition"),
    ("9c", "Methods: predictors", "Qualifications and demographics of predictor assessors, if subjective", None),
    ("10", "Methods: sample size", "How the study size was arrived at", "sample_size"),
    ("11", "Methods: missing data", "Handling of missing data; reasons for omitting data", "missing_data"),
    ("12a", "Methods: analytical methods", "How data were used for development and evaluation", "partitions"),
    ("12b", "Methods: analytical methods", "How predictors were handled (scaling, transformation)", "preprocessing"),
    ("12c", "Methods: analytical methods", "Model type, building, tuning and internal validation", "training"),
    ("12d", "Methods: analytical methods", "Heterogeneity across clusters such as centres", "heterogeneity"),
    ("12e", "Methods: analytical methods", "Performance measures and why", "metrics_used"),
    (
        "12f",
        "Methods: analytical methods",
        "Any model updating, such as recalibration, after evaluation",
        "calibration",
    ),
    ("12g", "Methods: analytical methods", "How predictions were computed in evaluation", "prediction_method"),
    ("13", "Methods: class imbalance", "Methods for class imbalance", "class_imbalance"),
    ("14", "Methods: fairness", "Approaches to fairness", None),
    ("15", "Methods: model output", "Model output and thresholds", "outputs"),
    (
        "16",
        "Methods: training versus evaluation",
        "Differences between development and evaluation data",
        "data_differences",
    ),
    ("17", "Methods: ethical approval", "Ethics committee approval and consent or its waiver", None),
    ("18a", "Open science", "Funding", None),
    ("18b", "Open science", "Conflicts of interest", None),
    ("18c", "Open science", "Protocol", "protocol"),
    ("18d", "Open science", "Registration", None),
    ("18e", "Open science", "Data sharing", "availability"),
    ("18f", "Open science", "Code sharing", "availability"),
    ("19", "Patient and public involvement", "Involvement of patients and the public", None),
    ("20a", "Results: participants", "Flow of participants and outcomes", "flow"),
    ("20b", "Results: participants", "Characteristics per data source", "characteristics"),
    ("20c", "Results: participants", "Predictor distributions compared with development data", "data_differences"),
    ("21", "Results: model development", "Participants and outcome events per analysis", "sample_events"),
    ("22", "Results: model specification", "The full model, to predict for new individuals; access terms", "model"),
    ("23a", "Results: model performance", "Performance with CIs, key subgroups, plots", "performance"),
    ("23b", "Results: model performance", "Heterogeneity of performance across clusters", "heterogeneity"),
    ("24", "Results: model updating", "Results of any updating", "calibration"),
    ("25", "Discussion: interpretation", "Overall interpretation, fairness included", None),
    ("26", "Discussion: limitations", "Limitations and their effect on bias and generalisability", "limitations"),
    ("27a", "Discussion: usability in current care", "Handling poor-quality or missing input data", "handling"),
    ("27b", "Discussion: usability in current care", "User interaction and expertise needed", None),
    ("27c", "Discussion: usability in current care", "Next research steps", None),
)
