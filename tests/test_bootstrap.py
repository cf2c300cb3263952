"""Tests for alnus.bootstrap: the patient bootstrap and the ROC bands."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alnus.bootstrap import (
    cluster_bootstrap_ci,
    cluster_bootstrap_indices,
    cluster_bootstrap_roc_band,
    roc_band,
    sensitivity_at,
)
from alnus.clustered import clustered_proportion_ci
from alnus.stats import proportion_ci


# --------------------------------------------------------------------------
# Patient bootstrap
# --------------------------------------------------------------------------
def _bootstrap_data():
    # 7 patients: P0-P2 with a positive image (P1 also has a negative one), P3-P6 negative only.
    clusters = np.array(["P0", "P3", "P1", "P4", "P1", "P5", "P2", "P6", "P1", "P0", "P3", "P5", "P4"])
    labels = np.array([1, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0])
    return clusters, labels


def test_bootstrap_keeps_whole_patients_and_stratum_sizes():
    clusters, labels = _bootstrap_data()
    names, sizes = np.unique(clusters, return_counts=True)
    size = dict(zip(names, sizes))
    resamples = list(cluster_bootstrap_indices(clusters, labels, 300, seed=1))
    assert len(resamples) == 300
    for index in resamples:
        drawn, counts = np.unique(clusters[index], return_counts=True)
        times = {name: count // size[name] for name, count in zip(drawn, counts)}
        assert all(count == times[name] * size[name] for name, count in zip(drawn, counts))  # whole patients
        assert sum(times[p] for p in times if p in {"P0", "P1", "P2"}) == 3  # positive stratum
        assert sum(times[p] for p in times if p not in {"P0", "P1", "P2"}) == 4
        assert labels[index].any() and not labels[index].all()
    # Every patient turns up, and resamples differ in their number of cases.
    assert set(np.concatenate([clusters[i] for i in resamples])) == set(names)
    assert len({len(i) for i in resamples}) > 1


def test_bootstrap_is_reproducible():
    clusters, labels = _bootstrap_data()
    first = list(cluster_bootstrap_indices(clusters, labels, 600, seed=5))  # more than one block of 256
    again = list(cluster_bootstrap_indices(clusters, labels, 600, seed=np.random.default_rng(5)))
    other = list(cluster_bootstrap_indices(clusters, labels, 600, seed=6))
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(first, other))


@pytest.mark.parametrize(
    "clusters, labels, n_resamples, message",
    [
        (["a", "b"], [1, 1], 10, "got 2 patient\\(s\\) with a positive case and 0 without"),
        (["a", "b"], [0, 0], 10, "0 patient\\(s\\) with a positive case and 2 without"),
        (["a", "a", "b"], [1, 0, 1], 10, "2 patient\\(s\\) with a positive case and 0 without"),
        (["a", "b"], [1, 0], 0, "`n_resamples` must be a whole number >= 1, got 0"),
        (["a", "b"], [1, 0, 1], 10, "got 2 clusters for 3 cases"),
        (["a", "b"], [1, 2], 10, "`labels` must be boolean"),
    ],
)
def test_bootstrap_errors_at_the_call(clusters, labels, n_resamples, message):
    with pytest.raises(ValueError, match=message):
        cluster_bootstrap_indices(clusters, labels, n_resamples, seed=0)  # not iterated


def _sensitivity(labels, calls):
    return calls[labels == 1].mean()


def test_bootstrap_ci_of_sensitivity():
    rng = np.random.default_rng(2)
    clusters = np.repeat(np.arange(80), 3)
    labels = np.repeat(np.arange(80) % 2, 3)
    calls = (rng.random(80)[clusters] < 0.8) & labels.astype(bool) | (rng.random(240) < 0.1)
    estimate, low, high = cluster_bootstrap_ci(_sensitivity, labels, clusters, calls, n_resamples=400, seed=0)
    assert estimate == _sensitivity(labels, calls)
    assert low < estimate < high
    assert (estimate, low, high) == cluster_bootstrap_ci(_sensitivity, labels, clusters, calls, n_resamples=400, seed=0)
    # Close to the Rao-Scott Wilson interval of the same sensitivity, and wider than plain Wilson.
    rs = clustered_proportion_ci(calls[labels == 1], clusters[labels == 1])
    assert (low, high) == pytest.approx(rs[1:], abs=0.04)
    plain = proportion_ci(int(calls[labels == 1].sum()), int(labels.sum()), 0.95, "wilson")
    assert high - low > 1.3 * (plain[1] - plain[0])


def test_bootstrap_ci_errors():
    clusters, labels = _bootstrap_data()
    with pytest.raises(ValueError, match="array 0 of `arrays` has 2 entries for 13 labels"):
        cluster_bootstrap_ci(_sensitivity, labels, clusters, [1, 0], seed=0)
    with pytest.raises(ValueError, match="not finite on 20 of 20 patient resamples"):
        cluster_bootstrap_ci(lambda labels: math.nan, labels, clusters, n_resamples=20, seed=0)
    with pytest.raises(ValueError, match=">= 10, got 5"):
        cluster_bootstrap_ci(_sensitivity, labels, clusters, labels, n_resamples=5, seed=0)


def test_roc_band():
    rng = np.random.default_rng(7)
    clusters = np.repeat(np.arange(60), 2)
    labels = np.repeat(np.arange(60) % 3 == 0, 2).astype(int)
    scores = rng.normal(size=60)[clusters] + labels
    grid = np.linspace(0, 1, 21)
    low, high = cluster_bootstrap_roc_band(labels, scores, clusters, grid, n_resamples=200, seed=0)
    assert low.shape == high.shape == grid.shape
    assert (0 <= low).all() and (low <= high).all() and (high <= 1).all()
    assert high[-1] == 1.0 and (np.diff(low) >= 0).all()
    again = cluster_bootstrap_roc_band(labels, scores, clusters, grid, n_resamples=200, seed=0)
    assert np.array_equal(low, again[0]) and np.array_equal(high, again[1])
    with pytest.raises(ValueError, match="`fpr_grid` must be a 1-D increasing array within"):
        cluster_bootstrap_roc_band(labels, scores, clusters, [0.5, 0.2], n_resamples=10, seed=0)


# --- the figures' ROC band (alnus.bootstrap.roc_band) ---------------------------------


def test_sensitivity_at_reads_the_upper_envelope():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9])
    assert sensitivity_at(labels, scores, np.array([0.0, 0.49, 0.5, 1.0])).tolist() == [0.5, 0.5, 1.0, 1.0]


def test_roc_band_is_seeded_and_brackets_the_curve():
    rng = np.random.default_rng(1)
    labels = np.tile([0, 1], 30)
    frame = {"label": labels, "probability": 1 / (1 + np.exp(-(labels * 2.0 - 1.0 + rng.normal(size=60))))}
    grid = np.linspace(0, 1, 51)
    low, high = roc_band(frame["label"], frame["probability"], grid, n_resamples=200, seed=3)
    again = roc_band(frame["label"], frame["probability"], grid, n_resamples=200, seed=3)
    curve = sensitivity_at(frame["label"], frame["probability"], grid)
    assert np.array_equal(low, again[0]) and np.array_equal(high, again[1])
    assert (low <= high).all() and ((low <= curve) & (curve <= high)).mean() > 0.9


@pytest.mark.parametrize(
    "labels, n_resamples, match",
    [([0, 1, 0, 1], 5, "at least 10"), ([1, 1, 1, 1], 100, "positive and negative")],
)
def test_roc_band_refuses(labels, n_resamples, match):
    with pytest.raises(ValueError, match=match):
        roc_band(labels, [0.1, 0.2, 0.3, 0.4], np.linspace(0, 1, 5), n_resamples=n_resamples)


def test_roc_band_resamples_patients_where_a_patient_has_several_cases():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], 30)
    scores = labels + rng.normal(size=60)
    clusters = np.arange(60) // 2  # two images per patient, both of one label
    grid = np.linspace(0, 1, 21)
    band = roc_band(labels, scores, grid, n_resamples=50, seed=4, clusters=clusters)
    patients = cluster_bootstrap_roc_band(labels, scores, clusters, grid, n_resamples=50, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(band, patients))
    unique = roc_band(labels, scores, grid, n_resamples=50, seed=4, clusters=np.arange(60))
    plain = roc_band(labels, scores, grid, n_resamples=50, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(unique, plain))
