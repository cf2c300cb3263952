"""What an answer to a checklist item is (Answer), the words that mark what
is left to the authors, and the phrases several answers share."""

from __future__ import annotations

from dataclasses import dataclass

AUTHORS = "To be completed by the authors"
STATUS_RUN, STATUS_BOTH, STATUS_AUTHORS = "from the run", "from the run; authors to complete", "authors"


@dataclass(frozen=True)
class Answer:
    """What the run says about an item (`text`), the outputs that show it
    (`where`), and what the authors must add (`authors`; None if nothing)."""

    text: str
    where: tuple[str, ...] = ()
    authors: str | None = None


def cohort_paths(run) -> str:
    """The manifest of each cohort of the run's config, as "development: `path`; external: `path`"."""
    return "; ".join(f"{c}: `{p['manifest']}`" for c, p in run.config["cohorts"].items())


def simulated_note(run) -> str:
    """A sentence saying the cohorts are simulated (with its leading space), or "" for a real study."""
    return " The cohorts of this run are simulated by the workflow (the demo), not patients." if run.simulated else ""
