"""The real kubectl reading podvisor's OpenAPI v3 schemas: ``explain`` and client-side ``apply``.

With schemas in the documents kubectl computes the strategic merge patch of ``apply`` from them
rather than from its compiled-in types, so these steps prove the schemas' merge keys keep lists
merged by key: a field another writer added to a list element survives, removed elements are
deleted by key, added ones are appended. No kubelet is needed: only the objects are checked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def deployment(name: str, containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"securityContext": {"runAsUser": 1000}, "containers": containers}}},
    }


def container(name: str, *, env: dict[str, str] | None = None, ports: list[int] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "image": "podvisor/busybox:latest"}
    if env is not None:
        spec["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if ports is not None:
        spec["ports"] = [{"containerPort": p} for p in ports]
    return spec


def pod_spec(kubectl: Kubectl, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = kubectl.json("get", "deployment", name)["spec"]["template"]["spec"]
    return spec


def test_apply_update_merges_lists_by_key(kubectl: Kubectl) -> None:
    name = "merged"
    first = deployment(name, [container("app", env={"FOO": "1", "LEVEL": "debug"}, ports=[80, 81])])
    assert kubectl.apply(first).strip() == "deployment.apps/merged created"
    # Another writer adds an env var the manifest never mentions: a merge keeps it.
    kubectl.run("patch", "deployment", name, "--type=strategic",
                "-p", json.dumps({"spec": {"template": {"spec": {"containers": [
                    {"name": "app", "env": [{"name": "EXTRA", "value": "x"}]}]}}}}))

    second = deployment(name, [container("app", env={"FOO": "2"}, ports=[80]), container("sidecar")])
    second["spec"]["template"]["spec"]["securityContext"] = {"runAsUser": 1001}
    done = kubectl.run("apply", "-f", "-", "-v=6", stdin=json.dumps(second))
    assert "deployment.apps/merged configured" in done.stdout
    assert "openapi/v2" not in done.stderr  # the v3 schemas were enough
    assert "warning" not in done.stderr.lower()

    spec = pod_spec(kubectl, name)
    assert [c["name"] for c in spec["containers"]] == ["app", "sidecar"]
    app = spec["containers"][0]
    assert [(e["name"], e["value"]) for e in app["env"]] == [("EXTRA", "x"), ("FOO", "2")]
    assert [p["containerPort"] for p in app["ports"]] == [80]
    assert spec["securityContext"] == {"runAsUser": 1001}


def test_apply_removes_a_container_by_name_and_keeps_the_others(kubectl: Kubectl) -> None:
    name = "trimmed"
    kubectl.apply(deployment(name, [container("a", ports=[80]), container("b"), container("c", env={"X": "1"})]))
    kubectl.apply(deployment(name, [container("a", ports=[80]), container("c", env={"X": "2"})]))
    spec = pod_spec(kubectl, name)
    assert [c["name"] for c in spec["containers"]] == ["a", "c"]
    assert spec["containers"][1]["env"] == [{"name": "X", "value": "2"}]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("deployment", ["KIND:       Deployment", "GROUP:      apps", "spec\t<DeploymentSpec> -required-",
                        "rolls out changes"]),
        ("deployment.spec.template.spec.containers",
         ["FIELD: containers <[]Container>", "env\t<[]EnvVar>", "ports\t<[]ContainerPort>",
          "name\t<string> -required-", "The entrypoint, replacing the image's ENTRYPOINT"]),
        ("deployment.spec.template.spec.containers.ports.containerPort",
         ["FIELD: containerPort <integer>", "The port number inside the pod's network namespace."]),
        ("pods.spec.containers.livenessProbe.httpGet.port", ["FIELD: port <IntOrString>"]),
        ("svc.spec.ports", ["FIELD: ports <[]ServicePort>", "targetPort\t<IntOrString>"]),
        ("nodes.spec.taints", ["KIND:       Node", "effect\t<string> -required-"]),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_explain(kubectl: Kubectl, target: str, expected: list[str]) -> None:
    out = kubectl.out("explain", target)
    for text in expected:
        assert text in out, f"{text!r} missing from:\n{out}"


def test_explain_recursive_reaches_the_leaves(kubectl: Kubectl) -> None:
    out = kubectl.out("explain", "pods.spec", "--recursive")
    lines = [line.rstrip() for line in out.splitlines()]
    assert "  containers\t<[]Container> -required-" in lines
    assert "    env\t<[]EnvVar>" in lines
    assert "          fieldPath\t<string> -required-" in lines  # containers.env.valueFrom.fieldRef


def test_explain_of_an_unknown_field_fails(kubectl: Kubectl) -> None:
    done = kubectl.run("explain", "deployment.spec.nope", rc=1)
    assert 'field "nope" does not exist' in done.stderr


def test_apply_update_inside_fields_stored_verbatim_needs_no_fallback(kubectl: Kubectl) -> None:
    """Nested maps podvisor stores as dicts still have a published shape kubectl can walk."""
    name = "nested"

    def manifest(*, cap: str, value: str, key: str, command: str) -> dict[str, Any]:
        app = container("app")
        app["securityContext"] = {"capabilities": {"add": [cap]}, "runAsUser": 5}
        app["lifecycle"] = {"preStop": {"exec": {"command": ["sh", "-c", command]}}}
        obj = deployment(name, [app])
        spec = obj["spec"]["template"]["spec"]
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": [value]}]}]}}}
        spec["volumes"] = [{"name": "cfg", "configMap": {"name": "c", "items": [{"key": key, "path": key}]}}]
        spec["dnsConfig"] = {"options": [{"name": "ndots", "value": value}]}
        return obj

    kubectl.apply(manifest(cap="NET_ADMIN", value="1", key="a", command="sleep 1"))
    done = kubectl.run("apply", "-f", "-", "-v=6",
                       stdin=json.dumps(manifest(cap="SYS_TIME", value="2", key="b", command="sleep 2")))
    assert "warning" not in done.stderr.lower() and "openapi/v2" not in done.stderr
    spec = pod_spec(kubectl, name)
    app = spec["containers"][0]
    assert app["securityContext"] == {"capabilities": {"add": ["SYS_TIME"]}, "runAsUser": 5}
    assert app["lifecycle"]["preStop"]["exec"]["command"] == ["sh", "-c", "sleep 2"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["2"]
    assert spec["volumes"][0]["configMap"]["items"] == [{"key": "b", "path": "b"}]
    assert spec["dnsConfig"] == {"options": [{"name": "ndots", "value": "2"}]}
