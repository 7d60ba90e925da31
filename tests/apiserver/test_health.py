"""``/healthz``, ``/livez`` and ``/readyz`` answer as kube-apiserver's do on a healthy server
(the failing store is in ``test_store_faults.py``)."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("path", "params", "code", "text"),
    [
        pytest.param("/healthz", {}, 200, "ok", id="healthz"),
        pytest.param("/livez", {}, 200, "ok", id="livez"),
        pytest.param("/readyz", {}, 200, "ok", id="readyz"),
        pytest.param("/livez", {"verbose": ""}, 200, "[+]ping ok\nlivez check passed\n", id="livez-verbose"),
        pytest.param("/readyz", {"verbose": ""}, 200, "[+]ping ok\n[+]etcd ok\nreadyz check passed\n",
                     id="readyz-verbose"),
        pytest.param("/readyz", {"verbose": "", "exclude": "etcd"}, 200, "[+]ping ok\nreadyz check passed\n",
                     id="readyz-exclude"),
        pytest.param("/readyz/etcd", {}, 200, "ok", id="one-check"),
        pytest.param("/livez/ping", {}, 200, "ok", id="one-live-check"),
    ],
)
def test_health_endpoints_list_their_checks(http: httpx.Client, path: str, params: dict, code: int, text: str) -> None:
    response = http.get(path, params=params)
    assert (response.status_code, response.text) == (code, text)


@pytest.mark.parametrize("path", ["/readyz/nope", "/livez/etcd"])
def test_an_unknown_check_is_not_found(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404 and response.json()["kind"] == "Status"
