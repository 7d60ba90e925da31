"""Forgetting UDP flows that point at endpoints no longer there (kube-proxy's stale-entry cleanup).

A UDP "connection" lives in conntrack for as long as packets keep coming, NAT binding included:
a client sending to a ClusterIP every second would keep talking to a deleted endpoint forever.
After each sync the entries of removed UDP endpoints are deleted, and so are the entries of a
UDP port that just got its first endpoint (they were created while it had none). TCP needs
nothing: a dead endpoint resets or times out, and the client reconnects through the new rules.

This needs the ``conntrack`` tool (Debian's ``conntrack`` package); without it the cleanup is
skipped (logged once). The entries deleted name the ClusterIP (or nodePort) together with the
endpoint's address, which belongs to this pod network, so other clusters' flows are untouched.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from kubelet.proxy.plan import PortPlan

log = logging.getLogger(__name__)
TIMEOUT = 5.0


def stale_flows(before: Iterable[PortPlan], after: Iterable[PortPlan]) -> list[list[str]]:
    """``conntrack -D`` arguments for the UDP flows the change from ``before`` to ``after`` strands."""
    old = {p.name: p for p in before if p.protocol == "udp"}
    commands: list[list[str]] = []
    for plan in after:
        if plan.protocol != "udp":
            continue
        previous = old.pop(plan.name, None)
        had = {e.ip for e in previous.endpoints} if previous else set()
        now = {e.ip for e in plan.endpoints}
        if plan.endpoints and not had:
            commands.append(["-D", "-p", "udp", "--orig-dst", plan.cluster_ip])
            if plan.node_port:
                commands.append(["-D", "-p", "udp", "--dport", str(plan.node_port)])
        for ip in sorted(had - now):
            commands.append(["-D", "-p", "udp", "--orig-dst", previous.cluster_ip if previous else plan.cluster_ip,
                             "--dst-nat", ip])
            if previous and previous.node_port:
                commands.append(["-D", "-p", "udp", "--dport", str(previous.node_port), "--dst-nat", ip])
    for gone in old.values():  # a removed Service or port: all its flows
        for ep in gone.endpoints:
            commands.append(["-D", "-p", "udp", "--orig-dst", gone.cluster_ip, "--dst-nat", ep.ip])
            if gone.node_port:
                commands.append(["-D", "-p", "udp", "--dport", str(gone.node_port), "--dst-nat", ep.ip])
    return commands


@dataclass
class Conntrack:
    binary: str = "conntrack"
    _warned: bool = field(default=False, init=False)

    def flush(self, commands: list[list[str]]) -> None:
        if not commands:
            return
        if shutil.which(self.binary) is None:
            if not self._warned:
                log.info("%s is not installed: stale UDP flows to removed endpoints are not flushed", self.binary)
                self._warned = True
            return
        for args in commands:
            try:
                # exit status 1 means "no entry matched": not an error
                subprocess.run([self.binary, *args], capture_output=True, timeout=TIMEOUT, check=False)
            except (OSError, subprocess.TimeoutExpired) as err:
                log.warning("conntrack %s failed: %s", " ".join(args), err)
