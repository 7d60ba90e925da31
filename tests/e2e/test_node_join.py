"""Joining on real Docker: one bootstrap token, one identity per node, revocation, restarts."""

from __future__ import annotations

import base64
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from apimachinery.kubeconfig import load_kubeconfig, write_kubeconfig
from kubelet.join import signing_request
from tests.e2e.cluster import Cluster
from tests.kubelet.e2e_helpers import PODS, create, events_of, make_pod, wait_node, wait_status

pytestmark = pytest.mark.e2e
SECRETS = "/api/v1/namespaces/kube-system/secrets"
JOIN = "/apis/node.podvisor.io/v1/nodecredentialrequests"


def node_token(cluster: Cluster, node: str) -> str:
    return load_kubeconfig(cluster.cert_dir(node) / "kubelet.kubeconfig").token


def bootstrap_token(cluster: Cluster) -> str:
    return load_kubeconfig(cluster.data_dir / "node.kubeconfig").token


def as_token(cluster: Cluster, token: str) -> httpx.Client:
    return httpx.Client(base_url=cluster.url, verify=str(cluster.data_dir / "ca.crt"),
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)


def podvisor(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podvisor.cli", *args, "--kubeconfig",
                           str(cluster.data_dir / "admin.kubeconfig")], capture_output=True, text=True, timeout=60)


def credential_version(cluster: Cluster, node: str) -> str:
    with cluster.http() as h:
        return str(h.get(f"{SECRETS}/node-credential-{node}").json()["metadata"]["resourceVersion"])


def test_two_kubelets_join_with_one_token_revocation_is_immediate_and_restarts_reuse(cluster: Cluster) -> None:
    a, b = cluster.start_kubelet("join-a"), cluster.start_kubelet("join-b")
    wait_node(cluster, a)
    wait_node(cluster, b)
    token_a, token_b = node_token(cluster, a), node_token(cluster, b)
    assert token_a != token_b and bootstrap_token(cluster) not in (token_a, token_b)
    for node, token in ((a, token_a), (b, token_b)):
        directory = cluster.cert_dir(node)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for name in ("kubelet.kubeconfig", "kubelet.crt", "kubelet.key"):
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
        cert = x509.load_pem_x509_certificate((directory / "kubelet.crt").read_bytes())
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"system:node:{node}"
        with as_token(cluster, token) as h:
            assert h.get(f"/api/v1/nodes/{node}").status_code == 200
    with cluster.http() as h:  # the server keeps one credential per node, as a visible object
        names = {s["metadata"]["name"] for s in h.get(SECRETS).json()["items"]}
        assert {f"node-credential-{a}", f"node-credential-{b}"} <= names

    # revoked: the very next request of that node is a 401, the other node is untouched
    revoked = podvisor(cluster, "node", "revoke", a)
    assert revoked.returncode == 0, revoked.stderr
    with as_token(cluster, token_a) as h:
        assert h.get(f"/api/v1/nodes/{a}").status_code == 401
    with as_token(cluster, token_b) as h:
        assert h.get(f"/api/v1/nodes/{b}").status_code == 200

    # restart: b reuses its credential (nothing re-issued); a, revoked, joins again with the token
    version_b = credential_version(cluster, b)
    for node in (a, b):
        cluster.kill_kubelet(node)
        cluster.restart_kubelet(node)
    cluster.wait_for(f"{a} to join again", lambda: node_token(cluster, a) != token_a, timeout=30)
    with as_token(cluster, node_token(cluster, a)) as h:
        cluster.wait_for("the new credential", lambda: h.get(f"/api/v1/nodes/{a}").status_code == 200)
    pod = create(cluster, make_pod("after-restart", b, [{"name": "c", "image": "podvisor/busybox:latest",
                                                          "command": ["sh", "-c", "echo hi-from-b; sleep 3600"]}]))
    wait_status(cluster, pod["metadata"]["name"], lambda s: s.get("phase") == "Running", "running on b")
    assert node_token(cluster, b) == token_b and credential_version(cluster, b) == version_b
    with cluster.http() as h:  # logs through the API server, over HTTPS to b's kubelet
        assert cluster.wait_for("the log", lambda: "hi-from-b" in h.get(f"{PODS}/after-restart/log").text)


