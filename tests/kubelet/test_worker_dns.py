"""A pod worker gives every container the pod's resolv.conf and the Services' variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apimachinery.models.core import Service
from kubelet import naming
from kubelet.apirelay import InClusterApi
from kubelet.dns import PodDns
from kubelet.worker import PodWorker
from tests.kubelet.harness import IMAGE, make_context, make_pod


def spec_of(runtime: Any, container: str) -> Any:
    [info] = runtime.list_containers({naming.CONTAINER: container})
    return runtime.spec_of(info.id)


def service(name: str, namespace: str, cluster_ip: str) -> Service:
    return Service.model_validate(
        {
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": cluster_ip, "ports": [{"name": "http", "port": 80}]},
        }
    )


async def test_every_container_mounts_the_resolv_conf_written_for_the_pod(tmp_path: Path) -> None:
    ctx, runtime, api, _ = make_context()
    host = tmp_path / "host-resolv.conf"
    host.write_text("nameserver 10.0.0.2\nsearch lan\n")
    ctx.pod_dns = PodDns(root=tmp_path / "kubelet", cluster_dns=["172.18.0.1"], host_resolv_conf=host)
    pod = api.put(
        make_pod(
            init_containers=[{"name": "setup", "image": IMAGE, "imagePullPolicy": "IfNotPresent"}],
            containers=[{"name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent"}],
        )
    )
    worker = PodWorker(ctx, key="default/web", uid=pod.metadata.uid)
    await worker.sync()
    runtime.exit(runtime.list_containers({naming.CONTAINER: "setup"})[0].id, 0)
    await worker.sync()
    path = tmp_path / "kubelet" / "pods" / str(pod.metadata.uid) / "etc-resolv.conf"
    assert path.read_text().startswith("nameserver 172.18.0.1\nsearch default.svc.cluster.local ")
    for container in ("setup", "app"):
        mounts = [m for m in spec_of(runtime, container).mounts if m.target == "/etc/resolv.conf"]
        assert [(m.source, m.read_only) for m in mounts] == [(str(path), True)]
    sandbox = spec_of(runtime, naming.SANDBOX_NAME)
    assert sandbox.network_aliases == ()


async def test_containers_get_the_namespace_services_variables_and_their_own_env_wins() -> None:
    ctx, runtime, api, _ = make_context()
    ctx.services = lambda: [
        service("web", "default", "10.96.0.7"),
        service("db", "other", "10.96.0.8"),
        service("kubernetes", "default", "10.96.0.1"),
    ]
    ctx.in_cluster = InClusterApi(address="172.18.0.1", port=443)
    pod = api.put(
        make_pod(
            containers=[
                {
                    "name": "app",
                    "image": IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "env": [{"name": "WEB_SERVICE_PORT", "value": "mine"}],
                }
            ]
        )
    )
    await PodWorker(ctx, key="default/web", uid=pod.metadata.uid).sync()
    env = spec_of(runtime, "app").env
    assert env["WEB_SERVICE_HOST"] == "10.96.0.7" and env["WEB_PORT_80_TCP_ADDR"] == "10.96.0.7"
    assert env["WEB_SERVICE_PORT"] == "mine"
    assert "DB_SERVICE_HOST" not in env
    assert env["KUBERNETES_SERVICE_HOST"] == "kubernetes.default.svc"  # the relay pods reach the API through
