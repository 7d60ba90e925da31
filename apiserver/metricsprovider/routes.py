"""``/apis/metrics.k8s.io/v1beta1``: NodeMetrics and PodMetrics, read-only, as metrics-server serves them.

The objects are built per request from the provider's latest samples (:mod:`.storage`) and the
Node and Pod objects themselves: a list selects nodes or pods by their labels (and
``metadata.name``) and shows those that have a complete sample, as metrics-server does; a get of
one without a sample is a 404. Authorisation is the usual chain's (group ``metrics.k8s.io``,
resources ``nodes`` and ``pods``, verbs ``get`` and ``list``); a watch, which metrics-server does
not serve either, is a 405. ``usage`` holds ``cpu`` in nanocores and ``memory`` (the working set)
as canonical quantities; ``window`` is a Go duration such as ``"15.012s"``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from apimachinery import resources as res
from apimachinery.errors import ApiError, method_not_allowed, not_found
from apimachinery.models.metrics import API_VERSION, CPU, GROUP, MEMORY
from apimachinery.quantity import format_bytes, format_cpu_nanos
from apimachinery.selectors import parse_field_selector, parse_label_selector
from apiserver.metricsprovider.storage import MetricsStorage, PodSample, Usage
from apiserver.registry import Registry

PREFIX = f"/apis/{GROUP}/v1beta1"
#: how Kubernetes names the two in messages (``podmetrics.metrics.k8s.io "default/web" not found``)
NODE_RESOURCE, POD_RESOURCE = "nodemetrics", "podmetrics"

Obj = dict[str, Any]
#: every method reaches the handlers, which refuse all but reads with a 405 Status
_ANY = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def rfc3339(ts: float) -> str:
    """metav1.Time on the wire: whole seconds, UTC."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds: float) -> str:
    """A window as Go's ``time.Duration.String`` writes it: ``15s``, ``1.5s``, ``1m0.25s``."""
    millis = round(seconds * 1000)
    minutes, millis = divmod(millis, 60_000)
    hours, minutes = divmod(minutes, 60)
    text = f"{millis // 1000}.{millis % 1000:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


def usage(sample: Usage) -> dict[str, str]:
    return {CPU: format_cpu_nanos(sample.nano_cores), MEMORY: format_bytes(sample.memory_bytes)}


def _meta(obj: Obj, now: str) -> Obj:
    source = obj.get("metadata") or {}
    meta: Obj = {"name": source.get("name", ""), "creationTimestamp": now}
    if source.get("namespace"):
        meta["namespace"] = source["namespace"]
    if source.get("labels"):
        meta["labels"] = source["labels"]
    return meta


def node_metrics(node: Obj, sample: Usage, now: str) -> Obj:
    return {"kind": "NodeMetrics", "apiVersion": API_VERSION, "metadata": _meta(node, now),
            "timestamp": rfc3339(sample.timestamp), "window": go_duration(sample.window), "usage": usage(sample)}


def pod_metrics(pod: Obj, sample: PodSample, now: str) -> Obj:
    """The pod's timestamp and window are its earliest container's (the containers are scraped at once)."""
    first = min(sample.usage.values(), key=lambda u: u.timestamp)
    containers = [{"name": name, "usage": usage(u)} for name, u in sorted(sample.usage.items())]
    return {"kind": "PodMetrics", "apiVersion": API_VERSION, "metadata": _meta(pod, now),
            "timestamp": rfc3339(first.timestamp), "window": go_duration(first.window), "containers": containers}


def _storage(request: Request) -> MetricsStorage:
    storage: MetricsStorage | None = getattr(request.app.state, "metrics_storage", None)
    if storage is None:
        raise ApiError(503, "ServiceUnavailable", "the metrics API is disabled on this API server")
    return storage


async def _check_read(request: Request) -> None:
    """Only reads, never a watch; and they see only durable state, as every other read does."""
    if request.method not in ("GET", "HEAD"):
        raise method_not_allowed()
    if request.query_params.get("watch", "").lower() in ("true", "1"):
        raise method_not_allowed()
    await request.app.state.store.wait_fresh()


def _selected(request: Request, rt: res.ResourceType, namespace: str | None) -> list[Obj]:
    query = request.query_params
    labels = parse_label_selector(query["labelSelector"]) if query.get("labelSelector") else None
    fields = parse_field_selector(query["fieldSelector"]) if query.get("fieldSelector") else None
    registry: Registry = request.app.state.registry
    return registry.list(rt, namespace, labels=labels, fields=fields).items


def _listing(kind: str, items: list[Obj]) -> Response:
    return JSONResponse({"kind": kind, "apiVersion": API_VERSION, "metadata": {}, "items": items})


def _now(request: Request) -> str:
    clock: Callable[[], float] = request.app.state.metrics_clock
    return rfc3339(clock())


async def list_nodes(request: Request) -> Response:
    await _check_read(request)
    storage, now = _storage(request), _now(request)
    items = []
    for node in _selected(request, res.NODES, None):
        sample = storage.node(node["metadata"]["name"])
        if sample is not None:
            items.append(node_metrics(node, sample, now))
    return _listing("NodeMetricsList", items)


async def get_node(request: Request) -> Response:
    await _check_read(request)
    name = request.path_params["name"]
    storage = _storage(request)
    registry: Registry = request.app.state.registry
    try:
        node = registry.get(res.NODES, None, name)
    except ApiError as err:
        raise not_found(NODE_RESOURCE, name, group=GROUP) from err
    sample = storage.node(name)
    if sample is None:
        raise not_found(NODE_RESOURCE, name, group=GROUP)
    return JSONResponse(node_metrics(node, sample, _now(request)))


async def list_pods(request: Request) -> Response:
    await _check_read(request)
    storage, now = _storage(request), _now(request)
    namespace = request.path_params.get("namespace")
    items = []
    for pod in _selected(request, res.PODS, namespace):
        meta = pod["metadata"]
        sample = storage.pod(meta.get("namespace", ""), meta["name"])
        if sample is not None:
            items.append(pod_metrics(pod, sample, now))
    return _listing("PodMetricsList", items)


async def get_pod(request: Request) -> Response:
    await _check_read(request)
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    storage = _storage(request)
    registry: Registry = request.app.state.registry
    try:
        pod = registry.get(res.PODS, namespace, name)
    except ApiError as err:
        raise not_found(POD_RESOURCE, f"{namespace}/{name}", group=GROUP) from err
    sample = storage.pod(namespace, name)
    if sample is None:
        raise not_found(POD_RESOURCE, f"{namespace}/{name}", group=GROUP)
    return JSONResponse(pod_metrics(pod, sample, _now(request)))


async def unserved(request: Request) -> Response:
    """Anything else under the group: a watch path is a 405, the rest a 404."""
    if request.path_params.get("path", "").startswith("watch/"):
        raise method_not_allowed()
    raise ApiError(404, "NotFound", "the server could not find the requested resource")


routes = [
    Route(f"{PREFIX}/nodes", list_nodes, methods=_ANY, include_in_schema=False),
    Route(f"{PREFIX}/nodes/{{name}}", get_node, methods=_ANY, include_in_schema=False),
    Route(f"{PREFIX}/pods", list_pods, methods=_ANY, include_in_schema=False),
    Route(f"{PREFIX}/namespaces/{{namespace}}/pods", list_pods, methods=_ANY, include_in_schema=False),
    Route(f"{PREFIX}/namespaces/{{namespace}}/pods/{{name}}", get_pod, methods=_ANY, include_in_schema=False),
    Route(f"{PREFIX}/{{path:path}}", unserved, methods=_ANY, include_in_schema=False),
]
