"""A network namespace joined to the host by a veth pair: a node that can be cut off the network.

``NodeNetwork`` makes ``pv-<hex>`` with a veth pair on a random /30 of 100.64.0.0/10 (the host
end is the first address, the namespace end the second). A process started under ``prefix``
(``ip netns exec pv-<hex>``) reaches the host only over that pair, so dropping the namespace's
output on its veth partitions it; unix sockets (the Docker API) are not network traffic and
keep working, as a node's runtime does when only its network to the control plane fails.
Names and addresses are random, so tests in parallel never share one; ``destroy`` deletes
the namespace, which deletes the pair.
"""

from __future__ import annotations

import secrets
import subprocess


class NodeNetwork:
    def __init__(self) -> None:
        suffix = secrets.token_hex(3)
        self.name = f"pv-{suffix}"
        self.host_if, self.node_if = f"pvh{suffix}", f"pvn{suffix}"
        base = f"100.{64 + secrets.randbelow(64)}.{secrets.randbelow(256)}"
        last = secrets.randbelow(64) * 4
        self.host_ip, self.node_ip = f"{base}.{last + 1}", f"{base}.{last + 2}"
        self.partitioned = False

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def create(self) -> None:
        _ip("netns", "add", self.name)
        _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.node_if)
        _ip("link", "set", self.node_if, "netns", self.name)
        _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        _ip("-n", self.name, "addr", "add", f"{self.node_ip}/30", "dev", self.node_if)
        _ip("-n", self.name, "link", "set", self.node_if, "up")
        _ip("-n", self.name, "link", "set", "lo", "up")

    def partition(self) -> None:
        """Drop everything the namespace sends towards the host (established connections hang)."""
        self._iptables("-A")
        self.partitioned = True

    def heal(self) -> None:
        self._iptables("-D")
        self.partitioned = False

    def _iptables(self, action: str) -> None:
        subprocess.run([*self.prefix, "iptables", action, "OUTPUT", "-o", self.node_if, "-j", "DROP"], check=True,
                       capture_output=True, timeout=30)

    def destroy(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "delete", self.host_if], capture_output=True, timeout=30)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)
