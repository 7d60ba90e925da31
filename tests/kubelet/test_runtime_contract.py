"""The ContainerRuntime contract, run against DockerRuntime (real daemon) and FakeRuntime.

Each test is written once. Where a behaviour needs a real process (a command's
output, its exit), the container's command does it under Docker and the test
tells the fake through ``Subject.act``. Checks that only mean something with a
real process (exec, stop timeouts, cgroup limits, DNS) run against Docker only.
"""

from __future__ import annotations

import re
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kubelet.runtime.base import (
    ContainerInfo,
    ContainerRuntime,
    ContainerRuntimeError,
    ContainerSpec,
    ContainerState,
    ImageNotFound,
    Mount,
    PortBinding,
    RuntimeEvent,
    Security,
)
from kubelet.runtime.docker import DockerRuntime
from kubelet.runtime.fake import FakeRuntime

T = TypeVar("T")
TEST_LABELS = {"podvisor.test": "1"}
BOTH = [pytest.param("docker", marks=pytest.mark.e2e, id="docker"), pytest.param("fake", id="fake")]
DOCKER_ONLY = [pytest.param("docker", marks=pytest.mark.e2e, id="docker")]
SLEEP_FOREVER = ["sleep", "1000"]  # as PID 1 it ignores SIGTERM: only SIGKILL stops it
STOPS_ON_TERM = ["sh", "-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 0.05; done"]
TIMESTAMPED = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (.*\n)$")


