"""Coverage of clustered proportion intervals, type I error of the clustered McNemar test.

    python benchmarks/bench_clustered_proportions.py              # 2,000 studies per cell
    python benchmarks/bench_clustered_proportions.py --studies 200 # a smoke run

Simulated studies of 40 or 200 patients with 1-4 images each (uniform, drawn
per patient), within-patient correlation 0, 0.5 or 0.8.

Proportions (sensitivity-like, true p = 0.85 and 0.95): each patient's chance
is Beta(p (1 - rho) / rho, (1 - p) (1 - rho) / rho) (the image-level
intraclass correlation is exactly rho; rho = 0: every chance is p), and each
image is a success with its patient's chance. For each study: 95% intervals
of alnus.clustered.clustered_proportion_ci (the default "wilson_rao_scott";
the same with the normal quantile instead of Student's t on G - 1 df; the
same with deff = 1 instead of its bound when k = n; the plain Rao-Scott
Wilson interval with neither and its design effect not floored at 1;
"robust_wald") and, ignoring patients, alnus.stats.proportion_ci
("wilson_cc", "wilson"). Coverage of p, mean width, and the share of studies
with no failure (k = n: the data give no design effect).

McNemar under H0 (two readers with the same accuracy 0.8 on the same images):
reader r is right on image j of patient i when
sqrt(rho / 2) (u_i + w_ri) + sqrt((1 - rho) / 2) (v_ij + e_rij) < Phi^-1(0.8),
u, w, v, e standard normal: rho is the latent correlation of one reader's
images of a patient; the readers share the patient (u_i) and the image
(v_ij), and w_ri makes a patient easier for one reader than for the other,
so that a patient's discordant images lean the same way (without it they
are uncorrelated under H0 and the plain test is valid too). Rejection rate at alpha = 0.05 of
clustered_mcnemar_test and, ignoring patients, alnus.stats.mcnemar_test
(exact). Prints Markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.clustered import (  # noqa: E402
    _cluster_codes,
    _ratio_variance,
    _wilson_rao_scott,
    clustered_mcnemar_test,
    clustered_proportion_ci,
)
from alnus.stats import mcnemar_test, proportion_ci  # noqa: E402

PATIENTS = (40, 200)
RHOS = (0.0, 0.5, 0.8)
PROPORTIONS = (0.85, 0.95)
METHODS = (
    "wilson_rao_scott (default)",
    "normal quantile",
    "deff 1 at k = n",
    "plain Rao-Scott",
    "robust_wald",
    "wilson_cc (images)",
    "wilson (images)",
)


def processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def clusters_of(rng, n_patients):
    """Patient of each image, 1-4 images per patient: shape (n_images,)."""
    return np.repeat(np.arange(n_patients), rng.integers(1, 5, n_patients))


def intervals(successes, clusters):
    """The 95% intervals of one study, in METHODS order.

    The second to fourth take one small-sample step of the default away each
    (alnus.clustered.clustered_proportion_ci), to show what each step buys.
    """
    k, n = int(successes.sum()), len(successes)
    codes, g = _cluster_codes(clusters, n)
    _, _, deff = _ratio_variance(successes, codes, g)
    clustered = g if g < n else None
    plain_deff = 1.0 if k in (0, n) else deff  # the design effect of the plain Rao-Scott interval
    return [
        clustered_proportion_ci(successes, clusters)[1:],
        _wilson_rao_scott(k, n, max(deff, 1.0), 0.95),
        _wilson_rao_scott(k, n, max(plain_deff, 1.0), 0.95, clustered),
        _wilson_rao_scott(k, n, plain_deff, 0.95) if plain_deff > 0 else (k / n, k / n),
        clustered_proportion_ci(successes, clusters, method="robust_wald")[1:],
        proportion_ci(k, n, 0.95, "wilson_cc"),
        proportion_ci(k, n, 0.95, "wilson"),
    ]


def proportion_cell(n_patients, rho, p, studies, rng):
    covered, width, all_successes = np.zeros(len(METHODS)), np.zeros(len(METHODS)), 0
    for _ in range(studies):
        clusters = clusters_of(rng, n_patients)
        chance = (
            np.full(n_patients, p) if rho == 0 else rng.beta(p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho, n_patients)
        )
        successes = rng.random(len(clusters)) < chance[clusters]
        all_successes += successes.all()
        bounds = np.array(intervals(successes, clusters))
        covered += (bounds[:, 0] <= p) & (p <= bounds[:, 1])
        width += bounds[:, 1] - bounds[:, 0]
    return covered / studies, width / studies, all_successes / studies


def mcnemar_cell(n_patients, rho, studies, rng, accuracy=0.8):
    cut, rejected = sps.norm.ppf(accuracy), np.zeros(2)
    for _ in range(studies):
        clusters = clusters_of(rng, n_patients)
        n = len(clusters)
        patient = np.sqrt(rho / 2) * rng.normal(size=(3, n_patients))[:, clusters]  # u, w_a, w_b
        image = np.sqrt((1 - rho) / 2) * rng.normal(size=(3, n))  # v, e_a, e_b
        a = patient[0] + patient[1] + image[0] + image[1] < cut
        b = patient[0] + patient[2] + image[0] + image[2] < cut
        rejected += [clustered_mcnemar_test(a, b, clusters) < 0.05, mcnemar_test(a, b) < 0.05]
    return rejected / studies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000, help="simulated studies per cell")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(
        f"{processor()}; Python {platform.python_version()}, numpy {np.__version__}; "
        f"{args.studies} studies per cell, seed {args.seed}\n"
    )

    start = time.perf_counter()
    print("Coverage of 95% intervals (mean width in brackets)\n")
    print("| p | patients | rho | " + " | ".join(METHODS) + " | studies with k = n |")
    print("|---|---:|---:|" + "---:|" * (len(METHODS) + 1))
    lowest = []
    for p in PROPORTIONS:
        for n_patients in PATIENTS:
            for rho in RHOS:
                coverage, width, all_successes = proportion_cell(n_patients, rho, p, args.studies, rng)
                cells = [f"{c:.1%} ({w:.3f})" for c, w in zip(coverage, width)]
                lowest += [(c, m, p, n_patients, rho) for c, m in zip(coverage, METHODS) if c < 0.92]
                print(f"| {p} | {n_patients} | {rho} | " + " | ".join(cells) + f" | {all_successes:.1%} |")
    print(
        "\nCells below 92%: "
        + (
            "none"
            if not lowest
            else "; ".join(f"{m} at p={p}, {n} patients, rho={r}: {c:.1%}" for c, m, p, n, r in lowest)
        )
    )
    print(f"({time.perf_counter() - start:.0f} s)\n")

    start = time.perf_counter()
    print("Type I error at alpha = 0.05 under H0 (both readers 80% accurate)\n")
    print("| patients | rho | clustered_mcnemar_test (Durkalski) | mcnemar_test (images, exact) |")
    print("|---:|---:|---:|---:|")
    for n_patients in PATIENTS:
        for rho in RHOS:
            durkalski, plain = mcnemar_cell(n_patients, rho, args.studies, rng)
            print(f"| {n_patients} | {rho} | {durkalski:.1%} | {plain:.1%} |")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
