"""Reconcile the default policy at start, as kube-apiserver's ``rbac/bootstrap-roles`` hook does.

A missing default is created. An existing one annotated
``rbac.authorization.kubernetes.io/autoupdate: "true"`` gets back what it lacks (rules,
subjects, the aggregation selectors, labels and annotations) and keeps what was added to it;
one an administrator annotated ``"false"`` is left alone. Also the aggregated ClusterRoles'
stored ``rules``: rewritten to the union of the roles their selectors match, as the
clusterrole-aggregation controller keeps them (:func:`write_aggregations`).
"""

from __future__ import annotations

import logging
from typing import Any

from apimachinery import resources as res
from apimachinery.errors import ApiError
from apimachinery.resources import ResourceType
from apiserver.authz import policy
from apiserver.authz.index import Roles
from apiserver.registry import Registry

log = logging.getLogger(__name__)
Obj = dict[str, Any]


def reconcile_defaults(registry: Registry) -> None:
    for role in policy.cluster_roles():
        _reconcile(registry, res.CLUSTERROLES, role, _merge_role)
    for binding in policy.cluster_role_bindings():
        _reconcile(registry, res.CLUSTERROLEBINDINGS, binding, _merge_binding)


def _reconcile(registry: Registry, rt: ResourceType, wanted: Obj, merge: Any) -> None:
    name = wanted["metadata"]["name"]
    try:
        current = registry.get(rt, None, name)
    except ApiError as err:
        if err.code != 404:
            raise
        try:
            registry.create(rt, None, wanted)
        except ApiError as create_err:
            if create_err.reason != "AlreadyExists":  # another apiserver on the same store won
                raise
        return
    if (current["metadata"].get("annotations") or {}).get(policy.AUTOUPDATE) == "false":
        return
    merged = merge(current, wanted)
    if merged != current:
        try:
            registry.update(rt, None, name, merged)
        except ApiError as err:
            if err.reason != "Conflict":
                raise


def _merge_meta(current: Obj, wanted: Obj) -> Obj:
    out = dict(current)
    meta = dict(current["metadata"])
    for key in ("labels", "annotations"):
        meta[key] = {**(meta.get(key) or {}), **wanted["metadata"][key]}
    out["metadata"] = meta
    return out


def _merge_role(current: Obj, wanted: Obj) -> Obj:
    out = _merge_meta(current, wanted)
    rules = list(current.get("rules") or [])
    out["rules"] = rules + [r for r in wanted.get("rules") or [] if r not in rules]
    if "aggregationRule" in wanted:
        have = list((current.get("aggregationRule") or {}).get("clusterRoleSelectors") or [])
        want = wanted["aggregationRule"]["clusterRoleSelectors"]
        out["aggregationRule"] = {"clusterRoleSelectors": have + [s for s in want if s not in have]}
    return out


def _merge_binding(current: Obj, wanted: Obj) -> Obj:
    out = _merge_meta(current, wanted)
    subjects = list(current.get("subjects") or [])
    out["subjects"] = subjects + [s for s in wanted.get("subjects") or [] if s not in subjects]
    if not out["subjects"]:
        out.pop("subjects", None)
    return out


def write_aggregations(registry: Registry, roles: Roles) -> None:
    """Store each aggregated ClusterRole's rules as the union its selectors match."""
    for name in roles.aggregated_names():
        rules = roles.aggregated_wire(name, set())
        current = roles.by_name.get(("", name))
        if current is None or (current.get("rules") or []) == rules:
            continue
        try:
            registry.update(res.CLUSTERROLES, None, name, {**current, "rules": rules})
        except ApiError as err:  # changed meanwhile: the next event brings it back here
            log.debug("aggregating clusterrole %s: %s", name, err.message)
