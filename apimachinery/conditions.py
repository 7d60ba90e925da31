"""Conditions have one shape; these helpers keep lastTransitionTime honest.

A condition's ``lastTransitionTime`` changes only when its status changes; reason and message
may change freely. Status values are the strings "True", "False", "Unknown".
"""

from __future__ import annotations

from apimachinery.models.meta import Condition

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


def get_condition(conditions: list[Condition] | None, kind: str) -> Condition | None:
    for cond in conditions or []:
        if cond.type == kind:
            return cond
    return None


def is_true(conditions: list[Condition] | None, kind: str) -> bool:
    cond = get_condition(conditions, kind)
    return cond is not None and cond.status == TRUE


def set_condition(conditions: list[Condition] | None, new: Condition, *, now: str) -> list[Condition]:
    """A new list with ``new`` in place of the condition of its type (order preserved)."""
    out: list[Condition] = []
    found = False
    for cond in conditions or []:
        if cond.type != new.type:
            out.append(cond)
            continue
        found = True
        merged = new.model_copy()
        if cond.status == new.status and cond.last_transition_time:
            merged.last_transition_time = cond.last_transition_time
        elif not merged.last_transition_time:
            merged.last_transition_time = now
        out.append(merged)
    if not found:
        merged = new.model_copy()
        merged.last_transition_time = merged.last_transition_time or now
        out.append(merged)
    return out


def remove_condition(conditions: list[Condition] | None, kind: str) -> list[Condition]:
    return [c for c in conditions or [] if c.type != kind]
