# Config validation, the names and settings derived from the config, and
# every input function of the workflow. Included by the Snakefile and by the
# reviewers' workflow/reviewers.smk; holds no rule.

import os
import re
import sys
from pathlib import Path

import pandas as pd
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.current_basedir).parent / "scripts"))  # the library, workflow/scripts/alnus
from alnus import vocabulary  # noqa: E402
from alnus.checklists import CHECKLISTS  # noqa: E402
from alnus.folds import FOLD_SUFFIX, fold_model, fold_of  # noqa: E402
from alnus.presets import resolve_preset  # noqa: E402
from alnus.pseudonym import KEY_ENV_VAR  # noqa: E402
from alnus.split import manifest_fold_problem  # noqa: E402
from alnus.start_up import missing_inputs  # noqa: E402

validate(config, workflow.source_path("../schemas/config.schema.yaml"))

# The study's names (alnus.vocabulary), as lists for expand() and the rules' params.
COHORTS = list(vocabulary.COHORTS)
PREDICTION_SETS = list(vocabulary.PREDICTION_SETS)
TEST_SETS = list(vocabulary.TEST_SETS)
ARCHITECTURES = config["architectures"]
# Further training runs of every architecture (training.seeds), beside the
# main one with `seed`: results/models/{arch}/seed-{n}/, results/predictions/{arch}/seed-{n}/.
EXTRA_SEEDS = [s for s in config["training"]["seeds"] if s != config["seed"]]
# Cross-validation (split.folds): every architecture is trained once per fold,
# models {arch}/fold-{k} (results/models/{arch}/fold-{k}/, results/predictions/{arch}/fold-{k}/),
# and rule fold_ensemble makes the architecture's predictions and card from them.
FOLDS = list(range(1, config["split"]["folds"] + 1)) if config["split"]["folds"] else []
if FOLDS and EXTRA_SEEDS:
    raise WorkflowError(
        f"`split: folds` is {len(FOLDS)} and `training: seeds` is {config['training']['seeds']}: the two cannot be "
        "combined (each further seed would be trained on the single split, beside the fold ensemble); set "
        "`training: seeds: []` for cross-validation, or `split: folds: null` for the seeds' spread"
    )
# Clinical variables declared (config `clinical: variables`): the combined and
# clinical-only models join the image-only ones (rule combined_models).
CLINICAL = bool(config["clinical"]["variables"])
COMBINED_MODELS = (
    vocabulary.combined_names(ARCHITECTURES, ensemble=config["statistics"]["ensemble"]) if CLINICAL else []
)


def training_preset():
    """The chosen training preset; keys the config leaves out come from that
    preset's default in the schema, so `training: {demo: {epochs: 3}}` works."""
    schema = yaml.safe_load(open(workflow.source_path("../schemas/config.schema.yaml")))
    return resolve_preset(schema["properties"]["training"]["properties"], config["training"])


PRESET = training_preset()


def training_config():
    """The settings a trained model depends on, recorded in its model card.
    Only these are a training job's params, so that changing statistics or
    figure options never retrains a model."""
    training = {k: v for k, v in config["training"].items() if k not in ("paper", "cpu", "demo", "flip_tta")}
    return {"seed": config["seed"], "training": training, "resolved_preset": PRESET}


DEMO_DIR = "resources/demo"
BUS_BRA_DIR = "resources/bus-bra"
# Folders whose manifests a rule of this workflow writes (rules simulate_demo,
# convert_busbra): they need not exist when the workflow starts.
GENERATED_INPUTS = (f"{DEMO_DIR}/", f"{BUS_BRA_DIR}/")


wildcard_constraints:
    cohort="|".join(COHORTS),
    arch="|".join(ARCHITECTURES),
    set="|".join(PREDICTION_SETS),
    # A trained model: an architecture (the main seed) or {arch}/seed-{n}; with
    # split.folds only {arch}/fold-{k} (the architecture itself is their ensemble).
    model=rf"({'|'.join(ARCHITECTURES)}){FOLD_SUFFIX}" if FOLDS else rf"({'|'.join(ARCHITECTURES)})(/seed-\d+)?",
    size=r"\d+",
    combined="|".join(re.escape(m) for m in COMBINED_MODELS) or "no-clinical-variables",


