"""Coverage of clustered against image-level 95% intervals, when a patient has several images.

    python benchmarks/bench_coverage.py                  # 1,000 studies per cell
    python benchmarks/bench_coverage.py --studies 4000   # what docs/benchmarks.md reports
    python benchmarks/bench_coverage.py --studies 100 --timing-images 100000   # a smoke run

Simulated studies: n patients (40 or 200), half of them positive (the label is
the patient's, so all its images share it), each with 1 image or 1-4 images
(uniform, drawn per patient). Image j of patient i scores

    x_ij = d * y_i + sqrt(rho) * u_i + sqrt(1 - rho) * e_ij,   u, e ~ N(0, 1),

so every image is N(d * y, 1) and two images of one patient correlate rho
(0, 0.5, 0.8). The AUC estimated is the image-level one (every positive image
against every negative image, as Obuchowski's method estimates); its pairs are
always images of two different patients, so the true value is
P(x_pos > x_neg) = Phi(d / sqrt(2)) = 0.8 exactly with d = sqrt(2) Phi^-1(0.8),
whatever rho and the images per patient (checked by Monte Carlo below).
Sensitivity and specificity are the shares of positive (negative) images with
x >= c, c = d - Phi^-1(0.85): true sensitivity 0.85, specificity Phi(c).

Per study, the 95% intervals: AUC by alnus.stats.delong_ci (images as if
independent) and alnus.stats.clustered_auc_ci (method "wald", the default, and
"logit"); sensitivity and specificity by alnus.stats.proportion_ci
("wilson_cc", images as if independent) and
alnus.clustered.clustered_proportion_ci (skipped with a note if that module is
missing). Type I error at alpha = 0.05 of the paired comparison of two models
with equal true AUC 0.8 on the same images (model B's patient and image terms
correlate 0.5 with model A's): alnus.stats.delong_test against
alnus.stats.clustered_auc_test. And the time of clustered_auc_ci on
1,000,000 images of 200,000 patients. Prints Markdown tables for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.stats import (  # noqa: E402
    clustered_auc_ci,
    clustered_auc_test,
    delong_ci,
    delong_test,
    proportion_ci,
)

try:
    from alnus.clustered import clustered_proportion_ci  # noqa: E402
except ImportError:
    clustered_proportion_ci = None

TRUE_AUC = 0.8
D_PRIME = math.sqrt(2) * sps.norm.ppf(TRUE_AUC)
TRUE_SENSITIVITY = 0.85
THRESHOLD = D_PRIME - sps.norm.ppf(TRUE_SENSITIVITY)
TRUE_SPECIFICITY = float(sps.norm.cdf(THRESHOLD))
MODEL_CORRELATION = 0.5  # between model A's and model B's patient (and image) terms
# (patients, images per patient, rho); rho is moot with one image per patient.
CELLS = [(n, images, rho) for n in (40, 200) for images, rho in (("1", 0.0), ("1-4", 0.0), ("1-4", 0.5), ("1-4", 0.8))]
COLUMNS = [
    "AUC DeLong (images)",
    "AUC clustered",
    "AUC clustered logit",
    "Sens Wilson-cc (images)",
    "Sens clustered",
    "Spec Wilson-cc (images)",
    "Spec clustered",
    "Type I DeLong (images)",
    "Type I clustered",
]


def processor() -> tuple[str, str]:
    """The CPU's model name and which of avx512_bf16 / amx_* it has, from /proc/cpuinfo."""
    name, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name in ("unknown", platform.processor()):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = sorted(f for f in flags if f == "avx512_bf16" or f.startswith("amx"))
    return name, ", ".join(wanted) if wanted else "no avx512_bf16, no amx"


def simulate(rng, n_patients, images, rho):
    """One study: labels, model A and B scores, patient of each image; shape (n_images,) each."""
    sizes = rng.integers(1, 5, n_patients) if images == "1-4" else np.ones(n_patients, int)
    clusters = np.repeat(np.arange(n_patients), sizes)
    labels = (np.arange(n_patients) % 2)[clusters]
    n = clusters.size
    u = rng.normal(size=(2, n_patients))[:, clusters]
    e = rng.normal(size=(2, n))
    r, s = MODEL_CORRELATION, math.sqrt(1 - MODEL_CORRELATION**2)
    a = D_PRIME * labels + math.sqrt(rho) * u[0] + math.sqrt(1 - rho) * e[0]
    b = D_PRIME * labels + math.sqrt(rho) * (r * u[0] + s * u[1]) + math.sqrt(1 - rho) * (r * e[0] + s * e[1])
    return labels, a, b, clusters


def covers(interval, truth):
    return interval[0] <= truth <= interval[1]


