"""Training survives being killed: a rerun resumes from the last checkpoint
and ends with exactly the weights of an uninterrupted run (on the CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 8

CHILD = textwrap.dedent(
    f"""
    import sys
    import numpy as np
    import torch
    from safetensors.torch import save_file
    sys.path.insert(0, {str(ROOT / "workflow" / "scripts")!r})
    from alnus.data import augmentation
    from alnus.train import TrainSettings, fit

    checkpoint, out, ema_decay = sys.argv[1] or None, sys.argv[2], float(sys.argv[3])
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], 24)
    images = rng.integers(0, 60, (48, 1, 48, 48)).astype(np.uint8)
    images[labels == 1, :, 12:36, 12:36] += 120
    images = torch.from_numpy(images)
    torch.manual_seed(5)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, stride=2), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, stride=2), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 1),
    )
    settings = TrainSettings(epochs={EPOCHS}, batch_size=8, learning_rate=1e-2, weight_decay=1e-4, warmup_epochs=1,
                             patience=99, seed=5, normalisation="imagenet", input_channels=3, compile=False,
                             precise_bn=False, ema_decay=ema_decay, label_smoothing=0.0)
    model, history = fit(model, images, labels, images[:16], labels[:16], settings,
                         transform=augmentation(48), checkpoint=checkpoint, fingerprint="test")
    save_file({{k: v.contiguous() for k, v in model.state_dict().items()}}, out)
    """
)


def run_child(script: Path, checkpoint: str, out: Path, ema_decay: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), checkpoint, str(out), str(ema_decay)], stderr=subprocess.PIPE)


@pytest.mark.parametrize("ema_decay", [0.0, 0.9], ids=["plain", "weight-average"])
def test_killed_training_resumes_to_identical_weights(tmp_path, ema_decay):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    checkpoint = tmp_path / "checkpoint.pt"

    child = run_child(script, str(checkpoint), tmp_path / "resumed.safetensors", ema_decay)
    deadline = time.monotonic() + 300
    while not checkpoint.exists():
        assert child.poll() is None, child.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    killed_after = torch.load(checkpoint, weights_only=True)["run"]["epoch"]
    assert 1 <= killed_after < EPOCHS, "the kill must land mid-run"

    resumed = run_child(script, str(checkpoint), tmp_path / "resumed.safetensors", ema_decay)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    straight = run_child(script, "", tmp_path / "straight.safetensors", ema_decay)
    assert straight.wait(timeout=300) == 0, straight.stderr.read().decode()

    a, b = load_file(tmp_path / "resumed.safetensors"), load_file(tmp_path / "straight.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_checkpoint_of_other_settings_is_ignored(tmp_path):
    from alnus.checkpoints import load_checkpoint, save_checkpoint

    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"fingerprint": "a", "run": {"epoch": 3}})
    assert load_checkpoint(path, "a")["run"]["epoch"] == 3
    assert load_checkpoint(path, "b") is None
    path.write_bytes(b"torn")
    assert load_checkpoint(path, "a") is None
