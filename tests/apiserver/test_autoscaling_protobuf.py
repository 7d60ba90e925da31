"""``kubectl autoscale`` sends its HorizontalPodAutoscaler as protobuf; the server decodes it to JSON."""

from __future__ import annotations

from apiserver.protobuf import decode_protobuf
from tests.apiserver.test_protobuf import envelope, ld, meta, num

# kubectl v1.37.1 ``autoscale deployment web --cpu-percent=50 --min=1 --max=3``, as logged with -v=8.
KUBECTL_AUTOSCALE = (
    "6b3873000a290a0e6175746f7363616c696e672f76321217486f72697a6f6e74616c506f644175746f7363616c65721261"
    "0a130a0377656212001a0022002a0032003800420012440a1a0a0a4465706c6f796d656e7412037765621a07617070732f"
    "76311001180322220a085265736f7572636522160a03637075120f0a0b5574696c697a6174696f6e20321a041800200"
    "01a002200"
)


def test_kubectl_autoscale_body_decodes_to_the_json_it_stands_for() -> None:
    assert decode_protobuf(bytes.fromhex(KUBECTL_AUTOSCALE)) == {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                 "minReplicas": 1, "maxReplicas": 3,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 50}}}]}}


def test_behavior_and_average_value_targets_decode() -> None:
    rules = ld(1, num(3, 0), ld(1, "Min"), ld(2, ld(1, "Pods"), num(2, 2), num(3, 30)))
    down = ld(2, num(3, 5), ld(2, ld(1, "Percent"), num(2, 50), num(3, 15)))
    metric = ld(4, ld(1, "Resource"), ld(4, ld(1, "memory"), ld(2, ld(1, "AverageValue"), ld(3, ld(1, "64Mi")))))
    spec = ld(2, ld(1, ld(1, "Deployment"), ld(2, "web")), num(3, 4), metric, ld(5, rules, down))
    decoded = decode_protobuf(envelope("autoscaling/v2", "HorizontalPodAutoscaler", meta("web") + spec))
    assert decoded["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "memory", "target": {
        "type": "AverageValue", "averageValue": "64Mi"}}}]
    assert decoded["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Min",
                    "policies": [{"type": "Pods", "value": 2, "periodSeconds": 30}]},
        "scaleDown": {"stabilizationWindowSeconds": 5,
                      "policies": [{"type": "Percent", "value": 50, "periodSeconds": 15}]}}
