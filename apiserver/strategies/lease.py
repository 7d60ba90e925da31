"""Leases (``coordination.k8s.io``): a positive duration and a non-negative transition count."""

from __future__ import annotations

from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    as_dict,
    as_int,
    at_least,
    invalid_value,
)


def _validate_lease(lease: Obj) -> list[Cause]:
    spec = as_dict(lease.get("spec"))
    duration = spec.get("leaseDurationSeconds")
    causes = at_least(spec, "leaseTransitions", "spec", 0)
    if duration is not None and (as_int(duration) or 0) <= 0:
        causes.append(invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    return causes


class LeaseStrategy(Strategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_lease(obj)


STRATEGY = LeaseStrategy("Lease")
