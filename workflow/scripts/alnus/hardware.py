"""What a model is trained on: the processor's name and its capability (the
instruction set of a CPU, or the CUDA device), which say whether bf16 is
native there or emulated.

On a CPU, bf16 is native only with the AVX-512 BF16 or AMX-BF16 instructions.
Plain AVX-512 (and AVX2) has neither, so oneDNN emulates bf16, about 12 times
slower than fp32 on this project's AVX2 machine (docs/benchmarks.md). torch's
`torch.backends.cpu.get_cpu_capability()` says only "AVX2" or "AVX512", the
same on a CPU with and without BF16, so the flags are read from Linux's
/proc/cpuinfo. Elsewhere (macOS, Windows) bf16 support is not detected and
is taken as absent, with torch's capability recorded instead.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import torch

# CPU flags of /proc/cpuinfo, best first: (flag, capability name, native bf16).
CPU_FLAGS: tuple[tuple[str, str, bool], ...] = (
    ("amx_bf16", "amx_bf16", True),
    ("avx512_bf16", "avx512_bf16", True),
    ("avx512f", "avx512", False),
    ("avx2", "avx2", False),
)
# CUDA devices have bf16 tensor cores from compute capability 8.0 (Ampere) on.
CUDA_NATIVE_BF16 = (8, 0)


@dataclass(frozen=True)
class Processor:
    """The processor a job computes on.

    Attributes
    ----------
    name : e.g. "Intel(R) Xeon(R) Platinum 8480+", "AMD EPYC", "NVIDIA H200".
    capability : "amx_bf16", "avx512_bf16", "avx512", "avx2" (the best of
        CPU_FLAGS found), torch's CPU capability in lower case where no flags
        were read ("default", ...), "cuda: <name> (sm_<major><minor>)" or "mps".
    native_bf16 : whether bf16 runs on native instructions or tensor cores.
    detected_by : how capability was found, in words (for the model card).
    """

    name: str
    capability: str
    native_bf16: bool
    detected_by: str


def read_cpuinfo(path: str | Path = "/proc/cpuinfo") -> str | None:
    """The text of /proc/cpuinfo, or None where there is none (macOS, Windows)."""
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _field(cpuinfo: str, key: str) -> str | None:
    """The value of the first `key : value` line of cpuinfo text."""
    for line in cpuinfo.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() == key:
            return value.strip()
    return None


def cpu_flags(cpuinfo: str) -> set[str]:
    """The x86 feature flags of /proc/cpuinfo text (its first `flags` line);
    empty where the text has none (ARM lists `Features` instead)."""
    return set((_field(cpuinfo, "flags") or "").split())


def cpu_processor(cpuinfo: str | None = None, *, system: str | None = None) -> Processor:
    """The CPU this process runs on, from /proc/cpuinfo text.

    Parameters
    ----------
    cpuinfo : text of /proc/cpuinfo; None reads it (on Linux).
    system : platform.system() (for the message where there is no cpuinfo).
    """
    system = system or platform.system()
    if cpuinfo is None and system == "Linux":
        cpuinfo = read_cpuinfo()
    name = (_field(cpuinfo, "model name") if cpuinfo else None) or platform.processor() or platform.machine()
    flags = cpu_flags(cpuinfo) if cpuinfo else set()
    for flag, capability, native in CPU_FLAGS:
        if flag in flags:
            return Processor(name, capability, native, f"CPU flag {flag} in /proc/cpuinfo")
    torch_capability = torch.backends.cpu.get_cpu_capability().lower()
    if cpuinfo is None:
        why = f"no /proc/cpuinfo on {system}: bf16 support is not detected and taken as absent"
    else:
        why = "no avx2/avx512 flag in /proc/cpuinfo: no native bf16 known"
    return Processor(name, torch_capability, False, f"{why}; torch's CPU capability {torch_capability}")


def cuda_processor(device: torch.device) -> Processor:
    """The CUDA device `device`: its name, compute capability and whether it
    has bf16 tensor cores (compute capability 8.0 or later)."""
    name = torch.cuda.get_device_name(device)
    major, minor = torch.cuda.get_device_capability(device)
    native = (major, minor) >= CUDA_NATIVE_BF16
    return Processor(name, f"cuda: {name} (sm_{major}{minor})", native, "torch.cuda compute capability")


def processor(device: torch.device, *, cpuinfo: str | None = None) -> Processor:
    """The processor behind `device` (cpu, cuda or mps); `cpuinfo` as in
    `cpu_processor`, for tests."""
    if device.type == "cuda":
        return cuda_processor(device)
    if device.type == "mps":
        return Processor(f"Apple {platform.machine()}", "mps", False, "Apple MPS: bf16 not used")
    return cpu_processor(cpuinfo)
