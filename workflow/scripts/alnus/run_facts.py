"""What a finished run can say about itself: its outputs read back once, and
the small facts (counts, performance, settings, recorded training details)
that the reporting checklists (alnus.checklists) and the human-readable
model cards (alnus.model_cards) cite.

Every optional output may be absent (no readers, no calibration table, a
model card without a field another version of the pipeline records): the
facts then say so instead of failing, so that the report is written for
every study the workflow runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alnus.card_json import ModelCard
from alnus.formatting import format_auc, format_proportion
from alnus.vocabulary import IMAGE_MODEL_KINDS, SET_NAMES, SETS, TEST_SETS, display_name

NOT_RECORDED = "not recorded"
# Where a model card (results/models/{arch}/model_card.json) records each
# training detail: the path of keys that alnus.study.train_job writes
# (alnus.study._training_record's docstring lists the `training` record). A card without one (an older
# version) reads "not recorded".
CARD_FIELDS = {
    "device": ("training", "device"),
    "processor": ("training", "processor"),
    "capability": ("training", "capability"),
    "bf16": ("training", "native_bf16"),
    "precision": ("training", "precision"),
    "chosen_epoch": ("training", "best_epoch"),
    "validation_auc": ("training", "best_validation_auc"),
    "seconds_per_epoch": ("training", "seconds_per_epoch"),
    "epochs_run": ("training", "epochs_run"),
    "still_improving": ("training", "still_improving"),
    "threads": ("training", "threads"),
}


@dataclass
class Run:
    """The outputs of one finished run (see load_run); None where absent."""

    config: dict
    simulated: bool
    splits: pd.DataFrame
    manifests: dict[str, pd.DataFrame]
    cohorts: pd.DataFrame
    metrics: pd.DataFrame
    cards: dict[str, ModelCard]
    comparisons: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None
    mrmc: pd.DataFrame | None = None
    versions: pd.DataFrame | None = None
    input_check: pd.DataFrame | None = None
    duplicates: pd.DataFrame | None = None
    readers: pd.DataFrame | None = None
    annotations: dict[str, pd.DataFrame] = field(default_factory=dict)
    residual_text: dict[str, pd.DataFrame] = field(default_factory=dict)
    heatmaps: list[str] = field(default_factory=list)


def _csv(path: str | None, **options) -> pd.DataFrame | None:
    return pd.read_csv(path, **options) if path else None


def load_run(paths: dict, *, config: dict, simulated: bool = False) -> Run:
    """Read a run's outputs.

    Parameters
    ----------
    paths : output name -> path. Required: ``splits``, ``cohorts``,
        ``metrics``, ``manifests`` (cohort -> manifest.csv) and ``cards``
        (architecture -> model_card.json). Optional (absent or None when the
        run has none): ``comparisons``, ``calibration``, ``mrmc``,
        ``versions``, ``input_check``, ``duplicates``, ``readers``,
        ``annotations`` and ``residual_text`` (cohort -> CSV), ``heatmaps``
        (list of PNG paths).
    config : the run's validated configuration.
    simulated : whether the cohorts are the workflow's simulated demo.

    Raises
    ------
    ValueError
        If a required output is missing from `paths`.
    """
    missing = [k for k in ("splits", "cohorts", "metrics", "manifests", "cards") if not paths.get(k)]
    if missing:
        raise ValueError(f"load_run needs the outputs {missing}; give their paths")
    ids = {"dtype": {"id": str, "patient": str}}
    return Run(
        config=config,
        simulated=simulated,
        splits=pd.read_csv(paths["splits"], **ids),
        manifests={c: pd.read_csv(p, **ids) for c, p in paths["manifests"].items()},
        cohorts=pd.read_csv(paths["cohorts"]),
        metrics=pd.read_csv(paths["metrics"]),
        cards={arch: ModelCard.from_json(p) for arch, p in paths["cards"].items()},
        comparisons=_csv(paths.get("comparisons")),
        calibration=_csv(paths.get("calibration")),
        mrmc=_csv(paths.get("mrmc")),
        versions=_csv(paths.get("versions"), dtype=str, keep_default_na=False),
        input_check=_csv(paths.get("input_check"), sep="\t"),
        duplicates=_csv(paths.get("duplicates"), sep="\t", dtype=str),
        readers=_csv(paths.get("readers"), dtype={"id": str}),
        annotations={c: pd.read_csv(p, dtype={"id": str}) for c, p in (paths.get("annotations") or {}).items()},
        residual_text={
            c: pd.read_csv(p, dtype=str, keep_default_na=False) for c, p in (paths.get("residual_text") or {}).items()
        },
        heatmaps=list(paths.get("heatmaps") or []),
    )


# --------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------
def count_text(images: int, patients: int, positives: int) -> str:
    """1234, 567, 370 -> "1,234 images of 567 patients; 370 positive (30%)"."""
    share = f" ({positives / images:.0%})" if images else ""
    return f"{images:,} images of {patients:,} patients; {positives:,} positive{share}"


def set_counts(run: Run, set_name: str) -> dict | None:
    """Images, patients, positives and negatives of one set (cohorts.csv), or
    of a whole cohort with ``set_name`` "development" or "external"."""
    table = run.cohorts
    if set_name in ("development", "external"):
        rows = table[(table["cohort"] == set_name) & (table["set"] == "all")]
    else:
        rows = table[table["set"] == set_name]
    if rows.empty:
        return None
    return {k: int(rows[k].sum()) for k in ("images", "patients", "positives", "negatives")}


def set_text(run: Run, set_name: str) -> str:
    """count_text of one set or cohort, or "none" when the run has none."""
    counts = set_counts(run, set_name)
    return count_text(counts["images"], counts["patients"], counts["positives"]) if counts else "none"


def sites(run: Run) -> dict[str, dict[str, int]]:
    """cohort -> site -> images, from the preprocessed manifests' optional
    `site` column ({} for a cohort without it)."""
    return {
        cohort: (m["site"].astype(str).value_counts().sort_index().to_dict() if "site" in m else {})
        for cohort, m in run.manifests.items()
    }


def training_sites(run: Run) -> pd.DataFrame:
    """Images by site and label of each set (site "not given" where the
    manifest has no `site`): DataFrame(set, site, images, positives, negatives)."""
    frames = []
    for cohort, manifest in run.manifests.items():
        frame = manifest[["id", "label"]].copy()
        frame["site"] = manifest["site"].astype(str) if "site" in manifest else "not given"
        frames.append(frame.assign(cohort=cohort))
    table = run.splits.merge(pd.concat(frames), on=["cohort", "id"], how="left")
    grouped = table.groupby(["set", "site"], sort=False)["label"]
    out = pd.DataFrame({"images": grouped.size(), "positives": grouped.sum().astype(int)}).reset_index()
    out["negatives"] = out["images"] - out["positives"]
    order = {s: i for i, s in enumerate(SETS)}
    return out.sort_values(["set", "site"], key=lambda c: c.map(order) if c.name == "set" else c, ignore_index=True)


# --------------------------------------------------------------------------
# Performance
# --------------------------------------------------------------------------
def main_unit(run: Run) -> str:
    """The unit of analysis of the headline rows: image where metrics.csv has
    image rows (the original study's unit), else the first one it has."""
    units = list(dict.fromkeys(run.metrics["unit"]))
    return "image" if "image" in units else units[0]


def rows_of(run: Run, *, set_name: str, kinds=IMAGE_MODEL_KINDS, unit: str | None = None) -> pd.DataFrame:
    """metrics.csv rows of one set and unit whose `kind` is in `kinds`."""
    m = run.metrics
    unit = unit or main_unit(run)
    return m[(m["set"] == set_name) & (m["unit"] == unit) & m["kind"].isin(kinds)]


def best_row(run: Run, set_name: str = "external_test") -> pd.Series | None:
    """The model (architecture or ensemble) with the highest AUC on a set."""
    rows = rows_of(run, set_name=set_name)
    return None if rows.empty else rows.loc[rows["auc"].idxmax()]


def performance_text(row: pd.Series) -> str:
    """One metrics.csv row as "AUC 0.80 (0.70, 0.90); sensitivity 36% (9/25;
    ...); specificity ...; accuracy ..."."""
    pos, neg = int(row["tp"] + row["fn"]), int(row["tn"] + row["fp"])
    parts = [f"AUC {format_auc(row['auc'], row['auc_low'], row['auc_high'])}"]
    parts.append(
        "sensitivity " + format_proportion(int(row["tp"]), pos, row["sensitivity_low"], row["sensitivity_high"])
    )
    parts.append(
        "specificity " + format_proportion(int(row["tn"]), neg, row["specificity_low"], row["specificity_high"])
    )
    parts.append(
        "accuracy "
        + format_proportion(int(row["tp"] + row["tn"]), pos + neg, row["accuracy_low"], row["accuracy_high"])
    )
    return "; ".join(parts)


def headline(run: Run, set_name: str) -> str:
    """The best model of a set with its performance, e.g. "Inception V3:
    AUC 0.80 (0.70, 0.90); ..." ("no model rows" when there are none)."""
    row = best_row(run, set_name)
    if row is None:
        return f"no model rows for the {(SET_NAMES[set_name] if set_name in TEST_SETS else set_name).lower()}"
    return f"{display_name(row['model'])}: {performance_text(row)}"


def auc_range(run: Run, set_name: str, kinds=IMAGE_MODEL_KINDS) -> str:
    """ "0.74-0.82 (4 models)" over the rows of `kinds`, or "" where there are none."""
    rows = rows_of(run, set_name=set_name, kinds=kinds).dropna(subset=["auc"])
    if rows.empty:
        return ""
    low, high = rows["auc"].min(), rows["auc"].max()
    span = f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f}-{high:.2f}"
    return f"{span} ({len(rows)} {'rows' if len(kinds) > 2 else 'models'})"


