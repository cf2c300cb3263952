"""Combined models: a network's logit with the clinical variables, and the clinical-only reference.

For each image model (each architecture and the ensemble) a logistic model
of its logit, log(p / (1 - p)), and the declared clinical variables
(alnus.clinical), and one logistic model of the clinical variables alone,
all fitted on the validation set, by Firth's penalised likelihood (the
default, `clinical: fit: firth`: finite and less biased with the few cases a
validation set holds, even where they separate the classes) or plain maximum
likelihood (`mle`, statsmodels Logit), with Wald intervals. Validation:
the networks never trained on it (it chose their best epoch, so their
validation logits are somewhat optimistic, which the test sets then show).
The test sets are scored with the frozen fit; the validation predictions are
the fit's own, on which the thresholds are frozen as the architectures' are.
Where a patient has several images in the validation set, the Wald
intervals use cluster-robust (sandwich) standard errors by patient.

Encoding, learned on the fitting set only: numeric and ordinal variables are
one linear term (ordinal: the level's rank 0, 1, 2 ...); a categorical one
an indicator per level against the first declared level present; with
`missing: impute` a missing value becomes the fitting set's median (numeric)
or most frequent level. A categorical level absent from the fitting set, or a
variable constant there, cannot be estimated and is an error that says so.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from alnus.clinical import ClinicalVariable, clinical_variables
from alnus.logistic import FIT_SET, INTERCEPT, LogisticFit, fit_logistic, is_flat
from alnus.predictions import PREDICTION_SETS, model_predictions, read_predictions
from alnus.vocabulary import CLINICAL_MODEL, combined_name, is_image_only

log = logging.getLogger(__name__)

LOGIT_TERM = "network_logit"
EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS] before the logit
COEFFICIENT_COLUMNS = [
    "model",
    "term",
    "variable",
    "label",
    "coefficient",
    "se",
    "odds_ratio",
    "or_low",
    "or_high",
    "p",
    "fitted_on",
    "n",
    "events",
    "patients",
    "method",
    "se_method",
    "imputed",
]


@dataclass
class Encoding:
    """How clinical values become terms, learned on the fitting set.

    fill : variable -> the value a missing one becomes (with `missing: impute`).
    levels : categorical variable -> the levels present in the fitting set
        (the first is the reference, the others get an indicator each).
    """

    variables: list[ClinicalVariable]
    fill: dict[str, object] = field(default_factory=dict)
    levels: dict[str, list[str]] = field(default_factory=dict)

    def terms(self) -> list[tuple[str, ClinicalVariable, str | None]]:
        """(term, variable, level) of every clinical term, level None for a linear term."""
        out = []
        for v in self.variables:
            if v.kind == "categorical":
                out += [(f"{v.name}[{level}]", v, level) for level in self.levels[v.name][1:]]
            else:
                out.append((v.name, v, None))
        return out


def _rank(values: pd.Series, variable: ClinicalVariable) -> pd.Series:
    return values.map({level: float(i) for i, level in enumerate(variable.levels)})


def learn_encoding(
    values: pd.DataFrame,
    variables: list[ClinicalVariable],
    *,
    missing: str = "refuse",
    where: str = "the validation set",
) -> Encoding:
    """The encoding of the clinical variables, from the fitting set only.

    Parameters
    ----------
    values : DataFrame with one column per variable (numbers; levels as
        text; missing as NaN), the fitting set's cases.
    variables : the declared variables.
    missing : "refuse" (a missing value is an error) or "impute".
    where : the fitting set, for messages.

    Raises
    ------
    ValueError
        For a missing value with `missing` refuse, or a variable that is
        constant in the fitting set (one level or one value present).
    """
    encoding = Encoding(variables)
    for v in variables:
        column = values[v.name]
        present = column.dropna()
        if column.isna().any():
            if missing != "impute":
                raise ValueError(
                    f"clinical variable `{v.name}` has {int(column.isna().sum())} missing value(s) in "
                    f"{where}; fill them in or set `clinical: missing: impute`"
                )
            if present.empty:
                raise ValueError(f"clinical variable `{v.name}` has no value at all in {where}, so none can be imputed")
            if v.kind == "numeric":
                encoding.fill[v.name] = float(present.median())
            else:
                counts = present.value_counts()
                encoding.fill[v.name] = next(lv for lv in v.levels if counts.get(lv, 0) == counts.max())
        if present.nunique() < 2:
            raise ValueError(
                f"clinical variable `{v.name}` ({v.display}) is constant in {where} (every case "
                f"{present.iloc[0] if len(present) else 'missing'!r}), so its effect cannot be estimated; "
                "remove it from `clinical: variables`, or enlarge the validation set "
                "(`split: validation_fraction`)"
            )
        if v.kind == "categorical":
            encoding.levels[v.name] = [lv for lv in v.levels if lv in set(present)]
    return encoding


def encode(values: pd.DataFrame, encoding: Encoding, *, set_name: str) -> pd.DataFrame:
    """The clinical terms of some cases: one column per term, in `Encoding.terms` order.

    Raises
    ------
    ValueError
        For a missing value without imputation, or a categorical level that
        the fitting set lacks (naming the level, the set and the fix).
    """
    columns = {}
    for v in encoding.variables:
        column = values[v.name]
        if v.name in encoding.fill:
            column = column.fillna(encoding.fill[v.name])
        if column.isna().any():
            raise ValueError(
                f"clinical variable `{v.name}` has {int(column.isna().sum())} missing value(s) in "
                f"{set_name}; fill them in or set `clinical: missing: impute`"
            )
        if v.kind == "numeric":
            columns[v.name] = column.astype(float)
        elif v.kind == "ordinal":
            columns[v.name] = _rank(column, v)
        else:
            unseen = sorted(set(column) - set(encoding.levels[v.name]))
            if unseen:
                raise ValueError(
                    f"clinical variable `{v.name}` has level(s) {', '.join(map(repr, unseen))} in "
                    f"{set_name} that the {FIT_SET} set, on which the models are fitted, lacks; merge "
                    "them with another level in the manifests, or declare the variable ordinal"
                )
            for level in encoding.levels[v.name][1:]:
                columns[f"{v.name}[{level}]"] = (column == level).astype(float)
    return pd.DataFrame(columns, index=values.index)


def network_logit(probabilities) -> np.ndarray:
    """log(p / (1 - p)) with p clipped to [EPS, 1 - EPS]."""
    p = np.clip(np.asarray(probabilities, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _with_clinical(frame: pd.DataFrame, clinical: pd.DataFrame, *, set_name: str) -> pd.DataFrame:
    merged = frame.merge(clinical, on="id", how="left", validate="one_to_one", indicator=True)
    lost = merged["_merge"] != "both"
    if lost.any():
        raise ValueError(
            f"{int(lost.sum())} case(s) of {set_name} (e.g. {merged['id'][lost].iloc[0]!r}) have no row "
            "in results/preprocessed/clinical.csv; rerun rule clinical_table"
        )
    return merged.drop(columns="_merge")


def _coefficient_rows(
    fit, model: str, encoding: Encoding, *, level: float, fitting: pd.DataFrame, imputed: int
) -> list[dict]:
    ci = fit.conf_int(level)
    labels = {LOGIT_TERM: (LOGIT_TERM, "Network logit, per unit"), INTERCEPT: ("", "Intercept")}
    for term, v, lv in encoding.terms():
        if v.kind == "categorical":
            per = f"{lv} vs {encoding.levels[v.name][0]}"
        else:
            per = "per category step" if v.kind == "ordinal" else "per unit"
        labels[term] = (v.name, f"{v.display}, {per}")
    rows = []
    for i, term in enumerate(fit.params.index):
        b = float(fit.params.iloc[i])
        rows.append(
            {
                "model": model,
                "term": term,
                "variable": labels[term][0],
                "label": labels[term][1],
                "coefficient": b,
                "se": float(fit.bse.iloc[i]),
                "odds_ratio": np.exp(b),
                "or_low": np.exp(ci[i, 0]),
                "or_high": np.exp(ci[i, 1]),
                "p": float(fit.pvalues.iloc[i]),
                "fitted_on": FIT_SET,
                "n": len(fitting),
                "events": int(fitting["label"].sum()),
                "patients": int(fitting["patient"].nunique()),
                "method": fit.method,
                "se_method": fit.se_method,
                "imputed": imputed,
            }
        )
    return rows


def _card(fit, model: str, image_model: str | None, encoding: Encoding, design: pd.DataFrame) -> dict:
    """What the nomogram and a reader of the model need: terms, coefficients, ranges, encoding."""
    terms = []
    if LOGIT_TERM in design:
        terms.append(
            {
                "term": LOGIT_TERM,
                "variable": LOGIT_TERM,
                "kind": "logit",
                "label": image_model,
                "coefficient": float(fit.params[LOGIT_TERM]),
                "range": [float(design[LOGIT_TERM].min()), float(design[LOGIT_TERM].max())],
            }
        )
    for v in encoding.variables:
        entry = {"variable": v.name, "kind": v.kind, "label": v.display}
        if v.kind == "categorical":
            levels = encoding.levels[v.name]
            entry["levels"] = levels
            entry["coefficients"] = [0.0] + [float(fit.params[f"{v.name}[{lv}]"]) for lv in levels[1:]]
        else:
            entry["term"], entry["coefficient"] = v.name, float(fit.params[v.name])
            entry["range"] = [float(design[v.name].min()), float(design[v.name].max())]
            if v.kind == "ordinal":
                entry["levels"] = list(v.levels)
        terms.append(entry)
    return {
        "model": model,
        "image_model": image_model,
        "fitted_on": FIT_SET,
        "method": fit.method,
        "intercept": float(fit.params[INTERCEPT]),
        "terms": terms,
        "imputed_with": {k: v for k, v in encoding.fill.items()},
    }


def fit_combined_models(
    models: dict[str, dict[str, pd.DataFrame]],
    clinical: pd.DataFrame,
    variables: list[ClinicalVariable],
    *,
    missing: str = "refuse",
    level: float = 0.95,
    method: str = "firth",
):
    """Fit every combined model and the clinical-only model on the validation set; score every set.

    Parameters
    ----------
    models : image model -> set -> checked DataFrame(id, patient, label,
        probability), as `alnus.metrics.model_predictions` returns it (the
        ensemble included); only image-only models are used.
    clinical : results/preprocessed/clinical.csv: id, cohort and one column per variable.
    variables : the declared variables.
    missing, level : the missing-value policy, and the level of the odds ratios' intervals.
    method : "firth" or "mle", see `fit_logistic`.

    Returns
    -------
    (predictions, coefficients, cards) : model -> set -> DataFrame(id,
        patient, label, probability) for "<model>+clinical" of each image
        model and for "clinical"; the coefficients table (COEFFICIENT_COLUMNS,
        odds ratios with Wald intervals); model -> its card (dict, for the
        nomogram).

    Raises
    ------
    ValueError
        For a case without clinical values, a missing value without
        imputation, a constant variable or unseen level in the fitting set,
        or a model that cannot be estimated (see `fit_logistic`).
    """
    image_models = {m: sets for m, sets in models.items() if is_image_only(m)}
    if not image_models:
        raise ValueError("no image model's predictions given; expected results/predictions/{arch}/{set}.csv")
    first, clinical = next(iter(image_models.values())), clinical.astype({"id": str})
    cases = {s: _with_clinical(first[s], clinical, set_name=s) for s in PREDICTION_SETS}
    fitting = cases[FIT_SET]
    encoding = learn_encoding(fitting, variables, missing=missing)
    imputed = int(fitting[[v.name for v in variables]].isna().sum().sum())
    clinical_terms = {s: encode(cases[s], encoding, set_name=s) for s in PREDICTION_SETS}
    predictions, rows, cards = {}, [], {}
    for image_model in [*image_models, None]:
        name = CLINICAL_MODEL if image_model is None else combined_name(image_model)
        designs = _designs(image_model, image_models, cases, clinical_terms, name=name)
        fit = fit_logistic(
            designs[FIT_SET], fitting["label"].to_numpy(), fitting["patient"].to_numpy(), name=name, method=method
        )
        predictions[name] = {s: _scored(fit, cases[s], designs[s]) for s in PREDICTION_SETS}
        rows += _coefficient_rows(fit, name, encoding, level=level, fitting=fitting, imputed=imputed)
        if image_model is not None and LOGIT_TERM not in designs[FIT_SET]:  # left out, see `_designs`
            rows.append(_left_out_row(rows[-1], image_model))
        cards[name] = _card(fit, name, image_model, encoding, designs[FIT_SET])
        terms = ", ".join(f"{t} {b:.3g}" for t, b in fit.params.items())
        log.info("%s fitted on %s (%d cases): %s", name, FIT_SET, len(fitting), terms)
    return predictions, pd.DataFrame(rows, columns=COEFFICIENT_COLUMNS), cards


def _designs(
    image_model: str | None,
    image_models: dict[str, dict[str, pd.DataFrame]],
    cases: dict[str, pd.DataFrame],
    clinical_terms: dict[str, pd.DataFrame],
    *,
    name: str,
) -> dict[str, pd.DataFrame]:
    """set -> the design of model `name` on that set's cases: the image
    model's logit (LOGIT_TERM) then the clinical terms; the clinical terms
    alone for the clinical-only model (`image_model` None) and, with a
    warning, where the image model gives every fitting case one probability
    (its logit would add nothing)."""
    if image_model is None:
        return dict(clinical_terms)
    designs = {}
    for s in PREDICTION_SETS:
        terms = clinical_terms[s]
        probability = image_models[image_model][s].set_index("id").loc[cases[s]["id"], "probability"]
        designs[s] = pd.concat(
            [pd.DataFrame({LOGIT_TERM: network_logit(probability)}, index=terms.index), terms], axis=1
        )
    if is_flat(designs[FIT_SET][LOGIT_TERM]):
        log.warning(
            "%s: %s gives every %s case the same probability, so its logit is left out and %s is "
            "the clinical-only model; check that network's training (results/models/%s/)",
            name,
            image_model,
            FIT_SET,
            name,
            image_model,
        )
        designs = {s: d.drop(columns=LOGIT_TERM) for s, d in designs.items()}
    return designs


def _scored(fit: LogisticFit, cases: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    """DataFrame(id, patient, label, probability): the fit's probabilities of one set's cases."""
    return pd.DataFrame(
        {
            "id": cases["id"],
            "patient": cases["patient"],
            "label": cases["label"],
            "probability": fit.predict(design),
        }
    )


def _left_out_row(row: dict, image_model: str) -> dict:
    """The coefficients table's row saying that `image_model`'s logit was
    left out of its combined model (`row`: another row of that model)."""
    return {
        **row,
        "term": LOGIT_TERM,
        "variable": LOGIT_TERM,
        "coefficient": np.nan,
        "se": np.nan,
        "odds_ratio": np.nan,
        "or_low": np.nan,
        "or_high": np.nan,
        "p": np.nan,
        "label": f"Network logit: left out ({image_model} gives every {FIT_SET} case the same probability)",
    }


def read_clinical(clinical_csv: str, variables: list[ClinicalVariable]) -> pd.DataFrame:
    """results/preprocessed/clinical.csv, levels as text and numbers as floats."""
    dtypes = {"id": str, **{v.name: (float if v.kind == "numeric" else str) for v in variables}}
    return pd.read_csv(clinical_csv, dtype=dtypes)


def combined_from_files(
    prediction_csvs: list[str],
    clinical_csv: str,
    *,
    declared: list[dict],
    missing: str,
    level: float,
    method: str,
    ensemble: bool,
    splits_csv: str,
    prediction_outputs: dict[str, dict[str, str]],
    coefficients_csv: str,
    card_outputs: dict[str, str],
) -> None:
    """Rule combined_models: fit on results/predictions/{arch}/validation.csv and the clinical table, write
    each model's predictions (prediction_outputs: model -> set -> path), the coefficients table and each
    model's card (card_outputs: model -> path of its JSON).

    Raises
    ------
    ValueError
        If the models fitted are not those of the outputs (a stale rule), or see `fit_combined_models`.
    """
    variables = clinical_variables(declared)
    models = model_predictions(read_predictions(prediction_csvs, splits_csv), ensemble=ensemble)
    predictions, coefficients, cards = fit_combined_models(
        models, read_clinical(clinical_csv, variables), variables, missing=missing, level=level, method=method
    )
    if set(predictions) != set(prediction_outputs):
        raise ValueError(
            f"fitted models {sorted(predictions)} differ from the outputs' {sorted(prediction_outputs)}; "
            "check `statistics: ensemble` and `architectures`"
        )
    for model, sets in predictions.items():
        for set_name, frame in sets.items():
            out = Path(prediction_outputs[model][set_name])
            out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(out, index=False, float_format="%.8f")
        card = Path(card_outputs[model])
        card.parent.mkdir(parents=True, exist_ok=True)
        card.write_text(json.dumps(cards[model], indent=2) + "\n")
    coefficients.to_csv(coefficients_csv, index=False, float_format="%.6g")
