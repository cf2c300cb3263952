"""What the training benchmarks share: the sets of an already preprocessed and
split study as tensors, the pipeline's resolved training preset, and the
line naming the processor (every benchmark names the machine it ran on)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from sklearn.metrics import roc_auc_score  # noqa: E402

from alnus.data import letterbox, preset_augmentation, read_preprocessed  # noqa: E402
from alnus.devices import resolve_precision  # noqa: E402
from alnus.hardware import processor  # noqa: E402
from alnus.models import build_model  # noqa: E402
from alnus.presets import resolve_preset  # noqa: E402
from alnus.study import image_paths, labelled_splits  # noqa: E402
from alnus.train import TrainSettings, fit, predict_probabilities  # noqa: E402
from alnus.vocabulary import COHORTS, PREDICTION_SETS, SETS  # noqa: E402

TESTS = PREDICTION_SETS  # the sets each variant is scored on


def square(pixels: np.ndarray, size: int, fit: str) -> np.ndarray:
    """(H, W) uint8 to (size, size): "letterbox" (the pipeline's, aspect kept)
    or "stretch" (a plain resize to the square, aspect lost)."""
    if fit == "stretch":
        return cv2.resize(pixels, (size, size), interpolation=cv2.INTER_AREA)
    return letterbox(pixels, size)


def load_sets(results: Path, size: int, fit: str = "letterbox") -> dict[str, dict]:
    """Each set of results/splits.csv as {"images": uint8 (n, 1, size, size),
    "labels": (n,) 0/1, "patients": (n,) pseudonyms}, read from the
    preprocessed PNGs under `results`."""
    table = labelled_splits(results / "splits.csv", {c: results / f"preprocessed/{c}/manifest.csv" for c in COHORTS})
    dirs = {c: results / f"preprocessed/{c}/images" for c in COHORTS}
    out = {}
    for name in SETS:
        rows = table[table["set"] == name]
        pixels = [square(read_preprocessed(path), size, fit) for path in image_paths(rows, dirs)]
        out[name] = {
            "images": torch.from_numpy(np.stack(pixels)[:, None].copy()),
            "labels": rows["label"].to_numpy(),
            "patients": rows["patient"].to_numpy(),
        }
    return out


def resolved_preset(configs: list[Path]) -> tuple[str, dict]:
    """(name, settings) of the training preset that the workflow would use with
    these config files (later ones override earlier), resolved as the workflow
    resolves it (`alnus.presets.resolve_preset`)."""
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    training_schema = schema["properties"]["training"]["properties"]
    training: dict = {}
    for path in configs:
        training.update((yaml.safe_load(Path(path).read_text()) or {}).get("training", {}))
    name = training.get("preset", training_schema["preset"]["default"])
    return name, resolve_preset(training_schema, training)


def processor_line(threads: int) -> str:
    """'# <cpu>, capability <c> (<how detected>; native bf16: yes/no), N threads, torch V'."""
    cpu = processor(torch.device("cpu"))
    return (
        f"# {cpu.name}, capability {cpu.capability} ({cpu.detected_by}; native bf16: "
        f"{'yes' if cpu.native_bf16 else 'no'}), {threads} threads, torch {torch.__version__}"
    )


def train_preset(sets: dict, seed: int, preset: dict, *, arch: str, precision: str, flip_tta: bool):
    """Train `arch` on sets["train"] with `preset` through `alnus.train.fit`, as
    rule train does, and score it as rule predict does. Returns ({set: AUC}
    for each of TESTS, the training history)."""
    device = torch.device("cpu")
    dtype, _ = resolve_precision(precision, device)
    settings = TrainSettings.from_preset(preset, seed=seed, input_channels=3, compile=False)
    torch.manual_seed(seed)
    model, history = fit(
        build_model(arch),
        sets["train"]["images"],
        sets["train"]["labels"],
        sets["validation"]["images"],
        sets["validation"]["labels"],
        settings,
        transform=preset_augmentation(preset, preset["input_size"][arch]),
        device=device,
        autocast_dtype=dtype,
    )
    auc = {
        name: roc_auc_score(
            sets[name]["labels"],
            predict_probabilities(
                model,
                sets[name]["images"],
                device=device,
                autocast_dtype=dtype,
                normalisation=settings.normalisation,
                flip_tta=flip_tta,
            ),
        )
        for name in TESTS
    }
    return auc, history
