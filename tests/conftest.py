"""Fixtures shared by the end-to-end tests: one finished tiny study, run
locally once per test session, for tests/test_workflow.py (its contract) and
tests/test_slurm.py (the reference a SLURM run must equal)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
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


@pytest.fixture(scope="session")
def study(tmp_path_factory) -> Path:
    """A finished tiny study (run locally with 2 cores) and its report."""
    workdir = tmp_path_factory.mktemp("study")
    run = _snakemake(workdir, "--cores", "2")
    assert run.returncode == 0, run.stderr[-4000:]
    report = _snakemake(workdir, "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-4000:]
    return workdir
