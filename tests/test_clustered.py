"""Tests of alnus.clustered: intervals and tests with patients as clusters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

from alnus.clustered import clustered_mcnemar_test, clustered_proportion_ci
from alnus.stats import proportion_ci

Z95 = 1.959963984540054


def wilson(k, n, z=Z95):
    """Wilson score interval from its textbook formula (real-valued k, n)."""
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


# --------------------------------------------------------------------------
# clustered_proportion_ci
# --------------------------------------------------------------------------
@pytest.mark.parametrize("k, n", [(0, 1), (0, 12), (1, 2), (7, 13), (35, 41), (41, 41), (500, 1000)])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_one_case_per_patient_is_exactly_plain_wilson(k, n, level):
    successes = np.r_[np.ones(k, bool), np.zeros(n - k, bool)]
    clusters = [f"patient{i}" for i in range(n)]
    if n == 1:  # one patient: no clustered interval
        with pytest.raises(ValueError, match="at least 2 patients"):
            clustered_proportion_ci(successes, clusters, level)
        return
    estimate, low, high = clustered_proportion_ci(successes, clusters, level)
    assert estimate == k / n
    assert (low, high) == proportion_ci(k, n, level, "wilson")


def test_rao_scott_hand_computed():
    # Patients A: 1 1 1, B: 0 0, C: 1 0, D: 1 (shuffled); k = 5, n = 8, G = 4.
    successes = [1, 0, 1, 1, 0, 1, 0, 1]
    clusters = ["A", "B", "C", "A", "B", "D", "C", "A"]
    p = 5 / 8
    residuals = [3 - 3 * p, 0 - 2 * p, 1 - 2 * p, 1 - 1 * p]  # Y_i - p M_i
    var_cluster = 4 / 3 * sum(r**2 for r in residuals) / 8**2
    var_srs = 8 / 7 * (5 * (1 - p) ** 2 + 3 * p**2) / 8**2
    deff = var_cluster / var_srs
    assert deff == pytest.approx(1.886111, abs=1e-6)  # (4/3 * 3.03125) / (8/7 * 1.875)
    estimate, low, high = clustered_proportion_ci(successes, clusters)
    assert estimate == p
    # Student's t on G - 1 = 3 degrees of freedom in Wilson's formula (3.182446, R: qt(0.975, 3)).
    assert (low, high) == pytest.approx(wilson(5 / deff, 8 / deff, z=3.1824463052837078), abs=1e-12)
    # Wider than the plain Wilson interval on 8 independent images.
    plain = proportion_ci(5, 8, 0.95, "wilson")
    assert low < plain[0] and high > plain[1]


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_t_quantile_is_wilson_on_a_smaller_effective_n(level):
    # z^2 / n is all that Wilson's formula sees: the t quantile on G - 1 df
    # equals the normal one on n_eff (z / t)^2 cases (Korn & Graubard 1998).
    successes, clusters = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1], [1, 1, 2, 2, 3, 3, 4, 5, 6, 7]
    _, low, high = clustered_proportion_ci(successes, clusters, level)
    from scipy import stats

    z, t = stats.norm.ppf(0.5 + level / 2), stats.t.ppf(0.5 + level / 2, 6)
    expected = proportion_confint(8 * (z / t) ** 2, 10 * (z / t) ** 2, alpha=1 - level, method="wilson")
    assert (low, high) == pytest.approx(expected, abs=1e-12)  # deff here is below 1: floored


def test_deff_below_one_is_floored():
    # Each patient has one success and one failure: Y_i - p M_i = 0, deff = 0;
    # floored at 1, so the interval is Wilson's on the 12 images with t on 5 df.
    successes = [1, 0] * 6
    clusters = np.repeat(np.arange(6), 2)
    assert clustered_proportion_ci(successes, clusters)[1:] == pytest.approx(
        wilson(6, 12, z=2.570581835636314), abs=1e-12
    )


@pytest.mark.parametrize("k", [0, 9])
def test_all_or_no_successes_take_the_largest_design_effect(k):
    # No failure (or no success): the data say nothing of the design effect,
    # and the patients count as the cases: sum M_i^2 / n = (9 + 9 + 9) / 9 = 3,
    # n_eff = 3 = the number of patients; t on 2 df (closed form: (2p - 1) / sqrt(2p(1 - p))).
    successes, clusters = np.full(9, bool(k)), np.repeat([1, 2, 3], 3)
    estimate, low, high = clustered_proportion_ci(successes, clusters)
    assert estimate == k / 9
    assert (low, high) == pytest.approx(wilson(k / 3, 3, z=0.95 / math.sqrt(2 * 0.975 * 0.025)), abs=1e-12)
    assert clustered_proportion_ci(successes, clusters, method="robust_wald") == (k / 9, k / 9, k / 9)


def test_all_successes_with_unequal_patients():
    # Sizes 1, 1, 2, 4: sum M_i^2 / n = 22 / 8, n_eff = 8 / (22 / 8); t on 3 df.
    successes, clusters = np.ones(8, bool), [1, 2, 3, 3, 4, 4, 4, 4]
    n_eff = 8 / (22 / 8)
    assert clustered_proportion_ci(successes, clusters)[1:] == pytest.approx(
        wilson(n_eff, n_eff, z=3.1824463052837078), abs=1e-12
    )
    # Never narrower than the interval of the 4 patients as single cases would be with z.
    assert clustered_proportion_ci(successes, clusters)[1] < proportion_ci(4, 4, 0.95, "wilson")[0]


def _clustered_data(seed, n_patients=30):
    rng = np.random.default_rng(seed)
    clusters = np.repeat(np.arange(n_patients), rng.integers(1, 5, n_patients))
    chance = rng.beta(2, 1, n_patients)[clusters]
    return rng.random(len(clusters)) < chance, clusters


def test_cluster_variance_equals_statsmodels_ols_and_gee():
    import statsmodels.api as sm

    successes, clusters = _clustered_data(3)
    y, n, g = successes.astype(float), len(successes), len(np.unique(clusters))
    p, low, high = clustered_proportion_ci(successes, clusters, method="robust_wald")
    # OLS of y on a constant, cluster-robust covariance (G / (G - 1) factor).
    ols = sm.OLS(y, np.ones(n)).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    var = float(ols.cov_params()[0, 0])
    # Independence GEE, logit link: robust variance of the logit, no G / (G - 1).
    gee = sm.GEE(
        y, np.ones(n), groups=clusters, family=sm.families.Binomial(), cov_struct=sm.cov_struct.Independence()
    ).fit()
    var_logit = float(gee.cov_robust[0, 0]) * g / (g - 1)
    assert var_logit == pytest.approx(var / (p * (1 - p)) ** 2, rel=1e-8)
    logit, half = math.log(p / (1 - p)), Z95 * math.sqrt(var_logit)
    assert p == pytest.approx(1 / (1 + math.exp(-float(gee.params[0]))), rel=1e-10)
    assert (low, high) == pytest.approx((1 / (1 + math.exp(half - logit)), 1 / (1 + math.exp(-half - logit))), rel=1e-8)


def test_order_and_cluster_names_do_not_matter():
    successes, clusters = _clustered_data(4)
    order = np.random.default_rng(0).permutation(len(successes))
    names = np.array([f"pt-{c}" for c in clusters], dtype=object)
    expected = clustered_proportion_ci(successes, clusters)
    assert clustered_proportion_ci(successes[order], names[order]) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    "successes, clusters, kwargs, message",
    [
        ([], [], {}, "arrays are empty"),
        ([1, 0, 1], [1, 2], {}, "got 2 clusters for 3 cases"),
        ([1, 0, 1], [7, 7, 7], {}, "at least 2 patients"),
        ([1, 0, 1], [1, np.nan, 2], {}, r"missing value at index 1 \(1 missing\)"),
        ([1, 0, 1], ["a", None, "b"], {}, "missing value"),
        ([1, 2, 1], [1, 2, 3], {}, "`successes` must be boolean.*got 2 at index 1"),
        ([1.0, np.nan, 1.0], [1, 2, 3], {}, "`successes` must be boolean"),
        (
            [1, 0, 1],
            [1, 2, 3],
            {"method": "gee"},
            "`method` must be one of wilson_rao_scott, robust_wald, got 'gee'",
        ),
        ([1, 0, 1], [1, 2, 3], {"level": 95}, "`level` must lie strictly between 0 and 1"),
    ],
)
def test_proportion_errors(successes, clusters, kwargs, message):
    with pytest.raises(ValueError, match=message):
        clustered_proportion_ci(successes, clusters, **kwargs)


def _beta_binomial_studies(n_studies, n_patients, images, rho, p, seed):
    """successes (n_studies, n_patients * images), each patient's chance ~ Beta, ICC rho."""
    rng = np.random.default_rng(seed)
    a, b = p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho
    chance = np.repeat(rng.beta(a, b, (n_studies, n_patients)), images, axis=1)
    return rng.random(chance.shape) < chance


