"""PHI audit on a real pixel cache: chance hits of short patient ids.

BUS-BRA's images (1,875, letterboxed here to 112 x 112 as rule cache_images
does, one uint8 array of 23.5 MB) with a manifest whose patient ids are short
codes ("BRA" + the case number, as a hospital's RIS codes may be). The audit
must find nothing in the cache: its pixels are not text. Printed beside it:
how many of those ids a byte search of the whole file finds by chance (what
the audit did before it searched only the text-bearing parts of a file), and
the seconds each takes.

Usage:
    python benchmarks/bench_phi_audit.py --bus-bra ../shared/data/bus-bra
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.phi_audit import PhiScanner, collect_phi, run_audit  # noqa: E402


def processor() -> str:
    """The processor's model name and whether it has native bf16."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next(
        (line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    flags = sorted({f for f in ("avx512_bf16", "amx_bf16") if f in info.split()})
    return f"{name} ({', '.join(flags) or 'no native bf16'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bus-bra", required=True, type=Path, help="the unpacked BUS-BRA folder")
    parser.add_argument("--size", type=int, default=112, help="cache side in pixels")
    args = parser.parse_args()
    table = pd.read_csv(args.bus_bra / "bus_data.csv")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        manifest = pd.DataFrame(
            {
                "image": table["ID"] + ".png",
                "patient_id": "BRA" + table["Case"].astype(str),
                "label": (table["Pathology"] == "malignant").astype(int),
            }
        )
        manifest.to_csv(out / "manifest.csv", index=False)
        images = [cv2.imread(str(args.bus_bra / "Images" / f"{i}.png"), cv2.IMREAD_GRAYSCALE) for i in table["ID"]]
        cache = np.stack([cv2.resize(image, (args.size, args.size), interpolation=cv2.INTER_AREA) for image in images])
        (out / "results" / "cache").mkdir(parents=True)
        path = out / "results" / "cache" / f"development_{args.size}px.npy"
        np.save(path, cache)
        cohorts = {"development": {"manifest": str(out / "manifest.csv"), "images": str(args.bus_bra / "Images")}}
        needles, _ = collect_phi(cohorts)
        start = time.perf_counter()
        chance = PhiScanner(needles).scan(path.read_bytes())
        whole = time.perf_counter() - start
        start = time.perf_counter()
        _, _, findings, _ = run_audit(cohorts, out / "results")
        audit = time.perf_counter() - start
    print(f"processor: {processor()}")
    print(f"cache: {cache.shape[0]} images of {args.size} px, {cache.nbytes / 1e6:.1f} MB; {len(needles)} strings")
    print(f"byte search of the whole file: {len(chance)} chance hits in {whole:.2f} s")
    print(f"audit (text-bearing parts only): {len(findings)} findings in {audit:.2f} s")


if __name__ == "__main__":
    main()
