"""Tests for alnus.stats: the paper's numbers, independent references, R (pROC) values."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import roc_auc_score

from alnus.stats import (
    bootstrap_auc_ci,
    compare_proportions,
    delong_ci,
    delong_test,
    mcnemar_test,
    proportion_ci,
    youden_threshold,
)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "proc_reference.json").read_text())
AUC_SETS = FIXTURE["auc_datasets"]


def percent(x: float) -> int:
    """Round to a whole percent, halves up, as the paper does (72.5% -> 73%)."""
    return math.floor(100 * x + 0.5)


def random_scores(seed: int, m: int, n: int, decimals: int | None = 1):
    """Labels (m positives, n negatives, shuffled) and two correlated score vectors."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.r_[np.ones(m, int), np.zeros(n, int)])
    common = rng.normal(size=m + n)
    a = common + 1.0 * labels + 0.5 * rng.normal(size=m + n)
    b = common + 0.5 * labels + 0.8 * rng.normal(size=m + n)
    if decimals is not None:  # rounding makes ties, within and across classes
        a, b = np.round(a, decimals), np.round(b, decimals)
    return labels, a, b


# --------------------------------------------------------------------------
# Slow O(n^2) DeLong reference (DeLong et al. 1988, written out directly)
# --------------------------------------------------------------------------
def slow_delong(labels, *score_arrays):
    labels = np.asarray(labels)
    v10s, v01s = [], []
    for s in score_arrays:
        s = np.asarray(s, float)
        x, y = s[labels == 1], s[labels == 0]
        psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
        v10s.append(psi.mean(axis=1))  # one per positive
        v01s.append(psi.mean(axis=0))  # one per negative
    aucs = np.array([v.mean() for v in v10s])
    m, n = len(v10s[0]), len(v01s[0])
    s10 = np.array([[np.sum((a - a.mean()) * (b - b.mean())) / (m - 1) for b in v10s] for a in v10s])
    s01 = np.array([[np.sum((a - a.mean()) * (b - b.mean())) / (n - 1) for b in v01s] for a in v01s])
    return aucs, s10 / m + s01 / n


# --------------------------------------------------------------------------
# 1. The paper's numbers come out of the defaults
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("what", "k", "n", "expected"),
    [
        ("model sensitivity", 35, 41, (85, 70, 94)),
        ("model specificity", 29, 40, (73, 56, 85)),
        ("radiologist sensitivity", 30, 41, (73, 57, 85)),
        ("radiologist specificity", 25, 40, (63, 46, 77)),
    ],
)
def test_paper_proportions_and_intervals(what, k, n, expected):
    low, high = proportion_ci(k, n)
    assert (percent(k / n), percent(low), percent(high)) == expected


@pytest.mark.parametrize(
    ("counts", "expected"),
    [((35, 41, 30, 41), 0.17), ((29, 40, 25, 40), 0.34)],
)
def test_paper_p_values(counts, expected):
    assert round(compare_proportions(*counts), 2) == expected


# --------------------------------------------------------------------------
# 2. Proportions against independent references
# --------------------------------------------------------------------------
def wilson_cc_by_hand(k, n, level):
    """Wilson CC in the form R's prop.test computes it (p shifted by 0.5/n)."""
    z = sps.norm.ppf(0.5 + level / 2)
    z22n = z**2 / (2 * n)

    def bound(pc, sign):
        return (pc + z22n + sign * z * math.sqrt(pc * (1 - pc) / n + z22n / (2 * n))) / (1 + 2 * z22n)

    low = 0.0 if k == 0 else bound(k / n - 0.5 / n, -1)
    high = 1.0 if k == n else bound(k / n + 0.5 / n, +1)
    return low, high


@pytest.mark.parametrize(
    ("k", "n", "level"),
    [
        (35, 41, 0.95),
        (0, 10, 0.95),
        (10, 10, 0.95),
        (1, 7, 0.9),
        (6, 7, 0.99),
        (5, 10, 0.95),
        (1, 1, 0.95),
        (3, 500, 0.8),
    ],
)
def test_wilson_cc_matches_hand_formula(k, n, level):
    assert proportion_ci(k, n, level) == pytest.approx(wilson_cc_by_hand(k, n, level), abs=1e-12)


