"""The ``pods/eviction`` subresource: a deletion that honours the pod's PodDisruptionBudget.

Kubernetes' ``EvictionREST.Create`` (``pkg/registry/core/pod/storage/eviction.go``), in order:

* a pod that is finished, still Pending or already terminating costs no disruption: deleted;
* the budgets of the pod's namespace whose selector matches it: none, the pod is deleted; more
  than one, ``500`` (the subresource does not support it);
* an unready pod is deleted without touching the budget when ``unhealthyPodEvictionPolicy`` is
  ``AlwaysAllow``, or (``IfHealthyBudget``, the default) while the budget is met;
* otherwise the budget must allow a disruption: its status is decremented and the pod recorded in
  ``status.disruptedPods`` (so the disruption controller does not count it healthy before it is
  gone) in one compare-and-swap write, then the pod is deleted. A budget the controller has not
  yet observed at its current generation, or one with no disruption left, answers ``429
  TooManyRequests`` with a ``DisruptionBudget`` cause; ``kubectl drain`` waits and retries.

Before the deletion a pod that has not finished gets the ``DisruptionTarget`` condition (reason
``EvictionByEvictionAPI``), as Kubernetes adds it, so a Job's ``podFailurePolicy`` can tell an
eviction from a crash.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from apimachinery.errors import ApiError
from apimachinery.models.policy import ALWAYS_ALLOW, DISRUPTION_ALLOWED, INSUFFICIENT_PODS
from apimachinery.resources import PODDISRUPTIONBUDGETS, PODS
from apimachinery.selectors import selector_from_model
from apimachinery.timeutil import format_rfc3339

Obj = dict[str, Any]

DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"
VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget."
MORE_THAN_ONE = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
MAX_DISRUPTED_PODS = 2000
DISRUPTION_TARGET = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                     "message": "Eviction API: evicting"}
#: Compare-and-swap retries on the budget before giving up with a 429 (``EvictionsRetry``).
RETRIES = 5


def too_many_requests(detail: str) -> ApiError:
    return ApiError(429, "TooManyRequests", VIOLATES_BUDGET, causes=[{"reason": DISRUPTION_BUDGET_CAUSE,
                                                                      "message": detail}])


def _ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _ignores_budget(pod: Obj) -> bool:
    """``canIgnorePDB``: the pod is not running anything a budget protects."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def _matching_budgets(registry: Any, namespace: str, pod: Obj) -> list[Obj]:
    labels = pod["metadata"].get("labels") or {}
    out = []
    for pdb in registry.list(PODDISRUPTIONBUDGETS, namespace).items:
        selector = (pdb.get("spec") or {}).get("selector")
        if selector is None:
            continue  # a nil selector selects nothing
        try:
            if selector_from_model(selector).matches(labels):
                out.append(pdb)
        except ApiError:
            continue
    return out


def _unhealthy_may_go(pdb: Obj) -> bool:
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    if spec.get("unhealthyPodEvictionPolicy") == ALWAYS_ALLOW:
        return True
    desired = int(status.get("desiredHealthy") or 0)
    return desired > 0 and int(status.get("currentHealthy") or 0) >= desired


def _decremented(pdb: Obj, pod_name: str, now: datetime) -> Obj:
    """``checkAndDecrement``: the budget with one disruption taken, or the error that refuses it."""
    meta, status = pdb["metadata"], pdb.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        raise too_many_requests(f"The disruption budget {meta['name']} is still being processed by the server.")
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise ApiError(403, "Forbidden", "pdb disruptions allowed is negative")
    disrupted = dict(status.get("disruptedPods") or {})
    if len(disrupted) > MAX_DISRUPTED_PODS:
        raise ApiError(403, "Forbidden", "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise too_many_requests(
            f"The disruption budget {meta['name']} needs {int(status.get('desiredHealthy') or 0)} healthy pods "
            f"and has {int(status.get('currentHealthy') or 0)} currently")
    out = copy.deepcopy(pdb)
    new_status = out.setdefault("status", {})
    new_status["disruptionsAllowed"] = allowed - 1
    disrupted[pod_name] = format_rfc3339(now)
    new_status["disruptedPods"] = disrupted
    if allowed - 1 == 0:
        conditions = [c for c in new_status.get("conditions") or [] if c.get("type") != DISRUPTION_ALLOWED]
        conditions.append({"type": DISRUPTION_ALLOWED, "status": "False", "reason": INSUFFICIENT_PODS,
                           "message": "", "observedGeneration": meta.get("generation"),
                           "lastTransitionTime": format_rfc3339(now)})
        new_status["conditions"] = conditions
    return out


def evict(registry: Any, namespace: str, name: str, options: Obj, *, now: datetime | None = None) -> None:
    """Delete the pod if its disruption budget allows it (see the module docstring)."""
    pod = registry.get(PODS, namespace, name)
    if not _ignores_budget(pod):
        budgets = _matching_budgets(registry, namespace, pod)
        if len(budgets) > 1:
            raise ApiError(500, "InternalError", MORE_THAN_ONE)
        if budgets and not (not _ready(pod) and _unhealthy_may_go(budgets[0])):
            _take_disruption(registry, namespace, budgets[0], name, now or datetime.now(UTC))
    if not options.get("dryRun"):
        _mark_disruption_target(registry, namespace, pod, now or datetime.now(UTC))
    registry.delete(PODS, namespace, name, options)


def _mark_disruption_target(registry: Any, namespace: str, pod: Obj, now: datetime) -> None:
    """Kubernetes' ``addConditionAndDeletePod``: the condition first, through the status subresource."""
    for _ in range(RETRIES):
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed") or pod["metadata"].get("deletionTimestamp"):
            return
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != DISRUPTION_TARGET["type"]]
        marked = copy.deepcopy(pod)
        marked.setdefault("status", {})["conditions"] = [
            *conditions, {**DISRUPTION_TARGET, "lastTransitionTime": format_rfc3339(now)}]
        try:
            registry.update(PODS, namespace, pod["metadata"]["name"], marked, subresource="status")
            return
        except ApiError as err:
            if err.code != 409:
                raise
            pod = registry.get(PODS, namespace, pod["metadata"]["name"])


def _take_disruption(registry: Any, namespace: str, pdb: Obj, pod_name: str, now: datetime) -> None:
    for _ in range(RETRIES):
        try:
            registry.update(PODDISRUPTIONBUDGETS, namespace, pdb["metadata"]["name"], _decremented(pdb, pod_name, now),
                            subresource="status")
            return
        except ApiError as err:
            if err.code != 409:
                raise
            pdb = registry.get(PODDISRUPTIONBUDGETS, namespace, pdb["metadata"]["name"])
    raise too_many_requests(f"The disruption budget {pdb['metadata']['name']} is being updated too often.")
