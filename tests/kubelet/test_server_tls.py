"""The kubelet API over TLS: only the API server's client certificate gets an answer."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubelet.server import ServingCert, bind_socket, create_app, serve, serving_context
from tests.kubelet.tls_helpers import ClusterPki, Pair, make_pki

NODE = "node-a"


@pytest.fixture
def pki(tmp_path: Path) -> ClusterPki:
    return make_pki(tmp_path)


@pytest.fixture
async def kubelet(pki: ClusterPki) -> AsyncIterator[int]:
    """A kubelet API on a free port, with node-a's serving certificate; no pod is on it."""
    serving = pki.kubelet(NODE)
    sock = bind_socket("127.0.0.1", 0)
    tls = serving_context({NODE: ServingCert(serving.cert, serving.key)}, client_ca=pki.ca)
    task = asyncio.create_task(serve(create_app(resolve=lambda ns, name: None), sock, tls))
    await asyncio.sleep(0.2)
    yield sock.getsockname()[1]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    sock.close()


async def call(port: int, pki: ClusterPki, client: Pair | None, *, headers: dict[str, str] | None = None,
               ca: Path | None = None) -> int:
    ctx = ssl.create_default_context(cafile=str(ca or pki.ca))
    if client is not None:
        ctx.load_cert_chain(str(client.cert), str(client.key))
    async with httpx.AsyncClient(verify=ctx, timeout=5) as http:
        response = await http.get(f"https://127.0.0.1:{port}/containerLogs/default/web/app", headers=headers,
                                  extensions={"sni_hostname": NODE})
        return response.status_code


async def test_the_api_servers_client_certificate_is_served(kubelet: int, pki: ClusterPki) -> None:
    assert await call(kubelet, pki, pki.apiserver_client) == 404  # answered: the pod is not on this node


def impostors(pki: ClusterPki) -> dict[str, Pair | None]:
    return {
        "no-client-certificate": None,
        "a-ca-client-certificate-with-another-name": pki.leaf(
            "mallory", cn="mallory", org="system:masters", usage=ExtendedKeyUsageOID.CLIENT_AUTH),
        "another-kubelets-serving-certificate": pki.kubelet("node-b"),
        "the-right-name-from-another-ca": pki.leaf(
            "fake-apiserver", cn="kube-apiserver-kubelet-client", org="system:masters",
            usage=ExtendedKeyUsageOID.CLIENT_AUTH, self_signed=True),
    }


@pytest.mark.parametrize("who", ["no-client-certificate", "a-ca-client-certificate-with-another-name",
                                 "another-kubelets-serving-certificate", "the-right-name-from-another-ca"])
async def test_anyone_else_gets_no_answer(kubelet: int, pki: ClusterPki, who: str) -> None:
    with pytest.raises(httpx.TransportError):
        await call(kubelet, pki, impostors(pki)[who])


async def test_a_bearer_token_opens_nothing(kubelet: int, pki: ClusterPki) -> None:
    with pytest.raises(httpx.TransportError):
        await call(kubelet, pki, None, headers={"Authorization": "Bearer anything"})


async def test_hollow_nodes_on_one_port_present_each_nodes_certificate(pki: ClusterPki) -> None:
    certs = {n: ServingCert(p.cert, p.key) for n in ("h-0", "h-1") for p in [pki.kubelet(n)]}
    sock = bind_socket("127.0.0.1", 0)
    task = asyncio.create_task(serve(create_app(resolve=lambda ns, name: None), sock,
                                     serving_context(certs, client_ca=pki.ca)))
    await asyncio.sleep(0.2)
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.load_cert_chain(str(pki.apiserver_client.cert), str(pki.apiserver_client.key))
    try:
        async with httpx.AsyncClient(verify=ctx, timeout=5) as http:
            for node in certs:  # the TLS server name picks the certificate; hostname checking proves it
                url = f"https://127.0.0.1:{sock.getsockname()[1]}/healthz"
                assert (await http.get(url, extensions={"sni_hostname": node})).status_code == 200
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
