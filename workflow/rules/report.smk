# The report: the software versions behind the results (provenance), and its
# filing documents, written from the run's outputs once the statistics are
# done: a human-readable model card per architecture, and the CLAIM 2024 and
# TRIPOD+AI checklists answered from the run. Rule phi_audit reads them too,
# since they are targets of the default run; `snakemake --report
# results/report.html` builds the report itself.


localrules:
    software_versions,
    model_card,
    checklists,


rule software_versions:
    input:
        metrics="results/tables/metrics.csv",
        cards=expand("results/models/{arch}/model_card.json", arch=ARCHITECTURES),
    output:
        report(
            "results/report/software_versions.csv",
            caption="../report/software_versions.rst",
            category="Provenance",
        ),
    log:
        "logs/report/software_versions.log",
    conda:
        "../../envs/stats.yaml"
    params:
        architectures=ARCHITECTURES,
    script:
        "../scripts/software_versions.py"


rule model_card:
    input:
        **run_outputs(),
        cards=["results/models/{arch}/model_card.json"],
    output:
        markdown=report(
            "results/models/{arch}/model_card.md",
            caption="../report/model_card.rst",
            category="Model cards",
            labels={"model": "{arch}", "format": "Markdown"},
        ),
        html=report(
            "results/models/{arch}/model_card.html",
            caption="../report/model_card.rst",
            category="Model cards",
            labels={"model": "{arch}", "format": "HTML"},
        ),
    log:
        "logs/report/model_card_{arch}.log",
    conda:
        "../../envs/stats.yaml"
    params:
        arch="{arch}",
        cohorts=COHORTS,
        config=config,
        simulated=uses_demo_data(),
    script:
        "../scripts/model_card.py"


rule checklists:
    input:
        **run_outputs(),
        cards=expand("results/models/{arch}/model_card.json", arch=ARCHITECTURES),
        model_cards=expand("results/models/{arch}/model_card.md", arch=ARCHITECTURES),
        heatmaps=expand(
            "results/figures/heatmaps/{name}_{set}.png", name=[*ARCHITECTURES, "architectures"], set=TEST_SETS
        ),
    output:
        **{
            f"{key}_{kind}": report(
                f"results/report/{key}.{ext}",
                caption=f"../report/{key}.rst",
                category="Reporting checklists",
                labels={"checklist": title, "format": kind_title},
            )
            for key, title in CHECKLIST_TITLES.items()
            for kind, ext, kind_title in (("markdown", "md", "Markdown"), ("html", "html", "HTML"))
        },
    log:
        "logs/report/checklists.log",
    conda:
        "../../envs/stats.yaml"
    params:
        cohorts=COHORTS,
        architectures=ARCHITECTURES,
        checklists=list(CHECKLIST_TITLES),
        config=config,
        simulated=uses_demo_data(),
    script:
        "../scripts/checklists.py"
