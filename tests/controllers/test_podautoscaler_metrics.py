"""Reading PodMetrics as Kubernetes' resource metrics client does: summed containers, units, refusals."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import ApiError
from controllers.podautoscaler_metrics import ApiMetricsSource, MetricsUnavailable, pod_usage_from


def pod_metrics(name: str, *containers: dict[str, str]) -> dict[str, Any]:
    return {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {"name": name},
            "timestamp": "2026-12-04T18:00:00Z", "window": "15s",
            "containers": [{"name": f"c{i}", "usage": usage} for i, usage in enumerate(containers)]}


class Answers:
    """The API client's ``request``, answering one canned body (or error) and noting the call."""

    def __init__(self, body: Any = None, error: ApiError | None = None) -> None:
        self.body, self.error, self.calls = body, error, []  # type: ignore[var-annotated]

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> Any:
        self.calls.append((method, path, params))
        if self.error is not None:
            raise self.error
        return self.body


@pytest.mark.parametrize(
    ("resource", "items", "expected"),
    [
        ("cpu", [pod_metrics("a", {"cpu": "250m", "memory": "10Mi"})], {"a": 250}),
        ("cpu", [pod_metrics("a", {"cpu": "123456789n"}, {"cpu": "1"})], {"a": 1124}),  # nanocores round up
        ("memory", [pod_metrics("a", {"cpu": "1m", "memory": "4567Ki"})], {"a": 4567 * 1024}),
        ("cpu", [pod_metrics("a", {"cpu": "5m"}, {"memory": "1Mi"})], {}),  # a container without cpu: left out
        ("cpu", [pod_metrics("a"), {"metadata": {}}, "junk", pod_metrics("b", {"cpu": "bogus"})], {}),
    ],
    ids=["millicores", "nanocores-summed", "memory-bytes", "partial-pod-left-out", "malformed-left-out"],
)
def test_pod_usage_from(resource: str, items: list[Any], expected: dict[str, int]) -> None:
    assert pod_usage_from(items, resource) == expected


async def test_the_source_lists_pod_metrics_by_selector() -> None:
    api = Answers({"kind": "PodMetricsList", "items": [pod_metrics("web-a", {"cpu": "40m"})]})
    assert await ApiMetricsSource(api).pod_usage("shop", "app=web", "cpu") == {"web-a": 40}
    assert api.calls == [("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods", {"labelSelector": "app=web"})]


@pytest.mark.parametrize(
    ("api", "message"),
    [
        (Answers(error=ApiError(404, "NotFound", "the server could not find the requested resource")),
         "unable to fetch metrics from resource metrics API: the server could not find the requested resource"),
        (Answers(error=ApiError(503, "ServiceUnavailable", "metrics not available yet")),
         "unable to fetch metrics from resource metrics API: metrics not available yet"),
        (Answers({"kind": "PodMetricsList", "items": []}), "no metrics returned from resource metrics API"),
        (Answers("not json"), "unable to fetch metrics from resource metrics API: the answer is not a list"),
    ],
    ids=["not-served", "unavailable", "empty", "nonsense"],
)
async def test_what_makes_metrics_unavailable(api: Answers, message: str) -> None:
    with pytest.raises(MetricsUnavailable) as err:
        await ApiMetricsSource(api).pod_usage("default", "app=web", "cpu")
    assert str(err.value) == message
