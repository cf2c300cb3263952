"""Answers about the data: cohorts and sites, eligibility, preprocessing and
de-identification, the reference standard, the partitions, and the counts
per set."""

from __future__ import annotations

from alnus import run_facts as facts
from alnus.checklists.answer import Answer, cohort_paths, simulated_note
from alnus.vocabulary import SET_NAMES, SETS, display_name


def data_sources(run) -> Answer:
    per_site = facts.sites(run)
    site_text = "; ".join(
        f"{c}: " + (", ".join(f"{s} ({n:,} images)" for s, n in v.items()) if v else "no site column")
        for c, v in per_site.items()
    )
    return Answer(
        f"Two cohorts ({cohort_paths(run)}): development {facts.set_text(run, 'development')}; external "
        f"{facts.set_text(run, 'external')}. Sites: {site_text}.{simulated_note(run)}",
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
    counts = "; ".join(f"{SET_NAMES[s]}: {facts.set_text(run, s)}" for s in SETS)
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


def sample_events(run) -> Answer:
    return Answer(
        "; ".join(f"{SET_NAMES[s]}: {facts.set_text(run, s)}" for s in SETS) + ".", ("results/tables/cohorts.csv",)
    )