@pytest.mark.parametrize("method", ["wilson_cc", "wilson", "exact"])
@pytest.mark.parametrize("n", [1, 7, 40])
def test_boundaries_are_exact(method, n):
    assert proportion_ci(0, n, method=method)[0] == 0.0
    assert proportion_ci(n, n, method=method)[1] == 1.0


@pytest.mark.parametrize(("k", "n", "level"), [(35, 41, 0.95), (0, 10, 0.95), (10, 10, 0.9), (2, 3, 0.99)])
def test_exact_matches_binomtest_and_beta_quantiles(k, n, level):
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    alpha = 1 - level
    by_beta = (
        0.0 if k == 0 else sps.beta.ppf(alpha / 2, k, n - k + 1),
        1.0 if k == n else sps.beta.ppf(1 - alpha / 2, k + 1, n - k),
    )
    got = proportion_ci(k, n, level, method="exact")
    assert got == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert got == pytest.approx(by_beta, abs=1e-10)


def test_wilson_without_correction_is_narrower():
    cc, plain = proportion_ci(35, 41), proportion_ci(35, 41, method="wilson")
    assert cc[0] < plain[0] and plain[1] < cc[1]


@pytest.mark.parametrize("case", FIXTURE["prop_test_ci"]["cases"], ids=lambda c: f"{c['k']}/{c['n']}")
def test_wilson_cc_matches_r_prop_test(case):
    k, n, expected = case["k"], case["n"], (case["low"], case["high"])
    if 2 * k == n:  # documented: prop.test drops its correction at k == n/2
        assert proportion_ci(k, n, method="wilson") == pytest.approx(expected, abs=1e-9)
        assert proportion_ci(k, n)[0] < expected[0]
    else:
        assert proportion_ci(k, n) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("test", ["chi2", "chi2_yates", "fisher"])
@pytest.mark.parametrize(
    "case", FIXTURE["compare_proportions"]["cases"], ids=lambda c: "{k1}of{n1}-{k2}of{n2}".format(**c)
)
def test_compare_proportions_matches_r(case, test):
    got = compare_proportions(case["k1"], case["n1"], case["k2"], case["n2"], test=test)
    assert got == pytest.approx(case[test], rel=1e-9)


@pytest.mark.parametrize("test", ["chi2", "chi2_yates", "fisher"])
@pytest.mark.parametrize("counts", [(0, 5, 0, 7), (5, 5, 7, 7)])
def test_compare_proportions_degenerate_table_gives_one(counts, test):
    assert compare_proportions(*counts, test=test) == 1.0


@pytest.mark.parametrize("case", FIXTURE["mcnemar_exact"]["cases"], ids=lambda c: f"{c['only_a']}-{c['only_b']}")
def test_mcnemar_matches_r_binom_test(case):
    b, c = case["only_a"], case["only_b"]
    # plus concordant cases (both right, both wrong), which must not matter
    correct_a = np.r_[np.ones(b, bool), np.zeros(c, bool), np.ones(10, bool), np.zeros(4, bool)]
    correct_b = np.r_[np.zeros(b, bool), np.ones(c, bool), np.ones(10, bool), np.zeros(4, bool)]
    assert mcnemar_test(correct_a, correct_b) == pytest.approx(case["p"], rel=1e-9)
    assert mcnemar_test(correct_b.astype(int), correct_a.astype(int)) == pytest.approx(case["p"], rel=1e-9)


def test_mcnemar_without_discordant_pairs_is_one():
    same = np.array([True, False, True])
    assert mcnemar_test(same, same) == 1.0


