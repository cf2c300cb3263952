"""Tests for alnus.stats' clustered AUC interval and test (Obuchowski 1997)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps
from test_stats import random_scores

from alnus.stats import clustered_auc_ci, clustered_auc_test, delong_ci, delong_test


def clustered_data(seed: int, n_patients: int, rho: float, *, mixed: bool = False, decimals: int | None = 1):
    """1-4 images per patient, patient-level labels (or per image if mixed), two models."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, n_patients)
    clusters = np.repeat(np.arange(n_patients), sizes)
    patient_label = rng.permutation(np.arange(n_patients) % 2)
    labels = rng.integers(0, 2, clusters.size) if mixed else patient_label[clusters]
    u = rng.normal(size=(2, n_patients))[:, clusters]
    e = rng.normal(size=(2, clusters.size))
    a = labels + math.sqrt(rho) * u[0] + math.sqrt(1 - rho) * e[0]
    b = 0.7 * labels + math.sqrt(rho) * (0.6 * u[0] + 0.8 * u[1]) + math.sqrt(1 - rho) * e[1]
    if decimals is not None:
        a, b = np.round(a, decimals), np.round(b, decimals)
    return labels, a, b, clusters


# --------------------------------------------------------------------------
# Independent O(n^2) reference: Obuchowski (1997) written out directly
# --------------------------------------------------------------------------
def slow_obuchowski(labels, clusters, *score_arrays):
    """AUCs and their covariance by the paper's formulas, with psi over all pairs."""
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    ids = list(dict.fromkeys(clusters.tolist()))
    x_cluster, y_cluster = clusters[labels == 1], clusters[labels == 0]
    big_m, big_n = len(x_cluster), len(y_cluster)
    i10 = len(set(x_cluster.tolist()))
    i01 = len(set(y_cluster.tolist()))
    i_all = len(ids)
    aucs, v10s, v01s = [], [], []
    for s in score_arrays:
        s = np.asarray(s, float)
        x, y = s[labels == 1], s[labels == 0]
        psi = np.array([[1.0 if xi > yj else 0.5 if xi == yj else 0.0 for yj in y] for xi in x])
        auc = psi.sum() / (big_m * big_n)
        # Cluster sums V10(X_i.) = sum_j V10(X_ij), V10(X_ij) = (1/N) sum over all negatives.
        v10 = np.array([psi[x_cluster == c].sum() / big_n for c in ids])
        v01 = np.array([psi[:, y_cluster == c].sum() / big_m for c in ids])
        aucs.append(auc)
        v10s.append(v10)
        v01s.append(v01)
    m_i = np.array([np.sum(x_cluster == c) for c in ids])
    n_i = np.array([np.sum(y_cluster == c) for c in ids])
    k = len(score_arrays)
    cov = np.zeros((k, k))
    for r in range(k):
        for t in range(k):
            dr10, dt10 = v10s[r] - m_i * aucs[r], v10s[t] - m_i * aucs[t]
            dr01, dt01 = v01s[r] - n_i * aucs[r], v01s[t] - n_i * aucs[t]
            s10 = i10 / ((i10 - 1) * big_m) * np.sum(dr10 * dt10)
            s01 = i01 / ((i01 - 1) * big_n) * np.sum(dr01 * dt01)
            s11_rt = i_all / (i_all - 1) * np.sum(dr10 * dt01)
            s11_tr = i_all / (i_all - 1) * np.sum(dt10 * dr01)
            cov[r, t] = s10 / big_m + s01 / big_n + (s11_rt + s11_tr) / (big_m * big_n)
    return np.array(aucs), cov