def test_a_join_token_cannot_take_a_joined_nodes_identity(cluster: Cluster, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    node = cluster.start_kubelet("holder")
    wait_node(cluster, node)
    request = signing_request(ec.generate_private_key(ec.SECP256R1()), node=node, addresses=["127.0.0.1"])
    body = {"apiVersion": "node.podvisor.io/v1", "kind": "NodeCredentialRequest",
            "spec": {"nodeName": node, "request": base64.b64encode(request).decode()}}
    with as_token(cluster, bootstrap_token(cluster)) as h:
        refused = h.post(JOIN, json=body)
    assert refused.status_code == 409 and "revoke it first" in refused.json()["message"]
    with as_token(cluster, node_token(cluster, node)) as h:
        assert h.get(f"/api/v1/nodes/{node}").status_code == 200  # the holder is unaffected


def test_token_commands_and_a_kubelet_whose_token_is_gone(cluster: Cluster, tmp_path: Path) -> None:
    created = podvisor(cluster, "token", "create", "--ttl", "1h", "--description", "for e2e")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    listed = podvisor(cluster, "token", "list")
    assert token.split(".")[0] in listed.stdout and "for e2e" in listed.stdout
    kubeconfig = tmp_path / "join.kubeconfig"
    ca = (cluster.data_dir / "ca.crt").read_bytes()
    write_kubeconfig(kubeconfig, server=cluster.url, token=token, ca_pem=ca, user="joiner")
    node = cluster.start_kubelet("short-lived", kubeconfig=kubeconfig)
    wait_node(cluster, node)
    assert "joined" in (cluster.logs / f"kubelet-{node}.log").read_text()
    with as_token(cluster, token) as h:
        assert h.get("/api/v1/namespaces").status_code != 401
    assert podvisor(cluster, "token", "delete", token.split(".")[0]).returncode == 0
    with as_token(cluster, token) as h:
        assert h.get("/api/v1/namespaces").status_code == 401  # deleted: refused at once
    # revoked and without a valid bootstrap token, the kubelet cannot come back
    assert podvisor(cluster, "node", "revoke", node).returncode == 0
    cluster.kill_kubelet(node)
    cluster.restart_kubelet(node)
    proc = cluster.kubelets[node]
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    log = (cluster.logs / f"kubelet-{node}.log").read_text()
    assert proc.returncode not in (None, 0), log[-2000:]
    assert "cannot join" in log and "401" in log


def test_probe_hosts_outside_the_pod(cluster: Cluster) -> None:
    node = cluster.start_kubelet("prober")
    wait_node(cluster, node)
    loopback = make_pod("probe-loopback", node, [{"name": "c", "image": "podvisor/busybox:latest",
                                                  "command": ["sleep", "3600"],
                                                  "livenessProbe": {"httpGet": {"port": 22, "host": "127.0.0.1"}}}])
    with cluster.http() as h:
        response = h.post(PODS, json=loopback)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "spec.containers[0].livenessProbe.httpGet.host"
    # a host the API cannot judge (it could be the pod's IP) is refused by the kubelet, with an event;
    # Pod Security's baseline refuses any probe host, so for this one pod the namespace is privileged
    set_enforce(cluster, "privileged")
    elsewhere = make_pod("probe-elsewhere", node, [{"name": "c", "image": "podvisor/busybox:latest",
                                                    "command": ["sleep", "3600"],
                                                    "readinessProbe": {"tcpSocket": {"port": 22, "host": "10.255.0.1"},
                                                                       "periodSeconds": 1}}])
    create(cluster, elsewhere)

    def refusal() -> Any:
        return [e for e in events_of(cluster, "probe-elsewhere")
                if e.get("reason") == "Unhealthy" and "is not the pod's IP" in e.get("message", "")]

    try:
        event = cluster.wait_for("the probe refusal event", refusal, timeout=60)[0]
    finally:
        set_enforce(cluster, None)
    assert "'10.255.0.1'" in event["message"] and "probes only the pod" in event["message"]


def set_enforce(cluster: Cluster, level: str | None) -> None:
    """Label (or, with None, unlabel) the default namespace's Pod Security enforce level."""
    patch = {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": level}}}
    with cluster.http() as h:
        response = h.patch("/api/v1/namespaces/default", json=patch,
                           headers={"Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200, response.text
