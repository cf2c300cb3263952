"""Tests for alnus.figures and alnus.style: every figure of the reviewers'
path from small tables, the heat-map figures, and the style in one place.
The tables behind the figures are tested in test_study_tables.py, the ROC
band in test_clustered.py and the choice of heat-map cases in test_heatmaps.py."""

from __future__ import annotations

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.legend import Legend
from test_heatmaps import outcome_frame
from test_study_tables import _history, cohort_inputs

from alnus import style
from alnus.calibration import calibration_table, decision_curve_table
from alnus.figures import label, roc
from alnus.figures.calibration import calibration_bins, calibration_figure
from alnus.figures.cohorts import cohort_flow_figure
from alnus.figures.heatmaps import heatmap_architectures, heatmap_gallery, overlay
from alnus.figures.performance import confusion_figure, decision_curve_figure, forest_figure
from alnus.figures.training import training_figure
from alnus.heatmaps import select_cases
from alnus.metrics import metrics_table, model_predictions
from alnus.study_tables import cohort_table, training_history_table

SETS = ("validation", "internal_test", "external_test")


def _frame(rng, n, shift, prefix="i"):
    labels = np.tile([0, 1], n // 2)
    return pd.DataFrame(
        {
            "id": [f"{prefix}{k:03d}" for k in range(n)],
            "label": labels,
            "probability": 1 / (1 + np.exp(-(labels * shift - shift / 2 + rng.normal(size=n)))),
        }
    )


@pytest.fixture(scope="module")
def study_tables():
    """Predictions of two models on every set, two readers (one reading part
    of the external set), and the tables the pipeline builds from them."""
    rng = np.random.default_rng(0)
    predictions = {
        m: {s: _frame(rng, 40, shift, s[:2]) for s in SETS} for m, shift in (("inception_v3", 2.0), ("resnet101", 1.0))
    }
    labels = np.tile([0, 1], 20)
    readers = pd.concat(
        [
            pd.DataFrame(
                {
                    "id": [f"{s[:2]}{k:03d}" for k in range(40)],
                    "reader": r,
                    "label": labels,
                    "set": s,
                    "call": np.where(rng.random(40) < 0.75, labels, 1 - labels),
                }
            )
            for r in ("reader_1", "reader_2")
            for s in ("internal_test", "external_test")
        ]
    ).iloc[:-5]
    return {
        "predictions": predictions,
        "models": model_predictions(predictions),
        "readers": readers,
        "metrics": metrics_table(predictions, readers),
        "calibration": calibration_table(predictions),
        "decision_curve": decision_curve_table(predictions),
    }


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(plt.Text)]


def _legend_texts(artist) -> list[str]:
    return [t.get_text() for legend in artist.findobj(Legend) for t in legend.get_texts()]


# --- style -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, expected",
    [("inception_v3", "#0072B2"), ("ensemble", "#000000"), ("readers_majority", "#CC79A7")],
)
def test_each_model_keeps_its_colour(model, expected):
    assert style.model_color(model) == expected


def test_unknown_models_take_the_spare_colours_in_turn():
    spare = [style.model_color("densenet", i) for i in range(3)]
    assert len(set(spare)) == 3 and not set(spare) & set(style.MODEL_COLORS.values())


def test_save_writes_300_dpi_png_and_pdf_without_run_metadata(tmp_path):
    fig, ax = style.figure(2, 2)
    ax.plot([0, 1], [0, 1])
    png, pdf = tmp_path / "f.png", tmp_path / "f.pdf"
    style.save(fig, str(png), str(pdf))
    assert cv2.imread(str(png)).shape[1] >= 0.9 * 2 * style.DPI
    assert b"matplotlib" not in png.read_bytes().lower()
    assert pdf.read_bytes().startswith(b"%PDF") and b"CreationDate" not in pdf.read_bytes()


# --- names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, expected",
    [
        ("resnet101", "ResNet-101"),
        ("readers_majority", "Radiologists (majority vote)"),
        ("reader_3", "Reader 3"),
        ("reader7", "Reader 7"),
        ("Dr_Lee", "Dr_Lee"),
    ],
)
def test_labels_follow_table2(model, expected):
    assert label(model) == expected