# --------------------------------------------------------------------------
# 3. DeLong against the slow reference, sklearn and pROC
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seed", "m", "n", "decimals"),
    [
        (27, 3, 2, 1),  # small, with ties
        (0, 3, 2, 1),  # small and both models perfect: zero variance
        (36, 3, 2, 1),  # equal AUCs, zero variance of the difference
        (1, 2, 2, 0),  # AUCs differ but the difference has zero variance
        (2, 15, 25, 1),
        (3, 40, 41, None),
        (4, 200, 150, 1),
        (5, 60, 9, 0),
    ],
)
def test_delong_matches_slow_reference(seed, m, n, decimals):
    labels, a, b = random_scores(seed, m, n, decimals)
    aucs, cov = slow_delong(labels, a, b)
    z = sps.norm.ppf(0.975)

    auc, low, high = delong_ci(labels, a)
    assert auc == pytest.approx(roc_auc_score(labels, a), abs=1e-12)
    assert auc == pytest.approx(aucs[0], abs=1e-12)
    half = z * math.sqrt(cov[0, 0])
    assert (low, high) == pytest.approx((max(0, aucs[0] - half), min(1, aucs[0] + half)), abs=1e-12)

    diff, var = aucs[0] - aucs[1], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    if var == 0 and diff != 0:  # no test possible: nan, with a warning
        with pytest.warns(RuntimeWarning, match="variance of their difference is 0"):
            zstat, p = delong_test(labels, a, b)
        assert math.isnan(zstat) and math.isnan(p)
        return
    zstat, p = delong_test(labels, a, b)
    if var == 0:  # equal AUCs, zero variance: no evidence of a difference
        assert (zstat, p) == (0.0, 1.0)
    else:
        assert zstat == pytest.approx(diff / math.sqrt(var), rel=1e-9)
        assert p == pytest.approx(2 * sps.norm.sf(abs(diff / math.sqrt(var))), rel=1e-9)


def test_delong_perfect_separation_has_zero_width():
    labels = [0, 0, 0, 1, 1, 1]
    assert delong_ci(labels, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]) == (1.0, 1.0, 1.0)


def test_delong_does_not_flip_direction():
    labels, a, _ = random_scores(7, 30, 30, None)
    auc, low, high = delong_ci(labels, -a)
    assert auc == pytest.approx(1 - delong_ci(labels, a)[0]) and auc < 0.5 and high < 0.5


def test_delong_test_identical_scores():
    labels, a, _ = random_scores(8, 10, 12)
    assert delong_test(labels, a, a) == (0.0, 1.0)


def test_delong_test_zero_variance_but_different_aucs():
    # Old code: (inf, 0.0), a "certain" difference from four cases. Now no test.
    labels = [0, 0, 1, 1]
    all_tied, perfect = [0.5, 0.5, 0.5, 0.5], [0.1, 0.2, 0.8, 0.9]
    for a, b in ((perfect, all_tied), (all_tied, perfect)):
        with pytest.warns(RuntimeWarning, match=r"AUCs differ \((1|0.5) vs (0.5|1)\) but the estimated variance"):
            z, p = delong_test(labels, a, b, name="m")
        assert math.isnan(z) and math.isnan(p)


def test_delong_test_zero_variance_equal_aucs_warns_nothing():
    labels, perfect = [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert delong_test(labels, perfect, [0.0, 0.1, 0.5, 0.6]) == (0.0, 1.0)


@pytest.mark.parametrize("key", sorted(AUC_SETS))
def test_delong_matches_proc_fixture(key):
    d = AUC_SETS[key]
    assert_matches_proc(d["labels"], d["scores_a"], d["scores_b"], d["expected"])


def assert_matches_proc(labels, a, b, e):
    assert delong_ci(labels, a) == pytest.approx((e["auc_a"], e["low_a"], e["high_a"]), abs=1e-6)
    assert delong_ci(labels, b) == pytest.approx((e["auc_b"], e["low_b"], e["high_b"]), abs=1e-6)
    assert delong_test(labels, a, b) == pytest.approx((e["z"], e["p"]), abs=1e-6)


def _proc_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(pROC)"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _proc_available(), reason="Rscript with library(pROC) not available")
@pytest.mark.parametrize(("seed", "m", "n"), [(11, 23, 31), (12, 4, 3)])
def test_delong_matches_live_proc(seed, m, n):
    labels, a, b = random_scores(seed, m, n, decimals=1)

    def rvec(x):
        return "c(" + ", ".join(repr(float(v)) for v in x) + ")"

    data = [f"labels <- {rvec(labels)}", f"scores_a <- {rvec(a)}", f"scores_b <- {rvec(b)}"]
    script = "\n".join(data + FIXTURE["r_commands_auc"])
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True, timeout=120)
    expected = {k: float(v) for k, v in (line.split("=") for line in out.stdout.split())}
    assert_matches_proc(labels, a, b, expected)


