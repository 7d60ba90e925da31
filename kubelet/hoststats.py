"""The machine's own CPU and memory use, for the node entry of the Summary API.

Kubernetes users read ``kubectl top node`` as the machine's load, so a node reports the host:
CPU from ``/proc/stat`` (all time not idle or waiting for I/O), memory from ``/proc/meminfo``
(the working set being total minus available, what cAdvisor's root-cgroup figure comes to).
Several kubelets on one host each report that host. Hollow nodes report the sum of their pods.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: /proc/stat counts in USER_HZ ticks
_TICK_NS = 1_000_000_000 // (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


@dataclass(frozen=True)
class HostSample:
    timestamp: float
    cpu_usage_ns: int
    memory_total_bytes: int
    memory_available_bytes: int
    memory_free_bytes: int
    memory_rss_bytes: int  # anonymous pages

    @property
    def working_set_bytes(self) -> int:
        return max(self.memory_total_bytes - self.memory_available_bytes, 0)

    @property
    def usage_bytes(self) -> int:
        return max(self.memory_total_bytes - self.memory_free_bytes, 0)


def read_host(*, proc: Path = Path("/proc"), clock: Callable[[], float] = time.time) -> HostSample:
    """One sample of the host (raises OSError where /proc is not Linux's)."""
    fields = (proc / "stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in fields[:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]  # idle, iowait
    memory = {}
    for line in (proc / "meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        memory[key] = int(rest.split()[0]) * 1024 if rest.split() else 0
    return HostSample(timestamp=clock(), cpu_usage_ns=busy * _TICK_NS,
                      memory_total_bytes=memory.get("MemTotal", 0),
                      memory_available_bytes=memory.get("MemAvailable", memory.get("MemFree", 0)),
                      memory_free_bytes=memory.get("MemFree", 0), memory_rss_bytes=memory.get("AnonPages", 0))
