"""Type I error of alnus.mrmc.model_vs_readers on simulated MRMC studies.

    python benchmarks/bench_mrmc.py                 # 2,000 studies per row (a few minutes on one core)
    python benchmarks/bench_mrmc.py --quick         # 200 studies per row, a smoke run

Each simulated study has 5 readers (drawn afresh: random readers) and 50
positive + 50 negative cases (random cases), scored under a Roe-Metz model
(Roe & Metz 1997, Acad Radiol 4:298), with the truth state D in {0, 1}::

    reader j, case k:  X_jk = D_k (mu + R1_j) + (1 - D_k) R0_j + C_k + RC_jk
    model, case k:     X_mk = D_k mu_m + C_k + E_k

R1_j, R0_j ~ N(0, var_r) are the reader effects for each truth state (so that
readers differ in accuracy), C_k ~ N(0, var_c) the case effect all readers and
the model share, RC_jk and E_k ~ N(0, 1 - var_c) the reader-case noise. Readers
call a case positive where X_jk >= c + T_j, T_j ~ N(0, var_r) (readers differ
in threshold too). The model's mu_m and thresholds are solved so that H0 holds
exactly: its AUC, sensitivity and specificity equal those of the average
reader of the population (each reader's figure is a normal probability, and
its mean over readers is one too).

The clustered design has 25 + 25 patients with 2 images each; the patient
carries the label, and a share 0.8 of the variance of each case-level term
(C_k, RC_jk, E_k) is common to a patient's images, so that they are
correlated (0.8), for the model and each reader alike. It is analysed with the cluster
jackknife (clusters = patient) and, to show what that is for, with the case
jackknife that ignores the patients.

Variance structures, named after reader variance (L/H) and case variance (L/H)
as in Roe & Metz's LL/LH/HL/HH, on the scale of a unit within-reader variance:
var_r 0.01 or 0.1, var_c 0.3 or 0.7.

Prints the machine and a Markdown table for docs/benchmarks.md: the rejection
rate at alpha = 0.05 with its 95% Monte Carlo interval (Wilson), the median
Hillis ddf, and the share of studies whose Cov2 came out negative.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.mrmc import model_vs_readers  # noqa: E402

STRUCTURES = {"LL": (0.01, 0.3), "LH": (0.01, 0.7), "HL": (0.1, 0.3), "HH": (0.1, 0.7)}  # (var_r, var_c)
MU = 1.5  # mean separation of a reader: average reader AUC 0.85 (LL) to 0.83 (HH)
CUT = 0.75  # mean reader threshold: sensitivity and specificity near 0.75
PATIENT_SHARE = 0.8


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next(
        (line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    wanted = [f for f in flags if f in ("avx512_bf16", "amx_bf16", "amx_tile", "amx_int8")]
    return (
        f"{name} ({os.cpu_count()} logical CPUs); avx512_bf16/amx flags: {', '.join(wanted) or 'none'}; "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def null_model(var_r: float) -> dict:
    """mu_m and the model's thresholds that make H0 exact (within-reader variance 1)."""
    spread = 1 + var_r + var_r  # reader effect of one truth state plus the threshold's
    mu_m = MU / math.sqrt(1 + var_r)
    return {"mu_m": mu_m, "sensitivity": mu_m - (MU - CUT) / math.sqrt(spread), "specificity": CUT / math.sqrt(spread)}


