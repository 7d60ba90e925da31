"""The checks' phrasing with several offenders: plurals, "pod and containers", sorted values."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.podsecurity import baseline, restricted
from apiserver.podsecurity.evaluate import evaluate
from apiserver.podsecurity.policy import BASELINE, PRIVILEGED, RESTRICTED, LevelVersion
from apiserver.podsecurity.results import CheckFn, CheckResult


def spec(*contexts: dict[str, Any], pod: dict[str, Any] | None = None, **rest: Any) -> dict[str, Any]:
    containers = [{"name": f"c{i}", "securityContext": c} for i, c in enumerate(contexts)]
    return {"securityContext": pod or {}, "containers": containers, **rest}


CASES: list[tuple[str, CheckFn, dict[str, Any], dict[str, Any], CheckResult | None]] = [
    ("seccomp-pod-and-containers", baseline.seccomp,
     {}, spec({"seccompProfile": {"type": "Unconfined"}}, {"seccompProfile": {"type": "Unconfined"}},
              pod={"seccompProfile": {"type": "Unconfined"}}),
     CheckResult("seccompProfile",
                 'pod and containers "c0", "c1" must not set securityContext.seccompProfile.type to "Unconfined"')),
    ("run-as-user-pod-and-container", restricted.run_as_user, {}, spec({"runAsUser": 0}, {"runAsUser": 5},
                                                                        pod={"runAsUser": 0}),
     CheckResult("runAsUser=0", 'pod and container "c0" must not set runAsUser=0')),
    ("selinux-types", baseline.se_linux, {}, spec({"seLinuxOptions": {"type": "b_t"}}, {"seLinuxOptions": {"type": "a_t",
                                                                                                         "role": "r"}}),
     CheckResult("seLinuxOptions", 'containers "c0", "c1" set forbidden securityContext.seLinuxOptions: '
                                   'types "a_t", "b_t"; role may not be set')),
    ("apparmor-everything", baseline.app_armor,
     {"annotations": {"container.apparmor.security.beta.kubernetes.io/c0": "unconfined",
                      "container.apparmor.security.beta.kubernetes.io/c1": "runtime/default"}},
     spec({"appArmorProfile": {"type": "Unconfined"}}, pod={"appArmorProfile": {"type": "Unconfined"}}),
     CheckResult("forbidden AppArmor profiles",
                 'pod and container "c0" and annotation must not set AppArmor profile type to "Unconfined", '
                 '"container.apparmor.security.beta.kubernetes.io/c0="unconfined""')),
    ("host-ports-plural", baseline.host_ports, {},
     {"containers": [{"name": "a", "ports": [{"hostPort": 80}]}, {"name": "b", "ports": [{"hostPort": 443}]}]},
     CheckResult("hostPort", 'containers "a", "b" use hostPorts 443, 80')),
    ("volume-types-plural", restricted.volume_types, {},
     {"containers": [], "volumes": [{"name": "a", "hostPath": {"path": "/"}}, {"name": "b", "nfs": {}},
                                    {"name": "c", "configMap": {"name": "x"}}, {"name": "d", "flocker": {}}]},
     CheckResult("restricted volume types",
                 'volumes "a", "b", "d" use restricted volume types "flocker", "hostPath", "nfs"')),
    ("capabilities-both", restricted.capabilities, {},
     spec({"capabilities": {"add": ["SYS_TIME"]}}, {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}),
     CheckResult("unrestricted capabilities", 'container "c0" must set securityContext.capabilities.drop=["ALL"]; '
                                              'container "c0" must not include "SYS_TIME" in '
                                              "securityContext.capabilities.add")),
    ("run-as-non-root-container-true", restricted.run_as_non_root, {}, spec({"runAsNonRoot": True}, {}),
     CheckResult("runAsNonRoot != true", 'pod or container "c1" must set securityContext.runAsNonRoot=true')),
    ("user-namespaces-relax", restricted.run_as_non_root, {}, spec({}, hostUsers=False), None),
    ("windows-exempt", restricted.privilege_escalation, {}, spec({}, os={"name": "windows"}), None),
    ("safe-sysctls", baseline.sysctls, {}, spec(pod={"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}]}), None),
]


@pytest.mark.parametrize(("check", "meta", "pod_spec", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_phrasing(check: CheckFn, meta: dict[str, Any], pod_spec: dict[str, Any], expected: CheckResult | None) -> None:
    assert check(meta, pod_spec) == expected


@pytest.mark.parametrize(("level", "count"), [(PRIVILEGED, 0), (BASELINE, 2), (RESTRICTED, 6)])
def test_levels_include_each_other(level: str, count: int) -> None:
    bad = {"hostNetwork": True, "volumes": [{"name": "v", "hostPath": {"path": "/"}}],
           "containers": [{"name": "c"}]}
    assert len(evaluate(LevelVersion(level), {}, bad).violations) == count
