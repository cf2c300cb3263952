"""Tests for alnus.figures and alnus.style: every figure of the reviewers'
path from small tables, the heat-map helpers, and the style in one place."""

from __future__ import annotations

import json

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.legend import Legend

from alnus import figures, style
from alnus.calibration import calibration_table, decision_curve_table
from alnus.data import letterbox
from alnus.metrics import metrics_table, model_predictions

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
    assert figures.label(model) == expected


# --- ROC -------------------------------------------------------------------------


def test_sensitivity_at_reads_the_upper_envelope():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9])
    assert figures.sensitivity_at(labels, scores, np.array([0.0, 0.49, 0.5, 1.0])).tolist() == [0.5, 0.5, 1.0, 1.0]


def test_roc_band_is_seeded_and_brackets_the_curve():
    rng = np.random.default_rng(1)
    frame = _frame(rng, 60, 2.0)
    grid = np.linspace(0, 1, 51)
    low, high = figures.roc_band(frame["label"], frame["probability"], grid, n_resamples=200, seed=3)
    again = figures.roc_band(frame["label"], frame["probability"], grid, n_resamples=200, seed=3)
    curve = figures.sensitivity_at(frame["label"], frame["probability"], grid)
    assert np.array_equal(low, again[0]) and np.array_equal(high, again[1])
    assert (low <= high).all() and ((low <= curve) & (curve <= high)).mean() > 0.9


@pytest.mark.parametrize(
    "labels, n_resamples, match",
    [([0, 1, 0, 1], 5, "at least 10"), ([1, 1, 1, 1], 100, "positive and negative")],
)
def test_roc_band_refuses(labels, n_resamples, match):
    with pytest.raises(ValueError, match=match):
        figures.roc_band(labels, [0.1, 0.2, 0.3, 0.4], np.linspace(0, 1, 5), n_resamples=n_resamples)


@pytest.mark.parametrize(
    "set_name, band", [("internal_test", "none"), ("external_test", "ensemble"), ("external_test", "all")]
)
def test_roc_figure_has_models_readers_and_the_journal_labels(tmp_path, study_tables, set_name, band):
    models = {m: sets[set_name] for m, sets in study_tables["models"].items()}
    fig = figures.roc_figure(set_name, models, study_tables["metrics"], band=band, n_resamples=50)
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
    texts = _legend_texts(figures.roc_figure("external_test", models, study_tables["metrics"]).axes[0])
    assert any(t.startswith("Reader 2: ") and t.endswith("(read 35 of 40)") for t in texts)


@pytest.mark.parametrize(
    "change, match",
    [({"band": "some"}, "unknown ROC `band` 'some'"), ({"drop": "resnet101"}, "metrics.csv has no row for resnet101")],
)
def test_roc_figure_refuses(study_tables, change, match):
    metrics = study_tables["metrics"]
    if "drop" in change:
        metrics = metrics[metrics["model"] != change["drop"]]
    models = {m: sets["internal_test"] for m, sets in study_tables["models"].items()}
    with pytest.raises(ValueError, match=match):
        figures.roc_figure("internal_test", models, metrics, band=change.get("band", "none"))


