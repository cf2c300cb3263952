"""Reporting checklists answered from a finished run: CLAIM 2024 (Tejani et
al., Radiol Artif Intell 2024;6(4):e240300; 44 items) and TRIPOD+AI (Collins et
al., BMJ 2024;385:e078378; 27 main items, 52 items and sub-items in all).

The item tables below are the one home of both lists: each item's number as
the published list numbers it, a short paraphrase in this project's own
words (the checklists' text is not quoted; read the published lists for it),
and the name of the answer that the run can give (ANSWERS), or None where
only the authors know. An answer is a small function of the run's outputs
(alnus.run_facts.Run) that cites numbers and names the output that shows
them; it may add what the authors must still supply. Both checklists share
the answers, so that a fact is worded in one place.

Where the lists were checked (item numbers, sub-items, sections, meaning).
Neither publication itself (PMC11304031 for CLAIM 2024; the BMJ article or
the checklist PDF on tripod-statement.org for TRIPOD+AI) was in the stored
material that could be read; both lists were checked against public
transcriptions of them, which agree with each other item for item:

- TRIPOD+AI: github.com/Aperivue/medsci-skills,
  skills/check-reporting/references/checklists/TRIPOD_AI.md (the 52 items with
  their topics and D/E marks, reproduced from the statement and its
  supplement); github.com/yangjun1997/machine-learning-lsr,
  src/mechine_learning_lsr/tripod_checklist.py (the same 52 rows; it names the
  tripod-statement.org checklist PDF as its source);
  skills.sh/htlin222/dotfiles/tripod-check (items 1 to 6c). Numbering: 1, 2,
  3a-c, 4, 5a-b, 6a-c, 7, 8a-c, 9a-c, 10, 11, 12a-g, 13-17, 18a-f, 19, 20a-c,
  21, 22, 23a-b, 24, 25, 26, 27a-c. Sections are the published ones, most
  with the item's topic added.
- CLAIM 2024: github.com/Aperivue/medsci-skills,
  skills/check-reporting/references/checklists/CLAIM_2024.md (44 items by
  section; one stored version says it was compared with PMC11304031, another
  marks itself unverified), and two completed CLAIM 2024 checklists in public
  repositories (the search index did not name them) that give each item's
  heading, one taken from PMC11304031, the other from the list at
  pubs.rsna.org/page/ai/claim. All three agree with the table below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from alnus import run_facts as facts
from alnus.card_json import ModelCard
from alnus.documents import to_html, to_markdown
from alnus.figures import SET_NAMES
from alnus.tables import AUC_CI_TEXT, CI_TEXT, SET_TITLES, TEST_TEXT, display_name

AUTHORS = "To be completed by the authors"
STATUS_RUN, STATUS_BOTH, STATUS_AUTHORS = "from the run", "from the run; authors to complete", "authors"


@dataclass(frozen=True)
class Answer:
    """What the run says about an item (`text`), the outputs that show it
    (`where`), and what the authors must add (`authors`; None if nothing)."""

    text: str
    where: tuple[str, ...] = ()
    authors: str | None = None


# --------------------------------------------------------------------------
# Answers (one per fact; shared by both checklists)
# --------------------------------------------------------------------------
def _cohort_paths(run) -> str:
    return "; ".join(f"{c}: `{p['manifest']}`" for c, p in run.config["cohorts"].items())


def _simulated(run) -> str:
    return " The cohorts of this run are simulated by the workflow (the demo), not patients." if run.simulated else ""


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
        f"{facts.headline(run, 'external_test')}.{_simulated(run)}"
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
        f"manifests ({_cohort_paths(run)}).{_simulated(run)}",
        ("config.yaml (cohorts)",),
        "The dates of image acquisition and of the pathology.",
    )


def goal(run) -> Answer:
    readers = "; comparison with radiologists' calls" if run.config["readers"] else ""
    return Answer(f"Model development with internal and external testing{readers}.", ("config.yaml",))


def data_sources(run) -> Answer:
    per_site = facts.sites(run)
    site_text = "; ".join(
        f"{c}: " + (", ".join(f"{s} ({n:,} images)" for s, n in v.items()) if v else "no site column")
        for c, v in per_site.items()
    )
    return Answer(
        f"Two cohorts ({_cohort_paths(run)}): development {facts.set_text(run, 'development')}; external "
        f"{facts.set_text(run, 'external')}. Sites: {site_text}.{_simulated(run)}",
        ("results/tables/cohorts.csv", "results/preprocessed/*/manifest.csv"),
        "The institutions, their setting and the period of collection.",
    )


def eligibility(run) -> Answer:
    checked = ""
    if run.input_check is not None:
        per_cohort = "; ".join(f"{r.cohort} {int(r.images):,}" for r in run.input_check.itertuples())
        checked = f" Images checked: {per_cohort}."
    return Answer(
        "Every image of the manifests was decoded and checked before preprocessing; the run refuses images "
        f"under 16 px a side, multi-frame cine loops and colour (Doppler) screens and stops on any of them, so "
        f"no image was left out silently.{checked}",
        ("results/qc/input_check.tsv",),
        "The clinical inclusion and exclusion criteria of patients and images.",
    )


def preprocessing(run) -> Answer:
    pre = run.config["preprocess"]
    ann = pre["annotations"]
    found = "; ".join(
        f"{c}: {int((t[['text', 'caliper', 'line']].sum(axis=1) > 0).sum()):,} of {len(t):,} images "
        "with burned-in annotations found"
        for c, t in run.annotations.items()
        if {"text", "caliper", "line"} <= set(t.columns)
    )
    preset = run.config["training"]["preset"]
    sizes = ", ".join(f"{display_name(a)} {c.input_size} px" for a, c in run.cards.items())
    norm = {c.setting("normalisation") or facts.NOT_RECORDED for c in run.cards.values()}
    return Answer(
        f"Crop to the B-mode region (`preprocess: crop: {pre['crop']}`); burned-in annotations "
        f"({', '.join(ann['kinds'])}) handled by `{ann['mode']}`{' (' + found + ')' if found else ''}; "
        f"8-bit grayscale PNG without metadata; letterboxed to the input size of each network "
        f"(preset `{preset}`: {sizes}); normalisation {', '.join(sorted(norm))}.",
        ("config.yaml (preprocess)", "results/qc/*_annotations.csv", "results/figures/annotation_removal.png"),
    )


def subsets(run) -> Answer:
    pairs = 0 if run.duplicates is None else len(run.duplicates)
    policy = run.config["preprocess"]["duplicates"]["across_sets"]
    return Answer(
        f"No subset was selected: every image of the manifests enters the study. Near-duplicate images: "
        f"{pairs} pair(s) found (perceptual hash, distance at most "
        f"{run.config['preprocess']['duplicates']['max_distance']}); pairs across sets are handled by "
        f"`{policy}`.",
        ("results/qc/duplicates.tsv",),
    )


def deidentification(run) -> Answer:
    identifying = sum(int((t["identifying"] != "").sum()) for t in run.residual_text.values() if "identifying" in t)
    read = sum(len(t) for t in run.residual_text.values())
    return Answer(
        "Images and patients renamed with keyed pseudonyms (HMAC-SHA256; key and linkage tables kept under "
        "private/, never under results/); images rewritten without metadata; burned-in annotations "
        f"removed; OCR of every preprocessed image read {read:,} text line(s) left, {identifying} of them "
        "identifying; the PHI audit (results/qc/phi_audit.tsv) searches every file under results/, this "
        "checklist included, after it is written, and fails the run on any finding.",
        ("results/qc/*_residual_text.csv", "results/qc/phi_audit.tsv"),
        "Ethics board's de-identification requirements, if any beyond these.",
    )


def missing_data(run) -> Answer:
    text = (
        "The manifests must give every image a patient and a label: the input check stops the run otherwise, so "
        "no image entered with missing data."
    )
    readers = facts.rows_of(run, set_name="external_test", kinds=("reader",))
    if not readers.empty and "n_in_set" in readers:
        short = readers[readers["n"] < readers["n_in_set"]]
        if short.empty:
            text += f" Readers: none of the {len(readers)} has missing calls on the external test set."
        else:
            text += (
                f" Readers: {len(short)} of {len(readers)} have missing calls on the external test set; their "
                "rows cover the cases they read (`n` below `n_in_set`)."
            )
    return Answer(text, ("results/qc/input_check.tsv", "results/tables/metrics.csv"))


def acquisition(run) -> Answer:
    per_site = {c: list(v) for c, v in facts.sites(run).items()}
    sites = "; ".join(f"{c}: {', '.join(v) if v else 'no site column'}" for c, v in per_site.items())
    return Answer(
        f"The run records no acquisition parameters; the manifests name the sites ({sites}).",
        ("results/preprocessed/*/manifest.csv",),
        "Scanners, transducers, presets and acquisition protocol per site.",
    )


def reference_standard(run) -> Answer:
    return Answer(
        "The manifests' `label`: 1 = axillary lymph node metastasis, 0 = none, from pathology, for each image. "
        f"Positives: development {facts.set_text(run, 'development')}; external "
        f"{facts.set_text(run, 'external')}.",
        ("results/tables/cohorts.csv",),
        "The pathology procedure (sentinel node biopsy, dissection) and its timing.",
    )


def test_annotation(run) -> Answer:
    crop = run.config["preprocess"]["crop"]
    box = " The lesion boxes of the manifests (`bbox`) set the crop." if crop == "bbox" else ""
    return Answer(
        "Test images carry the same pathology labels as the training images; no image was annotated by "
        f"the pipeline.{box}",
        ("results/preprocessed/*/manifest.csv",),
        "Who recorded the labels (and boxes, if any), with which tool.",
    )


def reader_variability(run) -> Answer:
    readers = facts.rows_of(run, set_name="external_test", kinds=("reader",))
    if readers.empty:
        return Answer("The run has no readers' calls.", (), "Any measurement of labelling variability.")
    return Answer(
        f"{len(readers)} radiologists read the external test set: sensitivity "
        f"{readers['sensitivity'].min():.0%}-{readers['sensitivity'].max():.0%}, specificity "
        f"{readers['specificity'].min():.0%}-{readers['specificity'].max():.0%}; the multi-reader analysis "
        "treats readers as a random sample.",
        ("results/tables/metrics.csv", "results/tables/mrmc.csv"),
        "Variability of the reference standard itself, if measured.",
    )


def partitions(run) -> Answer:
    split = run.config["split"]
    counts = "; ".join(
        f"{SET_NAMES[s]}: {facts.set_text(run, s)}" for s in ("train", "validation", "internal_test", "external_test")
    )
    folds = (
        f" The train and validation patients were then dealt into {split['folds']} cross-validation folds (by "
        "patient, stratified by label, same seed; splits.csv's `fold`): each architecture is the mean of its "
        f"{split['folds']} fold models, and its validation predictions are out-of-fold."
        if split["folds"]
        else ""
    )
    return Answer(
        f"Development patients assigned at random (seed {run.config['seed']}), stratified by label, to train, "
        f"validation ({split['validation_fraction']:.0%}) and internal test "
        f"({split['internal_test_fraction']:.0%}); the external cohort is test only. {counts}.{folds}",
        ("results/splits.csv", "results/tables/cohorts.csv"),
    )


def disjoint(run) -> Answer:
    spread = run.splits.groupby(["cohort", "patient"])["set"].nunique()
    return Answer(
        f"Patient level: {int((spread > 1).sum())} of {len(spread):,} patients have images in more than one "
        "set, and the external cohort is another institution; near-duplicate images across sets are checked "
        f"(`duplicates: across_sets: {run.config['preprocess']['duplicates']['across_sets']}`).",
        ("results/splits.csv", "results/qc/duplicates.tsv"),
    )


def sample_size(run) -> Answer:
    row = facts.best_row(run, "external_test")
    width = ""
    if row is not None:
        width = f" The external AUC interval of the best model is {row['auc_high'] - row['auc_low']:.2f} wide."
    return Answer(
        f"All images of the manifests were used; no sample size was computed by the run. Test sets: internal "
        f"{facts.set_text(run, 'internal_test')}; external {facts.set_text(run, 'external_test')}.{width}",
        ("results/tables/cohorts.csv", "results/tables/metrics.csv"),
        "How the study size was decided, and any power calculation.",
    )


def model(run) -> Answer:
    parts = []
    for arch, card in run.cards.items():
        channels = card.input_channels
        parts.append(
            f"{display_name(arch)} (timm `{card.timm_name or arch}`, {card.input_size} px, "
            f"{channels} channel{'s' if channels != 1 else ''})"
        )
    return Answer(
        "; ".join(parts) + ". Input: the letterboxed grayscale image; output: one logit, its sigmoid the "
        "probability of metastasis.",
        tuple(f"results/models/{a}/model_card.md" for a in run.cards),
    )


def software(run) -> Answer:
    return Answer(
        f"{facts.versions_text(run)}; the full list with the versions recorded at training is in the report.",
        ("results/report/software_versions.csv",),
    )


def initialisation(run) -> Answer:
    pretrained = run.config["training"]["pretrained"]
    start = (
        "random initialisation (trained from scratch)" if pretrained == "none" else f"pretrained weights `{pretrained}`"
    )
    seeds = [run.config["seed"], *[s for s in run.config["training"]["seeds"] if s != run.config["seed"]]]
    return Answer(f"{start}; seed(s) {', '.join(map(str, seeds))}.", ("config.yaml (training)",))


def training(run) -> Answer:
    card = next(iter(run.cards.values()))
    s = card.setting
    seeds = 1 + len([x for x in run.config["training"]["seeds"] if x != run.config["seed"]])
    return Answer(
        f"Class-weighted binary cross-entropy, AdamW with warm-up and cosine decay; at most "
        f"{facts.epochs_text(s('epochs'))}, batch {s('batch_size')}, learning rate "
        f"{s('learning_rate')}, weight decay {s('weight_decay')}, early stopping after "
        f"{facts.epochs_text(s('patience'))} without gain; augmentation: "
        "horizontal flip, small affine, brightness/contrast/gamma. Device "
        f"{facts.card_text(card, 'device')}, precision {facts.card_text(card, 'precision')}. "
        f"{len(run.cards)} architecture(s) x {seeds} seed(s)"
        f"{f' x {folds} folds' if (folds := run.config['split']['folds']) else ''} trained.",
        ("config.yaml (training)", "results/models/*/model_card.json", "results/tables/training_history.csv"),
    )


def _fold_epochs(card: ModelCard) -> str:
    """Each fold model's selected epoch, from a fold ensemble's card (`cross_validation`)."""
    return ", ".join(
        f"fold {m['fold']} epoch {m['best_epoch']} of {m['epochs_run']} (AUC "
        f"{m['best_validation_auc']:.3f} on its held-out fold)"
        for m in card.cross_validation["models"]
    )


def selection(run) -> Answer:
    epochs = "; ".join(
        f"{display_name(a)} "
        + (
            _fold_epochs(c)
            if c.cross_validation is not None
            else f"epoch {facts.card_text(c, 'chosen_epoch')} of {facts.card_text(c, 'epochs_run')} "
            f"(validation AUC {facts.card_text(c, 'validation_auc', fmt='{:.3f}')})"
        )
        for a, c in run.cards.items()
    )
    return Answer(
        f"The epoch with the best validation AUC: {epochs}. Thresholds chosen on the validation set "
        f"(`{run.config['statistics']['threshold']}`) and frozen before the test sets were scored.",
        ("results/models/*/model_card.json", "results/tables/metrics.csv"),
    )


def ensembling(run) -> Answer:
    if not run.config["statistics"]["ensemble"]:
        return Answer("No ensemble (`statistics: ensemble: false`).", ("config.yaml (statistics)",))
    return Answer(
        "The `ensemble` rows average the architectures' probabilities, with their own validation threshold.",
        ("results/tables/metrics.csv",),
    )


def metrics_used(run) -> Answer:
    units = ", ".join(dict.fromkeys(run.metrics["unit"]))
    return Answer(
        f"AUC, sensitivity, specificity and accuracy at the frozen threshold, per unit of analysis ({units}); "
        "calibration (Brier score, intercept, slope) and net benefit.",
        ("results/tables/metrics.csv", "results/tables/calibration.csv", "results/tables/decision_curve.csv"),
    )


def uncertainty(run) -> Answer:
    st = run.config["statistics"]
    return Answer(
        f"{st['level']:.0%} intervals: AUC by {AUC_CI_TEXT.get(st['auc_ci'], st['auc_ci'])}, proportions by "
        f"{CI_TEXT.get(st['proportion_ci'], st['proportion_ci'])} (each row's method in its `ci_method`); "
        "models compared by "
        "DeLong's paired test, models against readers by "
        f"{TEST_TEXT.get(st['proportion_test'], st['proportion_test'])} "
        "and McNemar's test, Holm-adjusted; the multi-reader analysis by Obuchowski-Rockette.",
        ("results/tables/metrics.csv", "results/tables/comparisons.csv", "results/tables/mrmc.csv"),
    )


def robustness(run) -> Answer:
    parts = [
        f"external test AUCs {facts.auc_range(run, 'external_test')} against internal "
        f"{facts.auc_range(run, 'internal_test')}"
    ]
    if "seeds" in run.metrics and (run.metrics["seeds"].fillna(1) > 1).any():
        rows = run.metrics.dropna(subset=["auc_seed_sd"])
        parts.append(f"AUC spread over seeds up to SD {rows['auc_seed_sd'].max():.3f}")
    units = list(dict.fromkeys(run.metrics["unit"]))
    if len(units) > 1:
        parts.append("image and patient units both reported")
    return Answer(
        "; ".join(parts) + ".",
        ("results/tables/metrics.csv", "results/figures/forest_plot.png"),
        "Any further sensitivity analysis.",
    )


def explainability(run) -> Answer:
    hm = run.config["figures"]["heatmaps"]
    return Answer(
        f"`{hm['method']}` heat maps of each architecture on chosen test cases ({hm['selection']}, "
        f"{hm['per_category']} per outcome: TP, FN, FP, TN; target `{hm['target']}`): {len(run.heatmaps)} "
        "figure(s). The run does not validate the maps.",
        tuple(run.heatmaps[:2]) or ("results/figures/heatmaps/",),
        "How the heat maps were judged, and by whom.",
    )


def internal_test(run) -> Answer:
    return Answer(
        f"Internal test set ({facts.set_text(run, 'internal_test')}): {facts.headline(run, 'internal_test')}.",
        ("results/tables/metrics.csv", "results/figures/roc_internal_test.png"),
    )


def external_test(run) -> Answer:
    return Answer(
        f"External test set ({facts.set_text(run, 'external_test')}): {facts.headline(run, 'external_test')}."
        f"{_simulated(run)}",
        ("results/tables/metrics.csv", "results/figures/roc_external_test.png"),
    )


def flow(run) -> Answer:
    checked = ""
    if run.input_check is not None:
        total = int(run.input_check["images"].sum())
        kept = sum(len(m) for m in run.manifests.values())
        checked = f" {total:,} images in the manifests, {kept:,} preprocessed, {total - kept:,} excluded."
    return Answer(
        f"Counts per cohort and set in the flow figure and table.{checked}",
        ("results/figures/cohort_flow.png", "results/tables/cohorts.csv"),
    )


def characteristics(run) -> Answer:
    table = facts.training_sites(run)
    text = "; ".join(
        f"{SET_NAMES[r.set]}, site {r.site}: {r.images:,} images, {r.positives:,} positive" for r in table.itertuples()
    )
    return Answer(
        f"Label and site per set: {text}. The manifests carry no demographic or clinical variables.",
        ("results/tables/cohorts.csv", "results/preprocessed/*/manifest.csv"),
        "Age, tumour size, type and other clinical characteristics per set.",
    )


def performance(run) -> Answer:
    sets = [s for s in ("internal_test", "external_test") if not facts.rows_of(run, set_name=s).empty]
    lines = []
    for set_name in sets:
        rows = facts.rows_of(run, set_name=set_name)
        lines.append(
            f"{SET_TITLES[set_name]}: "
            + ", ".join(
                f"{display_name(r.model)} {r.auc:.2f} ({r.auc_low:.2f}, {r.auc_high:.2f})" for r in rows.itertuples()
            )
        )
    return Answer("AUC (95% CI) " + "; ".join(lines) + ".", ("results/tables/metrics.csv", "results/tables/table2.md"))


def accuracy(run) -> Answer:
    text = f"At the frozen threshold, {facts.headline(run, 'external_test')} (external test)."
    majority = facts.rows_of(run, set_name="external_test", kinds=("majority",))
    if not majority.empty:
        text += f" Radiologists (majority vote): {facts.performance_text(majority.iloc[0])}."
    return Answer(
        text, ("results/tables/metrics.csv", "results/tables/comparisons.csv", "results/figures/confusion_matrices.png")
    )


def failures(run) -> Answer:
    row = facts.best_row(run, "external_test")
    counts = ""
    if row is not None:
        counts = (
            f" {display_name(row['model'])} on the external test set: {int(row['fn'])} false negatives, "
            f"{int(row['fp'])} false positives."
        )
    return Answer(
        f"Confusion matrices per model and set; heat maps of false negatives and false positives.{counts}",
        ("results/figures/confusion_matrices.png", "results/figures/heatmaps/"),
        "A clinical review of the misclassified cases.",
    )


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


def outputs(run) -> Answer:
    st = run.config["statistics"]
    thresholds = facts.rows_of(run, set_name="external_test")[["model", "threshold"]]
    text = ", ".join(f"{display_name(r.model)} {r.threshold:.3f}" for r in thresholds.itertuples())
    return Answer(
        f"A probability of metastasis per image; a positive call above a threshold chosen on validation "
        f"(`{st['threshold']}`): {text}.",
        ("results/tables/metrics.csv", "results/predictions/"),
    )


def class_imbalance(run) -> Answer:
    return Answer(
        f"Class-weighted loss in training; training set {facts.set_text(run, 'train')}; no resampling or "
        "recalibration.",
        ("results/tables/cohorts.csv", "results/tables/calibration.csv"),
    )


def predictors(run) -> Answer:
    clinical = sorted(m for m in set(run.metrics["model"]) if "+clinical" in str(m))
    extra = f" Models with clinical variables in metrics.csv: {', '.join(clinical)}." if clinical else ""
    return Answer(
        f"The image pixels only (the preprocessed grayscale image).{extra}",
        ("results/tables/metrics.csv",),
        "Clinical variables, if any, and how they were measured.",
    )


def data_differences(run) -> Answer:
    return Answer(
        f"Development {facts.set_text(run, 'development')}; external {facts.set_text(run, 'external')}; "
        f"sites: {'; '.join(f'{c}: ' + ', '.join(v) for c, v in facts.sites(run).items() if v) or 'not given'}.",
        ("results/tables/cohorts.csv",),
        "Differences in setting, scanners and eligibility.",
    )


def calibration(run) -> Answer:
    if run.calibration is None or run.calibration.empty:
        return Answer("The run has no calibration table.", ())
    ext = run.calibration[run.calibration["set"] == "external_test"]
    text = ", ".join(
        f"{display_name(r.model)} slope {facts.estimate_text(r.slope)}, Brier {r.brier:.3f}" for r in ext.itertuples()
    )
    return Answer(
        f"No model updating or recalibration. External test calibration: {text}.",
        ("results/tables/calibration.csv", "results/figures/calibration.png"),
    )


def heterogeneity(run) -> Answer:
    return Answer(
        f"Performance reported per institution (internal {facts.auc_range(run, 'internal_test')}, external "
        f"{facts.auc_range(run, 'external_test')}); not modelled further.",
        ("results/tables/metrics.csv",),
    )


def sample_events(run) -> Answer:
    sets = ("train", "validation", "internal_test", "external_test")
    return Answer(
        "; ".join(f"{SET_NAMES[s]}: {facts.set_text(run, s)}" for s in sets) + ".", ("results/tables/cohorts.csv",)
    )


def prediction_method(run) -> Answer:
    tta = " with horizontal-flip test-time augmentation" if run.config["training"]["flip_tta"] else ""
    return Answer(
        f"Each trained network scores every image of a test set{tta}; the frozen weights are in the model folders.",
        ("results/predictions/", "results/models/"),
    )


ANSWERS = {
    f.__name__: f
    for f in (
        technique,
        summary,
        intended_use,
        objectives,
        design,
        goal,
        data_sources,
        eligibility,
        preprocessing,
        subsets,
        deidentification,
        missing_data,
        acquisition,
        reference_standard,
        test_annotation,
        reader_variability,
        partitions,
        disjoint,
        sample_size,
        model,
        software,
        initialisation,
        training,
        selection,
        ensembling,
        metrics_used,
        uncertainty,
        robustness,
        explainability,
        internal_test,
        external_test,
        flow,
        characteristics,
        performance,
        accuracy,
        failures,
        limitations,
        protocol,
        availability,
        handling,
        outputs,
        class_imbalance,
        predictors,
        data_differences,
        calibration,
        heterogeneity,
        sample_events,
        prediction_method,
    )
}

# --------------------------------------------------------------------------
# The item tables: (number, section, paraphrase, answer or None)
# --------------------------------------------------------------------------
CLAIM_2024 = (
    ("1", "Title or abstract", "Name the study as AI and the kind of method", "technique"),
    ("2", "Abstract", "Summary of design, methods, results, conclusions", "summary"),
    ("3", "Introduction", "Background, intended use and role of the AI", "intended_use"),
    ("4", "Introduction", "Aims and any hypotheses", "objectives"),
    ("5", "Methods: study design", "Prospective or retrospective", "design"),
    ("6", "Methods: study design", "Goal of the study", "goal"),
    ("7", "Methods: data", "Where the data come from", "data_sources"),
    ("8", "Methods: data", "Who and what was included or excluded", "eligibility"),
    ("9", "Methods: data", "Preprocessing of the data", "preprocessing"),
    ("10", "Methods: data", "Any selection of data subsets", "subsets"),
    ("11", "Methods: data", "How data were de-identified", "deidentification"),
    ("12", "Methods: data", "How missing data were handled", "missing_data"),
    ("13", "Methods: data", "How the images were acquired", "acquisition"),
    ("14", "Methods: reference standard", "How the reference standard was obtained", "reference_standard"),
    ("15", "Methods: reference standard", "Why that reference standard", None),
    ("16", "Methods: reference standard", "Who provided the reference annotations, their qualifications", None),
    ("17", "Methods: reference standard", "How the test set was annotated", "test_annotation"),
    ("18", "Methods: reference standard", "Variability between and within annotators", "reader_variability"),
    ("19", "Methods: data partitions", "How data were assigned to partitions", "partitions"),
    ("20", "Methods: data partitions", "Level at which partitions do not overlap", "disjoint"),
    ("21", "Methods: testing data", "Intended sample size", "sample_size"),
    ("22", "Methods: model", "The model in detail", "model"),
    ("23", "Methods: model", "Software and versions", "software"),
    ("24", "Methods: model", "How parameters were initialised", "initialisation"),
    ("25", "Methods: training", "Training procedure and settings", "training"),
    ("26", "Methods: training", "How the final model was chosen", "selection"),
    ("27", "Methods: training", "Any ensembling", "ensembling"),
    ("28", "Methods: evaluation", "Performance metrics", "metrics_used"),
    ("29", "Methods: evaluation", "Statistical significance and uncertainty", "uncertainty"),
    ("30", "Methods: evaluation", "Robustness or sensitivity analyses", "robustness"),
    ("31", "Methods: evaluation", "Explainability methods and their validation", "explainability"),
    ("32", "Methods: evaluation", "Evaluation on internal data", "internal_test"),
    ("33", "Methods: evaluation", "Testing on external data", "external_test"),
    ("34", "Methods: evaluation", "Trial registration", None),
    ("35", "Results: data", "Cases included and excluded, with a flow diagram", "flow"),
    ("36", "Results: data", "Demographic and clinical characteristics per partition", "characteristics"),
    ("37", "Results: model performance", "Performance with its uncertainty", "performance"),
    ("38", "Results: model performance", "Diagnostic accuracy estimates and their precision", "accuracy"),
    ("39", "Results: model performance", "Analysis of failures", "failures"),
    ("40", "Discussion", "Limitations", "limitations"),
    ("41", "Discussion", "Implications for practice and intended role", None),
    ("42", "Other information", "Where the protocol or further details are", "protocol"),
    ("43", "Other information", "Availability of code, model and data", "availability"),
    ("44", "Other information", "Funding and the funders' role", None),
)

TRIPOD_AI = (
    ("1", "Title", "Say a prediction model is developed or evaluated, for whom and what", "technique"),
    ("2", "Abstract", "Abstract following the TRIPOD+AI abstract list", "summary"),
    ("3a", "Introduction: background", "Care context (diagnostic or prognostic), rationale, existing models", None),
    ("3b", "Introduction: background", "Target population, intended purpose and users", "intended_use"),
    ("3c", "Introduction: background", "Known health inequalities between groups", None),
    ("4", "Introduction: objectives", "Objectives: development and/or evaluation", "objectives"),
    ("5a", "Methods: data", "Data sources per dataset, why used, how representative", "data_sources"),
    ("5b", "Methods: data", "Dates of data collection", "design"),
    ("6a", "Methods: participants", "Setting, number and location of centres", "data_sources"),
    ("6b", "Methods: participants", "Eligibility of participants", "eligibility"),
    ("6c", "Methods: participants", "Treatments received and how handled", None),
    ("7", "Methods: data preparation", "Preprocessing and quality checks", "preprocessing"),
    ("8a", "Methods: outcome", "Outcome definition, rationale, how and when assessed", "reference_standard"),
    ("8b", "Methods: outcome", "Qualifications and demographics of outcome assessors, if subjective", None),
    ("8c", "Methods: outcome", "Blinding of outcome assessment", None),
    ("9a", "Methods: predictors", "Choice of initial predictors", "predictors"),
    ("9b", "Methods: predictors", "Definition of predictors, how and when measured", "acquisition"),
    ("9c", "Methods: predictors", "Qualifications and demographics of predictor assessors, if subjective", None),
    ("10", "Methods: sample size", "How the study size was arrived at", "sample_size"),
    ("11", "Methods: missing data", "Handling of missing data; reasons for omitting data", "missing_data"),
    ("12a", "Methods: analytical methods", "How data were used for development and evaluation", "partitions"),
    ("12b", "Methods: analytical methods", "How predictors were handled (scaling, transformation)", "preprocessing"),
    ("12c", "Methods: analytical methods", "Model type, building, tuning and internal validation", "training"),
    ("12d", "Methods: analytical methods", "Heterogeneity across clusters such as centres", "heterogeneity"),
    ("12e", "Methods: analytical methods", "Performance measures and why", "metrics_used"),
    (
        "12f",
        "Methods: analytical methods",
        "Any model updating, such as recalibration, after evaluation",
        "calibration",
    ),
    ("12g", "Methods: analytical methods", "How predictions were computed in evaluation", "prediction_method"),
    ("13", "Methods: class imbalance", "Methods for class imbalance", "class_imbalance"),
    ("14", "Methods: fairness", "Approaches to fairness", None),
    ("15", "Methods: model output", "Model output and thresholds", "outputs"),
    (
        "16",
        "Methods: training versus evaluation",
        "Differences between development and evaluation data",
        "data_differences",
    ),
    ("17", "Methods: ethical approval", "Ethics committee approval and consent or its waiver", None),
    ("18a", "Open science", "Funding", None),
    ("18b", "Open science", "Conflicts of interest", None),
    ("18c", "Open science", "Protocol", "protocol"),
    ("18d", "Open science", "Registration", None),
    ("18e", "Open science", "Data sharing", "availability"),
    ("18f", "Open science", "Code sharing", "availability"),
    ("19", "Patient and public involvement", "Involvement of patients and the public", None),
    ("20a", "Results: participants", "Flow of participants and outcomes", "flow"),
    ("20b", "Results: participants", "Characteristics per data source", "characteristics"),
    ("20c", "Results: participants", "Predictor distributions compared with development data", "data_differences"),
    ("21", "Results: model development", "Participants and outcome events per analysis", "sample_events"),
    ("22", "Results: model specification", "The full model, to predict for new individuals; access terms", "model"),
    ("23a", "Results: model performance", "Performance with CIs, key subgroups, plots", "performance"),
    ("23b", "Results: model performance", "Heterogeneity of performance across clusters", "heterogeneity"),
    ("24", "Results: model updating", "Results of any updating", "calibration"),
    ("25", "Discussion: interpretation", "Overall interpretation, fairness included", None),
    ("26", "Discussion: limitations", "Limitations and their effect on bias and generalisability", "limitations"),
    ("27a", "Discussion: usability in current care", "Handling poor-quality or missing input data", "handling"),
    ("27b", "Discussion: usability in current care", "User interaction and expertise needed", None),
    ("27c", "Discussion: usability in current care", "Next research steps", None),
)

CHECKLISTS = {
    "claim": (
        "CLAIM 2024",
        "Checklist for Artificial Intelligence in Medical Imaging, 2024 update (Tejani et al., "
        "Radiol Artif Intell 2024;6:e240300)",
        CLAIM_2024,
    ),
    "tripod_ai": ("TRIPOD+AI", "TRIPOD+AI (Collins et al., BMJ 2024;385:e078378)", TRIPOD_AI),
}


# --------------------------------------------------------------------------
# Answering and rendering
# --------------------------------------------------------------------------
def answer_items(items, run) -> pd.DataFrame:
    """Answer each item of a checklist from the run.

    Parameters
    ----------
    items : tuple of (number, section, paraphrase, answer name or None).
    run : alnus.run_facts.Run.

    Returns
    -------
    DataFrame(number, section, item, status, answer, where, authors), one row
    per item, status one of "from the run", "from the run; authors to
    complete", "authors"; `authors` says what the authors must supply.

    Raises
    ------
    ValueError
        If an item names an answer that ANSWERS does not hold.
    """
    rows = []
    for number, section, paraphrase, name in items:
        if name is None:
            rows.append((number, section, paraphrase, STATUS_AUTHORS, AUTHORS, "", AUTHORS))
            continue
        if name not in ANSWERS:
            raise ValueError(
                f"checklist item {number} names answer {name!r}, which is not one of ANSWERS; "
                "add the function or fix the name"
            )
        answer = ANSWERS[name](run)
        status = STATUS_BOTH if answer.authors else STATUS_RUN
        rows.append((number, section, paraphrase, status, answer.text, ", ".join(answer.where), answer.authors or ""))
    return pd.DataFrame(rows, columns=["number", "section", "item", "status", "answer", "where", "authors"])


def checklist_blocks(key: str, answered: pd.DataFrame, *, simulated: bool = False) -> list[tuple]:
    """A checklist as document blocks (alnus.documents): a heading, a count of
    the items answered, and one table per section."""
    title, reference, _ = CHECKLISTS[key]
    counts = answered["status"].value_counts()
    blocks = [
        ("heading", 1, f"{title} checklist of this run"),
        (
            "paragraph",
            f"{reference}. Each item is paraphrased here with its published number; read the published "
            "list for its wording. The answers are drawn from this run's outputs (the column "
            "**Where** names the file); the authors complete what the run cannot know.",
        ),
        (
            "paragraph",
            f"**{len(answered)} items**: {counts.get(STATUS_RUN, 0)} answered from the run, "
            f"{counts.get(STATUS_BOTH, 0)} answered from the run with a part for the authors, "
            f"{counts.get(STATUS_AUTHORS, 0)} for the authors alone.",
        ),
    ]
    if simulated:
        blocks.append(
            ("paragraph", "This run analyses the simulated demo cohorts: its answers describe simulated data.")
        )
    for section, part in answered.groupby("section", sort=False):
        blocks.append(("heading", 2, section))
        rows = [
            [
                r.number,
                r.item,
                r.answer if r.status != STATUS_AUTHORS else f"**{AUTHORS}**",
                r.where,
                r.authors if r.status == STATUS_BOTH else "",
            ]
            for r in part.itertuples()
        ]
        blocks.append(("table", ["Item", "Topic", "Answer from this run", "Where", "For the authors"], rows))
    return blocks


def write_checklists(run, outputs: dict[str, dict[str, str]]) -> dict[str, pd.DataFrame]:
    """Answer and write each checklist of `outputs` (key -> {"markdown": path,
    "html": path}; keys of CHECKLISTS) and return the answered tables.

    Raises
    ------
    ValueError
        If a key is not a checklist of CHECKLISTS.
    """
    answered = {}
    for key, paths in outputs.items():
        if key not in CHECKLISTS:
            raise ValueError(f"checklist {key!r} is not one of {', '.join(CHECKLISTS)}")
        table = answer_items(CHECKLISTS[key][2], run)
        blocks = checklist_blocks(key, table, simulated=run.simulated)
        Path(paths["markdown"]).parent.mkdir(parents=True, exist_ok=True)
        Path(paths["markdown"]).write_text(to_markdown(blocks))
        Path(paths["html"]).write_text(to_html(blocks, title=f"{CHECKLISTS[key][0]} checklist"))
        answered[key] = table
    return answered


def checklists_from_files(paths: dict, *, config: dict, simulated: bool, outputs: dict[str, dict[str, str]]) -> None:
    """load_run over the run's outputs (`paths`, as alnus.run_facts.load_run
    takes them), then write_checklists to `outputs`."""
    write_checklists(facts.load_run(paths, config=config, simulated=simulated), outputs)
