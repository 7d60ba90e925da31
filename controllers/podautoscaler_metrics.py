"""Where the pod autoscaler reads pod usage: the resource metrics API, behind a small Protocol.

The controller asks one question - each pod's usage of one resource, for the pods a label
selector picks - and the answer comes from ``metrics.k8s.io/v1beta1`` PodMetrics, as
Kubernetes' ``resource metrics client`` reads them: the pod's usage is the sum of its
containers', cpu in millicores (``"250m"``, ``"123456789n"`` rounded up) and memory in bytes; a
pod whose containers do not all report the resource is left out (it counts as missing metrics).

:class:`ApiMetricsSource` reads them through the API client (``GET .../namespaces/{ns}/pods?labelSelector=``);
:class:`StaticMetricsSource` is the in-memory one for tests. Both raise :class:`MetricsUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from apimachinery.errors import ApiError
from apimachinery.quantity import cpu_millis, memory_bytes

METRICS_GROUP_VERSION = "metrics.k8s.io/v1beta1"
CPU, MEMORY = "cpu", "memory"


class MetricsUnavailable(Exception):
    """The metrics API did not answer (or answered nonsense); the message is for the condition."""


class PodMetricsSource(Protocol):
    async def pod_usage(self, namespace: str, selector: str, resource: str) -> dict[str, int]:
        """Pod name -> usage of ``resource`` (millicores for cpu, bytes for memory)."""
        ...


class RawApi(Protocol):
    """The API client's untyped request, which reaches any path (the metrics API has no stored kind)."""

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> Any: ...


def amount(resource: str, quantity: str | int | float) -> int:
    """A usage or request in the unit the calculator uses: millicores for cpu, bytes otherwise."""
    return cpu_millis(quantity) if resource == CPU else memory_bytes(quantity)


def pod_usage_from(items: list[Any], resource: str) -> dict[str, int]:
    """Sum each PodMetrics' containers; a pod with a container lacking the resource is left out."""
    usage: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        name, total = (item.get("metadata") or {}).get("name"), _containers_usage(item.get("containers"), resource)
        if name and total is not None:
            usage[str(name)] = total
    return usage


def _containers_usage(containers: Any, resource: str) -> int | None:
    if not isinstance(containers, list) or not containers:
        return None
    total = 0
    for container in containers:
        value = ((container.get("usage") or {}) if isinstance(container, dict) else {}).get(resource)
        if not isinstance(value, str | int | float):
            return None
        try:
            total += amount(resource, value)
        except ValueError:
            return None
    return total


class ApiMetricsSource:
    def __init__(self, client: RawApi) -> None:
        self.client = client

    async def pod_usage(self, namespace: str, selector: str, resource: str) -> dict[str, int]:
        path = f"/apis/{METRICS_GROUP_VERSION}/namespaces/{namespace}/pods"
        try:
            body = await self.client.request("GET", path, params={"labelSelector": selector} if selector else None)
        except ApiError as err:
            raise MetricsUnavailable(f"unable to fetch metrics from resource metrics API: {err.message}") from err
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise MetricsUnavailable("unable to fetch metrics from resource metrics API: the answer is not a list")
        if not items:
            raise MetricsUnavailable("no metrics returned from resource metrics API")
        return pod_usage_from(items, resource)


class StaticMetricsSource:
    """Usage set by the test: ``usage[namespace][pod][resource]`` as quantities; ``error`` fails every read."""

    def __init__(self, usage: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None) -> None:
        self.usage: dict[str, dict[str, dict[str, str]]] = {
            ns: {pod: dict(r) for pod, r in pods.items()} for ns, pods in (usage or {}).items()}
        self.error: str | None = None
        self.reads: list[tuple[str, str, str]] = []

    def set(self, namespace: str, pod: str, **resources: str) -> None:
        self.usage.setdefault(namespace, {})[pod] = dict(resources)

    async def pod_usage(self, namespace: str, selector: str, resource: str) -> dict[str, int]:
        self.reads.append((namespace, selector, resource))
        if self.error is not None:
            raise MetricsUnavailable(self.error)
        pods = self.usage.get(namespace, {})
        return {pod: amount(resource, r[resource]) for pod, r in pods.items() if resource in r}
