"""Training and inference throughput (images/s) per architecture and input
size: the pipeline's training loop against a straightforward PyTorch loop,
and against the same model stepping on tensors already in memory.

Three training measurements per architecture and size, in one run, on the
same PNG files and batch size:

* naive: what a first PyTorch script does: NCHW, fp32, each image decoded by
  PIL from its PNG every epoch and put through torchvision's PIL transforms
  (resize, flip, affine, colour jitter, to-tensor, normalise), default threads.
* pipeline: `alnus.train.train_one_epoch` as rule train runs it: images decoded
  and letterboxed once (`alnus.data.load_images`), uint8 augmentation,
  channels_last, threads = --threads, fp32 and bf16 autocast.
* model only: the same model and precision stepping on one normalised batch
  held in memory (no data loading or augmentation at all); pipeline / model
  only is the share of the pure model speed that the loop keeps.

The three are timed in interleaved rounds (one batch of each per round) and
each rate is the batch size over the median batch time, so that drifts in
the speed of a shared machine fall on all three alike.

Then inference (`alnus.train.predict_probabilities`) at several batch sizes.

Usage:
    python benchmarks/bench_training_throughput.py                      # demo and paper sizes, 3 archs
    python benchmarks/bench_training_throughput.py --quick              # one arch, small, a smoke run
    python benchmarks/bench_training_throughput.py --images ../shared/data/bus-bra/Images
Images: --images DIR (PNG files, e.g. BUS-BRA's), else simulated B-mode images.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from alnus.data import IMAGENET_MEAN, IMAGENET_STD, ImageSet, augmentation, load_images, normalise  # noqa: E402
from alnus.devices import autocast  # noqa: E402
from alnus.hardware import processor  # noqa: E402
from alnus.imageio import write_png  # noqa: E402
from alnus.models import build_model  # noqa: E402
from alnus.simulate import render_bmode, sample_lesion  # noqa: E402
from alnus.train import predict_probabilities, train_one_epoch  # noqa: E402

PAPER = {"inception_v3": 299, "inception_resnet_v2": 299, "resnet101": 224}
DEMO = {"inception_v3": 112, "inception_resnet_v2": 112, "resnet101": 112}


def simulated_pngs(folder: Path, n: int) -> list[Path]:
    """n simulated B-mode PNGs of scanner-like size (about 400 x 300)."""
    paths = []
    for k in range(n):
        rng = np.random.default_rng(k)
        pixels = render_bmode(rng, sample_lesion(rng, k % 2), (400, 300)).pixels
        paths.append(folder / f"{k:04d}.png")
        write_png(paths[-1], pixels)
    return paths


def new_model(arch: str, channels_last: bool) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(arch).train()
    return model.to(memory_format=torch.channels_last) if channels_last else model


def optimiser(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-4)


def forever(loader):
    """The batches of `loader`, epoch after epoch."""
    while True:
        yield from loader


def rounds(timers: dict, *, warmup: int, steps: int) -> dict[str, list[float]]:
    """Seconds per batch of each timer (a callable that runs one training
    batch and returns its time), measured in interleaved rounds: each round
    times one batch of every timer in turn, so that a change in the machine's
    speed during the run (a shared VM's neighbours) falls on all of them alike."""
    for timer in timers.values():
        for _ in range(warmup):
            timer()
    seconds = {name: [] for name in timers}
    for _ in range(steps):
        for name, timer in timers.items():
            seconds[name].append(timer())
    return seconds


class PILFiles(torch.utils.data.Dataset):
    """The naive loop's data: decode each PNG with PIL on every access."""

    def __init__(self, paths, labels, transform):
        self.paths, self.labels, self.transform = paths, labels, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as image:
            return self.transform(image.convert("RGB")), torch.tensor(float(self.labels[i]))


def naive_timer(arch, size, paths, labels, *, batch):
    """One batch of the naive loop: PIL decoding and transforms, NCHW, default threads."""
    transform = transforms.Compose(
        [
            transforms.Resize((size, size)),
            transforms.RandomHorizontalFlip(),
            transforms.RandomAffine(10, translate=(0.05, 0.05), scale=(0.9, 1.1)),
            transforms.ColorJitter(0.3, 0.3),
            transforms.ToTensor(),
            transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    batches = forever(
        torch.utils.data.DataLoader(PILFiles(paths, labels, transform), batch_size=batch, shuffle=True, drop_last=True)
    )
    model = new_model(arch, channels_last=False)
    opt, loss_fn = optimiser(model), torch.nn.BCEWithLogitsLoss()

    def timer() -> float:
        torch.set_num_threads(DEFAULT_THREADS)
        start = time.perf_counter()
        x, y = next(batches)
        loss = loss_fn(model(x).squeeze(1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return time.perf_counter() - start

    return timer


def pipeline_timer(arch, size, images, labels, *, batch, dtype, threads):
    """One batch of `alnus.train.train_one_epoch` as rule train runs it, its
    augmentation (`alnus.data.ImageSet` over the letterboxed uint8 images) included."""
    batches = forever(
        torch.utils.data.DataLoader(
            ImageSet(images, labels, augmentation(size)), batch_size=batch, shuffle=True, drop_last=True
        )
    )
    model = new_model(arch, channels_last=True)
    opt = optimiser(model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def timer() -> float:
        torch.set_num_threads(threads)
        start = time.perf_counter()
        train_one_epoch(
            model,
            itertools.islice(batches, 1),
            opt,
            scheduler,
            loss_fn,
            device=torch.device("cpu"),
            autocast_dtype=dtype,
        )
        return time.perf_counter() - start

    return timer


def model_only_timer(arch, size, *, batch, dtype, threads):
    """One step of the pipeline's model on one normalised batch held in memory."""
    model = new_model(arch, channels_last=True)
    opt, loss_fn = optimiser(model), torch.nn.BCEWithLogitsLoss()
    x = normalise(torch.randint(0, 256, (batch, 1, size, size), dtype=torch.uint8)).contiguous(
        memory_format=torch.channels_last
    )
    y = torch.tensor([0.0, 1.0] * (batch // 2))

    def timer() -> float:
        torch.set_num_threads(threads)
        start = time.perf_counter()
        with autocast(torch.device("cpu"), dtype):
            logits = model(x).squeeze(1)
        loss = loss_fn(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - start

    return timer


def inference_rates(arch, size, images, *, batch_sizes, dtype) -> dict[int, float]:
    model = new_model(arch, channels_last=True).eval()
    rates = {}
    for batch in batch_sizes:
        predict_probabilities(
            model, images[:batch], device=torch.device("cpu"), autocast_dtype=dtype, batch_size=batch
        )  # warm-up
        start = time.perf_counter()
        predict_probabilities(model, images, device=torch.device("cpu"), autocast_dtype=dtype, batch_size=batch)
        rates[batch] = len(images) / (time.perf_counter() - start)
    return rates


DEFAULT_THREADS = torch.get_num_threads()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="folder of PNGs (default: simulated images)")
    parser.add_argument("--arch", action="append", help="architecture(s); default all three")
    parser.add_argument("--sizes", default="demo,paper", help="demo, paper or both (comma-separated)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8, help="timed rounds (one batch of each loop per round)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--quick", action="store_true", help="inception_v3 at 112 px, 2 steps: a smoke run")
    parser.add_argument(
        "--bf16",
        choices=("auto", "yes", "no"),
        default="auto",
        help="measure bf16 autocast too; auto: only where the CPU has native bf16 "
        "(AVX-512 BF16 or AMX, alnus.hardware)",
    )
    args = parser.parse_args()
    if args.quick:
        args.arch, args.sizes, args.steps, args.warmup = ["inception_v3"], "demo", 2, 1
    archs = args.arch or list(PAPER)
    cpu = processor(torch.device("cpu"))
    bf16 = args.bf16 == "yes" or (args.bf16 == "auto" and cpu.native_bf16)
    dtypes = (None, torch.bfloat16) if bf16 else (None,)
    n = args.batch * (args.warmup + args.steps)
    with tempfile.TemporaryDirectory() as tmp:
        if args.images:
            paths = sorted(args.images.glob("*.png"))[:n]
        else:
            paths = simulated_pngs(Path(tmp), n)
        labels = np.array([k % 2 for k in range(len(paths))], dtype=np.float32)
        print(
            f"# {cpu.name}, {torch.get_num_threads()} default threads, "
            f"torch {torch.__version__}; batch {args.batch}; median of {args.steps} interleaved rounds after {args.warmup}; "
            f"{len(paths)} {'files from ' + str(args.images) if args.images else 'simulated images'}; "
            f"CPU capability {cpu.capability} ({cpu.detected_by}; native bf16: {'yes' if cpu.native_bf16 else 'no'}; "
            f"torch's {torch.backends.cpu.get_cpu_capability()})"
            + ("" if bf16 else ", bf16 not measured (no native bf16; --bf16 yes)")
        )
        print(
            "| architecture | size | naive fp32 NCHW | pipeline fp32 | pipeline bf16 | speed-up fp32 / bf16 vs naive "
            "| model only fp32 / bf16 | pipeline share of model only fp32 / bf16 | inference fp32 img/s by batch |"
        )
        print("|---|---:|---:|---:|---:|---|---|---|---|")
        for preset in args.sizes.split(","):
            for arch in archs:
                size = (PAPER if preset == "paper" else DEMO)[arch]
                images = load_images(paths, size)
                timers = {"naive": naive_timer(arch, size, paths, labels, batch=args.batch)}
                for d in dtypes:
                    timers[("pipeline", d)] = pipeline_timer(
                        arch, size, images, labels, batch=args.batch, dtype=d, threads=args.threads
                    )
                    timers[("alone", d)] = model_only_timer(arch, size, batch=args.batch, dtype=d, threads=args.threads)
                seconds = rounds(timers, warmup=args.warmup, steps=args.steps)
                rate = {name: args.batch / statistics.median(times) for name, times in seconds.items()}
                naive = rate["naive"]
                pipe = {d: rate[("pipeline", d)] for d in dtypes}
                alone = {d: rate[("alone", d)] for d in dtypes}
                torch.set_num_threads(args.threads)
                infer = inference_rates(arch, size, images, batch_sizes=(1, 16, 64), dtype=None)

                def both(values, fmt):
                    return " / ".join(fmt(v) for v in values) if len(values) > 1 else f"{fmt(values[0])} / -"

                print(
                    f"| {arch} | {size} | {naive:.1f} | {pipe[None]:.1f} | "
                    f"{f'{pipe[torch.bfloat16]:.1f}' if bf16 else '-'} | "
                    f"{both([pipe[d] / naive for d in dtypes], lambda v: f'{v:.2f}x')} | "
                    f"{both([alone[d] for d in dtypes], lambda v: f'{v:.1f}')} | "
                    f"{both([pipe[d] / alone[d] for d in dtypes], lambda v: f'{v:.0%}')} | "
                    + ", ".join(f"{b}: {r:.1f}" for b, r in infer.items())
                    + " |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
