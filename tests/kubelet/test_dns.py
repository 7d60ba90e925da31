"""Which names a pod answers to on its node network."""

from __future__ import annotations

import pytest

from apimachinery.models.core import Pod, Service
from kubelet.dns import pod_aliases, selects


def pod(name: str = "web-1", namespace: str = "demo", labels: dict[str, str] | None = None) -> Pod:
    return Pod.model_validate({"metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
                               "spec": {"containers": [{"name": "c", "image": "i"}]}})


def service(name: str, selector: dict[str, str] | None, namespace: str = "demo") -> Service:
    return Service.model_validate({"metadata": {"name": name, "namespace": namespace},
                                   "spec": {"selector": selector, "ports": [{"port": 80}]}})


@pytest.mark.parametrize(
    ("svc", "labels", "expected"),
    [
        pytest.param(service("web", {"app": "web"}), {"app": "web", "x": "y"}, True, id="subset-of-labels"),
        pytest.param(service("web", {"app": "web"}), {"app": "db"}, False, id="other-value"),
        pytest.param(service("web", {"app": "web", "tier": "f"}), {"app": "web"}, False, id="missing-label"),
        pytest.param(service("web", None), {"app": "web"}, False, id="no-selector-selects-nothing"),
        pytest.param(service("web", {"app": "web"}, namespace="other"), {"app": "web"}, False, id="other-namespace"),
    ],
)
def test_selects(svc: Service, labels: dict[str, str], expected: bool) -> None:
    assert selects(svc, pod(labels=labels)) is expected


def test_aliases_are_the_pod_name_then_every_selecting_service() -> None:
    services = [service("web", {"app": "web"}), service("db", {"app": "db"}), service("all", {"team": "a"})]
    aliases = pod_aliases(pod(labels={"app": "web", "team": "a"}), services)
    assert aliases == ["web-1", "all", "all.demo", "all.demo.svc", "all.demo.svc.cluster.local",
                       "web", "web.demo", "web.demo.svc", "web.demo.svc.cluster.local"]


def test_hostname_and_subdomain_add_their_name() -> None:
    p = pod()
    p.spec.hostname, p.spec.subdomain = "h", "sub"
    assert pod_aliases(p, []) == ["web-1", "h.sub"]
