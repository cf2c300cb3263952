# Figures. Every figure except the heat maps is drawn from results/predictions,
# results/tables and results/splits.csv alone; the heat maps also need the
# trained models and the preprocessed images.
#
# The reviewers' path: workflow/reviewers.smk includes this file (and
# common.smk) alone, so that it redraws those figures from those files and holds
# no rule that could retrain or rescore anything, whatever the files'
# modification times (README, "Reviewers: regenerate the figures"). The target
# rule `figures` is in each Snakefile: an included file sets no default target.


localrules:
    cohort_table,
    training_history,
    roc_figure,
    confusion_matrices,
    forest_plot,
    calibration_figure,
    decision_curve_figure,
    training_curves,
    cohort_flow,
    nomogram,


# --- the tables behind the figures -------------------------------------------


rule cohort_table:
    input:
        **preprocessed("manifest"),
        splits="results/splits.csv",
        readers=readers_table(),
    output:
        report(
            "results/tables/cohorts.csv",
            caption="../report/cohorts.rst",
            category="Cohorts",
            subcategory="Flow",
            labels={"item": "Table"},
        ),
    log:
        "logs/figures/cohort_table.log",
    conda:
        "../../envs/stats.yaml"
    params:
        cohorts=COHORTS,
    script:
        "../scripts/cohort_table.py"


rule training_history:
    input:
        expand("results/models/{model}/history.tsv", model=shown_models()),
    output:
        report(
            "results/tables/training_history.csv",
            caption="../report/training_history.rst",
            category="Training",
            subcategory="All architectures",
            labels={"item": "Table"},
        ),
    log:
        "logs/figures/training_history.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/training_history.py"


# --- the reviewers' figures ---------------------------------------------------


rule roc_figure:
    input:
        predictions=all_predictions(),
        metrics="results/tables/metrics.csv",
    output:
        png=report(
            "results/figures/roc_{set}.png",
            caption="../report/roc.rst",
            category="Figures",
            subcategory="Diagnostic performance",
            labels={"figure": "ROC curves", "set": "{set}"},
        ),
        pdf="results/figures/roc_{set}.pdf",
    log:
        "logs/figures/roc_{set}.log",
    wildcard_constraints:
        set="|".join(TEST_SETS),
    conda:
        "../../envs/stats.yaml"
    params:
        ensemble=config["statistics"]["ensemble"],
        band=config["figures"]["roc_band"],
        n_resamples=config["figures"]["bootstrap_resamples"],
        level=config["statistics"]["level"],
        seed=config["seed"],
    script:
        "../scripts/roc_figure.py"


rule confusion_matrices:
    input:
        metrics="results/tables/metrics.csv",
    output:
        png=report(
            "results/figures/confusion_matrices.png",
            caption="../report/confusion_matrices.rst",
            category="Figures",
            subcategory="Diagnostic performance",
            labels={"figure": "Confusion matrices", "set": "both test sets"},
        ),
        pdf="results/figures/confusion_matrices.pdf",
    log:
        "logs/figures/confusion_matrices.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/confusion_matrices.py"


rule forest_plot:
    input:
        metrics="results/tables/metrics.csv",
    output:
        png=report(
            "results/figures/forest_plot.png",
            caption="../report/forest_plot.rst",
            category="Figures",
            subcategory="Diagnostic performance",
            labels={"figure": "Sensitivity and specificity", "set": "both test sets"},
        ),
        pdf="results/figures/forest_plot.pdf",
    log:
        "logs/figures/forest_plot.log",
    conda:
        "../../envs/stats.yaml"
    params:
        level=config["statistics"]["level"],
    script:
        "../scripts/forest_plot.py"


rule calibration_figure:
    input:
        predictions=all_predictions(),
        calibration="results/tables/calibration.csv",
    output:
        png=report(
            "results/figures/calibration.png",
            caption="../report/calibration_figure.rst",
            category="Figures",
            subcategory="Calibration and clinical utility",
            labels={"figure": "Calibration plots"},
        ),
        pdf="results/figures/calibration.pdf",
    log:
        "logs/figures/calibration.log",
    conda:
        "../../envs/stats.yaml"
    params:
        ensemble=config["statistics"]["ensemble"],
        bins=config["figures"]["calibration_bins"],
    script:
        "../scripts/calibration_figure.py"


rule decision_curve_figure:
    input:
        "results/tables/decision_curve.csv",
    output:
        png=report(
            "results/figures/decision_curve.png",
            caption="../report/decision_curve_figure.rst",
            category="Figures",
            subcategory="Calibration and clinical utility",
            labels={"figure": "Decision curves"},
        ),
        pdf="results/figures/decision_curve.pdf",
    log:
        "logs/figures/decision_curve.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/decision_curve_figure.py"


rule training_curves:
    input:
        "results/tables/training_history.csv",
    output:
        png=report(
            "results/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="All architectures",
            labels={"item": "Figure"},
        ),
        pdf="results/figures/training_curves.pdf",
    log:
        "logs/figures/training_curves.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/training_curves.py"


rule cohort_flow:
    input:
        "results/tables/cohorts.csv",
    output:
        png=report(
            "results/figures/cohort_flow.png",
            caption="../report/cohort_flow.rst",
            category="Cohorts",
            subcategory="Flow",
            labels={"item": "Figure"},
        ),
        pdf="results/figures/cohort_flow.pdf",
    log:
        "logs/figures/cohort_flow.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/cohort_flow.py"


rule nomogram:
    input:
        "results/models/combined/{combined}.json",
    output:
        png=report(
            "results/figures/nomogram_{combined}.png",
            caption="../report/nomogram.rst",
            category="Figures",
            subcategory="Combined models",
            labels={"figure": "Nomogram", "model": "{combined}"},
        ),
        pdf="results/figures/nomogram_{combined}.pdf",
    log:
        "logs/figures/nomogram_{combined}.log",
    conda:
        "../../envs/stats.yaml"
    script:
        "../scripts/nomogram.py"


# --- heat maps (models and images needed) -------------------------------------


rule heatmaps:
    input:
        predictions=image_predictions(),
        splits="results/splits.csv",
        images=list(preprocessed("images").values()),
        weights=expand("results/models/{model}/model.safetensors", model=shown_models()),
        cards=expand("results/models/{arch}/model_card.json", arch=ARCHITECTURES),
    output:
        **{
            arch: report(
                f"results/figures/heatmaps/{arch}_{{set}}.png",
                caption="../report/heatmaps.rst",
                category="Heat maps",
                subcategory="{set}",
                labels={"figure": "Gallery", "architecture": arch},
            )
            for arch in ARCHITECTURES
        },
        across=report(
            "results/figures/heatmaps/architectures_{set}.png",
            caption="../report/heatmaps_architectures.rst",
            category="Heat maps",
            subcategory="{set}",
            labels={"figure": "Same cases, every architecture", "architecture": "all"},
        ),
    log:
        "logs/figures/heatmaps_{set}.log",
    wildcard_constraints:
        set="|".join(TEST_SETS),
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=scaled_mem(8000),
        runtime=60,
    params:
        architectures=ARCHITECTURES,
        cohorts=COHORTS,
        threshold=config["statistics"]["threshold"],
        ensemble=config["statistics"]["ensemble"],
        heatmaps=config["figures"]["heatmaps"],
    script:
        "../scripts/heatmaps.py"
