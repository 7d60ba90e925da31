"""podctl explain: parsing the target, walking the schemas, and the command against a real server."""

from __future__ import annotations

import pytest

from apimachinery import resources as res
from apiserver import openapi
from podctl.errors import PodctlError
from podctl.explain import Target, parse_target, render
from tests.podctl.conftest import Podctl


@pytest.mark.parametrize(
    ("text", "rt", "fields"),
    [
        ("deployment", res.DEPLOYMENTS, ()),
        ("deploy.spec.template", res.DEPLOYMENTS, ("spec", "template")),
        ("deployments.apps.spec", res.DEPLOYMENTS, ("spec",)),
        ("po.spec.containers.env", res.PODS, ("spec", "containers", "env")),
        ("Node", res.NODES, ()),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_parse_target(text: str, rt: res.ResourceType, fields: tuple[str, ...]) -> None:
    assert parse_target(text) == Target(rt, fields)


def test_parse_target_with_api_version() -> None:
    assert parse_target("deploy.spec", "apps/v1") == Target(res.DEPLOYMENTS, ("spec",))


@pytest.mark.parametrize(("text", "api_version"), [("widgets.spec", None), ("", None), ("pods..spec", None),
                                                   ("deploy", "apps/v2")])
def test_parse_target_rejects(text: str, api_version: str | None) -> None:
    with pytest.raises(PodctlError):
        parse_target(text, api_version)


def explained(text: str, *, recursive: bool = False) -> str:
    target = parse_target(text)
    doc = openapi.openapi_v3_document(target.rt.group, target.rt.version)
    assert doc is not None
    return render(doc, target, recursive=recursive)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deployment", ["GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n", "DESCRIPTION:\n    A Deployment",
                        "  spec\t<DeploymentSpec> -required-\n    The desired state"]),
        ("pod", ["KIND:       Pod\nVERSION:    v1\n"]),
        ("deploy.spec.template.spec.containers",
         ["FIELD: containers <[]Container>", "    The pod's containers; at least one.\n    A container of a pod",
          "  env\t<[]EnvVar>\n", "  name\t<string> -required-\n"]),
        ("deploy.spec.replicas", ["FIELD: replicas <integer>", "How many pods to run"]),
        ("pods.metadata.labels", ["FIELD: labels <map[string]string>"]),
        ("pods.spec.os", ["FIELD: os <Object>"]),
        ("pods.spec.affinity.podAntiAffinity", ["FIELD: podAntiAffinity <PodAntiAffinity>",
                                               "requiredDuringSchedulingIgnoredDuringExecution\t<[]PodAffinityTerm>"]),
        ("svc.spec.ports.targetPort", ["FIELD: targetPort <IntOrString>"]),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_render(text: str, expected: list[str]) -> None:
    out = explained(text)
    for part in expected:
        assert part in out, f"{part!r} missing from:\n{out}"


def test_render_recursive_nests_fields_without_descriptions() -> None:
    lines = explained("pods.spec", recursive=True).splitlines()
    assert "  containers\t<[]Container> -required-" in lines
    assert "      valueFrom\t<EnvVarSource>" in lines
    assert "          fieldPath\t<string> -required-" in lines
    assert not any("no description" in line for line in lines)


def test_render_unknown_field() -> None:
    with pytest.raises(PodctlError, match='field "nope" does not exist'):
        explained("deploy.spec.nope")


@pytest.mark.e2e
def test_explain_reads_the_servers_document(podctl: Podctl) -> None:
    done = podctl("explain", "deployment.spec.template.spec.containers.ports", namespace=False)
    assert done.code == 0, done.err
    assert "FIELD: ports <[]ContainerPort>" in done.out
    assert "containerPort\t<integer> -required-" in done.out
    recursive = podctl("explain", "deploy", "--recursive", namespace=False)
    assert recursive.code == 0 and "          image\t<string>" in recursive.out
    missing = podctl("explain", "deploy.spec.nope", namespace=False)
    assert missing.code == 1 and 'field "nope" does not exist' in missing.err
