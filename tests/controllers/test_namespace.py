"""The namespace controller's conditions, as Kubernetes reports them on a terminating namespace."""

from __future__ import annotations

import pytest

from controllers.namespace import Remaining, deletion_conditions


def remaining(objects: dict[str, int] | None = None, finalizers: dict[str, int] | None = None,
              failures: list[str] | None = None) -> Remaining:
    r = Remaining()
    r.objects, r.finalizers, r.failures = objects or {}, finalizers or {}, failures or []
    return r


@pytest.mark.parametrize(("left", "expected"), [
    pytest.param(remaining(), {"NamespaceDeletionContentFailure": ("False", "ContentDeleted"),
                               "NamespaceContentRemaining": ("False", "ContentDeleted"),
                               "NamespaceFinalizersRemaining": ("False", "ContentHasNoFinalizers")}, id="all-gone"),
    pytest.param(remaining({"pods": 2}), {"NamespaceDeletionContentFailure": ("False", "ContentDeleted"),
                                          "NamespaceContentRemaining": ("True", "SomeResourcesRemain"),
                                          "NamespaceFinalizersRemaining": ("False", "ContentHasNoFinalizers")},
                 id="pods-terminating"),
    pytest.param(remaining({"configmaps": 1}, {"example.com/hold": 1}),
                 {"NamespaceDeletionContentFailure": ("False", "ContentDeleted"),
                  "NamespaceContentRemaining": ("True", "SomeResourcesRemain"),
                  "NamespaceFinalizersRemaining": ("True", "SomeFinalizersRemain")}, id="finalizer-held"),
    pytest.param(remaining(failures=["pods: boom"]), {"NamespaceDeletionContentFailure": ("True", "ContentDeletionFailed"),
                                                       "NamespaceContentRemaining": ("False", "ContentDeleted"),
                                                       "NamespaceFinalizersRemaining": ("False", "ContentHasNoFinalizers")},
                 id="list-failed"),
])
def test_conditions_say_what_keeps_the_namespace(left: Remaining, expected: dict[str, tuple[str, str]]) -> None:
    assert {c.type: (c.status, c.reason) for c in deletion_conditions(left)} == expected


def test_messages_count_what_remains() -> None:
    conditions = {c.type: c.message for c in deletion_conditions(remaining({"pods": 2}, {"example.com/hold": 1}))}
    assert conditions["NamespaceContentRemaining"] == "Some resources are remaining: pods has 2 resource instances"
    assert conditions["NamespaceFinalizersRemaining"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")


def test_a_pass_with_failures_is_not_done() -> None:
    assert remaining(failures=["x"]) and remaining({"pods": 1}) and not remaining(finalizers={"f": 1})