def wait_for(check: Callable[[], T | None], *, timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Subject:
    """A runtime under test plus what the test needs to drive it the same way for both kinds."""

    runtime: ContainerRuntime
    image: str
    case: str = field(default_factory=lambda: f"pvt-{uuid.uuid4().hex[:8]}")

    @property
    def fake(self) -> FakeRuntime | None:
        return self.runtime if isinstance(self.runtime, FakeRuntime) else None

    @property
    def labels(self) -> dict[str, str]:
        return {**TEST_LABELS, "podvisor.test.case": self.case}

    def spec(self, suffix: str, **fields: Any) -> ContainerSpec:
        fields.setdefault("command", SLEEP_FOREVER)
        labels = {**self.labels, **fields.pop("labels", {})}
        return ContainerSpec(name=f"{self.case}-{suffix}", image=self.image, labels=labels, **fields)

    def run(self, spec: ContainerSpec) -> str:
        container_id = self.runtime.create_container(spec)
        self.runtime.start_container(container_id)
        return container_id

    def act(self, container_id: str, *, output: bytes = b"", exit_code: int | None = None) -> None:
        """What the container's command does by itself under Docker, done by hand on the fake."""
        if self.fake is None:
            return
        if output:
            self.fake.write_log(container_id, output)
        if exit_code is not None:
            self.fake.exit(container_id, exit_code)

    def wait_exited(self, container_id: str, timeout: float = 10.0) -> ContainerInfo:
        def exited() -> ContainerInfo | None:
            info = self.runtime.inspect_container(container_id)
            return info if info is not None and info.state is ContainerState.EXITED else None

        return wait_for(exited, timeout=timeout, what=f"container {container_id[:12]} to exit")

    def wait_ready(self, container_id: str) -> None:
        """Wait until a STOPS_ON_TERM container has installed its SIGTERM trap."""
        if self.fake is None:
            wait_for(lambda: b"ready" in self.output(container_id), what="the container to be ready")

    def output(self, container_id: str) -> bytes:
        return b"".join(self.runtime.logs(container_id))


@pytest.fixture(scope="module")
def docker_runtime() -> Iterator[DockerRuntime]:
    runtime = DockerRuntime()
    yield runtime
    runtime.close()


@pytest.fixture
def subject(request: pytest.FixtureRequest) -> Subject:
    if request.param == "fake":
        return Subject(FakeRuntime(images=["podvisor/busybox:latest"]), "podvisor/busybox:latest")
    image = request.getfixturevalue("busybox_image")
    request.getfixturevalue("docker_cleanup")
    return Subject(request.getfixturevalue("docker_runtime"), image)


# -- lifecycle ------------------------------------------------------------------------


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_version_names_the_runtime(subject: Subject) -> None:
    assert re.match(r"^(docker|fake)://\d", subject.runtime.version())


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_create_is_idempotent_by_name(subject: Subject) -> None:
    spec = subject.spec("app")
    first = subject.runtime.create_container(spec)
    second = subject.runtime.create_container(spec)

    assert first == second
    listed = subject.runtime.list_containers(subject.labels)
    assert [(c.id, c.name, c.state) for c in listed] == [(first, spec.name, ContainerState.CREATED)]


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_start_stop_remove(subject: Subject) -> None:
    container_id = subject.runtime.create_container(subject.spec("app", command=STOPS_ON_TERM))
    subject.runtime.start_container(container_id)
    subject.runtime.start_container(container_id)  # already running: no error
    subject.wait_ready(container_id)

    running = subject.runtime.inspect_container(container_id)
    assert running is not None and running.state is ContainerState.RUNNING
    assert running.ip and running.started_at is not None and running.exit_code is None

    subject.runtime.stop_container(container_id, timeout=10)
    stopped = subject.runtime.inspect_container(container_id)
    assert stopped is not None and stopped.state is ContainerState.EXITED
    assert stopped.exit_code is not None and stopped.finished_at is not None and stopped.ip is None
    subject.runtime.stop_container(container_id, timeout=10)  # already stopped: no error

    subject.runtime.remove_container(container_id)
    assert subject.runtime.inspect_container(container_id) is None
    subject.runtime.remove_container(container_id)  # gone: no error
    subject.runtime.stop_container(container_id, timeout=1)  # gone: no error


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_exit_code_and_timestamps_are_reported(subject: Subject) -> None:
    container_id = subject.run(subject.spec("fails", command=["sh", "-c", "exit 3"]))
    subject.act(container_id, exit_code=3)

    info = subject.wait_exited(container_id)
    assert (info.exit_code, info.oom_killed, info.detailed) == (3, False, True)
    assert info.started_at is not None and info.finished_at is not None
    assert info.started_at.tzinfo is not None and abs(info.finished_at - datetime.now(UTC)) < timedelta(
        minutes=1
    )
    assert info.image == subject.image and info.image_id.startswith("sha256:")

    [listed] = subject.runtime.list_containers(subject.labels)
    assert (listed.id, listed.state, listed.exit_code, listed.detailed) == (
        container_id,
        ContainerState.EXITED,
        3,
        False,
    )


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_kill_sends_the_signal(subject: Subject) -> None:
    container_id = subject.run(subject.spec("app"))
    subject.runtime.kill_container(container_id)

    assert subject.wait_exited(container_id).exit_code == 137
    subject.runtime.kill_container(container_id)  # not running: no error


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_list_by_labels_excludes_others(subject: Subject) -> None:
    web = subject.runtime.create_container(subject.spec("web", labels={"tier": "web"}))
    db = subject.runtime.create_container(subject.spec("db", labels={"tier": "db"}))

    assert {c.id for c in subject.runtime.list_containers({**subject.labels, "tier": "web"})} == {web}
    assert {c.id for c in subject.runtime.list_containers(subject.labels)} == {web, db}
    assert subject.runtime.list_containers({**subject.labels, "tier": "cache"}) == []
    [info] = subject.runtime.list_containers({**subject.labels, "tier": "db"})
    assert info.labels == {**subject.labels, "tier": "db"} and info.name == f"{subject.case}-db"


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_missing_image_fails_fast_with_image_not_found(subject: Subject) -> None:
    missing = "podvisor/does-not-exist:1"
    assert subject.runtime.image_id(missing) is None
    assert subject.runtime.image_id(subject.image)

    started = time.monotonic()
    with pytest.raises(ImageNotFound, match="podvisor/does-not-exist:1"):
        subject.runtime.create_container(
            ContainerSpec(name=f"{subject.case}-x", image=missing, labels=subject.labels)
        )
    with pytest.raises(ImageNotFound, match="podvisor/does-not-exist:1"):
        subject.runtime.pull_image(missing)
    assert time.monotonic() - started < 30  # no registry here: the pull fails on DNS, not a timeout


# -- networks, volumes --------------------------------------------------------------------


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_network_lifecycle(subject: Subject) -> None:
    network = f"{subject.case}-net"
    subject.runtime.ensure_network(network, TEST_LABELS)
    subject.runtime.ensure_network(network, TEST_LABELS)  # idempotent
    container_id = subject.run(subject.spec("app", network=network))

    with pytest.raises(ContainerRuntimeError):
        subject.runtime.remove_network(network)  # a running container is attached
    subject.runtime.remove_container(container_id)
    subject.runtime.remove_network(network)
    subject.runtime.remove_network(network)  # gone: no error
    orphan = subject.runtime.create_container(subject.spec("orphan", network=network))
    with pytest.raises(ContainerRuntimeError, match=network):
        subject.runtime.start_container(orphan)  # Docker checks the network at start, not create


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_volume_lifecycle(subject: Subject) -> None:
    volume = f"{subject.case}-vol"
    subject.runtime.ensure_volume(volume, TEST_LABELS)
    subject.runtime.ensure_volume(volume, TEST_LABELS)  # idempotent
    mount = Mount(source=volume, target="/data", kind="volume")
    container_id = subject.runtime.create_container(subject.spec("app", mounts=(mount,)))

    with pytest.raises(ContainerRuntimeError):
        subject.runtime.remove_volume(volume)  # in use, even by a stopped container
    subject.runtime.remove_container(container_id)
    subject.runtime.remove_volume(volume)
    subject.runtime.remove_volume(volume)  # gone: no error


@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_named_volume_is_shared_between_containers(subject: Subject) -> None:
    volume = f"{subject.case}-scratch"
    subject.runtime.ensure_volume(volume, TEST_LABELS)
    mounts = (Mount(source=volume, target="/scratch", kind="volume"),)
    writer = subject.run(
        subject.spec("writer", command=["sh", "-c", "echo shared > /scratch/msg"], mounts=mounts)
    )
    assert subject.wait_exited(writer).exit_code == 0
    subject.runtime.remove_container(writer)  # the data outlives the container, like an emptyDir

    reader = subject.run(subject.spec("reader", command=["cat", "/scratch/msg"], mounts=mounts))
    assert subject.wait_exited(reader).exit_code == 0
    assert subject.output(reader) == b"shared\n"


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_a_volume_has_a_host_path_of_its_own(subject: Subject) -> None:
    """Where a subPath of an emptyDir is bound from (kubelet.subpath): a directory that exists."""
    first, second = f"{subject.case}-one", f"{subject.case}-two"
    subject.runtime.ensure_volume(first, TEST_LABELS)
    subject.runtime.ensure_volume(second, TEST_LABELS)
    try:
        paths = subject.runtime.volume_path(first), subject.runtime.volume_path(second)
        assert all(Path(p).is_dir() for p in paths) and paths[0] != paths[1]
        assert subject.runtime.volume_path(first) == paths[0]
    finally:
        subject.runtime.remove_volume(first)
        subject.runtime.remove_volume(second)


@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_a_sub_directory_of_a_volume_binds_into_a_container(subject: Subject) -> None:
    volume = f"{subject.case}-sub"
    subject.runtime.ensure_volume(volume, TEST_LABELS)
    sub = Path(subject.runtime.volume_path(volume)) / "part"
    sub.mkdir()
    (sub / "msg").write_text("inside\n")
    mounts = (Mount(source=str(sub), target="/part", kind="bind"),)
    reader = subject.run(subject.spec("reader", command=["cat", "/part/msg"], mounts=mounts))
    assert subject.wait_exited(reader).exit_code == 0
    assert subject.output(reader) == b"inside\n"
    subject.runtime.remove_container(reader)
    subject.runtime.remove_volume(volume)


@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_bind_mount_read_only(subject: Subject, tmp_path: Path) -> None:
    (tmp_path / "config").write_text("from the host\n")
    mounts = (Mount(source=str(tmp_path), target="/etc/app", read_only=True),)
    script = "cat /etc/app/config; touch /etc/app/new 2>/dev/null && echo writable || echo read-only"
    container_id = subject.run(subject.spec("app", command=["sh", "-c", script], mounts=mounts))

    subject.wait_exited(container_id)
    assert subject.output(container_id) == b"from the host\nread-only\n"


@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_network_aliases_resolve_to_the_container_ip(subject: Subject) -> None:
    network = f"{subject.case}-net"
    subject.runtime.ensure_network(network, TEST_LABELS)
    server = subject.run(subject.spec("server", network=network, network_aliases=("web",)))
    client = subject.run(
        subject.spec("client", network=network, hostname="pod-a", extra_hosts={"db": "10.1.2.3"})
    )

    server_info = subject.runtime.inspect_container(server)
    assert server_info is not None and server_info.ip
    code, output = subject.runtime.exec(
        client, ["sh", "-c", "ping -c1 -W2 web | head -1; hostname; grep -w db /etc/hosts"], timeout=10
    )
    assert code == 0, output
    ping, hostname, hosts = output.decode().splitlines()
    assert f"({server_info.ip})" in ping
    assert hostname == "pod-a" and hosts.split() == ["10.1.2.3", "db"]


# -- spec fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        pytest.param(
            ["sh", "-c"], ['echo "$GREETING from $(pwd)"'], b"hello world from /tmp\n", id="command+args"
        ),
        pytest.param(["echo", "command only"], None, b"command only\n", id="command-replaces-image-cmd"),
        pytest.param(None, ["echo", "args only"], b"args only\n", id="args-replace-image-cmd"),
        pytest.param(["echo"], [], b"\n", id="empty-args-means-unset"),
    ],
)
@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_env_command_args_working_dir(
    subject: Subject, command: list[str] | None, args: list[str] | None, expected: bytes
) -> None:
    spec = subject.spec(
        "app", command=command, args=args, env={"GREETING": "hello world"}, working_dir="/tmp"
    )
    container_id = subject.run(spec)

    assert subject.wait_exited(container_id).exit_code == 0
    assert subject.output(container_id) == expected