def one_study(rng, n_patients, images, rho):
    """Hits (1/0) per COLUMNS entry; None where clustered_proportion_ci is missing."""
    labels, a, b, clusters = simulate(rng, n_patients, images, rho)
    hits = [
        covers(delong_ci(labels, a)[1:], TRUE_AUC),
        covers(clustered_auc_ci(labels, a, clusters)[1:], TRUE_AUC),
        covers(clustered_auc_ci(labels, a, clusters, method="logit")[1:], TRUE_AUC),
    ]
    for cls, truth in ((1, TRUE_SENSITIVITY), (0, TRUE_SPECIFICITY)):
        right = (a[labels == cls] >= THRESHOLD) == (cls == 1)
        hits.append(covers(proportion_ci(int(right.sum()), right.size), truth))
        hits.append(
            None
            if clustered_proportion_ci is None
            else covers(clustered_proportion_ci(right, clusters[labels == cls])[1:], truth)
        )
    hits.append(delong_test(labels, a, b)[1] < 0.05)
    hits.append(clustered_auc_test(labels, a, b, clusters)[1] < 0.05)
    return hits


def run_cell(n_patients, images, rho, studies, seed):
    rng = np.random.default_rng(seed)
    rows = [one_study(rng, n_patients, images, rho) for _ in range(studies)]
    return [None if rows[0][j] is None else 100 * float(np.mean([r[j] for r in rows])) for j in range(len(COLUMNS))]


def check_truth(seed, draws):
    """Monte Carlo AUC, sensitivity and specificity of single images (the analytic truths)."""
    rng = np.random.default_rng(seed)
    pos, neg = D_PRIME + rng.normal(size=draws), rng.normal(size=draws)
    return float(np.mean(pos > neg)), float(np.mean(pos >= THRESHOLD)), float(np.mean(neg < THRESHOLD))


def time_large(n_images, n_patients, repeats, seed):
    """Median seconds of clustered_auc_ci on n_images images of n_patients patients (int and str ids)."""
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.multinomial(n_images - n_patients, np.full(n_patients, 1 / n_patients))
    clusters = np.repeat(np.arange(n_patients), sizes)
    labels = (np.arange(n_patients) % 2)[clusters]
    scores = (
        D_PRIME * labels
        + math.sqrt(0.5) * rng.normal(size=n_patients)[clusters]
        + math.sqrt(0.5) * rng.normal(size=n_images)
    )
    times = {}
    for kind, ids in (("integer ids", clusters), ("string ids", np.array([f"P{c:07d}" for c in clusters], object))):
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            clustered_auc_ci(labels, scores, ids)
            runs.append(time.perf_counter() - start)
        times[kind] = statistics.median(runs)
    start = time.perf_counter()
    delong_ci(labels, scores)
    times["delong_ci, for scale"] = time.perf_counter() - start
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=1000, help="simulated studies per cell (default 1000)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--timing-images", type=int, default=1_000_000)
    parser.add_argument("--timing-patients", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (median)")
    args = parser.parse_args(argv)

    name, flags = processor()
    print(f"Processor: {name} ({flags}); Python {platform.python_version()}, numpy {np.__version__}")
    auc, sens, spec = check_truth(args.seed, 2_000_000)
    print(
        f"True AUC {TRUE_AUC} (Monte Carlo, 2e6 pairs: {auc:.4f}); sensitivity {TRUE_SENSITIVITY} ({sens:.4f}); "
        f"specificity {TRUE_SPECIFICITY:.4f} ({spec:.4f})"
    )
    if clustered_proportion_ci is None:
        print("Note: alnus.clustered.clustered_proportion_ci not importable; its columns are left empty.")
    se = 100 * math.sqrt(0.95 * 0.05 / args.studies)
    print(
        f"\n{args.studies} studies per cell; Monte Carlo SE of a 95% coverage {se:.2f} points, "
        f"of a 5% rejection rate {se:.2f} points.\n"
    )
    print("| Patients | Images/patient | rho | " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * (3 + len(COLUMNS)))
    started = time.perf_counter()
    for k, (n_patients, images, rho) in enumerate(CELLS):
        values = run_cell(n_patients, images, rho, args.studies, args.seed + k)
        shown = ["—" if v is None else f"{v:.1f}" for v in values]
        rho_text = "—" if images == "1" else f"{rho:g}"
        print(f"| {n_patients} | {images} | {rho_text} | " + " | ".join(shown) + " |", flush=True)
    print(f"\nSimulation: {time.perf_counter() - started:.0f} s")
    times = time_large(args.timing_images, args.timing_patients, args.repeats, args.seed)
    print(
        f"\nclustered_auc_ci on {args.timing_images:,} images of {args.timing_patients:,} patients "
        f"(median of {args.repeats}):"
    )
    for kind, seconds in times.items():
        print(f"  {kind}: {seconds:.3f} s")


if __name__ == "__main__":
    main()
