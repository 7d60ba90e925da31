"""DaemonSets and their ControllerRevisions (``pkg/apis/apps/validation``, ``pkg/registry/apps``).

A DaemonSet's pod template follows the Deployment's rules (labels that match an immutable,
non-empty selector; ``restartPolicy: Always``; no ``activeDeadlineSeconds``). Its update strategy
is RollingUpdate (defaulted to ``maxUnavailable: 1``, ``maxSurge: 0``, which replaces one node's
pod at a time) or OnDelete.
"""

from __future__ import annotations

from apiserver.defaults import sub, unset
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.strategies.workloads import (
    _template_matches_selector,
    _validate_rolling_update,
    _validate_selector_update,
    default_template,
    validate_template,
)
from apiserver.validation import (
    FIELD_IMMUTABLE,
    as_dict,
    at_least,
    invalid_value,
    not_supported,
    required,
    validate_label_selector,
)

ROLLING_UPDATE, ON_DELETE = "RollingUpdate", "OnDelete"


def default_daemon_set(daemon_set: Obj) -> None:
    """apps/v1 SetDefaults_DaemonSet."""
    spec = sub(daemon_set, "spec")
    if spec is None:
        return
    strategy = sub(spec, "updateStrategy")
    if strategy is not None:
        unset(strategy, "type", ROLLING_UPDATE)
        if strategy["type"] == ROLLING_UPDATE and (rolling := sub(strategy, "rollingUpdate")) is not None:
            unset(rolling, "maxUnavailable", 1)
            unset(rolling, "maxSurge", 0)
    unset(spec, "revisionHistoryLimit", 10)
    default_template(spec)


def _validate_selector(spec: Obj) -> list[Cause]:
    selector = spec.get("selector")
    if selector is None:
        return [required("spec.selector")]
    causes = validate_label_selector(as_dict(selector), "spec.selector")
    if not as_dict(selector).get("matchLabels") and not as_dict(selector).get("matchExpressions"):
        causes.append(invalid_value("spec.selector", selector, "empty selector is invalid for daemonset"))
    if not causes:
        causes += _template_matches_selector(as_dict(spec.get("template")), as_dict(selector))
    return causes


def _validate_update_strategy(strategy: Obj, path: str) -> list[Cause]:
    strategy_type, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if strategy_type == ON_DELETE:
        return []
    if strategy_type == ROLLING_UPDATE:
        if rolling is None:
            return [required(f"{path}.rollingUpdate")]
        return _validate_rolling_update(as_dict(rolling), f"{path}.rollingUpdate")
    if strategy_type is None:
        return [required(f"{path}.type")]
    return [not_supported(f"{path}.type", strategy_type, (ON_DELETE, ROLLING_UPDATE))]


def validate_daemon_set(obj: Obj) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    if "template" not in spec:
        return [required("spec.template")]
    causes = _validate_selector(spec)
    causes += validate_template("DaemonSet", as_dict(spec.get("template")), "spec.template")
    causes += at_least(spec, "minReadySeconds", "spec", 0) + at_least(spec, "revisionHistoryLimit", "spec", 0)
    causes += _validate_update_strategy(as_dict(spec.get("updateStrategy")), "spec.updateStrategy")
    return causes


class DaemonSetStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """An empty DaemonSetStatus encodes its four non-omitted counts."""
        obj["status"] = {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                         "numberReady": 0}

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        default_daemon_set(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_daemon_set(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_selector_update(new, old)


DAEMON_SET = DaemonSetStrategy("DaemonSet")


class ControllerRevisionStrategy(Strategy):
    """``ValidateControllerRevision``: a non-negative revision and data that never changes."""

    def validate(self, obj: Obj) -> list[Cause]:
        revision = obj.get("revision")
        causes: list[Cause] = []
        if isinstance(revision, int) and revision < 0:
            causes.append(invalid_value("revision", revision, "must be greater than or equal to 0"))
        if obj.get("data") is None:
            causes.append(required("data", "data is mandatory"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        if new.get("data") != old.get("data"):
            return [invalid_value("data", new.get("data"), FIELD_IMMUTABLE)]
        return []


CONTROLLER_REVISION = ControllerRevisionStrategy("ControllerRevision")
