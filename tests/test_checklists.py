"""Tests for alnus.checklists: CLAIM 2024 and TRIPOD+AI answered from a
small finished study (tests/test_run_facts.write_run)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_run_facts import TRAINING_RECORD, study_config, write_run

from alnus import checklists
from alnus import run_facts as facts
from alnus.checklists import ANSWERS, AUTHORS, CHECKLISTS, CLAIM_2024, STATUS_AUTHORS, STATUS_RUN, TRIPOD_AI
from alnus.formatting import format_auc


@pytest.fixture
def run(tmp_path):
    return facts.load_run(write_run(tmp_path / "run"), config=study_config(), simulated=True)


# --- the item tables ------------------------------------------------------------------


def test_claim_has_its_44_items_in_order():
    assert [item[0] for item in CLAIM_2024] == [str(n) for n in range(1, 45)]


def test_tripod_ai_has_its_27_items_with_sub_items_in_order():
    numbers = [item[0] for item in TRIPOD_AI]
    main = [int(re.match(r"\d+", n).group()) for n in numbers]
    assert sorted(set(main)) == list(range(1, 28)) and main == sorted(main)
    assert len(numbers) == len(set(numbers))
    assert {"3a", "3b", "3c", "12g", "18f", "23b", "27c"} <= set(numbers)


def test_tripod_ai_numbers_are_the_published_52():
    """The published numbering (the module docstring names where it was checked)."""
    published = (
        "1 2 3a 3b 3c 4 5a 5b 6a 6b 6c 7 8a 8b 8c 9a 9b 9c 10 11 12a 12b 12c 12d 12e 12f 12g 13 14 15 16 17 "
        "18a 18b 18c 18d 18e 18f 19 20a 20b 20c 21 22 23a 23b 24 25 26 27a 27b 27c"
    ).split()
    assert len(published) == 52
    assert [item[0] for item in TRIPOD_AI] == published


@pytest.mark.parametrize("items", [CLAIM_2024, TRIPOD_AI], ids=["claim", "tripod_ai"])
def test_every_named_answer_exists_and_paraphrases_are_short(items):
    assert {name for *_, name in items if name} <= set(ANSWERS)
    assert all(len(paraphrase.split()) <= 12 for _, _, paraphrase, _ in items)


def test_every_answer_is_used_by_a_checklist():
    used = {name for *_, name in CLAIM_2024 + TRIPOD_AI}
    assert set(ANSWERS) <= used


# --- answering ------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(CHECKLISTS))
def test_every_item_is_answered_or_left_to_the_authors(run, key):
    table = checklists.answer_items(CHECKLISTS[key][2], run)
    assert len(table) == len(CHECKLISTS[key][2])
    assert table["answer"].str.len().gt(0).all()
    authors = table[table["status"] == STATUS_AUTHORS]
    assert (authors["answer"] == AUTHORS).all() and len(authors) > 0
    assert (table.loc[table["status"] == STATUS_RUN, "authors"] == "").all()
    assert (table.loc[table["status"] != STATUS_AUTHORS, "where"].str.len() > 0).all()


def test_answers_cite_the_runs_numbers(run):
    table = checklists.answer_items(CLAIM_2024, run).set_index("number")
    assert "Training set: 40 images of 20 patients; 20 positive (50%)" in table.loc["19", "answer"]
    assert "0 of 70 patients have images in more than one set" in table.loc["20", "answer"]
    assert "Inception V3 epoch 7 of 12 (validation AUC 0.812)" in table.loc["26", "answer"]
    assert "python 3.11.7, torch 2.14.1, timm 1.0.31" in table.loc["23", "answer"]
    assert "2 radiologists read the external test set" in table.loc["18", "answer"]
    assert "simulated" in table.loc["7", "answer"]
    best = facts.best_row(run, "external_test")
    assert f"AUC {format_auc(best['auc'], best['auc_low'], best['auc_high'])}" in table.loc["33", "answer"]


def test_without_readers_or_sites_the_answers_say_so(tmp_path):
    config = study_config(readers=None)
    run = facts.load_run(write_run(tmp_path, readers=False, sites=False), config=config)
    table = checklists.answer_items(CLAIM_2024, run).set_index("number")
    assert table.loc["18", "answer"] == "The run has no readers' calls."
    assert "no site column" in table.loc["13", "answer"]
    assert "radiologists" not in table.loc["4", "answer"] and "simulated" not in table.loc["7", "answer"]


def test_missing_training_records_read_not_recorded(tmp_path):
    record = {k: v for k, v in TRAINING_RECORD.items() if k not in ("best_epoch", "precision")}
    paths = write_run(tmp_path, card_extra={"training": record})
    run = facts.load_run(paths, config=study_config())
    table = checklists.answer_items(CLAIM_2024, run).set_index("number")
    assert "Inception V3 epoch not recorded of 12" in table.loc["26", "answer"]
    assert "precision not recorded" in table.loc["25", "answer"]


def test_clinical_models_are_mentioned_only_through_metrics(run):
    assert checklists.predictors(run).text == "The image pixels only (the preprocessed grayscale image)."
    extra = run.metrics[run.metrics["model"] == "inception_v3"].assign(model="inception_v3+clinical")
    run.metrics = pd.concat([run.metrics, extra], ignore_index=True)
    assert "inception_v3+clinical" in checklists.predictors(run).text


def test_an_unknown_answer_name_is_refused(run):
    with pytest.raises(ValueError, match="item 9 names answer 'nope', which is not one of ANSWERS"):
        checklists.answer_items((("9", "Methods", "x", "nope"),), run)


# --- writing --------------------------------------------------------------------------


def test_write_checklists_writes_markdown_and_html(run, tmp_path):
    outputs = {k: {"markdown": str(tmp_path / f"{k}.md"), "html": str(tmp_path / f"{k}.html")} for k in CHECKLISTS}
    tables = checklists.write_checklists(run, outputs)
    claim = (tmp_path / "claim.md").read_text()
    counts = tables["claim"]["status"].value_counts()
    assert claim.startswith("# CLAIM 2024 checklist of this run")
    assert f"**44 items**: {counts[STATUS_RUN]} answered from the run" in claim
    assert "| 44 | Funding and the funders' role | **To be completed by the authors** |" in claim
    assert "## Methods: data partitions" in claim
    page = (tmp_path / "tripod_ai.html").read_text()
    assert "<h1>TRIPOD+AI checklist of this run</h1>" in page and "<td>27c</td>" in page


def test_write_checklists_refuses_an_unknown_checklist(run, tmp_path):
    with pytest.raises(ValueError, match="checklist 'stard' is not one of claim, tripod_ai"):
        checklists.write_checklists(
            run, {"stard": {"markdown": str(tmp_path / "a.md"), "html": str(tmp_path / "a.html")}}
        )


def test_a_cross_validated_run_says_so(tmp_path):
    """split: folds: the partitions, the training and the model selection name the folds."""
    models = [{"fold": k, "best_epoch": k, "best_validation_auc": 0.7 + k / 100, "epochs_run": 3} for k in (1, 2)]
    extra = {"cross_validation": {"folds": 2, "shown_fold": 1, "models": models}}
    run = facts.load_run(write_run(tmp_path, card_extra=extra), config=study_config(split={"folds": 2}))
    assert "dealt into 2 cross-validation folds" in checklists.partitions(run).text
    assert "seed(s) x 2 folds trained." in checklists.training(run).text
    assert (
        "fold 1 epoch 1 of 3 (AUC 0.710 on its held-out fold), fold 2 epoch 2 of 3 (AUC 0.720 on its held-out fold)"
    ) in checklists.selection(run).text
