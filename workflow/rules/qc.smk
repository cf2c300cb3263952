# Quality control: the input check before anything runs; the near-duplicate
# finder (judged by the split); and the PHI audit, OCR of every preprocessed
# image and a search of every file under results/, which runs last.


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


rule duplicates:
    input:
        **preprocessed_cohorts(),
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
        mem_mb=scaled_mem(2000),
    params:
        max_distance=config["preprocess"]["duplicates"]["max_distance"],
    script:
        "../scripts/duplicates.py"


rule residual_text:
    # OCR of every preprocessed image of one cohort (alnus.ocr_audit): the words
    # read, identifying ones by kind only; rule phi_audit fails on those.
    input:
        **all_cohort_inputs(),
        **phi_extra_input(),
        images="results/preprocessed/{cohort}/images",
        key=pseudonym_key(),
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
        mem_mb=scaled_mem(2000),
        runtime=60,
    params:
        key_file=key_file,
        extra_strings=PHI_EXTRA,
        min_length=config["privacy"]["phi_audit"]["min_length"],
        min_digits=config["privacy"]["phi_audit"]["min_digits"],
        ocr=config["privacy"]["phi_audit"]["ocr"],
    script:
        "../scripts/residual_text.py"


rule phi_audit:
    input:
        **all_cohort_inputs(),
        **phi_extra_input(),
        **residual_text_tables(),
        # Every other target of the default run, so that the audit runs last and
        # sees their files; then the inputs whose identifying strings it collects.
        targets=audited_targets,
        key=pseudonym_key(),
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
        mem_mb=scaled_mem(2000),
    params:
        key_file=key_file,
        extra_strings=PHI_EXTRA,
        min_length=config["privacy"]["phi_audit"]["min_length"],
        min_digits=config["privacy"]["phi_audit"]["min_digits"],
    script:
        "../scripts/phi_audit.py"