@pytest.mark.parametrize("ensemble, curves", [(True, 3), (False, 2)])
def test_roc_from_files_draws_the_ensemble_of_the_tables(tmp_path, monkeypatch, study_tables, ensemble, curves):
    paths = []
    for model, sets in study_tables["predictions"].items():
        (tmp_path / model).mkdir()
        for set_name, frame in sets.items():
            frame.assign(patient=frame["id"]).to_csv(tmp_path / model / f"{set_name}.csv", index=False)
            paths.append(str(tmp_path / model / f"{set_name}.csv"))
    study_tables["metrics"].to_csv(tmp_path / "metrics.csv", index=False)
    drawn, draw = [], figures.roc_figure
    monkeypatch.setattr(
        figures, "roc_figure", lambda set_name, models, *a, **k: drawn.append(models) or draw(set_name, models, *a, **k)
    )
    figures.roc_from_files(
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
    fig = figures.confusion_figure(metrics)
    row = metrics[(metrics["model"] == "ensemble") & (metrics["set"] == "external_test")].iloc[0]
    texts = _texts(fig)
    assert any(t.startswith(f"{row.tp}\n") for t in texts) and any(t.startswith(f"{row.tn}\n") for t in texts)
    assert len([a for a in fig.axes if a.images]) == 2 * 4  # 2 sets x (2 models, ensemble, majority vote)


@pytest.mark.parametrize(
    "draw, table",
    [
        (figures.confusion_figure, "metrics.csv"),
        (figures.forest_figure, "metrics.csv"),
        (figures.decision_curve_figure, "decision_curve.csv"),
        (figures.training_figure, "training_history.csv"),
        (figures.cohort_flow_figure, "cohorts.csv"),
    ],
)
def test_figures_name_the_table_that_lacks_a_column(draw, table):
    with pytest.raises(ValueError, match=rf"{table} lacks column\(s\) .*rerun the rule"):
        draw(pd.DataFrame({"model": ["x"]}))


def test_forest_plot_lists_sets_models_and_readers(study_tables):
    fig = figures.forest_figure(study_tables["metrics"])
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0].startswith("Internal test set (n = 40; 20 positive)")
    assert {"Inception V3", "Ensemble (mean probability)", "Radiologists (majority vote)", "Reader 1"} <= set(labels)
    assert any(t.startswith("Reader 2 (read ") for t in labels)
    assert any(t.endswith("/20)") for t in _texts(fig))


# --- calibration and decision curves -----------------------------------------------