def test_coverage_with_correlated_images():
    """300 studies of 60 patients with 3 images each, ICC 0.8, p = 0.8."""
    studies = _beta_binomial_studies(300, 60, 3, 0.8, 0.8, seed=13)
    clusters = np.repeat(np.arange(60), 3)
    covered = {"wilson_rao_scott": 0, "robust_wald": 0, "plain wilson": 0}
    for successes in studies:
        for method in ("wilson_rao_scott", "robust_wald"):
            _, low, high = clustered_proportion_ci(successes, clusters, method=method)
            covered[method] += low <= 0.8 <= high
        low, high = proportion_ci(int(successes.sum()), len(successes), 0.95, "wilson")
        covered["plain wilson"] += low <= 0.8 <= high
    coverage = {name: count / len(studies) for name, count in covered.items()}
    message = f"coverage of 95% intervals: {coverage}"
    assert coverage["wilson_rao_scott"] >= 0.9, message
    assert coverage["robust_wald"] >= 0.88, message
    assert coverage["plain wilson"] <= coverage["wilson_rao_scott"] - 0.08, message


# --------------------------------------------------------------------------
# clustered_mcnemar_test
# --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_durkalski_with_one_pair_per_patient_is_uncorrected_mcnemar(seed):
    rng = np.random.default_rng(seed)
    n = 40 + 10 * seed
    a, b = rng.random(n) < 0.8, rng.random(n) < 0.65
    table = [[(a & b).sum(), (a & ~b).sum()], [(~a & b).sum(), (~a & ~b).sum()]]
    expected = mcnemar(table, exact=False, correction=False).pvalue
    assert clustered_mcnemar_test(a, b, np.arange(n)) == pytest.approx(expected, rel=1e-12)


