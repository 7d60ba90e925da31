"""The kubelet's exec and attach endpoints: a WebSocket per stream, the channel protocol on one side,
a runtime session on the other.

``/exec/{namespace}/{pod}/{container}?command=..&stdin=1&stdout=1&stderr=1&tty=1`` and
``/attach/{namespace}/{pod}/{container}?...`` are Kubernetes' kubelet paths. Everything that can
be refused is refused before the handshake is accepted, as an HTTP Status (the API server
relays it to the client): no such pod here (404), the container not running (400,
``container not found ("c")`` as the kubelet says it), an unknown subprotocol (400).

The runtime session blocks, so each stream has two threads of its own: one reads the
container's output and hands it to the loop, one carries stdin, resizes and the end of input to
the session in order. The loop only moves messages; it never waits on Docker. A stream that
carries no message either way for ``idle_timeout`` seconds is closed (the kubelet's
``--streaming-connection-idle-timeout``, 4 h by default as in Kubernetes).

A terminal gets the client's size with its first resize message, just after the command has
started (Docker's Engine API 1.41 has no initial size for an exec, and Kubernetes' CRI streaming
resizes after the start too): a command that asks for the size at once may still see 0x0.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from fastapi.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from apimachinery import remotecommand as rc
from apimachinery.errors import ApiError, bad_request
from kubelet import naming
from kubelet.runtime.base import ContainerInfo, ContainerRuntime, ContainerRuntimeError, ContainerState
from kubelet.runtime.streams import StreamSession
from kubelet.threads import Runner

#: Kubernetes' default --streaming-connection-idle-timeout
DEFAULT_IDLE_TIMEOUT = 4 * 3600.0
#: messages buffered per direction of one stream (of at most 32 KiB each)
QUEUED_MESSAGES = 32


@dataclass(frozen=True)
class StreamTarget:
    namespace: str
    pod: str
    container: str
    attach: bool


async def deny(ws: WebSocket, err: ApiError) -> None:
    """Refuse the handshake with the error as an HTTP Status."""
    await ws.send_denial_response(Response(err.status_json(), status_code=err.code, media_type="application/json"))


class Idleness:
    """When a stream last carried a message; :meth:`expired` returns once it has carried none for
    ``timeout`` seconds (the kubelet's ``--streaming-connection-idle-timeout``)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()

    def touch(self) -> None:
        self.last = self.loop.time()

    async def expired(self) -> None:
        while (left := self.last + self.timeout - self.loop.time()) > 0:
            await asyncio.sleep(left)


def running_container(found: list[ContainerInfo], *, pod_uid: str | None, name: str) -> ContainerInfo:
    """The newest running attempt of the pod's container; 400 as the kubelet words it otherwise."""
    if pod_uid:
        found = [c for c in found if naming.pod_uid_of(c) == pod_uid]
    running = [c for c in found if c.state is ContainerState.RUNNING]
    if not running:
        raise bad_request(f'container not found ("{name}")')
    return max(running, key=naming.attempt_of)


async def serve_stream(ws: WebSocket, *, target: StreamTarget, node: str, runtime: ContainerRuntime, run: Runner,
                       pod_uid: str | None, idle_timeout: float) -> None:
    """Check, accept, then bridge one exec or attach until it ends."""
    try:
        protocol = rc.negotiate(ws.scope.get("subprotocols") or [])
        options = rc.parse_stream_options(_query(ws), exec_=not target.attach)
        found = await run(runtime.list_containers, {**naming.node_labels(node), **_labels(target)})
        container = running_container(found, pod_uid=pod_uid, name=target.container)
        if target.attach:
            session = await run(runtime.open_attach, container.id, stdin=options.stdin)
        else:
            session = await run(runtime.open_exec, container.id, list(options.command), stdin=options.stdin,
                                tty=options.tty)
    except ApiError as err:
        await deny(ws, err)
        return
    except ContainerRuntimeError as err:
        await deny(ws, ApiError(500, "InternalError", str(err)))
        return
    await ws.accept(subprotocol=protocol.name or None)
    bridge = Bridge(ws, session, protocol=protocol, options=options, idle_timeout=idle_timeout)
    await bridge.run(exit_code=not target.attach, command=options.command)


def _labels(target: StreamTarget) -> dict[str, str]:
    return {naming.POD_NAMESPACE: target.namespace, naming.POD_NAME: target.pod, naming.CONTAINER: target.container}


def _query(ws: WebSocket) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in ws.query_params.multi_items():
        query.setdefault(key, []).append(value)
    return query


class Bridge:
    """Moves one stream's messages between a WebSocket and a blocking session."""

    def __init__(self, ws: WebSocket, session: StreamSession, *, protocol: rc.ChannelProtocol,
                 options: rc.StreamOptions, idle_timeout: float) -> None:
        self.ws, self.session, self.protocol, self.options = ws, session, protocol, options
        self.idle = Idleness(idle_timeout)
        self.loop = asyncio.get_running_loop()
        # Both directions are bounded, so a slow reader on either side slows the writer down
        # (down to TCP) instead of piling the stream up in memory.
        self.output: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue(QUEUED_MESSAGES)
        self.input: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.input_room = asyncio.Semaphore(QUEUED_MESSAGES)
        self.ended = threading.Event()

    async def run(self, *, exit_code: bool, command: tuple[str, ...]) -> None:
        """Relay until the output ends (then report the status) or the client goes away."""
        threading.Thread(target=self._read_output, daemon=True, name="stream-out").start()
        threading.Thread(target=self._carry_input, daemon=True, name="stream-in").start()
        first = rc.STDOUT if self.options.stdout else rc.STDERR if self.options.stderr else rc.ERROR
        await self._send(first, b"")  # "connected", as the kubelet signals it
        tasks = [asyncio.create_task(self._pump_output()), asyncio.create_task(self._pump_input()),
                 asyncio.create_task(self.idle.expired())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            ended = tasks[0] in done and not tasks[0].exception()
            if ended:
                await self._finish(exit_code=exit_code, command=command)
        finally:
            self.ended.set()
            for task in tasks:
                task.cancel()
            self.input.put(None)
            await asyncio.to_thread(self.session.close)
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _finish(self, *, exit_code: bool, command: tuple[str, ...]) -> None:
        status = rc.success_status()
        if exit_code:
            try:
                code = await asyncio.to_thread(self.session.exit_code)
            except ContainerRuntimeError as err:
                status = rc.error_status(f"error executing command in container: {err}")
            else:
                if code is None:
                    status = rc.error_status("error executing command in container: the exit code is unknown")
                else:
                    status = rc.exit_status(code, command)
        message = self.protocol.status_message(status)
        if message is not None:
            await self._send_raw(message)

    def _read_output(self) -> None:
        with contextlib.suppress(Exception):  # a broken session, or a loop that is gone, ends the output
            while (chunk := self.session.read()) is not None and self._hand_over(chunk):
                pass
        with contextlib.suppress(Exception):
            self._hand_over(None)

    def _hand_over(self, chunk: tuple[int, bytes] | None) -> bool:
        """Queue output for the loop, waiting for room; False once the stream has ended."""
        future = asyncio.run_coroutine_threadsafe(self.output.put(chunk), self.loop)
        while not self.ended.is_set():
            with contextlib.suppress(concurrent.futures.TimeoutError):
                future.result(timeout=0.5)
                return True
        future.cancel()
        return False

    def _carry_input(self) -> None:
        while (step := self.input.get()) is not None:
            with contextlib.suppress(Exception):  # input to a session that ended goes nowhere
                step()
            with contextlib.suppress(RuntimeError):  # the loop is gone
                self.loop.call_soon_threadsafe(self.input_room.release)

    async def _pump_output(self) -> None:
        while (chunk := await self.output.get()) is not None:
            channel, data = chunk
            if channel == rc.STDERR and not self.options.stderr:
                channel = rc.STDOUT
            await self._send(channel, data)

    async def _pump_input(self) -> None:
        while True:
            try:
                message = await self.ws.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            self.idle.touch()
            decoded = self.protocol.decode(message.get("bytes") or message.get("text") or b"")
            step = self._input_step(*decoded) if decoded is not None else None
            if step is not None:
                await self.input_room.acquire()
                self.input.put(step)

    def _input_step(self, channel: int, data: bytes) -> Callable[[], None] | None:
        """What one client message asks of the session, if anything."""
        session = self.session
        if channel == rc.STDIN and self.options.stdin and data:
            return lambda: session.write(data)
        if channel == rc.RESIZE and (size := rc.parse_resize(data)) is not None:
            width, height = size
            return lambda: session.resize(width=width, height=height)
        if channel == rc.CLOSE and self.protocol.close_channel and data[:1] == bytes([rc.STDIN]):
            return session.close_stdin
        return None

    async def _send(self, channel: int, data: bytes) -> None:
        await self._send_raw(self.protocol.encode(channel, data))

    async def _send_raw(self, message: bytes | str) -> None:
        self.idle.touch()
        if isinstance(message, bytes):
            await self.ws.send_bytes(message)
        else:
            await self.ws.send_text(message)
