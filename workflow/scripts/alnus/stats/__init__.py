"""Confidence intervals and tests for the study's metrics.

Proportions (sensitivity, specificity, accuracy) get Wilson intervals with
continuity correction and Pearson chi-square P values by default, which is what
reproduces Zhou et al. (Radiology 2019); Clopper-Pearson intervals, Fisher's
test and McNemar's paired test are offered beside them. AUCs get DeLong
intervals and the paired DeLong test (as R's pROC), or a stratified bootstrap;
when a patient has several images, Obuchowski's clustered interval and paired
test (`clustered_auc_ci`, `clustered_auc_test`), which equal DeLong's with one
image per patient.

The jobs live in modules of their own: `checks` (the shared validation), `proportions`, `auc` (DeLong,
Obuchowski, the bootstrap) and `operating_points` (thresholds from a ROC curve); every public name is
imported from here.

Conventions: label 1 = positive (metastasis), 0 = negative; a higher score
means more likely positive; AUC directions are never flipped.
"""

from alnus.stats.auc import (
    CLUSTERED_AUC_CI_METHODS,
    bootstrap_auc_ci,
    clustered_auc_ci,
    clustered_auc_test,
    delong_ci,
    delong_test,
)
from alnus.stats.checks import _check_count, _check_level, check_binary_scores
from alnus.stats.operating_points import sensitivity_threshold, youden_threshold
from alnus.stats.proportions import (
    PROPORTION_CI_METHODS,
    PROPORTION_TESTS,
    compare_proportions,
    mcnemar_test,
    proportion_ci,
    proportion_test,
)

__all__ = [
    "CLUSTERED_AUC_CI_METHODS",
    "PROPORTION_CI_METHODS",
    "PROPORTION_TESTS",
    "_check_count",
    "_check_level",
    "bootstrap_auc_ci",
    "check_binary_scores",
    "clustered_auc_ci",
    "clustered_auc_test",
    "compare_proportions",
    "delong_ci",
    "delong_test",
    "mcnemar_test",
    "proportion_ci",
    "proportion_test",
    "sensitivity_threshold",
    "youden_threshold",
]
