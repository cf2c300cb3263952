# Input checks; cropping, annotation removal and de-identification of each
# cohort; the near-duplicate finder (judged by the split); and the PHI audit of everything under
# results/, which runs last.


localrules:
    annotation_figure,
    clinical_table,


rule validate_inputs:
    input:
        **all_cohort_inputs(),
    output:
        "results/qc/input_check.tsv",
    log:
        "logs/validate_inputs.log",
    conda:
        "../../envs/data.yaml"
    threads: 2  # images decoded at once
    params:
        clinical=config["clinical"],
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
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=60,
    params:
        key_file="private/pseudonym.key",
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


rule duplicates:
    input:
        **{f"{c}_manifest": f"results/preprocessed/{c}/manifest.csv" for c in COHORTS},
        **{f"{c}_images": f"results/preprocessed/{c}/images" for c in COHORTS},
    output:
        report(
            "results/qc/duplicates.tsv",
            caption="../report/duplicates.rst",
            category="Quality control",
            labels={"table": "near-duplicate images"},
        ),
    log:
        "logs/duplicates.log",
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
    params:
        cohorts=COHORTS,
        max_distance=config["preprocess"]["duplicates"]["max_distance"],
    script:
        "../scripts/duplicates.py"


PHI_AUDIT = {"summary": "results/qc/phi_audit.tsv", "strings": "results/qc/phi_audit_strings.tsv"}
PHI_EXTRA = config["privacy"]["phi_audit"]["extra_strings"]


rule residual_text:
    # OCR of every preprocessed image of one cohort (alnus.ocr_audit): the words
    # read, identifying ones by kind only; rule phi_audit fails on those.
    input:
        **all_cohort_inputs(),
        **({"extra_strings": PHI_EXTRA} if PHI_EXTRA else {}),
        images="results/preprocessed/{cohort}/images",
    output:
        table=report(
            "results/qc/{cohort}_residual_text.csv",
            caption="../report/residual_text.rst",
            category="Quality control",
            labels={"table": "residual text (OCR)", "cohort": "{cohort}"},
        ),
        figure=report(
            "results/figures/{cohort}_residual_text.png",
            caption="../report/residual_text.rst",
            category="Quality control",
            labels={"figure": "residual text (OCR)", "cohort": "{cohort}"},
        ),
    log:
        "logs/residual_text/{cohort}.log",
    conda:
        "../../envs/ocr.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
        runtime=60,
    params:
        key_file="private/pseudonym.key",
        extra_strings=PHI_EXTRA,
        min_length=config["privacy"]["phi_audit"]["min_length"],
        min_digits=config["privacy"]["phi_audit"]["min_digits"],
        ocr=config["privacy"]["phi_audit"]["ocr"],
    script:
        "../scripts/residual_text.py"


rule phi_audit:
    input:
        **all_cohort_inputs(),
        **({"extra_strings": PHI_EXTRA} if PHI_EXTRA else {}),
        **{f"{c}_residual_text": f"results/qc/{c}_residual_text.csv" for c in COHORTS},
        # Every other target of the default run, so that the audit runs last and
        # sees their files (a function: all_targets() is complete only once every
        # rule file is read); then the inputs whose identifying strings it collects.
        targets=lambda wildcards: [t for t in all_targets() if t not in PHI_AUDIT.values()],
    output:
        summary=report(
            PHI_AUDIT["summary"],
            caption="../report/phi_audit.rst",
            category="Quality control",
            labels={"table": "PHI audit"},
        ),
        strings=PHI_AUDIT["strings"],
    log:
        "logs/phi_audit.log",
    conda:
        "../../envs/data.yaml"
    resources:
        mem_mb=lambda wildcards, attempt: 2000 * attempt,
    params:
        key_file="private/pseudonym.key",
        extra_strings=PHI_EXTRA,
        min_length=config["privacy"]["phi_audit"]["min_length"],
        min_digits=config["privacy"]["phi_audit"]["min_digits"],
    script:
        "../scripts/phi_audit.py"