@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_limits_and_published_port(subject: Subject) -> None:
    host_port = free_port()
    script = "echo served > /var/www/index.html && exec httpd -f -p 8080 -h /var/www"
    spec = subject.spec(
        "web",
        command=["sh", "-c", script],
        ports=(PortBinding(container_port=8080, host_port=host_port, host_ip="127.0.0.1"),),
        memory_bytes=64 * 1024 * 1024,
        nano_cpus=500_000_000,
    )
    container_id = subject.run(spec)

    assert wait_for(lambda: http_get(f"http://127.0.0.1:{host_port}/"), what="httpd") == b"served\n"
    limits = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max"
    code, output = subject.runtime.exec(container_id, ["sh", "-c", limits], timeout=10)
    assert code == 0, output
    assert output.split()[:2] == [b"67108864", b"50000"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bytes(response.read())
    except OSError:
        return None


# -- exec, stop timeouts -----------------------------------------------------------------


@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_exec_returns_exit_code_and_output(subject: Subject) -> None:
    container_id = subject.run(subject.spec("app"))

    code, output = subject.runtime.exec(
        container_id, ["sh", "-c", "echo out; echo err >&2; exit 4"], timeout=10
    )
    assert code == 4
    assert sorted(output.splitlines()) == [b"err", b"out"]  # two pipes: no order between them

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        subject.runtime.exec(container_id, ["sleep", "30"], timeout=0.5)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_exec_needs_a_running_container(subject: Subject) -> None:
    container_id = subject.runtime.create_container(subject.spec("app"))
    with pytest.raises(ContainerRuntimeError):
        subject.runtime.exec(container_id, ["true"], timeout=5)


@pytest.mark.parametrize(
    ("command", "timeout", "min_seconds", "max_seconds", "exit_code"),
    [
        pytest.param(SLEEP_FOREVER, 1.0, 0.9, 4.0, 137, id="ignores-sigterm-killed-after-timeout"),
        pytest.param(STOPS_ON_TERM, 10.0, 0.0, 3.0, 0, id="handles-sigterm-stops-at-once"),
    ],
)
@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_stop_honours_the_timeout(
    subject: Subject,
    command: list[str],
    timeout: float,
    min_seconds: float,
    max_seconds: float,
    exit_code: int,
) -> None:
    container_id = subject.run(subject.spec("app", command=command))
    if command is STOPS_ON_TERM:
        subject.wait_ready(container_id)

    started = time.monotonic()
    subject.runtime.stop_container(container_id, timeout=timeout)
    elapsed = time.monotonic() - started

    assert min_seconds <= elapsed <= max_seconds
    info = subject.runtime.inspect_container(container_id)
    assert info is not None and (info.state, info.exit_code) == (ContainerState.EXITED, exit_code)


# -- logs and events ----------------------------------------------------------------------


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_logs_tail_since_and_timestamps(subject: Subject) -> None:
    lines = b"".join(b"line%d\n" % i for i in range(1, 6))
    container_id = subject.run(
        subject.spec("app", command=["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done"])
    )
    subject.act(container_id, output=lines, exit_code=0)
    subject.wait_exited(container_id)

    assert subject.output(container_id) == lines
    assert list(subject.runtime.logs(container_id, tail=2)) == [b"line4\n", b"line5\n"]
    assert list(subject.runtime.logs(container_id, tail=0)) == []
    [stamped] = subject.runtime.logs(container_id, timestamps=True, tail=1)
    match = TIMESTAMPED.match(stamped)
    assert match is not None and match.group(1) == b"line5\n"
    future = datetime.now(UTC) + timedelta(hours=1)
    assert list(subject.runtime.logs(container_id, since=future)) == []
    past = datetime.now(UTC) - timedelta(hours=1)
    assert b"".join(subject.runtime.logs(container_id, since=past)) == lines


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_logs_follow_ends_when_the_container_exits(subject: Subject) -> None:
    container_id = subject.run(
        subject.spec("app", command=["sh", "-c", "echo first; sleep 0.3; echo second"])
    )
    subject.act(container_id, output=b"first\n")
    followed = subject.runtime.logs(container_id, follow=True)

    assert next(followed) == b"first\n"
    subject.act(container_id, output=b"second\n", exit_code=0)
    assert list(followed) == [b"second\n"]


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_events_stream_yields_die_with_exit_code(subject: Subject) -> None:
    stop = threading.Event()
    events = subject.runtime.events(subject.labels, stop)  # subscribed from here on
    subject.run(subject.spec("other", labels={"podvisor.test.case": "someone-else"}))
    container_id = subject.run(subject.spec("fails", command=["sh", "-c", "exit 2"]))
    subject.act(container_id, exit_code=2)

    seen: list[RuntimeEvent] = []
    for event in events:
        seen.append(event)
        if event.action == "die":
            break
    stop.set()

    assert {event.container_id for event in seen} == {container_id}
    assert [event.action for event in seen if event.action in ("create", "start", "die")] == [
        "create",
        "start",
        "die",
    ]
    assert (seen[-1].exit_code, seen[-1].name, seen[-1].labels) == (
        2,
        f"{subject.case}-fails",
        subject.labels,
    )


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_events_stream_ends_soon_after_stop(subject: Subject) -> None:
    stop = threading.Event()
    events = subject.runtime.events(subject.labels, stop)
    threading.Timer(0.2, stop.set).start()

    started = time.monotonic()
    assert list(events) == []
    assert time.monotonic() - started < 1.5


# -- security settings ----------------------------------------------------------------------


@pytest.mark.parametrize("subject", BOTH, indirect=True)
def test_image_user_is_the_images_user(subject: Subject) -> None:
    assert subject.runtime.image_user(subject.image) == ""  # the busybox image runs as root
    assert subject.runtime.image_user("podvisor/does-not-exist:1") is None


@pytest.mark.parametrize("subject", DOCKER_ONLY, indirect=True)
def test_security_settings_reach_the_process(subject: Subject) -> None:
    security = Security(user="1000:3000", group_add=("4000",), cap_drop=("ALL",), no_new_privileges=True,
                        read_only_rootfs=True)
    # touch's "Read-only file system" would go to stderr, whose lines may land between stdout's
    container_id = subject.run(subject.spec("locked", security=security, command=[
        "sh", "-c",
        "id -u; id -g; id -G; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; touch /x 2>/dev/null || echo RO"]))
    subject.wait_exited(container_id)
    lines = subject.output(container_id).decode().split("\n")
    assert lines[:3] == ["1000", "3000", "3000 4000"]
    assert "CapEff:\t0000000000000000" in lines and "NoNewPrivs:\t1" in lines and "RO" in lines
