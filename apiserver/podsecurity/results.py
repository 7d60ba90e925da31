"""What one check reports, and the phrasing helpers every check shares.

Pod Security's messages are part of its interface: people grep for them and tools parse them
(``host namespaces (hostNetwork=true)``). The helpers here reproduce Kubernetes' phrasing
(``container "a"`` / ``containers "a", "b"``) so each check reads as one sentence of policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class CheckResult:
    """``reason`` is the short name of what is forbidden, ``detail`` who does it and how."""

    reason: str
    detail: str = ""


#: A check reads the pod's metadata and spec (wire dicts) and returns None when the pod passes.
CheckFn = Callable[[Obj, Obj], CheckResult | None]


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def join_quote(items: list[str]) -> str:
    """``"a", "b"``: the items double-quoted, in the order given."""
    return ", ".join(f'"{item}"' for item in items)


def containers_phrase(names: list[str]) -> str:
    """``container "a"`` or ``containers "a", "b"``."""
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


def setters(pod: bool, names: list[str]) -> str:
    """``pod``, ``containers "a"`` or ``pod and container "a"``: who set a forbidden value."""
    parts = ["pod"] if pod else []
    if names:
        parts.append(containers_phrase(names))
    return " and ".join(parts)


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def containers(spec: Obj) -> Iterator[Obj]:
    """Init containers, containers, then ephemeral containers: the order Kubernetes visits them."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                yield container


def name_of(container: Obj) -> str:
    return str(container.get("name") or "")


def security_context(obj: Obj) -> Obj:
    """A pod spec's or a container's ``securityContext`` (empty when unset)."""
    return as_dict(obj.get("securityContext"))


def go_quote(value: str) -> str:
    """A string as Go's ``%q`` prints it (double quotes, backslash escapes)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'
