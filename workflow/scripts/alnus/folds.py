"""Cross-validation with fold ensembles (config `split: folds`).

With K folds (splits.csv's column `fold`, `alnus.split.assign_folds`), each
architecture is trained K times: model "{arch}/fold-{k}" trains on the other
folds and selects its epoch on fold k. Its predictions on fold k are
out-of-fold: together they are the architecture's validation predictions,
on which the thresholds are frozen. On the test sets the architecture is the
mean probability of its K fold models. Light (pandas and numpy only), so
that the workflow's rule files can read it when they start.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd

from alnus.card_json import ModelCard

FOLD_SUFFIX = r"/fold-(\d+)"  # what follows the architecture in a fold model's name: "inception_v3/fold-2"
FOLD_MODEL = re.compile(FOLD_SUFFIX + "$")
DEVELOPMENT_SETS = ("train", "validation")  # the sets dealt into folds
OUT_OF_FOLD = "out-of-fold"  # folds.csv's `fold` of the out-of-fold (validation) rows
FOLD_MEAN = "mean"  # folds.csv's `fold` of the fold ensemble's test rows
FOLDS_COLUMNS = ["model", "fold", "set", "n", "patients", "positives", "auc", "auc_low", "auc_high", "ci_method"]


def fold_model(arch: str, fold: int) -> str:
    """The name of fold `fold`'s model of `arch`: ("resnet101", 2) -> "resnet101/fold-2"."""
    return f"{arch}/fold-{fold}"


def fold_of(model: str) -> int | None:
    """The fold of a model's name ("resnet101/fold-2" -> 2), None for any other model."""
    found = FOLD_MODEL.search(model)
    return int(found.group(1)) if found else None


def fold_sets(table: pd.DataFrame, fold: int | None) -> pd.DataFrame:
    """The sets that fold `fold`'s model sees.

    Parameters
    ----------
    table : splits.csv's rows (set, fold, ...; `alnus.study.labelled_splits`).
    fold : a fold number, or None for the single split.

    Returns
    -------
    A copy of `table` whose train and validation rows have set "validation"
    where their fold is `fold` and "train" elsewhere; the test rows
    unchanged. With `fold` None, `table` itself.

    Raises
    ------
    ValueError
        If `table` has no fold column, or no train/validation row in `fold`.
    """
    if fold is None:
        return table
    if "fold" not in table.columns:
        raise ValueError(
            f"fold model {fold} asks for splits.csv's column `fold`, which it lacks (made without "
            "`split: folds`); rerun rule split (snakemake --forcerun split)"
        )
    development = table["set"].isin(DEVELOPMENT_SETS)
    held = development & (table["fold"] == fold).fillna(False).astype(bool)
    if not held.any():
        folds = sorted(int(k) for k in table.loc[development, "fold"].dropna().unique())
        raise ValueError(f"splits.csv has no fold {fold} (its folds: {folds}); rerun rule split")
    out = table.copy()
    out.loc[development, "set"] = np.where(held[development], "validation", "train")
    return out


