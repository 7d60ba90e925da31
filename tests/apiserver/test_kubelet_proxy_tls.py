"""The logs proxy gives nothing to an address a client wrote into Node.status.

Any client that may write a Node's status can point its kubelet address anywhere. The API server
dials it over TLS and sends a request only to a peer that proves, in the handshake, to be that
node's kubelet (a cluster-CA certificate naming the node); it never sends a token. Each listener
here records every byte it receives.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID
from fastapi.testclient import TestClient

from apiserver.app import AppSettings, create_app
from apiserver.kubeletclient import KubeletTls
from apiserver.store.sqlite import SqliteStore
from tests.kubelet.tls_helpers import ClusterPki, Pair, make_pki

NODE = "node-a"
ADMIN_TOKEN = "admin-token-that-must-not-leak"


class Recorder:
    """A listener on 127.0.0.1 that records what each connection sends (after TLS, if it has a cert)."""

    def __init__(self, tls: Pair | None = None, client_ca: Path | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.client_certs: list[dict[str, Any]] = []
        self.ctx: ssl.SSLContext | None = None
        if tls is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(str(tls.cert), str(tls.key))
            if client_ca is not None:
                self.ctx.load_verify_locations(cafile=str(client_ca))
                self.ctx.verify_mode = ssl.CERT_OPTIONAL
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(3)
            try:
                if self.ctx is not None:
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                    self.client_certs.append(conn.getpeercert() or {})
                data = conn.recv(65536)
                self.received += data
                if data.startswith(b"GET"):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n")
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def pki(tmp_path: Path) -> ClusterPki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def api(tmp_path: Path, pki: ClusterPki) -> Iterator[TestClient]:
    store = SqliteStore(tmp_path / "state.db")
    tls = KubeletTls(ca=pki.ca, cert=pki.apiserver_client.cert, key=pki.apiserver_client.key)
    with TestClient(create_app(store, AppSettings(kubelet_tls=tls)),
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        client.post("/api/v1/nodes", json={"metadata": {"name": NODE}})
        pod = {"metadata": {"name": "web"}, "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "i"}]}}
        assert client.post("/api/v1/namespaces/default/pods", json=pod).status_code == 201
        yield client
    store.close()


def forge_address(api: TestClient, port: int) -> None:
    """What any client allowed to write the Node's status can do: name an address of its choosing."""
    status = {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
              "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}
    node = api.get(f"/api/v1/nodes/{NODE}").json()
    node["status"] = status
    assert api.put(f"/api/v1/nodes/{NODE}/status", json=node).status_code == 200


def listeners(pki: ClusterPki) -> dict[str, Recorder]:
    return {
        "plain-tcp": Recorder(),
        "tls-self-signed": Recorder(pki.leaf("impostor", cn=f"system:node:{NODE}", org="system:nodes",
                                             usage=ExtendedKeyUsageOID.SERVER_AUTH, dns=[NODE], self_signed=True)),
        "tls-another-nodes-real-certificate": Recorder(pki.kubelet("node-b")),
    }


@pytest.mark.parametrize("kind", ["plain-tcp", "tls-self-signed", "tls-another-nodes-real-certificate"])
def test_a_forged_kubelet_address_receives_no_request_and_no_credential(api: TestClient, pki: ClusterPki,
                                                                        kind: str) -> None:
    recorder = listeners(pki)[kind]
    try:
        forge_address(api, recorder.port)
        response = api.get("/api/v1/namespaces/default/pods/web/log")
    finally:
        recorder.close()
    assert response.status_code == 503
    assert response.json()["reason"] == "ServiceUnavailable"
    assert b"GET" not in recorder.received and b"containerLogs" not in recorder.received
    assert b"uthorization" not in recorder.received and b"Bearer" not in recorder.received
    assert ADMIN_TOKEN.encode() not in recorder.received
    if kind == "plain-tcp":
        assert recorder.received[:1] == b"\x16"  # all it saw is a TLS ClientHello


def test_the_nodes_own_kubelet_gets_the_request_with_a_certificate_and_no_token(api: TestClient,
                                                                                pki: ClusterPki) -> None:
    recorder = Recorder(pki.kubelet(NODE), client_ca=pki.ca)
    try:
        forge_address(api, recorder.port)  # the right address this time
        response = api.get("/api/v1/namespaces/default/pods/web/log")
    finally:
        recorder.close()
    assert response.status_code == 200 and response.text == "hello\n"
    assert recorder.received.startswith(b"GET /containerLogs/default/web/c")
    assert b"uthorization" not in recorder.received and ADMIN_TOKEN.encode() not in recorder.received
    subject = dict(pair[0] for pair in recorder.client_certs[0]["subject"])
    assert subject == {"organizationName": "system:masters", "commonName": "kube-apiserver-kubelet-client"}


def test_without_kubelet_credentials_the_proxy_refuses(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "bare.db")
    with TestClient(create_app(store)) as client:
        client.post("/api/v1/nodes", json={"metadata": {"name": NODE}})
        pod = {"metadata": {"name": "web"}, "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "i"}]}}
        client.post("/api/v1/namespaces/default/pods", json=pod)
        assert client.get("/api/v1/namespaces/default/pods/web/log").status_code == 503
    store.close()


@pytest.mark.parametrize("kind", ["plain-tcp", "tls-self-signed", "tls-another-nodes-real-certificate"])
def test_the_node_proxy_gives_a_forged_address_nothing_either(api: TestClient, pki: ClusterPki, kind: str) -> None:
    recorder = listeners(pki)[kind]
    try:
        forge_address(api, recorder.port)
        response = api.get(f"/api/v1/nodes/{NODE}/proxy/metrics")
    finally:
        recorder.close()
    assert response.status_code == 503 and response.json()["reason"] == "ServiceUnavailable"
    assert b"GET" not in recorder.received and ADMIN_TOKEN.encode() not in recorder.received


def test_the_node_proxy_reaches_the_nodes_own_kubelet(api: TestClient, pki: ClusterPki) -> None:
    recorder = Recorder(pki.kubelet(NODE), client_ca=pki.ca)
    try:
        forge_address(api, recorder.port)
        response = api.get(f"/api/v1/nodes/{NODE}/proxy/metrics")
    finally:
        recorder.close()
    assert response.status_code == 200 and response.text == "hello\n"
    assert recorder.received.startswith(b"GET /metrics ")
    assert b"uthorization" not in recorder.received
