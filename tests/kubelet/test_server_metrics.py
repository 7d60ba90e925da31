"""``/metrics`` over TLS: nodes sharing one server each answer with their own registry, by server name."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx

from kubelet.metrics import KubeletMetrics
from kubelet.server import ServingCert, bind_socket, create_app, serve, serving_context
from tests.kubelet.tls_helpers import make_pki


async def test_hollow_nodes_sharing_a_port_serve_their_own_metrics(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    registries = {"node-a": KubeletMetrics(), "node-b": KubeletMetrics()}
    registries["node-a"].runtime_call("version", 0.01, failed=False)
    registries["node-b"].probe_result(probe_type="Liveness", result="failed", container="c", pod="p",
                                      namespace="default", pod_uid="u")
    certs = {node: ServingCert((pair := pki.kubelet(node)).cert, pair.key) for node in registries}
    sock = bind_socket("127.0.0.1", 0)
    app = create_app(resolve=lambda _ns, _name: None, metrics=lambda name: registries.get(name or ""))
    task = asyncio.create_task(serve(app, sock, serving_context(certs, client_ca=pki.ca)))
    await asyncio.sleep(0.2)
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.load_cert_chain(str(pki.apiserver_client.cert), str(pki.apiserver_client.key))
    base = f"https://127.0.0.1:{sock.getsockname()[1]}"
    try:
        async def get(node: str, path: str) -> httpx.Response:
            async with httpx.AsyncClient(verify=ctx, timeout=5) as http:  # a connection per node, as the API server's
                return await http.get(f"{base}{path}", extensions={"sni_hostname": node})

        a, b = await get("node-a", "/metrics"), await get("node-b", "/metrics")
        assert a.status_code == b.status_code == 200
        assert a.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert 'kubelet_runtime_operations_total{operation_type="version"} 1.0' in a.text
        assert 'operation_type="version"' not in b.text
        probes_a, probes_b = await get("node-a", "/metrics/probes"), await get("node-b", "/metrics/probes")
        assert 'pod="p"' in probes_b.text and 'pod="p"' not in probes_a.text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
