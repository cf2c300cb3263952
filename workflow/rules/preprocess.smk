# Input checks, then cropping and de-identification of each cohort.


rule validate_inputs:
    input:
        **all_cohort_inputs(),
    output:
        "results/qc/input_check.tsv",
    log:
        "logs/validate_inputs.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/validate_inputs.py"


rule preprocess:
    input:
        unpack(cohort_inputs),
        checked="results/qc/input_check.tsv",
    output:
        manifest="results/preprocessed/{cohort}/manifest.csv",
        images=directory("results/preprocessed/{cohort}/images"),
        linkage="private/{cohort}/linkage.csv",
    log:
        "logs/preprocess/{cohort}.log",
    params:
        key_file="private/pseudonym.key",
        crop=config["preprocess"]["crop"],
        bbox_margin=config["preprocess"]["bbox_margin"],
    threads: 2
    resources:
        mem_mb=2000,
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/preprocess.py"
