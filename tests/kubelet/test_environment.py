"""Container environments as Kubernetes builds them: sources, order, precedence and errors."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet import environment, naming
from kubelet.environment import EnvError, EnvObjects
from kubelet.worker import PodWorker
from tests.kubelet.harness import IMAGE, make_context, make_pod
from tests.kubelet.test_tokens import FakeConfigMaps

OBJECTS = EnvObjects(config_maps={"cm": {"A": "cm-a", "B": "cm-b", "1bad": "x", "ok.dot": "y"}},
                     secrets={"sec": {"PASS": "s3cret"}, "gone": None})
FIELDS = {"metadata.name": "web", "metadata.labels['app']": "shop"}
ALLOCATABLE = {"cpu": "4", "memory": "8Gi"}


def env_of(container: dict[str, Any], objects: EnvObjects = OBJECTS, **kwargs: Any) -> dict[str, str]:
    pod = make_pod(containers=[{"name": "app", "image": IMAGE, **container}])
    return environment.container_env(pod, pod.spec.containers[0], objects=objects, field_values=FIELDS,
                                     allocatable=ALLOCATABLE, **kwargs)


def key_ref(kind: str, name: str, key: str, **extra: Any) -> dict[str, Any]:
    return {"name": "X", "valueFrom": {kind: {"name": name, "key": key, **extra}}}


def resource(resource: str, divisor: str = "") -> dict[str, Any]:
    ref: dict[str, Any] = {"resource": resource, **({"divisor": divisor} if divisor else {})}
    return {"name": "X", "valueFrom": {"resourceFieldRef": ref}}


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        pytest.param({"env": [key_ref("configMapKeyRef", "cm", "A")]}, {"X": "cm-a"}, id="configmap-key"),
        pytest.param({"env": [key_ref("secretKeyRef", "sec", "PASS")]}, {"X": "s3cret"}, id="secret-key"),
        pytest.param({"env": [key_ref("secretKeyRef", "gone", "PASS", optional=True)]}, {},
                     id="optional-missing-secret-sets-nothing"),
        pytest.param({"env": [key_ref("configMapKeyRef", "cm", "nope", optional=True)]}, {},
                     id="optional-missing-key-sets-nothing"),
        pytest.param({"envFrom": [{"configMapRef": {"name": "cm"}}]}, {"A": "cm-a", "B": "cm-b", "ok.dot": "y"},
                     id="envfrom-skips-invalid-names"),
        pytest.param({"envFrom": [{"secretRef": {"name": "sec"}, "prefix": "DB_"}]}, {"DB_PASS": "s3cret"},
                     id="envfrom-prefix"),
        pytest.param({"envFrom": [{"secretRef": {"name": "gone", "optional": True}}]}, {}, id="envfrom-optional"),
        pytest.param({"envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "P"}]},
                     {"PA": "cm-a", "PB": "cm-b", "P1bad": "x", "Pok.dot": "y"}, id="prefix-makes-names-valid"),
        pytest.param({"envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "C_"}],
                      "env": [{"name": "C_A", "value": "env"}, {"name": "Y", "value": "$(C_B)-$(C_A)-$(Z)"}]},
                     {"C_A": "env", "C_B": "cm-b", "C_1bad": "x", "C_ok.dot": "y", "Y": "cm-b-env-$(Z)"},
                     id="env-wins-and-expands-earlier-entries"),
        pytest.param({"env": [{"name": "L", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                              {"name": "M", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['no']"}}}]},
                     {"L": "shop", "M": ""}, id="label-field-refs"),
        pytest.param({"env": [resource("limits.cpu")]}, {"X": "4"}, id="cpu-limit-defaults-to-allocatable"),
        pytest.param({"env": [resource("limits.memory", "1Mi")], "resources": {"limits": {"memory": "64Mi"}}},
                     {"X": "64"}, id="memory-limit-with-divisor"),
        pytest.param({"env": [resource("limits.cpu", "1m")], "resources": {"limits": {"cpu": "250m"}}},
                     {"X": "250"}, id="cpu-millis"),
        pytest.param({"env": [resource("limits.cpu")], "resources": {"limits": {"cpu": "250m"}}},
                     {"X": "1"}, id="cpu-rounds-up"),
        pytest.param({"env": [resource("requests.memory")], "resources": {"requests": {"memory": "1Ki"}}},
                     {"X": "1024"}, id="memory-request"),
    ],
)
def test_environment_sources(container: dict[str, Any], expected: dict[str, str]) -> None:
    assert env_of(container) == expected


def test_service_variables_yield_to_the_container_and_expand() -> None:
    env = env_of({"env": [{"name": "S", "value": "$(SVC_HOST)"}, {"name": "SVC_PORT", "value": "1"}]},
                 service_env={"SVC_HOST": "h", "SVC_PORT": "443"})
    assert env == {"SVC_HOST": "h", "SVC_PORT": "1", "S": "h"}


@pytest.mark.parametrize(
    ("container", "message"),
    [
        pytest.param({"env": [key_ref("configMapKeyRef", "absent", "A")]}, 'configmap "absent" not found',
                     id="missing-configmap"),
        pytest.param({"env": [key_ref("configMapKeyRef", "cm", "nope")]}, "couldn't find key nope in ConfigMap default/cm",
                     id="missing-configmap-key"),
        pytest.param({"env": [key_ref("secretKeyRef", "gone", "PASS")]}, 'secret "gone" not found', id="missing-secret"),
        pytest.param({"env": [key_ref("secretKeyRef", "sec", "nope")]}, "couldn't find key nope in Secret default/sec",
                     id="missing-secret-key"),
        pytest.param({"envFrom": [{"configMapRef": {"name": "absent"}}]}, 'configmap "absent" not found',
                     id="missing-envfrom-configmap"),
        pytest.param({"env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.nope"}}}]},
                     "unsupported fieldRef", id="unknown-field-ref"),
        pytest.param({"env": [resource("limits.gpu")]}, "unsupported container resource", id="unknown-resource"),
    ],
)
def test_what_cannot_be_built_is_an_env_error(container: dict[str, Any], message: str) -> None:
    with pytest.raises(EnvError, match=message):
        env_of(container, objects=EnvObjects(config_maps={"cm": {"A": "1"}}, secrets={"sec": {"PASS": "p"}}))


def test_invalid_envfrom_keys_are_reported_as_kubernetes_words_it() -> None:
    pod = make_pod(containers=[{"name": "app", "image": IMAGE, "envFrom": [{"configMapRef": {"name": "cm"}}]}])
    assert environment.skipped_keys(pod, pod.spec.containers[0], objects=OBJECTS) == [
        "Keys [1bad] from the EnvFrom configMap default/cm were skipped since they are considered invalid "
        "environment variable names."]


def env_pod() -> Any:
    return make_pod(containers=[{
        "name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
        "env": [key_ref("secretKeyRef", "db", "PASS")], "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
    }])


async def test_a_missing_object_waits_with_create_container_config_error_then_starts() -> None:
    ctx, runtime, api, clock = make_context()
    objects = FakeConfigMaps()
    ctx.config_objects = objects
    objects.secrets[("default", "db")] = {"PASS": "p"}
    pod = api.put(env_pod())
    worker = PodWorker(ctx, key="default/web", uid=pod.metadata.uid)
    await worker.sync()
    waiting = api.pod().status.container_statuses[0].state.waiting
    assert (waiting.reason, waiting.message) == ("CreateContainerConfigError", 'configmap "cfg" not found')
    objects.data[("default", "cfg")] = {"MODE": "fast"}
    clock.advance(3)
    await worker.sync()
    assert api.pod().status.container_statuses[0].state.running is not None
    [info] = runtime.list_containers({naming.CONTAINER: "app"})
    assert {"X": "p", "CFG_MODE": "fast"}.items() <= runtime.spec_of(info.id).env.items()
