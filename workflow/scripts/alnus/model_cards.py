"""A model card a hospital can file: per trained architecture, a readable
account beside its model_card.json, with the sections of Mitchell et al.,
"Model Cards for Model Reporting" (FAT* 2019): model details, intended use,
factors, metrics, evaluation data, training data, quantitative analyses,
ethical considerations, caveats and recommendations; and the metadata a
MONAI bundle carries (version, authors, inputs and outputs, references).

Written from the run's outputs (alnus.run_facts.Run) after the statistics,
since it reports test performance; a training detail the JSON card does not
record reads "not recorded".
"""

from __future__ import annotations

import json
from pathlib import Path

from alnus import __version__
from alnus import run_facts as facts
from alnus.card_json import ModelCard
from alnus.documents import to_html, to_markdown
from alnus.tables import AUC_CI_TEXT, CI_TEXT
from alnus.vocabulary import SET_NAMES, TEST_SETS, display_name

AUTHORS_PLACEHOLDER = "to be completed by the authors (name, institution, contact)"
PAPER = (
    "Zhou LQ, Wu XL, Huang SY, et al. Lymph Node Metastasis Prediction from Primary Breast Cancer US Images "
    "Using Deep Learning. Radiology 2020;294(1):19-28"
)
NORMALISATION_TEXT = {
    "imagenet": "intensities scaled to [0, 1], then ImageNet channel means and deviations",
    "per_image": "each image standardised to zero mean and unit deviation",
    "per_image_unpadded": "each image standardised over its nonzero pixels (letterbox bars left out)",
}


def monai_metadata(arch: str, card: ModelCard) -> dict:
    """The fields of a MONAI bundle's metadata.json that the run knows."""
    size, channels, versions = card.input_size, card.input_channels, card.versions
    normalisation = card.setting("normalisation") or facts.NOT_RECORDED
    return {
        "version": __version__,
        "pytorch_version": versions["torch"] if "torch" in versions else facts.NOT_RECORDED,
        "required_packages_version": {k: v for k, v in versions.items() if k not in ("torch", "python")},
        "name": f"ALN-US {display_name(arch)}",
        "task": "Classification of axillary lymph node metastasis from breast ultrasound of the primary tumour",
        "authors": AUTHORS_PLACEHOLDER,
        "data_type": "png (8-bit grayscale, cropped B-mode region)",
        "intended_use": "Research; not for clinical decisions",
        "references": [PAPER],
        "network_data_format": {
            "inputs": {
                "image": {
                    "type": "image",
                    "format": "magnitude",
                    "modality": "US",
                    "num_channels": channels,
                    "spatial_shape": [size, size],
                    "dtype": "float32",
                    "value_range": NORMALISATION_TEXT.get(normalisation, normalisation),
                    "channel_def": {str(i): "grayscale" for i in range(channels)},
                }
            },
            "outputs": {
                "pred": {
                    "type": "probabilities",
                    "format": "classes",
                    "num_channels": 1,
                    "spatial_shape": [1],
                    "dtype": "float32",
                    "value_range": [0, 1],
                    "channel_def": {
                        "0": "probability of axillary lymph node metastasis (after the sigmoid of the logit)"
                    },
                }
            },
        },
    }


