"""How far apart the near-duplicate hash puts copies of one frame and
different images: the evidence for `preprocess: duplicates: max_distance`.

Copies: each image re-exported as a scanner or PACS might
(`re_export` of tests/near_duplicates.py: cut by a few pixels, resized by 0.9, JPEG at
quality 80, brightness +6). Different images:
every pair of distinct images. Both for 64-bit (hash_size 8, the usual
choice) and 256-bit (hash_size 16, what `alnus.duplicates` uses) DCT hashes.

Usage:
    python benchmarks/bench_duplicates.py                                   # simulated images
    python benchmarks/bench_duplicates.py --images ../shared/data/bus-bra/Images
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))  # the test helper re_export
from near_duplicates import re_export  # noqa: E402

from alnus.duplicates import close_pairs, hash_pixels  # noqa: E402
from alnus.simulate import render_bmode, sample_lesion  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of PNGs (default: 300 simulated B-mode images)")
    parser.add_argument("--copies", type=int, default=200, help="images re-exported to measure copies")
    args = parser.parse_args()
    if args.images:
        paths = sorted(args.images.glob("*.png"))
        images = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths]
        source = f"{len(images)} images of {args.images}"
    else:
        rngs = [np.random.default_rng(k) for k in range(300)]
        images = [render_bmode(r, sample_lesion(r, k % 2), (300, 240)).pixels for k, r in enumerate(rngs)]
        source = "300 simulated B-mode images"
    print(f"# {source}; copies: the first {min(args.copies, len(images))} re-exported")
    print(
        "| hash | copies: median / 99th pct / max distance | different images: min / 1st pct distance "
        "| pairs of different images within the copies' max | hashing img/s |"
    )
    print("|---|---|---|---|---:|")
    for hash_size in (8, 16):
        start = time.perf_counter()
        hashes = np.stack([hash_pixels(p, hash_size) for p in images])
        rate = len(images) / (time.perf_counter() - start)
        copies = np.array(
            [
                np.bitwise_count(hash_pixels(re_export(p), hash_size) ^ h).sum()
                for p, h in zip(images[: args.copies], hashes)
            ]
        )
        _, _, different = close_pairs(hashes, hash_size * hash_size)
        within = int((different <= copies.max()).sum())
        print(
            f"| {hash_size * hash_size}-bit | {np.median(copies):.0f} / {np.percentile(copies, 99):.0f} / "
            f"{copies.max()} | {different.min()} / {np.percentile(different, 1):.0f} | {within} of "
            f"{len(different):,} | {rate:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
