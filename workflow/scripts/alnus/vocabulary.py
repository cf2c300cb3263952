"""The study's vocabulary in one place: its cohorts and sets, the names of
the models that are not one architecture, each model's kind, and the order in
which tables and figures list the kinds. Light (no third-party import), so
that the workflow's rule files can read it when they start."""

from __future__ import annotations

# The two cohorts of config `cohorts` (DESIGN.md), in the order rules list their files.
COHORTS = ("development", "external")
# splits.csv's `set`, in study order; the sets a model scores (rule predict) and the test sets among them.
SETS = ("train", "validation", "internal_test", "external_test")
TEST_SETS = ("internal_test", "external_test")
PREDICTION_SETS = ("validation", *TEST_SETS)
# Their printed names, in tables, figures, model cards and checklists.
SET_NAMES = {
    "train": "Training set",
    "validation": "Validation set",
    "internal_test": "Internal test set",
    "external_test": "External test set",
}
COHORT_NAMES = {"development": "Development cohort", "external": "External cohort"}

# The study's networks (config `architectures`; alnus.models builds each from timm).
ARCHITECTURE_NAMES = ("inception_v3", "inception_resnet_v2", "resnet101")

ENSEMBLE = "ensemble"  # the architectures' mean probability
MAJORITY = "readers_majority"  # the readers' majority vote
# Models with clinical variables (alnus.combined, rule combined_models): the
# clinical-only model, and "<image model>+clinical", a logistic model of an
# architecture's (or the ensemble's) logit and the clinical variables.
CLINICAL_MODEL = "clinical"
COMBINED_SUFFIX = "+clinical"
# metrics.csv's `kind`, in the order tables and figures list them.
KIND_ORDER = {"model": 0, "ensemble": 1, "combined": 2, "clinical": 3, "majority": 4, "reader": 5}
MODEL_KINDS = ("model", "ensemble", "combined", "clinical")  # the kinds with probabilities (and an AUC)
IMAGE_MODEL_KINDS = ("model", "ensemble")  # the models that read images only (an architecture, the ensemble)
# The printed name of each model (Table 2, figures, cards); readers print as "Reader 1".
DISPLAY_NAMES = {
    "inception_v3": "Inception V3",
    "inception_resnet_v2": "Inception-ResNet V2",
    "resnet101": "ResNet-101",
    ENSEMBLE: "Ensemble (mean probability)",
    MAJORITY: "Radiologists (majority vote)",
    CLINICAL_MODEL: "Clinical variables only",
}


def combined_name(model: str) -> str:
    """The combined model of an image model: "resnet101" -> "resnet101+clinical"."""
    return model + COMBINED_SUFFIX


def image_model_of(model: str) -> str:
    """The image model inside a combined one ("resnet101+clinical" -> "resnet101"); others unchanged."""
    return model.removesuffix(COMBINED_SUFFIX)


def model_kind(model: str) -> str:
    """ "ensemble", "combined" (network + clinical), "clinical" (clinical only) or "model" (an architecture)."""
    if model == ENSEMBLE:
        return "ensemble"
    if model == CLINICAL_MODEL:
        return "clinical"
    return "combined" if model.endswith(COMBINED_SUFFIX) else "model"


def is_image_only(model: str) -> bool:
    """True for an architecture or the ensemble: a model of the images alone."""
    return model_kind(model) in ("model", "ensemble")


def combined_names(architectures: list[str], *, ensemble: bool = True) -> list[str]:
    """The models rule combined_models writes: each architecture's and the
    ensemble's (two or more architectures, `ensemble` on) combined model,
    then the clinical-only model."""
    image = [*architectures, *([ENSEMBLE] if ensemble and len(architectures) >= 2 else [])]
    return [combined_name(m) for m in image] + [CLINICAL_MODEL]


def display_name(model: str) -> str:
    """Printed name of a model or reader ("resnet101" -> "ResNet-101",
    "resnet101+clinical" -> "ResNet-101 + clinical")."""
    if model.endswith(COMBINED_SUFFIX):
        return f"{display_name(model.removesuffix(COMBINED_SUFFIX))} + clinical"
    return DISPLAY_NAMES.get(model, model)
