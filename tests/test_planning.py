"""What the workflow plans for a configuration (dry runs; nothing is trained)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def dry_run(workdir: Path, *extra: str) -> str:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(TINY),
        *extra,
        "--directory",
        str(workdir),
        "--dry-run",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def test_further_seeds_train_every_architecture_again_and_feed_the_metrics(tmp_path):
    (tmp_path / "seeds.yaml").write_text("training:\n  seeds: [7, 11, 12]\n")  # 7 is the main seed: not repeated
    plan = dry_run(tmp_path, str(tmp_path / "seeds.yaml"))
    trained = sorted(re.findall(r"output: results/models/(\S+)/model\.safetensors", plan))
    assert trained == sorted(
        f"{arch}{suffix}"
        for arch in ("inception_v3", "inception_resnet_v2", "resnet101")
        for suffix in ("", "/seed-11", "/seed-12")
    )
    metrics = next(block for block in plan.split("\n\n") if "rule metrics:" in block)
    for arch in ("inception_v3", "inception_resnet_v2", "resnet101"):
        assert f"results/predictions/{arch}/seed-12/external_test.csv" in metrics
    assert "seed-7" not in plan


def test_without_further_seeds_each_architecture_trains_once(tmp_path):
    plan = dry_run(tmp_path)
    assert len(re.findall(r"output: results/models/\S+/model\.safetensors", plan)) == 3
    assert "seed-" not in plan
