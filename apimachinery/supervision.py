"""The supervisor spec: OTP's restart strategy, intensity and auto-shutdown, carried in annotations.

A pod (or a pod template) is a supervisor and its containers are its children. Annotations under
``supervision.podvisor.io/`` declare how it supervises them, so unmodified kubectl, client
libraries and Helm carry the spec. The API server validates them with :func:`pod_spec_errors`
and :func:`deployment_spec_errors` (every key of the prefix must be known: a typo is refused,
not ignored); the kubelet, the controllers and podctl parse them with :func:`parse_pod` and
:func:`parse_deployment`, which never fail on a stored object (a bad value falls back to the
default, as it could only have been stored before validation existed).

OTP's meaning throughout: ``intensity`` restarts in ``period`` seconds are allowed; the next one
within the window makes the supervisor give up, stop its children and fail, so that its own
supervisor (the pod's ReplicaSet, then the Deployment) acts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

PREFIX = "supervision.podvisor.io/"
STRATEGY = PREFIX + "strategy"
INTENSITY = PREFIX + "intensity"
PERIOD = PREFIX + "period"
SIGNIFICANT = PREFIX + "significant"
AUTO_SHUTDOWN = PREFIX + "auto-shutdown"
AUTO_ROLLBACK = PREFIX + "auto-rollback"
#: Written by the ReplicaSet controller on a replacement pod: the nodes on which earlier pods of
#: the ReplicaSet exceeded their intensity (the scheduler prefers other nodes).
FAILED_ON = PREFIX + "failed-on"
#: Written by the Deployment controller: the newest revision that was fully available, and the
#: pod-template-hash of a revision it rolled back (not retried until the template changes).
LAST_AVAILABLE_REVISION = PREFIX + "last-available-revision"
REJECTED_TEMPLATE = PREFIX + "rejected-template"

POD_KEYS = (STRATEGY, INTENSITY, PERIOD, SIGNIFICANT, AUTO_SHUTDOWN, FAILED_ON)
DEPLOYMENT_KEYS = (INTENSITY, PERIOD, AUTO_ROLLBACK, LAST_AVAILABLE_REVISION, REJECTED_TEMPLATE)

#: Reasons and condition types (CamelCase, as Kubernetes').
RESTART_INTENSITY_EXCEEDED = "RestartIntensityExceeded"
WITHIN_INTENSITY = "WithinIntensity"
AUTO_SHUTDOWN_REASON = "AutoShutdown"
ROLLED_BACK = "RolledBack"
REVISION_REJECTED = "RevisionRejected"
#: Pod condition, present when the pod has an intensity: "True" while within it; the message says
#: the budget used ("3/5 restarts in 60s"); "False" with RESTART_INTENSITY_EXCEEDED once exceeded.
INTENSITY_CONDITION = PREFIX + "RestartIntensity"
#: KEP-5532's pod condition while a RestartAllContainers action runs.
ALL_CONTAINERS_RESTARTING = "AllContainersRestarting"

DEFAULT_PERIOD = 5  # OTP's default MaxT
MAX_INTENSITY = 100  # the restart history the kubelet keeps (in container labels) covers it
MAX_PERIOD = 7 * 24 * 3600
_MAX_NODES = 20  # failed-on entries kept
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


class Strategy(StrEnum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


class AutoShutdown(StrEnum):
    NEVER = "never"
    ANY = "any"
    ALL = "all"


@dataclass(frozen=True)
class Intensity:
    """At most ``restarts`` restarts in ``period`` seconds."""

    restarts: int
    period: int = DEFAULT_PERIOD

    def describe(self, used: int) -> str:
        return f"{used}/{self.restarts} restarts in {self.period}s"


@dataclass(frozen=True)
class PodSupervisorSpec:
    strategy: Strategy = Strategy.ONE_FOR_ONE
    intensity: Intensity | None = None  # None: unlimited, as Kubernetes
    significant: frozenset[str] = frozenset()
    auto_shutdown: AutoShutdown = AutoShutdown.NEVER
    failed_on: tuple[str, ...] = ()

    @property
    def ordered(self) -> bool:
        """OTP's "left to right": app containers start one after another, in declaration order."""
        return self.strategy is not Strategy.ONE_FOR_ONE


@dataclass(frozen=True)
class DeploymentSupervisorSpec:
    intensity: Intensity | None = None
    auto_rollback: bool = False
    last_available_revision: int | None = None
    rejected_template: str | None = None


@dataclass(frozen=True)
class SpecError:
    """One bad annotation: its key, the value given and what is allowed."""

    key: str
    value: str
    message: str


@dataclass
class _Parsed:
    values: dict[str, object] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)


def _supervision_keys(annotations: Mapping[str, object] | None) -> dict[str, str]:
    return {
        k: v if isinstance(v, str) else str(v) for k, v in (annotations or {}).items() if k.startswith(PREFIX)
    }


def _int_in(parsed: _Parsed, key: str, raw: str, low: int, high: int) -> None:
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 7 or not low <= int(text) <= high:
        parsed.errors.append(SpecError(key, raw, f"must be an integer between {low} and {high}, inclusive"))
        return
    parsed.values[key] = int(text)


def _enum(parsed: _Parsed, key: str, raw: str, kind: type[StrEnum]) -> None:
    try:
        parsed.values[key] = kind(raw)
    except ValueError:
        allowed = ", ".join(f'"{m.value}"' for m in kind)  # type: ignore[attr-defined]
        parsed.errors.append(SpecError(key, raw, f"supported values: {allowed}"))


