"""Validation, internal and external AUC, and training time, of one
architecture under training variants, on an already preprocessed and split
study: what moves validation AUC per minute of CPU (issue 15, item 1).

A variant is a comma-separated list of preset keys and values, applied on top
of the preset that the config files resolve to (the workflow's own
resolution, `study_sets.resolved_preset`):
    size=160            input size of --arch (training.<preset>.input_size)
    fit=stretch         resize to the square instead of letterboxing (bench only)
    epochs=12 batch_size=32 learning_rate=0.001 warmup_epochs=1 weight_decay=1e-4
    augmentation=0.5    gain-augmentation strength (0 = flips and affine only)
    affine=0            no rotation, scale or shift (flips and gain only, as the plain loop)
    aspect_jitter=0.3   stretch the width/height ratio by up to 1.3x either way in training
    normalisation=imagenet|per_image
    ema_decay=0.998     validate and keep an exponential moving average of the weights
    label_smoothing=0.1 precise_bn=true
    precision=bf16|fp32 flip_tta=yes|no
An empty variant ("") is the preset itself. Each variant is trained once per
--seed; the table has one row per run and a mean per variant, and each later
variant's validation AUC is compared with the first's, seed by seed. Choose
by validation AUC: the test columns are printed to be reported, not chosen by.

    python benchmarks/bench_training_variants.py --results results --config config.yaml config/bus-bra.yaml \
        --variant "" --variant "size=160,epochs=12" --seed 2019 --seed 1 --seed 2
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from study_sets import TESTS, load_sets, processor_line, resolved_preset, train_preset

from alnus.history import best_epoch

RUN_KEYS = ("size", "fit", "precision", "flip_tta")


def parse_variant(text: str, preset: dict, arch: str) -> tuple[dict, dict]:
    """'key=value,...' -> (the preset with the preset keys changed, the run keys
    size/fit/precision/flip_tta with their defaults filled in)."""
    changed = {
        key: yaml.safe_load(value) for key, value in (item.split("=", 1) for item in text.split(",") if item.strip())
    }
    run = {"size": preset["input_size"][arch], "fit": "letterbox", "precision": "fp32", "flip_tta": "yes"}
    run |= {k: (("yes" if v else "no") if isinstance(v, bool) else v) for k, v in changed.items() if k in RUN_KEYS}
    settings = {**preset, **{k: v for k, v in changed.items() if k not in RUN_KEYS}}
    settings["input_size"] = {**preset["input_size"], arch: run["size"]}
    return settings, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--config", type=Path, nargs="+", default=[Path("config.yaml")])
    parser.add_argument("--arch", default="inception_v3")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, action="append", help="repeat for several; default 2019")
    parser.add_argument("--variant", action="append", help="repeat for several; default the preset itself")
    args = parser.parse_args()
    seeds, variants = args.seed or [2019], args.variant or [""]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(args.threads)
    name, preset = resolved_preset(args.config)
    print(processor_line(args.threads))
    print(f"# {args.arch}; base preset {name}: {preset}")
    print("| variant | seed | validation AUC | internal AUC | external AUC | best epoch | s/epoch | wall s | CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    sets_by_input: dict[tuple, dict] = {}
    validation: dict[str, list[float]] = {}
    for variant in variants:
        settings, run = parse_variant(variant, preset, args.arch)
        key = (run["size"], run["fit"])
        if key not in sets_by_input:
            sets_by_input = {key: load_sets(args.results, run["size"], fit=run["fit"])}  # one input in memory
        rows = []
        for seed in seeds:
            wall, cpu = time.perf_counter(), time.process_time()
            auc, history = train_preset(
                sets_by_input[key],
                seed,
                settings,
                arch=args.arch,
                precision=run["precision"],
                flip_tta=run["flip_tta"] == "yes",
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best = best_epoch(history)
            rows.append([auc[t] for t in TESTS] + [best, history["seconds"].mean(), wall, cpu])
            print(
                f"| {variant or '(preset)'} | {seed} | "
                + " | ".join(f"{auc[t]:.3f}" for t in TESTS)
                + f" | {best} of {len(history)} | {rows[-1][4]:.1f} | {wall:.0f} | {cpu:.0f} |",
                flush=True,
            )
        validation[variant] = [row[0] for row in rows]
        mean = np.mean(rows, axis=0)
        print(
            f"| **{variant or '(preset)'}, mean** | {len(seeds)} | "
            + " | ".join(f"**{m:.3f}**" for m in mean[:3])
            + f" | | {mean[4]:.1f} | {mean[5]:.0f} | {mean[6]:.0f} |",
            flush=True,
        )
    first, *others = variants
    for variant in others:
        differences = [b - a for a, b in zip(validation[first], validation[variant])]
        print(
            f"# {variant or '(preset)'} - {first or '(preset)'}, validation AUC per seed: "
            f"{', '.join(f'{d:+.3f}' for d in differences)}; mean {np.mean(differences):+.3f}, "
            f"largest |difference| {max(map(abs, differences)):.3f}"
        )


if __name__ == "__main__":
    main()
