# Cropping, annotation removal and de-identification of each cohort, with the
# pseudonym key they share; the clinical variables by pseudonym; the
# annotation-removal figure.


localrules:
    pseudonym_key,
    annotation_figure,
    clinical_table,


rule pseudonym_key:
    # The one job that creates the key (random, mode 0600; an existing key is
    # kept). Protected: `--forceall` must not replace it, which would rename
    # every image and patient (README, step 2: back up private/).
    output:
        protected(KEY_FILE),
    log:
        "logs/pseudonym_key.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/pseudonym_key.py"


rule preprocess:
    input:
        unpack(cohort_inputs),
        checked="results/qc/input_check.tsv",
        key=pseudonym_key(),
    output:
        manifest="results/preprocessed/{cohort}/manifest.csv",
        images=directory("results/preprocessed/{cohort}/images"),
        linkage="private/{cohort}/linkage.csv",
        annotations=report(
            "results/qc/{cohort}_annotations.csv",
            caption="../report/annotations.rst",
            category="Quality control",
            labels={"table": "burned-in annotations", "cohort": "{cohort}"},
        ),
        examples="results/qc/{cohort}_annotation_examples.npz",
    log:
        "logs/preprocess/{cohort}.log",
    conda:
        "../../envs/data.yaml"
    threads: 2
    resources:
        mem_mb=scaled_mem(2000),
        runtime=60,
    params:
        key_file=key_file,
        crop=config["preprocess"]["crop"],
        bbox_margin=config["preprocess"]["bbox_margin"],
        annotations=config["preprocess"]["annotations"],
        ocr=preprocess_ocr(),
        examples=config["preprocess"]["examples"],
    script:
        "../scripts/preprocess.py"


rule clinical_table:
    input:
        **all_cohort_inputs(),
        linkage=list(preprocessed("linkage").values()),
        checked="results/qc/input_check.tsv",
    output:
        "results/preprocessed/clinical.csv",
    log:
        "logs/clinical_table.log",
    conda:
        "../../envs/data.yaml"
    params:
        cohorts=COHORTS,
        variables=config["clinical"]["variables"],
    script:
        "../scripts/clinical_table.py"


rule annotation_figure:
    input:
        examples="results/qc/development_annotation_examples.npz",
    output:
        png=report(
            "results/figures/annotation_removal.png",
            caption="../report/annotation_removal.rst",
            category="Quality control",
            labels={"figure": "annotation removal"},
        ),
    log:
        "logs/figures/annotation_removal.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/annotation_figure.py"