# The pseudonym key file (rule pseudonym_key), unless the key comes from the environment.
KEY_FILE = "private/pseudonym.key"
# The PHI audit's outputs (rule phi_audit), left out of the targets it waits for.
PHI_AUDIT = {"summary": "results/qc/phi_audit.tsv", "strings": "results/qc/phi_audit_strings.tsv"}
PHI_EXTRA = config["privacy"]["phi_audit"]["extra_strings"]


def start_up_checks():
    """What the main Snakefile checks when it starts, before it plans a run
    (the reviewers' Snakefile, which has no source data, leaves it out):

    - a configured manifest, images folder or readers' file that does not
      exist (alnus.start_up.missing_inputs) stops the run, naming the config
      key to fix; the DAG cannot be built without them. Every other input
      problem is rule validate_inputs' business.
    - with split.folds, a development manifest that exists already and has
      too few patients of either label for the folds stops the run before
      anything is preprocessed; rule split checks again, exactly, once the
      internal test is held out. Kept here rather than in validate_inputs, as
      a check of the config value: as a param of validate_inputs a change of
      `split: folds` would rerun the input check and so the preprocessing.
    """
    missing = missing_inputs(config["cohorts"], config["readers"], generated=GENERATED_INPUTS)
    if missing:
        raise WorkflowError("\n\n".join(missing))
    manifest = Path(config["cohorts"]["development"]["manifest"])
    if FOLDS and manifest.is_file():
        problem = manifest_fold_problem(pd.read_csv(manifest, dtype=str), folds=len(FOLDS))
        if problem:
            raise WorkflowError(problem)


def scaled_mem(base_mb):
    """A `mem_mb` resource of `base_mb` times the attempt, so that a job
    killed for memory is retried with more (`--retries`, profiles/)."""

    def mem_mb(wildcards, attempt):
        return base_mb * attempt

    return mem_mb


def size_of(wildcards):
    """The `size` wildcard (input size in pixels) as a number."""
    return int(wildcards.size)


def pseudonym_key():
    """The key file as an input of the rules that read the key: written by
    rule pseudonym_key; none when the key comes from the environment variable
    ALNUS_PSEUDONYM_KEY (alnus.pseudonym.load_key reads that first)."""
    return [] if os.environ.get(KEY_ENV_VAR) is not None else [KEY_FILE]


def key_file(wildcards, input):
    """The key file's path, for the scripts' alnus.pseudonym.load_key (which
    reads ALNUS_PSEUDONYM_KEY first, where the key file is no input)."""
    return input.key[0] if input.key else KEY_FILE


def phi_extra_input():
    """The user's extra identifying strings file (privacy.phi_audit.extra_strings), where configured."""
    return {"extra_strings": PHI_EXTRA} if PHI_EXTRA else {}


def audited_targets(wildcards):
    """Every other target of the default run, for rule phi_audit, so that the
    audit runs last and sees their files (a function: all_targets() is
    complete only once every rule file is read)."""
    return [t for t in all_targets() if t not in PHI_AUDIT.values()]


def cohort_inputs(wildcards):
    """The manifest and image folder of one cohort, as configured."""
    paths = config["cohorts"][wildcards.cohort]
    return {"manifest": paths["manifest"], "images": paths["images"]}


def all_cohort_inputs():
    """Manifests, image folders and readers' file of the whole study."""
    inputs = {}
    for cohort in COHORTS:
        inputs[f"{cohort}_manifest"] = config["cohorts"][cohort]["manifest"]
        inputs[f"{cohort}_images"] = config["cohorts"][cohort]["images"]
    if config["readers"]:
        inputs["readers"] = config["readers"]
    return inputs


def preprocess_ocr():
    """The OCR settings that preprocessing uses (engine and min_confidence of
    privacy.phi_audit.ocr) when annotation kind ocr_text is on, else None: so
    that the audit's other settings never rerun preprocessing."""
    if "ocr_text" not in config["preprocess"]["annotations"]["kinds"]:
        return None
    ocr = config["privacy"]["phi_audit"]["ocr"]
    return {"engine": ocr["engine"], "min_confidence": ocr["min_confidence"]}


def preprocessed(kind):
    """Per-cohort preprocessed outputs of one kind, keyed by cohort.

    kind : "manifest", "images" or "linkage".
    """
    pattern = {
        "manifest": "results/preprocessed/{cohort}/manifest.csv",
        "images": "results/preprocessed/{cohort}/images",
        "linkage": "private/{cohort}/linkage.csv",
    }[kind]
    return {cohort: pattern.format(cohort=cohort) for cohort in COHORTS}


