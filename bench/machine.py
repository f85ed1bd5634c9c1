"""What the numbers were measured on, and /proc readings of CPU time and memory."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    ram_gib: float
    python: str
    kernel: str

    def describe(self) -> str:
        return (
            f"{self.cpu_model}, {self.cores} cores, {self.ram_gib:.1f} GiB RAM, "
            f"Python {self.python}, Linux {self.kernel}"
        )


def this_machine() -> Machine:
    return Machine(
        cpu_model=_cpu_model(),
        cores=len(os.sched_getaffinity(0)),
        ram_gib=_meminfo_kib("MemTotal") / 1024 / 1024,
        python=platform.python_version(),
        kernel=platform.release(),
    )


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown CPU"


def _meminfo_kib(key: str) -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# --- processes ----------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (uvicorn --workers forks; daphne does not)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                parents.setdefault(int(fields[1]), []).append(int(entry))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(parents.get(current, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (all their threads)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            # After the ")" of the command name: state is field 0, utime 11, stime 12.
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def peak_rss_mib(pids: list[int]) -> float:
    """Sum of the processes' peak resident set sizes (VmHWM)."""
    total_kib = 0
    for pid in pids:
        for line in _read(f"/proc/{pid}/status").splitlines():
            if line.startswith("VmHWM:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces), from `state` on."""
    text = _read(f"/proc/{pid}/stat")
    return text.rpartition(")")[2].split() if text else []


def machine_busy_seconds() -> tuple[float, float]:
    """(busy CPU seconds, total CPU seconds) of the whole machine, summed over cores."""
    first = _read("/proc/stat").splitlines()[0].split()[1:]
    ticks = [int(value) for value in first[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / CLOCK_TICKS, sum(ticks) / CLOCK_TICKS


def background_load(seconds: float = 1.0) -> float:
    """Cores busy while the benchmark itself does nothing: other work on the machine."""
    before, _ = machine_busy_seconds()
    time.sleep(seconds)
    after, _ = machine_busy_seconds()
    return (after - before) / seconds


def largest_peak_rss_mib(pids: list[int]) -> float:
    """The largest peak resident set size (VmHWM) of one of these processes."""
    return max((peak_rss_mib([pid]) for pid in pids), default=0.0)
