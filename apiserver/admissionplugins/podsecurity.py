"""PodSecurity: Kubernetes' Pod Security Admission over the namespace's levels.

What it judges, as kube-apiserver does:

* **Pods** (create, and updates that change an image or the set of containers; the ``status``,
  ``binding``, ``log``, ``exec`` and ``eviction`` subresources are not pod specs): the
  namespace's ``enforce`` level refuses with 403 ``pods "x" is forbidden: violates PodSecurity
  "baseline:latest": ...``; ``audit`` adds ``pod-security.kubernetes.io/audit-violations`` to
  the request's audit annotations (:mod:`apiserver.audit.annotations`);
  ``warn`` returns ``would violate PodSecurity "restricted:latest": ...`` as a Warning.
* **Workloads** (Deployments, ReplicaSets): their pod template is audited and warned about, never
  refused; the pods they create are refused, which their controllers report as events.
* **Namespaces**: invalid ``pod-security.kubernetes.io/*`` labels are refused with 422 naming
  the label (on update only when they changed); a stricter ``enforce`` label is accepted with
  warnings naming the existing pods that would violate it.

Namespaces without an ``enforce`` label get the configured default (baseline unless the server
says otherwise); ``kube-system`` is exempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from apimachinery import resources as res
from apimachinery.errors import ApiError, invalid
from apiserver.admissionplugins.base import CREATE, UPDATE, Attributes, Plugin
from apiserver.admissionplugins.kubeletsupport import KubeletSupport
from apiserver.audit.annotations import annotate
from apiserver.podsecurity.evaluate import Verdict, evaluate
from apiserver.podsecurity.policy import (
    PRIVILEGED,
    LevelVersion,
    PodSecurityConfig,
    Policy,
    policy_for,
    stricter,
)

if TYPE_CHECKING:
    from apiserver.registry import Registry

Obj = dict[str, Any]
NamespaceGetter = Callable[[str], Obj | None]
PodLister = Callable[[str], list[Obj]]

ANNOTATION_PREFIX = "pod-security.kubernetes.io/"
IGNORED_POD_SUBRESOURCES = frozenset({"exec", "attach", "binding", "eviction", "log", "portforward", "proxy", "status"})
WORKLOADS = (res.DEPLOYMENTS, res.REPLICASETS, res.JOBS)
MAX_PODS_TO_CHECK = 3000


class PodSecurity:
    """The validating admission plugin; ``namespaces`` and ``pods`` read the store."""

    def __init__(self, *, config: PodSecurityConfig, namespaces: NamespaceGetter, pods: PodLister) -> None:
        self.config = config
        self.namespaces = namespaces
        self.pods = pods

    def admit(self, attrs: Attributes) -> list[str]:
        return []

    def validate(self, attrs: Attributes) -> list[str]:
        if not self.config.enabled or attrs.operation not in (CREATE, UPDATE) or attrs.obj is None:
            return []
        if attrs.rt is res.NAMESPACES:
            return self._validate_namespace(attrs)
        if attrs.rt is res.PODS:
            if attrs.subresource in IGNORED_POD_SUBRESOURCES:
                return []
            if attrs.operation == UPDATE and not significant_update(attrs.obj, attrs.old or {}):
                return []
            return self._judge(attrs, attrs.obj, enforce=True)
        if attrs.rt in WORKLOADS and not attrs.subresource:
            template = _as_dict(_as_dict(attrs.obj.get("spec")).get("template"))
            return self._judge(attrs, template, enforce=False)
        return []

    # -- pods and templates -----------------------------------------------------------------

    def _judge(self, attrs: Attributes, pod: Obj, *, enforce: bool) -> list[str]:
        if self._exempt(attrs):
            return []
        resolved = policy_for(_labels(self.namespaces(attrs.namespace)), self.config.defaults)
        if resolved.errors:  # labels written before they were validated: enforce fails closed
            annotate(ANNOTATION_PREFIX + "error", "Failed to parse policy: " + ", ".join(
                f"{c['field']}: {c['message']}" for c in resolved.errors))
        policy = resolved.policy
        meta, spec = _as_dict(pod.get("metadata")), _as_dict(pod.get("spec"))
        if spec.get("runtimeClassName") and spec["runtimeClassName"] in self.config.exempt_runtime_classes:
            annotate(ANNOTATION_PREFIX + "exempt", "runtimeClass")
            return []
        verdicts: dict[LevelVersion, Verdict] = {}

        def verdict(level: LevelVersion) -> Verdict:
            if level not in verdicts:
                verdicts[level] = evaluate(level, meta, spec)
            return verdicts[level]

        refusal = None
        if enforce:
            annotate(ANNOTATION_PREFIX + "enforce-policy", str(policy.enforce))
            if not (result := verdict(policy.enforce)).allowed:
                refusal = forbidden(attrs, f'violates PodSecurity "{policy.enforce}": {result.detail}')
        if not (result := verdict(policy.audit)).allowed:
            annotate(ANNOTATION_PREFIX + "audit-violations", f'would violate PodSecurity "{policy.audit}": {result.detail}')
        if refusal is not None:
            raise refusal
        if not (result := verdict(policy.warn)).allowed:
            return [f'would violate PodSecurity "{policy.warn}": {result.detail}']
        return []

    def _exempt(self, attrs: Attributes) -> bool:
        if attrs.namespace in self.config.exempt_namespaces:
            annotate(ANNOTATION_PREFIX + "exempt", "namespace")
            return True
        if attrs.user is not None and attrs.user.name in self.config.exempt_usernames:
            annotate(ANNOTATION_PREFIX + "exempt", "user")
            return True
        return False

    # -- namespaces ---------------------------------------------------------------------------

    def _validate_namespace(self, attrs: Attributes) -> list[str]:
        if attrs.subresource:
            return []
        assert attrs.obj is not None
        new = policy_for(_labels(attrs.obj), self.config.defaults)
        if attrs.operation == CREATE:
            if new.errors:
                raise invalid(res.NAMESPACES.kind, attrs.name, new.errors)
            return []
        old = policy_for(_labels(attrs.old), self.config.defaults)
        if new.errors and new.errors != old.errors:
            raise invalid(res.NAMESPACES.kind, attrs.name, new.errors)
        if not self._needs_pod_check(attrs.name, old.policy, new.policy):
            return []
        return self.existing_pod_warnings(attrs.name, new.policy.enforce)

    def _needs_pod_check(self, namespace: str, old: Policy, new: Policy) -> bool:
        """Only a stricter (or re-versioned) enforce level can make running pods violate it."""
        if new.enforce == old.enforce or new.enforce.level == PRIVILEGED:
            return False
        if new.enforce.version == old.enforce.version and not stricter(new.enforce.level, old.enforce.level):
            return False
        return namespace not in self.config.exempt_namespaces

    def existing_pod_warnings(self, namespace: str, enforce: LevelVersion) -> list[str]:
        """Kubernetes' warnings on labelling: one line per distinct set of violations, naming a pod."""
        pods = sorted(self.pods(namespace), key=lambda p: str(_as_dict(p.get("metadata")).get("name") or ""))
        checked = pods[:MAX_PODS_TO_CHECK]
        groups: dict[str, tuple[str, int]] = {}
        for pod in checked:
            spec = _as_dict(pod.get("spec"))
            if spec.get("runtimeClassName") and spec["runtimeClassName"] in self.config.exempt_runtime_classes:
                continue
            result = evaluate(enforce, _as_dict(pod.get("metadata")), spec)
            if not result.allowed:
                name = str(_as_dict(pod.get("metadata")).get("name") or "")
                first, count = groups.get(result.reasons, (name, 0))
                groups[result.reasons] = (min(first, name), count + 1)
        warnings = []
        if len(checked) < len(pods):
            warnings.append(
                f"new PodSecurity enforce level only checked against the first {len(checked)} of {len(pods)} existing pods"
            )
        if groups:
            warnings.append(f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level "{enforce}"')
        return warnings + sorted(_pod_warning(first, count, reasons) for reasons, (first, count) in groups.items())


def _pod_warning(name: str, count: int, reasons: str) -> str:
    if count == 1:
        return f"{name}: {reasons}"
    others = count - 1
    return f"{name} (and {others} other {'pod' if others == 1 else 'pods'}): {reasons}"


def forbidden(attrs: Attributes, message: str) -> ApiError:
    resource = attrs.rt.plural if not attrs.rt.group else f"{attrs.rt.plural}.{attrs.rt.group}"
    return ApiError(403, "Forbidden", f'{resource} "{attrs.name}" is forbidden: {message}', name=attrs.name,
                    kind=attrs.rt.plural, group=attrs.rt.group)


def significant_update(new: Obj, old: Obj) -> bool:
    """Kubernetes re-evaluates a pod update only when what it may change could violate a policy:
    an image, or the set of (ephemeral) containers."""
    new_spec, old_spec = _as_dict(new.get("spec")), _as_dict(old.get("spec"))
    for key in ("containers", "initContainers", "ephemeralContainers"):
        ours, theirs = new_spec.get(key) or [], old_spec.get(key) or []
        if len(ours) != len(theirs):
            return True
        if any(_as_dict(a).get("image") != _as_dict(b).get("image") for a, b in zip(ours, theirs, strict=True)):
            return True
    return False


def _labels(obj: Obj | None) -> dict[str, str]:
    return dict(_as_dict(_as_dict((obj or {}).get("metadata")).get("labels")))


def _as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def pod_security_plugins(registry: Registry, config: PodSecurityConfig) -> list[Plugin]:
    """PodSecurity over the registry's namespaces and pods, then the kubelet-support check."""

    def namespace(name: str) -> Obj | None:
        try:
            return registry.get(res.NAMESPACES, None, name)
        except ApiError:
            return None

    def pods(namespace: str) -> list[Obj]:
        return registry.list(res.PODS, namespace).items

    return [PodSecurity(config=config, namespaces=namespace, pods=pods), KubeletSupport()]
