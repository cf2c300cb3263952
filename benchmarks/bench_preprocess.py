"""Preprocessing speed: images per second of `alnus.preprocess.preprocess_cohort`
(read, crop, find and inpaint burned-in annotations, write the PNG), by
thread count and with annotation removal on or off.

Cohorts: the simulated demo development cohort (screens of about 800 x 600,
half DICOM, made by `alnus.simulate.simulate_study`), and BUS-BRA's images
when the dataset is at --bus-bra (already cut to the B-mode frame, about
300 x 400).

With --reference FILE (an earlier alnus.annotations, e.g. saved with
`git show <commit>:workflow/scripts/alnus/annotations.py > /tmp/old.py`), the
annotation removal is also timed with that file's `clean_annotations`, in
the same run and interleaved with this code's (reference first, then this
code, for each cohort and thread count, over --rounds rounds; the median is
printed), so that a shared machine's drifts fall on both alike.

Usage:
    python benchmarks/bench_preprocess.py
    python benchmarks/bench_preprocess.py --bus-bra ../shared/data/bus-bra --limit 400
    python benchmarks/bench_preprocess.py --bus-bra ../shared/data/bus-bra --limit 150 --reference /tmp/old.py
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
import alnus.preprocess  # noqa: E402
from alnus.preprocess import preprocess_cohort  # noqa: E402
from alnus.simulate import simulate_study  # noqa: E402

KEY = b"benchmark-key-0123456789"


def rate(manifest: pd.DataFrame, images: Path, *, threads: int, annotations: str, out: Path) -> float:
    """Images per second of one preprocess_cohort call."""
    start = time.perf_counter()
    preprocess_cohort(
        manifest, images, cohort="development", key=KEY, out_dir=out, threads=threads, annotations={"mode": annotations}
    )
    return len(manifest) / (time.perf_counter() - start)


def load_reference(path: Path):
    """The module in file `path` (an earlier alnus.annotations), imported under another name."""
    spec = importlib.util.spec_from_file_location("reference_annotations", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def annotations_from(module):
    """Within the block, `preprocess_cohort` cleans with `module.clean_annotations`
    (this code's when `module` is None)."""
    own = alnus.preprocess.clean_annotations
    if module is not None:
        alnus.preprocess.clean_annotations = module.clean_annotations
    try:
        yield
    finally:
        alnus.preprocess.clean_annotations = own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bus-bra", type=Path, help="unpacked BUS-BRA folder (bus_data.csv, Images/)")
    parser.add_argument("--limit", type=int, default=300, help="images per cohort")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--reference", type=Path, help="an earlier alnus.annotations file to time beside this code")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (the median is printed)")
    args = parser.parse_args()
    codes = {"this": None}
    if args.reference:
        codes = {"reference": load_reference(args.reference), **codes}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        simulate_study(tmp / "demo", n_development=args.limit, n_external=8)
        cohorts = {
            "demo (simulated screens)": (
                pd.read_csv(tmp / "demo/development/manifest.csv", dtype=str),
                tmp / "demo/development/images",
            )
        }
        if args.bus_bra:
            table = pd.read_csv(args.bus_bra / "bus_data.csv").head(args.limit)
            manifest = pd.DataFrame(
                {
                    "image": table["ID"] + ".png",
                    "patient_id": table["Case"].astype(str),
                    "label": (table["Pathology"] == "malignant").astype(int),
                }
            )
            cohorts["BUS-BRA"] = (manifest, args.bus_bra / "Images")
        print("| cohort | images | threads | annotations | code | images/s |")
        print("|---|---:|---:|---|---|---:|")
        for name, (manifest, images) in cohorts.items():
            for threads in map(int, args.threads.split(",")):
                runs = [("remove", code) for code in codes] + [("off", "this")]
                speeds = {run: [] for run in runs}
                for _ in range(args.rounds):
                    for annotations, code in runs:
                        with annotations_from(codes[code]):
                            speeds[annotations, code].append(
                                rate(
                                    manifest,
                                    images,
                                    threads=threads,
                                    annotations=annotations,
                                    out=tmp / f"out-{threads}-{annotations}-{code}",
                                )
                            )
                for (annotations, code), values in speeds.items():
                    print(
                        f"| {name} | {len(manifest)} | {threads} | {annotations} | {code} "
                        f"| {statistics.median(values):.1f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
