"""End to end: the real Snakefile on a tiny simulated study (lint, dry run,
full run, report, the contract's outputs, no PHI in results/)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from design_contract import DESIGN_METRICS_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
SETS = {"train", "validation", "internal_test", "external_test"}
ARCHITECTURES = ["inception_v3", "inception_resnet_v2", "resnet101"]

pytestmark = pytest.mark.slow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(TINY),
        "--directory",
        str(workdir),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800)


# `study` (a finished tiny study and its report, built once per session) is in
# tests/conftest.py, shared with tests/test_report.py and tests/test_slurm.py.


def test_lint_is_clean(tmp_path):
    run = snakemake(tmp_path, "--lint")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Congratulations" in run.stdout + run.stderr


def test_dry_run_plans_every_stage(tmp_path):
    run = snakemake(tmp_path, "--dry-run", "--quiet", "rules")
    assert run.returncode == 0, run.stderr
    for rule in (
        "simulate_demo",
        "validate_inputs",
        "preprocess",
        "split",
        "train",
        "predict",
        "metrics",
        "roc_figure",
    ):
        assert rule in run.stdout


def test_splits_keep_patients_together(study):
    splits = pd.read_csv(study / "results/splits.csv", dtype=str)
    assert set(splits.columns) == {"id", "patient", "cohort", "set"}
    assert set(splits["set"]) == SETS
    assert splits.groupby("patient")["set"].nunique().max() == 1
    assert splits["id"].is_unique


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_predictions_cover_each_set(study, arch):
    splits = pd.read_csv(study / "results/splits.csv", dtype=str)
    for set_name in ("validation", "internal_test", "external_test"):
        frame = pd.read_csv(study / f"results/predictions/{arch}/{set_name}.csv", dtype={"id": str, "patient": str})
        assert list(frame.columns) == ["id", "patient", "label", "probability"]
        assert (frame["patient"] == frame["id"].map(splits.set_index("id")["patient"])).all()
        assert frame["probability"].between(0, 1).all()
        assert set(frame["id"]) == set(splits.loc[splits["set"] == set_name, "id"])
    card = json.loads((study / f"results/models/{arch}/model_card.json").read_text())
    assert card["architecture"] == arch and card["training"]["best_epoch"] >= 1


def test_metrics_table_has_the_contract_columns(study):
    metrics = pd.read_csv(study / "results/tables/metrics.csv")
    assert set(DESIGN_METRICS_COLUMNS + ["unit", "ci_method", "patients", "images"]) <= set(metrics.columns)
    # The simulated development cohort has about 1.36 images per patient: image and patient rows.
    assert list(dict.fromkeys(metrics["unit"])) == ["image", "patient"]
    image = metrics[metrics["unit"] == "image"]
    clustered = image["patients"] < image["images"]
    assert clustered.any() and image.loc[clustered, "ci_method"].str.contains("clustered by patient").all()
    patient = metrics[metrics["unit"] == "patient"]
    assert (patient["n"] == patient["patients"]).all() and (patient["images"] >= patient["patients"]).all()
    models = image[image["kind"] == "model"]
    assert len(models) == 3 * 2 and (metrics["kind"] == "model").sum() == 3 * 2 * 2
    assert not models[DESIGN_METRICS_COLUMNS].isna().any().any()
    assert (models["auc_low"] <= models["auc"]).all() and (models["auc"] <= models["auc_high"]).all()
    assert (models["tp"] + models["fp"] + models["tn"] + models["fn"] == models["n"]).all()
    readers = image[image["kind"] == "reader"]
    assert sorted(readers["model"]) == [f"reader_{i}" for i in range(1, 6)]
    mrmc = pd.read_csv(study / "results/tables/mrmc.csv")
    assert {"auc", "sensitivity", "specificity"} == set(mrmc["figure"])  # the simulated readers give scores
    assert set(mrmc["set"]) == {"external_test"} and mrmc["p"].between(0, 1).all()


def test_clinical_variables_give_combined_and_clinical_only_models(study):
    """The tiny study declares clinical columns: the combined models (each
    network's logit with them) and the clinical-only model, fitted on
    validation, are scored, tested against their networks and drawn."""
    clinical = pd.read_csv(study / "results/preprocessed/clinical.csv", dtype={"id": str})
    splits = pd.read_csv(study / "results/splits.csv", dtype=str)
    assert list(clinical.columns) == ["id", "cohort", "age", "tumour_size_mm", "birads"]
    assert set(clinical["id"]) == set(splits["id"]) and clinical["age"].max() <= 90
    combined = ["inception_v3+clinical", "inception_resnet_v2+clinical", "resnet101+clinical", "ensemble+clinical"]
    metrics = pd.read_csv(study / "results/tables/metrics.csv")
    image = metrics[metrics["unit"] == "image"]
    assert set(image.loc[image["kind"] == "combined", "model"]) == set(combined)
    assert (image["kind"] == "clinical").sum() == 2 and image["auc"].between(0, 1).all()
    comparisons = pd.read_csv(study / "results/tables/comparisons.csv")
    pairs = set(
        zip(
            comparisons.loc[comparisons["family"] == "clinical", "a"],
            comparisons.loc[comparisons["family"] == "clinical", "b"],
        )
    )
    assert {(m, m.removesuffix("+clinical")) for m in combined} | {(m, "clinical") for m in combined} == pairs
    assert not comparisons.loc[comparisons["measure"] != "auc", "a"].str.contains("clinical").any()
    coefficients = pd.read_csv(study / "results/tables/combined_coefficients.csv")
    assert set(coefficients["model"]) == {*combined, "clinical"} and set(coefficients["fitted_on"]) == {"validation"}
    estimated = coefficients.dropna(subset=["coefficient"])  # a network with one probability is left out, and said
    assert (estimated["or_low"] <= estimated["odds_ratio"]).all()
    assert coefficients.loc[coefficients["coefficient"].isna(), "label"].str.contains("left out").all()
    assert "ResNet-101 + clinical" in (study / "results/tables/table2.md").read_text()
    assert cv2.imread(str(study / "results/figures/nomogram_resnet101+clinical.png")) is not None
    assert "nomogram" in (study / "results/report.html").read_text()


@pytest.mark.parametrize("name", ["roc_internal_test.png", "roc_external_test.png"])
def test_figures_are_pngs_that_open(study, name):
    image = cv2.imread(str(study / "results/figures" / name))
    assert image is not None and image.shape[0] > 500
    assert (study / "results/figures" / name.replace(".png", ".pdf")).read_bytes().startswith(b"%PDF")


def test_report_builds_with_figures(study):
    html = (study / "results/report.html").read_text()
    assert "roc_external_test.png" in html and "metrics.csv" in html


@pytest.mark.parametrize("name, items", [("claim", 44), ("tripod_ai", 52)])
def test_checklists_answer_or_leave_to_the_authors_every_item(study, name, items):
    """Each item's row (| number | topic | answer | where | for the authors |)
    has an answer from the run or says the authors complete it."""
    text = (study / f"results/report/{name}.md").read_text()
    rows = [line.split(" | ") for line in text.splitlines() if re.match(r"^\| \d+[a-g]? \| ", line)]
    assert len(rows) == items
    assert all(len(row[2]) > 20 for row in rows)
    assert sum("To be completed by the authors" in row[2] for row in rows) >= 4
    assert (study / f"results/report/{name}.html").read_text().startswith("<!DOCTYPE html>")
    assert f"results/report/{name}.html" in (study / "results/report.html").read_text()


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_model_cards_report_each_test_set(study, arch):
    text = (study / f"results/models/{arch}/model_card.md").read_text()
    for heading in (
        "## Intended use",
        "## Training data",
        "## Quantitative analyses",
        "## Caveats and recommendations",
    ):
        assert heading in text
    assert "| Internal test set | image |" in text and "| External test set | image |" in text
    assert '"spatial_shape"' in text and "Scanner shift and the threshold" in text


def test_preprocessed_images_are_plain_grayscale(study):
    images = sorted((study / "results/preprocessed/external/images").glob("*.png"))
    assert images
    for path in images[:5]:
        data = path.read_bytes()
        for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"tIME"):
            assert chunk not in data
        assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).ndim == 2


def test_no_phi_reaches_results(study):
    """No simulated PHI string (names, ids, dates, institutions, source file
    names) occurs in any file under results/, text or binary."""
    phi = json.loads((study / "resources/demo/phi.json").read_text())
    strings = {s for values in phi.values() for s in (values if isinstance(values, list) else [values]) if len(s) >= 6}
    assert strings
    leaks = []
    for path in (study / "results").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaks += [f"{path}: {s}" for s in strings if s.encode() in data]
    assert not leaks, leaks[:10]
    assert not list((study / "results").rglob("*.key"))


def test_second_run_has_nothing_to_do(study):
    run = snakemake(study, "--cores", "2", "--dry-run")
    assert run.returncode == 0
    assert "Nothing to be done" in run.stdout + run.stderr


def test_bad_inputs_are_named_in_one_run_before_any_image_is_preprocessed(tmp_path):
    """A user's manifest with several problems and a corrupt image: rule
    validate_inputs prints the manifest's problems first (its quick check),
    then names them again with the corrupt image in one message and stops
    the run; no preprocessing job starts and no file is written under
    results/."""
    images = tmp_path / "data" / "images"
    images.mkdir(parents=True)
    cv2.imwrite(str(images / "a.png"), np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8))
    (images / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))  # a PNG signature, nothing decodable
    manifest = tmp_path / "data" / "manifest.csv"
    manifest.write_text("image,patient_id,label\na.png,P1,1\na.png,P1,0\nmissing.png,,2\nb.png,P2,0\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        "cohorts:\n"
        f"  development: {{manifest: {manifest}, images: {images}}}\n"
        f"  external: {{manifest: {manifest}, images: {images}}}\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "--configfile",
            str(config),
            "--directory",
            str(tmp_path),
            "--cores",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Start-up input check" in output
    one_message = output[output.index("ALN-US error (full log: logs/validate_inputs.log)") :]
    assert f"The development manifest {manifest} has 5 problem(s):" in one_message
    for expected in (
        "line 3: image 'a.png' is listed again",
        "line 4: `label` must be 0 or 1",
        "line 4: `patient_id`",
        "missing.png does not exist",
        f"line 5: image {images / 'b.png'} cannot be used",
    ):
        assert expected in one_message
    assert "rule preprocess:" not in output
    assert not [path for path in (tmp_path / "results").rglob("*") if path.is_file()]


# --- cross-validation (split: folds) -------------------------------------------

# The tiny study as a 2-fold cross-validation of its smallest architecture.
FOLDS_CONFIG = """\
architectures: [resnet101]
readers: null
clinical: {variables: []}
split: {folds: 2}
"""


def snakemake_with(workdir: Path, extra: str, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """snakemake on the tiny config with `extra` (YAML) on top of it."""
    override = workdir / "override.yaml"
    override.write_text(extra)
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(TINY),
        str(override),
        "--directory",
        str(workdir),
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def fold_study(tmp_path_factory) -> Path:
    """A finished tiny 2-fold study (every default target)."""
    workdir = tmp_path_factory.mktemp("folds")
    lint = snakemake_with(workdir, FOLDS_CONFIG, "--lint")
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
    run = snakemake_with(workdir, FOLDS_CONFIG, "--cores", "2")
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"id": str, "patient": str})


def test_folds_train_one_model_per_fold_on_the_other_folds(fold_study):
    splits = read(fold_study / "results/splits.csv")
    assert list(splits.columns) == ["id", "patient", "cohort", "set", "fold"]
    development = splits["set"].isin(["train", "validation"])
    assert set(splits.loc[development, "fold"]) == {1, 2} and splits.loc[~development, "fold"].isna().all()
    assert splits[development].groupby("patient")["fold"].nunique().max() == 1
    for k in (1, 2):
        card = json.loads((fold_study / f"results/models/resnet101/fold-{k}/model_card.json").read_text())
        held = int((splits["fold"] == k).sum())
        assert card["fold"] == k and card["validation_images"] == held
        assert card["train_images"] == int(development.sum()) - held
        assert (fold_study / f"results/models/resnet101/fold-{k}/model.safetensors").stat().st_size > 0
    assert not (fold_study / "results/models/resnet101/model.safetensors").exists()
    ensemble = json.loads((fold_study / "results/models/resnet101/model_card.json").read_text())
    assert [m["fold"] for m in ensemble["cross_validation"]["models"]] == [1, 2]
    assert "2-fold ensemble" in (fold_study / "results/models/resnet101/model_card.md").read_text()


def test_fold_validation_is_out_of_fold_and_the_tests_the_fold_mean(fold_study):
    splits = read(fold_study / "results/splits.csv").set_index("id")
    predictions = fold_study / "results/predictions/resnet101"
    validation = read(predictions / "validation.csv")
    development = splits.index[splits["set"].isin(["train", "validation"])]
    assert validation["id"].is_unique and set(validation["id"]) == set(development)
    assert (validation["fold"] == validation["id"].map(splits["fold"])).all()
    for k in (1, 2):
        own = read(predictions / f"fold-{k}/validation.csv")
        assert set(own["id"]) == set(splits.index[splits["fold"] == k])
        pd.testing.assert_series_equal(
            validation.loc[validation["fold"] == k, "probability"].reset_index(drop=True),
            own["probability"],
            check_names=False,
            atol=1e-7,
        )
    for set_name in ("internal_test", "external_test"):
        mean = read(predictions / f"{set_name}.csv")
        folds = [read(predictions / f"fold-{k}/{set_name}.csv") for k in (1, 2)]
        assert set(mean["id"]) == set(splits.index[splits["set"] == set_name])
        assert all(list(f["id"]) == list(mean["id"]) for f in folds)
        np.testing.assert_allclose(
            mean["probability"], (folds[0]["probability"] + folds[1]["probability"]) / 2, atol=1e-7
        )


def test_folds_table_has_each_fold_and_the_out_of_fold_estimate(fold_study):
    table = pd.read_csv(fold_study / "results/tables/folds.csv", dtype={"fold": str})
    assert set(zip(table["fold"], table["set"])) == {
        *((k, s) for k in ("1", "2") for s in ("validation", "internal_test", "external_test")),
        ("out-of-fold", "validation"),
        ("mean", "internal_test"),
        ("mean", "external_test"),
    }
    oof = table[table["fold"] == "out-of-fold"].iloc[0]
    splits = read(fold_study / "results/splits.csv")
    assert oof["n"] == splits["set"].isin(["train", "validation"]).sum()
    assert oof["auc_low"] <= oof["auc"] <= oof["auc_high"] and "clustered by patient" in oof["ci_method"]
    metrics = pd.read_csv(fold_study / "results/tables/metrics.csv")
    assert set(metrics.loc[metrics["kind"] == "model", "set"]) == {"internal_test", "external_test"}


def test_too_many_folds_stop_the_run_before_training(tmp_path):
    run = snakemake_with(tmp_path, FOLDS_CONFIG.replace("folds: 2", "folds: 40"), "--cores", "2")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "ALN-US error (full log: logs/split.log)" in output
    assert re.search(r"`split: folds` is 40, .* are \d+ with metastasis \(label 1\) and \d+ without", output)
    assert "set `split: folds` to at most" in output
    assert "rule train:" not in output and not (tmp_path / "results/models").exists()
