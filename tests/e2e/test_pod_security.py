"""Pod security on the real Docker daemon: what a pod asks for is what its containers get.

One server and one kubelet for the module; each test uses its own namespace (``privileged``
where the pod needs host access) and checks the running container from the inside.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.cluster import Cluster, free_port
from tests.kubelet.e2e_helpers import IMAGE, container_status, wait_node

pytestmark = pytest.mark.e2e
PSA = "pod-security.kubernetes.io/"
FULL_CAPS = "000001ffffffffff"  # every capability of a 5.x+ kernel, as a privileged container has


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, busybox_image: str) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("podsec") / "cluster")
    c.start_server()
    try:
        wait_node(c, c.start_kubelet("psa"))
        yield c
    finally:
        c.stop()


class Namespace:
    def __init__(self, cluster: Cluster, name: str, level: str) -> None:
        self.cluster, self.name = cluster, name
        with cluster.http() as h:
            body = {"metadata": {"name": name, "labels": {PSA + "enforce": level}}}
            assert h.post("/api/v1/namespaces", json=body).status_code == 201

    def run(self, name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
        """Create a one-container pod on the module's node; returns the created pod."""
        container = {"name": "c", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                     "command": ["sleep", "3600"], **container}
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"nodeName": self.cluster.node_name("psa"), "terminationGracePeriodSeconds": 0,
                        "containers": [container], **spec}}
        with self.cluster.http() as h:
            response = h.post(f"/api/v1/namespaces/{self.name}/pods", json=pod)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def status(self, name: str) -> dict[str, Any]:
        with self.cluster.http() as h:
            response = h.get(f"/api/v1/namespaces/{self.name}/pods/{name}")
        return dict(response.json().get("status") or {}) if response.status_code == 200 else {}

    def running(self, name: str) -> str:
        """Wait until the pod's container runs; its Docker id."""
        def started() -> str | None:
            cs = container_status(self.status(name), "c")
            return cs["containerID"].split("://")[1] if (cs.get("state") or {}).get("running") else None

        return str(self.cluster.wait_for(f"{self.name}/{name} running", started, timeout=30))

    def delete(self) -> None:
        with self.cluster.http() as h:
            h.delete(f"/api/v1/namespaces/{self.name}")


def fresh_namespace(cluster: Cluster, request: pytest.FixtureRequest, level: str) -> Iterator[Namespace]:
    test = request.node.name.removeprefix("test_")
    ns = Namespace(cluster, f"psa-{test[:24].replace('_', '-').strip('-')}-{os.urandom(2).hex()}", level)
    yield ns
    ns.delete()


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Namespace]:
    """A fresh namespace enforcing baseline."""
    yield from fresh_namespace(cluster, request, "baseline")


@pytest.fixture
def privileged(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Namespace]:
    """A fresh namespace labelled ``enforce: privileged``."""
    yield from fresh_namespace(cluster, request, "privileged")


def run_in(container_id: str, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "exec", container_id, *command], capture_output=True, text=True, timeout=30)


def cap_eff(container_id: str) -> str:
    line = next(li for li in run_in(container_id, "cat", "/proc/self/status").stdout.splitlines()
                if li.startswith("CapEff:"))
    return line.split()[1]


def daemon_runs_privileged() -> bool:
    """Whether this Docker daemon can start a privileged container at all (a daemon that itself
    lacks a capability cannot hand every capability to a container)."""
    done = subprocess.run(["docker", "run", "--rm", "--privileged", IMAGE, "true"], capture_output=True, timeout=60)
    return done.returncode == 0


