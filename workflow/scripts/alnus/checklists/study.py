"""Answers about the study as a whole: what it is, its aims and design, its
limitations, and where its protocol, code and weights are."""

from __future__ import annotations

from alnus import run_facts as facts
from alnus.checklists.answer import Answer, cohort_paths, simulated_note
from alnus.vocabulary import display_name


def technique(run) -> Answer:
    archs = ", ".join(display_name(a) for a in run.config["architectures"])
    return Answer(
        f"Deep learning: convolutional neural networks ({archs}) classify each breast ultrasound image of "
        "the primary tumour as with or without axillary lymph node metastasis.",
        ("config.yaml (architectures)",),
        "Title and abstract wording.",
    )


def summary(run) -> Answer:
    text = (
        f"Development cohort {facts.set_text(run, 'development')}; external cohort "
        f"{facts.set_text(run, 'external')}. Best model on the external test set: "
        f"{facts.headline(run, 'external_test')}.{simulated_note(run)}"
    )
    return Answer(
        text,
        ("results/tables/metrics.csv", "results/tables/table2.md"),
        "The structured abstract (purpose, methods, results, conclusion).",
    )


def intended_use(run) -> Answer:
    return Answer(
        "The models score ultrasound images of a primary breast cancer for the probability of axillary "
        "lymph node metastasis (pathology), as in Zhou et al. (Radiology 2019); they are research models "
        "and give no clinical decision on their own (see the model cards).",
        tuple(f"results/models/{a}/model_card.md" for a in run.config["architectures"]),
        "The clinical background and the care pathway the model would enter.",
    )


def objectives(run) -> Answer:
    readers = " and compare them with radiologists reading the same images" if run.config["readers"] else ""
    return Answer(
        f"Develop {len(run.config['architectures'])} networks on the development cohort, test them on a held-out "
        f"internal test set and an external cohort{readers}.",
        ("config.yaml",),
        "Hypotheses, if any were stated in advance.",
    )


def design(run) -> Answer:
    return Answer(
        "Retrospective: the run analyses images already acquired and exported, as listed in the "
        f"manifests ({cohort_paths(run)}).{simulated_note(run)}",
        ("config.yaml (cohorts)",),
        "The dates of image acquisition and of the pathology.",
    )


def goal(run) -> Answer:
    readers = "; comparison with radiologists' calls" if run.config["readers"] else ""
    return Answer(f"Model development with internal and external testing{readers}.", ("config.yaml",))


def limitations(run) -> Answer:
    notes = [f"small test sets (external: {facts.set_text(run, 'external_test')}), hence wide intervals"]
    row = facts.best_row(run, "external_test")
    if row is not None:
        shift = facts.threshold_shift(run, row["model"])
        if shift:
            (si, pi), (se, pe) = shift["internal"], shift["external"]
            notes.append(
                f"at its one validation threshold ({shift['threshold']:.3f}) {display_name(row['model'])} has "
                f"sensitivity {si:.0%} and specificity {pi:.0%} on the internal, {se:.0%} and {pe:.0%} on the "
                "external test set: a threshold chosen on one institution's scanners need not carry "
                "over"
            )
    notes.append("no demographic or clinical variables in the manifests")
    if run.simulated:
        notes.append("simulated cohorts")
    return Answer(
        "; ".join(notes) + ".",
        ("results/tables/metrics.csv",),
        "Sources of bias, generalisability, and the limitations the authors see.",
    )


def protocol(run) -> Answer:
    return Answer(
        "The configuration and the code of every step are in this report (configuration panel, rules); "
        "`snakemake --cores all` reruns the study.",
        ("results/report.html",),
        "Where the study protocol can be read, if one was written.",
    )


def availability(run) -> Answer:
    return Answer(
        "Code: this ALN-US workflow (version in software_versions.csv); trained weights "
        "(`results/models/*/model.safetensors`) and predictions per set are outputs of the run.",
        ("results/models/", "results/predictions/"),
        "Whether and where code, weights and data are shared.",
    )


def handling(run) -> Answer:
    return Answer(
        "An image that cannot be decoded, is colour (Doppler), cine or under 16 px a side is refused by the "
        "input check with a message naming it; images are cropped and annotations removed as for training.",
        ("results/qc/input_check.tsv",),
        "How users should handle unusable images in practice.",
    )
