# The results table: AUC, sensitivity, specificity and accuracy with 95% CIs.


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


rule metrics:
    input:
        predictions=all_predictions(),
        readers=readers_table(),
    output:
        report("results/tables/metrics.csv", caption="../report/metrics.rst", category="Results"),
    log:
        "logs/metrics.log",
    params:
        architectures=ARCHITECTURES,
        statistics=config["statistics"],
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/metrics.py"
