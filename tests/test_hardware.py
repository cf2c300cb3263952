"""Tests for alnus.hardware: the processor and whether its bf16 is native,
from faked /proc/cpuinfo text and a faked CUDA device."""

from __future__ import annotations

import pytest
import torch

from alnus import hardware


def cpuinfo(flags: str, name: str = "Test CPU") -> str:
    """/proc/cpuinfo text of a two-processor x86 machine with `flags`."""
    block = f"processor\t: {{k}}\nvendor_id\t: GenuineIntel\nmodel name\t: {name}\nflags\t\t: fpu sse2 {flags}\n"
    return "\n".join(block.format(k=k) for k in range(2))


@pytest.mark.parametrize(
    ("flags", "capability", "native"),
    [
        ("avx2 avx512f avx512bw avx512_bf16 amx_tile amx_bf16 amx_int8", "amx_bf16", True),  # Sapphire Rapids
        ("avx2 avx512f avx512bw avx512_bf16", "avx512_bf16", True),  # Cooper Lake, Zen 4
        ("avx2 avx512f avx512bw avx512vl avx512_vnni", "avx512", False),  # Skylake-SP: bf16 emulated
        ("avx avx2 fma", "avx2", False),  # this project's AMD EPYC
    ],
)
def test_cpu_capability_from_the_flags(flags, capability, native):
    found = hardware.cpu_processor(cpuinfo(flags, "Fake Xeon"), system="Linux")
    assert (found.capability, found.native_bf16) == (capability, native)
    assert found.name == "Fake Xeon"
    assert found.detected_by.startswith("CPU flag ") and "/proc/cpuinfo" in found.detected_by


def test_cpu_flags_reads_the_first_flags_line_only():
    assert hardware.cpu_flags(cpuinfo("avx2")) == {"fpu", "sse2", "avx2"}
    assert hardware.cpu_flags("processor : 0\nFeatures : fp asimd bf16\n") == set()  # ARM: no x86 flags


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_without_cpuinfo_bf16_is_taken_as_absent(system, monkeypatch):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    found = hardware.cpu_processor(None, system=system)
    assert found.capability == "avx512" and not found.native_bf16
    assert f"no /proc/cpuinfo on {system}" in found.detected_by and "capability avx512" in found.detected_by


def test_read_cpuinfo_of_a_missing_file_is_none(tmp_path):
    assert hardware.read_cpuinfo(tmp_path / "cpuinfo") is None
    (tmp_path / "cpuinfo").write_text(cpuinfo("avx2"))
    assert "avx2" in hardware.read_cpuinfo(tmp_path / "cpuinfo")


@pytest.mark.parametrize(("compute", "native"), [((9, 0), True), ((8, 0), True), ((7, 5), False)])
def test_cuda_processor_is_native_from_ampere_on(compute, native, monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA Fake")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: compute)
    found = hardware.processor(torch.device("cuda"))
    assert found.name == "NVIDIA Fake" and found.native_bf16 is native
    assert found.capability == f"cuda: NVIDIA Fake (sm_{compute[0]}{compute[1]})"


def test_this_machine_is_described():
    found = hardware.processor(torch.device("cpu"))
    assert found.name and found.capability and isinstance(found.native_bf16, bool)
