"""Tests for alnus.devices: the device, the precision chosen from the
detected processor (alnus.hardware), and the determinism switch."""

import os

import pytest
import torch

from alnus.devices import resolve_device, resolve_precision, set_determinism
from alnus.hardware import Processor


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no cuda; use auto or cpu"):
            resolve_device("cuda")


AMX = Processor("Xeon", "amx_bf16", True, "CPU flag amx_bf16 in /proc/cpuinfo")
AVX512_BF16 = Processor("EPYC 9004", "avx512_bf16", True, "CPU flag avx512_bf16 in /proc/cpuinfo")
AVX512 = Processor("Xeon Gold 6148", "avx512", False, "CPU flag avx512f in /proc/cpuinfo")
AVX2 = Processor("AMD EPYC", "avx2", False, "CPU flag avx2 in /proc/cpuinfo")
H200 = Processor("NVIDIA H200", "cuda: NVIDIA H200 (sm_90)", True, "torch.cuda compute capability")
T4 = Processor("Tesla T4", "cuda: Tesla T4 (sm_75)", False, "torch.cuda compute capability")
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize(
    ("precision", "device", "hardware", "dtype", "reason"),
    [
        # auto stays fp32 on every CPU: on a native-bf16 CPU bf16 lost validation AUC on the demo.
        ("auto", CPU, AMX, None, "auto: fp32 on the CPU. This one has native bf16 (amx_bf16)"),
        ("auto", CPU, AVX512_BF16, None, "did not keep validation AUC within 0.01 of fp32"),
        ("auto", CPU, AVX512, None, "auto: fp32; avx512 has no native bf16"),
        ("auto", CPU, AVX2, None, "auto: fp32; avx2 has no native bf16"),
        ("auto", CUDA, H200, torch.bfloat16, "auto: bf16 on a GPU with bf16 tensor cores"),
        ("auto", CUDA, T4, None, "auto: fp32 on a GPU without bf16 tensor cores"),
        ("bf16", CPU, AMX, torch.bfloat16, "bf16, as configured (native on amx_bf16)"),
        ("bf16", CPU, AVX2, torch.bfloat16, "avx2 has no native bf16: it is emulated"),
        ("fp32", CUDA, H200, None, "fp32, as configured"),
        ("fp32", CPU, AMX, None, "fp32, as configured"),
    ],
)
def test_resolve_precision(precision, device, hardware, dtype, reason):
    got, why = resolve_precision(precision, device, hardware=hardware)
    assert got is dtype and reason in why


def test_emulated_bf16_is_warned_about(caplog):
    with caplog.at_level("WARNING", logger="alnus.train"):
        resolve_precision("bf16", CPU, hardware=AVX512)
        resolve_precision("bf16", CPU, hardware=AMX)
    assert len(caplog.records) == 1 and "avx512 has no native bf16" in caplog.records[0].getMessage()


def test_resolve_precision_detects_this_machine():
    dtype, reason = resolve_precision("auto", CPU)
    assert dtype is None and reason.startswith("auto: fp32")


def test_determinism_switch_acts_on_cuda_only(monkeypatch):

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    try:
        set_determinism(True, torch.device("cpu"))
        assert torch.are_deterministic_algorithms_enabled() == before[0]
        set_determinism(True, torch.device("cuda"))
        assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
        assert not torch.backends.cudnn.benchmark
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        set_determinism(False, torch.device("cuda"))
        assert not torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]
