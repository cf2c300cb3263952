# The results tables: metrics with 95% CIs, comparisons (models with each other
# and with the readers), calibration, decision curve, and the paper's Table 2.


localrules:
    readers,
    combined_models,
    metrics,
    comparisons,
    mrmc,
    calibration,
    decision_curve,
    table2,


rule readers:
    input:
        **all_cohort_inputs(),
        linkage=list(preprocessed("linkage").values()),
        manifests=list(preprocessed("manifest").values()),
        splits="results/splits.csv",
        checked="results/qc/input_check.tsv",
    output:
        "results/tables/readers.csv",
    log:
        "logs/readers.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/readers.py"


rule combined_models:
    input:
        predictions=image_predictions(),
        clinical="results/preprocessed/clinical.csv",
        splits="results/splits.csv",
    output:
        predictions=combined_predictions(),
        coefficients=report(
            "results/tables/combined_coefficients.csv",
            caption="../report/combined_coefficients.rst",
            category="Results",
            labels={"table": "Combined models: odds ratios"},
        ),
        cards=expand("results/models/combined/{model}.json", model=COMBINED_MODELS),
    log:
        "logs/combined_models.log",
    conda:
        "../../envs/stats.yaml"
    params:
        clinical=config["clinical"],
        level=config["statistics"]["level"],
        ensemble=config["statistics"]["ensemble"],
        models=COMBINED_MODELS,
        sets=PREDICTION_SETS,
    script:
        "../scripts/combined_models.py"


rule metrics:
    input:
        predictions=all_predictions(),
        splits="results/splits.csv",
        seed_predictions=seed_predictions(),
        readers=readers_table(),
    output:
        report("results/tables/metrics.csv", caption="../report/metrics.rst", category="Results"),
    log:
        "logs/metrics.log",
    conda:
        "../../envs/stats.yaml"
    params:
        architectures=ARCHITECTURES,
        statistics=config["statistics"],
        seed=config["seed"],
    script:
        "../scripts/metrics.py"


rule comparisons:
    input:
        predictions=all_predictions(),
        splits="results/splits.csv",
        readers=readers_table(),
    output:
        report("results/tables/comparisons.csv", caption="../report/comparisons.rst", category="Results"),
    log:
        "logs/comparisons.log",
    conda:
        "../../envs/stats.yaml"
    params:
        statistics=config["statistics"],
    script:
        "../scripts/comparisons.py"


rule mrmc:
    input:
        predictions=image_predictions(),
        splits="results/splits.csv",
        readers=readers_table(),
    output:
        report("results/tables/mrmc.csv", caption="../report/mrmc.rst", category="Results"),
    log:
        "logs/mrmc.log",
    conda:
        "../../envs/stats.yaml"
    params:
        statistics=config["statistics"],
    script:
        "../scripts/mrmc.py"


rule calibration:
    input:
        predictions=all_predictions(),
    output:
        report("results/tables/calibration.csv", caption="../report/calibration.rst", category="Results"),
    log:
        "logs/calibration.log",
    conda:
        "../../envs/stats.yaml"
    params:
        statistics=config["statistics"],
    script:
        "../scripts/calibration.py"


rule decision_curve:
    input:
        predictions=all_predictions(),
    output:
        report("results/tables/decision_curve.csv", caption="../report/decision_curve.rst", category="Results"),
    log:
        "logs/decision_curve.log",
    conda:
        "../../envs/stats.yaml"
    params:
        statistics=config["statistics"],
    script:
        "../scripts/decision_curve.py"


rule table2:
    input:
        metrics="results/tables/metrics.csv",
        comparisons="results/tables/comparisons.csv",
    output:
        markdown=report(
            "results/tables/table2.md",
            caption="../report/table2.rst",
            category="Results",
            labels={"table": "Table 2", "format": "Markdown"},
        ),
        latex=report(
            "results/tables/table2.tex",
            caption="../report/table2.rst",
            category="Results",
            labels={"table": "Table 2", "format": "LaTeX"},
        ),
    log:
        "logs/table2.log",
    conda:
        "../../envs/stats.yaml"
    params:
        statistics=config["statistics"],
    script:
        "../scripts/table2.py"


if FOLDS:

    localrules:
        folds_table,

    rule folds_table:
        input:
            folds=fold_predictions(),
            ensembles=image_predictions(),
        output:
            report("results/tables/folds.csv", caption="../report/folds.rst", category="Results"),
        log:
            "logs/folds_table.log",
        conda:
            "../../envs/stats.yaml"
        params:
            statistics=config["statistics"],
            seed=config["seed"],
        script:
            "../scripts/folds_table.py"
