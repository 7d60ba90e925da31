"""Per-kind rules: one strategy module per kind, as Kubernetes has one ``strategy.go`` per resource.

The generic registry (:mod:`apiserver.registry`) knows REST semantics; everything that differs
between kinds lives here: defaults, ``PrepareForCreate``, ``Validate``, ``ValidateUpdate``,
graceful deletion, and the Pod binding and Scale subresources. A new kind adds one module and one
line in :data:`_STRATEGIES`; a kind without a module gets :class:`~apiserver.strategies.base.Strategy`
(metadata checks only). The shared field validators and defaulters the modules compose are in
:mod:`apiserver.validation` and :mod:`apiserver.defaults`.
"""

from __future__ import annotations

import copy

from apiserver import defaults, validation
from apiserver.strategies import (
    autoscaling,
    config,
    cronjob,
    daemonset,
    disruptionbudget,
    endpoints,
    ephemeral,
    event,
    job,
    lease,
    namespace,
    node,
    pod,
    rbac,
    replicationcontroller,
    service,
    serviceaccount,
    statefulset,
    storage,
    workloads,
)
from apiserver.strategies.base import Cause, Obj, Strategy

_STRATEGIES: dict[str, Strategy] = {
    strategy.kind: strategy
    for strategy in (
        pod.STRATEGY,
        workloads.DEPLOYMENT,
        workloads.REPLICA_SET,
        statefulset.STATEFUL_SET,
        replicationcontroller.STRATEGY,
        job.STRATEGY,
        daemonset.DAEMON_SET,
        daemonset.CONTROLLER_REVISION,
        disruptionbudget.DISRUPTION_BUDGET,
        cronjob.STRATEGY,
        service.STRATEGY,
        endpoints.ENDPOINTS,
        endpoints.ENDPOINT_SLICE,
        node.STRATEGY,
        namespace.STRATEGY,
        config.CONFIG_MAP,
        config.SECRET,
        event.STRATEGY,
        lease.STRATEGY,
        serviceaccount.STRATEGY,
        rbac.ROLE,
        rbac.CLUSTER_ROLE,
        rbac.ROLE_BINDING,
        rbac.CLUSTER_ROLE_BINDING,
        storage.PERSISTENT_VOLUME,
        storage.PERSISTENT_VOLUME_CLAIM,
        storage.STORAGE_CLASS,
        autoscaling.STRATEGY,
    )
}


#: Subresources with rules of their own (Kubernetes gives each its own strategy object).
_SUBRESOURCE_STRATEGIES: dict[tuple[str, str], Strategy] = {
    ("Pod", "ephemeralcontainers"): ephemeral.STRATEGY,
}


def for_kind(kind: str) -> Strategy:
    return _STRATEGIES.get(kind) or Strategy(kind)


def for_request(kind: str, subresource: str | None) -> Strategy:
    """The strategy of a write to ``kind`` or to one of its subresources."""
    return _SUBRESOURCE_STRATEGIES.get((kind, subresource or "")) or for_kind(kind)


def apply_defaults(kind: str, obj: Obj, *, toleration_seconds: int = defaults.DEFAULT_TOLERATION_SECONDS) -> Obj:
    """A defaulted deep copy of ``obj``; kinds Kubernetes does not default come back unchanged.

    ``toleration_seconds`` is the DefaultTolerationSeconds admission setting
    (``--default-not-ready-toleration-seconds`` / ``--default-unreachable-toleration-seconds``).
    """
    out = copy.deepcopy(obj)
    for_kind(kind).default(out, toleration_seconds=toleration_seconds)
    return out


def validate_object(kind: str, obj: Obj, *, subresource: str | None = None) -> list[Cause]:
    """Every problem with ``obj`` as a valid object of ``kind``; an empty list means valid."""
    causes = validation.validate_metadata(kind, validation.as_dict(obj.get("metadata")))
    return causes + for_request(kind, subresource).validate(obj)


def validate_create(kind: str, obj: Obj) -> list[Cause]:
    """:func:`validate_object` plus what only a new object may not hold."""
    return validate_object(kind, obj) + for_kind(kind).validate_create(obj)


def validate_update(kind: str, new: Obj, old: Obj, *, subresource: str | None = None) -> list[Cause]:
    """:func:`validate_object` on ``new`` plus what may not change from ``old``."""
    causes = validate_object(kind, new, subresource=subresource)
    causes += validation.validate_metadata_update(
        validation.as_dict(new.get("metadata")), validation.as_dict(old.get("metadata"))
    )
    return causes + for_request(kind, subresource).validate_update(new, old)