def test_privileged_really_is_privileged(privileged: Namespace) -> None:
    plain = privileged.running(privileged.run("plain", {})["metadata"]["name"])
    privileged.run("root", {"securityContext": {"privileged": True}})
    if not daemon_runs_privileged():
        # Never a silently unprivileged container: the pod reports why it cannot start (a Failed
        # event with the daemon's reason; the waiting reason moves on to CrashLoopBackOff).
        def refused() -> str | None:
            with privileged.cluster.http() as h:
                events = h.get(f"/api/v1/namespaces/{privileged.name}/events").json()["items"]
            found = [e["message"] for e in events if e["involvedObject"]["name"] == "root" and e["reason"] == "Failed"]
            return found[0] if found else None

        assert "unable to apply caps" in privileged.cluster.wait_for("a Failed event", refused, timeout=30)
        assert container_status(privileged.status("root"), "c").get("started") is not True
        assert run_in(plain, "ls", "/dev/mem").returncode != 0
        return
    root = privileged.running("root")
    assert run_in(root, "ls", "/dev/mem").returncode == 0, "a privileged container sees the host's devices"
    assert run_in(plain, "ls", "/dev/mem").returncode != 0
    assert int(cap_eff(root), 16) > int(cap_eff(plain), 16)
    added = run_in(root, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo")
    assert added.returncode == 0, added.stderr
    assert run_in(plain, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo").returncode != 0


def test_added_capabilities_are_really_added(privileged: Namespace) -> None:
    """What privileged would show, one capability at a time: NET_ADMIN lets the pod configure its network."""
    plain = privileged.running(privileged.run("plain", {})["metadata"]["name"])
    admin = privileged.running(privileged.run("netadmin", {"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}})[
        "metadata"]["name"])
    assert int(cap_eff(admin), 16) == int(cap_eff(plain), 16) | 1 << 12  # CAP_NET_ADMIN is bit 12
    added = run_in(admin, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo")
    assert added.returncode == 0, added.stderr
    assert run_in(plain, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo").returncode != 0


def test_host_network_sees_the_hosts_interfaces(privileged: Namespace) -> None:
    port = free_port()
    serve = {"command": ["sh", "-c", f"mkdir -p /w && echo up > /w/index.html && httpd -f -p 127.0.0.1:{port} -h /w"],
             "readinessProbe": {"httpGet": {"path": "/index.html", "port": port}, "periodSeconds": 1}}
    container = privileged.running(privileged.run("hostnet", serve, hostNetwork=True)["metadata"]["name"])
    inside = set(run_in(container, "ls", "/sys/class/net").stdout.split())
    outside = set(os.listdir("/sys/class/net"))
    assert "docker0" in outside and "docker0" in inside
    assert len(inside & outside) >= len(outside) // 2  # interfaces come and go as other pods start
    st = privileged.status("hostnet")
    assert st["podIP"] == st["hostIP"]
    assert privileged.cluster.wait_for("the pod's port on the host", lambda: _get(f"http://127.0.0.1:{port}/"),
                                       timeout=20) == "up\n"
    privileged.cluster.wait_for("Ready through its probe", lambda: container_status(
        privileged.status("hostnet"), "c").get("ready"), timeout=20)


def _get(url: str) -> str | None:
    try:
        return httpx.get(url, timeout=2).text
    except httpx.HTTPError:
        return None


def test_host_pid_sees_the_hosts_processes(privileged: Namespace) -> None:
    container = privileged.running(privileged.run("hostpid", {}, hostPID=True)["metadata"]["name"])
    pids = [p for p in run_in(container, "ls", "/proc").stdout.split() if p.isdigit()]
    assert len(pids) > 20 and str(os.getpid()) in pids  # this test process, seen from the pod


def test_dropping_all_capabilities_drops_them(namespace: Namespace) -> None:
    container = namespace.running(namespace.run("nocaps", {"securityContext": {"capabilities": {"drop": ["ALL"]}}})[
        "metadata"]["name"])
    assert cap_eff(container) == "0000000000000000"


def test_adding_a_baseline_capability_adds_it(namespace: Namespace) -> None:
    container = namespace.running(namespace.run("onecap", {"securityContext": {
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}})["metadata"]["name"])
    assert int(cap_eff(container), 16) == 1 << 10  # CAP_NET_BIND_SERVICE is bit 10


def test_a_read_only_root_file_system_refuses_writes(namespace: Namespace) -> None:
    container = namespace.running(namespace.run("ro", {"securityContext": {"readOnlyRootFilesystem": True}})[
        "metadata"]["name"])
    written = run_in(container, "touch", "/x")
    assert written.returncode != 0 and "Read-only file system" in written.stderr


def test_run_as_user_runs_as_that_user(namespace: Namespace) -> None:
    container = namespace.running(namespace.run("uid", {}, securityContext={
        "runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [4000]})["metadata"]["name"])
    assert run_in(container, "id", "-u").stdout.strip() == "1000"
    assert run_in(container, "id", "-g").stdout.strip() == "3000"
    assert "4000" in run_in(container, "id", "-G").stdout.split()


def test_a_non_root_container_writes_its_empty_dir(namespace: Namespace) -> None:
    container = namespace.running(namespace.run("writer", {"volumeMounts": [{"name": "cache", "mountPath": "/cache"}]},
                                                securityContext={"runAsUser": 1000, "runAsNonRoot": True},
                                                volumes=[{"name": "cache", "emptyDir": {}}])["metadata"]["name"])
    written = run_in(container, "sh", "-c", "echo hi > /cache/x && stat -c '%a %u' /cache /cache/x")
    assert written.returncode == 0, written.stderr
    assert written.stdout.split("\n")[:2] == ["777 0", "644 1000"]


def test_no_new_privileges_is_set(namespace: Namespace) -> None:
    container = namespace.running(namespace.run("nnp", {"securityContext": {"allowPrivilegeEscalation": False}})[
        "metadata"]["name"])
    status = run_in(container, "cat", "/proc/self/status").stdout
    assert "NoNewPrivs:\t1" in status


def test_seccomp_profiles_are_applied(privileged: Namespace) -> None:
    default = privileged.running(privileged.run("default", {}, securityContext={
        "seccompProfile": {"type": "RuntimeDefault"}})["metadata"]["name"])
    unconfined = privileged.running(privileged.run("unconfined", {"securityContext": {
        "seccompProfile": {"type": "Unconfined"}}})["metadata"]["name"])
    assert "Seccomp:\t2" in run_in(default, "cat", "/proc/self/status").stdout  # filtered
    assert "Seccomp:\t0" in run_in(unconfined, "cat", "/proc/self/status").stdout


def test_safe_sysctls_are_set_where_their_namespace_lives(namespace: Namespace) -> None:
    container = namespace.running(namespace.run("sysctls", {}, securityContext={"sysctls": [
        {"name": "kernel.shm_rmid_forced", "value": "1"},
        {"name": "net.ipv4.ip_unprivileged_port_start", "value": "80"}]})["metadata"]["name"])
    assert run_in(container, "cat", "/proc/sys/kernel/shm_rmid_forced").stdout.strip() == "1"
    assert run_in(container, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start").stdout.strip() == "80"


def test_run_as_non_root_with_a_root_image_is_refused_by_the_kubelet(namespace: Namespace) -> None:
    pod = namespace.run("rootimg", {}, securityContext={"runAsNonRoot": True})

    def waiting() -> dict[str, Any] | None:
        state = container_status(namespace.status("rootimg"), "c").get("state") or {}
        return state.get("waiting") if (state.get("waiting") or {}).get("reason") == "CreateContainerConfigError" else None

    found = namespace.cluster.wait_for("CreateContainerConfigError", waiting, timeout=30)
    assert found["message"] == (f'container has runAsNonRoot and image will run as root (pod: '
                                f'"rootimg_{namespace.name}({pod["metadata"]["uid"]})", container: c)')


def test_the_hostpath_escape_is_refused_in_a_default_namespace(cluster: Cluster) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "escape"},
           "spec": {"nodeName": cluster.node_name("psa"), "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
                    "containers": [{"name": "c", "image": IMAGE, "command": ["chroot", "/host", "sh"],
                                    "volumeMounts": [{"name": "root", "mountPath": "/host"}]}]}}
    with cluster.http() as h:
        response = h.post("/api/v1/namespaces/default/pods", json=pod)
    assert response.status_code == 403
    assert response.json()["message"] == (
        'pods "escape" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "root")')


def test_test_namespaces_are_not_left_behind(cluster: Cluster) -> None:
    # each test above deletes its namespace; the namespace controller removes their pods
    def left() -> bool:
        with cluster.http() as h:
            items = h.get("/api/v1/pods").json()["items"]
        return not [p for p in items if p["metadata"]["namespace"].startswith("psa-")]

    cluster.wait_for("test namespaces emptied", left, timeout=60)
