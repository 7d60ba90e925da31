"""Probe verdicts from consecutive results, and the probe handlers' outcomes."""

from __future__ import annotations

import asyncio

import pytest

from apimachinery.models.core import Probe
from kubelet.probes import ProbeKind, ProbeState, ProbeTarget, run_probe
from kubelet.runtime.fake import FakeRuntime
from kubelet.threads import InlineRunner


@pytest.mark.parametrize(
    ("kind", "success", "failure", "results", "verdicts"),
    [
        (ProbeKind.LIVENESS, 1, 3, [False, False, False], [True, True, False]),
        (ProbeKind.LIVENESS, 1, 3, [False, False, True, False], [True, True, True, True]),
        (ProbeKind.READINESS, 1, 3, [True], [True]),
        (ProbeKind.READINESS, 2, 1, [True, True, False, True], [False, True, False, False]),
    ],
    ids=["liveness-fails-after-3", "success-resets-count", "readiness-starts-unready", "success-threshold-2"],
)
def test_probe_state(kind: ProbeKind, success: int, failure: int, results: list[bool], verdicts: list[bool]) -> None:
    state = ProbeState.for_probe(Probe(success_threshold=success, failure_threshold=failure), kind)
    seen = []
    for ok in results:
        state.record(ok)
        seen.append(state.healthy)
    assert seen == verdicts


async def test_exec_probe_uses_the_exit_code() -> None:
    runtime = FakeRuntime(images=["img"])
    from kubelet.runtime.base import ContainerSpec

    cid = runtime.create_container(ContainerSpec(name="c", image="img", labels={}))
    runtime.start_container(cid)
    runtime.exec_handler = lambda _id, cmd: (0, b"") if cmd == ["ok"] else (1, b"boom")
    target = ProbeTarget(container_id=cid, ip=None, named_ports={})
    good = await run_probe(Probe.model_validate({"exec": {"command": ["ok"]}}), target, runtime=runtime, run=InlineRunner())
    bad = await run_probe(Probe.model_validate({"exec": {"command": ["no"]}}), target, runtime=runtime, run=InlineRunner())
    assert good[0] is True and bad == (False, "boom")


async def test_tcp_and_http_probes_against_a_local_server() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = ProbeTarget(container_id="x", ip="127.0.0.1", named_ports={"web": port})
    runtime, run = FakeRuntime(), InlineRunner()
    async with server:
        tcp = await run_probe(Probe.model_validate({"tcpSocket": {"port": "web"}}), target, runtime=runtime, run=run)
        http = await run_probe(Probe.model_validate({"httpGet": {"port": port, "path": "/"}}), target,
                               runtime=runtime, run=run)
    closed = await run_probe(Probe.model_validate({"tcpSocket": {"port": port}}), target, runtime=runtime, run=run)
    assert tcp == (True, "")
    assert http == (False, "HTTP probe failed with statuscode: 503")
    assert closed[0] is False


REFUSED_HOSTS = [
    ("loopback", "127.0.0.1"), ("loopback-v6", "::1"), ("localhost", "localhost"),
    ("another-pod", "172.17.0.9"), ("metadata", "169.254.169.254"), ("a-name", "db.example.com"),
]


@pytest.mark.parametrize("kind", ["httpGet", "tcpSocket"])
@pytest.mark.parametrize("host", [h for _, h in REFUSED_HOSTS], ids=[i for i, _ in REFUSED_HOSTS])
async def test_a_probe_host_outside_the_pod_is_refused_without_connecting(kind: str, host: str) -> None:
    """The pod is at 127.0.0.2 here; a listener on 127.0.0.1 (the "host") must see no connection."""
    connections: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(await reader.read(100))
        writer.close()

    server = await asyncio.start_server(record, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = ProbeTarget(container_id="x", ip="127.0.0.2", named_ports={})
    async with server:
        ok, why = await run_probe(Probe.model_validate({kind: {"port": port, "host": host}}), target,
                                  runtime=FakeRuntime(), run=InlineRunner())
        await asyncio.sleep(0.05)
    assert ok is False
    assert why == f"probe host {host!r} is not the pod's IP 127.0.0.2: the kubelet probes only the pod (leave host empty)"
    assert connections == []


@pytest.mark.parametrize("host", ["", "127.0.0.2"], ids=["empty", "the-pods-own-ip"])
async def test_an_empty_host_or_the_pods_own_ip_is_probed(host: str) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.2", 0)
    port = server.sockets[0].getsockname()[1]
    target = ProbeTarget(container_id="x", ip="127.0.0.2", named_ports={})
    async with server:
        result = await run_probe(Probe.model_validate({"tcpSocket": {"port": port, "host": host}}), target,
                                 runtime=FakeRuntime(), run=InlineRunner())
    assert result == (True, "")
