"""DNS lookup latency from inside a pod: the kubelet's cluster DNS against Docker's embedded DNS.

One pod on one kubelet; a Service with a fixed ClusterIP. A client runs in the pod's network
namespace (``nsenter -n`` into its sandbox, so queries take the pod's own path: the bridge to
the gateway for the cluster DNS, Docker's in-namespace redirect for 127.0.0.11) and times each
query with ``perf_counter``: an A query for ``<svc>.default.svc.cluster.local`` to the gateway,
and an A query for a container name to 127.0.0.11, interleaved one by one so both see the same
machine load. Medians and p99 of single UDP round trips, no caching on either side.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from apimachinery.resources import PODS, SERVICES
from bench import dockerops
from bench.cluster import admin_client, bench_cluster, container_running, pod_manifest, wait_node_ready
from bench.harness import Comparison, RunInfo, Stat
from tests.e2e.cluster import Cluster

NAME = "dns"
POD = "bench-dns"
SERVICE = "bench-dns"
CLUSTER_IP = "10.96.7.7"

# Runs in the pod's network namespace with the host's Python and dnspython.
_CLIENT = """
import json, sys, time
import dns.message, dns.query
gateway, fqdn, alias, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
out = {"cluster": [], "docker": []}
for key, server, name in (("cluster", gateway, fqdn), ("docker", "127.0.0.11", alias)):
    dns.query.udp(dns.message.make_query(name, "A"), server, timeout=2)  # warm-up
for _ in range(rounds):
    for key, server, name in (("cluster", gateway, fqdn), ("docker", "127.0.0.11", alias)):
        query = dns.message.make_query(name, "A")
        start = time.perf_counter()
        answer = dns.query.udp(query, server, timeout=2)
        took = time.perf_counter() - start
        if not answer.answer:
            raise SystemExit(f"{server} did not answer {name}: {answer.rcode()}")
        out[key].append(took)
print(json.dumps(out))
"""


async def _start(cluster: Cluster) -> tuple[str, str, str]:
    """The pod's network: its sandbox's pid and name (which Docker's DNS resolves on the network),
    and the gateway its cluster DNS listens on."""
    node = cluster.start_kubelet("bench-dns")
    async with admin_client(cluster) as client:
        await wait_node_ready(client, node)
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": SERVICE},
            "spec": {"clusterIP": CLUSTER_IP, "selector": {"app": "bench"}, "ports": [{"port": 80}]},
        }
        await client.request("POST", SERVICES.path("default"), body=service)
        await client.request("POST", PODS.path("default"), body=pod_manifest(POD, node=node))
        end = time.monotonic() + 60
        while not container_running(await client.request("GET", PODS.path("default", POD))):
            if time.monotonic() > end:
                raise TimeoutError("the benchmark pod did not start")
            await asyncio.sleep(0.2)
    sandboxes = dockerops.run(
        "ps",
        "-q",
        "--filter",
        f"label=io.podvisor.pod.name={POD}",
        "--filter",
        "label=io.podvisor.sandbox=true",
    ).stdout.split()
    if len(sandboxes) != 1:
        raise RuntimeError(f"expected one sandbox of {POD}, found {sandboxes}")
    pid, name = dockerops.run("inspect", "-f", "{{.State.Pid}} {{.Name}}", sandboxes[0]).stdout.split()
    gateway = dockerops.run(
        "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", f"podvisor-{node}"
    ).stdout.strip()
    return pid, name.lstrip("/"), gateway


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    rounds = 20 if quick else 2000
    with bench_cluster() as cluster:
        pid, alias, gateway = asyncio.run(_start(cluster))
        fqdn = f"{SERVICE}.default.svc.cluster.local"
        done = subprocess.run(
            ["nsenter", "-t", pid, "-n", sys.executable, "-c", _CLIENT, gateway, fqdn, alias, str(rounds)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the DNS client failed: {done.stderr.strip()}")
        samples = json.loads(done.stdout)
    info.notes[NAME] = (
        f"{rounds} interleaved UDP A queries from the pod's network namespace after a warm-up: "
        f"{fqdn} to the kubelet's DNS on {gateway}:53, a container name to Docker's 127.0.0.11."
    )
    return [
        Comparison(
            "DNS lookup of a cluster name (kubelet DNS)",
            "s",
            Stat.of(samples["cluster"]),
            Stat.of(samples["docker"]),
            "Docker embedded DNS (container name)",
            group=NAME,
        )
    ]


if __name__ == "__main__":  # a quick look without the results machinery
    for row in run(quick=True, info=RunInfo(started="", quick=True)):
        print(row.name, row.podvisor, row.baseline, row.ratio)
