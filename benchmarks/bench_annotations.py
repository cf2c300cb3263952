"""Burned-in annotation detection per scanner (issue 3): how often
`alnus.annotations.clean_annotations` finds calipers and text on BUS-BRA's
images of each device, how many pixels it changes, and how many findings it
makes on simulated tissue that carries no annotations at all.

BUS-BRA has no annotation masks, so the shares say how often something was
found, not whether it was right: check findings by eye (--keep writes each
image's findings to a CSV to sample from).

With --reference FILE (an earlier alnus.annotations, saved with `git show
<commit>:workflow/scripts/alnus/annotations.py > /tmp/old.py`), every image is
also cleaned by that file's `clean_annotations`, right before this code's:
the tables are printed for both, and the images whose mask or findings
differ between them are counted (and listed with --keep, in differ.csv).

Usage:
    python benchmarks/bench_annotations.py --bus-bra ../shared/data/bus-bra --limit 150
    python benchmarks/bench_annotations.py --simulated 300 --keep /tmp/annotations   # also findings.csv
    python benchmarks/bench_annotations.py --limit 150 --simulated 500 --reference /tmp/old.py

Prints Markdown tables: per device, the images looked at (up to --limit,
spread evenly over the device's rows of bus_data.csv), the share with a
caliper finding, with a text finding, with any finding, and the median and
95th percentile share of an image's pixels changed and the median time per
image (wall clock: it varies with other jobs on the machine); then, for --simulated
clean B-mode images (`alnus.simulate.render_bmode`, both sites, linear and
sector probes), the images with a finding and the pixels changed.
"""

from __future__ import annotations

import argparse
import importlib.util
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


def findings_row(image: np.ndarray, clean=clean_annotations) -> tuple[dict, np.ndarray, tuple]:
    """Findings per kind, the share of pixels changed, the caliper boxes
    (x y w h, ';'-separated) and the seconds `clean` took on one image; and
    its mask and findings (to compare codes)."""
    start = time.perf_counter()
    cleaned = clean(image)
    seconds = time.perf_counter() - start
    boxes = ";".join(f"{f.x} {f.y} {f.w} {f.h}" for f in cleaned.findings if f.kind == "caliper")
    row = {
        **cleaned.counts(),
        "changed": cleaned.pixels_changed / image.size,
        "caliper_boxes": boxes,
        "seconds": seconds,
    }
    return row, cleaned.mask, tuple((f.kind, f.x, f.y, f.w, f.h, f.pixels) for f in cleaned.findings)


def bus_bra_images(folder: Path, limit: int):
    """(ID, Device, image) of the images looked at: up to `limit` per device."""
    table = sample_per_device(pd.read_csv(folder / "bus_data.csv"), limit)
    for image_id, device in zip(table["ID"], table["Device"]):
        yield (
            {"ID": image_id, "Device": device},
            cv2.imread(str(folder / "Images" / f"{image_id}.png"), cv2.IMREAD_GRAYSCALE),
        )


def simulated_images(n: int):
    """(seed, site, sector) and the pixels of `n` clean simulated B-mode
    images: seeds 0..n-1, the sites, probes and lesion labels taken in turn."""
    sites = list(sim.SITES)
    for seed in range(n):
        rng = np.random.default_rng(seed)
        site, sector = sites[seed % len(sites)], bool(seed // len(sites) % 2)
        lesion = sim.sample_lesion(rng, seed // 4 % 2)
        image = sim.render_bmode(rng, lesion, (360, 300), site=sim.SITES[site], sector=sector).pixels
        yield {"seed": seed, "site": site, "sector": sector}, image


def run(images, codes: dict) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """One table per code (name -> clean_annotations) of findings_row over
    `images`, each image cleaned by every code in turn; and the keys of the
    images whose mask or findings differ between the codes."""
    rows = {name: [] for name in codes}
    differ = []
    for key, image in images:
        results = {}
        for name, clean in codes.items():
            row, mask, findings = findings_row(image, clean)
            rows[name].append({**key, **row})
            results[name] = mask, findings
        first, *others = results.values()
        if any(not np.array_equal(first[0], mask) or first[1] != found for mask, found in others):
            differ.append(key)
    return {name: pd.DataFrame(table) for name, table in rows.items()}, differ


def per_device_markdown(results: pd.DataFrame) -> str:
    lines = [
        "| device | images | calipers | text | any finding | pixels changed, median | 95th pct | ms/image |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups = [(device, rows) for device, rows in results.groupby("Device", sort=True)] + [("all", results)]
    for device, rows in groups:
        found = rows[["text", "caliper", "line"]].sum(axis=1) > 0
        lines.append(
            f"| {device} | {len(rows)} | {(rows['caliper'] > 0).mean():.1%} | {(rows['text'] > 0).mean():.1%} "
            f"| {found.mean():.1%} | {rows['changed'].median():.2%} | {rows['changed'].quantile(0.95):.2%} "
            f"| {1000 * rows['seconds'].median():.1f} |"
        )
    return "\n".join(lines)


def simulated_markdown(results: pd.DataFrame) -> str:
    found = results[["text", "caliper", "line"]].sum(axis=1)
    changed = (results["changed"] > 0).sum()
    return (
        "| simulated clean B-mode images | with a finding | findings | images with pixels changed |\n"
        "|---:|---:|---:|---:|\n"
        f"| {len(results)} | {(found > 0).sum()} | {int(found.sum())} | {changed} |"
    )


def load_reference(path: Path):
    """`clean_annotations` of the module in file `path`, imported under another name."""
    spec = importlib.util.spec_from_file_location("reference_annotations", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.clean_annotations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bus-bra", type=Path, default=BUS_BRA, help="unpacked BUS-BRA folder (bus_data.csv, Images/)")
    parser.add_argument("--limit", type=int, default=150, help="BUS-BRA images per device at most")
    parser.add_argument("--simulated", type=int, default=300, help="clean simulated images (0: none)")
    parser.add_argument("--keep", type=Path, help="folder to write findings.csv and simulated.csv into")
    parser.add_argument("--reference", type=Path, help="an earlier alnus.annotations file to run beside this code")
    args = parser.parse_args()
    if args.limit < 1 or args.simulated < 0:
        parser.error(f"--limit must be >= 1 and --simulated >= 0, got {args.limit} and {args.simulated}")
    codes = {"this code": clean_annotations}
    if args.reference:
        codes = {"reference": load_reference(args.reference), **codes}
    tables, differ = {}, []
    if (args.bus_bra / "bus_data.csv").is_file():
        found, changed = run(bus_bra_images(args.bus_bra, args.limit), codes)
        differ += changed
        for name, table in found.items():
            print(f"BUS-BRA, {name}:\n\n{per_device_markdown(table)}", end="\n\n", flush=True)
        tables["findings"] = found["this code"]
    else:
        print(f"No BUS-BRA at {args.bus_bra} (bus_data.csv missing): simulated images only.\n")
    if args.simulated:
        found, changed = run(simulated_images(args.simulated), codes)
        differ += changed
        for name, table in found.items():
            print(f"Simulated, {name}:\n\n{simulated_markdown(table)}", end="\n\n", flush=True)
        tables["simulated"] = found["this code"]
    if args.reference:
        print(f"Images whose mask or findings differ between the reference and this code: {len(differ)}")
        tables["differ"] = pd.DataFrame(differ)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            table.to_csv(args.keep / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
