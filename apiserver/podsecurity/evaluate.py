"""Which checks a level runs, in which order, and the one-line verdict they add up to.

Order matters because the message lists violations in it: Kubernetes runs the baseline checks
in the order of their source files, then (at baseline) the three baseline checks a restricted
check replaces, or (at restricted) the restricted checks. The message joins
``reason (detail)`` with ", ".
"""

from __future__ import annotations

from dataclasses import dataclass

from apiserver.podsecurity import baseline, restricted
from apiserver.podsecurity.policy import BASELINE, PRIVILEGED, LevelVersion
from apiserver.podsecurity.results import CheckFn, CheckResult, Obj

BASELINE_CHECKS: tuple[CheckFn, ...] = (
    baseline.app_armor,
    baseline.host_namespaces,
    baseline.host_ports,
    baseline.probe_hosts,
    baseline.privileged,
    baseline.proc_mount,
    baseline.se_linux,
    baseline.sysctls,
    baseline.host_process,
)
#: Baseline checks that a restricted check supersedes.
OVERLAPPED_BASELINE_CHECKS: tuple[CheckFn, ...] = (
    baseline.capabilities,
    baseline.host_path_volumes,
    baseline.seccomp,
)
RESTRICTED_CHECKS: tuple[CheckFn, ...] = (
    restricted.privilege_escalation,
    restricted.capabilities,
    restricted.volume_types,
    restricted.run_as_non_root,
    restricted.run_as_user,
    restricted.seccomp,
)


@dataclass(frozen=True)
class Verdict:
    violations: tuple[CheckResult, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def detail(self) -> str:
        """``host namespaces (hostNetwork=true), hostPath volumes (volume "root")``."""
        return ", ".join(f"{v.reason} ({v.detail})" if v.detail else v.reason for v in self.violations)

    @property
    def reasons(self) -> str:
        return ", ".join(v.reason for v in self.violations)


def checks_for(level: str) -> tuple[CheckFn, ...]:
    if level == PRIVILEGED:
        return ()
    if level == BASELINE:
        return BASELINE_CHECKS + OVERLAPPED_BASELINE_CHECKS
    return BASELINE_CHECKS + RESTRICTED_CHECKS


def evaluate(policy: LevelVersion, meta: Obj, spec: Obj) -> Verdict:
    """The violations of ``policy`` by a pod (or a pod template) given as wire dicts.

    Every valid version is evaluated as ``latest`` (one version of each check is carried).
    """
    found = (check(meta, spec) for check in checks_for(policy.level))
    return Verdict(tuple(result for result in found if result is not None))
