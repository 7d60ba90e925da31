"""The Docker Engine API's wire formats, as pure functions: JSON to runtime types and back.

Kept apart from ``docker.py`` (which does the I/O) so the parsing, including
the list-endpoint trade-off described there, is unit-tested without a daemon.
This module does not import the docker SDK.
"""

from __future__ import annotations

import re
import select
import struct
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kubelet.runtime.base import ContainerInfo, ContainerState, PortBinding, RuntimeEvent

# Event attributes Docker adds next to the container's labels.
EVENT_ATTRIBUTES = frozenset({"image", "name", "exitCode", "signal", "execDuration"})
_STOPPED = frozenset({ContainerState.EXITED, ContainerState.DEAD, ContainerState.REMOVING})
_STATUS_EXIT_CODE = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")
_ZERO_TIME_PREFIX = "0001-01-01"


# -- requests ------------------------------------------------------------------------


def label_filter(labels: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in sorted(labels.items())]


def port_bindings(ports: Iterable[PortBinding]) -> dict[str, list[tuple[str, int]]]:
    bindings: dict[str, list[tuple[str, int]]] = {}
    for port in ports:
        key = f"{port.container_port}/{port.protocol.lower()}"
        bindings.setdefault(key, []).append((port.host_ip, port.host_port))
    return bindings


# -- responses -----------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    """Docker's RFC 3339 nanosecond timestamps; its zero time means "never"."""
    if not value or value.startswith(_ZERO_TIME_PREFIX):
        return None
    return datetime.fromisoformat(value).astimezone(UTC)


def network_ip(networks: dict[str, Any] | None, preferred: str | None) -> str | None:
    networks = networks or {}
    ordered = [networks[preferred]] if preferred in networks else []
    for endpoint in [*ordered, *networks.values()]:
        if endpoint and endpoint.get("IPAddress"):
            return str(endpoint["IPAddress"])
    return None


def info_from_inspect(data: dict[str, Any]) -> ContainerInfo:
    state_data = data.get("State") or {}
    state = ContainerState.parse(state_data.get("Status"))
    settings = data.get("NetworkSettings") or {}
    return ContainerInfo(
        id=data["Id"],
        name=str(data.get("Name", "")).lstrip("/"),
        image=(data.get("Config") or {}).get("Image", ""),
        image_id=data.get("Image", ""),
        labels=(data.get("Config") or {}).get("Labels") or {},
        state=state,
        exit_code=int(state_data.get("ExitCode", 0)) if state in _STOPPED else None,
        started_at=parse_time(state_data.get("StartedAt")),
        finished_at=parse_time(state_data.get("FinishedAt")),
        ip=network_ip(settings.get("Networks"), (data.get("HostConfig") or {}).get("NetworkMode")),
        oom_killed=bool(state_data.get("OOMKilled")),
        error=state_data.get("Error") or "",
        created_at=parse_time(data.get("Created")),
        pid=int(state_data.get("Pid") or 0) or None,
    )


def info_from_list(item: dict[str, Any]) -> ContainerInfo:
    state = ContainerState.parse(item.get("State"))
    exit_match = _STATUS_EXIT_CODE.match(item.get("Status") or "")
    names = [name.lstrip("/") for name in item.get("Names") or []]
    created = item.get("Created")
    return ContainerInfo(
        id=item["Id"],
        # Legacy links add names like "other/alias"; the container's own name has no slash.
        name=next((name for name in names if "/" not in name), names[0] if names else ""),
        image=item.get("Image", ""),
        image_id=item.get("ImageID", ""),
        labels=item.get("Labels") or {},
        state=state,
        exit_code=int(exit_match.group(1)) if exit_match and state in _STOPPED else None,
        started_at=None,
        finished_at=None,
        ip=network_ip((item.get("NetworkSettings") or {}).get("Networks"), None),
        created_at=datetime.fromtimestamp(created, UTC) if created else None,
        detailed=False,
    )


def event_from_json(raw: dict[str, Any]) -> RuntimeEvent:
    actor = raw.get("Actor") or {}
    attributes: dict[str, str] = actor.get("Attributes") or {}
    exit_code = attributes.get("exitCode")
    return RuntimeEvent(
        container_id=str(actor.get("ID") or raw.get("id", "")),
        # Some actions carry details after a colon, e.g. "health_status: healthy".
        action=str(raw.get("Action") or raw.get("status", "")).split(":", 1)[0],
        labels={k: v for k, v in attributes.items() if k not in EVENT_ATTRIBUTES},
        name=attributes.get("name", ""),
        exit_code=int(exit_code) if exit_code is not None else None,
    )


# -- exec output stream ------------------------------------------------------------------


def _recv(sock: Any, size: int, deadline: float) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
        raise TimeoutError("exec did not finish in time")
    data = sock.recv(size) if hasattr(sock, "recv") else sock.read(size)
    return bytes(data or b"")


def _recv_exactly(sock: Any, size: int, deadline: float) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = _recv(sock, size - len(data), deadline)
        if not chunk:
            return None
        data += chunk
    return data


def read_frames(sock: Any, deadline: float) -> bytes:
    """Read Docker's multiplexed stdout/stderr frames (8-byte header + payload) until EOF."""
    output = bytearray()
    while (header := _recv_exactly(sock, 8, deadline)) is not None:
        _, size = struct.unpack(">BxxxL", header)
        payload = _recv_exactly(sock, size, deadline) if size else b""
        if payload is None:
            break
        output += payload
    return bytes(output)
