"""The kubelet's token manager and projected volumes: renewal at 80 %, files on disk, clean-up."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from apimachinery.errors import ApiError
from apimachinery.models.core import Pod
from apimachinery.timeutil import FakeClock
from kubelet.configobjects import CONFIG_MAP, ObjectFiles
from kubelet.tokens import Token, TokenKey, TokenManager
from kubelet.volumes import ProjectedVolumes, VolumeError

KEY = TokenKey(namespace="ns", service_account="default", audiences=(), seconds=3607, pod_name="web", pod_uid="u1")


class FakeRequester:
    """Issues ``token-<n>`` valid for the requested seconds; fails while ``down``."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.requests: list[TokenKey] = []
        self.down = False

    async def request_token(self, key: TokenKey) -> tuple[str, datetime]:
        if self.down:
            raise ApiError(503, "ServiceUnavailable", "apiserver is down")
        self.requests.append(key)
        return f"token-{len(self.requests)}", datetime.fromtimestamp(self.clock.time() + key.seconds, UTC)


class FakeConfigMaps:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, str]] = {("ns", "kube-root-ca.crt"): {"ca.crt": "PEM"}}
        self.secrets: dict[tuple[str, str], dict[str, str]] = {}
        self.immutable: set[tuple[str, str]] = set()

    async def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        return self.data.get((namespace, name))

    async def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        return self.secrets.get((namespace, name))

    async def files(self, kind: str, namespace: str, name: str) -> ObjectFiles | None:
        found = (self.data if kind == CONFIG_MAP else self.secrets).get((namespace, name))
        if found is None:
            return None
        return ObjectFiles({key: value.encode() for key, value in found.items()},
                           immutable=(namespace, name) in self.immutable)


@pytest.mark.parametrize(
    ("elapsed", "due"),
    [
        pytest.param(0, False, id="fresh"),
        pytest.param(2885, False, id="just-under-80-percent"),
        pytest.param(2886, True, id="at-80-percent"),
        pytest.param(3607, True, id="expired"),
    ],
)
def test_renewal_is_due_at_80_percent_of_the_lifetime(elapsed: float, due: bool) -> None:
    token = Token("t", issued=1000.0, expires=1000.0 + 3607)
    assert token.due(1000.0 + elapsed) is due


def test_a_day_old_token_is_renewed_even_if_it_lives_longer() -> None:
    token = Token("t", issued=0.0, expires=7 * 24 * 3600.0)
    assert not token.due(24 * 3600.0 - 1) and token.due(24 * 3600.0)


async def test_manager_caches_then_renews() -> None:
    clock = FakeClock()
    requester = FakeRequester(clock)
    manager = TokenManager(requester, clock=clock)
    assert await manager.get(KEY) == "token-1"
    clock.advance(2000)
    assert await manager.get(KEY) == "token-1"  # cached
    clock.advance(900)
    assert manager.due(KEY)
    assert await manager.get(KEY) == "token-2"
    assert len(requester.requests) == 2


async def test_a_failed_renewal_keeps_the_valid_token_until_it_expires() -> None:
    clock = FakeClock()
    requester = FakeRequester(clock)
    manager = TokenManager(requester, clock=clock)
    await manager.get(KEY)
    requester.down = True
    clock.advance(3000)
    assert await manager.get(KEY) == "token-1"
    clock.advance(700)  # past expiry
    with pytest.raises(ApiError):
        await manager.get(KEY)


def pod(*sources: dict[str, object], uid: str = "u1") -> Pod:
    return Pod.from_dict({
        "metadata": {"name": "web", "namespace": "ns", "uid": uid},
        "spec": {"serviceAccountName": "default", "containers": [{"name": "c", "image": "i"}],
                 "volumes": [{"name": "kube-api-access-abcde", "projected": {"sources": list(sources)}}]},
    })


