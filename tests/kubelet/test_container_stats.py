"""Container usage samples: read from the real Docker daemon's cgroups, and the parsers behind them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelet.runtime import dockerstats
from kubelet.runtime.base import ContainerSpec
from kubelet.runtime.docker import DockerRuntime

IMAGE = "podvisor/busybox:latest"
BURN = ["sh", "-c", "while :; do :; done"]


@pytest.fixture
def docker_runtime() -> Iterator[tuple[DockerRuntime, list[str]]]:
    runtime, made = DockerRuntime(), []
    yield runtime, made
    for cid in made:
        runtime.remove_container(cid)


def run(runtime: DockerRuntime, made: list[str], command: list[str]) -> str:
    spec = ContainerSpec(name=f"mapi-stats-{uuid.uuid4().hex[:8]}", image=IMAGE, labels={"podvisor.test": "1"},
                         command=command)
    cid = runtime.create_container(spec)
    made.append(cid)
    runtime.start_container(cid)
    return cid


@pytest.mark.e2e
def test_a_busy_container_has_growing_cpu_and_a_working_set(docker_runtime: tuple[DockerRuntime, list[str]]) -> None:
    runtime, made = docker_runtime
    cid = run(runtime, made, BURN)
    first = runtime.container_stats(cid)
    assert first is not None
    time.sleep(1.0)
    second = runtime.container_stats(cid)
    assert second is not None
    assert second.timestamp > first.timestamp
    rate = (second.cpu_usage_ns - first.cpu_usage_ns) / (second.timestamp - first.timestamp)
    assert rate > 100_000_000, f"a spinning shell used only {rate / 1e6:.0f}m"  # 0.1 core
    assert second.memory_working_set_bytes > 0
    assert second.memory_usage_bytes >= second.memory_working_set_bytes
    started = time.perf_counter()
    for _ in range(20):
        runtime.container_stats(cid)
    print(f"\nstats cost per container: {(time.perf_counter() - started) / 20 * 1e3:.2f} ms (cgroup files)")
    started = time.perf_counter()
    sample = dockerstats.from_stats_api(runtime._api.stats(cid, stream=False, one_shot=True))
    print(f"stats cost per container: {(time.perf_counter() - started) * 1e3:.2f} ms (Docker one-shot stats)")
    assert sample is not None and sample.cpu_usage_ns >= second.cpu_usage_ns


@pytest.mark.e2e
def test_stopped_and_missing_containers_have_no_sample(docker_runtime: tuple[DockerRuntime, list[str]]) -> None:
    runtime, made = docker_runtime
    cid = run(runtime, made, ["sleep", "1000"])
    assert runtime.container_stats(cid) is not None
    runtime.stop_container(cid, timeout=0)
    assert runtime.container_stats(cid) is None
    assert runtime.container_stats("0" * 64) is None


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_cgroup_files_give_working_set_as_usage_less_inactive_file(tmp_path: Path, version: str) -> None:
    cid = "abc123"
    if version == "v1":
        write(tmp_path, {f"cpuacct/docker/{cid}/cpuacct.usage": "5000000000\n",
                         f"memory/docker/{cid}/memory.usage_in_bytes": "10485760\n",
                         f"memory/docker/{cid}/memory.stat": "cache 1\ntotal_inactive_file 2097152\ntotal_rss 4194304\n"})
    else:
        write(tmp_path, {f"docker/{cid}/cpu.stat": "usage_usec 5000000\nuser_usec 1\n",
                         f"docker/{cid}/memory.current": "10485760\n",
                         f"docker/{cid}/memory.stat": "anon 4194304\ninactive_file 2097152\n"})
    sample = dockerstats.read_cgroup_stats(cid, root=tmp_path, clock=lambda: 42.0)
    assert sample is not None
    assert (sample.timestamp, sample.cpu_usage_ns) == (42.0, 5_000_000_000)
    assert (sample.memory_usage_bytes, sample.memory_working_set_bytes, sample.memory_rss_bytes) == (
        10485760, 8388608, 4194304)


def test_missing_cgroup_files_fall_through(tmp_path: Path) -> None:
    assert dockerstats.read_cgroup_stats("nothing", root=tmp_path) is None


@pytest.mark.parametrize(("stats", "working_set"), [
    pytest.param({"cpu_stats": {"cpu_usage": {"total_usage": 9}},
                  "memory_stats": {"usage": 100, "stats": {"total_inactive_file": 30, "total_rss": 50}}}, 70, id="v1"),
    pytest.param({"cpu_stats": {"cpu_usage": {"total_usage": 9}},
                  "memory_stats": {"usage": 100, "stats": {"inactive_file": 200, "anon": 50}}}, 0, id="v2-clamped"),
])
def test_docker_stats_api_answer(stats: dict[str, object], working_set: int) -> None:
    sample = dockerstats.from_stats_api(stats, clock=lambda: 1.0)
    assert sample is not None
    assert (sample.cpu_usage_ns, sample.memory_working_set_bytes, sample.memory_rss_bytes) == (9, working_set, 50)


def test_a_stopped_containers_empty_stats_answer_is_no_sample() -> None:
    assert dockerstats.from_stats_api({"cpu_stats": {}, "memory_stats": {}}) is None
