"""The real kubectl and Python client streaming into pods: exec, attach and cp, through the API
server's relay to the kubelet and Docker's exec API.

One kubelet on the local Docker daemon runs the pods. Bad requests are also sent straight to the
API server with the ``websockets`` client, to check the Status each one is refused with.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.stream import stream
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from apimachinery import remotecommand as rc
from tests.compat.conftest import KUBECTL, Kubectl, read_lines, ready_nodes
from tests.e2e.cluster import Cluster
from tests.e2e.terminal import Terminal

pytestmark = [pytest.mark.compat, pytest.mark.e2e]

NODES = ("node-x",)
IMAGE = "podvisor/busybox:latest"
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
TICKER = ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done"]


def pod(name: str, *containers: tuple[str, list[str]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 1, **spec,
                     "containers": [{"name": c, "image": IMAGE, "command": cmd} for c, cmd in containers]}}


def running(kubectl: Kubectl, name: str) -> bool:
    status = kubectl.json("get", "pod", name).get("status") or {}
    return all("running" in (s.get("state") or {}) for s in status.get("containerStatuses") or [{}])


@pytest.fixture(scope="module")
def pods(kubectl: Kubectl, compat_cluster: Cluster) -> Iterator[None]:
    node = compat_cluster.node_name(NODES[0])
    kubectl.wait_for("the node Ready", lambda: ready_nodes(kubectl) == [node], timeout=60)
    kubectl.apply(pod("shell", ("main", SLEEP), ("side", SLEEP)))
    kubectl.apply(pod("ticker", ("tick", TICKER)))
    kubectl.apply(pod("finished", ("once", ["true"]), ("keep", SLEEP), restartPolicy="Never"))
    kubectl.apply(pod("nowhere", ("main", SLEEP), nodeSelector={"no-such": "node"}))
    reader = pod("reader", ("cat", ["cat"]), restartPolicy="Never")
    reader["spec"]["containers"][0].update(stdin=True, stdinOnce=True)
    kubectl.apply(reader)
    for name in ("shell", "ticker", "reader"):
        kubectl.wait_for(f"{name} running", functools.partial(running, kubectl, name), timeout=90)
    kubectl.wait_for("finished's first container done", lambda: _terminated(kubectl, "finished", "once"), timeout=90)
    yield
    kubectl.run("delete", "pod", "shell", "ticker", "finished", "nowhere", "reader", "--wait=false")


def _terminated(kubectl: Kubectl, pod_name: str, container: str) -> bool:
    statuses = kubectl.json("get", "pod", pod_name).get("status", {}).get("containerStatuses") or []
    return any(s["name"] == container and "terminated" in (s.get("state") or {}) for s in statuses)


# -- kubectl exec ---------------------------------------------------------------------------


def test_exec_prints_the_output(kubectl: Kubectl, pods: None) -> None:
    done = kubectl.run("exec", "shell", "--", "echo", "hi")
    assert done.stdout == "hi\n"


def test_exec_into_a_named_container(kubectl: Kubectl, pods: None) -> None:
    assert kubectl.out("exec", "shell", "-c", "side", "--", "sh", "-c", "echo $HOSTNAME-side").endswith("-side\n")


def test_exec_pipes_stdin(kubectl: Kubectl, pods: None) -> None:
    assert kubectl.run("exec", "-i", "shell", "--", "cat", stdin="hi\n").stdout == "hi\n"


@pytest.mark.parametrize("code", [3, 1, 127], ids=["exit-3", "exit-1", "exit-127"])
def test_exec_exit_codes_are_kubectls(kubectl: Kubectl, pods: None, code: int) -> None:
    done = kubectl.run("exec", "shell", "--", "sh", "-c", f"echo out; echo err >&2; exit {code}", rc=code)
    assert done.stdout == "out\n" and "err\n" in done.stderr
    assert f"command terminated with exit code {code}" in done.stderr


def test_exec_tty_follows_the_terminal_size(kubectl: Kubectl, pods: None) -> None:
    assert KUBECTL is not None
    command = [KUBECTL, "exec", "-it", "shell", "--", "sh", "-c", "read x; stty size; read y; stty size"]
    terminal = Terminal(command, rows=30, cols=100, env=kubectl.env, cwd=str(kubectl.home))
    try:
        # the terminal size reaches the command just after it starts, as in Kubernetes: so it reads first
        terminal.read_until(b"main, side")
        time.sleep(1.0)
        terminal.type(b"\r")
        terminal.read_until(b"30 100")
        terminal.resize(rows=40, cols=120)  # the kernel sends kubectl SIGWINCH
        time.sleep(0.5)
        terminal.type(b"\r")
        terminal.read_until(b"40 120")
        assert terminal.proc.wait(timeout=30) == 0, terminal.seen
    finally:
        terminal.close()


def test_attach_reads_the_running_output(kubectl: Kubectl, pods: None) -> None:
    lines = read_lines(kubectl.popen("attach", "ticker"), want=lambda got: len(got) >= 2, timeout=30)
    assert len(lines) >= 2 and all(line.startswith("tick ") for line in lines[:2]), lines


def test_attach_with_stdin_once_ends_with_the_input(kubectl: Kubectl, pods: None) -> None:
    done = kubectl.run("attach", "-i", "reader", stdin="hello through attach\n", timeout=60)
    assert "hello through attach" in done.stdout
    kubectl.wait_for("reader's cat ended by the end of its input", lambda: _terminated(kubectl, "reader", "cat"))


def test_cp_a_directory_in_and_out_is_byte_identical(kubectl: Kubectl, pods: None, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "nested" / "deeper").mkdir(parents=True)
    (source / "hello.txt").write_text("hello\n")
    (source / "nested" / "random.bin").write_bytes(os.urandom(300_000))
    (source / "nested" / "deeper" / "empty").write_bytes(b"")
    kubectl.run("cp", str(source), "shell:/tmp/copied", "-c", "main")
    assert kubectl.out("exec", "shell", "-c", "main", "--", "cat", "/tmp/copied/hello.txt") == "hello\n"
    back = tmp_path / "back"
    kubectl.run("cp", "shell:/tmp/copied", str(back), "-c", "main")
    assert _tree(back) == _tree(source)


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


# -- who may exec ---------------------------------------------------------------------------


def test_a_bad_token_is_unauthorized(kubectl: Kubectl, pods: None) -> None:
    done = kubectl.run("exec", "shell", "--token=not-a-token", "--", "true", rc=1)
    assert "Unauthorized" in done.stderr or "You must be logged in" in done.stderr, done.stderr


def test_no_token_is_refused_with_401(compat_cluster: Cluster, pods: None) -> None:
    refused = _refused(compat_cluster, "shell/exec?command=true&stdout=1", token=None)
    assert (refused.status_code, refused.json()["reason"]) == (401, "Unauthorized")


def test_a_node_may_not_exec(compat_cluster: Cluster, pods: None) -> None:
    node = compat_cluster.node_name(NODES[0])
    token = _node_token(compat_cluster, node)
    refused = _refused(compat_cluster, "shell/exec?command=true&stdout=1", token=token)
    assert (refused.status_code, refused.json()["reason"]) == (403, "Forbidden")


def _node_token(cluster: Cluster, node: str) -> str:
    import yaml

    for path in sorted(cluster.cert_dir(node).rglob("*kubeconfig*")):
        users = (yaml.safe_load(path.read_text()) or {}).get("users") or []
        token = next((u["user"].get("token") for u in users if u.get("user", {}).get("token")), None)
        if token:
            return str(token)
    pytest.fail(f"no node token under {cluster.cert_dir(node)}")


# -- bad requests, straight to the API server ------------------------------------------------


class Refusal:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code, self.body = status_code, body

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def _refused(cluster: Cluster, path: str, *, token: str | None, subprotocols: list[str] | None = None) -> Refusal:
    import ssl

    url = cluster.url.replace("https://", "wss://") + "/api/v1/namespaces/default/pods/" + path
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    ctx = ssl.create_default_context(cafile=str(cluster.data_dir / "ca.crt"))
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=headers, ssl=ctx, open_timeout=10,
                subprotocols=[*(subprotocols or [rc.V5])])  # type: ignore[list-item]
    response = refused.value.response
    return Refusal(response.status_code, bytes(response.body or b""))


@pytest.mark.parametrize(("path", "subprotocols", "code", "reason", "message"), [
    ("nope/exec?command=true&stdout=1", None, 404, "NotFound", 'pods "nope" not found'),
    ("shell/exec?command=true&stdout=1&container=nope", None, 400, "BadRequest", "container nope is not valid for pod shell"),
    ("finished/exec?command=true&stdout=1&container=once", None, 400, "BadRequest", 'container not found ("once")'),
    ("shell/exec?command=true&stdout=1&container=main", ["v9.channel.k8s.io"], 400, "BadRequest",
     "requested protocol(s) are not supported"),
    ("nowhere/exec?command=true&stdout=1", None, 400, "BadRequest", "pod nowhere does not have a host assigned"),
    ("shell/exec?stdout=1&container=main", None, 400, "BadRequest", "you must specify at least one command"),
    ("ticker/attach?stdin=0", None, 400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr"),
], ids=["missing-pod", "missing-container", "container-not-running", "unknown-subprotocol", "not-scheduled",
        "no-command", "no-stream"])
def test_bad_stream_requests_get_a_status(compat_cluster: Cluster, pods: None, path: str,
                                          subprotocols: list[str] | None, code: int, reason: str, message: str) -> None:
    refused = _refused(compat_cluster, path, token=compat_cluster.token, subprotocols=subprotocols)
    body = refused.json()
    assert (refused.status_code, body["kind"], body["code"], body["reason"]) == (code, "Status", code, reason)
    assert message in body["message"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_request_without_upgrade_is_a_bad_request(compat_cluster: Cluster, pods: None, method: str) -> None:
    with compat_cluster.http() as http:
        answer = http.request(method, "/api/v1/namespaces/default/pods/shell/exec",
                              params={"command": "true", "stdout": "true", "container": "main"})
    assert answer.status_code == 400
    assert (answer.json()["kind"], answer.json()["message"]) == ("Status", "Upgrade request required")


def test_kubectl_prints_the_refusal(kubectl: Kubectl, pods: None) -> None:
    done = kubectl.run("exec", "shell", "-c", "nope", "--", "true", rc=1)
    assert "container nope is not valid for pod shell" in done.stderr, done.stderr


# -- the official Python client ---------------------------------------------------------------


def test_python_client_stream_exec(compat_cluster: Cluster, pods: None) -> None:
    api_client = config.new_client_from_config(config_file=str(compat_cluster.data_dir / "admin.kubeconfig"))
    try:
        core = client.CoreV1Api(api_client)
        out = stream(core.connect_get_namespaced_pod_exec, "shell", "default", container="main",
                     command=["sh", "-c", "echo from-python"], stderr=True, stdin=False, stdout=True, tty=False)
        assert out == "from-python\n"
        session = stream(core.connect_get_namespaced_pod_exec, "shell", "default", container="main",
                         command=["sh", "-c", "exit 4"], stderr=True, stdin=False, stdout=True, tty=False,
                         _preload_content=False)
        session.run_forever(timeout=30)
        assert session.returncode == 4
    finally:
        api_client.close()


# -- last: the node goes away ------------------------------------------------------------------


def test_a_kubelet_that_is_down_is_reported(kubectl: Kubectl, compat_cluster: Cluster, pods: None) -> None:
    """kubectl retries a refused WebSocket over SPDY and prints that answer: it must be the same."""
    compat_cluster.kill_kubelet(compat_cluster.node_name(NODES[0]))
    done = kubectl.run("exec", "shell", "-c", "main", "--", "true", rc=1)
    assert "unable to upgrade connection: cannot reach the kubelet of node" in done.stderr, done.stderr
