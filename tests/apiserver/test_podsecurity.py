"""Pod Security Admission through the API: each violation refused as kube-apiserver refuses it.

Every case is a pod that breaks exactly one rule of its level; the test asserts the 403, the
Status reason and Kubernetes' exact message. Baseline cases run in a namespace without labels
(baseline is the default) and in one labelled ``enforce: baseline``; ``enforce: privileged``
admits them (or, for what no podvisor node can apply, refuses with 422 naming the field,
never with a policy 403).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apiserver.app import AppSettings, create_app
from apiserver.podsecurity.policy import PodSecurityConfig
from apiserver.store.sqlite import SqliteStore

Obj = dict[str, Any]
PSA = "pod-security.kubernetes.io/"


def pod(name: str = "x", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "podvisor/busybox"}], **spec}}


def with_context(context: Obj, *, container: int = 0, **spec: Any) -> Obj:
    obj = pod(**spec)
    obj["spec"]["containers"][container]["securityContext"] = context
    return obj


def hostpath_escape() -> Obj:
    obj = pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    obj["spec"]["containers"][0]["volumeMounts"] = [{"name": "root", "mountPath": "/host"}]
    return obj


def two_containers(context: Obj) -> Obj:
    obj = pod()
    obj["spec"]["initContainers"] = [{"name": "init", "image": "podvisor/busybox", "securityContext": context}]
    obj["spec"]["containers"].append({"name": "side", "image": "podvisor/busybox", "securityContext": context})
    return obj


def probe_host() -> Obj:
    obj = pod()
    # a host the API cannot tell is outside the pod (127.0.0.1 is refused earlier, 422 by validation)
    obj["spec"]["containers"][0]["livenessProbe"] = {"tcpSocket": {"port": 22, "host": "10.1.2.3"}}
    return obj


def annotated(annotations: dict[str, str]) -> Obj:
    obj = pod()
    obj["metadata"]["annotations"] = annotations
    return obj


def hostport() -> Obj:
    obj = pod()
    obj["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 10081}]
    return obj


# (id, pod, what the 403 says after 'violates PodSecurity "baseline:latest": ', honoured in privileged)
BASELINE_CASES: list[tuple[str, Callable[[], Obj], str, bool]] = [
    ("hostpath-escape", hostpath_escape, 'hostPath volumes (volume "root")', True),
    ("host-network", lambda: pod(hostNetwork=True), "host namespaces (hostNetwork=true)", True),
    ("host-pid-ipc", lambda: pod(hostPID=True, hostIPC=True), "host namespaces (hostIPC=true, hostPID=true)", True),
    ("privileged", lambda: with_context({"privileged": True}),
     'privileged (container "c" must not set securityContext.privileged=true)', True),
    ("privileged-plural", lambda: two_containers({"privileged": True}),
     'privileged (containers "init", "side" must not set securityContext.privileged=true)', True),
    ("capabilities", lambda: with_context({"capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN", "CHOWN"]}}),
     'non-default capabilities (container "c" must not include "NET_ADMIN", "SYS_ADMIN" in '
     "securityContext.capabilities.add)", True),
    ("net-raw", lambda: with_context({"capabilities": {"add": ["NET_RAW"]}}),
     'non-default capabilities (container "c" must not include "NET_RAW" in securityContext.capabilities.add)', True),
    ("host-ports", hostport, 'hostPort (container "c" uses hostPorts 10081, 8080)', True),
    ("probe-host", probe_host, 'probe or lifecycle host (container "c" uses probe or lifecycle host "10.1.2.3")', True),
    ("apparmor-field", lambda: with_context({"appArmorProfile": {"type": "Unconfined"}}),
     'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")', True),
    ("apparmor-annotation", lambda: annotated({"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}),
     'forbidden AppArmor profile (annotation must not set AppArmor profile type to '
     '"container.apparmor.security.beta.kubernetes.io/c="unconfined"")', True),
    ("selinux", lambda: pod(securityContext={"seLinuxOptions": {"type": "spc_t", "user": "root"}}),
     'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)', False),
    ("proc-mount", lambda: with_context({"procMount": "Unmasked"}),
     'procMount (container "c" must not set securityContext.procMount to "Unmasked")', True),
    ("seccomp-unconfined", lambda: pod(securityContext={"seccompProfile": {"type": "Unconfined"}}),
     'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")', True),
    ("sysctls", lambda: pod(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"},
                                                          {"name": "net.ipv4.tcp_syncookies", "value": "1"}]}),
     "forbidden sysctls (kernel.msgmax)", True),
    ("host-process", lambda: with_context({"windowsOptions": {"hostProcess": True}}),
     'hostProcess (container "c" must not set securityContext.windowsOptions.hostProcess=true)', False),
    ("two-violations", lambda: pod(hostNetwork=True, volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
     'host namespaces (hostNetwork=true), hostPath volumes (volume "root")', True),
]


def restricted_pod(**changes: Callable[[Obj], None]) -> Callable[[], Obj]:
    """A pod that passes restricted, then one change that breaks it."""

    def build() -> Obj:
        obj = pod(securityContext={"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}})
        obj["spec"]["containers"][0]["securityContext"] = {
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
        for change in changes.values():
            change(obj)
        return obj

    return build


def _set(path: str, value: Any) -> Callable[[Obj], None]:
    def change(obj: Obj) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return change


C0 = "spec.containers.0.securityContext"
RESTRICTED_CASES: list[tuple[str, Callable[[], Obj], str]] = [
    ("root-user", restricted_pod(a=_set("spec.securityContext.runAsUser", 0)),
     "runAsUser=0 (pod must not set runAsUser=0)"),
    ("root-allowed", restricted_pod(a=_set("spec.securityContext.runAsNonRoot", False)),
     "runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)"),
    ("root-unset", restricted_pod(a=_set("spec.securityContext.runAsNonRoot", None)),
     'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)'),
    ("escalation", restricted_pod(a=_set(f"{C0}.allowPrivilegeEscalation", None)),
     'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)'),
    ("drop-all-missing", restricted_pod(a=_set(f"{C0}.capabilities", {"drop": ["NET_RAW"]})),
     'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"])'),
    ("add-chown", restricted_pod(a=_set(f"{C0}.capabilities", {"drop": ["ALL"], "add": ["CHOWN", "NET_BIND_SERVICE"]})),
     'unrestricted capabilities (container "c" must not include "CHOWN" in securityContext.capabilities.add)'),
    ("seccomp-unset", restricted_pod(a=_set("spec.securityContext.seccompProfile", None)),
     'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
     '"Localhost")'),
    ("hostpath-escape", restricted_pod(a=_set("spec.volumes", [{"name": "root", "hostPath": {"path": "/"}}])),
     'restricted volume types (volume "root" uses restricted volume type "hostPath")'),
    ("baseline-too", restricted_pod(a=_set("spec.hostPID", True)), "host namespaces (hostPID=true)"),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    store = SqliteStore(tmp_path / "state.db")
    with TestClient(create_app(store, AppSettings(compaction_interval=3600))) as test_client:
        yield test_client
    store.close()


def namespace(client: TestClient, name: str, **labels: str) -> None:
    body = {"metadata": {"name": name, "labels": {PSA + k.replace("_", "-"): v for k, v in labels.items()}}}
    assert client.post("/api/v1/namespaces", json=body).status_code == 201


def create(client: TestClient, ns: str, obj: Obj) -> Any:
    return client.post(f"/api/v1/namespaces/{ns}/pods", json=copy.deepcopy(obj))


def header(*warnings: str) -> str:
    """The ``Warning`` header carrying ``warnings`` (code 299, quotes escaped)."""
    return ", ".join('299 - "{}"'.format(w.replace('"', '\\"')) for w in warnings)


def assert_refused(response: Any, name: str, policy: str, detail: str) -> None:
    assert response.status_code == 403, response.json()
    status = response.json()
    assert status["reason"] == "Forbidden"
    assert status["details"] == {"name": name, "kind": "pods"}
    assert status["message"] == f'pods "{name}" is forbidden: violates PodSecurity "{policy}": {detail}'


@pytest.mark.parametrize(("build", "detail"), [(c[1], c[2]) for c in BASELINE_CASES], ids=[c[0] for c in BASELINE_CASES])
@pytest.mark.parametrize("labelled", [False, True], ids=["default-namespace", "enforce-baseline"])
def test_baseline_violations_are_refused(client: TestClient, build: Callable[[], Obj], detail: str,
                                         labelled: bool) -> None:
    ns = "default"
    if labelled:
        namespace(client, "strict", enforce="baseline", enforce_version="v1.30")
        ns = "strict"
    response = create(client, ns, build())
    assert_refused(response, "x", "baseline:v1.30" if labelled else "baseline:latest", detail)
    assert client.get(f"/api/v1/namespaces/{ns}/pods/x").status_code == 404


@pytest.mark.parametrize(("build", "honoured"), [(c[1], c[3]) for c in BASELINE_CASES], ids=[c[0] for c in BASELINE_CASES])
def test_enforce_privileged_admits_them(client: TestClient, build: Callable[[], Obj], honoured: bool) -> None:
    namespace(client, "ops", enforce="privileged")
    response = create(client, "ops", build())
    if honoured:
        assert response.status_code == 201, response.json()
        assert "Warning" not in response.headers
    else:  # what no node can apply: a 422 naming the field, never the policy's 403
        assert response.status_code == 422, response.json()
        assert response.json()["details"]["causes"][0]["reason"] == "FieldValueForbidden"


@pytest.mark.parametrize(("build", "detail"), [(c[1], c[2]) for c in RESTRICTED_CASES], ids=[c[0] for c in RESTRICTED_CASES])
def test_restricted_violations_are_refused(client: TestClient, build: Callable[[], Obj], detail: str) -> None:
    namespace(client, "hardened", enforce="restricted")
    assert_refused(create(client, "hardened", build()), "x", "restricted:latest", detail)


def test_a_restricted_pod_is_admitted_everywhere(client: TestClient) -> None:
    namespace(client, "hardened", enforce="restricted")
    for ns in ("hardened", "default"):
        response = create(client, ns, restricted_pod()())
        assert response.status_code == 201, response.json()


def test_restricted_refuses_root_by_default(client: TestClient) -> None:
    namespace(client, "hardened", enforce="restricted")
    detail = create(client, "hardened", pod()).json()["message"]
    assert 'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true)' in detail


def test_warn_returns_the_warning_header_and_admits(client: TestClient) -> None:
    namespace(client, "watched", enforce="baseline", warn="restricted")
    response = create(client, "watched", pod())
    assert response.status_code == 201
    assert response.headers["Warning"] == header(
        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set '
        'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set '
        'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set '
        'securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set '
        'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')


def test_an_enforce_refusal_carries_no_warning(client: TestClient) -> None:
    namespace(client, "both", enforce="baseline", warn="restricted")
    response = create(client, "both", pod(hostNetwork=True))
    assert response.status_code == 403
    assert "Warning" not in response.headers


def test_kube_system_is_exempt(client: TestClient) -> None:
    response = create(client, "kube-system", hostpath_escape())
    assert response.status_code == 201, response.json()


def test_the_server_flag_changes_the_default(tmp_path: Path) -> None:
    config = PodSecurityConfig().with_default_enforce("restricted")
    store = SqliteStore(tmp_path / "state.db")
    with TestClient(create_app(store, AppSettings(compaction_interval=3600, pod_security=config))) as client:
        assert_refused(create(client, "default", pod(name="y")), "y", "restricted:latest",
                       'allowPrivilegeEscalation != false (container "c" must set '
                       'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must '
                       'set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must '
                       'set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set '
                       'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    store.close()


def test_dry_run_is_judged_too(client: TestClient) -> None:
    response = client.post("/api/v1/namespaces/default/pods?dryRun=All", json=pod(hostPID=True))
    assert response.status_code == 403


# -- updates ----------------------------------------------------------------------------------


def test_an_update_that_changes_no_image_is_not_judged_again(client: TestClient) -> None:
    namespace(client, "later", enforce="privileged")
    assert create(client, "later", pod(hostNetwork=True)).status_code == 201
    patch = {"metadata": {"labels": {PSA + "enforce": "baseline"}}}
    assert client.patch("/api/v1/namespaces/later", json=patch,
                        headers={"content-type": "application/merge-patch+json"}).status_code == 200
    relabel = client.patch("/api/v1/namespaces/later/pods/x", json={"metadata": {"labels": {"a": "b"}}},
                           headers={"content-type": "application/merge-patch+json"})
    assert relabel.status_code == 200
    new_image = client.patch("/api/v1/namespaces/later/pods/x",
                             json={"spec": {"containers": [{"name": "c", "image": "podvisor/busybox:v2"}]}},
                             headers={"content-type": "application/strategic-merge-patch+json"})
    assert_refused(new_image, "x", "baseline:latest", "host namespaces (hostNetwork=true)")


# -- workloads --------------------------------------------------------------------------------


def deployment(spec: Obj) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}}}


def test_workload_templates_are_warned_about_not_refused(client: TestClient) -> None:
    namespace(client, "apps", enforce="baseline", warn="baseline")
    spec = hostpath_escape()["spec"]
    response = client.post("/apis/apps/v1/namespaces/apps/deployments", json=deployment(spec))
    assert response.status_code == 201, response.json()
    assert response.headers["Warning"] == header('would violate PodSecurity "baseline:latest": hostPath volumes (volume "root")')


def test_workload_templates_are_not_enforced(client: TestClient) -> None:
    response = client.post("/apis/apps/v1/namespaces/default/deployments", json=deployment(hostpath_escape()["spec"]))
    assert response.status_code == 201
    assert "Warning" not in response.headers  # warn defaults to privileged, as in Kubernetes


# -- namespace labels -------------------------------------------------------------------------

LABEL_CASES = [
    ("enforce-level", {PSA + "enforce": "strict"}, f"metadata.labels[{PSA}enforce]",
     'Invalid value: "strict": must be one of privileged, baseline, restricted'),
    ("warn-level", {PSA + "warn": "Baseline"}, f"metadata.labels[{PSA}warn]",
     'Invalid value: "Baseline": must be one of privileged, baseline, restricted'),
    ("audit-version", {PSA + "audit-version": "1.30"}, f"metadata.labels[{PSA}audit-version]",
     'Invalid value: "1.30": must be "latest" or "v1.x"'),
    ("enforce-version", {PSA + "enforce-version": "v2.0"}, f"metadata.labels[{PSA}enforce-version]",
     'Invalid value: "v2.0": must be "latest" or "v1.x"'),
]


@pytest.mark.parametrize(("labels", "field", "message"), [c[1:] for c in LABEL_CASES], ids=[c[0] for c in LABEL_CASES])
def test_invalid_labels_are_refused_on_create(client: TestClient, labels: dict[str, str], field: str,
                                              message: str) -> None:
    response = client.post("/api/v1/namespaces", json={"metadata": {"name": "bad", "labels": labels}})
    assert response.status_code == 422
    status = response.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"] == [{"field": field, "message": message, "reason": "FieldValueInvalid"}]
    assert status["message"] == f'Namespace "bad" is invalid: {field}: {message}'
    assert client.get("/api/v1/namespaces/bad").status_code == 404


@pytest.mark.parametrize(("labels", "field", "message"), [c[1:] for c in LABEL_CASES], ids=[c[0] for c in LABEL_CASES])
def test_invalid_labels_are_refused_on_update(client: TestClient, labels: dict[str, str], field: str,
                                              message: str) -> None:
    namespace(client, "fine")
    response = client.patch("/api/v1/namespaces/fine", json={"metadata": {"labels": labels}},
                            headers={"content-type": "application/merge-patch+json"})
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == field
    assert client.get("/api/v1/namespaces/fine").json()["metadata"].get("labels", {}).keys().isdisjoint(labels)


def test_labelling_a_namespace_warns_about_existing_pods(client: TestClient) -> None:
    namespace(client, "legacy", enforce="privileged")
    for name in ("b", "a", "c"):
        assert create(client, "legacy", pod(name=name, hostNetwork=True)).status_code == 201
    assert create(client, "legacy", restricted_pod()() | {"metadata": {"name": "good"}}).status_code == 201
    assert create(client, "legacy", pod(name="priv", hostPID=True, volumes=[{"name": "v", "hostPath": {"path": "/"}}])
                  ).status_code == 201
    response = client.patch("/api/v1/namespaces/legacy", json={"metadata": {"labels": {PSA + "enforce": "baseline"}}},
                            headers={"content-type": "application/merge-patch+json"})
    assert response.status_code == 200
    assert response.headers["Warning"] == header(
        'existing pods in namespace "legacy" violate the new PodSecurity enforce level "baseline:latest"',
        "a (and 2 other pods): host namespaces",
        "priv: host namespaces, hostPath volumes",
    )
    assert client.get("/api/v1/namespaces/legacy/pods/a").status_code == 200  # running pods are not touched


def test_relaxing_a_namespace_does_not_check_its_pods(client: TestClient) -> None:
    namespace(client, "relax", enforce="baseline")
    response = client.patch("/api/v1/namespaces/relax", json={"metadata": {"labels": {PSA + "enforce": "privileged"}}},
                            headers={"content-type": "application/merge-patch+json"})
    assert response.status_code == 200
    assert "Warning" not in response.headers
