"""Hairpin mode on the pod network's bridge ports, so a pod can reach itself through its Service.

With ``br_netfilter``, a packet DNATed to a pod on the same bridge is bridged, not routed: it
leaves through the port it came in by, which a bridge refuses unless that port is in hairpin
mode. Docker leaves the mode off; the kubelet's ``hairpin-veth`` mode turns it on for every
pod's veth, and so does this, on every sync (a pod started since is covered by the next one).
The masquerade of the hairpin case (:mod:`kubelet.proxy.rules`) makes the reply come back
through the host, where conntrack undoes both translations.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

SYS_NET = Path("/sys/class/net")


def ensure_hairpin(bridge: str, *, root: Path = SYS_NET) -> int:
    """Turn hairpin mode on for every port of ``bridge``; returns how many ports it changed."""
    changed = 0
    ports = root / bridge / "brif"
    try:
        entries = list(ports.iterdir())
    except OSError:
        return 0  # the bridge is gone (its network removed) or not a bridge
    for port in entries:
        mode = port / "hairpin_mode"
        try:
            if mode.read_text().strip() != "1":
                mode.write_text("1")
                changed += 1
        except OSError as err:  # the port left the bridge meanwhile, or sysfs is read-only
            log.debug("cannot set hairpin mode on %s: %s", port.name, err)
    return changed
