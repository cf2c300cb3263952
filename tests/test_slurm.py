"""The cluster path, proven on a real SLURM: a single-node cluster on this
machine (tests/slurm_cluster.py) runs the tiny study, as far as its tables,
through Snakemake's SLURM executor plugin with profiles/slurm, and gives the
same tables as a local run; a failed job is retried with more memory, and
one that keeps failing is reported and leaves no output behind.

Skipped where SLURM and munge are not installed (.ci/run installs them) or
where this machine already has a SLURM configuration of its own."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from slurm_cluster import SingleNodeSlurm, unusable_reason

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"
PROFILE = ROOT / "profiles" / "slurm"
ARCHITECTURES = ["inception_v3", "inception_resnet_v2", "resnet101"]
SETS = ["validation", "internal_test", "external_test"]
UNUSABLE = unusable_reason()

pytestmark = [pytest.mark.slow, pytest.mark.skipif(UNUSABLE is not None, reason=str(UNUSABLE))]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with SingleNodeSlurm(tmp_path_factory.mktemp("slurm")) as running:
        yield running


def on_slurm(cluster: SingleNodeSlurm, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake with `args` (targets first) and the SLURM profile, started in
    `workdir`, as a user would.
    Added for the test cluster only: the first status query after 1 s rather
    than 40 s, and no job asking for more threads than the local reference
    run used (2) or more memory than the node has; and none of the user's
    account or partition settings."""
    env = {k: v for k, v in cluster.env.items() if not k.startswith(("SBATCH_", "ALNUS_GPU_"))}
    command = [
        sys.executable,
        "-m",
        "snakemake",
        *args,
        "--profile",
        str(PROFILE),
        "--executor",
        "slurm",
        "--jobs",
        "2",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--max-threads",
        str(min(2, cluster.cpus)),
        "--resources",
        f"mem_mb={cluster.memory_mb}",
    ]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=1800)


def run_id(run: subprocess.CompletedProcess) -> str:
    """The SLURM job name the plugin gives every job of one Snakemake run."""
    found = re.search(r"SLURM run ID: (\S+)", run.stdout + run.stderr)
    assert found, run.stderr[-4000:]
    return found.group(1)


def rule_of(job: dict[str, str]) -> str:
    """The rule of a SLURM job, from the comment the plugin gives it
    ("rule_train_wildcards_resnet101")."""
    return job["comment"].removeprefix("rule_").split("_wildcards_")[0]


@pytest.fixture(scope="module")
def slurm_study(cluster, study, tmp_path_factory):
    """The tiny study run through SLURM as far as its tables of results
    (the figures and report are the local run's business): its folder,
    Snakemake's output, and the SLURM jobs of that run. It uses the local
    run's pseudonym key, as a rerun of the same study would, so that its
    pseudonyms, and with them the split and the training, are the same; and
    the local run's simulated cohorts as its raw data (copied with their
    times, so that they count as up to date), as a hospital's would be."""
    workdir = tmp_path_factory.mktemp("slurm_study")
    (workdir / "private").mkdir()
    shutil.copy2(study / "private" / "pseudonym.key", workdir / "private" / "pseudonym.key")
    shutil.copytree(study / "resources" / "demo", workdir / "resources" / "demo")
    targets = ["results/tables/metrics.csv", "results/tables/comparisons.csv"]
    run = on_slurm(cluster, workdir, *targets, "-s", str(ROOT / "Snakefile"), "--configfile", str(TINY))
    assert run.returncode == 0, run.stderr[-6000:] + cluster.logs()
    jobs = [job for job in cluster.jobs() if job["name"] == run_id(run)]
    return workdir, run.stdout + run.stderr, jobs


def test_compute_jobs_ran_as_slurm_jobs(slurm_study):
    """Every job Snakemake submitted ("rule X:") is a SLURM job that completed,
    and every SLURM job of the run is one of them; local rules ("localrule X:")
    ran on the submit host; training jobs, and only they, asked for a GPU."""
    _, output, jobs = slurm_study
    submitted = sorted(re.findall(r"^rule (\w+):$", output, flags=re.MULTILINE))
    local = set(re.findall(r"^localrule (\w+):$", output, flags=re.MULTILINE))
    assert sorted(rule_of(job) for job in jobs) == submitted
    assert all(job["state"] == "COMPLETED" for job in jobs), jobs
    assert [submitted.count(rule) for rule in ("preprocess", "train", "predict")] == [2, 3, 3]
    assert {"split", "metrics", "comparisons"} <= local
    for job in jobs:
        assert ("gpu" in job["gpus"]) == (rule_of(job) == "train"), job


def test_outputs_equal_a_local_run(slurm_study, study):
    """Same split, same predictions to the byte, same tables: training on a
    SLURM node is the training of a local run. (CPU training is bit-exact only
    for the same thread count, recorded as training.threads in the model card;
    both runs here use 2.)"""
    workdir, _, _ = slurm_study
    same = ["results/splits.csv"] + [f"results/predictions/{arch}/{s}.csv" for arch in ARCHITECTURES for s in SETS]
    for path in same:
        assert (workdir / path).read_bytes() == (study / path).read_bytes(), path
    for table in ("metrics.csv", "comparisons.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(workdir / "results/tables" / table), pd.read_csv(study / "results/tables" / table)
        )


FAILING_WORKFLOW = """
rule all:
    input:
        "flaky.txt",
        "doomed.txt",


# Killed by the scheduler on its first attempt (2000 MB, the profile's default),
# after writing part of its output; the retry gets twice the memory.
rule flaky:
    output:
        "flaky.txt",
    log:
        "logs/flaky.log",
    shell:
        "echo partial > {output}; "
        "if [ {resources.mem_mb} -le 2000 ]; then scancel $SLURM_JOB_ID; sleep 60; fi; "
        "echo mem_mb={resources.mem_mb} > {output}"


# Fails on every attempt, after writing part of its output.
rule doomed:
    output:
        "doomed.txt",
    log:
        "logs/doomed.log",
    shell:
        "echo partial > {output}; exit 3"
"""


def test_failed_jobs_are_retried_then_reported(cluster, tmp_path):
    (tmp_path / "Snakefile").write_text(FAILING_WORKFLOW)
    run = on_slurm(cluster, tmp_path)
    output = run.stdout + run.stderr
    jobs = {job["id"]: job for job in cluster.jobs() if job["name"] == run_id(run)}
    flaky = sorted((job for job in jobs.values() if job["comment"] == "rule_flaky"), key=lambda job: int(job["id"]))
    assert [(job["state"], job["memory"]) for job in flaky] == [("CANCELLED", "2000M"), ("COMPLETED", "4000M")]
    assert (tmp_path / "flaky.txt").read_text() == "mem_mb=4000\n"
    doomed = [job for job in jobs.values() if job["comment"] == "rule_doomed"]
    assert [job["state"] for job in doomed] == ["FAILED", "FAILED"]
    assert run.returncode != 0
    assert "Error in rule doomed" in output and f"SLURM-job '{doomed[-1]['id']}' failed" in output
    assert not (tmp_path / "doomed.txt").exists()