def _details(arch: str, card: ModelCard, run) -> list[tuple]:
    setting = card.setting
    rows = [
        ["Architecture", f"{display_name(arch)} (timm `{card.timm_name or arch}`), one-logit classification head"],
        [
            "Version",
            f"ALN-US {__version__}; weights `results/models/{arch}/"
            f"{'fold-*/' if card.cross_validation else ''}model.safetensors`",
        ],
        ["Developed by", AUTHORS_PLACEHOLDER],
        [
            "Initialisation",
            "random (from scratch)" if card.pretrained == "none" else str(card.pretrained),
        ],
        ["Training seed", facts.NOT_RECORDED if card.seed is None else str(card.seed)],
        [
            "Training",
            f"class-weighted binary cross-entropy, AdamW, warm-up and cosine decay; at most "
            f"{facts.epochs_text(setting('epochs'))}, batch {setting('batch_size')}, learning rate "
            f"{setting('learning_rate')}, weight decay {setting('weight_decay')}",
        ],
        [
            "Selected epoch",
            f"{facts.card_text(card, 'chosen_epoch')} of {facts.card_text(card, 'epochs_run')} run "
            f"(validation AUC {facts.card_text(card, 'validation_auc', fmt='{:.3f}')})",
        ],
        ["Seconds per epoch", facts.card_text(card, "seconds_per_epoch", fmt="{:.1f}")],
        [
            "Processor",
            f"{facts.card_text(card, 'processor')} (device `{facts.card_text(card, 'device')}`, "
            f"{facts.card_text(card, 'threads')} threads)",
        ],
        [
            "Capability of the processor",
            f"{facts.card_text(card, 'capability')} (native bf16: {facts.card_text(card, 'bf16')})",
        ],
        ["Still improving at the last epoch", facts.card_text(card, "still_improving")],
        *_fold_rows(arch, card),
        ["Precision used", facts.card_text(card, "precision")],
        ["Software", ", ".join(f"{k} {v}" for k, v in card.versions.items()) or facts.NOT_RECORDED],
        ["Paper reproduced", PAPER],
        ["Licence", "to be completed by the authors"],
    ]
    return [("heading", 2, "Model details"), ("table", ["Field", "Value"], rows)]


def _fold_rows(arch: str, card: ModelCard) -> list[list[str]]:
    """Rows of a fold ensemble's card (`cross_validation`, config `split: folds`): what the model is, and
    each fold model's selected epoch; none for a model of the single split."""
    cv = card.cross_validation
    if not cv:
        return []
    epochs = "; ".join(
        f"fold {m['fold']}: epoch {m['best_epoch']} of {m['epochs_run']} (AUC "
        f"{m['best_validation_auc']:.3f} on its held-out fold, {m['validation_images']:,} images; "
        f"trained on {m['train_images']:,})"
        for m in cv["models"]
    )
    return [
        [
            "Cross-validation",
            f"{cv['folds']}-fold ensemble: the mean probability of {cv['folds']} models, each "
            "trained on the other folds of the train and validation patients and selected on its "
            f"own fold. The validation predictions, on which the threshold is frozen, are "
            "out-of-fold. The other rows (selected epoch, times, processor) and the heat maps are "
            f"fold {cv['shown_fold']}'s model's; per-fold AUCs in results/tables/folds.csv",
        ],
        ["Selected epoch of each fold", epochs],
    ]


def _intended_use(run) -> list[tuple]:
    return [
        ("heading", 2, "Intended use"),
        (
            "bullets",
            [
                "Primary use: research on predicting axillary lymph node metastasis (pathology) from a B-mode ultrasound "
                "image of a primary breast cancer, as in the study reproduced; a second reading beside radiologists.",
                "Primary users: the study's researchers and radiologists evaluating the model on their own data.",
                "Not intended: clinical decisions on surgery or axillary staging without a local prospective validation; "
                "images other than grayscale B-mode of the primary tumour (Doppler, elastography, cine loops, the axilla "
                "itself); patients outside the population of the training data; scanners not represented in training "
                "without checking the threshold on them.",
            ],
        ),
    ]


def _factors(run) -> list[tuple]:
    per_site = facts.sites(run)
    sites = "; ".join(f"{c}: {', '.join(v) if v else 'no site column'}" for c, v in per_site.items())
    units = ", ".join(dict.fromkeys(run.metrics["unit"]))
    declared = [v["label"] for v in run.config["clinical"]["variables"]]
    clinical = (
        f"Clinical variables in the manifests ({', '.join(declared)}) enter the combined models "
        "(combined_coefficients.csv), not this network, whose performance is not broken down by them; "
        "not evaluated: breast density, tumour type, scanner model."
        if declared
        else "Not evaluated (not in the manifests): age, tumour size and type, breast density, scanner model."
    )
    return [
        ("heading", 2, "Factors"),
        (
            "paragraph",
            f"Relevant factors: the institution and its scanners (sites in the manifests: {sites}), "
            "burned-in annotations, the image crop. Evaluated: institution (internal against external "
            f"test set) and unit of analysis ({units}). {clinical}",
        ),
    ]


