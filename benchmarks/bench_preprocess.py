"""Preprocessing speed: images per second of `alnus.preprocess.preprocess_cohort`
(read, crop, find and inpaint burned-in annotations, write the PNG), by
thread count and with annotation removal on or off.

Cohorts: the simulated demo development cohort (screens of about 800 x 600,
half DICOM, made by `alnus.simulate.simulate_study`), and BUS-BRA's images
when the dataset is at --bus-bra (already cut to the B-mode frame, about
300 x 400).

Usage:
    python benchmarks/bench_preprocess.py
    python benchmarks/bench_preprocess.py --bus-bra ../shared/data/bus-bra --limit 400
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.preprocess import preprocess_cohort  # noqa: E402
from alnus.simulate import simulate_study  # noqa: E402

KEY = b"benchmark-key-0123456789"


def rate(manifest: pd.DataFrame, images: Path, *, threads: int, annotations: str, out: Path) -> float:
    """Images per second of one preprocess_cohort call."""
    start = time.perf_counter()
    preprocess_cohort(manifest, images, cohort="development", key=KEY, out_dir=out, threads=threads,
                      annotations={"mode": annotations})  # fmt: skip
    return len(manifest) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bus-bra", type=Path, help="unpacked BUS-BRA folder (bus_data.csv, Images/)")
    parser.add_argument("--limit", type=int, default=300, help="images per cohort")
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        simulate_study(tmp / "demo", n_development=args.limit, n_external=8)
        cohorts = {"demo (simulated screens)": (pd.read_csv(tmp / "demo/development/manifest.csv", dtype=str),
                                                tmp / "demo/development/images")}  # fmt: skip
        if args.bus_bra:
            table = pd.read_csv(args.bus_bra / "bus_data.csv").head(args.limit)
            manifest = pd.DataFrame({"image": table["ID"] + ".png", "patient_id": table["Case"].astype(str),
                                     "label": (table["Pathology"] == "malignant").astype(int)})  # fmt: skip
            cohorts["BUS-BRA"] = (manifest, args.bus_bra / "Images")
        print("| cohort | images | threads | annotations | images/s |")
        print("|---|---:|---:|---|---:|")
        for name, (manifest, images) in cohorts.items():
            for threads in map(int, args.threads.split(",")):
                for annotations in ("remove", "off"):
                    speed = rate(manifest, images, threads=threads, annotations=annotations,
                                 out=tmp / f"out-{threads}-{annotations}")  # fmt: skip
                    print(f"| {name} | {len(manifest)} | {threads} | {annotations} | {speed:.1f} |", flush=True)


if __name__ == "__main__":
    main()