TOKEN = {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}
CA = {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
NAMESPACE = {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}


def volumes(tmp_path: Path) -> tuple[ProjectedVolumes, FakeClock, FakeRequester, FakeConfigMaps]:
    clock = FakeClock()
    requester = FakeRequester(clock)
    maps = FakeConfigMaps()
    return ProjectedVolumes(root=tmp_path / "kubelet", tokens=TokenManager(requester, clock=clock),
                            config_maps=maps), clock, requester, maps


async def test_the_three_files_are_written_readable_by_any_user(tmp_path: Path) -> None:
    projected, _, requester, _ = volumes(tmp_path)
    dirs = await projected.ensure(pod(TOKEN, CA, NAMESPACE))
    target = Path(dirs["kube-api-access-abcde"])
    assert target == tmp_path / "kubelet/pods/u1/volumes/kubernetes.io~projected/kube-api-access-abcde"
    visible = [p for p in target.iterdir() if not p.name.startswith("..")]
    assert {p.name: p.read_text() for p in visible} == {"token": "token-1", "ca.crt": "PEM", "namespace": "ns"}
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in visible} == {0o644}
    assert stat.S_IMODE((tmp_path / "kubelet").stat().st_mode) == 0o700
    assert requester.requests == [KEY]  # bound to the pod, the pod's lifetime, the API's audience


async def test_refresh_rewrites_the_token_when_due(tmp_path: Path) -> None:
    projected, clock, requester, _ = volumes(tmp_path)
    dirs = await projected.ensure(pod(TOKEN, CA, NAMESPACE))
    token_file = Path(dirs["kube-api-access-abcde"]) / "token"
    clock.advance(2000)
    assert await projected.refresh() == 0 and token_file.read_text() == "token-1"
    clock.advance(900)
    assert await projected.refresh() == 1 and token_file.read_text() == "token-2"
    assert await projected.refresh() == 0


async def test_an_audience_is_requested_as_given(tmp_path: Path) -> None:
    projected, _, requester, _ = volumes(tmp_path)
    await projected.ensure(pod({"serviceAccountToken": {"path": "vault", "audience": "vault",
                                                        "expirationSeconds": 600}}))
    assert requester.requests[0].audiences == ("vault",) and requester.requests[0].seconds == 600


async def test_a_missing_config_map_is_an_error_until_it_exists(tmp_path: Path) -> None:
    projected, _, _, maps = volumes(tmp_path)
    maps.data.clear()
    with pytest.raises(VolumeError, match='configmap "kube-root-ca.crt" not found'):
        await projected.ensure(pod(TOKEN, CA))
    maps.data[("ns", "kube-root-ca.crt")] = {"ca.crt": "PEM"}
    assert await projected.ensure(pod(TOKEN, CA))


async def test_removal_deletes_the_files_and_forgets_the_tokens(tmp_path: Path) -> None:
    projected, clock, requester, _ = volumes(tmp_path)
    await projected.ensure(pod(TOKEN))
    projected.remove("u1")
    assert not (tmp_path / "kubelet/pods/u1").exists()
    clock.advance(3000)
    assert await projected.refresh() == 0 and len(requester.requests) == 1


async def test_a_restarted_kubelet_renews_the_tokens_of_pods_it_adopted(tmp_path: Path) -> None:
    first, clock, _, _ = volumes(tmp_path)
    dirs = await first.ensure(pod(TOKEN, CA))
    token_file = Path(dirs["kube-api-access-abcde"]) / "token"
    restarted, _, requester, _ = volumes(tmp_path)  # a new process: nothing cached, files still there
    restarted.track(pod(TOKEN, CA))
    requester.requests.append(KEY)  # its first token differs from the one the first process wrote
    assert await restarted.refresh() == 1 and token_file.read_text() == "token-2"
    assert requester.requests == [KEY, KEY]


async def test_a_finished_pod_is_no_longer_renewed(tmp_path: Path) -> None:
    projected, clock, requester, _ = volumes(tmp_path)
    await projected.ensure(pod(TOKEN))
    projected.untrack("u1")
    clock.advance(3000)
    assert await projected.refresh() == 0 and len(requester.requests) == 1