def preprocessed_cohorts():
    """Each cohort's preprocessed manifest and images folder, as named inputs
    `<cohort>_manifest` and `<cohort>_images` (read by alnus.validate.cohort_paths)."""
    manifests, images = preprocessed("manifest"), preprocessed("images")
    return {**{f"{c}_manifest": manifests[c] for c in COHORTS}, **{f"{c}_images": images[c] for c in COHORTS}}


def residual_text_tables():
    """Each cohort's OCR table (rule residual_text), as named inputs `<cohort>_residual_text`."""
    return {f"{c}_residual_text": f"results/qc/{c}_residual_text.csv" for c in COHORTS}


def image_predictions():
    """Predictions of the networks (rule predict), the image-only models."""
    return expand("results/predictions/{arch}/{set}.csv", arch=ARCHITECTURES, set=PREDICTION_SETS)


def combined_predictions():
    """Predictions of the combined and clinical-only models (rule combined_models), where clinical variables are declared."""
    return expand("results/predictions/{model}/{set}.csv", model=COMBINED_MODELS, set=PREDICTION_SETS)


def all_predictions():
    """Every model's predictions: the networks', then the combined and clinical-only models'."""
    return image_predictions() + combined_predictions()


def seed_predictions():
    """Predictions of the further seeds' models (training.seeds)."""
    return expand(
        "results/predictions/{arch}/seed-{seed}/{set}.csv", arch=ARCHITECTURES, seed=EXTRA_SEEDS, set=PREDICTION_SETS
    )


def trained_models():
    """Every network trained: each architecture, or with split.folds each architecture's fold models."""
    return [fold_model(arch, k) for arch in ARCHITECTURES for k in FOLDS] if FOLDS else list(ARCHITECTURES)


def shown_models():
    """Per architecture, the trained model whose heat maps are drawn and whose
    history the training curves show: the architecture's, or with split.folds
    its fold 1 model (the architecture's card lists every fold)."""
    return [fold_model(arch, FOLDS[0]) if FOLDS else arch for arch in ARCHITECTURES]


def fold_predictions():
    """Predictions of the fold models (split.folds): each on its held-out fold (as validation) and the test sets."""
    return expand("results/predictions/{model}/{set}.csv", model=trained_models(), set=PREDICTION_SETS) if FOLDS else []


def fold_ensemble_inputs(wildcards):
    """The fold models of the `arch` wildcard, for rule fold_ensemble; their
    cards and weights, and their predictions named {set}_{fold}."""
    models = {k: fold_model(wildcards.arch, k) for k in FOLDS}
    return {
        "cards": [f"results/models/{m}/model_card.json" for m in models.values()],
        "weights": [f"results/models/{m}/model.safetensors" for m in models.values()],
        **{f"{s}_{k}": f"results/predictions/{m}/{s}.csv" for k, m in models.items() for s in PREDICTION_SETS},
    }


def folds_tables():
    """The per-fold table (rule folds_table), with split.folds."""
    return ["results/tables/folds.csv"] if FOLDS else []


def fold_param(wildcards):
    """The fold of the `model` wildcard ("resnet101/fold-2" -> 2), None for a model of the single split."""
    return fold_of(wildcards.model)


def image_caches(wildcards):
    """Each cohort's image cache (rule cache_images) at the input size of the
    `model` wildcard's architecture, in COHORTS order."""
    size = PRESET["input_size"][arch_of(wildcards)]
    return [f"results/cache/{cohort}_{size}px.npy" for cohort in COHORTS]


def arch_of(wildcards):
    """The architecture of the `model` wildcard ("inception_v3/seed-3" -> "inception_v3")."""
    return wildcards.model.split("/")[0]


def seed_of(wildcards):
    """The training seed of the `model` wildcard: its seed-{n}, else config `seed`."""
    further = re.search(r"seed-(\d+)$", wildcards.model)
    return int(further.group(1)) if further else config["seed"]


def readers_table():
    """The pseudonymised readers' calls, when the study has readers."""
    return ["results/tables/readers.csv"] if config["readers"] else []