def _names(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _parse(annotations: Mapping[str, object] | None, allowed: Iterable[str]) -> _Parsed:
    parsed = _Parsed()
    allowed = tuple(allowed)
    for key, raw in _supervision_keys(annotations).items():
        if key not in allowed:
            known = ", ".join(k.removeprefix(PREFIX) for k in allowed)
            parsed.errors.append(SpecError(key, raw, f"unknown supervision annotation; known here: {known}"))
        elif key == STRATEGY:
            _enum(parsed, key, raw, Strategy)
        elif key == AUTO_SHUTDOWN:
            _enum(parsed, key, raw, AutoShutdown)
        elif key == INTENSITY:
            _int_in(parsed, key, raw, 0, MAX_INTENSITY)
        elif key == PERIOD:
            _int_in(parsed, key, raw, 1, MAX_PERIOD)
        elif key == LAST_AVAILABLE_REVISION:
            _int_in(parsed, key, raw, 1, 2**31 - 1)
        elif key == AUTO_ROLLBACK:
            if raw not in ("true", "false"):
                parsed.errors.append(SpecError(key, raw, 'supported values: "true", "false"'))
            parsed.values[key] = raw == "true"
        elif key in (SIGNIFICANT, FAILED_ON):
            listed = _names(raw)
            if len(raw) > 4096 or len(listed) > 64 or any(not _is_label(n) for n in listed):
                parsed.errors.append(
                    SpecError(key, raw, "must be a comma-separated list of up to 64 DNS-1123 names")
                )
            parsed.values[key] = listed
        elif key == REJECTED_TEMPLATE:
            if not _is_label(raw):
                parsed.errors.append(SpecError(key, raw, "must be a pod-template-hash"))
            parsed.values[key] = raw
    if (
        PERIOD in parsed.values
        and INTENSITY not in parsed.values
        and INTENSITY not in _supervision_keys(annotations)
    ):
        parsed.errors.append(
            SpecError(PERIOD, str(parsed.values[PERIOD]), f"may only be set with {INTENSITY}")
        )
    return parsed


def _is_label(name: str) -> bool:
    """A DNS-1123 subdomain: what container, node and hash names all are."""
    return len(name) <= 253 and _SUBDOMAIN.fullmatch(name) is not None


def _intensity(values: dict[str, object]) -> Intensity | None:
    restarts = values.get(INTENSITY)
    if not isinstance(restarts, int):
        return None
    period = values.get(PERIOD)
    return Intensity(restarts, period if isinstance(period, int) else DEFAULT_PERIOD)


def pod_spec_errors(annotations: Mapping[str, object] | None, containers: Iterable[str]) -> list[SpecError]:
    """What is wrong with a pod's supervision annotations (``containers``: its app container names)."""
    parsed = _parse(annotations, POD_KEYS)
    names = set(containers)
    significant = parsed.values.get(SIGNIFICANT)
    shutdown = parsed.values.get(AUTO_SHUTDOWN, AutoShutdown.NEVER)
    if isinstance(significant, list):
        unknown = [n for n in significant if n not in names]
        if unknown:
            raw = _supervision_keys(annotations)[SIGNIFICANT]
            parsed.errors.append(
                SpecError(SIGNIFICANT, raw, f"names no app container of the pod: {', '.join(unknown)}")
            )
        if significant and shutdown is AutoShutdown.NEVER:
            raw = _supervision_keys(annotations)[SIGNIFICANT]
            parsed.errors.append(SpecError(SIGNIFICANT, raw, f'needs {AUTO_SHUTDOWN} "any" or "all"'))
    if shutdown is not AutoShutdown.NEVER and not significant:
        parsed.errors.append(
            SpecError(AUTO_SHUTDOWN, str(shutdown), f"needs {SIGNIFICANT} to name containers")
        )
    return parsed.errors


def deployment_spec_errors(annotations: Mapping[str, object] | None) -> list[SpecError]:
    """What is wrong with a Deployment's own supervision annotations."""
    return _parse(annotations, DEPLOYMENT_KEYS).errors


def parse_pod(annotations: Mapping[str, object] | None) -> PodSupervisorSpec:
    """The pod's supervisor spec; a value that does not parse falls back to its default."""
    values = _parse(annotations, POD_KEYS).values
    strategy = values.get(STRATEGY, Strategy.ONE_FOR_ONE)
    shutdown = values.get(AUTO_SHUTDOWN, AutoShutdown.NEVER)
    significant = values.get(SIGNIFICANT, [])
    failed_on = values.get(FAILED_ON, [])
    return PodSupervisorSpec(
        strategy=strategy if isinstance(strategy, Strategy) else Strategy.ONE_FOR_ONE,
        intensity=_intensity(values),
        significant=frozenset(significant) if isinstance(significant, list) else frozenset(),
        auto_shutdown=shutdown if isinstance(shutdown, AutoShutdown) else AutoShutdown.NEVER,
        failed_on=tuple(failed_on)[:_MAX_NODES] if isinstance(failed_on, list) else (),
    )


def parse_deployment(annotations: Mapping[str, object] | None) -> DeploymentSupervisorSpec:
    values = _parse(annotations, DEPLOYMENT_KEYS).values
    revision = values.get(LAST_AVAILABLE_REVISION)
    rejected = values.get(REJECTED_TEMPLATE)
    return DeploymentSupervisorSpec(
        intensity=_intensity(values),
        auto_rollback=values.get(AUTO_ROLLBACK) is True,
        last_available_revision=revision if isinstance(revision, int) else None,
        rejected_template=rejected if isinstance(rejected, str) and _is_label(rejected) else None,
    )


def failed_on_value(nodes: Iterable[str]) -> str:
    """The FAILED_ON annotation for these nodes (most recent last, deduplicated, bounded)."""
    unique = list(dict.fromkeys(n for n in nodes if _is_label(n)))
    return ",".join(unique[-_MAX_NODES:])
