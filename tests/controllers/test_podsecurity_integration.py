"""A Deployment whose pods Pod Security refuses: created, and its ReplicaSet says why pods are missing."""

from __future__ import annotations

from apimachinery.client import ApiClient
from apimachinery.models.core import Event
from tests.controllers.objects import NS, deployment
from tests.controllers.test_integration import api, api_url, eventually  # noqa: F401 - fixtures

HOSTPATH = {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}


async def test_refused_pods_surface_as_failed_create_events(api: ApiClient) -> None:  # noqa: F811
    web = deployment(replicas=2)
    assert web.spec is not None and web.spec.template is not None
    body = web.model_dump(by_alias=True, exclude_none=True)
    body["spec"]["template"]["spec"].update(HOSTPATH)
    await api.create(type(web).model_validate(body), NS)

    async def refusal() -> str | None:
        events, _ = await api.list(Event, NS)
        found = [e for e in events if e.reason == "FailedCreate" and e.involved_object.kind == "ReplicaSet"]
        return found[0].message if found else None

    message = await eventually("a FailedCreate event", refusal)
    assert 'violates PodSecurity "baseline:latest": hostPath volumes (volume "root")' in message
