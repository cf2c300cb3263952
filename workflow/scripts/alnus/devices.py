"""Where and how a network runs: the device, the autocast precision (and
why, for the model card), kernel determinism and the first inference batch
size. Used by training, prediction, heat maps and the benchmarks."""

from __future__ import annotations

import logging
import os

import torch

from alnus.hardware import Processor, processor

log = logging.getLogger(__name__)

CPU = torch.device("cpu")  # the default device of fit


def resolve_device(device: str = "auto") -> torch.device:
    """auto -> CUDA, then Apple MPS, then CPU; otherwise the named device.

    Raises
    ------
    ValueError
        If the named device is not available on this machine.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return CPU
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(device, False):
        raise ValueError(f"training.device is {device!r} but this machine has no {device}; use auto or cpu")
    return torch.device(device)


def resolve_precision(
    precision: str, device: torch.device, *, hardware: Processor | None = None
) -> tuple[torch.dtype | None, str]:
    """Autocast dtype for config `training.precision` on `device`, and why.

    fp32 and bf16 are taken as given (bf16 on a processor without native bf16
    is emulated: a warning says so). auto is bf16 on a CUDA device with bf16
    tensor cores (compute capability 8.0+), fp32 elsewhere, on every CPU too,
    native-bf16 CPUs (AVX-512 BF16, AMX) included: measured there (AMD EPYC
    with avx512_bf16, Inception V3; docs/benchmarks.md), bf16 autocast trained
    1.3x (112 px) to 2x (160 px) faster, but its best validation AUC was lower
    than fp32's from the same seed on every seed tried: by 0.010 on average
    on BUS-BRA (3 seeds) and 0.053 on the demo (5 seeds), against the 0.01
    that issue 15 set as the condition for turning it on.

    Parameters
    ----------
    precision : "auto", "fp32" or "bf16".
    device : the resolved device (`resolve_device`).
    hardware : the processor behind `device`; None detects it (`alnus.hardware.processor`).

    Returns
    -------
    (dtype, reason): torch.bfloat16, or None for fp32 (no autocast); the
    reason in words, for the model card.
    """
    hardware = hardware or processor(device)
    if precision == "fp32":
        return None, "fp32, as configured"
    if precision == "bf16":
        if hardware.native_bf16:
            return torch.bfloat16, f"bf16, as configured (native on {hardware.capability})"
        reason = (
            f"bf16, as configured, but {hardware.capability} has no native bf16: it is emulated, "
            "about 12 times slower than fp32 on an AVX2 CPU (docs/benchmarks.md)"
        )
        log.warning("training.precision: %s; precision: auto would use fp32 here", reason)
        return torch.bfloat16, reason
    if device.type == "cuda":
        if hardware.native_bf16:
            return torch.bfloat16, f"auto: bf16 on a GPU with bf16 tensor cores ({hardware.capability})"
        return None, f"auto: fp32 on a GPU without bf16 tensor cores ({hardware.capability}, before sm_80)"
    if hardware.native_bf16:
        return None, (
            f"auto: fp32 on the CPU. This one has native bf16 ({hardware.capability}), but on such a CPU "
            "bf16 did not keep validation AUC within 0.01 of fp32 on every study measured (the demo: 0.053 lower "
            "over 5 seeds; docs/benchmarks.md); "
            "training.precision: bf16 uses it, 1.3-2x faster"
        )
    return None, f"auto: fp32; {hardware.capability} has no native bf16 ({hardware.detected_by})"


def set_determinism(deterministic: bool, device: torch.device) -> None:
    """On CUDA, either make kernels deterministic (cuDNN's deterministic
    algorithms, no autotuning, torch's deterministic mode with the cuBLAS
    workspace it needs; slower) or let cuDNN pick the fastest (autotuning).
    The CPU path is deterministic for a fixed thread count already, so CPU
    and MPS runs are left as they are."""
    if device.type != "cuda":
        return
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    torch.use_deterministic_algorithms(deterministic)


def autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast to `dtype` on `device`, or no autocast (fp32) when dtype is None."""
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def default_batch_size(device: torch.device) -> int:
    """First inference batch size: 32 on the CPU (throughput is flat beyond it
    and memory stays small); 256 on an accelerator, halved on running out of
    memory (`predict_probabilities`)."""
    return 32 if device.type == "cpu" else 256
