# ALN-US: axillary lymph node metastasis from breast ultrasound, the study of
# Zhou et al., Radiology 2019, as one reproducible workflow.
# Contents: inputs -> quality control -> preprocess -> split -> train -> predict -> statistics -> figures -> report.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/busbra.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


# A missing manifest, images folder or readers' file stops the run here, before
# it is planned, and so do too many folds for the development patients (common.smk).
start_up_checks()


rule all:
    default_target: True
    input:
        all_targets(),


# The reviewers' figures within the whole study; workflow/reviewers.smk is the same target on its own.
rule figures:
    input:
        figure_targets(),
    localrule: True