def simulate(rng, *, var_r, var_c, n_readers, n_pos, n_neg, images_per_patient=1):
    """One study: labels, model scores, reader scores and reader calls, patients."""
    n_patients = n_pos + n_neg
    patient_label = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
    patients = np.repeat(np.arange(n_patients), images_per_patient)
    labels = patient_label[patients]
    n = labels.size
    share = PATIENT_SHARE if images_per_patient > 1 else 0.0

    def effect(variance, rows=()):
        """Normal effect per image, a share of its variance common to a patient's images."""
        common = rng.normal(0, math.sqrt(share * variance), size=(*rows, n_patients))[..., patients]
        return common + rng.normal(0, math.sqrt((1 - share) * variance), size=(*rows, n))

    case = effect(var_c)
    effects = rng.normal(0, math.sqrt(var_r), size=(n_readers, 3))  # R1, R0, T
    readers = labels * (MU + effects[:, :1]) + (1 - labels) * effects[:, 1:2] + case + effect(1 - var_c, (n_readers,))
    calls = (readers >= CUT + effects[:, 2:]).astype(int)
    model = labels * null_model(var_r)["mu_m"] + case + effect(1 - var_c)
    return labels, model, readers, calls, patients


def run_row(rng, *, design, structure, n_studies, n_readers, n_pos, n_neg, alpha):
    var_r, var_c = STRUCTURES[structure]
    thresholds = null_model(var_r)
    per_patient = 2 if design != "one image per patient" else 1
    tallies = {figure: {"reject": 0, "ddf": [], "negative_cov2": 0} for figure in ("auc", "sensitivity", "specificity")}
    for _ in range(n_studies):
        labels, model, readers, calls, patients = simulate(
            rng,
            var_r=var_r,
            var_c=var_c,
            n_readers=n_readers,
            n_pos=n_pos // per_patient,
            n_neg=n_neg // per_patient,
            images_per_patient=per_patient,
        )
        clusters = patients if design == "2 images per patient, cluster jackknife" else None
        for figure, tally in tallies.items():
            if figure == "auc":
                res = model_vs_readers(labels, model, readers, clusters=clusters)
            else:
                res = model_vs_readers(
                    labels, model, calls, figure=figure, threshold=thresholds[figure], clusters=clusters
                )
            tally["reject"] += res.p < alpha
            tally["ddf"].append(res.ddf)
            tally["negative_cov2"] += res.cov2 < 0
    rows = []
    for figure, tally in tallies.items():
        low, high = sps.binomtest(int(tally["reject"]), n_studies).proportion_ci(0.95, method="wilson")
        rows.append(
            (
                design,
                structure,
                figure,
                n_studies,
                tally["reject"] / n_studies,
                low,
                high,
                float(np.median(tally["ddf"])),
                tally["negative_cov2"] / n_studies,
            )
        )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=2000, help="simulated studies per row (default 2000)")
    parser.add_argument("--readers", type=int, default=5)
    parser.add_argument("--positives", type=int, default=50, help="positive images (default 50)")
    parser.add_argument("--negatives", type=int, default=50, help="negative images (default 50)")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--structures", nargs="+", default=list(STRUCTURES), choices=list(STRUCTURES))
    parser.add_argument("--no-clustered", action="store_true", help="skip the 2-images-per-patient design")
    parser.add_argument("--quick", action="store_true", help="200 studies per row")
    args = parser.parse_args(argv)
    n_studies = 200 if args.quick else args.studies
    print(machine())
    designs = ["one image per patient"]
    if not args.no_clustered:
        designs += ["2 images per patient, cluster jackknife", "2 images per patient, case jackknife"]
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    print(
        f"\n{args.readers} readers, {args.positives} + {args.negatives} images, alpha {args.alpha}, seed {args.seed}\n"
    )
    print("| design | structure | figure | studies | type I error (95% MC interval) | median ddf | Cov2 < 0 |")
    print("|---|---|---|---:|---|---:|---:|")
    for design in designs:
        for structure in args.structures:
            for row in run_row(
                rng,
                design=design,
                structure=structure,
                n_studies=n_studies,
                n_readers=args.readers,
                n_pos=args.positives,
                n_neg=args.negatives,
                alpha=args.alpha,
            ):
                design_, structure_, figure, n, rate, low, high, ddf, negative = row
                print(
                    f"| {design_} | {structure_} | {figure} | {n:,} | {rate:.3f} ({low:.3f}, {high:.3f}) | "
                    f"{ddf:.1f} | {negative:.1%} |",
                    flush=True,
                )
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
