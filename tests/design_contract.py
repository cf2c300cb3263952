"""What ../shared/DESIGN.md fixes for users, written out once for the tests,
independently of the code's own lists (so that a change to, say,
`alnus.metrics.METRICS_COLUMNS` that drops a contract column fails a test).
The tests do not read DESIGN.md itself: users' checkouts do not have it."""

# The columns DESIGN.md ("Outputs", results/tables/metrics.csv) requires at least.
DESIGN_METRICS_COLUMNS = [
    "model",
    "set",
    "n",
    "positives",
    "auc",
    "auc_low",
    "auc_high",
    "threshold",
    "sensitivity",
    "sensitivity_low",
    "sensitivity_high",
    "specificity",
    "specificity_low",
    "specificity_high",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "tp",
    "fp",
    "tn",
    "fn",
]
