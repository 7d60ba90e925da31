"""The ``default`` ServiceAccount and ``kube-root-ca.crt`` publishers, one ``sync(namespace)`` each."""

from __future__ import annotations

from apimachinery.models.authentication import ServiceAccount
from apimachinery.models.core import ConfigMap, Namespace, NamespaceStatus
from apimachinery.models.meta import ObjectMeta
from controllers.serviceaccounts import RootCAPublisher, ServiceAccountsController
from tests.controllers.harness import FakeCluster, FakeQueue, fake_context

CA = "-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n"


async def namespace(cluster: FakeCluster, name: str, *, terminating: bool = False) -> None:
    created = await cluster.client.create(Namespace(metadata=ObjectMeta(name=name)))
    if terminating:
        created.status = NamespaceStatus(phase="Terminating")
        await cluster.client.replace_status(created)
    cluster.client.deliver()


def controllers(cluster: FakeCluster) -> tuple[ServiceAccountsController, RootCAPublisher, FakeQueue, FakeQueue]:
    sa_queue, ca_queue = FakeQueue(), FakeQueue()
    accounts = cluster.client.informer(ServiceAccount)
    configmaps = cluster.client.informer(ConfigMap, field_selector="metadata.name=kube-root-ca.crt")
    return (ServiceAccountsController(cluster.ctx, accounts, queue=sa_queue),
            RootCAPublisher(cluster.ctx, configmaps, root_ca=CA, queue=ca_queue), sa_queue, ca_queue)


async def test_a_new_namespace_gets_both() -> None:
    cluster = fake_context()
    accounts, publisher, sa_queue, ca_queue = controllers(cluster)
    await namespace(cluster, "team")
    assert "team" in sa_queue.added and "team" in ca_queue.added
    await accounts.sync("team")
    await publisher.sync("team")
    assert [sa.metadata.name for sa in cluster.client.all(ServiceAccount, "team")] == ["default"]
    [cm] = cluster.client.all(ConfigMap, "team")
    assert cm.metadata.name == "kube-root-ca.crt" and cm.data == {"ca.crt": CA}
    assert "kubernetes.io/description" in (cm.metadata.annotations or {})


async def test_sync_is_idempotent() -> None:
    cluster = fake_context()
    accounts, publisher, _, _ = controllers(cluster)
    await namespace(cluster, "team")
    for _ in range(2):
        await accounts.sync("team")
        await publisher.sync("team")
        cluster.client.deliver()
    assert len(cluster.client.calls("create", "serviceaccounts")) == 1
    assert len(cluster.client.calls("create", "configmaps")) == 1


async def test_deleted_objects_come_back() -> None:
    cluster = fake_context()
    accounts, publisher, sa_queue, ca_queue = controllers(cluster)
    await namespace(cluster, "team")
    await accounts.sync("team")
    await publisher.sync("team")
    cluster.client.deliver()
    sa_queue.clear()
    ca_queue.clear()
    await cluster.client.delete(ServiceAccount, "default", "team")
    await cluster.client.delete(ConfigMap, "kube-root-ca.crt", "team")
    cluster.client.deliver()
    assert sa_queue.added == ["team"] and ca_queue.added == ["team"]
    await accounts.sync("team")
    await publisher.sync("team")
    assert len(cluster.client.all(ServiceAccount, "team")) == 1 and len(cluster.client.all(ConfigMap, "team")) == 1


async def test_an_edited_ca_is_put_back() -> None:
    cluster = fake_context()
    _, publisher, _, _ = controllers(cluster)
    await namespace(cluster, "team")
    await cluster.client.create(ConfigMap(metadata=ObjectMeta(name="kube-root-ca.crt"), data={"ca.crt": "forged"}),
                                "team")
    cluster.client.deliver()
    await publisher.sync("team")
    [cm] = cluster.client.all(ConfigMap, "team")
    assert cm.data == {"ca.crt": CA}


async def test_other_config_maps_are_not_watched() -> None:
    cluster = fake_context()
    _, _, _, ca_queue = controllers(cluster)
    await namespace(cluster, "team")
    ca_queue.clear()
    await cluster.client.create(ConfigMap(metadata=ObjectMeta(name="app"), data={"k": "v"}), "team")
    cluster.client.deliver()
    assert ca_queue.added == []


async def test_nothing_is_created_in_a_terminating_or_missing_namespace() -> None:
    cluster = fake_context()
    accounts, publisher, _, _ = controllers(cluster)
    await namespace(cluster, "going", terminating=True)
    for key in ("going", "never-existed"):
        await accounts.sync(key)
        await publisher.sync(key)
    assert cluster.client.calls("create", "serviceaccounts") == []
    assert cluster.client.calls("create", "configmaps") == []
