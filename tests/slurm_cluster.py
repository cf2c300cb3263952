"""A real single-node SLURM on this machine, for tests/test_slurm.py.

Debian's slurmctld, slurmd, slurm-client and munge (installed by .ci/run) are
started with a minimal slurm.conf written into a temporary folder: no
accounting, one node "localhost" sized as `slurmd -C` reports it and carrying
one count-only GPU (so that the training jobs' `--gpus=1` is scheduled as on a
GPU cluster; no device is attached, and the jobs run on the CPU), one default
partition. The daemons run as root (SlurmUser=root), munged as the munge user,
and are stopped by PID. Clients find the cluster through SLURM_CONF in `env`;
inside a job, where the Snakemake job-step plugin drops SLURM_* variables before
calling srun, through /run/slurm/conf/slurm.conf, a link to the temporary file
(the place configless SLURM keeps its config), removed again at stop.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

PROGRAMS = ("munged", "munge", "slurmctld", "slurmd", "sinfo", "sbatch", "srun", "squeue", "scontrol")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
CONF_LINK = Path("/run/slurm/conf/slurm.conf")


def unusable_reason() -> str | None:
    """Why a single-node SLURM cannot be started here, or None if it can."""
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if missing:
        return f"SLURM is not installed ({', '.join(missing)} missing; .ci/run installs it)"
    if os.geteuid() != 0:
        return "starting SLURM daemons needs root"
    if SYSTEM_CONF.exists():
        return f"this machine has its own SLURM configuration ({SYSTEM_CONF}), which jobs would use"
    if CONF_LINK.exists():
        return f"another SLURM configuration is active ({CONF_LINK})"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _node_size() -> dict[str, str]:
    """CPUs, sockets, cores, threads and RealMemory of this machine, from `slurmd -C`."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True, timeout=30).stdout
    fields = dict(item.split("=", 1) for item in out.split("\n")[0].split() if "=" in item)
    keys = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    return {key: fields[key] for key in keys}


def _munge_works() -> bool:
    if not MUNGE_SOCKET.exists():
        return False
    credential = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
    if credential.returncode != 0:
        return False
    return subprocess.run(["unmunge"], input=credential.stdout, capture_output=True, timeout=10).returncode == 0


class SingleNodeSlurm:
    """Start with `start()` (or `with`), stop with `stop()`; `env` for clients."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.conf = self.root / "slurm.conf"
        self.node = _node_size()
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._daemons: dict[str, subprocess.Popen] = {}

    @property
    def cpus(self) -> int:
        return int(self.node["CPUs"])

    @property
    def memory_mb(self) -> int:
        return int(self.node["RealMemory"])

    def write_conf(self) -> None:
        for folder in ("state", "spool", "log"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        node = " ".join(f"{key}={value}" for key, value in self.node.items())
        self.conf.write_text(
            f"""ClusterName=alnus-test
SlurmctldHost=localhost
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
ReturnToService=2
KillWait=5
SlurmdTimeout=30
StateSaveLocation={self.root}/state
SlurmdSpoolDir={self.root}/spool
SlurmctldPidFile={self.root}/slurmctld.pid
SlurmdPidFile={self.root}/slurmd.pid
SlurmctldLogFile={self.root}/log/slurmctld.log
SlurmdLogFile={self.root}/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 {node} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
        )
        # A count-only GPU: slurmd keeps a GPU only with a device file, and
        # CountOnly makes it bind nothing (no CUDA_VISIBLE_DEVICES is set).
        (self.root / "gres.conf").write_text("NodeName=localhost Name=gpu Count=1 File=/dev/null Flags=CountOnly\n")

    def start(self, timeout: float = 60) -> None:
        self.write_conf()
        if CONF_LINK.is_symlink() and not CONF_LINK.exists():
            CONF_LINK.unlink()  # left by a test run that was killed
        CONF_LINK.parent.mkdir(parents=True, exist_ok=True)
        CONF_LINK.symlink_to(self.conf)
        if not _munge_works():
            run_dir = MUNGE_SOCKET.parent
            run_dir.mkdir(parents=True, exist_ok=True)
            shutil.chown(run_dir, "munge", "munge")
            self._spawn("munged", ["munged", "--foreground"], user="munge", group="munge")
            self._wait(_munge_works, timeout, "munged did not answer")
        self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)], env=self.env)
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)], env=self.env)
        self._wait(self._node_idle, timeout, "the node did not become idle")

    def _spawn(self, name: str, command: list[str], **options) -> None:
        """Start one daemon in the foreground of a child process, its stderr
        (where it reports before opening its log file) in log/NAME.err."""
        with open(self.root / "log" / f"{name}.err", "w") as stderr:
            self._daemons[name] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, **options)

    def _node_idle(self) -> bool:
        for name, process in self._daemons.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.logs()}")
        state = subprocess.run(
            ["sinfo", "--noheader", "--nodes=localhost", "--format=%t"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return state.returncode == 0 and state.stdout.strip() == "idle"

    def _wait(self, ready, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{message} within {timeout:.0f} s:\n{self.logs()}")
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the daemons this object started, newest first, by PID, and
        remove the configuration link."""
        for name in reversed(list(self._daemons)):
            process = self._daemons.pop(name)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        if CONF_LINK.is_symlink() and CONF_LINK.readlink() == self.conf:
            CONF_LINK.unlink()

    def logs(self) -> str:
        """The tail of every daemon log, for a failure message."""
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            lines = path.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def jobs(self) -> list[dict[str, str]]:
        """Every job the controller still knows (MinJobAge=600 keeps finished
        ones): `id`, `name`, `state`, `memory`, `comment` (the plugin writes the
        rule and wildcards there) and `gpus` (the job's GPU request, or "")."""
        out = subprocess.run(
            ["scontrol", "--oneliner", "show", "job"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        keys = {
            "id": "JobId",
            "name": "JobName",
            "state": "JobState",
            "memory": "MinMemoryNode",
            "comment": "Comment",
            "gpus": "TresPerJob",
        }
        jobs = []
        for line in out.splitlines():
            if line.startswith("JobId="):
                fields = dict(re.findall(r"(\w+)=(\S*)", line))
                jobs.append({key: fields.get(name, "") for key, name in keys.items()})
        return jobs

    def __enter__(self) -> SingleNodeSlurm:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