def test_calibration_bins_are_equal_groups_by_probability():
    labels, probabilities = np.array([0, 0, 1, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    bins = figures.calibration_bins(labels, probabilities, bins=3)
    assert bins["n"].tolist() == [2, 2, 2]
    assert np.allclose(bins["mean_predicted"], [0.15, 0.45, 0.8]) and bins["observed"].tolist() == [0, 0.5, 1]


@pytest.mark.parametrize("bins", [1, 7])
def test_calibration_bins_refuses(bins):
    with pytest.raises(ValueError, match=rf"`bins` must lie between 2 and the number of cases \(6\), got {bins}"):
        figures.calibration_bins([0, 1] * 3, np.linspace(0, 1, 6), bins=bins)


def test_calibration_figure_gives_intercept_and_slope(study_tables):
    fig = figures.calibration_figure(study_tables["models"], study_tables["calibration"], bins=4)
    texts = _legend_texts(fig.axes[0])
    assert len(fig.axes) == 2 and len(texts) == 3
    assert all(t.count(" / ") == 1 for t in texts)


def test_decision_curve_figure_has_every_model_and_both_references(study_tables):
    fig = figures.decision_curve_figure(study_tables["decision_curve"])
    assert len(fig.axes) == 2 and all(len(ax.lines) == 3 + 2 for ax in fig.axes)
    assert "Treat none" in _legend_texts(fig)


# --- training curves -------------------------------------------------------------


def _history(epochs):
    return pd.DataFrame(
        {
            "epoch": range(1, epochs + 1),
            "lr": 1e-3,
            "train_loss": np.linspace(0.7, 0.2, epochs),
            "val_loss": np.linspace(0.7, 0.4, epochs),
            "val_auc": np.linspace(0.6, 0.9, epochs),
            "seconds": 1.0,
            "best": [e == epochs for e in range(1, epochs + 1)],
        }
    )


def test_training_history_table_puts_the_model_first(tmp_path):
    for model in ("inception_v3", "resnet101"):
        (tmp_path / model).mkdir()
        _history(3).to_csv(tmp_path / model / "history.tsv", sep="\t", index=False)
    table = figures.training_history_from_files(
        [str(tmp_path / m / "history.tsv") for m in ("inception_v3", "resnet101")]
    )
    assert table.columns[0] == "model" and table["model"].tolist() == ["inception_v3"] * 3 + ["resnet101"] * 3


def test_training_history_notes_a_model_still_improving(tmp_path):
    """A model whose kept epoch is its last gets the note on that epoch's row,
    in the table and (through its CSV) in the figure's legend."""
    peaked = _history(3).assign(best=[False, True, False])
    table = figures.training_history_table({"inception_v3": _history(3), "resnet101": peaked})
    assert table.columns[-1] == "note"
    assert table["note"].tolist() == ["", "", "still improving: more epochs would likely help", "", "", ""]
    table.to_csv(tmp_path / "training_history.csv", index=False)
    fig = figures.training_figure(pd.read_csv(tmp_path / "training_history.csv"))
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels[:2] == ["Inception V3 (still improving)", "ResNet-101"]


def test_training_history_table_names_the_bad_history():
    with pytest.raises(ValueError, match="results/models/resnet101/history.tsv lacks column"):
        figures.training_history_table({"resnet101": _history(2).drop(columns="val_auc")})


@pytest.mark.parametrize("epochs", [1, 30])
def test_training_figure_circles_the_epoch_kept(epochs):
    history = figures.training_history_table({"inception_v3": _history(epochs), "resnet101": _history(epochs)})
    fig = figures.training_figure(history)
    circles = [line for line in fig.axes[1].lines if line.get_markersize() == 8]
    assert [line.get_xdata()[0] for line in circles] == [epochs, epochs]
    assert all(float(t).is_integer() for t in fig.axes[0].get_xticks() if 1 <= t <= epochs)


# --- cohorts -----------------------------------------------------------------------


@pytest.fixture
def cohorts():
    splits = pd.DataFrame(
        {
            "id": [f"d{k}" for k in range(10)] + ["e0", "e1", "e2"],
            "patient": ["p0", "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "q0", "q1", "q1"],
            "cohort": ["development"] * 10 + ["external"] * 3,
            "set": ["train"] * 6 + ["validation"] * 2 + ["internal_test"] * 2 + ["external_test"] * 3,
        }
    )
    manifests = {
        "development": pd.DataFrame({"id": [f"d{k}" for k in range(10)], "label": [0, 1] * 5}),
        "external": pd.DataFrame({"id": ["e0", "e1", "e2"], "label": [1, 1, 0]}),
    }
    readers = pd.DataFrame({"id": ["e0", "e1", "e0"], "reader": ["r1", "r1", "r2"], "set": "external_test"})
    return splits, manifests, readers


def test_cohort_table_counts_images_patients_and_labels(cohorts):
    table = figures.cohort_table(*cohorts).set_index(["cohort", "set"])
    assert table.loc[("development", "all")].tolist() == [10, 9, 5, 5, 0]
    assert table.loc[("development", "train")].tolist() == [6, 5, 3, 3, 0]
    assert table.loc[("external", "external_test")].tolist() == [3, 2, 2, 1, 2]
    assert table.loc[("external", "all"), "readers"] == 2


def test_cohort_table_refuses_an_id_without_label(cohorts):
    splits, manifests, readers = cohorts
    manifests = {**manifests, "external": manifests["external"].iloc[:2]}
    with pytest.raises(ValueError, match=r"ids \['e2'\] of splits.csv are in no preprocessed manifest"):
        figures.cohort_table(splits, manifests, readers)


def test_cohort_flow_draws_every_set_with_its_counts(cohorts):
    fig = figures.cohort_flow_figure(figures.cohort_table(*cohorts))
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


@pytest.fixture
def outcomes():
    return pd.DataFrame(
        {
            "id": ["a", "b", "i", "c", "d", "j", "e", "f", "g", "h"],
            "label": [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
            "probability": [0.9, 0.7, 0.6, 0.4, 0.1, 0.3, 0.8, 0.55, 0.3, 0.3],
        }
    )


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("most_confident", ["a", "d", "e", "g"]),
        ("least_confident", ["i", "c", "f", "g"]),
        ("median", ["b", "j", "e", "g"]),
    ],
)
def test_select_cases_is_deterministic(outcomes, rule, expected):
    cases = figures.select_cases(outcomes, 0.5, rule=rule)
    assert cases["category"].tolist() == ["TP", "FN", "FP", "TN"]
    assert cases["id"].tolist() == expected


def test_select_cases_leaves_out_an_empty_outcome(outcomes):
    cases = figures.select_cases(outcomes[outcomes["label"] == 1], 0.5, per_category=2)
    assert cases["category"].tolist() == ["TP", "TP", "FN", "FN"] and cases["id"].tolist() == ["a", "b", "d", "j"]


@pytest.mark.parametrize(
    "options, match", [({"rule": "random"}, "unknown selection `rule` 'random'"), ({"per_category": 0}, "at least 1")]
)
def test_select_cases_refuses(outcomes, options, match):
    with pytest.raises(ValueError, match=match):
        figures.select_cases(outcomes, 0.5, **options)


@pytest.mark.parametrize("shape", [(60, 100), (100, 60), (50, 50)])
def test_unletterbox_undoes_the_letterbox(shape):
    image = np.zeros(shape, dtype=np.uint8)
    image[: shape[0] // 2, : shape[1] // 2] = 255  # the top-left quarter
    cam = letterbox(image, 64).astype(np.float32) / 255
    back = figures.unletterbox(cam, shape)
    assert back.shape == shape
    assert np.abs(back - image / 255).mean() < 0.05


def test_overlay_leaves_unimportant_regions_plain():
    image = np.full((4, 4), 100, dtype=np.uint8)
    cam = np.zeros((4, 4))
    cam[0, 0] = 1.0
    out = figures.overlay(image, cam, opacity=0.5)
    assert out.shape == (4, 4, 3) and np.allclose(out[1:, 1:], 100 / 255)
    assert not np.allclose(out[0, 0], 100 / 255)


def test_heatmap_figures_have_images_overlays_and_a_colour_bar(outcomes):
    cases = figures.select_cases(outcomes[~outcomes["id"].isin(["g", "h"])], 0.5)  # no true negative
    rng = np.random.default_rng(0)
    images = {i: rng.integers(0, 255, (30, 40), dtype=np.uint8) for i in outcomes["id"]}
    maps = {i: rng.random((30, 40)) for i in outcomes["id"]}
    gallery = figures.heatmap_gallery(cases, images, maps, title="t", method="gradcam++")
    assert "no true negative" in _texts(gallery)
    assert any("Grad-CAM++" in ax.get_ylabel() for ax in gallery.axes)
    across = figures.heatmap_architectures(
        cases,
        images,
        {"inception_v3": maps, "resnet101": maps},
        {"inception_v3": dict.fromkeys(outcomes["id"], 0.5), "resnet101": dict.fromkeys(outcomes["id"], 0.5)},
        title="t",
    )
    assert {"Inception V3", "ResNet-101", "Ultrasound image"} <= {ax.get_title() for ax in across.axes}
    assert sum(bool(ax.images) for ax in across.axes) == 3 * len(cases)


# --- provenance ----------------------------------------------------------------------


def test_software_versions_compares_pinned_installed_and_trained(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pins\nnumpy==1.0  # arrays\nno-such-package==2.0\n")
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"versions": {"numpy": "0.9", "timm": "1.0"}}))
    table = figures.software_versions(str(requirements), {"resnet101": str(card)}).set_index("package")
    assert table.loc["numpy", "pinned"] == "1.0" and table.loc["numpy", "installed"] == np.__version__
    assert table.loc["numpy", "trained (resnet101)"] == "0.9" and table.loc["timm", "trained (resnet101)"] == "1.0"
    assert table.loc["no-such-package", "installed"] == "not installed"
    assert {"python", "alnus"} <= set(table.index)
