"""Tests for alnus.reader_study: results/tables/mrmc.csv, each model against
the average reader by alnus.mrmc, on the cases every reader read."""

from __future__ import annotations

import numpy as np
import pytest
from test_patients import MODEL, readers

from alnus.metrics import frozen_thresholds, model_predictions
from alnus.mrmc import model_vs_readers
from alnus.reader_study import MRMC_COLUMNS, mrmc_table


@pytest.fixture(scope="module")
def table():
    return mrmc_table({"m": MODEL}, readers())


def test_rows_per_unit_set_model_and_figure(table):
    assert list(table.columns) == MRMC_COLUMNS
    assert list(zip(table["unit"], table["figure"])) == [
        (u, f) for u in ("image", "patient") for f in ("auc", "sensitivity", "specificity")
    ]
    assert set(table["set"]) == {"external_test"} and set(table["model"]) == {"m"}  # only external was read
    assert set(table.loc[table["unit"] == "image", "resampling"]) == {"cluster jackknife"}


def test_image_rows_are_the_mrmc_of_the_crossed_cases(table):
    frame = MODEL["external_test"]
    calls = readers()
    wide = {r: calls[calls["reader"] == r].set_index("id").loc[frame["id"]] for r in ("R1", "R2", "R3")}
    threshold = frozen_thresholds(model_predictions({"m": MODEL}), policy="youden")["m"]
    for figure, column, cut in (("auc", "score", None), ("sensitivity", "call", threshold)):
        expected = model_vs_readers(
            frame["label"],
            frame["probability"],
            np.vstack([wide[r][column].to_numpy(float) for r in wide]),
            figure=figure,
            threshold=cut,
            clusters=frame["patient"],
        )
        row = table[(table["unit"] == "image") & (table["figure"] == figure)].iloc[0]
        assert (row["difference"], row["low"], row["high"], row["p"], row["ddf"]) == pytest.approx(
            (expected.difference, expected.low, expected.high, expected.p, expected.ddf)
        )


def test_partly_read_cases_are_left_out_and_calls_alone_give_no_auc():
    calls = readers().drop(columns="score")
    calls = calls.drop(index=calls.index[(calls["reader"] == "R2")][:4])
    table = mrmc_table({"m": MODEL}, calls, unit="image")
    assert list(table["figure"]) == ["sensitivity", "specificity"]
    assert set(table["n_cases"]) == {len(MODEL["external_test"]) - 4}


def test_no_readers_or_one_reader_gives_no_rows():
    assert mrmc_table({"m": MODEL}, None).empty
    one = readers().query("reader == 'R1'")
    assert mrmc_table({"m": MODEL}, one).empty
