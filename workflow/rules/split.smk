# Patient-level split of the development cohort (and its cross-validation folds,
# split.folds); the external cohort is test only.


localrules:
    split,


rule split:
    input:
        **preprocessed("manifest"),
        duplicates="results/qc/duplicates.tsv",
    output:
        report("results/splits.csv", caption="../report/splits.rst", category="Cohorts"),
    log:
        "logs/split.log",
    conda:
        "../../envs/data.yaml"
    params:
        internal_test_fraction=config["split"]["internal_test_fraction"],
        validation_fraction=config["split"]["validation_fraction"],
        folds=config["split"]["folds"],
        seed=config["seed"],
        duplicates_across_sets=config["preprocess"]["duplicates"]["across_sets"],
    script:
        "../scripts/split.py"
