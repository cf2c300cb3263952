"""The study's figures, one module per kind of figure.

Drawn from results/predictions, results/tables and results/splits.csv alone,
so that a reviewer without images, models or GPU regenerates them:

* `alnus.figures.roc`: ROC curves with the readers and bootstrap bands;
* `alnus.figures.performance`: confusion matrices, the forest plot of
  sensitivity and specificity, and decision curves (metrics.csv and
  decision_curve.csv);
* `alnus.figures.calibration`: calibration plots;
* `alnus.figures.training`: the training curves;
* `alnus.figures.cohorts`: the cohort flow diagram.

And `alnus.figures.heatmaps`, the Grad-CAM galleries, whose maps
`alnus.heatmaps` computes from the trained models and the preprocessed
images. The tables behind the figures are built in `alnus.study_tables`.

The look (fonts, sizes, colours, resolution) comes from `alnus.style`;
names and number formats from `alnus.tables`, so that figures and Table 2
agree; what the figures share (printed names, set headings) from
`alnus.figures.common`.

Light by design: this package imports only matplotlib, numpy, pandas and
alnus's light modules, so that the lighter jobs of the reviewers' path
start in about a second. Only `roc` and `calibration`, which draw from the
predictions, import `alnus.metrics` (and with it SciPy and scikit-learn);
nothing here imports torch.
"""

from alnus.figures.common import label

__all__ = ["label"]