# --------------------------------------------------------------------------
# Bootstrap and Youden threshold
# --------------------------------------------------------------------------
def test_bootstrap_is_reproducible_and_close_to_delong():
    labels, a, _ = random_scores(21, 150, 150, None)
    first = bootstrap_auc_ci(labels, a, seed=1)
    assert first == bootstrap_auc_ci(labels, a, seed=1)
    assert first != bootstrap_auc_ci(labels, a, seed=2)
    auc, low, high = delong_ci(labels, a)
    assert first[0] == auc
    assert first[1:] == pytest.approx((low, high), abs=0.02)


def test_bootstrap_is_stratified():
    # Unstratified resamples of 2 positives would sometimes hold no positive at all.
    labels = [0, 0, 0, 0, 0, 0, 1, 1]
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert bootstrap_auc_ci(labels, scores, n_resamples=500, seed=0) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("labels", "scores", "expected"),
    [
        ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.8),  # J = 0.5 at 0.8 and at 0.35: the higher wins
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.8),  # perfect: the highest threshold with J = 1
        ([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3], 0.3),  # all tied: never inf
        ([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], 0.1),  # reversed: best J = 0 (all positive), not inf
    ],
)
def test_youden_threshold_cases(labels, scores, expected):
    assert youden_threshold(labels, scores) == expected


def youden_by_brute_force(labels, scores):
    """Highest threshold with the largest J, J compared exactly as integer counts."""
    labels, scores = np.asarray(labels), np.asarray(scores, float)
    n_pos, n_neg = int((labels == 1).sum()), int((labels == 0).sum())
    best, best_j = None, None
    for t in sorted(set(scores.tolist()), reverse=True):  # highest first: ties keep it
        tp, fp = int(np.sum((scores >= t) & (labels == 1))), int(np.sum((scores >= t) & (labels == 0)))
        j = tp * n_neg - fp * n_pos  # = J * n_pos * n_neg
        if best_j is None or j > best_j:
            best, best_j = t, j
    return best


def test_youden_threshold_matches_integer_brute_force_on_ties():
    # The old code compared tpr - fpr in floats, where 5/10 - 3/10 > 3/10 - 1/10, and
    # so took a lower threshold than the highest exact tie in many of these sets.
    rng = np.random.default_rng(13)
    for _ in range(300):
        n = int(rng.integers(4, 25))
        labels = rng.permutation(np.r_[[0, 1], rng.integers(0, 2, n - 2)])
        scores = np.round(rng.normal(size=n) + 0.8 * labels, 1) / 10  # ties, and tenths
        assert youden_threshold(labels, scores) == youden_by_brute_force(labels, scores)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_youden_threshold_matches_brute_force(seed):
    labels, a, _ = random_scores(seed, 30, 40, decimals=1)
    probs = 1 / (1 + np.exp(-a))
    got = youden_threshold(labels, probs)
    assert got == youden_by_brute_force(labels, probs) and 0 <= got <= 1


# --------------------------------------------------------------------------
# 4. Errors
# --------------------------------------------------------------------------
AUC_FUNCTIONS = {
    "delong_ci": lambda y, s, **kw: delong_ci(y, s, **kw),
    "delong_test": lambda y, s, **kw: delong_test(y, s, s, **kw),
    "bootstrap_auc_ci": lambda y, s, **kw: bootstrap_auc_ci(y, s, seed=0, **kw),
    "youden_threshold": lambda y, s, **kw: youden_threshold(y, s, **kw),
}