def test_durkalski_hand_computed():
    # Per patient b_k - c_k: P1: 2 - 0 = 2, P2: 1 - 1 = 0, P3: 0 - 1 = -1, P4: 1 - 0 = 1.
    correct_a = [1, 1, 0, 1, 0, 0, 1, 1]
    correct_b = [0, 0, 0, 0, 1, 1, 1, 0]
    clusters = ["P1", "P1", "P1", "P2", "P2", "P3", "P4", "P4"]
    x2 = (2 + 0 - 1 + 1) ** 2 / (4 + 0 + 1 + 1)
    assert clustered_mcnemar_test(correct_a, correct_b, clusters) == pytest.approx(
        math.erfc(math.sqrt(x2 / 2)), rel=1e-12
    )


@pytest.mark.parametrize(
    "correct_a, correct_b",
    [
        ([1, 0, 1, 1], [1, 0, 1, 1]),  # no discordant case
        ([1, 0, 1, 0], [0, 1, 0, 1]),
    ],  # each patient's discordances cancel
)
def test_mcnemar_without_evidence_is_one(correct_a, correct_b):
    assert clustered_mcnemar_test(correct_a, correct_b, ["x", "x", "y", "y"]) == 1.0


@pytest.mark.parametrize(
    "correct_a, correct_b, clusters, message",
    [
        ([], [], [], "arrays are empty"),
        ([1, 0], [1, 0, 1], [1, 2], "same cases, got 2 and 3"),
        ([1, 0, 1], [1, 0, 1], [1, 2], "got 2 clusters for 3 cases"),
        ([1, 0], [1, 0], [3, 3], "at least 2 patients"),
        ([1, 0], [1, 3], [1, 2], "`correct_b` must be boolean"),
        ([1, 0], [1, 0], [1, None], "missing value"),
    ],
)
def test_mcnemar_errors(correct_a, correct_b, clusters, message):
    with pytest.raises(ValueError, match=message):
        clustered_mcnemar_test(correct_a, correct_b, clusters)