def threshold_shift(run: Run, model: str) -> dict | None:
    """A model's sensitivity and specificity on the internal and external test
    sets at its one frozen threshold (the threshold's dependence on the
    scanner shows as their change): {threshold, internal: (sens, spec),
    external: (sens, spec)}, or None when a set is missing."""
    out = {}
    for set_name, key in (("internal_test", "internal"), ("external_test", "external")):
        rows = rows_of(run, set_name=set_name, kinds=IMAGE_MODEL_KINDS)
        rows = rows[rows["model"] == model]
        if rows.empty:
            return None
        row = rows.iloc[0]
        out[key] = (float(row["sensitivity"]), float(row["specificity"]))
        out["threshold"] = float(row["threshold"])
    return out


# --------------------------------------------------------------------------
# Model cards (JSON)
# --------------------------------------------------------------------------
def card_value(card: ModelCard, name: str):
    """The training detail `name` (a key of CARD_FIELDS) of a model card, or
    None when the card does not record it. A per-epoch list (seconds per
    epoch) gives its mean."""
    record, key = CARD_FIELDS[name]
    value = getattr(card, record).get(key)
    if isinstance(value, list):
        return float(np.mean(value)) if value else None
    return value


def card_text(card: ModelCard, name: str, *, fmt: str = "{}") -> str:
    """card_value formatted with `fmt`, or "not recorded"."""
    value = card_value(card, name)
    if value is None:
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt.format(value)


def estimate_text(value: float, low: float | None = None, high: float | None = None) -> str:
    """ "1.03 (0.36, 1.71)" (or "1.03" without bounds), or "not estimable"
    where the fit gave no value (NaN; e.g. a calibration slope under perfect
    separation)."""
    if value != value:
        return "not estimable"
    return f"{value:.2f}" if low is None or high is None else f"{value:.2f} ({low:.2f}, {high:.2f})"


def epochs_text(epochs) -> str:
    """6 -> "6 epochs", 1 -> "1 epoch", None -> "not recorded"."""
    if epochs is None:
        return NOT_RECORDED
    return f"{epochs} epoch{'' if epochs == 1 else 's'}"


def versions_text(run: Run, packages=("python", "torch", "timm", "numpy", "pandas", "scipy", "snakemake")) -> str:
    """ "python 3.11.7, torch 2.14.1, ..." from software_versions.csv (the
    installed versions), or from the first model card's `versions`."""
    if run.versions is not None and not run.versions.empty:
        known = dict(zip(run.versions["package"], run.versions["installed"]))
    else:
        known = next(iter(run.cards.values()), ModelCard()).versions
    return ", ".join(f"{p} {known[p]}" for p in packages if known.get(p)) or NOT_RECORDED
