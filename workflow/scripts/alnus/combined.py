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
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from alnus.clinical import ClinicalVariable, clinical_variables
from alnus.predictions import PREDICTION_SETS, model_predictions, read_predictions
from alnus.vocabulary import CLINICAL_MODEL, combined_name, is_image_only

log = logging.getLogger(__name__)

FIT_SET = "validation"
LOGIT_TERM = "network_logit"
INTERCEPT = "const"
EPS = 1e-6  # probabilities are clipped to [EPS, 1 - EPS] before the logit
# A term whose spread is below this share of its size takes one value: the mean
# of identical floats can differ from them in the last bit, so `sd > 0` is not enough.
FLAT_TOLERANCE = 1e-9
FIT_METHODS = ("firth", "mle")
MIN_EVENTS_PER_TERM = 10  # below this a warning is logged (Peduzzi et al. 1996)
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


def is_flat(values) -> bool:
    """Whether `values` (a term over the fitting cases) take one value, up to rounding (FLAT_TOLERANCE)."""
    values = np.asarray(values, dtype=float)
    return not np.std(values) > FLAT_TOLERANCE * max(1.0, float(np.max(np.abs(values))))


def network_logit(probabilities) -> np.ndarray:
    """log(p / (1 - p)) with p clipped to [EPS, 1 - EPS]."""
    p = np.clip(np.asarray(probabilities, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


@dataclass
class LogisticFit:
    """A fitted logistic model: coefficients (intercept "const" first), their
    standard errors and Wald P values, and how they were obtained.

    method : "firth" or "mle"; se_method : "cluster-robust by patient" or "model-based".
    """

    params: pd.Series
    bse: pd.Series
    method: str
    se_method: str

    @property
    def pvalues(self) -> pd.Series:
        from scipy.stats import norm

        return pd.Series(2 * norm.sf(np.abs(self.params / self.bse)), index=self.params.index)

    def conf_int(self, level: float = 0.95) -> np.ndarray:
        """Wald intervals, array of shape (n_terms, 2)."""
        from scipy.stats import norm

        z = norm.ppf(0.5 + level / 2)
        return np.c_[self.params - z * self.bse, self.params + z * self.bse]

    def predict(self, design: pd.DataFrame) -> np.ndarray:
        """Probabilities of the cases of `design` (the terms, without the intercept)."""
        X = sm.add_constant(design.astype(float), has_constant="add")[self.params.index]
        return 1 / (1 + np.exp(-(X.to_numpy() @ self.params.to_numpy())))


def _sandwich(bread: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cluster-robust covariance bread @ (sum over clusters of U_g U_g') @ bread,
    with the small-sample factor G / (G - 1) (statsmodels' default for Logit)."""
    clusters = pd.DataFrame(scores).groupby(groups).sum().to_numpy()
    g = len(clusters)
    return bread @ (clusters.T @ clusters) @ bread * (g / (g - 1))


def firth_logit(X: np.ndarray, y: np.ndarray, *, maxiter: int = 1000, tol: float = 1e-8):
    """Firth's penalised-likelihood logistic regression (Firth 1993; Heinze & Schemper 2002).

    Maximises log L(b) + 1/2 log det I(b) by Newton steps on the modified
    score U*(b) = X' (y - p + h (1/2 - p)), h the leverages, halving a step
    that lowers the penalised likelihood. Its estimates are finite even
    where the classes are separated, and less biased in small samples.
    Written out because statsmodels and scikit-learn offer no Firth penalty
    (the PyPI packages that do are small single-author projects); the tests
    check that it solves the modified score equations and nears statsmodels'
    maximum likelihood on a large sample.

    The step is scaled by the unpenalised information, not by the Hessian of
    the penalised likelihood, so near the optimum it converges linearly: on
    a 30-case validation set with three strong clinical terms it took 122
    steps to settle to `tol`. Hence `maxiter` of 1000 (each step costs
    microseconds); a fit that still has not settled is reported as such.

    Parameters
    ----------
    X : array of shape (n_cases, n_terms), the intercept included.
    y : array of shape (n_cases,), 0/1.

    Returns
    -------
    (beta, covariance, scores, converged) : coefficients (n_terms,), the
    inverse information at beta (n_terms, n_terms), each case's modified
    score contribution (n_cases, n_terms), and whether it converged.
    """

    def state(beta):
        p = np.clip(1 / (1 + np.exp(-(X @ beta))), 1e-12, 1 - 1e-12)
        w = p * (1 - p)
        information = X.T @ (w[:, None] * X)
        sign, logdet = np.linalg.slogdet(information)
        penalised = float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 * logdet)
        return p, w, information, penalised

    beta = np.zeros(X.shape[1])
    p, w, information, penalised = state(beta)
    converged = False
    for _ in range(maxiter):
        inverse = np.linalg.inv(information)
        h = w * np.einsum("ij,jk,ik->i", X, inverse, X)
        step = inverse @ (X.T @ (y - p + h * (0.5 - p)))
        for _halving in range(30):
            candidate = beta + step
            p_new, w_new, information_new, penalised_new = state(candidate)
            if penalised_new >= penalised - 1e-12:
                break
            step = step / 2
        beta, p, w, information, penalised = candidate, p_new, w_new, information_new, penalised_new
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    inverse = np.linalg.inv(information)
    h = w * np.einsum("ij,jk,ik->i", X, inverse, X)
    scores = X * (y - p + h * (0.5 - p))[:, None]
    return beta, inverse, scores, converged


def fit_logistic(design: pd.DataFrame, labels, patients, *, name: str, method: str = "firth") -> LogisticFit:
    """Logistic regression with an intercept, by Firth's penalised likelihood or plain maximum likelihood.

    Parameters
    ----------
    design : DataFrame of shape (n_cases, n_terms).
    labels : array of shape (n_cases,), 0/1.
    patients : array of shape (n_cases,); where one repeats, the standard
        errors are cluster-robust by patient.
    name : the model, for messages.
    method : "firth" (`firth_logit`; finite where the validation set's few
        cases separate the classes) or "mle" (statsmodels Logit).

    Returns
    -------
    LogisticFit.

    Raises
    ------
    ValueError
        For an unknown method, a fit that does not converge, or (mle) one
        that separates the classes perfectly, naming the fix.
    """
    if method not in FIT_METHODS:
        raise ValueError(f"`clinical: fit` must be one of {', '.join(FIT_METHODS)}, got {method!r}")
    y = np.asarray(labels, dtype=float)
    groups = pd.factorize(np.asarray(patients))[0]
    clustered = len(set(groups)) < len(groups)
    se_method = "cluster-robust by patient" if clustered else "model-based"
    events = int(np.sum(y))
    trouble = (
        f"{name}: the logistic model of {design.shape[1]} term(s) cannot be estimated on the {FIT_SET} set "
        f"({len(y)} cases, {events} positive)"
    )
    fix = (
        "; use fewer clinical variables (an ordinal coding needs one term where a categorical one needs one per "
        "level) or a larger validation set (`split: validation_fraction`)"
        + (", or `clinical: fit: firth`" if method == "mle" else "")
    )
    # Fit on centred and scaled terms, which keeps the information matrix well conditioned when a network's
    # probabilities hardly vary, then carry the estimates back to the terms' own units: beta = T gamma.
    centre, scale = design.mean().to_numpy(float), design.std(ddof=0).to_numpy(float)
    flat = [term for term in design.columns if is_flat(design[term])]
    if flat:
        raise ValueError(
            f"{trouble}: term(s) {', '.join(flat)} take one value in every case (a network whose "
            "probabilities do not vary, or a constant variable){fix}"
        )
    Z = sm.add_constant((design.astype(float) - centre) / scale, has_constant="add")
    T = np.eye(Z.shape[1])
    T[0, 1:], T[1:, 1:] = -centre / scale, np.diag(1 / scale)
    if method == "firth":
        try:
            gamma, covariance, scores, converged = firth_logit(Z.to_numpy(), y)
        except np.linalg.LinAlgError as error:
            raise ValueError(f"{trouble}: {error} (a term is a copy of others){fix}") from None
        if not converged:
            raise ValueError(f"{trouble}: the fit did not converge{fix}")
        if clustered:
            covariance = _sandwich(covariance, scores, groups)
    else:
        options = {"cov_type": "cluster", "cov_kwds": {"groups": groups}} if clustered else {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = sm.Logit(y, Z).fit(disp=0, maxiter=200, **options)
            except (np.linalg.LinAlgError, ValueError) as error:
                raise ValueError(f"{trouble}: {error}{fix}") from None
        if any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
            raise ValueError(f"{trouble}: its predictors separate the classes perfectly{fix}")
        if any(issubclass(w.category, ConvergenceWarning) for w in caught) or not result.mle_retvals["converged"]:
            raise ValueError(f"{trouble}: the fit did not converge{fix}")
        gamma, covariance = np.asarray(result.params), np.asarray(result.cov_params())
    covariance = T @ covariance @ T.T
    variance = np.diag(covariance)
    if not (np.isfinite(variance).all() and (variance > 0).all()):
        raise ValueError(f"{trouble}: its standard errors cannot be computed (the terms are nearly collinear){fix}")
    columns = ["const", *design.columns]
    fit = LogisticFit(
        pd.Series(T @ gamma, index=columns), pd.Series(np.sqrt(variance), index=columns), method, se_method
    )
    if min(events, len(y) - events) < MIN_EVENTS_PER_TERM * design.shape[1]:
        log.warning(
            "%s: %d positive and %d negative cases for %d terms (fewer than %d per term): the coefficients "
            "are imprecise, as their intervals show",
            name,
            events,
            len(y) - events,
            design.shape[1],
            MIN_EVENTS_PER_TERM,
        )
    return fit


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
    clinical = clinical.astype({"id": str})
    first = next(iter(image_models.values()))
    cases = {s: _with_clinical(first[s], clinical, set_name=s) for s in PREDICTION_SETS}
    fitting = cases[FIT_SET]
    encoding = learn_encoding(fitting, variables, missing=missing)
    imputed = int(fitting[[v.name for v in variables]].isna().sum().sum())
    clinical_terms = {s: encode(cases[s], encoding, set_name=s) for s in PREDICTION_SETS}
    predictions, rows, cards = {}, [], {}
    for image_model in [*image_models, None]:
        name = CLINICAL_MODEL if image_model is None else combined_name(image_model)
        designs = {}
        for s in PREDICTION_SETS:
            terms = clinical_terms[s]
            if image_model is not None:
                probability = image_models[image_model][s].set_index("id").loc[cases[s]["id"], "probability"]
                terms = pd.concat(
                    [pd.DataFrame({LOGIT_TERM: network_logit(probability)}, index=terms.index), terms], axis=1
                )
            designs[s] = terms
        left_out = image_model is not None and is_flat(designs[FIT_SET][LOGIT_TERM])
        if left_out:  # a network that gives every validation case one probability adds nothing to the model
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
        fit = fit_logistic(
            designs[FIT_SET], fitting["label"].to_numpy(), fitting["patient"].to_numpy(), name=name, method=method
        )
        predictions[name] = {
            s: pd.DataFrame(
                {
                    "id": cases[s]["id"],
                    "patient": cases[s]["patient"],
                    "label": cases[s]["label"],
                    "probability": fit.predict(designs[s]),
                }
            )
            for s in PREDICTION_SETS
        }
        rows += _coefficient_rows(fit, name, encoding, level=level, fitting=fitting, imputed=imputed)
        if left_out:
            rows.append(
                {
                    **rows[-1],
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
            )
        cards[name] = _card(fit, name, image_model, encoding, designs[FIT_SET])
        log.info(
            "%s fitted on %s (%d cases): %s",
            name,
            FIT_SET,
            len(fitting),
            ", ".join(f"{t} {b:.3g}" for t, b in fit.params.items()),
        )
    return predictions, pd.DataFrame(rows, columns=COEFFICIENT_COLUMNS), cards


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
    from pathlib import Path

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
