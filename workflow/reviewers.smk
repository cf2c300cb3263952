# The reviewers' path (README, "Reviewers: regenerate the figures"): every
# figure but the heat maps, redrawn from results/predictions, results/tables
# and results/splits.csv alone. Only the figure rules are included, so nothing
# can be retrained or rescored whatever the files' modification times, and no
# source data is asked for:
#     snakemake -s workflow/reviewers.smk --cores 1 --forceall

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/figures.smk"


rule figures:
    default_target: True
    input:
        figure_targets(),
    localrule: True
