"""Kubernetes' remote command channel protocols (exec and attach over WebSocket), written once.

The kubelet serves them, the API server relays them byte for byte, ``podctl`` and the tests
speak them as clients. A WebSocket message carries one channel: its first byte is the channel
number (``0`` stdin, ``1`` stdout, ``2`` stderr, ``3`` error/status, ``4`` resize), the rest is
the data. The base64 variants send text frames: the channel as an ASCII digit, then the data in
base64. What each protocol name adds, as in ``k8s.io/apiserver/pkg/util/wsstream`` and the
kubelet's ``cri/streaming/remotecommand``:

* ``channel.k8s.io`` (and no subprotocol at all): the error channel carries only the message of
  a failure, as text; success sends nothing there.
* ``v4.channel.k8s.io``: the error channel carries a ``metav1.Status`` as JSON when the command
  ends: ``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the exit code in
  ``details.causes[{reason: ExitCode, message: "3"}]``; resize messages are JSON
  ``{"Width": w, "Height": h}`` (Go's field names, no tags).
* ``v5.channel.k8s.io``: v4 plus channel 255, the close signal: its one data byte names the
  channel the peer will not write any more, so closing stdin ends the command's input.

``v2``/``v3.channel.k8s.io`` are SPDY names in Kubernetes, never WebSocket ones, so they are not
offered here. This module does framing and parsing only, no I/O.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apimachinery.errors import ApiError, bad_request

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE = 255  # v5: "I am done writing channel <data[0]>"

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
V4_BASE64 = "v4.base64.channel.k8s.io"
V1 = "channel.k8s.io"
V1_BASE64 = "base64.channel.k8s.io"

NON_ZERO_EXIT_CODE = "NonZeroExitCode"
EXIT_CODE_CAUSE = "ExitCode"


@dataclass(frozen=True)
class ChannelProtocol:
    name: str  # "" when the client asked for no subprotocol
    binary: bool = True
    status_json: bool = False  # v4+: a metav1.Status on the error channel
    close_channel: bool = False  # v5: channel 255 closes one stream

    def encode(self, channel: int, data: bytes) -> bytes | str:
        """One WebSocket message for ``data`` on ``channel``."""
        if self.binary:
            return bytes([channel]) + data
        return chr(ord("0") + channel) + base64.b64encode(data).decode("ascii")

    def decode(self, message: bytes | str) -> tuple[int, bytes] | None:
        """``(channel, data)`` of one message; None for an empty message (carries nothing)."""
        if not message:
            return None
        if isinstance(message, str):
            if self.binary:
                message = message.encode()
            else:
                return ord(message[0]) - ord("0"), base64.b64decode(message[1:])
        return message[0], bytes(message[1:])

    def close_message(self, channel: int) -> bytes | str:
        return self.encode(CLOSE, bytes([channel]))

    def resize_message(self, *, width: int, height: int) -> bytes | str:
        return self.encode(RESIZE, json.dumps({"Width": width, "Height": height}).encode())

    def status_message(self, status: dict[str, Any]) -> bytes | str | None:
        """What the error channel carries when the stream ends with ``status`` (None: nothing)."""
        if self.status_json:
            return self.encode(ERROR, json.dumps(status, separators=(",", ":")).encode())
        if status.get("status") == "Success":
            return None
        return self.encode(ERROR, str(status.get("message", "")).encode())


PROTOCOLS: dict[str, ChannelProtocol] = {
    V5: ChannelProtocol(V5, status_json=True, close_channel=True),
    V4: ChannelProtocol(V4, status_json=True),
    V4_BASE64: ChannelProtocol(V4_BASE64, binary=False, status_json=True),
    V1: ChannelProtocol(V1),
    V1_BASE64: ChannelProtocol(V1_BASE64, binary=False),
}
#: what a server offers, most capable first
SUPPORTED = (V5, V4, V4_BASE64, V1, V1_BASE64)
_NO_SUBPROTOCOL = ChannelProtocol("")


def negotiate(offered: Sequence[str]) -> ChannelProtocol:
    """The first protocol the client offered that is served; no offer means ``channel.k8s.io``.

    A client that offers only unknown protocols gets 400, as wsstream's handshake answers it.
    """
    if not offered:
        return _NO_SUBPROTOCOL
    for name in offered:
        if name in PROTOCOLS:
            return PROTOCOLS[name]
    raise bad_request(f"requested protocol(s) are not supported: [{' '.join(offered)}]; "
                      f"supports [{' '.join(SUPPORTED)}]")


def offered_protocols(header: str | None) -> list[str]:
    """The names in a ``Sec-WebSocket-Protocol`` header (possibly repeated and comma-joined)."""
    return [p.strip() for p in (header or "").split(",") if p.strip()]


# -- status ---------------------------------------------------------------------------


def success_status() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_status(code: int, command: Sequence[str]) -> dict[str, Any]:
    """The Status of a command that ended: Success, or NonZeroExitCode carrying the code."""
    if code == 0:
        return success_status()
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
                   f"[{' '.join(command)}], exit code {code}",
        "reason": NON_ZERO_EXIT_CODE,
        "details": {"causes": [{"reason": EXIT_CODE_CAUSE, "message": str(code)}]},
    }


def error_status(message: str) -> dict[str, Any]:
    """An internal failure of the stream (the runtime failed), as the kubelet reports it."""
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError",
            "details": {"causes": [{"message": message}]}, "code": 500}


def exit_code_of(status: bytes) -> int:
    """The client's reading of the error channel: 0, the remote exit code, or ApiError."""
    if not status:
        return 0
    try:
        body = json.loads(status)
    except ValueError:
        raise ApiError(500, "InternalError", status.decode(errors="replace")) from None
    if body.get("status") == "Success":
        return 0
    if body.get("reason") == NON_ZERO_EXIT_CODE:
        for cause in (body.get("details") or {}).get("causes") or []:
            if cause.get("reason") == EXIT_CODE_CAUSE:
                return int(cause.get("message", "1"))
    raise ApiError.from_status(int(body.get("code") or 500), {"kind": "Status", **body})


