"""The node proxy forwards only the kubelet's read-only paths, judged on the raw request path."""

from __future__ import annotations

import pytest

from apimachinery.errors import ApiError
from apiserver.requestinfo import request_info
from apiserver.routes.nodeproxy import ALLOWED_PATHS, proxied_path


@pytest.mark.parametrize("path", ALLOWED_PATHS)
def test_the_read_only_paths_are_forwarded(path: str) -> None:
    assert proxied_path(f"/api/v1/nodes/n1/proxy/{path}".encode(), b"") == ("n1", path)


@pytest.mark.parametrize("raw", [
    "/api/v1/nodes/n1/proxy/exec/default/p/c", "/api/v1/nodes/n1/proxy/run/default/p/c",
    "/api/v1/nodes/n1/proxy/containerLogs/default/p/c", "/api/v1/nodes/n1/proxy/metrics/../exec/default/p/c",
    "/api/v1/nodes/n1/proxy/%2e%2e/exec", "/api/v1/nodes/n1/proxy/metrics%2Fprobes",
    "/api/v1/nodes/n1/proxy/stats%2fsummary", "/api/v1/nodes/n1/proxy/", "/api/v1/nodes/n1/proxy",
    "/api/v1/nodes/n1/proxy/metrics/", "/api/v1/nodes/n%2F1/proxy/metrics", "/api/v1/nodes/%6e1/proxy/metrics",
    "/api/v2/nodes/n1/proxy/metrics", "/api/v1/nodes/n1/proxy/metr\xe9cs",
])
def test_anything_else_is_refused_with_a_status(raw: str) -> None:
    with pytest.raises(ApiError) as err:
        proxied_path(raw.encode("latin-1"), b"")
    assert err.value.code == 403 and "read-only paths" in err.value.message


def test_a_query_is_refused() -> None:
    with pytest.raises(ApiError):
        proxied_path(b"/api/v1/nodes/n1/proxy/metrics", b"command=id")


def test_it_is_authorised_as_get_on_nodes_proxy() -> None:
    info = request_info("GET", "/api/v1/nodes/n1/proxy/metrics/probes")
    assert (info.verb, info.resource_path, info.name, info.namespace) == ("get", "nodes/proxy", "n1", "")
