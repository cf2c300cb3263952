"""Cost of the input check's pixel pass: the header path (`check_readable`,
what validate_inputs did before issue 14: headers, PNG chunk CRCs, DICOM
lengths) against full decoding (`decode_problem`, what it does now: every
pixel decoded and converted as `read_image` does for preprocessing), in
milliseconds per image and images per second with 1 and 2 threads, and how
many images each path refuses.

Cohorts: the simulated demo (both cohorts, screens of 640 x 480 and 800 x 600,
half DICOM, made by `alnus.simulate.simulate_study`), and BUS-BRA's images
when the dataset is at --bus-bra. Each path is timed --rounds times,
alternating, and the median is printed; files are read once before timing, so
both paths read from the page cache.

Usage:
    python benchmarks/bench_validate.py
    python benchmarks/bench_validate.py --bus-bra ../shared/data/bus-bra --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.imageio import check_readable, decode_problem  # noqa: E402
from alnus.simulate import simulate_study  # noqa: E402

PATHS = {"header (check_readable)": check_readable, "full decode (decode_problem)": decode_problem}


def timed(check, files: list[Path], threads: int) -> tuple[float, list]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        found = list(pool.map(check, files))
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bus-bra", type=Path, help="BUS-BRA folder (with Images/)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many images of each cohort (0: all)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cohorts = {}
    with tempfile.TemporaryDirectory() as tmp:
        simulate_study(tmp, seed=3, n_development=300, n_external=80)
        cohorts["demo (384 screens, half DICOM)"] = sorted(p for p in Path(tmp).glob("*/images/**/*") if p.is_file())
        if args.bus_bra:
            cohorts["BUS-BRA (PNG, about 300 x 400)"] = sorted((args.bus_bra / "Images").glob("*.png"))
        print(
            "| cohort | images | threads | header: ms/image | full: ms/image | full / header | header refuses | "
            "full refuses |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        )
        for name, files in cohorts.items():
            files = files[: args.limit] if args.limit else files
            for f in files:
                f.read_bytes()  # page cache
            for threads in (1, 2):
                seconds = {path: [] for path in PATHS}
                refused = {}
                for _ in range(args.rounds):
                    for path, check in PATHS.items():
                        elapsed, found = timed(check, files, threads)
                        seconds[path].append(elapsed)
                        refused[path] = [(f.name, p) for f, p in zip(files, found) if p]
                header, full = (statistics.median(seconds[p]) * 1000 / len(files) for p in PATHS)
                n_header, n_full = (len(refused[p]) for p in PATHS)
                print(
                    f"| {name} | {len(files)} | {threads} | {header:.2f} | {full:.2f} | {full / header:.1f} | "
                    f"{n_header} | {n_full} |"
                )
            for path in PATHS:
                for file, problem in refused[path][:5]:
                    print(f"    {path} refuses {file}: {problem}")


if __name__ == "__main__":
    main()