def parse_resize(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` of a resize message; None when it is not one."""
    try:
        size = json.loads(data)
        return int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None


# -- options --------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamOptions:
    """The query of ``pods/exec`` and ``pods/attach`` (PodExecOptions / PodAttachOptions)."""

    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    container: str | None
    command: tuple[str, ...] = ()

    def query(self) -> dict[str, str | list[str]]:
        """The kubelet's query for these options."""
        query: dict[str, str | list[str]] = {name: "1" for name in ("stdin", "stdout", "stderr", "tty")
                                             if getattr(self, name)}
        if self.command:
            query["command"] = list(self.command)
        return query


def _flag(values: Sequence[str]) -> bool:
    """Kubernetes' query-to-bool conversion: absent, "", "0" and "false" are false, all else true."""
    if not values:
        return False
    return not (values[0] in ("", "0") or values[0].lower() == "false")


def parse_stream_options(query: Mapping[str, Sequence[str]], *, exec_: bool) -> StreamOptions:
    """Validate as kube-apiserver does; ``query`` maps each name to all its values."""
    stdin, stdout, stderr = (_flag(query.get(name, ())) for name in ("stdin", "stdout", "stderr"))
    tty = _flag(query.get("tty", ()))
    if not (stdin or stdout or stderr):
        raise bad_request("you must specify at least 1 of stdin, stdout, stderr")
    if tty and stderr:
        stderr = False  # a terminal has one output; Kubernetes drops stderr too
    container = next(iter(query.get("container", ())), "") or None
    command = tuple(query.get("command", ()))
    if exec_ and not command:
        raise bad_request("you must specify at least one command for the container")
    return StreamOptions(stdin=stdin, stdout=stdout, stderr=stderr, tty=tty, container=container, command=command)