@pytest.mark.parametrize("function", sorted(AUC_FUNCTIONS))
@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.4], r"scores must be finite, got nan at index 1"),
        ([0, 1, 0, 1], [0.1, 0.2, np.inf, 0.4], r"scores must be finite, got inf at index 2"),
        (
            [1] * 12,
            np.linspace(0, 1, 12),
            r"only one class \(n=12 positives, 0 negatives\); an AUC needs both",
        ),
        ([0, 0, 0], [0.1, 0.2, 0.3], r"only one class \(n=0 positives, 3 negatives\)"),
        (
            [0, 1, 2, 1],
            [0.1, 0.2, 0.3, 0.4],
            r"labels must be the numbers 0 or 1, got 2 \(dtype int64\) at index 2 \(1 invalid value\(s\)\)$",
        ),
        ([0, 1, 0, 1], [0.1, 0.2, 0.3], r"same length, got 3 scores for 4 labels"),
        # Old: "only one class (n=0 positives, 0 negatives)".
        ([], [], r"no cases: labels and scores are empty$"),
        # Old: "same length, got 6 scores for 6 labels".
        (
            [0, 1, 0, 1, 0, 1],
            np.zeros((6, 2)),
            r"scores must be 1-D with one score per label, got shape \(6, 2\) for 6 labels",
        ),
        ([0, 1, 0, 1], 0.5, r"scores must be 1-D with one score per label, got shape \(\) for 4 labels"),
        # Old: "labels must be 0 or 1, got 1 at index 0".
        (
            np.array(["1", "0", "1", "0"]),
            [0.1, 0.2, 0.3, 0.4],
            r"labels must be the numbers 0 or 1, got '1' \(dtype <U1\) at index 0 \(4 invalid value\(s\)\); "
            r"convert with astype\(int\)",
        ),
        (
            np.array([1, "0"], dtype=object),
            [0.1, 0.2],
            r"got '0' \(dtype object\) at index 1 \(1 invalid value\(s\)\); convert with astype\(int\)",
        ),
    ],
    ids=[
        "nan",
        "inf",
        "only-positives",
        "only-negatives",
        "label-2",
        "length",
        "empty",
        "2-d-scores",
        "scalar-scores",
        "string-labels",
        "object-string-label",
    ],
)
def test_auc_input_errors(function, labels, scores, message):
    with pytest.raises(ValueError, match=message):
        AUC_FUNCTIONS[function](labels, scores)
    with pytest.raises(ValueError, match=r"^inception_v3 on external_test: .*" + message):
        AUC_FUNCTIONS[function](labels, scores, name="inception_v3 on external_test")


def test_delong_test_checks_second_scores():
    with pytest.raises(ValueError, match="same length, got 2 scores for 4 labels"):
        delong_test([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2])


@pytest.mark.parametrize("function", ["delong_ci", "bootstrap_auc_ci"])
def test_too_few_cases_per_class(function):
    with pytest.raises(ValueError, match="at least 2 positives and 2 negatives, got 1 and 3"):
        AUC_FUNCTIONS[function]([0, 0, 1, 0], [0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: proportion_ci(3, 10, method="agresti"),
            r"`method` must be one of wilson_cc, wilson, exact, got 'agresti'",
        ),
        (
            lambda: compare_proportions(1, 5, 2, 5, test="z"),
            r"`test` must be one of chi2, chi2_yates, fisher, got 'z'",
        ),
        (lambda: proportion_ci(0, 0), r"`n` must be at least 1, got n=0"),
        (lambda: proportion_ci(11, 10), r"`k` must lie in \[0, n\], got k=11, n=10"),
        (lambda: proportion_ci(-1, 10), r"`k` must lie in \[0, n\], got k=-1, n=10"),
        (lambda: proportion_ci(2.5, 10), r"`k` must be a whole number, got 2.5"),
        (lambda: proportion_ci(3, 10, level=95), r"`level` must lie strictly between 0 and 1, got 95"),
        (lambda: compare_proportions(1, 5, 7, 6), r"`k2` must lie in \[0, n2\], got k2=7, n2=6"),
        (
            lambda: delong_ci([0, 1, 0, 1], [1, 2, 3, 4], level=1.0),
            r"`level` must lie strictly between 0 and 1",
        ),
        (lambda: mcnemar_test([True, False], [True]), r"same cases, got shapes \(2,\) and \(1,\)"),
        (lambda: mcnemar_test([1, 2], [1, 0]), r"`correct_a` must be boolean \(or 0/1\)"),
        # Old: returned 1.0 silently.
        (lambda: mcnemar_test([], []), r"^no cases: correct_a and correct_b are empty"),
    ],
    ids=[
        "ci-method",
        "test-name",
        "n-zero",
        "k-above-n",
        "k-negative",
        "k-fraction",
        "level-percent",
        "k2-above-n2",
        "delong-level",
        "mcnemar-length",
        "mcnemar-values",
        "mcnemar-empty",
    ],
)
def test_argument_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
