"""The kubelet's settings: one dataclass, filled by the CLI (``podvisor kubelet``) or by tests.

Every interval is here rather than a module constant so tests and hollow-node simulations can
shrink or stretch them without patching.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kubelet.restart import Backoff


@dataclass
class KubeletConfig:
    kubeconfig: Path
    node_name: str
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    backoff_reset: float = 600.0
    hollow: bool = False
    hollow_reader: Path | None = None  # hollow nodes' shared pod and node informers read with this kubeconfig
    port: int = 0  # kubelet API port; 0 picks a free one
    address: str = "127.0.0.1"  # the node's InternalIP and the kubelet API's listen address
    lease_interval: float = 10.0  # Kubernetes: a quarter of the 40 s lease duration
    relist_interval: float = 10.0
    lease_duration: int = 40
    node_status_interval: float = 300.0  # full node status report even without a change (as Kubernetes)
    image_backoff_initial: float = 2.0  # failed pulls: ErrImagePull, then ImagePullBackOff
    image_backoff_max: float = 60.0
    pull_failure_memory: float = 30.0  # Always policy: skip re-pulling an image that just failed
    max_pods: int = 110
    docker_host: str | None = None  # None: DOCKER_HOST or the local socket
    network: str = ""  # Docker network of the pods; "" = one per node (podvisor-<node>)
    cert_dir: Path | None = None  # the node's credential and certificates; None: ~/.podvisor/kubelet/<node>
    root_dir: Path | None = None  # projected volumes' files; None: default_root_dir(node_name)
    # how often volumes of API data are rendered again: ConfigMap, Secret, label changes and
    # token renewals reach the files within this (Kubernetes: its 1 min pod sync plus a cache)
    volume_refresh_interval: float = 2.0
    stream_idle_timeout: float = 4 * 3600.0  # exec, attach, port-forward idle this long: closed (Kubernetes: 4 h)
    cluster_dns: str = ""  # the nameserver of ClusterFirst pods; "" = this node's DNS on the pod network's gateway
    cluster_domain: str = "cluster.local"
    resolv_conf: Path = Path("/etc/resolv.conf")  # the host's resolvers: forwarded to, and Default pods' base
    serve_dns: bool = True  # run the cluster DNS on the pod network's gateway, port 53
    proxy_mode: str = "nftables"  # the service proxy: "nftables" (kernel rules) or "none"; never on hollow nodes
    service_cidr: str = "10.96.0.0/12"  # the API server's --service-cidr: pods' traffic to it is the proxy's
    proxy_resync: float = 5.0  # seconds between checks that the kernel still holds the service rules

    def volumes_root(self) -> Path:
        return self.root_dir if self.root_dir is not None else default_root_dir(self.node_name)

    def backoff(self) -> Backoff:
        """The crash-loop back-off of every container on this node."""
        return Backoff(initial=self.backoff_initial, maximum=self.backoff_max, reset_after=self.backoff_reset)

    def image_backoff(self) -> Backoff:
        return Backoff(initial=self.image_backoff_initial, maximum=self.image_backoff_max, reset_after=600.0)


def default_root_dir(node: str) -> Path:
    """``/var/lib/podvisor/kubelet/<node>`` for root, else under ``~/.local/state``."""
    base = Path("/var/lib/podvisor/kubelet") if os.geteuid() == 0 else Path.home() / ".local/state/podvisor/kubelet"
    return base / node
