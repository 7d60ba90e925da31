"""``podctl drain``'s eviction against a disruption budget: a 429 is waited out every 5 s, as
kubectl does, until the budget allows it or the timeout runs out (fake clock, mock transport)."""

from __future__ import annotations

import io

import httpx
import pytest

from apimachinery.client import ApiClient
from apimachinery.timeutil import FakeClock
from podctl import nodes
from podctl.errors import TimeoutExceeded
from podctl.nodes import DrainOptions, evict_within_budget
from podctl.session import Output, Session

REFUSED = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 429, "reason": "TooManyRequests",
           "message": "Cannot evict pod as it would violate the pod's disruption budget.",
           "details": {"causes": [{"reason": "DisruptionBudget", "message": "The disruption budget web needs 2 "
                                                                           "healthy pods and has 2 currently"}]}}
POD = {"metadata": {"name": "web-1", "namespace": "default"}}


def session(refusals: int, seen: list[httpx.Request], clock: FakeClock) -> tuple[Session, io.StringIO]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= refusals:
            return httpx.Response(429, json=REFUSED)
        return httpx.Response(201, json={"kind": "Status", "status": "Success", "code": 201})

    err = io.StringIO()
    client = ApiClient("http://api.test", transport=httpx.MockTransport(handle))
    return Session(client, namespace="default", output=Output(out=io.StringIO(), err=err), clock=clock), err


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeClock, list[float]]:
    clock, slept = FakeClock(), []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)
    monkeypatch.setattr(nodes.asyncio, "sleep", fake_sleep)
    return clock, slept


async def test_a_refused_eviction_is_retried_every_five_seconds(waits: tuple[FakeClock, list[float]]) -> None:
    clock, slept = waits
    seen: list[httpx.Request] = []
    s, err = session(2, seen, clock)
    await evict_within_budget(s, POD, DrainOptions(timeout=60), start=clock.monotonic())
    assert len(seen) == 3 and all(r.url.path.endswith("/pods/web-1/eviction") for r in seen)
    assert slept == [5.0, 5.0]
    assert err.getvalue().count('error when evicting pods/"web-1" -n "default" (will retry after 5s): '
                                "Cannot evict pod as it would violate the pod's disruption budget.") == 2


async def test_the_timeout_ends_the_waiting(waits: tuple[FakeClock, list[float]]) -> None:
    clock, _ = waits
    s, _err = session(1000, [], clock)
    with pytest.raises(TimeoutExceeded):
        await evict_within_budget(s, POD, DrainOptions(timeout=12), start=clock.monotonic())
