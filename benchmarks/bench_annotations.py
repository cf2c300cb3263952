"""Burned-in annotation detection per scanner (issue 3): how often
`alnus.annotations.clean_annotations` finds calipers and text on BUS-BRA's
images of each device, how many pixels it changes, and how many findings it
makes on simulated tissue that carries no annotations at all.

BUS-BRA has no annotation masks, so the shares say how often something was
found, not whether it was right: check findings by eye (--keep writes each
image's findings to a CSV to sample from).

Usage:
    python benchmarks/bench_annotations.py --bus-bra ../shared/data/bus-bra --limit 150
    python benchmarks/bench_annotations.py --simulated 300 --keep /tmp/annotations   # also findings.csv

Prints Markdown tables: per device, the images looked at (up to --limit,
spread evenly over the device's rows of bus_data.csv), the share with a
caliper finding, with a text finding, with any finding, and the median and
95th percentile share of an image's pixels changed; then, for --simulated
clean B-mode images (`alnus.simulate.render_bmode`, both sites, linear and
sector probes), the images with a finding and the pixels changed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus import simulate as sim  # noqa: E402
from alnus.annotations import clean_annotations  # noqa: E402

BUS_BRA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bus-bra"


def sample_per_device(table: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Up to `limit` rows per `Device`, spread evenly over each device's rows."""
    parts = []
    for _, rows in table.groupby("Device", sort=True):
        step = max(1, len(rows) // limit)
        parts.append(rows.iloc[::step].head(limit))
    return pd.concat(parts)


def findings_row(image: np.ndarray) -> dict:
    """Findings per kind, the share of pixels changed and the caliper boxes
    (x y w h, ';'-separated) of one image."""
    cleaned = clean_annotations(image)
    boxes = ";".join(f"{f.x} {f.y} {f.w} {f.h}" for f in cleaned.findings if f.kind == "caliper")
    return {**cleaned.counts(), "changed": cleaned.pixels_changed / image.size, "caliper_boxes": boxes}


def bus_bra_table(folder: Path, limit: int) -> pd.DataFrame:
    """One row per image looked at: ID, Device, findings_row's fields, seconds."""
    table = sample_per_device(pd.read_csv(folder / "bus_data.csv"), limit)
    rows = []
    for image_id, device in zip(table["ID"], table["Device"]):
        image = cv2.imread(str(folder / "Images" / f"{image_id}.png"), cv2.IMREAD_GRAYSCALE)
        start = time.perf_counter()
        row = findings_row(image)
        rows.append({"ID": image_id, "Device": device, **row, "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def simulated_table(n: int) -> pd.DataFrame:
    """findings_row for `n` clean simulated B-mode images: seeds 0..n-1, the
    sites, probes and lesion labels taken in turn."""
    rows = []
    sites = list(sim.SITES)
    for seed in range(n):
        rng = np.random.default_rng(seed)
        site, sector = sites[seed % len(sites)], bool(seed // len(sites) % 2)
        lesion = sim.sample_lesion(rng, seed // 4 % 2)
        image = sim.render_bmode(rng, lesion, (360, 300), site=sim.SITES[site], sector=sector).pixels
        rows.append({"seed": seed, "site": site, "sector": sector, **findings_row(image)})
    return pd.DataFrame(rows)


def per_device_markdown(results: pd.DataFrame) -> str:
    lines = ["| device | images | calipers | text | any finding | pixels changed, median | 95th pct | s/image |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    groups = [(device, rows) for device, rows in results.groupby("Device", sort=True)] + [("all", results)]
    for device, rows in groups:
        found = rows[["text", "caliper", "line"]].sum(axis=1) > 0
        lines.append(f"| {device} | {len(rows)} | {(rows['caliper'] > 0).mean():.1%} | {(rows['text'] > 0).mean():.1%} "
                     f"| {found.mean():.1%} | {rows['changed'].median():.2%} | {rows['changed'].quantile(0.95):.2%} "
                     f"| {rows['seconds'].median():.2f} |")  # fmt: skip
    return "\n".join(lines)


def simulated_markdown(results: pd.DataFrame) -> str:
    found = results[["text", "caliper", "line"]].sum(axis=1)
    changed = (results["changed"] > 0).sum()
    return ("| simulated clean B-mode images | with a finding | findings | images with pixels changed |\n"
            "|---:|---:|---:|---:|\n"
            f"| {len(results)} | {(found > 0).sum()} | {int(found.sum())} | {changed} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bus-bra", type=Path, default=BUS_BRA, help="unpacked BUS-BRA folder (bus_data.csv, Images/)")
    parser.add_argument("--limit", type=int, default=150, help="BUS-BRA images per device at most")
    parser.add_argument("--simulated", type=int, default=300, help="clean simulated images (0: none)")
    parser.add_argument("--keep", type=Path, help="folder to write findings.csv and simulated.csv into")
    args = parser.parse_args()
    if args.limit < 1 or args.simulated < 0:
        parser.error(f"--limit must be >= 1 and --simulated >= 0, got {args.limit} and {args.simulated}")
    tables = {}
    if (args.bus_bra / "bus_data.csv").is_file():
        tables["findings"] = bus_bra_table(args.bus_bra, args.limit)
        print(per_device_markdown(tables["findings"]), end="\n\n", flush=True)
    else:
        print(f"No BUS-BRA at {args.bus_bra} (bus_data.csv missing): simulated images only.\n")
    if args.simulated:
        tables["simulated"] = simulated_table(args.simulated)
        print(simulated_markdown(tables["simulated"]))
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            table.to_csv(args.keep / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
