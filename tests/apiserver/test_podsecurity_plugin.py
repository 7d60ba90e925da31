"""The PodSecurity plugin on its own: audit annotations, exemptions, and the label policy."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from apimachinery import resources as res
from apiserver.admissionplugins.base import CREATE, Attributes
from apiserver.admissionplugins.podsecurity import PodSecurity
from apiserver.audit.annotations import annotate, current_annotations
from apiserver.authn.user import UserInfo
from apiserver.podsecurity.policy import (
    BASELINE,
    PRIVILEGED,
    RESTRICTED,
    LevelVersion,
    PodSecurityConfig,
    Policy,
    policy_for,
)

PSA = "pod-security.kubernetes.io/"
HOST_NETWORK_POD = {"metadata": {"name": "p", "namespace": "ns"},
                    "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "i"}]}}


@contextlib.contextmanager
def collect() -> Iterator[dict[str, str]]:
    """The annotations one request leaves, as the audit middleware gathers them."""
    annotations: dict[str, str] = {}
    token = current_annotations.set(annotations)
    try:
        yield annotations
    finally:
        current_annotations.reset(token)


def plugin(labels: dict[str, str], config: PodSecurityConfig | None = None) -> PodSecurity:
    return PodSecurity(config=config or PodSecurityConfig(),
                       namespaces=lambda name: {"metadata": {"name": name, "labels": labels}}, pods=lambda ns: [])


def attrs(obj: dict[str, Any], *, user: UserInfo | None = None, namespace: str = "ns") -> Attributes:
    return Attributes(operation=CREATE, rt=res.PODS, namespace=namespace, name="p", obj=obj, old=None, user=user)


def test_audit_violations_are_left_for_the_audit_log() -> None:
    with collect() as annotations:
        warnings = plugin({PSA + "enforce": PRIVILEGED, PSA + "audit": RESTRICTED}).validate(attrs(HOST_NETWORK_POD))
    assert warnings == []
    assert annotations[PSA + "enforce-policy"] == "privileged:latest"
    assert annotations[PSA + "audit-violations"].startswith(
        'would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true), allowPrivilegeEscalation')


def test_a_refused_pod_is_audited_too() -> None:
    with collect() as annotations, pytest.raises(Exception, match="violates PodSecurity"):
        plugin({PSA + "audit": BASELINE}).validate(attrs(HOST_NETWORK_POD))
    assert annotations[PSA + "audit-violations"] == (
        'would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)')


def test_annotations_outside_a_request_go_nowhere() -> None:
    annotate("key", "value")  # no collector: nothing to record, nothing raised


@pytest.mark.parametrize(("config", "user", "namespace", "exempt"), [
    (PodSecurityConfig(), None, "kube-system", "namespace"),
    (PodSecurityConfig(exempt_usernames=("ops",)), UserInfo("ops"), "ns", "user"),
], ids=["namespace", "user"])
def test_exemptions(config: PodSecurityConfig, user: UserInfo | None, namespace: str, exempt: str) -> None:
    with collect() as annotations:
        assert plugin({}, config).validate(attrs(HOST_NETWORK_POD, user=user, namespace=namespace)) == []
    assert annotations == {PSA + "exempt": exempt}


LB, LR, LP = LevelVersion(BASELINE), LevelVersion(RESTRICTED), LevelVersion(PRIVILEGED)
DEFAULTS = PodSecurityConfig().defaults


@pytest.mark.parametrize(("labels", "policy", "errors"), [
    ({}, Policy(enforce=LB), 0),
    ({PSA + "enforce": "restricted"}, Policy(enforce=LR), 0),
    ({PSA + "enforce-version": "v1.29"}, Policy(enforce=LevelVersion(BASELINE, "v1.29")), 0),
    ({PSA + "warn": "restricted", PSA + "warn-version": "latest"}, Policy(enforce=LB, warn=LR), 0),
    ({PSA + "enforce": "bogus"}, Policy(enforce=LR), 1),  # fail closed
    ({PSA + "audit": "bogus", PSA + "warn": "bogus"}, Policy(enforce=LB), 2),  # fail open
    ({PSA + "enforce-version": "v1.x"}, Policy(enforce=LB), 1),
    ({"unrelated": "label"}, Policy(enforce=LB), 0),
], ids=["none", "enforce", "version", "warn", "bad-enforce", "bad-audit-warn", "bad-version", "other-labels"])
def test_policy_from_labels(labels: dict[str, str], policy: Policy, errors: int) -> None:
    resolved = policy_for(labels, DEFAULTS)
    assert resolved.policy == policy
    assert len(resolved.errors) == errors


def test_the_default_level_is_validated() -> None:
    with pytest.raises(ValueError, match="must be one of privileged, baseline, restricted"):
        PodSecurityConfig().with_default_enforce("strict")


def test_unparsable_labels_enforce_restricted_and_say_why() -> None:
    with collect() as annotations, pytest.raises(Exception, match='violates PodSecurity "restricted:latest"'):
        plugin({PSA + "enforce": "bogus"}).validate(attrs(HOST_NETWORK_POD))
    assert annotations[PSA + "error"] == (
        f'Failed to parse policy: metadata.labels[{PSA}enforce]: Invalid value: "bogus": must be one of privileged, '
        "baseline, restricted")
