"""Writing the checklists: CHECKLISTS, the checklists by output name, and
their rendering as document blocks (alnus.documents) to Markdown and HTML."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alnus import run_facts as facts
from alnus.checklists import claim, tripod_ai
from alnus.checklists.answer import AUTHORS, STATUS_AUTHORS, STATUS_BOTH, STATUS_RUN
from alnus.checklists.answering import answer_items
from alnus.documents import to_html, to_markdown

# Each checklist by output name (claim.md, tripod_ai.md): its title, its reference and its item table.
CHECKLISTS = {
    "claim": (claim.TITLE, claim.REFERENCE, claim.CLAIM_2024),
    "tripod_ai": (tripod_ai.TITLE, tripod_ai.REFERENCE, tripod_ai.TRIPOD_AI),
}


def checklist_blocks(key: str, answered: pd.DataFrame, *, simulated: bool = False) -> list[tuple]:
    """A checklist as document blocks (alnus.documents): a heading, a count of
    the items answered, and one table per section."""
    title, reference, _ = CHECKLISTS[key]
    counts = answered["status"].value_counts()
    blocks = [
        ("heading", 1, f"{title} checklist of this run"),
        (
            "paragraph",
            f"{reference}. Each item is paraphrased here with its published number; read the published "
            "list for its wording. The answers are drawn from this run's outputs (the column "
            "**Where** names the file); the authors complete what the run cannot know.",
        ),
        (
            "paragraph",
            f"**{len(answered)} items**: {counts.get(STATUS_RUN, 0)} answered from the run, "
            f"{counts.get(STATUS_BOTH, 0)} answered from the run with a part for the authors, "
            f"{counts.get(STATUS_AUTHORS, 0)} for the authors alone.",
        ),
    ]
    if simulated:
        blocks.append(
            ("paragraph", "This run analyses the simulated demo cohorts: its answers describe simulated data.")
        )
    for section, part in answered.groupby("section", sort=False):
        blocks.append(("heading", 2, section))
        rows = [
            [
                r.number,
                r.item,
                r.answer if r.status != STATUS_AUTHORS else f"**{AUTHORS}**",
                r.where,
                r.authors if r.status == STATUS_BOTH else "",
            ]
            for r in part.itertuples()
        ]
        blocks.append(("table", ["Item", "Topic", "Answer from this run", "Where", "For the authors"], rows))
    return blocks


def write_checklists(run, outputs: dict[str, dict[str, str]]) -> dict[str, pd.DataFrame]:
    """Answer and write each checklist of `outputs` (key -> {"markdown": path,
    "html": path}; keys of CHECKLISTS) and return the answered tables.

    Raises
    ------
    ValueError
        If a key is not a checklist of CHECKLISTS.
    """
    answered = {}
    for key, paths in outputs.items():
        if key not in CHECKLISTS:
            raise ValueError(f"checklist {key!r} is not one of {', '.join(CHECKLISTS)}")
        table = answer_items(CHECKLISTS[key][2], run)
        blocks = checklist_blocks(key, table, simulated=run.simulated)
        Path(paths["markdown"]).parent.mkdir(parents=True, exist_ok=True)
        Path(paths["markdown"]).write_text(to_markdown(blocks))
        Path(paths["html"]).write_text(to_html(blocks, title=f"{CHECKLISTS[key][0]} checklist"))
        answered[key] = table
    return answered


def checklists_from_files(paths: dict, *, config: dict, simulated: bool, outputs: dict[str, dict[str, str]]) -> None:
    """load_run over the run's outputs (`paths`, as alnus.run_facts.load_run
    takes them), then write_checklists to `outputs`."""
    write_checklists(facts.load_run(paths, config=config, simulated=simulated), outputs)
