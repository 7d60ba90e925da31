"""The real kubectl's ``auth can-i`` and ``auth can-i --list`` against a real server over HTTPS.

Each identity gets its own kubeconfig with a static token: ``view``/``edit`` bound in namespace
``team``, the node ``system:node:n1`` (pod ``on-n1`` references Secret ``s-n1``), and ``root`` in
``system:masters``. kubectl asks SelfSubjectAccessReview and SelfSubjectRulesReview and prints
what Kubernetes' kubectl prints for those answers.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from apimachinery.kubeconfig import write_kubeconfig
from apiserver.app import create_app
from apiserver.pki import ensure_pki
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.authz_cluster import populate, settings
from tests.apiserver.conftest import free_port

pytestmark = [pytest.mark.compat]
KUBECTL = shutil.which("kubectl")


class TlsServer:
    def __init__(self, data: Path) -> None:
        pki = ensure_pki(data / "pki", hosts=["127.0.0.1", "localhost"])
        self.store = SqliteStore(data / "state.db")
        app = create_app(self.store, settings())
        populate(app.state.registry)
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca_pem = pki.ca_pem
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                ssl_certfile=str(pki.cert_path), ssl_keyfile=str(pki.key_path))
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "apiserver did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.store.close()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path_factory.mktemp("kubectl-auth"))
    yield server
    server.stop()


def kubectl(server: TlsServer, home: Path, who: str, *args: str, rc: int = 0) -> str:
    if KUBECTL is None:
        pytest.fail("kubectl is not installed: pip install -e '.[compat]'")
    config = home / f"{who}.kubeconfig"
    if not config.exists():
        write_kubeconfig(config, server=server.url, token=f"token-{who}", ca_pem=server.ca_pem, user=who)
    done = subprocess.run([KUBECTL, "--kubeconfig", str(config), *args], capture_output=True, text=True, timeout=60,
                          env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, cwd=home)
    assert done.returncode == rc, f"kubectl {' '.join(args)} as {who}: rc={done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


CAN_I = [
    ("view-list-pods", "view", ["list", "pods", "-n", "team"], "yes"),
    ("view-elsewhere", "view", ["list", "pods", "-n", "other"], "no"),
    ("view-logs", "view", ["get", "pods", "--subresource=log", "-n", "team"], "yes"),
    ("view-exec", "view", ["create", "pods", "--subresource=exec", "-n", "team"], "no"),
    ("view-secrets", "view", ["get", "secrets", "-n", "team"], "no"),
    ("edit-secrets", "edit", ["create", "secrets", "-n", "team"], "yes"),
    ("edit-scale", "edit", ["update", "deployments.apps", "--subresource=scale", "-n", "team"], "yes"),
    ("edit-roles", "edit", ["create", "roles", "-n", "team"], "no"),
    ("edit-nodes", "edit", ["list", "nodes"], "no"),
    ("healthz", "view", ["get", "/healthz"], "yes"),
    ("api-discovery", "view", ["get", "/apis/apps"], "yes"),
    ("metrics", "view", ["get", "/metrics"], "no"),
    ("node-own-secret", "node", ["get", "secrets/s-n1", "-n", "team"], "yes"),
    ("node-other-secret", "node", ["get", "secrets/s-n2", "-n", "team"],
     "no - no relationship found between node 'n1' and this object"),
    ("node-own-node", "node", ["patch", "nodes/n1", "--subresource=status"], "yes"),
    ("node-all-pods", "node", ["list", "pods", "-A"], "no - can only list/watch pods with spec.nodeName field selector"),
    ("root-anything", "root", ["delete", "clusterroles"], "yes"),
]


@pytest.mark.parametrize(("who", "args", "answer"), [c[1:] for c in CAN_I], ids=[c[0] for c in CAN_I])
def test_can_i(tls_server: TlsServer, home: Path, who: str, args: list[str], answer: str) -> None:
    assert kubectl(tls_server, home, who, "auth", "can-i", *args, rc=0 if answer == "yes" else 1) == answer


def rows(listing: str) -> dict[str, list[str]]:
    """``kubectl auth can-i --list`` rows by their first column: [non-resource URLs, names, verbs]."""
    lines = listing.splitlines()
    assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    out: dict[str, list[str]] = {}
    for line in lines[1:]:
        cells = line.split()
        if line.startswith(" "):  # a non-resource rule: no resource column
            out[cells[0]] = cells
        else:
            out[cells[0]] = cells[1:]
    return out


def test_can_i_list_for_a_view_user(tls_server: TlsServer, home: Path) -> None:
    listing = rows(kubectl(tls_server, home, "view", "auth", "can-i", "--list", "-n", "team"))
    assert listing["pods"] == ["[]", "[]", "[get", "list", "watch]"]
    assert listing["pods/log"] == ["[]", "[]", "[get", "list", "watch]"]
    assert listing["deployments.apps/scale"] == ["[]", "[]", "[get", "list", "watch]"]
    assert listing["selfsubjectaccessreviews.authorization.k8s.io"] == ["[]", "[]", "[create]"]
    assert listing["[/healthz]"] == ["[/healthz]", "[]", "[get]"]
    assert "secrets" not in listing


def test_can_i_list_for_an_edit_user_elsewhere(tls_server: TlsServer, home: Path) -> None:
    listing = rows(kubectl(tls_server, home, "edit", "auth", "can-i", "--list", "-n", "other"))
    assert "pods" not in listing and "secrets" not in listing
    assert listing["selfsubjectrulesreviews.authorization.k8s.io"] == ["[]", "[]", "[create]"]
    here = rows(kubectl(tls_server, home, "edit", "auth", "can-i", "--list", "-n", "team"))
    verbs = " ".join(here["secrets"][2:]).strip("[]").split()
    assert sorted(verbs) == ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def test_can_i_list_for_cluster_admin(tls_server: TlsServer, home: Path) -> None:
    listing = rows(kubectl(tls_server, home, "root", "auth", "can-i", "--list", "-n", "team"))
    assert listing["*.*"] == ["[]", "[]", "[*]"]
    assert listing["[*]"] == ["[*]", "[]", "[*]"]


def test_kubectl_prints_bindings_as_kubernetes_does(tls_server: TlsServer, home: Path) -> None:
    plain = kubectl(tls_server, home, "root", "get", "clusterrolebinding", "cluster-admin").splitlines()
    assert plain[0].split() == ["NAME", "ROLE", "AGE"]
    assert plain[1].split()[:2] == ["cluster-admin", "ClusterRole/cluster-admin"]
    wide = kubectl(tls_server, home, "root", "get", "clusterrolebinding", "cluster-admin", "-o", "wide").splitlines()
    assert wide[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert wide[1].split()[-1] == "system:masters"
    roles = kubectl(tls_server, home, "root", "get", "clusterroles", "view").splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"]


def test_kubectl_create_rolebinding_is_checked_for_escalation(tls_server: TlsServer, home: Path) -> None:
    made = kubectl(tls_server, home, "admin", "create", "rolebinding", "carol-view", "--clusterrole=view",
                   "--user=carol", "-n", "team")
    assert made == "rolebinding.rbac.authorization.k8s.io/carol-view created"
    assert kubectl(tls_server, home, "root", "auth", "can-i", "list", "pods", "-n", "team", "--as=carol") == "yes"
    assert kubectl(tls_server, home, "root", "auth", "can-i", "list", "pods", "-n", "other", "--as=carol", rc=1) == "no"
    role = kubectl(tls_server, home, "admin", "create", "role", "pod-reader", "--verb=get", "--resource=pods",
                   "-n", "team")
    assert role == "role.rbac.authorization.k8s.io/pod-reader created"
    denied = subprocess.run([KUBECTL or "kubectl", "--kubeconfig", str(home / "edit.kubeconfig"), "create", "rolebinding",
                             "dave-admin", "--clusterrole=admin", "--user=dave", "-n", "team"],
                            capture_output=True, text=True, timeout=60, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    assert denied.returncode == 1
    assert denied.stderr.strip() == (  # a create names no object: Kubernetes' message has no name either
        'error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io is forbidden: User "edit-user" '
        'cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "team"')


def test_kubectl_creates_cluster_roles_and_bindings(tls_server: TlsServer, home: Path) -> None:
    assert kubectl(tls_server, home, "root", "create", "clusterrole", "node-reader", "--verb=get,list",
                   "--resource=nodes") == "clusterrole.rbac.authorization.k8s.io/node-reader created"
    assert kubectl(tls_server, home, "root", "create", "clusterrolebinding", "erin-nodes", "--clusterrole=node-reader",
                   "--user=erin", "--group=ops", "--serviceaccount=team:bot") == (
        "clusterrolebinding.rbac.authorization.k8s.io/erin-nodes created")
    wide = kubectl(tls_server, home, "root", "get", "clusterrolebinding", "erin-nodes", "-o", "wide").splitlines()
    assert wide[1].split()[:2] == ["erin-nodes", "ClusterRole/node-reader"]
    assert wide[1].split()[-3:] == ["erin", "ops", "team/bot"]
    assert kubectl(tls_server, home, "root", "auth", "can-i", "list", "nodes", "--as=erin") == "yes"
    assert kubectl(tls_server, home, "root", "auth", "can-i", "list", "nodes", "--as=system:serviceaccount:team:bot") == "yes"
    assert kubectl(tls_server, home, "root", "auth", "can-i", "delete", "nodes", "--as=erin", rc=1) == "no"


def test_impersonation_needs_the_impersonate_verb(tls_server: TlsServer, home: Path) -> None:
    config = home / "view.kubeconfig"
    kubectl(tls_server, home, "view", "auth", "can-i", "get", "pods", "-n", "team")
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, "--kubeconfig", str(config), "get", "pods", "-n", "team", "--as=root"],
                          capture_output=True, text=True, timeout=60, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert done.stderr.strip() == ('Error from server (Forbidden): users "root" is forbidden: User "view-user" cannot '
                                   'impersonate resource "users" in API group "" at the cluster scope')