# --- ROC -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "set_name, band", [("internal_test", "none"), ("external_test", "ensemble"), ("external_test", "all")]
)
def test_roc_figure_has_models_readers_and_the_journal_labels(tmp_path, study_tables, set_name, band):
    models = {m: sets[set_name] for m, sets in study_tables["models"].items()}
    fig = roc.roc_figure(set_name, models, study_tables["metrics"], band=band, n_resamples=50)
    ax = fig.axes[0]
    texts = _legend_texts(ax)
    assert texts[0].startswith("Inception V3: AUC ") and texts[2].startswith("Ensemble (mean probability): AUC ")
    assert "Operating point (threshold frozen on validation)" in texts
    assert ("bootstrap band" in " ".join(texts)) == (band != "none")
    assert any(t.startswith("Reader 1: ") for t in texts) and any(
        t.startswith("Majority vote (95% CIs): ") for t in texts
    )
    assert ax.get_xlabel() == "1 - Specificity" and ax.get_ylabel() == "Sensitivity"
    png, pdf = tmp_path / "roc.png", tmp_path / "roc.pdf"
    style.save(fig, str(png), str(pdf))
    assert min(cv2.imread(str(png)).shape[:2]) > 900  # 300 dpi, legends inside the saved area
    assert pdf.read_bytes().startswith(b"%PDF")


def test_roc_figure_marks_a_partial_reader(study_tables):
    models = {m: sets["external_test"] for m, sets in study_tables["models"].items()}
    texts = _legend_texts(roc.roc_figure("external_test", models, study_tables["metrics"]).axes[0])
    assert any(t.startswith("Reader 2: ") and t.endswith("(read 35 of 40)") for t in texts)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"band": "some"}, "`figures: roc_band` must be one of .*, got 'some'"),
        ({"drop": "resnet101"}, "metrics.csv has no row for resnet101"),
    ],
)
def test_roc_figure_refuses(study_tables, change, match):
    metrics = study_tables["metrics"]
    if "drop" in change:
        metrics = metrics[metrics["model"] != change["drop"]]
    models = {m: sets["internal_test"] for m, sets in study_tables["models"].items()}
    with pytest.raises(ValueError, match=match):
        roc.roc_figure("internal_test", models, metrics, band=change.get("band", "none"))


@pytest.mark.parametrize("ensemble, curves", [(True, 3), (False, 2)])
def test_roc_from_files_draws_the_ensemble_of_the_tables(tmp_path, monkeypatch, study_tables, ensemble, curves):
    paths = []
    for model, sets in study_tables["predictions"].items():
        (tmp_path / model).mkdir()
        for set_name, frame in sets.items():
            frame.assign(patient=frame["id"]).to_csv(tmp_path / model / f"{set_name}.csv", index=False)
            paths.append(str(tmp_path / model / f"{set_name}.csv"))
    study_tables["metrics"].to_csv(tmp_path / "metrics.csv", index=False)
    drawn, draw = [], roc.roc_figure
    monkeypatch.setattr(
        roc, "roc_figure", lambda set_name, models, *a, **k: drawn.append(models) or draw(set_name, models, *a, **k)
    )
    roc.roc_from_files(
        paths,
        str(tmp_path / "metrics.csv"),
        set_name="external_test",
        png=str(tmp_path / "r.png"),
        pdf=str(tmp_path / "r.pdf"),
        ensemble=ensemble,
        band="none",
    )
    assert len(drawn[0]) == curves and cv2.imread(str(tmp_path / "r.png")) is not None
    if ensemble:  # the ensemble of the figure is the one of every table (alnus.metrics.model_predictions)
        expected = study_tables["models"]["ensemble"]["external_test"]
        pd.testing.assert_frame_equal(drawn[0]["ensemble"].reset_index(drop=True), expected.reset_index(drop=True))


# --- metrics.csv figures ---------------------------------------------------------


def test_confusion_matrices_show_the_tables_counts(study_tables):
    metrics = study_tables["metrics"]
    fig = confusion_figure(metrics)
    row = metrics[(metrics["model"] == "ensemble") & (metrics["set"] == "external_test")].iloc[0]
    texts = _texts(fig)
    assert any(t.startswith(f"{row.tp}\n") for t in texts) and any(t.startswith(f"{row.tn}\n") for t in texts)
    assert len([a for a in fig.axes if a.images]) == 2 * 4  # 2 sets x (2 models, ensemble, majority vote)


@pytest.mark.parametrize(
    "draw, table",
    [
        (confusion_figure, "metrics.csv"),
        (forest_figure, "metrics.csv"),
        (decision_curve_figure, "decision_curve.csv"),
        (training_figure, "training_history.csv"),
        (cohort_flow_figure, "cohorts.csv"),
    ],
)
def test_figures_name_the_table_that_lacks_a_column(draw, table):
    with pytest.raises(ValueError, match=rf"{table} lacks column\(s\) .*rerun the rule"):
        draw(pd.DataFrame({"model": ["x"]}))


def test_forest_plot_lists_sets_models_and_readers(study_tables):
    fig = forest_figure(study_tables["metrics"])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0].startswith("Internal test set (n = 40; 20 positive)")
    assert {"Inception V3", "Ensemble (mean probability)", "Radiologists (majority vote)", "Reader 1"} <= set(labels)
    assert any(t.startswith("Reader 2 (read ") for t in labels)
    assert any(t.endswith("/20)") for t in _texts(fig))