def test_hand_computed_example():
    # Three patients with a positive, three with a negative, one with both; a tie.
    labels = [1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    scores = [0.9, 0.6, 0.4, 0.7, 0.3, 0.6, 0.5, 0.2, 0.8, 0.65, 0.1]
    clusters = ["p1", "p1", "p2", "p3", "p3", "p4", "p5", "p6", "p7", "p7", "p8"]
    # By hand: 5 positives x 6 negatives = 30 pairs; 0.9, 0.7, 0.8 win all 6, 0.5 wins 4,
    # 0.6 wins 4 and ties one (0.6 vs 0.6): 26.5 / 30.
    psi = sum(
        1.0 if x > y else 0.5 if x == y else 0.0
        for x, lx in zip(scores, labels)
        if lx == 1
        for y, ly in zip(scores, labels)
        if ly == 0
    )
    assert psi == 26.5
    aucs, cov = slow_obuchowski(labels, clusters, scores)
    auc, low, high = clustered_auc_ci(labels, scores, clusters)
    assert auc == pytest.approx(26.5 / 30, abs=1e-15) == pytest.approx(aucs[0], abs=1e-15)
    half = sps.norm.ppf(0.975) * math.sqrt(cov[0, 0])
    assert (low, high) == pytest.approx((auc - half, min(1.0, auc + half)), abs=1e-12)


@pytest.mark.parametrize(
    ("seed", "n_patients", "rho", "mixed"),
    [(0, 12, 0.5, False), (1, 30, 0.8, False), (2, 25, 0.3, True), (3, 8, 0.0, True)],
)
def test_matches_slow_reference(seed, n_patients, rho, mixed):
    labels, a, b, clusters = clustered_data(seed, n_patients, rho, mixed=mixed)
    aucs, cov = slow_obuchowski(labels, clusters, a, b)
    auc, low, high = clustered_auc_ci(labels, a, clusters, level=0.9)
    half = sps.norm.ppf(0.95) * math.sqrt(cov[0, 0])
    assert (auc, low, high) == pytest.approx((aucs[0], max(0, aucs[0] - half), min(1, aucs[0] + half)), abs=1e-12)
    z, p = clustered_auc_test(labels, a, b, clusters)
    expected_z = (aucs[0] - aucs[1]) / math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert z == pytest.approx(expected_z, rel=1e-9)
    assert p == pytest.approx(2 * sps.norm.sf(abs(expected_z)), rel=1e-9)


def test_logit_method_is_the_delta_method_interval():
    labels, a, _, clusters = clustered_data(4, 40, 0.8)
    aucs, cov = slow_obuchowski(labels, clusters, a)
    auc, low, high = clustered_auc_ci(labels, a, clusters, method="logit")
    half = sps.norm.ppf(0.975) * math.sqrt(cov[0, 0]) / (aucs[0] * (1 - aucs[0]))
    logit = math.log(aucs[0] / (1 - aucs[0]))
    assert (auc, low, high) == pytest.approx(
        (aucs[0], 1 / (1 + math.exp(half - logit)), 1 / (1 + math.exp(-logit - half))), abs=1e-12
    )
    wald = clustered_auc_ci(labels, a, clusters)
    assert 0 < low < high < 1 and high - auc < auc - low  # asymmetric, longer towards 0.5
    assert high - low == pytest.approx(wald[2] - wald[1], rel=0.1)


def test_logit_method_at_a_perfect_separation():
    labels, scores = [0, 0, 1, 1, 1], [0.1, 0.2, 0.8, 0.9, 0.95]
    assert clustered_auc_ci(labels, scores, ["a", "b", "c", "c", "d"], method="logit") == (1.0, 1.0, 1.0)


# --------------------------------------------------------------------------
# One case per cluster: exactly DeLong
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seed", "m", "n", "decimals"),
    [(27, 3, 2, 1), (2, 15, 25, 1), (3, 40, 41, None), (4, 200, 150, 1), (5, 60, 9, 0), (6, 7, 90, 1)],
)
def test_singletons_equal_delong(seed, m, n, decimals):
    labels, a, b = random_scores(seed, m, n, decimals)
    ids = [f"patient-{i}" for i in range(m + n)]
    for level in (0.95, 0.8):
        assert clustered_auc_ci(labels, a, ids, level) == pytest.approx(delong_ci(labels, a, level), abs=1e-12, rel=0)
    assert clustered_auc_test(labels, a, b, ids) == pytest.approx(delong_test(labels, a, b), abs=1e-12, rel=1e-12)


def test_singletons_equal_delong_in_degenerate_cases():
    labels = [0, 0, 1, 1]
    perfect, tied = [0.1, 0.2, 0.8, 0.9], [0.5, 0.5, 0.5, 0.5]
    ids = [4, 3, 2, 1]
    assert clustered_auc_ci(labels, perfect, ids) == delong_ci(labels, perfect) == (1.0, 1.0, 1.0)
    assert clustered_auc_test(labels, perfect, perfect, ids) == delong_test(labels, perfect, perfect) == (0.0, 1.0)
    with pytest.warns(RuntimeWarning, match="variance of their difference is 0"):
        z, p = clustered_auc_test(labels, perfect, tied, ids)
    assert math.isnan(z) and math.isnan(p)


def test_cluster_names_and_order_do_not_matter():
    labels, a, b, clusters = clustered_data(7, 40, 0.6)
    reference = clustered_auc_ci(labels, a, clusters), clustered_auc_test(labels, a, b, clusters)
    renamed = np.array([f"id-{97 - c}" for c in clusters], dtype=object)
    as_tuples = [("site", int(c) * 3) for c in clusters]
    for names in (renamed, as_tuples, clusters.astype(float) / 7, list(renamed)):
        assert clustered_auc_ci(labels, a, names) == pytest.approx(reference[0], abs=1e-13)
        assert clustered_auc_test(labels, a, b, names) == pytest.approx(reference[1], abs=1e-12)
    order = np.random.default_rng(0).permutation(labels.size)
    assert clustered_auc_ci(labels[order], a[order], renamed[order]) == pytest.approx(reference[0], abs=1e-13)
    assert clustered_auc_test(labels[order], a[order], b[order], clusters[order]) == pytest.approx(
        reference[1], abs=1e-12
    )


