"""The pipeline's training preset against a plain PyTorch loop, on the same
images and split, seed by seed (issue 15, item 2).

The plain loop is the one a researcher writes without the pipeline (about 60
lines, `plain_loop` below): Inception V3 from scratch, each preprocessed image
resized to 160 x 160 (aspect not kept), 12 epochs of batch 32 with horizontal
flips and a random gain, AdamW 1e-3 under a one-cycle schedule, plain BCE,
the best validation epoch kept, flip averaging at test time, fp32. The
pipeline's arm trains the same architecture with the preset that the given
config files resolve to, through `alnus.train.fit`, and predicts as rule
predict does (flip averaging as `training.flip_tta` says). Both get the same
threads; each run's wall time and process CPU time are printed, and a
pipeline run that takes longer than its seed's plain loop is marked OVER.

Usage (after the study is preprocessed and split, `snakemake ... results/splits.csv`):
    python benchmarks/bench_vs_plain.py --results results --config config.yaml config/bus-bra.yaml \
        --seed 2019 --seed 1 --seed 2
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from study_sets import TESTS, load_sets, processor_line, resolved_preset, train_preset

from alnus.devices import resolve_precision
from alnus.hardware import processor
from alnus.history import best_epoch


def plain_loop(
    sets: dict, seed: int, *, size: int = 160, epochs: int = 12, batch: int = 32
) -> tuple[dict[str, float], int, int]:
    """The plain loop: returns ({set: AUC} for each of TESTS, at the best
    validation epoch, flip-averaged; that epoch; the epochs run)."""
    import timm

    torch.manual_seed(seed)
    x_train = sets["train"]["images"].float().div(255).expand(-1, 3, -1, -1)
    y_train = torch.tensor(sets["train"]["labels"], dtype=torch.float32)
    model = timm.create_model("inception_v3", pretrained=False, num_classes=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    steps = epochs * (len(y_train) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def scores(net, name):
        x = sets[name]["images"].float().div(255).expand(-1, 3, -1, -1)
        net.eval()
        with torch.no_grad():
            p = [
                (torch.sigmoid(net((b - 0.5) / 0.5)) + torch.sigmoid(net((b.flip(3) - 0.5) / 0.5))) / 2
                for b in x.split(64)
            ]
        return roc_auc_score(sets[name]["labels"], torch.cat(p).squeeze(1).numpy())

    best_auc, best_state, best = -1.0, None, 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(y_train))
        for start in range(0, len(order) - batch + 1, batch):
            idx = order[start : start + batch]
            x = x_train[idx]
            x = torch.where(torch.rand(len(idx), 1, 1, 1) < 0.5, x.flip(3), x)  # horizontal flip
            x = (x * torch.empty(len(idx), 1, 1, 1).uniform_(0.8, 1.2)).clamp(0, 1)  # random gain
            loss = loss_fn(model((x - 0.5) / 0.5).squeeze(1), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        auc = scores(model, "validation")
        logging.info("plain loop, seed %d: epoch validation AUC %.3f", seed, auc)
        if auc > best_auc:
            best_auc, best_state, best = auc, copy.deepcopy(model.state_dict()), epoch
    model.load_state_dict(best_state)
    return {name: scores(model, name) for name in TESTS}, best, epochs


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument(
        "--config",
        type=Path,
        nargs="+",
        default=[Path("config.yaml")],
        help="the study's config files, in snakemake's order (later ones override)",
    )
    parser.add_argument("--arch", default="inception_v3")
    parser.add_argument("--precision", default="auto", help="the pipeline arm's training.precision")
    parser.add_argument("--flip-tta", choices=("yes", "no"), default="yes", help="the pipeline arm's training.flip_tta")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, action="append", help="repeat for several; default 2019")
    parser.add_argument("--only", choices=("plain", "pipeline"), help="run one arm only")
    args = parser.parse_args()
    seeds = args.seed or [2019]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(args.threads)
    name, preset = resolved_preset(args.config)
    size = preset["input_size"][args.arch]
    _, reason = resolve_precision(args.precision, torch.device("cpu"), hardware=processor(torch.device("cpu")))
    print(processor_line(args.threads))
    print(f"# pipeline arm: preset {name} {preset}; precision {args.precision} ({reason}); flip TTA {args.flip_tta}")
    plain_sets = load_sets(args.results, 160, fit="stretch") if args.only != "pipeline" else None
    pipeline_sets = load_sets(args.results, size) if args.only != "plain" else None
    print("| arm | seed | validation AUC | internal AUC | external AUC | best epoch | wall s | CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    totals: dict[str, list] = {}
    for seed in seeds:
        plain_wall = None
        for arm in ("plain", "pipeline"):
            if args.only and arm != args.only:
                continue
            if arm == "plain":
                (auc, best, epochs), wall, cpu = timed(plain_loop, plain_sets, seed)
                plain_wall = wall
            else:
                (auc, history), wall, cpu = timed(
                    train_preset,
                    pipeline_sets,
                    seed,
                    preset,
                    arch=args.arch,
                    precision=args.precision,
                    flip_tta=args.flip_tta == "yes",
                )
                best, epochs = best_epoch(history), len(history)
            over = " OVER" if arm == "pipeline" and plain_wall and wall > plain_wall else ""
            totals.setdefault(arm, []).append([auc[t] for t in TESTS] + [wall, cpu])
            print(
                f"| {arm} | {seed} | "
                + " | ".join(f"{auc[t]:.3f}" for t in TESTS)
                + f" | {best} of {epochs} | {wall:.0f}{over} | {cpu:.0f} |",
                flush=True,
            )
    for arm, rows in totals.items():
        mean = np.mean(rows, axis=0)
        print(
            f"| {arm}, mean of {len(rows)} | | "
            + " | ".join(f"{m:.3f}" for m in mean[:3])
            + f" | | {mean[3]:.0f} | {mean[4]:.0f} |"
        )


if __name__ == "__main__":
    main()