# --- calibration and decision curves -----------------------------------------------


def test_calibration_bins_are_equal_groups_by_probability():
    labels, probabilities = np.array([0, 0, 1, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    bins = calibration_bins(labels, probabilities, bins=3)
    assert bins["n"].tolist() == [2, 2, 2]
    assert np.allclose(bins["mean_predicted"], [0.15, 0.45, 0.8]) and bins["observed"].tolist() == [0, 0.5, 1]


@pytest.mark.parametrize("bins", [1, 7])
def test_calibration_bins_refuses(bins):
    with pytest.raises(ValueError, match=rf"`bins` must lie between 2 and the number of cases \(6\), got {bins}"):
        calibration_bins([0, 1] * 3, np.linspace(0, 1, 6), bins=bins)


def test_calibration_figure_gives_intercept_and_slope(study_tables):
    fig = calibration_figure(study_tables["models"], study_tables["calibration"], bins=4)
    texts = _legend_texts(fig.axes[0])
    assert len(fig.axes) == 2 and len(texts) == 3
    assert all(t.count(" / ") == 1 for t in texts)


def test_decision_curve_figure_has_every_model_and_both_references(study_tables):
    fig = decision_curve_figure(study_tables["decision_curve"])
    assert len(fig.axes) == 2 and all(len(ax.lines) == 3 + 2 for ax in fig.axes)
    assert "Treat none" in _legend_texts(fig)


# --- training curves -------------------------------------------------------------


def test_training_history_notes_a_model_still_improving(tmp_path):
    """A model whose kept epoch is its last gets the note on that epoch's row,
    in the table and (through its CSV) in the figure's legend."""
    peaked = _history(3).assign(best=[False, True, False])
    table = training_history_table({"inception_v3": _history(3), "resnet101": peaked})
    assert table.columns[-1] == "note"
    assert table["note"].tolist() == ["", "", "still improving: more epochs would likely help", "", "", ""]
    table.to_csv(tmp_path / "training_history.csv", index=False)
    fig = training_figure(pd.read_csv(tmp_path / "training_history.csv"))
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels[:2] == ["Inception V3 (still improving)", "ResNet-101"]


@pytest.mark.parametrize("epochs", [1, 30])
def test_training_figure_circles_the_epoch_kept(epochs):
    history = training_history_table({"inception_v3": _history(epochs), "resnet101": _history(epochs)})
    fig = training_figure(history)
    circles = [line for line in fig.axes[1].lines if line.get_markersize() == 8]
    assert [line.get_xdata()[0] for line in circles] == [epochs, epochs]
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks() if 1 <= t <= epochs)


# --- cohorts -----------------------------------------------------------------------


def test_cohort_flow_draws_every_set_with_its_counts():
    fig = cohort_flow_figure(cohort_table(*cohort_inputs()))
    texts = _texts(fig)
    for title in (
        "Development cohort",
        "External cohort",
        "Training set",
        "Validation set",
        "Internal test set",
        "External test set",
    ):
        assert title in texts
    assert "3 images, 2 patients\n2 positive, 1 negative" in texts
    assert any("read by 2 radiologists" in t for t in texts)


# --- heat maps -----------------------------------------------------------------------


def test_overlay_leaves_unimportant_regions_plain():
    image = np.full((4, 4), 100, dtype=np.uint8)
    cam = np.zeros((4, 4))
    cam[0, 0] = 1.0
    out = overlay(image, cam, opacity=0.5)
    assert out.shape == (4, 4, 3) and np.allclose(out[1:, 1:], 100 / 255)
    assert not np.allclose(out[0, 0], 100 / 255)


def test_heatmap_figures_have_images_overlays_and_a_colour_bar():
    outcomes = outcome_frame()
    cases = select_cases(outcomes[~outcomes["id"].isin(["g", "h"])], 0.5)  # no true negative
    rng = np.random.default_rng(0)
    images = {i: rng.integers(0, 255, (30, 40), dtype=np.uint8) for i in outcomes["id"]}
    maps = {i: rng.random((30, 40)) for i in outcomes["id"]}
    gallery = heatmap_gallery(cases, images, maps, title="t", method="gradcam++")
    assert "no true negative" in _texts(gallery)
    assert any("Grad-CAM++" in ax.get_ylabel() for ax in gallery.axes)
    across = heatmap_architectures(
        cases,
        images,
        {"inception_v3": maps, "resnet101": maps},
        {"inception_v3": dict.fromkeys(outcomes["id"], 0.5), "resnet101": dict.fromkeys(outcomes["id"], 0.5)},
        title="t",
    )
    assert {"Inception V3", "ResNet-101", "Ultrasound image"} <= {ax.get_title() for ax in across.axes}
    assert sum(bool(ax.images) for ax in across.axes) == 3 * len(cases)
