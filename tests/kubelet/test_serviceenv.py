"""The docker-link-style variables Services give a pod's containers."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.models.core import Pod, Service
from kubelet.serviceenv import service_env, service_variables, services_for, variable_name


def pod(namespace: str = "demo", **spec: Any) -> Pod:
    return Pod.model_validate(
        {
            "metadata": {"name": "p", "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "i"}], **spec},
        }
    )


def service(
    name: str,
    namespace: str = "demo",
    cluster_ip: str | None = "10.96.0.7",
    ports: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> Service:
    return Service.model_validate(
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": cluster_ip, "ports": ports or [{"port": 80}], **spec},
        }
    )


@pytest.mark.parametrize(("name", "expected"), [("web", "WEB"), ("my-web-2", "MY_WEB_2"), ("a.b", "A.B")])
def test_variable_names_are_upper_case_with_underscores(name: str, expected: str) -> None:
    assert variable_name(name) == expected


def test_every_port_gives_its_link_variables_and_a_named_port_its_service_port() -> None:
    svc = service(
        "my-web",
        ports=[
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"name": "dns-udp", "port": 53, "protocol": "UDP"},
        ],
    )
    assert service_variables(svc) == {
        "MY_WEB_SERVICE_HOST": "10.96.0.7",
        "MY_WEB_SERVICE_PORT": "80",
        "MY_WEB_SERVICE_PORT_HTTP": "80",
        "MY_WEB_SERVICE_PORT_DNS_UDP": "53",
        "MY_WEB_PORT": "tcp://10.96.0.7:80",
        "MY_WEB_PORT_80_TCP": "tcp://10.96.0.7:80",
        "MY_WEB_PORT_80_TCP_PROTO": "tcp",
        "MY_WEB_PORT_80_TCP_PORT": "80",
        "MY_WEB_PORT_80_TCP_ADDR": "10.96.0.7",
        "MY_WEB_PORT_53_UDP": "udp://10.96.0.7:53",
        "MY_WEB_PORT_53_UDP_PROTO": "udp",
        "MY_WEB_PORT_53_UDP_PORT": "53",
        "MY_WEB_PORT_53_UDP_ADDR": "10.96.0.7",
    }


def test_an_unnamed_port_defaults_to_tcp_and_gives_no_named_variable() -> None:
    env = service_variables(service("db", ports=[{"port": 5432}]))
    assert env["DB_PORT"] == "tcp://10.96.0.7:5432" and not any(k.startswith("DB_SERVICE_PORT_") for k in env)


@pytest.mark.parametrize(
    ("svc", "included"),
    [
        pytest.param(service("web"), True, id="same-namespace"),
        pytest.param(service("web", namespace="other"), False, id="other-namespace"),
        pytest.param(service("web", cluster_ip="None"), False, id="headless"),
        pytest.param(service("web", cluster_ip=None), False, id="not-allocated"),
        pytest.param(
            service("web", cluster_ip=None, type="ExternalName", externalName="x.example"),
            False,
            id="external-name",
        ),
        pytest.param(
            service("kubernetes", namespace="default", cluster_ip="10.96.0.1"),
            True,
            id="kubernetes-from-default",
        ),
        pytest.param(service("other", namespace="default"), False, id="other-default-service"),
    ],
)
def test_which_services_give_variables(svc: Service, included: bool) -> None:
    assert (services_for(pod(), [svc]) == [svc]) is included


def test_enable_service_links_false_keeps_only_the_kubernetes_service() -> None:
    kube = service(
        "kubernetes", namespace="default", cluster_ip="10.96.0.1", ports=[{"name": "https", "port": 443}]
    )
    env = service_env(pod(enableServiceLinks=False), [service("web"), kube])
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and "WEB_SERVICE_HOST" not in env


def test_a_namespace_service_named_kubernetes_wins_over_defaults() -> None:
    kube = service("kubernetes", namespace="default", cluster_ip="10.96.0.1")
    own = service("kubernetes", namespace="demo", cluster_ip="10.96.0.9")
    assert services_for(pod(), [own, kube]) == [own] and services_for(pod(), [kube, own]) == [own]
