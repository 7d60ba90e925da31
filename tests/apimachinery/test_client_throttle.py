"""The API client waits out a 429 as client-go does: Retry-After seconds, at most ten times."""

from __future__ import annotations

import httpx
import pytest

from apimachinery import client as client_module
from apimachinery.client import MAX_THROTTLE_RETRIES, ApiClient
from apimachinery.errors import ApiError

THROTTLED = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "TooManyRequests",
             "message": "Too many requests, please try again later.", "code": 429}


def throttling(times: int, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= times:
            return httpx.Response(429, json=THROTTLED, headers={"Retry-After": "2"})
        return httpx.Response(201, json={"kind": "ConfigMap", "metadata": {"name": "cfg"}})
    return httpx.MockTransport(handle)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
    monkeypatch.setattr(client_module.asyncio, "sleep", fake_sleep)
    return slept


async def test_a_throttled_write_is_sent_again_after_retry_after(waits: list[float]) -> None:
    seen: list[httpx.Request] = []
    api = ApiClient("http://api.test", transport=throttling(2, seen))
    created = await api.request("POST", "/api/v1/namespaces/default/configmaps", body={"metadata": {"name": "cfg"}})
    assert created["metadata"]["name"] == "cfg"
    assert [r.method for r in seen] == ["POST"] * 3 and waits == [2.0, 2.0]
    assert all(r.content == seen[0].content for r in seen)
    await api.close()


async def test_throttling_that_never_ends_surfaces_as_429(waits: list[float]) -> None:
    seen: list[httpx.Request] = []
    api = ApiClient("http://api.test", transport=throttling(1000, seen))
    with pytest.raises(ApiError) as err:
        await api.request("GET", "/api/v1/pods")
    assert err.value.code == 429 and len(seen) == MAX_THROTTLE_RETRIES + 1 and len(waits) == MAX_THROTTLE_RETRIES
    await api.close()


async def test_a_429_without_retry_after_is_returned_at_once(waits: list[float]) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json={**THROTTLED, "message": "Cannot evict pod"})

    api = ApiClient("http://api.test", transport=httpx.MockTransport(handle))
    with pytest.raises(ApiError) as err:
        await api.request("POST", "/api/v1/namespaces/default/pods/p/eviction", body={})
    assert err.value.code == 429 and len(seen) == 1 and waits == []
    await api.close()
