"""Container-level restart policy and rules (KEP-5307, KEP-5532), validated as Kubernetes 1.35 does.

With the ``ContainerRestartRules`` gate a container may carry its own ``restartPolicy``
(``Always`` / ``OnFailure`` / ``Never``, overriding the pod's) and ``restartPolicyRules``: an
ordered list of ``{action, exitCodes: {operator, values}}``, the first rule matching an exit
deciding it. ``RestartAllContainers`` (KEP-5532) restarts the whole pod in place. An init
container with ``restartPolicy: Always`` remains a native sidecar; ``OnFailure`` and ``Never`` on
an init container only say how it is retried.

The rules are their own module because the pod spec's validator is already long and these read
best together, next to the limits Kubernetes puts on them (20 rules, 255 exit codes).
"""

from __future__ import annotations

from typing import Any

from apiserver.validation import (
    Cause,
    Obj,
    as_dict,
    as_dicts,
    as_int,
    duplicate,
    enum_value,
    invalid_value,
    not_supported,
    required,
    too_many,
)

POLICIES = ("Always", "OnFailure", "Never")
ACTIONS = ("Restart", "RestartAllContainers")
OPERATORS = ("In", "NotIn")
MAX_RULES = 20
MAX_EXIT_CODES = 255


def validate_restart_rules(spec: Obj, path: str) -> list[Cause]:
    """Every container's restart policy and rules in a pod spec (``path``: the spec's own path)."""
    causes: list[Cause] = []
    for list_name in ("initContainers", "containers"):
        for i, container in enumerate(as_dicts(spec.get(list_name))):
            causes += container_restart_causes(container, f"{path}.{list_name}[{i}]")
    return causes


def container_restart_causes(container: Obj, path: str) -> list[Cause]:
    """Problems with one container's ``restartPolicy`` and ``restartPolicyRules`` (app or init)."""
    causes = enum_value(container, "restartPolicy", path, POLICIES)
    rules = container.get("restartPolicyRules")
    if rules is None:
        return causes
    if not isinstance(rules, list):
        return causes + [invalid_value(f"{path}.restartPolicyRules", rules, "must be a list")]
    if rules and container.get("restartPolicy") is None:
        causes.append(required(f"{path}.restartPolicy", "must be specified when restartPolicyRules are used"))
    if len(rules) > MAX_RULES:
        causes.append(too_many(f"{path}.restartPolicyRules", len(rules), MAX_RULES))
    for i, rule in enumerate(rules):
        causes += _rule_causes(rule, f"{path}.restartPolicyRules[{i}]")
    return causes


def _rule_causes(rule: Any, path: str) -> list[Cause]:
    if not isinstance(rule, dict):
        return [invalid_value(path, rule, "must be an object")]
    action = rule.get("action")
    causes: list[Cause] = []
    if not action:
        causes.append(required(f"{path}.action"))
    elif action not in ACTIONS:
        causes.append(not_supported(f"{path}.action", action, ACTIONS))
    exit_codes = rule.get("exitCodes")
    if exit_codes is None:
        return causes + [required(f"{path}.exitCodes", "must be specified")]
    return causes + _exit_codes_causes(as_dict(exit_codes), f"{path}.exitCodes")


def _exit_codes_causes(exit_codes: Obj, path: str) -> list[Cause]:
    operator = exit_codes.get("operator")
    causes: list[Cause] = []
    if not operator:
        causes.append(required(f"{path}.operator"))
    elif operator not in OPERATORS:
        causes.append(not_supported(f"{path}.operator", operator, OPERATORS))
    values = exit_codes.get("values")
    if values is None:
        return causes
    if not isinstance(values, list):
        return causes + [invalid_value(f"{path}.values", values, "must be a list of exit codes")]
    if len(values) > MAX_EXIT_CODES:
        causes.append(too_many(f"{path}.values", len(values), MAX_EXIT_CODES))
    seen: set[int] = set()
    for i, value in enumerate(values):
        number = as_int(value)
        if number is None or isinstance(value, bool):
            causes.append(invalid_value(f"{path}.values[{i}]", value, "must be an integer"))
        elif not -(2**31) <= number < 2**31:
            causes.append(invalid_value(f"{path}.values[{i}]", value, "must be a 32-bit integer"))
        elif number in seen:
            causes.append(duplicate(f"{path}.values[{i}]", number))
        else:
            seen.add(number)
    return causes