def _metrics(run) -> list[tuple]:
    st = run.config["statistics"]
    return [
        ("heading", 2, "Metrics"),
        (
            "paragraph",
            f"AUC with {st['level']:.0%} intervals by {AUC_CI_TEXT.get(st['auc_ci'], st['auc_ci'])}; "
            "sensitivity, specificity and accuracy at the threshold chosen on the validation set "
            f"(`{st['threshold']}`) and frozen before testing, with "
            f"{CI_TEXT.get(st['proportion_ci'], st['proportion_ci'])}; calibration (Brier score, slope). "
            "Intervals account for several images per patient where a set has them (column `ci_method` "
            "of metrics.csv).",
        ),
    ]


def _data(arch: str, card: ModelCard, run) -> list[tuple]:
    table = facts.training_sites(run)
    rows = [
        [SET_NAMES[r.set], r.site, f"{r.images:,}", f"{r.positives:,}", f"{r.negatives:,}"] for r in table.itertuples()
    ]
    simulated = " The cohorts of this run are simulated by the workflow (the demo)." if run.simulated else ""
    sets = f"train set ({facts.set_text(run, 'train')}), selected on the validation set ({facts.set_text(run, 'validation')})"
    if card.cross_validation:
        sets = (
            f"train and validation sets ({facts.set_text(run, 'train')}; {facts.set_text(run, 'validation')}), "
            f"dealt by patient into {card.cross_validation['folds']} folds, each fold model trained on the "
            "others and selected on its own"
        )
    return [
        ("heading", 2, "Training data"),
        (
            "paragraph",
            f"Development cohort, {sets}; patients split at random by label, never across sets. "
            f"Images cropped to the B-mode region, annotations removed, pseudonymised.{simulated}",
        ),
        ("heading", 2, "Evaluation data"),
        (
            "paragraph",
            f"Internal test set: held-out development patients ({facts.set_text(run, 'internal_test')}). "
            f"External test set: another institution ({facts.set_text(run, 'external_test')}), the test "
            "of transfer to other scanners. Same preprocessing as training.",
        ),
        ("paragraph", "Images by set, site and label:"),
        ("table", ["Set", "Site", "Images", "Positive", "Negative"], rows),
    ]


def _analyses(arch: str, run) -> list[tuple]:
    rows = []
    for unit in dict.fromkeys(run.metrics["unit"]):
        for set_name in TEST_SETS:
            part = facts.rows_of(run, set_name=set_name, kinds=("model",), unit=unit)
            for r in part[part["model"] == arch].itertuples():
                rows.append(
                    [
                        SET_NAMES[set_name],
                        unit,
                        f"{int(r.n):,} ({int(r.positives):,} positive)",
                        facts.performance_text(r._asdict()),
                        f"{r.threshold:.3f}",
                    ]
                )
    blocks = [("heading", 2, "Quantitative analyses")]
    if not rows:
        return blocks + [("paragraph", "metrics.csv holds no rows of this model.")]
    blocks.append(("table", ["Test set", "Unit", "Cases", "Performance (95% CI)", "Threshold"], rows))
    if run.calibration is not None and not run.calibration.empty:
        cal = run.calibration[run.calibration["model"] == arch]
        cal_rows = [
            [
                SET_NAMES[r.set],
                f"{r.brier:.3f}",
                facts.estimate_text(r.slope, r.slope_low, r.slope_high),
                facts.estimate_text(r.intercept, r.intercept_low, r.intercept_high),
            ]
            for r in cal.itertuples()
            if r.set in TEST_SETS
        ]
        if cal_rows:
            blocks += [
                ("paragraph", "Calibration:"),
                ("table", ["Test set", "Brier score", "Slope (95% CI)", "Intercept (95% CI)"], cal_rows),
            ]
    return blocks


