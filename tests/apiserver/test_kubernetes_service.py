"""The ``kubernetes`` Service in ``default``: created as Kubernetes has it, re-created when deleted."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from apimachinery import resources as res
from apiserver.kubernetesservice import ensure_kubernetes_service, keep_kubernetes_service
from apiserver.registry import Registry
from apiserver.store.sqlite import SqliteStore


def registry(tmp_path: Path) -> Registry:
    reg = Registry(SqliteStore(tmp_path / "state.db"))
    reg.ensure_system_namespaces()
    return reg


def test_created_as_kubernetes_has_it(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    ensure_kubernetes_service(reg, port=6443)
    service = reg.get(res.SERVICES, "default", "kubernetes")
    assert service["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    assert service["spec"]["type"] == "ClusterIP" and "selector" not in service["spec"]
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]
    ensure_kubernetes_service(reg, port=6443)  # idempotent
    assert reg.get(res.SERVICES, "default", "kubernetes")["metadata"]["uid"] == service["metadata"]["uid"]


async def test_deleted_it_comes_back(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    task = asyncio.create_task(keep_kubernetes_service(reg, port=6443, interval=0.01))
    try:
        await asyncio.sleep(0.05)
        first = reg.get(res.SERVICES, "default", "kubernetes")["metadata"]["uid"]
        reg.delete(res.SERVICES, "default", "kubernetes", {})
        await asyncio.sleep(0.05)
        assert reg.get(res.SERVICES, "default", "kubernetes")["metadata"]["uid"] != first
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        reg.store.close()