def out_of_fold(validation: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Each fold model's predictions on its own held-out fold, as one table.

    Parameters
    ----------
    validation : fold -> DataFrame(id, patient, label, probability), fold k
        model's predictions on fold k.

    Returns
    -------
    DataFrame(id, patient, label, probability, fold), folds in order.

    Raises
    ------
    ValueError
        If an image is in two folds' predictions.
    """
    frames = [
        frame[["id", "patient", "label", "probability"]].assign(fold=fold) for fold, frame in sorted(validation.items())
    ]
    table = pd.concat(frames, ignore_index=True)
    twice = table.loc[table["id"].duplicated(), "id"]
    if not twice.empty:
        raise ValueError(
            f"images {twice.head(3).tolist()} are in the held-out predictions of two folds; "
            "rerun rules split and predict"
        )
    return table


def fold_mean(predictions: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """The fold ensemble on one test set: the mean probability of the fold models.

    Parameters
    ----------
    predictions : fold -> DataFrame(id, patient, label, probability) of that
        fold's model on the set, the same images in the same order.

    Returns
    -------
    DataFrame(id, patient, label, probability) in that order.

    Raises
    ------
    ValueError
        If the folds' files do not list the same images in the same order.
    """
    first = predictions[min(predictions)]
    for fold, frame in predictions.items():
        if not frame["id"].reset_index(drop=True).equals(first["id"].reset_index(drop=True)):
            raise ValueError(
                f"fold {fold}'s predictions list other images than fold {min(predictions)}'s; rerun rule predict"
            )
    mean = np.mean([frame["probability"].to_numpy(float) for _, frame in sorted(predictions.items())], axis=0)
    return first[["id", "patient", "label"]].reset_index(drop=True).assign(probability=mean)


def ensemble_card(cards: dict[int, ModelCard], *, weights: dict[int, str]) -> ModelCard:
    """The model card (JSON) of an architecture's fold ensemble.

    Parameters
    ----------
    cards : fold -> that fold model's card (`alnus.study.train_job`).
    weights : fold -> path of that fold model's weights.

    Returns
    -------
    Fold 1's card (its architecture, settings and versions are every
    fold's; its `training` record is fold 1's, the model the heat maps
    show), with `cross_validation`: folds (K), combined_by, shown_fold
    (the fold whose model the heat maps show and `training` describes), and
    per fold (`models`) its fold, weights, best_epoch, best_validation_auc
    (on its held-out fold), epochs_run, still_improving, train_images and
    validation_images.
    """
    first = min(cards)
    models = [
        {
            "fold": fold,
            "weights": weights[fold],
            # None where a fold's card does not record it
            **{
                key: card.training.get(key)
                for key in ("best_epoch", "best_validation_auc", "epochs_run", "still_improving")
            },
            "train_images": card.train_images,
            "validation_images": card.validation_images,
        }
        for fold, card in sorted(cards.items())
    ]
    cross_validation = {
        "folds": len(cards),
        "combined_by": "mean probability of the fold models on the test sets; validation is out-of-fold "
        "(each image scored by the model that did not train on it)",
        "shown_fold": first,
        "models": models,
    }
    return dataclasses.replace(cards[first], cross_validation=cross_validation)


def fold_ensemble_job(
    *,
    cards: dict[int, str],
    weights: dict[int, str],
    predictions: dict[int, dict[str, str]],
    outputs: dict[str, str],
    out_card: str,
) -> None:
    """Rule fold_ensemble: an architecture's predictions and card from its fold models.

    Parameters
    ----------
    cards, weights : fold -> path of that fold model's model_card.json and weights.
    predictions : fold -> set name -> path of that fold model's predictions
        (results/predictions/{arch}/fold-{k}/{set}.csv).
    outputs : set name -> path: "validation" gets `out_of_fold`, each test
        set `fold_mean`.
    out_card : path of the ensemble's model_card.json (`ensemble_card`).
    """
    read = {
        fold: {s: pd.read_csv(path, dtype={"id": str, "patient": str}) for s, path in sets.items()}
        for fold, sets in predictions.items()
    }
    for set_name, out in outputs.items():
        by_fold = {fold: sets[set_name] for fold, sets in read.items()}
        table = out_of_fold(by_fold) if set_name == "validation" else fold_mean(by_fold)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False, float_format="%.8f")
    loaded = {fold: ModelCard.from_json(path) for fold, path in cards.items()}
    ensemble_card(loaded, weights=weights).to_json(out_card)


def auc_row(
    frame: pd.DataFrame,
    *,
    level: float,
    auc_ci: str = "delong",
    n_resamples: int = 2000,
    seed=0,
    clustered: bool = True,
    clustered_auc: str = "logit",
    name: str,
) -> dict:
    """n, patients, positives and the AUC with its interval of one prediction
    file, clustered by patient where a patient has several images (as
    metrics.csv's image rows: `alnus.merit.row_auc` and `ci_method`)."""
    # imported here, not at the top: this module stays light (see its docstring), alnus.merit needs scipy
    from alnus.merit import ci_method, row_auc

    labels, scores = frame["label"].to_numpy(int), frame["probability"].to_numpy(float)
    (auc, low, high), clusters, repeated = row_auc(
        labels,
        scores,
        frame["patient"].to_numpy(),
        clustered=clustered,
        level=level,
        auc_ci=auc_ci,
        n_resamples=n_resamples,
        seed=seed,
        clustered_auc=clustered_auc,
        name=name,
    )
    method = ci_method(auc_ci=auc_ci, clustered_auc=clustered_auc, clustered=clusters is not None, repeated=repeated)
    return {
        "n": len(frame),
        "patients": int(frame["patient"].nunique()),
        "positives": int(labels.sum()),
        "auc": auc,
        "auc_low": low,
        "auc_high": high,
        "ci_method": method,
    }


def folds_table(
    fold_predictions: dict[str, dict[int, dict[str, pd.DataFrame]]],
    ensembles: dict[str, dict[str, pd.DataFrame]],
    **options,
) -> pd.DataFrame:
    """results/tables/folds.csv: each fold model's AUC on its held-out fold
    and on each test set, then the architecture's out-of-fold validation AUC
    (the development estimate) and its fold ensemble's test AUCs.

    Parameters
    ----------
    fold_predictions : architecture -> fold -> set name -> DataFrame(id,
        patient, label, probability), the set "validation" being the fold's
        held-out fold.
    ensembles : architecture -> set name -> DataFrame: the out-of-fold
        validation and the fold means (rule fold_ensemble).
    options : level, auc_ci, n_resamples, seed, clustered, clustered_auc, as `auc_row`.

    Returns
    -------
    DataFrame with FOLDS_COLUMNS; `fold` is the fold number, OUT_OF_FOLD
    (validation) or FOLD_MEAN (test sets).
    """
    rows = []
    for arch, folds in fold_predictions.items():
        for fold, sets in sorted(folds.items()):
            for set_name, frame in sets.items():
                rows.append(
                    {
                        "model": arch,
                        "fold": str(fold),
                        "set": set_name,
                        **auc_row(frame, name=f"{fold_model(arch, fold)} on {set_name}", **options),
                    }
                )
        for set_name, frame in ensembles[arch].items():
            rows.append(
                {
                    "model": arch,
                    "fold": OUT_OF_FOLD if set_name == "validation" else FOLD_MEAN,
                    "set": set_name,
                    **auc_row(frame, name=f"{arch} on {set_name}", **options),
                }
            )
    return pd.DataFrame(rows, columns=FOLDS_COLUMNS)


def folds_table_from_files(fold_prediction_csvs: list[str], ensemble_csvs: list[str], **options) -> pd.DataFrame:
    """folds_table over files named results/predictions/{arch}/fold-{k}/{set}.csv
    and results/predictions/{arch}/{set}.csv."""

    def read(path: Path) -> pd.DataFrame:
        return pd.read_csv(path, dtype={"id": str, "patient": str})

    folds: dict[str, dict[int, dict[str, pd.DataFrame]]] = {}
    for path in map(Path, fold_prediction_csvs):
        fold = fold_of(f"{path.parent.parent.name}/{path.parent.name}")
        folds.setdefault(path.parent.parent.name, {}).setdefault(fold, {})[path.stem] = read(path)
    ensembles: dict[str, dict[str, pd.DataFrame]] = {}
    for path in map(Path, ensemble_csvs):
        ensembles.setdefault(path.parent.name, {})[path.stem] = read(path)
    return folds_table(folds, ensembles, **options)
