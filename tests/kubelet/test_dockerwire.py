"""Engine API payloads (trimmed from a Docker 20.10 daemon) parsed into runtime types, no daemon needed."""

from __future__ import annotations

import socket
import struct
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from kubelet.runtime.base import ContainerState, PortBinding
from kubelet.runtime.dockerwire import (
    event_from_json,
    info_from_inspect,
    info_from_list,
    label_filter,
    parse_time,
    port_bindings,
    read_frames,
)

CONTAINER_ID = "ce514c8d2c04547e0b4ed14d02fba18adf01ab183fdde6fff9ef633378272661"
IMAGE_ID = "sha256:f9160b7938454bf382034eb1a5a75c54143e2a311eb697f2337af8296702b013"


def list_item(state: str, status: str) -> dict[str, Any]:
    return {
        "Id": CONTAINER_ID,
        "Names": ["/web-1/db", "/db"],
        "Image": "podvisor/busybox:latest",
        "ImageID": IMAGE_ID,
        "Created": 1700000000,
        "State": state,
        "Status": status,
        "Labels": {"podvisor.io/pod": "web"},
        "NetworkSettings": {"Networks": {"pods": {"IPAddress": "172.19.0.4" if state == "running" else ""}}},
    }


@pytest.mark.parametrize(
    ("state", "status", "expected_state", "exit_code", "ip"),
    [
        pytest.param("running", "Up 3 seconds", ContainerState.RUNNING, None, "172.19.0.4", id="running"),
        pytest.param("exited", "Exited (3) 2 seconds ago", ContainerState.EXITED, 3, None, id="exited"),
        pytest.param(
            "exited", "Exited (137) About a minute ago", ContainerState.EXITED, 137, None, id="killed"
        ),
        pytest.param("created", "Created", ContainerState.CREATED, None, None, id="created"),
        pytest.param("dead", "Dead", ContainerState.DEAD, None, None, id="dead-without-code"),
        pytest.param("weird", "", ContainerState.UNKNOWN, None, None, id="unknown-state"),
    ],
)
def test_list_item(
    state: str, status: str, expected_state: ContainerState, exit_code: int | None, ip: str | None
) -> None:
    info = info_from_list(list_item(state, status))

    assert (info.state, info.exit_code, info.ip, info.name) == (expected_state, exit_code, ip, "db")
    assert (info.detailed, info.started_at, info.finished_at) == (False, None, None)
    assert info.created_at == datetime.fromtimestamp(1700000000, UTC)
    assert info.labels == {"podvisor.io/pod": "web"} and info.image_id == IMAGE_ID


def test_inspect_of_an_exited_container() -> None:
    info = info_from_inspect(
        {
            "Id": CONTAINER_ID,
            "Name": "/web-1",
            "Created": "2026-11-26T11:41:22.645718123Z",
            "Image": IMAGE_ID,
            "State": {
                "Status": "exited",
                "ExitCode": 137,
                "OOMKilled": True,
                "Error": "",
                "StartedAt": "2026-11-26T11:41:22.915261123Z",
                "FinishedAt": "2026-11-26T11:41:30.5Z",
            },
            "Config": {"Image": "podvisor/busybox:latest", "Labels": {"a": "b"}},
            "HostConfig": {"NetworkMode": "pods"},
            "NetworkSettings": {"Networks": {"pods": {"IPAddress": ""}}},
        }
    )

    assert (info.name, info.state, info.exit_code, info.oom_killed, info.ip) == (
        "web-1",
        ContainerState.EXITED,
        137,
        True,
        None,
    )
    assert info.started_at == datetime(2026, 11, 26, 11, 41, 22, 915261, tzinfo=UTC)
    assert info.finished_at == datetime(2026, 11, 26, 11, 41, 30, 500000, tzinfo=UTC)
    assert info.detailed and info.image == "podvisor/busybox:latest" and info.labels == {"a": "b"}


def test_inspect_prefers_the_ip_on_the_containers_own_network() -> None:
    networks = {"other": {"IPAddress": "10.0.0.9"}, "pods": {"IPAddress": "172.19.0.4"}}
    info = info_from_inspect(
        {
            "Id": CONTAINER_ID,
            "State": {"Status": "running", "ExitCode": 0, "StartedAt": "2026-11-26T11:41:22Z"},
            "HostConfig": {"NetworkMode": "pods"},
            "NetworkSettings": {"Networks": networks},
        }
    )
    assert (info.state, info.exit_code, info.ip) == (ContainerState.RUNNING, None, "172.19.0.4")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0001-01-01T00:00:00Z", None, id="zero-time-is-never"),
        pytest.param("", None, id="empty"),
        pytest.param(
            "2026-01-02T03:04:05.123456789Z", datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), id="nanos"
        ),
        pytest.param(
            "2026-01-02T05:04:05+02:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), id="offset-to-utc"
        ),
    ],
)
def test_parse_time(value: str, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_die_event() -> None:
    event = event_from_json(
        {
            "Type": "container",
            "Action": "die",
            "Actor": {
                "ID": CONTAINER_ID,
                "Attributes": {
                    "exitCode": "2",
                    "image": "busybox",
                    "name": "web-1",
                    "podvisor.io/pod": "web",
                },
            },
        }
    )
    assert (event.container_id, event.action, event.exit_code, event.name, event.labels) == (
        CONTAINER_ID,
        "die",
        2,
        "web-1",
        {"podvisor.io/pod": "web"},
    )


def test_request_helpers() -> None:
    assert label_filter({"b": "2", "a": "1"}) == ["a=1", "b=2"]
    ports = [PortBinding(80, 8080), PortBinding(80, 8081, host_ip="127.0.0.1"), PortBinding(53, 5353, "UDP")]
    assert port_bindings(ports) == {"80/tcp": [("", 8080), ("127.0.0.1", 8081)], "53/udp": [("", 5353)]}


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_read_frames_joins_stdout_and_stderr_until_eof() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b""))
        theirs.shutdown(socket.SHUT_WR)
        assert read_frames(ours, time.monotonic() + 5) == b"out\nerr\n"


def test_read_frames_times_out_when_the_command_hangs() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(frame(1, b"partial"))
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            read_frames(ours, started + 0.2)
        assert time.monotonic() - started < 1
