"""Tests for alnus.merit: a row's patient clustering, its `ci_method` text, and the options from config.

The figures themselves are tested through the tables that hold them
(tests/test_metrics.py, tests/test_folds.py, tests/test_patients.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from alnus.merit import INTERVAL_OPTIONS, ci_method, interval_options, patient_clusters, row_auc
from alnus.metrics import metrics_options
from alnus.stats import clustered_auc_ci, delong_ci

STATISTICS = {  # a config `statistics` section, every key the options read
    "level": 0.9,
    "auc_ci": "bootstrap",
    "bootstrap_resamples": 500,
    "clustered": False,
    "clustered_auc_ci": "wald",
    "threshold": "youden",
    "proportion_ci": "exact",
    "ensemble": True,
    "majority_ties": "negative",
    "unit": "both",
    "aggregate": "max",
    "reader_aggregate": "all",
}


@pytest.mark.parametrize(
    "patients, clustered, use, repeated",
    [
        (["a", "b", "c"], True, False, False),
        (["a", "a", "b"], True, True, True),
        (["a", "a", "b"], False, False, True),
    ],
)
def test_patient_clusters(patients, clustered, use, repeated):
    got, got_repeated = patient_clusters(np.array(patients), clustered=clustered)
    assert (got is not None) == use and got_repeated == repeated
    if use:
        assert list(got) == patients


@pytest.mark.parametrize(
    "options, text",
    [
        (dict(auc_ci="delong", clustered=False, repeated=False), "auc delong; proportions wilson_cc"),
        (
            dict(auc_ci="delong", clustered=False, repeated=True),
            "auc delong; proportions wilson_cc; assumes independent images",
        ),
        (
            dict(auc_ci="delong", clustered=True, repeated=True),
            "auc obuchowski_logit; proportions wilson_rao_scott; clustered by patient",
        ),
        (
            dict(auc_ci="bootstrap", clustered=True, repeated=True),
            "patient bootstrap (2000 resamples, stratified); clustered by patient",
        ),
        (
            dict(auc_ci="bootstrap", clustered=False, repeated=True),
            "auc bootstrap; proportions wilson_cc; assumes independent images",
        ),
    ],
)
def test_ci_method_of_a_metrics_row(options, text):
    assert ci_method(clustered_auc="logit", proportions="wilson_cc", resamples=2000, **options) == text


@pytest.mark.parametrize(
    "options, text",
    [
        (dict(auc_ci="delong", clustered=False, repeated=False), "delong"),
        (dict(auc_ci="bootstrap", clustered=False, repeated=True), "bootstrap; assumes independent images"),
        (dict(auc_ci="delong", clustered=True, repeated=True), "obuchowski_wald; clustered by patient"),
        (dict(auc_ci="bootstrap", clustered=True, repeated=True), "patient bootstrap; clustered by patient"),
    ],
)
def test_ci_method_of_an_auc_only_row(options, text):
    """folds.csv's rows name the AUC's interval alone, without the resamples."""
    assert ci_method(clustered_auc="wald", **options) == text


def test_row_auc_clusters_only_repeated_patients():
    labels = np.array([0, 1, 0, 1, 1, 0])
    scores = np.array([0.1, 0.8, 0.4, 0.35, 0.9, 0.2])
    options = dict(level=0.95, auc_ci="delong", n_resamples=10, seed=0, clustered_auc="logit", name="m")
    independent, use, repeated = row_auc(labels, scores, np.arange(6), clustered=True, **options)
    assert use is None and not repeated and independent == delong_ci(labels, scores)
    patients = np.array(["a", "a", "b", "c", "c", "d"])
    clustered, use, repeated = row_auc(labels, scores, patients, clustered=True, **options)
    assert repeated and list(use) == list(patients)
    assert clustered == clustered_auc_ci(labels, scores, patients, method="logit")


def test_interval_options_map_config_keys():
    assert interval_options(STATISTICS, seed=7) == {
        "level": 0.9,
        "auc_ci": "bootstrap",
        "n_resamples": 500,
        "clustered": False,
        "clustered_auc": "wald",
        "seed": 7,
    }
    assert set(INTERVAL_OPTIONS.values()) <= set(STATISTICS)


def test_metrics_options_add_the_table_options():
    assert metrics_options(STATISTICS, seed=7) == interval_options(STATISTICS, seed=7) | {
        "threshold": "youden",
        "method": "exact",
        "ensemble": True,
        "ties": "negative",
        "unit": "both",
        "aggregate": "max",
        "reader_aggregate": "all",
    }
