"""Validation and external AUC, and training throughput, of one architecture
under training variants (precision, normalisation, augmentation strength),
on an already preprocessed study.

Usage (after `snakemake --cores all` has preprocessed and split the demo):
    python benchmarks/bench_training_variants.py --results results --arch inception_v3 \
        --size 112 --epochs 8 --variant fp32:imagenet:1 --variant bf16:imagenet:1
A variant is precision:normalisation:augmentation-strength, optionally
followed by :precise_bn (BatchNorm statistics recomputed before each validation).
With several --seed, each variant is trained once per seed, and each later
variant's best validation AUC is compared with the first's, seed by seed
(issue 15: bf16 against fp32 over 3 seeds, within 0.01):
    python benchmarks/bench_training_variants.py --results results --epochs 6 \
        --variant fp32:imagenet:1 --variant bf16:imagenet:1 --seed 2019 --seed 1 --seed 2
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.data import augmentation, load_images  # noqa: E402
from alnus.hardware import processor  # noqa: E402
from alnus.models import build_model  # noqa: E402
from alnus.study import image_paths, labelled_splits  # noqa: E402
from alnus.train import TrainSettings, fit, predict_probabilities  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--arch", default="inception_v3")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, action="append",
                        help="seed(s); repeat for several (issue 15: 3 seeds for bf16 against fp32); default 2019")
    parser.add_argument("--variant", action="append", default=[])
    args = parser.parse_args()
    args.seed = args.seed or [2019]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(args.threads)
    cohorts = ("development", "external")
    table = labelled_splits(
        args.results / "splits.csv", {c: args.results / f"preprocessed/{c}/manifest.csv" for c in cohorts}
    )
    dirs = {c: args.results / f"preprocessed/{c}/images" for c in cohorts}
    sets = {name: table[table["set"] == name] for name in ("train", "validation", "internal_test", "external_test")}
    images = {name: load_images(image_paths(rows, dirs), args.size) for name, rows in sets.items()}
    labels = {name: rows["label"].to_numpy() for name, rows in sets.items()}
    cpu = processor(torch.device("cpu"))
    print(f"# {cpu.name}, capability {cpu.capability} ({cpu.detected_by}; native bf16: "
          f"{'yes' if cpu.native_bf16 else 'no'}), {args.threads} threads, torch {torch.__version__}")
    print("| arch | size | precision | normalisation | augmentation | precise BN | seed | train img/s | val AUC (best) "
          "| internal AUC | external AUC |")
    print("|---|---|---|---|---|---|---:|---|---|---|---|")
    best_auc = {}  # variant -> the best validation AUC of each seed
    for variant in args.variant or ["fp32:imagenet:1"]:
        precision, normalisation, strength, *extra = variant.split(":")
        precise_bn = extra == ["precise_bn"]
        dtype = torch.bfloat16 if precision == "bf16" else None
        for seed in args.seed:
            settings = TrainSettings(epochs=args.epochs, batch_size=32, learning_rate=1e-3, warmup_epochs=1,
                                     patience=args.epochs, seed=seed, normalisation=normalisation,
                                     precise_bn=precise_bn)  # fmt: skip
            torch.manual_seed(seed)
            transform = augmentation(args.size, strength=float(strength))
            model, history = fit(build_model(args.arch), images["train"], labels["train"], images["validation"],
                                 labels["validation"], settings, transform=transform, autocast_dtype=dtype)  # fmt: skip
            rate = len(history) * len(labels["train"]) / history["seconds"].sum()
            auc = {name: roc_auc_score(labels[name], predict_probabilities(
                model, images[name], device=torch.device("cpu"), autocast_dtype=dtype, normalisation=normalisation))
                for name in ("internal_test", "external_test")}  # fmt: skip
            best_auc.setdefault(variant, []).append(history["val_auc"].max())
            print(f"| {args.arch} | {args.size} | {precision} | {normalisation} | {strength} "
                  f"| {'yes' if precise_bn else 'no'} | {seed} | {rate:.1f} | {history['val_auc'].max():.3f} "
                  f"| {auc['internal_test']:.3f} | {auc['external_test']:.3f} |", flush=True)  # fmt: skip
    first, *others = best_auc
    for variant in others:
        differences = [b - a for a, b in zip(best_auc[first], best_auc[variant])]
        print(f"# {variant} - {first}, best validation AUC per seed: {', '.join(f'{d:+.3f}' for d in differences)}; "
              f"mean {sum(differences) / len(differences):+.3f}, largest |difference| {max(map(abs, differences)):.3f}")

if __name__ == "__main__":
    main()