def test_correlated_duplicates_widen_the_interval():
    # Each patient's image repeated 3 times with tiny noise: DeLong counts 3x the
    # information it has; the clustered interval is about sqrt(3) wider and covers.
    rng = np.random.default_rng(11)
    n_patients, studies, cover_delong, cover_clustered, ratios = 60, 200, 0, 0, []
    d = math.sqrt(2) * sps.norm.ppf(0.8)  # true AUC 0.8
    for _ in range(studies):
        y = np.arange(n_patients) % 2
        latent = d * y + rng.normal(size=n_patients)
        clusters = np.repeat(np.arange(n_patients), 3)
        labels, scores = y[clusters], latent[clusters] + 0.05 * rng.normal(size=clusters.size)
        auc, low_d, high_d = delong_ci(labels, scores)
        _, low_c, high_c = clustered_auc_ci(labels, scores, clusters)
        ratios.append((high_c - low_c) / (high_d - low_d))
        cover_delong += low_d <= 0.8 <= high_d
        cover_clustered += low_c <= 0.8 <= high_c
    assert 1.5 < np.median(ratios) < 1.8
    assert cover_clustered / studies > 0.88 > cover_delong / studies


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
CALLS = {
    "ci": lambda y, s, c, **kw: clustered_auc_ci(y, s, c, **kw),
    "test": lambda y, s, c, **kw: clustered_auc_test(y, s, s, c, **kw),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    ("labels", "scores", "clusters", "message"),
    [
        (
            [0, 1, 0, 1],
            [0.1, 0.2, 0.3, 0.4],
            ["a", "b", "c"],
            r"clusters must name the patient of every case: got 3 clusters for 4 cases",
        ),
        (
            [0, 1, 0, 1],
            [0.1, 0.2, 0.3, 0.4],
            [["a", "b"], ["c", "d"]],
            r"clusters must name the patient of every case: got 2 clusters for 4 cases",
        ),
        (
            [0, 1, 0, 1],
            [0.1, 0.2, 0.3, 0.4],
            np.array([["a"], ["b"], ["c"], ["d"]]),
            r"clusters must be 1-D with one patient per case, got shape \(4, 1\)",
        ),
        (
            [0, 1, 0, 1],
            [0.1, 0.2, 0.3, 0.4],
            [["a"], ["b"], ["c"], ["d"]],
            r"clusters must be hashable patient ids \(strings, numbers, tuples\), got unhashable type: 'list'",
        ),
        (
            [0, 1, 0, 1, 0],
            [0.1, 0.2, 0.3, 0.4, 0.5],
            ["a", None, "c", "d", "e"],
            r"clusters must name every case's patient, got a missing value at index 1 \(1 missing\)",
        ),
        (
            [0, 1, 0, 1, 0],
            [0.1, 0.2, 0.3, 0.4, 0.5],
            np.array([1.0, 2.0, np.nan, np.nan, 3.0]),
            r"missing value at index 2 \(2 missing\)",
        ),
        (
            [0, 1, 0, 1, 1],
            [0.1, 0.2, 0.3, 0.4, 0.5],
            ["a", "b", "a", "b", "b"],
            r"positives in at least 2 clusters and negatives in at least 2 clusters, got 1 and 1",
        ),
        (
            [0, 1, 0, 1, 0],
            [0.1, 0.2, 0.3, 0.4, 0.5],
            ["a", "b", "c", "b", "d"],
            r"positives in at least 2 clusters and negatives in at least 2 clusters, got 1 and 3",
        ),
        ([0, 1, 2, 1], [0.1, 0.2, 0.3, 0.4], ["a", "b", "c", "d"], r"labels must be the numbers 0 or 1, got 2"),
        ([0, 1, 0, 1], [0.1, np.nan, 0.3, 0.4], ["a", "b", "c", "d"], r"scores must be finite, got nan at index 1"),
    ],
    ids=[
        "length",
        "nested-list",
        "2-d",
        "unhashable",
        "none",
        "nan",
        "one-cluster-each",
        "one-positive-cluster",
        "label",
        "score",
    ],
)
def test_input_errors(call, labels, scores, clusters, message):
    with pytest.raises(ValueError, match=message):
        CALLS[call](labels, scores, clusters)
    with pytest.raises(ValueError, match=r"^m on external_test: .*" + message):
        CALLS[call](labels, scores, clusters, name="m on external_test")


def test_level_and_method_are_checked():
    with pytest.raises(ValueError, match=r"`level` must lie strictly between 0 and 1, got 95"):
        clustered_auc_ci([0, 1, 0, 1], [1, 2, 3, 4], ["a", "b", "c", "d"], level=95)
    with pytest.raises(ValueError, match=r"`method` must be one of wald, logit, got 't'"):
        clustered_auc_ci([0, 1, 0, 1], [1, 2, 3, 4], ["a", "b", "c", "d"], method="t")


def test_equal_aucs_with_zero_variance_warn_nothing():
    labels, clusters = [0, 0, 1, 1, 1], ["a", "b", "c", "c", "d"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clustered_auc_test(labels, [0, 1, 2, 3, 4], [5, 6, 7, 8, 9], clusters) == (0.0, 1.0)
