"""Pod Security as the real kubectl shows it: refusals, warnings, label validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.compat.conftest import Kubectl

pytestmark = [pytest.mark.compat, pytest.mark.e2e]


def escape_pod(name: str) -> str:
    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"volumes": [{"name": "root", "hostPath": {"path": "/"}}],
                 "containers": [{"name": "c", "image": "podvisor/busybox:latest", "command": ["chroot", "/host"],
                                 "volumeMounts": [{"name": "root", "mountPath": "/host"}]}]}}
    return json.dumps(pod)


def test_the_hostpath_escape_is_refused(kubectl: Kubectl) -> None:
    done = kubectl.run("apply", "-f", "-", stdin=escape_pod("escape"), rc=1)
    assert ('Error from server (Forbidden): error when creating "STDIN": pods "escape" is forbidden: '
            'violates PodSecurity "baseline:latest": hostPath volumes (volume "root")') in done.stderr
    kubectl.run("get", "pod", "escape", rc=1)


def test_a_privileged_namespace_admits_it_and_warn_says_so(kubectl: Kubectl) -> None:
    kubectl.out("create", "namespace", "psa-ops")
    kubectl.out("label", "namespace", "psa-ops", "pod-security.kubernetes.io/enforce=privileged",
                "pod-security.kubernetes.io/warn=baseline")
    done = kubectl.run("apply", "-n", "psa-ops", "-f", "-", stdin=escape_pod("escape"))
    assert "pod/escape created" in done.stdout
    assert 'Warning: would violate PodSecurity "baseline:latest": hostPath volumes (volume "root")' in done.stderr


def test_labelling_warns_about_existing_pods(kubectl: Kubectl) -> None:
    kubectl.out("create", "namespace", "psa-legacy")
    kubectl.out("label", "namespace", "psa-legacy", "pod-security.kubernetes.io/enforce=privileged")
    kubectl.run("apply", "-n", "psa-legacy", "-f", "-", stdin=escape_pod("old"))
    done = kubectl.run("label", "--overwrite", "namespace", "psa-legacy", "pod-security.kubernetes.io/enforce=baseline")
    assert ('Warning: existing pods in namespace "psa-legacy" violate the new PodSecurity enforce level '
            '"baseline:latest"') in done.stderr
    assert "Warning: old: hostPath volumes" in done.stderr


def test_an_invalid_level_is_refused(kubectl: Kubectl) -> None:
    kubectl.out("create", "namespace", "psa-typo")
    done = kubectl.run("label", "namespace", "psa-typo", "pod-security.kubernetes.io/enforce=strict", rc=1)
    assert ('metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of '
            "privileged, baseline, restricted") in done.stderr
