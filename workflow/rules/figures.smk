# Figures drawn from predictions and tables only (the reviewers' path).


rule roc_figure:
    input:
        unpack(predictions_of_set),
        metrics="results/tables/metrics.csv",
    output:
        png=report(
            "results/figures/roc_{set}.png",
            caption="../report/roc.rst",
            category="Results",
            labels={"figure": "ROC", "set": "{set}"},
        ),
        pdf="results/figures/roc_{set}.pdf",
    log:
        "logs/figures/roc_{set}.log",
    wildcard_constraints:
        set="|".join(TEST_SETS),
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/roc_figure.py"
