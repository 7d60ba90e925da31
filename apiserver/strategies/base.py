"""What every kind's strategy can say, and what a kind says when it says nothing.

A strategy is Kubernetes' ``RESTCreateStrategy`` / ``RESTUpdateStrategy`` /
``RESTGracefulDeleteStrategy`` for one kind: its server-side defaults, ``PrepareForCreate``,
``Validate``, ``ValidateUpdate`` and how long a deletion waits. The generic registry calls these
hooks and never asks which kind it holds. Every hook works on the private wire dict the registry
is about to store; validation hooks return Status causes (:mod:`apiserver.validation`) and
never mutate.
"""

from __future__ import annotations

from typing import Any

from apimachinery.resources import by_kind

Obj = dict[str, Any]
Cause = dict[str, str]


class Strategy:
    """The rules of a kind without rules of its own: generic metadata checks only."""

    #: Users may create it with a status (Node registers with one; Namespace starts Active).
    keeps_status_on_create = False
    #: Deleting it deletes what it contains (namespaces: the registry marks it Terminating and
    #: the namespace controller deletes the content).
    deletes_contents = False

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        """Fill in server-side defaults, in place on the registry's private copy."""

    def prepare_for_create(self, obj: Obj) -> None:
        """Users create spec; status starts empty unless the kind keeps it."""
        resource = by_kind(self.kind)
        if resource is not None and "status" in resource.subresources and not self.keeps_status_on_create:
            obj.pop("status", None)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Put back in ``new`` what an update of the main resource may not change."""

    def validate(self, obj: Obj) -> list[Cause]:
        """The kind's own problems with a defaulted object (metadata is checked for every kind)."""
        return []

    def validate_create(self, obj: Obj) -> list[Cause]:
        """What a new object may not hold that an updated one may (beyond :meth:`validate`)."""
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        """What may not change from ``old``, beyond :meth:`validate` of ``new``."""
        return []

    def grace_period(self, obj: Obj, options: Obj) -> int:
        """Seconds a deletion waits before the object goes; 0 deletes at once."""
        return 0

    def still_held(self, obj: Obj) -> bool:
        """Whether a terminating object, its metadata finalizers done, is still held by
        something of its kind's own (a pod by its node, a namespace by its controller)."""
        return False
