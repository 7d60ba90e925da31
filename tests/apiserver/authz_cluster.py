"""A small cluster's worth of objects and users for authorization tests, served in-process.

Users come from static tokens: ``view``, ``edit`` and ``admin`` are bound by RoleBindings in
namespace ``team`` only; ``node`` is ``system:node:n1`` with pod ``on-n1`` bound to it (which
references Secret ``s-n1``, ConfigMap ``cm-n1``, ServiceAccount ``sa-n1`` and claim ``pvc-n1``,
bound to volume ``pv-n1``) and pod ``on-n2`` bound to the other node (``s-n2``, ``cm-n2``,
``pvc-n2`` on ``pv-n2``); ``local-n1`` is a local volume of node n1 that no claim holds.
``root`` is in ``system:masters``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from apimachinery import resources as res
from apiserver.app import AppSettings, create_app
from apiserver.authn.tokens import StaticTokens
from apiserver.authn.user import AUTHENTICATED, NODES, SYSTEM_MASTERS, UserInfo
from apiserver.registry import Registry
from apiserver.store.sqlite import SqliteStore

RBAC = "rbac.authorization.k8s.io"
USERS = {
    "view": UserInfo("view-user", groups=(AUTHENTICATED,)),
    "edit": UserInfo("edit-user", groups=(AUTHENTICATED,)),
    "admin": UserInfo("admin-user", groups=(AUTHENTICATED,)),
    "node": UserInfo("system:node:n1", groups=(NODES, AUTHENTICATED)),
    "new-node": UserInfo("system:node:n9", groups=(NODES, AUTHENTICATED)),
    "alice": UserInfo("alice", groups=(AUTHENTICATED,)),
    "root": UserInfo("root", groups=(SYSTEM_MASTERS, AUTHENTICATED)),
}


def headers(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{who}"}


def settings() -> AppSettings:
    return AppSettings(authenticator=StaticTokens({f"token-{k}": u for k, u in USERS.items()}),
                       compaction_interval=3600)


def pod(name: str, node: str, *, secret: str, config: str, account: str = "", claim: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "nodeName": node,
        "containers": [{"name": "c", "image": "busybox", "envFrom": [{"configMapRef": {"name": config}}]}],
        "volumes": [{"name": "s", "secret": {"secretName": secret}}],
    }
    if claim:
        spec["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": claim}})
    if account:
        spec["serviceAccountName"] = account
    return {"metadata": {"name": name, "labels": {"app": name}}, "spec": spec}


def volume(name: str, *, node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}
    if node:
        spec["local"] = {"path": f"/var/lib/podvisor/{name}"}
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    else:
        spec["hostPath"] = {"path": f"/srv/{name}"}
    return {"metadata": {"name": name}, "spec": spec}


def role_binding(name: str, user: str, role: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}]}


def populate(registry: Registry) -> None:
    """Everything the table test names, created in-process (no user, no admission limits)."""
    for ns in ("team", "other"):
        registry.create(res.NAMESPACES, None, {"metadata": {"name": ns}})
    for who in ("view", "edit", "admin"):
        registry.create(res.ROLEBINDINGS, "team", role_binding(f"{who}-binding", f"{who}-user", who))
    for node in ("n1", "n2"):
        registry.create(res.NODES, None, {"metadata": {"name": node}})
        registry.create(res.LEASES, "kube-node-lease", {"metadata": {"name": node}, "spec": {}})
    registry.create(res.PODS, "team", pod("on-n1", "n1", secret="s-n1", config="cm-n1", account="sa-n1",
                                          claim="pvc-n1"))
    registry.create(res.PODS, "team", pod("on-n2", "n2", secret="s-n2", config="cm-n2", claim="pvc-n2"))
    for n in ("n1", "n2"):
        registry.create(res.PERSISTENTVOLUMES, None, volume(f"pv-{n}"))
        registry.create(res.PERSISTENTVOLUMECLAIMS, "team", {"metadata": {"name": f"pvc-{n}"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "", "volumeName": f"pv-{n}"}})
    registry.create(res.PERSISTENTVOLUMES, None, volume("local-n1", node="n1"))
    for ns in ("team", "other"):
        for name in ("s-n1", "s-n2", "x"):
            registry.create(res.SECRETS, ns, {"metadata": {"name": name}, "data": {}})
        for name in ("cm-n1", "cm-n2", "x"):
            registry.create(res.CONFIGMAPS, ns, {"metadata": {"name": name}, "data": {}})


def make_client(tmp_path: Path) -> TestClient:
    app = create_app(SqliteStore(tmp_path / "state.db"), settings())
    populate(app.state.registry)
    return TestClient(app)
