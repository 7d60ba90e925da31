"""Levels, versions and the namespace labels that choose them (Kubernetes' ``api`` package).

A namespace picks its policy with labels: ``pod-security.kubernetes.io/<mode>`` names a level
(privileged, baseline, restricted) and ``pod-security.kubernetes.io/<mode>-version`` the
policy version (``latest`` or ``v1.<minor>``), for each of the three modes: ``enforce``
refuses a pod, ``audit`` annotates the request's audit event, ``warn`` returns a ``Warning``
header. A label that is absent falls back to the server's defaults (an AdmissionConfiguration
in Kubernetes). podvisor evaluates every valid version as ``latest``: it carries one version of
each check, the current one, and says so in the README.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from apiserver.validation import Cause, invalid_value

PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)
LATEST = "latest"
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")
_LEVEL_ERROR = "must be one of privileged, baseline, restricted"
_VERSION_ERROR = 'must be "latest" or "v1.x"'


@dataclass(frozen=True)
class LevelVersion:
    level: str
    version: str = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True)
class Policy:
    """What a namespace enforces, audits and warns about."""

    enforce: LevelVersion = LevelVersion(PRIVILEGED)
    audit: LevelVersion = LevelVersion(PRIVILEGED)
    warn: LevelVersion = LevelVersion(PRIVILEGED)


@dataclass(frozen=True)
class PodSecurityConfig:
    """The server's defaults and exemptions (the fields of Kubernetes' PodSecurityConfiguration).

    podvisor enforces ``baseline`` where a namespace says nothing (``--pod-security-default-enforce``
    changes it); audit and warn default to ``privileged:latest`` as in Kubernetes.
    """

    defaults: Policy = Policy(enforce=LevelVersion(BASELINE))
    exempt_namespaces: tuple[str, ...] = ("kube-system",)
    exempt_usernames: tuple[str, ...] = ()
    exempt_runtime_classes: tuple[str, ...] = ()
    enabled: bool = True

    def with_default_enforce(self, level: str) -> PodSecurityConfig:
        if level not in LEVELS:
            raise ValueError(f"pod security level {level!r} {_LEVEL_ERROR}")
        return replace(self, defaults=replace(self.defaults, enforce=LevelVersion(level)))


@dataclass
class Resolved:
    policy: Policy
    errors: list[Cause] = field(default_factory=list)


def label(mode: str, *, version: bool = False) -> str:
    return f"{PREFIX}{mode}-version" if version else f"{PREFIX}{mode}"


def policy_for(labels: dict[str, str] | None, defaults: Policy) -> Resolved:
    """The namespace's policy and the label errors found; a bad level enforces ``restricted``
    (fail closed) but audits and warns as ``privileged`` (fail open), as Kubernetes does."""
    labels = labels or {}
    modes = {mode: getattr(defaults, mode) for mode in MODES}
    errors: list[Cause] = []
    for mode in MODES:
        current: LevelVersion = modes[mode]
        if (level := labels.get(label(mode))) is not None:
            if level in LEVELS:
                current = replace(current, level=level)
            else:
                errors.append(invalid_value(f"metadata.labels[{label(mode)}]", level, _LEVEL_ERROR))
                current = replace(current, level=RESTRICTED if mode == "enforce" else PRIVILEGED)
        if (version := labels.get(label(mode, version=True))) is not None:
            if version == LATEST or _VERSION.match(version):
                current = replace(current, version=version)
            else:
                errors.append(invalid_value(f"metadata.labels[{label(mode, version=True)}]", version, _VERSION_ERROR))
                current = replace(current, version=LATEST)
        modes[mode] = current
    return Resolved(Policy(**modes), errors)


def stricter(a: str, b: str) -> bool:
    """Whether level ``a`` is stricter than level ``b``."""
    return LEVELS.index(a) > LEVELS.index(b)
