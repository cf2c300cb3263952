"""The checked inputs every statistics table shares, at each unit of analysis.

`study_units` checks the predictions (ensemble added, `alnus.predictions`)
and the readers' calls (majority vote appended, `alnus.reader_calls`) once,
and yields them per unit (image, patient) with each model's threshold frozen
on its validation set at that unit (`alnus.thresholds`). metrics.csv,
comparisons.csv and the reader study read the study through it, so that
every table scores the same cases at the same thresholds.
"""

from __future__ import annotations

import pandas as pd

from alnus.patients import resolve_units
from alnus.predictions import model_predictions, unit_predictions
from alnus.reader_calls import study_readers, unit_reader_calls
from alnus.thresholds import frozen_thresholds


def study_units(
    predictions: dict,
    readers: pd.DataFrame | None,
    *,
    threshold="youden",
    ensemble: bool = True,
    ties: str = "positive",
    unit: str = "auto",
    aggregate: str = "mean",
    reader_aggregate: str = "any",
):
    """What every table computes at each unit of analysis, in one place.

    Checks the predictions (ensemble added) and readers' calls (majority
    vote appended) once, then yields per unit (`resolve_units`) a tuple
    (unit, models, thresholds, calls): the predictions at that unit, each
    model's threshold frozen on its validation set at that unit, and the
    readers' calls at that unit (None without readers). Options as for
    `metrics_table`.
    """
    image_models = model_predictions(predictions, ensemble=ensemble)
    image_calls = study_readers(readers, image_models, ties=ties)
    for level_unit in resolve_units(unit, image_models):
        models = unit_predictions(image_models, level_unit, aggregate=aggregate)
        yield (
            level_unit,
            models,
            frozen_thresholds(models, policy=threshold, unit=level_unit),
            unit_reader_calls(image_calls, level_unit, rule=reader_aggregate, ties=ties),
        )
