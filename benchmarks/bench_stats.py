"""Benchmark of alnus.stats against R's pROC, on the same data in the same run.

    python benchmarks/bench_stats.py            # the issue's sizes
    python benchmarks/bench_stats.py --quick    # small sizes, a smoke run

Times (median of --repeats runs, wall clock) and agreement of:
  * DeLong AUC and 95% CI on 1,000,000 scores (delong_ci vs roc + ci.auc(method = "delong"));
  * a 2,000-resample stratified bootstrap CI of the AUC on 1,000 cases
    (bootstrap_auc_ci vs ci.auc(method = "bootstrap", boot.stratified = TRUE)).
pROC is timed inside R (system.time), so R's start-up and reading the data are
left out. Without Rscript and pROC only the Python side runs. Prints a
Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.stats import bootstrap_auc_ci, delong_ci  # noqa: E402

R_SCRIPT = r"""
suppressMessages(library(pROC))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); b <- read.csv(args[2]); repeats <- as.integer(args[3]); resamples <- as.integer(args[4])
med <- function(f) median(replicate(repeats, system.time(f())[["elapsed"]]))
ci_d <- NULL
t_d <- med(function() { r <- roc(d$label, d$score, levels = c(0, 1), direction = "<", quiet = TRUE)
                        ci_d <<- ci.auc(r, method = "delong") })
ci_b <- NULL; r_b <- NULL
t_b <- med(function() { r_b <<- roc(b$label, b$score, levels = c(0, 1), direction = "<", quiet = TRUE)
                        ci_b <<- ci.auc(r_b, method = "bootstrap", boot.n = resamples, boot.stratified = TRUE,
                                        progress = "none") })
# ci.auc's middle value is the bootstrap median for method "bootstrap"; the AUC itself is auc().
cat(sprintf("delong_time=%.6f delong_auc=%.12f delong_low=%.12f delong_high=%.12f\n", t_d, ci_d[2], ci_d[1], ci_d[3]))
cat(sprintf("boot_time=%.6f boot_auc=%.12f boot_low=%.12f boot_high=%.12f\n", t_b, as.numeric(auc(r_b)), ci_b[1], ci_b[3]))
cat(sprintf("version=%s\n", as.character(packageVersion("pROC"))))
"""


def data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Balanced labels and binormal scores (AUC about 0.76), shape (n,) each."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    return labels, rng.normal(size=n) + labels


def median_time(function, repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls, and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run_proc(delong_data, boot_data, *, repeats: int, resamples: int) -> dict[str, str] | None:
    """pROC's timings and results on the same data, or None without R/pROC."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, (labels, scores) in (("delong", delong_data), ("boot", boot_data)):
            path = Path(tmp) / f"{name}.csv"
            np.savetxt(
                path, np.c_[labels, scores], delimiter=",", header="label,score", comments="", fmt=["%d", "%.17g"]
            )
            paths.append(str(path))
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), *paths, str(repeats), str(resamples)], capture_output=True, text=True
        )
    if out.returncode != 0:
        print(f"pROC run failed, Python only:\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    return dict(item.split("=") for item in out.stdout.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-delong", type=int, default=1_000_000)
    parser.add_argument("--n-bootstrap", type=int, default=1_000)
    parser.add_argument("--resamples", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--quick", action="store_true", help="10,000 scores, 200 resamples, 2 repeats")
    args = parser.parse_args()
    if args.quick:
        args.n_delong, args.resamples, args.repeats = 10_000, 200, 2

    delong_data, boot_data = data(args.seed, args.n_delong), data(args.seed + 1, args.n_bootstrap)
    t_delong, ours_delong = median_time(lambda: delong_ci(*delong_data), args.repeats)
    t_boot, ours_boot = median_time(
        lambda: bootstrap_auc_ci(*boot_data, n_resamples=args.resamples, seed=args.seed), args.repeats
    )
    proc = run_proc(delong_data, boot_data, repeats=args.repeats, resamples=args.resamples)

    print(
        f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}; pROC {proc['version'] if proc else 'not available'}; "
        f"median of {args.repeats} runs.\n"
    )
    print(
        "| task | alnus.stats (s) | pROC (s) | AUC (ours / pROC) | 95% CI (ours) | 95% CI (pROC) | max abs difference |"
    )
    print("|---|---:|---:|---|---|---|---:|")
    for task, seconds, ours, key in (
        (f"DeLong CI, n = {args.n_delong:,}", t_delong, ours_delong, "delong"),
        (f"stratified bootstrap CI, n = {args.n_bootstrap:,}, {args.resamples:,} resamples", t_boot, ours_boot, "boot"),
    ):
        if proc:
            theirs = tuple(float(proc[f"{key}_{k}"]) for k in ("auc", "low", "high"))
            diff = max(abs(a - b) for a, b in zip(ours, theirs))
            r_cells = (
                f"{float(proc[f'{key}_time']):.3f}",
                f"{ours[0]:.6f} / {theirs[0]:.6f}",
                f"{theirs[1]:.6f}, {theirs[2]:.6f}",
                f"{diff:.1e}",
            )
        else:
            r_cells = ("n/a", f"{ours[0]:.6f} / n/a", "n/a", "n/a")
        print(
            f"| {task} | {seconds:.3f} | {r_cells[0]} | {r_cells[1]} | {ours[1]:.6f}, {ours[2]:.6f} | "
            f"{r_cells[2]} | {r_cells[3]} |"
        )


if __name__ == "__main__":
    main()
