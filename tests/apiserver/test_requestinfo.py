"""How a request's path and query read as a Kubernetes resource request."""

from __future__ import annotations

from typing import Any

from apiserver.requestinfo import request_info, request_info_of


def test_percent_encoded_names_are_decoded() -> None:
    info = request_info("GET", "/api/v1/namespaces/team/configmaps/a%3Ab")
    assert (info.namespace, info.resource, info.name, info.verb) == ("team", "configmaps", "a:b", "get")


def test_a_watch_is_read_from_the_query() -> None:
    assert request_info("GET", "/api/v1/pods", b"watch=true").verb == "watch"
    assert request_info("GET", "/api/v1/pods", b"").verb == "list"


def test_a_scope_is_read_once_and_shared() -> None:
    scope: dict[str, Any] = {"method": "DELETE", "path": "/apis/apps/v1/namespaces/a/deployments/web",
                             "query_string": b""}
    first = request_info_of(scope)
    scope["path"] = "/api/v1/namespaces/b/secrets/s"  # later readers see the request as it arrived
    assert request_info_of(scope) is first
    assert (first.api_group, first.resource, first.name, first.verb) == ("apps", "deployments", "web", "delete")
