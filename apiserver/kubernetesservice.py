"""The ``kubernetes`` Service in ``default``: how pods name the API, as every Kubernetes has it.

kube-apiserver's bootstrap controller keeps it: type ClusterIP, the first address of the
service CIDR (``10.96.0.1``), no selector, port 443 named ``https`` to the API server's secure
port, labels ``component: apiserver`` and ``provider: kubernetes``. As that controller does
every 10 s, :func:`keep_kubernetes_service` re-creates the Service when someone deleted it,
and replaces one that holds another ClusterIP (or none: data from before podvisor allocated
ClusterIPs), since a ClusterIP cannot be changed in place.
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


def kubernetes_service(port: int, cluster_ip: str) -> dict[str, object]:
    return {
        "metadata": {"name": KUBERNETES_SERVICE, "namespace": KUBERNETES_SERVICE_NAMESPACE,
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "sessionAffinity": "None", "clusterIP": cluster_ip,
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]},
    }


def ensure_kubernetes_service(registry: Registry, *, port: int) -> None:
    """Create the Service when missing or holding the wrong ClusterIP; a right one (another
    apiserver made it) is kept."""
    cluster_ip = registry.service_ranges.cidr.first
    try:
        current = registry.get(res.SERVICES, KUBERNETES_SERVICE_NAMESPACE, KUBERNETES_SERVICE)
    except ApiError as err:
        if err.code != 404:
            raise
    else:
        if (current.get("spec") or {}).get("clusterIP") == cluster_ip:
            return
        log.warning("the kubernetes Service has ClusterIP %r, not %s: re-creating it",
                    (current.get("spec") or {}).get("clusterIP"), cluster_ip)
        _delete(registry, current["metadata"]["resourceVersion"])
    try:
        registry.create(res.SERVICES, KUBERNETES_SERVICE_NAMESPACE, kubernetes_service(port, cluster_ip))
    except ApiError as err:
        if err.reason != "AlreadyExists":
            raise


def _delete(registry: Registry, resource_version: str) -> None:
    try:
        registry.delete(res.SERVICES, KUBERNETES_SERVICE_NAMESPACE, KUBERNETES_SERVICE,
                        {"preconditions": {"resourceVersion": resource_version}})
    except ApiError as err:
        if err.code not in (404, 409):  # another apiserver replaced it first
            raise


async def keep_kubernetes_service(registry: Registry, *, port: int, interval: float = RECONCILE_INTERVAL) -> None:
    """Ensure the Service now and every ``interval`` seconds, until cancelled."""
    while True:
        try:
            ensure_kubernetes_service(registry, port=port)
        except ApiError as err:  # e.g. the store is read-only for a moment: try again next round
            log.warning("cannot ensure the kubernetes Service: %s", err.message)
        await asyncio.sleep(interval)
