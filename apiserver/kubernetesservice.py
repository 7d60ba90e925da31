"""The ``kubernetes`` Service in ``default``: how pods name the API, as every Kubernetes has it.

kube-apiserver's bootstrap controller keeps it: type ClusterIP, no selector, port 443 named
``https`` to the API server's secure port, labels ``component: apiserver`` and
``provider: kubernetes``. podvisor allocates no ClusterIPs yet; the kubelet makes the API
reachable under the Service's name instead (see :mod:`kubelet.apirelay`). As kube-apiserver's
bootstrap controller does every 10 s, :func:`keep_kubernetes_service` re-creates the Service
when someone deleted it.
"""

from __future__ import annotations

import asyncio
import logging

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.serviceaccounts import KUBERNETES_SERVICE, KUBERNETES_SERVICE_NAMESPACE
from apiserver.registry import Registry

log = logging.getLogger(__name__)
RECONCILE_INTERVAL = 10.0


def kubernetes_service(port: int) -> dict[str, object]:
    return {
        "metadata": {"name": KUBERNETES_SERVICE, "namespace": KUBERNETES_SERVICE_NAMESPACE,
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "sessionAffinity": "None",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
    }


def ensure_kubernetes_service(registry: Registry, *, port: int) -> None:
    """Create the Service when missing; one that exists (another apiserver made it) is kept."""
    try:
        registry.get(res.SERVICES, KUBERNETES_SERVICE_NAMESPACE, KUBERNETES_SERVICE)
        return
    except ApiError as err:
        if err.code != 404:
            raise
    try:
        registry.create(res.SERVICES, KUBERNETES_SERVICE_NAMESPACE, kubernetes_service(port))
    except ApiError as err:
        if err.reason != "AlreadyExists":
            raise


async def keep_kubernetes_service(registry: Registry, *, port: int, interval: float = RECONCILE_INTERVAL) -> None:
    """Ensure the Service now and every ``interval`` seconds, until cancelled."""
    while True:
        try:
            ensure_kubernetes_service(registry, port=port)
        except ApiError as err:  # e.g. the store is read-only for a moment: try again next round
            log.warning("cannot ensure the kubernetes Service: %s", err.message)
        await asyncio.sleep(interval)
