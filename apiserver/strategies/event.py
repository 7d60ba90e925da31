"""Events: an involved object in the event's own namespace."""

from __future__ import annotations

from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    as_dict,
    invalid_value,
    required,
)


def _validate_event(event: Obj) -> list[Cause]:
    involved = as_dict(event.get("involvedObject"))
    if not involved:
        return [required("involvedObject")]
    namespace, event_namespace = involved.get("namespace"), as_dict(event.get("metadata")).get("namespace")
    if namespace and event_namespace and namespace != event_namespace:
        return [invalid_value("involvedObject.namespace", namespace, "does not match event.namespace")]
    return []


class EventStrategy(Strategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_event(obj)


STRATEGY = EventStrategy("Event")