def _caveats(arch: str, run) -> list[tuple]:
    notes = []
    shift = facts.threshold_shift(run, arch)
    if shift:
        (si, pi), (se, pe) = shift["internal"], shift["external"]
        notes.append(
            f"Scanner shift and the threshold: at its one validation threshold ({shift['threshold']:.3f}) the "
            f"sensitivity is {si:.0%} on the internal and {se:.0%} on the external test set, the specificity "
            f"{pi:.0%} and {pe:.0%}. A threshold chosen on one institution's scanners need not carry over to "
            "another's; check it on local validation images before use."
        )
    internal, external = facts.rows_of(run, set_name="internal_test"), facts.rows_of(run, set_name="external_test")
    for name, rows in (("internal", internal), ("external", external)):
        row = rows[rows["model"] == arch]
        if not row.empty:
            r = row.iloc[0]
            notes.append(
                f"Small samples: the {name} test AUC interval is {r['auc_high'] - r['auc_low']:.2f} wide "
                f"({int(r['n'])} cases)."
            )
    notes += [
        "Trained on the images of one institution; the manifests carry no demographic or clinical variables, "
        "so performance in subgroups is unknown.",
        "Heat maps show where the network looks; they were not validated against lesion outlines.",
    ]
    if run.simulated:
        notes.append("This card describes a model trained on simulated demo data; it has no clinical meaning.")
    return [
        ("heading", 2, "Ethical considerations"),
        (
            "paragraph",
            "Images were de-identified before any other step (keyed pseudonyms, no metadata, burned-in "
            "text removed and audited by OCR). A false negative may spare an axillary procedure that "
            "was needed; the model must not replace pathology. Ethics approval: to be completed by the "
            "authors.",
        ),
        ("heading", 2, "Caveats and recommendations"),
        ("bullets", notes),
    ]


def card_blocks(arch: str, run) -> list[tuple]:
    """The human-readable model card of one architecture as document blocks.

    Raises
    ------
    ValueError
        If the run has no model card for `arch`.
    """
    if arch not in run.cards:
        raise ValueError(f"no model card for architecture {arch!r}; the run has {', '.join(run.cards) or 'none'}")
    card = run.cards[arch]
    blocks = [
        ("heading", 1, f"Model card: {display_name(arch)}"),
        (
            "paragraph",
            f"Axillary lymph node metastasis from breast ultrasound (ALN-US {__version__}). Sections "
            "after Mitchell et al., Model Cards for Model Reporting (2019); metadata after the MONAI "
            f"bundle. Machine-readable record: `results/models/{arch}/model_card.json`.",
        ),
    ]
    blocks += _details(arch, card, run) + _intended_use(run) + _factors(run) + _metrics(run)
    blocks += _data(arch, card, run) + _analyses(arch, run) + _caveats(arch, run)
    blocks += [
        ("heading", 2, "Metadata (MONAI bundle fields)"),
        ("code", "json", json.dumps(monai_metadata(arch, card), indent=2)),
    ]
    return blocks


def write_model_card(arch: str, run, *, markdown: str, html: str) -> None:
    """Write the model card of `arch` as Markdown and as HTML."""
    blocks = card_blocks(arch, run)
    Path(markdown).write_text(to_markdown(blocks))
    Path(html).write_text(to_html(blocks, title=f"Model card: {display_name(arch)}"))


def model_card_from_files(arch: str, paths: dict, *, config: dict, simulated: bool, markdown: str, html: str) -> None:
    """load_run over the run's outputs (`paths`, as alnus.run_facts.load_run
    takes them, with `cards` holding at least `arch`), then write_model_card."""
    write_model_card(arch, facts.load_run(paths, config=config, simulated=simulated), markdown=markdown, html=html)
