"""Authorization: what the Node authorizer and RBAC cost a request, against AlwaysAllow.

Two ``podvisor apiserver`` processes run side by side, identical but for
``--authorization-mode`` (``Node,RBAC`` against ``AlwaysAllow``). Requests are sent as a
ServiceAccount bound to the ``edit`` ClusterRole by a RoleBinding, with a TokenRequest token,
so every request pays what a real workload's does: the token's signature and lookups, then
RBAC's evaluation (an admin in ``system:masters`` would skip it). Cases alternate between
the two servers so drift on the shared machine hits both.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bench.api import LIST_SIZE, PODS, Server, _spawn, _wait_ready, case_rows, measure_case, stop_servers
from bench.cluster import pod_manifest
from bench.harness import Comparison, RunInfo
from tests.e2e.cluster import free_port

NAME = "authz"
OPS = ("get", "create")
CONNECTIONS = (1, 64)
MODES = {"Node,RBAC": "authorization on (Node,RBAC)", "AlwaysAllow": "authorization off (AlwaysAllow)"}
SERVICE_ACCOUNT = "bench"


def start_server(tmp: Path, mode: str) -> Server:
    data, port = tmp / mode.replace(",", "-"), free_port()
    log = tmp / f"{data.name}.log"
    proc = _spawn(["-m", "podvisor.cli", "apiserver", "--data-dir", str(data), "--port", str(port),
                   "--authorization-mode", mode], log)
    end = time.monotonic() + 30
    while not (data / "admin.token").exists() and time.monotonic() < end:
        time.sleep(0.05)
    server = Server(MODES[mode], proc, f"https://127.0.0.1:{port}", str(data / "ca.crt"),
                    (data / "admin.token").read_text().strip(), setup_namespaces=True)
    _wait_ready(server, log)
    return server


async def prepare(server: Server) -> None:
    """As the admin: the namespaces, the pods GETs read, the ServiceAccount and its binding;
    then the server's token becomes the ServiceAccount's."""
    async with server.client(8) as client:
        for ns in ("bench-list", "bench-create"):
            (await client.post("/api/v1/namespaces", json={"metadata": {"name": ns}})).raise_for_status()
            binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                       "metadata": {"name": "bench-edit"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                       "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": "bench-list"}]}
            (await client.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
                               json=binding)).raise_for_status()
        sa = {"metadata": {"name": SERVICE_ACCOUNT}}
        (await client.post("/api/v1/namespaces/bench-list/serviceaccounts", json=sa)).raise_for_status()
        for i in range(LIST_SIZE):
            body = pod_manifest(f"list-{i}", namespace="bench-list")
            (await client.post(PODS.format(ns="bench-list"), json=body)).raise_for_status()
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"expirationSeconds": 3600}}
        response = await client.post(f"/api/v1/namespaces/bench-list/serviceaccounts/{SERVICE_ACCOUNT}/token",
                                     json=request)
        response.raise_for_status()
    server.token = response.json()["status"]["token"]
    async with server.client(1) as client:  # the token works, and only as far as its binding reaches
        (await client.get(PODS.format(ns="bench-list"))).raise_for_status()
        denied = await client.get("/api/v1/namespaces/default/pods")
        expected = 403 if server.label == MODES["Node,RBAC"] else 200
        if denied.status_code != expected:
            raise RuntimeError(f"{server.label}: listing default's pods answered {denied.status_code}, not {expected}")


async def _measure(quick: bool, tmp: Path) -> list[Comparison]:
    duration = 0.6 if quick else 6.0
    on, off = start_server(tmp, "Node,RBAC"), start_server(tmp, "AlwaysAllow")
    rows: list[Comparison] = []
    try:
        for server in (on, off):
            await prepare(server)
        for kind in OPS:
            for conns in CONNECTIONS:
                (a, a_cpu), (b, b_cpu) = [await measure_case(s, kind, conns, duration, f"{kind}{conns}")
                                         for s in (on, off)]
                rows += case_rows(f"{kind} x{conns} as an edit ServiceAccount", a, b, a_cpu, b_cpu, baseline=off.label, group=NAME)
    finally:
        stop_servers(on, off)
    return rows


def run(*, quick: bool, info: RunInfo) -> list[Comparison]:
    with tempfile.TemporaryDirectory(prefix="podvisor-bench-authz-") as tmp:
        rows = asyncio.run(_measure(quick, Path(tmp)))
    info.notes[NAME] = ("Two podvisor apiservers differing only in --authorization-mode; requests as a ServiceAccount "
                        "bound to edit in its namespace (TokenRequest token), closed loop, GET of one of "
                        f"{LIST_SIZE} pods and pod creates. ratio = authorization on / off.")
    return rows