def reader_study_tables():
    """The multi-reader analysis of the models against the average reader, when the study has readers."""
    return ["results/tables/mrmc.csv"] if config["readers"] else []


def all_targets():
    """Everything `snakemake` builds by default."""
    return [
        "results/splits.csv",
        *expand("results/models/{model}/model.safetensors", model=trained_models()),
        *all_predictions(),
        "results/tables/metrics.csv",
        *folds_tables(),
        *expand(
            "results/tables/{table}",
            table=["comparisons.csv", "calibration.csv", "decision_curve.csv", "table2.md", "table2.tex"],
        ),
        *readers_table(),
        *reader_study_tables(),
        "results/tables/cohorts.csv",
        "results/tables/training_history.csv",
        *figure_targets(heatmaps=True),
        "results/report/software_versions.csv",
        *expand("results/qc/{cohort}_annotations.csv", cohort=COHORTS),
        "results/qc/duplicates.tsv",
        "results/figures/annotation_removal.png",
        "results/qc/phi_audit.tsv",
        *clinical_targets(),
        *report_documents(),
    ]


def clinical_targets():
    """The clinical variables' outputs, where the config declares some."""
    if not CLINICAL:
        return []
    return [
        "results/preprocessed/clinical.csv",
        "results/tables/combined_coefficients.csv",
        *expand("results/figures/nomogram_{model}.{ext}", model=COMBINED_MODELS, ext=["png", "pdf"]),
    ]


# The reporting checklists (alnus.checklists), by output name: claim, tripod_ai.
CHECKLIST_TITLES = {key: entry[0] for key, entry in CHECKLISTS.items()}


def report_documents():
    """The model cards (Markdown and HTML) and the reporting checklists (rules model_card, checklists)."""
    return [
        *expand("results/models/{arch}/model_card.{ext}", arch=ARCHITECTURES, ext=["md", "html"]),
        *expand("results/report/{key}.{ext}", key=list(CHECKLIST_TITLES), ext=["md", "html"]),
    ]


def uses_demo_data():
    """Whether both cohorts are the workflow's simulated demo (rule simulate_demo)."""
    return all(str(c["manifest"]).startswith(f"{DEMO_DIR}/") for c in config["cohorts"].values())


def run_outputs():
    """The outputs the model cards and checklists are written from (alnus.run_facts.load_run)."""
    return {
        "splits": "results/splits.csv",
        "cohorts": "results/tables/cohorts.csv",
        "metrics": "results/tables/metrics.csv",
        "comparisons": "results/tables/comparisons.csv",
        "calibration": "results/tables/calibration.csv",
        "versions": "results/report/software_versions.csv",
        "input_check": "results/qc/input_check.tsv",
        "duplicates": "results/qc/duplicates.tsv",
        "mrmc": reader_study_tables(),
        "readers": readers_table(),
        "manifests": list(preprocessed("manifest").values()),
        "annotations": expand("results/qc/{cohort}_annotations.csv", cohort=COHORTS),
        "residual_text": expand("results/qc/{cohort}_residual_text.csv", cohort=COHORTS),
    }


def figure_targets(*, heatmaps=False):
    """The figures. Without heatmaps, those drawn from results/predictions,
    results/tables and results/splits.csv alone: the reviewers' `snakemake
    figures` target; the heat maps also need the models and the images."""
    figures = [
        *expand("results/figures/roc_{set}.{ext}", set=TEST_SETS, ext=["png", "pdf"]),
        *expand(
            "results/figures/{name}.{ext}",
            name=[
                "confusion_matrices",
                "forest_plot",
                "calibration",
                "decision_curve",
                "training_curves",
                "cohort_flow",
            ],
            ext=["png", "pdf"],
        ),
    ]
    if heatmaps:
        figures += expand(
            "results/figures/heatmaps/{name}_{set}.png", name=[*ARCHITECTURES, "architectures"], set=TEST_SETS
        )
    return figures


def pretrained_input(wildcards):
    """The local ImageNet weights file of an architecture when training starts
    from ImageNet (fetched once by rule fetch_weights), else nothing."""
    if config["training"]["pretrained"] == "imagenet":
        return [f"resources/weights/{arch_of(wildcards)}.safetensors"]
    return []


def pretrained_param(wildcards, input):
    """What build_model gets: the fetched or configured weights file, or none."""
    return input.pretrained[0] if input.pretrained else config["training"]["pretrained"]
