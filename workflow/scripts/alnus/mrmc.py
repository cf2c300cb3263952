"""Multi-reader multi-case (MRMC) comparison of a model with the average reader.

The model is one standalone "reader" with no reader variability; the
radiologists are a random sample of readers, and the cases a random sample of
cases. The question is whether the model's figure of merit (AUC, sensitivity
or specificity) differs from that of the average reader of the population the
radiologists were drawn from. This is the "standalone CAD against
radiologists" setting, analysed as RJafroc's ``StSignificanceTestingCadVsRad``
(method "1T-RRRC") does: a one-treatment Obuchowski-Rockette analysis of the
per-reader differences psi_j = theta_model - theta_j, with Hillis' denominator
degrees of freedom.

Model (Obuchowski & Rockette 1995, Commun Stat Simul Comput 24:285; for one
treatment Hillis 2007, Stat Med 26:596-619, section 5.3)::

    psi_j = mu + R_j + e_j,   j = 1..J readers
    Var(e_j) = Var,  Cov(e_j, e_j') = Cov2  (j != j', the same cases)

R_j is the random reader effect (variance sigma2_R), e_j the error that comes
from the sample of cases. Var and Cov2 are estimated by the jackknife over
cases (or over patients, see ``clusters``), MS(R) is the sample variance of the
psi_j, and (Hillis 2007, p. 607; Chakraborty 2017, chapter "Standalone CAD vs.
radiologists")::

    MS_den = MS(R) + J * max(Cov2, 0)
    t      = mean(psi) / sqrt(MS_den / J)
    ddf    = MS_den**2 / (MS(R)**2 / (J - 1))
    CI     = mean(psi) +/- t_{ddf, 1 - alpha/2} * sqrt(MS_den / J)

The same t, ddf and P come out of the usual two-treatment
Obuchowski-Rockette-Hillis analysis (Hillis, Obuchowski, Schartz & Berbaum
2005, Stat Med 24:1579; Hillis 2007) when the model's readings are copied for
every reader to make a second "treatment" (RJafroc's "2T-RRRC";
tests/test_mrmc.py checks this).
When the cases add no covariance between readers (Cov2 <= 0) the test is the
one-sample t test of the psi_j with J - 1 degrees of freedom.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats as sps

from alnus.checks import check_choice
from alnus.stats.checks import cluster_codes

FIGURES = ("auc", "sensitivity", "specificity")


@dataclasses.dataclass(frozen=True)
class ModelVsReaders:
    """Result of :func:`model_vs_readers`; ``as_dict()`` gives a flat row.

    Attributes
    ----------
    figure : "auc", "sensitivity" or "specificity"
    model : the model's figure of merit
    readers : array of shape (n_readers,), each reader's figure of merit
    mean_reader : the readers' average
    difference : model - mean_reader (= mean of psi_j = model - reader j)
    low, high : two-sided CI of the difference at ``level``
    level : confidence level
    t : t statistic for H0 "model = average reader"
    ddf : Hillis' denominator degrees of freedom (inf when MS(R) = 0)
    p : two-sided P value
    se : standard error of the difference, sqrt(MS_den / J)
    ms_r : MS(R), the sample variance of the psi_j (equal to that of the
        readers' figures of merit, since the model's term is a constant)
    var_error : Var, the jackknife variance of one psi_j, averaged over readers
    cov2 : Cov2, the jackknife covariance of psi_j and psi_j', averaged over
        reader pairs
    var_reader : sigma2_R = MS(R) - Var + Cov2, the reader variance component
        (a moment estimate; it can come out negative)
    model_var, reader_var, model_reader_cov, reader_reader_cov : the same
        jackknife estimates for the figures of merit themselves: Var(theta_m),
        mean Var(theta_j), mean Cov(theta_m, theta_j), mean Cov(theta_j,
        theta_j'); var_error = model_var - 2 model_reader_cov + reader_var and
        cov2 = model_var - 2 model_reader_cov + reader_reader_cov
    n_readers, n_cases, n_positives, n_negatives : counts of the inputs
    n_units : number of jackknife units left out (cases or clusters; for
        sensitivity those holding a positive, for specificity a negative)
    resampling : "case jackknife" or "cluster jackknife"
    """

    figure: str
    model: float
    readers: np.ndarray
    mean_reader: float
    difference: float
    low: float
    high: float
    level: float
    t: float
    ddf: float
    p: float
    se: float
    ms_r: float
    var_error: float
    cov2: float
    var_reader: float
    model_var: float
    reader_var: float
    model_reader_cov: float
    reader_reader_cov: float
    n_readers: int
    n_cases: int
    n_positives: int
    n_negatives: int
    n_units: int
    resampling: str

    def as_dict(self) -> dict:
        """All fields but ``readers`` as a flat dict of plain Python scalars."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "readers"}


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
def _as_float(values, argument):
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{argument}` must be numeric, got values that are not numbers ({error})") from None
    if not np.isfinite(array).all():
        index = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"`{argument}` must be finite, got {array[tuple(index)]} at index {tuple(int(i) for i in index)}; "
            "drop or impute missing readings first"
        )
    return array


def _check_inputs(labels, model_scores, reader_scores, figure, threshold, level):
    check_choice(figure, FIGURES, "`figure`")
    if not 0 < level < 1:
        raise ValueError(f"`level` must lie strictly between 0 and 1, got {level!r}")
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"`labels` must be 1-D of shape (n_cases,), got shape {labels.shape}")
    bad = ~np.isin(labels, (0, 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"`labels` must be 0 or 1, got {labels[i]} at index {i}")
    positive = labels.astype(int) == 1
    n_cases = positive.size
    n_pos = int(positive.sum())
    if n_pos == 0 or n_pos == n_cases:
        raise ValueError(
            f"`labels` contain only one class ({n_pos} positives, {n_cases - n_pos} negatives); "
            "the comparison needs both"
        )
    model = _as_float(model_scores, "model_scores")
    if model.shape != (n_cases,):
        raise ValueError(f"`model_scores` must have shape ({n_cases},) like `labels`, got {model.shape}")
    readers = _as_float(reader_scores, "reader_scores")
    if readers.ndim != 2 or readers.shape[1] != n_cases:
        hint = "; pass the transpose" if readers.ndim == 2 and readers.shape[0] == n_cases else ""
        raise ValueError(
            f"`reader_scores` must have shape (n_readers, {n_cases}), one row per reader, got {readers.shape}{hint}"
        )
    if readers.shape[0] < 2:
        raise ValueError(
            f"`reader_scores` must hold at least 2 readers to estimate the reader variance, got {readers.shape[0]}"
        )
    if figure == "auc":
        if threshold is not None:
            raise ValueError("`threshold` applies to figure='sensitivity' or 'specificity' only; drop it for 'auc'")
        return positive, np.vstack([model, readers])
    if threshold is None:
        raise ValueError(
            f"figure={figure!r} needs `threshold`: the model's call is positive where its score >= threshold"
        )
    threshold = float(threshold)
    if not np.isin(readers, (0, 1)).all():
        index = np.argwhere(~np.isin(readers, (0, 1)))[0]
        raise ValueError(
            f"for figure={figure!r} `reader_scores` must be binary calls (0/1), got "
            f"{readers[tuple(index)]} at (reader, case) {tuple(int(i) for i in index)}"
        )
    calls = np.vstack([(model >= threshold).astype(float), readers])
    return positive, calls


def _jackknife_units(clusters, n_cases):
    """(unit code of each case, the resampling's name): cases, or patients where `clusters` are given."""
    if clusters is None:
        return np.arange(n_cases), "case jackknife"
    codes, _ = cluster_codes(clusters, n_cases)
    return codes, "cluster jackknife"


# --------------------------------------------------------------------------
# Jackknife figures of merit
# --------------------------------------------------------------------------
def _check_leave_out(counts, total, what):
    if (counts >= total).any():
        raise ValueError(
            f"the jackknife leaves out one unit at a time, so the {what} must come from at least 2 "
            f"cases or clusters; here one unit holds all {total}"
        )


def _jackknife_auc(positive, scores, codes, n_units):
    """AUCs (R,) and leave-one-unit-out AUCs (G, R) for R raters' scores (R, n).

    With S_i the Mann-Whitney kernel summed over the negatives for positive i,
    T_l the same over the positives for negative l (ties count 1/2) and W_g
    the kernel summed over the pairs inside unit g, leaving out unit g gives
    (sum S - S_g - T_g + W_g) / ((m - m_g)(n - n_g)).
    """
    pos, neg = scores[:, positive], scores[:, ~positive]
    m, n = pos.shape[1], neg.shape[1]
    both = np.concatenate([pos, neg], axis=1)
    ranks = sps.rankdata(both, axis=1)
    s_pos = ranks[:, :m] - sps.rankdata(pos, axis=1)  # negatives below each positive
    t_neg = m - (ranks[:, m:] - sps.rankdata(neg, axis=1))  # positives above each negative
    total = s_pos.sum(axis=1)
    g_pos, g_neg = codes[positive], codes[~positive]
    m_g = np.bincount(g_pos, minlength=n_units)
    n_g = np.bincount(g_neg, minlength=n_units)
    _check_leave_out(m_g, m, "positives")
    _check_leave_out(n_g, n, "negatives")
    s_g = np.stack([np.bincount(g_pos, weights=row, minlength=n_units) for row in s_pos], axis=1)
    t_g = np.stack([np.bincount(g_neg, weights=row, minlength=n_units) for row in t_neg], axis=1)
    within = _within_unit_pairs(pos, neg, g_pos, g_neg, n_g, n_units)
    jack = (total - s_g - t_g + within) / ((m - m_g) * (n - n_g))[:, None]
    return total / (m * n), jack


def _within_unit_pairs(pos, neg, g_pos, g_neg, n_g, n_units):
    """Kernel summed over the (positive, negative) pairs inside each unit, (G, R)."""
    repeats = n_g[g_pos]
    if not repeats.any():
        return np.zeros((n_units, pos.shape[0]))
    order = np.argsort(g_neg, kind="stable")
    start = np.concatenate([[0], np.cumsum(n_g)[:-1]])
    pair_pos = np.repeat(np.arange(g_pos.size), repeats)
    offset = np.arange(repeats.sum()) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    pair_neg = order[start[g_pos[pair_pos]] + offset]
    x, y = pos[:, pair_pos], neg[:, pair_neg]
    kernel = (x > y) + 0.5 * (x == y)
    unit = g_pos[pair_pos]
    return np.stack([np.bincount(unit, weights=row, minlength=n_units) for row in kernel], axis=1)


def _jackknife_proportion(calls, codes, n_units, what):
    """Proportions (R,) of calls equal to 1, and their values leaving out in
    turn each unit that holds any of these cases, (G', R)."""
    k = calls.shape[1]
    per_unit = np.stack([np.bincount(codes, weights=row, minlength=n_units) for row in calls], axis=1)
    count = np.bincount(codes, minlength=n_units)
    _check_leave_out(count, k, what)
    used = count > 0
    jack = (calls.sum(axis=1) - per_unit[used]) / (k - count[used])[:, None]
    return calls.mean(axis=1), jack


def _figures_and_jackknife(figure, positive, values, codes, n_units):
    """(theta, jack): each figure (the model's, then each reader's) and its jackknife values, one row per unit left out.

    Each case in turn is left out (``clusters=None``), or each patient's cases
    together (``clusters`` given: the cluster jackknife, so that the
    correlation between images of one patient is kept), and the covariances
    are (G - 1) / G times the sums of centred products over the G units
    (`_jackknife_cov`). For the AUC all units are left out; for sensitivity
    (specificity) only those that hold a positive (negative) case, the others
    leaving the figure unchanged. That is the jackknife of RJafroc for the AUC
    and reproduces MRMCaov's published jackknife covariances for binary
    sensitivity (Smith & Hillis, MRMCaov documentation, VanDyke example).
    """
    if figure == "auc":
        return _jackknife_auc(positive, values, codes, n_units)
    if figure == "sensitivity":
        return _jackknife_proportion(values[:, positive], codes[positive], n_units, "positives")
    return _jackknife_proportion(1 - values[:, ~positive], codes[~positive], n_units, "negatives")


def _jackknife_cov(jack):
    """(G - 1) / G * sum over units of the centred products, shape (R, R)."""
    n_units = jack.shape[0]
    centred = jack - jack.mean(axis=0)
    return (n_units - 1) / n_units * centred.T @ centred


def _mean_off_diagonal(matrix):
    size = matrix.shape[0]
    return float((matrix.sum() - np.trace(matrix)) / (size * (size - 1)))


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------
def model_vs_readers(
    labels, model_scores, reader_scores, *, figure="auc", threshold=None, clusters=None, level=0.95
) -> ModelVsReaders:
    """Compare a standalone model with the average of randomly sampled readers (long for its documentation).

    One-treatment Obuchowski-Rockette analysis of the per-reader differences
    model - reader with Hillis' denominator degrees of freedom (random readers,
    random cases; RJafroc's "1T-RRRC"); the formulas and their sources are in
    the module docstring. Var and Cov2 come from the jackknife over cases,
    or over patients with ``clusters`` (`_figures_and_jackknife`).

    Parameters
    ----------
    labels : array-like of {0, 1}, shape (n_cases,)
        1 = positive (metastasis).
    model_scores : array-like of float, shape (n_cases,)
        The model's scores, higher = more likely positive.
    reader_scores : array-like of float, shape (n_readers, n_cases)
        One row per reader, on the same cases. For ``figure="auc"`` each
        reader's confidence scores (ordinal, e.g. 1-5, or continuous); for
        "sensitivity" and "specificity" each reader's binary calls (0/1).
    figure : {"auc", "sensitivity", "specificity"}, default "auc"
        The empirical (Mann-Whitney, ties 1/2) AUC, the share of positives
        called positive, or the share of negatives called negative.
    threshold : float, optional
        Required for "sensitivity" and "specificity" (and refused for "auc"):
        the model calls a case positive where ``model_scores >= threshold``.
    clusters : array-like, shape (n_cases,), optional
        The patient of each case; the jackknife then leaves out a patient at
        a time. With every case its own cluster this equals ``None``.
    level : float, default 0.95
        Confidence level of the interval of the difference.

    Returns
    -------
    ModelVsReaders
        See its docstring for the fields (values, difference with CI, t, ddf,
        P, variance components and counts).

    Raises
    ------
    ValueError
        If fewer than 2 readers are given, ``reader_scores`` is not of shape
        (n_readers, n_cases), scores are not numeric or not finite, labels
        are not 0/1 or hold one class only, ``threshold`` is missing for a
        binary figure (or given for "auc"), reader calls are not 0/1, or one
        jackknife unit holds all positives or all negatives.
    """
    positive, values = _check_inputs(labels, model_scores, reader_scores, figure, threshold, level)
    codes, resampling = _jackknife_units(clusters, positive.size)
    n_units = int(codes.max()) + 1
    theta, jack = _figures_and_jackknife(figure, positive, values, codes, n_units)
    cov = _jackknife_cov(jack)
    n_readers = values.shape[0] - 1
    return ModelVsReaders(
        figure=figure,
        model=float(theta[0]),
        readers=theta[1:].copy(),
        mean_reader=float(theta[1:].mean()),
        **_difference_test(theta, cov, level),
        **_covariances(cov),
        n_readers=n_readers,
        n_cases=int(positive.size),
        n_positives=int(positive.sum()),
        n_negatives=int((~positive).sum()),
        n_units=jack.shape[0],
        resampling=resampling,
    )


def _difference_test(theta, cov, level) -> dict:
    """The one-treatment Obuchowski-Rockette test of the mean difference model - reader.

    theta : array of shape (1 + n_readers,), the model's figure then each
    reader's; cov : their jackknife covariance. Returns the fields of
    `ModelVsReaders` from difference to var_reader (formulas: the module
    docstring).
    """
    n_readers = len(theta) - 1
    psi = theta[0] - theta[1:]
    to_differences = np.hstack([np.ones((n_readers, 1)), -np.eye(n_readers)])
    cov_psi = to_differences @ cov @ to_differences.T
    var_error = float(np.trace(cov_psi) / n_readers)
    cov2 = _mean_off_diagonal(cov_psi)
    ms_r = float(np.var(psi, ddof=1))
    difference = float(psi.mean())
    ms_den = ms_r + n_readers * max(cov2, 0.0)
    se = math.sqrt(ms_den / n_readers)
    ddf = ms_den**2 / (ms_r**2 / (n_readers - 1)) if ms_r > 0 else math.inf
    t, p, half = _t_test(difference, se, ddf, level)
    return {
        "difference": difference,
        "low": difference - half,
        "high": difference + half,
        "level": level,
        "t": t,
        "ddf": float(ddf),
        "p": p,
        "se": se,
        "ms_r": ms_r,
        "var_error": var_error,
        "cov2": cov2,
        "var_reader": ms_r - var_error + cov2,
    }


def _covariances(cov) -> dict:
    """The model's variance, the readers' mean variance, and the mean model-reader
    and reader-reader covariances of the jackknife covariance `cov` (model first)."""
    reader_block = cov[1:, 1:]
    return {
        "model_var": float(cov[0, 0]),
        "reader_var": float(np.trace(reader_block) / (len(cov) - 1)),
        "model_reader_cov": float(cov[0, 1:].mean()),
        "reader_reader_cov": _mean_off_diagonal(reader_block),
    }


def _t_test(difference, se, ddf, level):
    """(t, two-sided p, CI half-width); a zero standard error gives t = 0 and
    p = 1 for a zero difference, t = +-inf and p = 0 otherwise."""
    if se == 0:
        if difference == 0:
            return 0.0, 1.0, 0.0
        return math.copysign(math.inf, difference), 0.0, 0.0
    t = difference / se
    p = float(2 * sps.t.sf(abs(t), ddf))
    half = float(sps.t.ppf(0.5 + level / 2, ddf)) * se
    return t, p, half
