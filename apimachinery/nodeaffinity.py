"""Required node affinity compiled once and matched against nodes: the scheduler's filter and the
DaemonSet controller's "should this node run the pod" ask the same question the same way.

``matchExpressions`` are label requirements (with ``Gt``/``Lt``); ``matchFields`` support only
``metadata.name``, as in Kubernetes, which is how a DaemonSet pins each pod to its node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apimachinery.selectors import (
    DOES_NOT_EXIST,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_IN,
    Requirement,
    new_requirement,
)

NODE_NAME_FIELD = "metadata.name"
_NODE_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST,
                   "Gt": GREATER_THAN, "Lt": LESS_THAN}


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    """One ``nodeSelectorTerms`` entry: every expression and field requirement must hold."""

    expressions: tuple[Requirement, ...] = ()
    names: tuple[Requirement, ...] = ()  # matchFields; Kubernetes supports only metadata.name
    valid: bool = True

    def matches(self, labels: dict[str, str], node_name: str) -> bool:
        if not self.valid or not (self.expressions or self.names):
            return False  # an empty or malformed term selects no node, as in Kubernetes
        name_labels = {NODE_NAME_FIELD: node_name}
        return (all(req.matches(labels) for req in self.expressions)
                and all(req.matches(name_labels) for req in self.names))


def required_node_affinity(affinity: dict[str, object] | None) -> tuple[NodeSelectorTerm, ...] | None:
    """``requiredDuringSchedulingIgnoredDuringExecution`` compiled to terms (ORed); None when absent."""
    node_affinity = (affinity or {}).get("nodeAffinity")
    if not isinstance(node_affinity, dict):
        return None
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, dict):
        return None
    return tuple(_compile_term(term) for term in required.get("nodeSelectorTerms") or [])


def _compile_term(term: object) -> NodeSelectorTerm:
    if not isinstance(term, dict):
        return NodeSelectorTerm(valid=False)
    try:
        expressions = tuple(_requirement(e, lambda key: key) for e in term.get("matchExpressions") or [])
        names = tuple(_requirement(e, _only_name) for e in term.get("matchFields") or [])
    except (ValueError, TypeError, AttributeError):
        return NodeSelectorTerm(valid=False)
    return NodeSelectorTerm(expressions, names)


def _only_name(key: str) -> str:
    if key != NODE_NAME_FIELD:
        raise ValueError(f"unsupported field selector key {key!r}")
    return key


def _requirement(expression: dict[str, object], check_key: Callable[[str], str]) -> Requirement:
    operator = _NODE_OPERATORS.get(str(expression.get("operator", "")))
    if operator is None:
        raise ValueError(f"{expression.get('operator')!r} is not a valid node selector operator")
    key = check_key(str(expression.get("key", "")))
    values = [str(v) for v in expression.get("values") or []]  # type: ignore[attr-defined]
    if key == NODE_NAME_FIELD:
        return Requirement(key, operator, tuple(values))  # a node name is not a label key
    return new_requirement(key, operator, values)


def node_matches(node_selector: dict[str, str] | None, affinity: dict[str, object] | None, *,
                 labels: dict[str, str], node_name: str) -> bool:
    """``spec.nodeSelector`` (every label) and required node affinity (any term) hold for the node."""
    if any(labels.get(key) != value for key, value in (node_selector or {}).items()):
        return False
    terms = required_node_affinity(affinity)
    return terms is None or any(term.matches(labels, node_name) for term in terms)
