"""The Deployment controller's arithmetic, as pure functions over cached objects.

Everything here mirrors Kubernetes' ``deployment/util`` so that replica counts, revisions and
conditions come out exactly as ``kubectl rollout status|history|undo`` and ``describe`` expect:

* one ReplicaSet per pod template, named ``<deployment>-<hash>``: the hash is FNV-1a (32 bit) of the
  template's canonical JSON, written in decimal and mapped onto Kubernetes' "safe" alphabet;
  templates are compared ignoring the ``pod-template-hash`` label, which is how a rollback (the
  template patched back to an old one) finds and re-uses the old ReplicaSet;
* maxSurge rounds up, maxUnavailable rounds down, and both zero means maxUnavailable 1;
* revisions are integers in an annotation; the new ReplicaSet always carries the highest one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from apimachinery.models.apps import Deployment, ReplicaSet
from apimachinery.models.core import IntOrString, PodTemplateSpec
from apimachinery.supervision import PREFIX as SUPERVISION_PREFIX
from apimachinery.timeutil import parse_time

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_NOT_COPIED = {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO}
MAX_REVISION_HISTORY_CHARS = 2000
RECREATE, ROLLING_UPDATE = "Recreate", "RollingUpdate"

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


# --- templates and hashes -----------------------------------------------------------------------


def _fnv1a(data: bytes, value: int = _FNV_OFFSET) -> int:
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """Kubernetes' SafeEncodeString: every character mapped into an alphabet without vowels."""
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def template_hash(template: PodTemplateSpec, collision_count: int | None = None) -> str:
    """The ``pod-template-hash`` of a template; a collision count perturbs it."""
    canonical = json.dumps(template.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    value = _fnv1a(canonical)
    if collision_count:
        value = _fnv1a(collision_count.to_bytes(4, "little", signed=False), value)
    return safe_encode(str(value))


def _without_hash(template: PodTemplateSpec | None) -> dict[str, Any]:
    wire = template.to_dict() if template is not None else {}
    labels = dict((wire.get("metadata") or {}).get("labels") or {})
    labels.pop(HASH_LABEL, None)
    meta = dict(wire.get("metadata") or {})
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    if meta:
        wire["metadata"] = meta
    else:
        wire.pop("metadata", None)
    return wire


def equal_ignore_hash(a: PodTemplateSpec | None, b: PodTemplateSpec | None) -> bool:
    return _without_hash(a) == _without_hash(b)


# --- finding ReplicaSets ------------------------------------------------------------------------


def created_at(rs: ReplicaSet) -> tuple[float, str]:
    """(creation epoch seconds, name): the sort key of "older first"."""
    stamp = rs.metadata.creation_timestamp
    try:
        moment = parse_time(stamp).timestamp() if stamp else 0.0
    except ValueError:
        moment = 0.0
    return moment, rs.metadata.name or ""


def by_creation(rss: Iterable[ReplicaSet]) -> list[ReplicaSet]:
    """Oldest first (name breaks ties), as ReplicaSetsByCreationTimestamp."""
    return sorted(rss, key=created_at)


def find_new_replica_set(d: Deployment, rss: list[ReplicaSet]) -> ReplicaSet | None:
    """The oldest ReplicaSet whose template equals the Deployment's (ignoring the hash label)."""
    for rs in by_creation(rss):
        if equal_ignore_hash(rs.spec.template, d.spec.template):
            return rs
    return None


def old_replica_sets(rss: list[ReplicaSet], new_rs: ReplicaSet | None) -> list[ReplicaSet]:
    new_uid = new_rs.metadata.uid if new_rs is not None else None
    return [rs for rs in rss if rs.metadata.uid != new_uid]


def replicas(rs: ReplicaSet | None) -> int:
    return (rs.spec.replicas or 0) if rs is not None else 0


def active(rss: Iterable[ReplicaSet | None]) -> list[ReplicaSet]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def total_spec(rss: Iterable[ReplicaSet | None]) -> int:
    return sum(replicas(rs) for rs in rss)


def total_status(rss: Iterable[ReplicaSet | None], field: str) -> int:
    """Sum of one status counter (``replicas``, ``ready_replicas``, ``available_replicas``)."""
    return sum(int(getattr(rs.status, field) or 0) for rs in rss if rs is not None and rs.status is not None)


def settled_available(rss: Iterable[ReplicaSet | None]) -> int:
    """Available pods the ReplicaSets will keep: never more than each one's spec.replicas, since
    a ReplicaSet just scaled down still reports the pods it is deleting (unavailable ones go first)."""
    return sum(min(replicas(rs), total_status([rs], "available_replicas")) for rs in rss if rs is not None)


def revision(obj: Any) -> int:
    raw = (obj.metadata.annotations or {}).get(REVISION, "")
    try:
        return int(raw)
    except ValueError:
        return 0


def max_revision(rss: Iterable[ReplicaSet]) -> int:
    return max((revision(rs) for rs in rss), default=0)


# --- rolling-update arithmetic ------------------------------------------------------------------


def resolve(value: IntOrString | None, total: int, *, round_up: bool, default: str = "25%") -> int:
    """An absolute count or a percentage of ``total`` (rounded up or down, like Kubernetes)."""
    raw: IntOrString = default if value is None else value
    if isinstance(raw, int):
        return raw
    text = raw.strip()
    if text.endswith("%"):
        scaled = int(text[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(text)


def desired(d: Deployment) -> int:
    return d.spec.replicas if d.spec.replicas is not None else 1


def is_rolling(d: Deployment) -> bool:
    strategy = d.spec.strategy
    return strategy is None or (strategy.type or ROLLING_UPDATE) == ROLLING_UPDATE


def fenceposts(d: Deployment) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against spec.replicas; never both zero."""
    rolling = d.spec.strategy.rolling_update if d.spec.strategy else None
    total = desired(d)
    surge = resolve(rolling.max_surge if rolling else None, total, round_up=True)
    unavailable = resolve(rolling.max_unavailable if rolling else None, total, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Deployment) -> int:
    return fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Deployment) -> int:
    if not is_rolling(d) or desired(d) == 0:
        return 0
    return min(fenceposts(d)[1], desired(d))


def new_rs_new_replicas(d: Deployment, all_rss: list[ReplicaSet | None], new_rs: ReplicaSet) -> int:
    """How big the new ReplicaSet may grow in this step."""
    if not is_rolling(d):
        return desired(d)
    current = total_spec(all_rss)
    allowed_total = desired(d) + max_surge(d)
    if current >= allowed_total:
        return replicas(new_rs)
    grow = min(allowed_total - current, desired(d) - replicas(new_rs))
    return replicas(new_rs) + grow


def annotation_int(rs: ReplicaSet, name: str) -> int | None:
    raw = (rs.metadata.annotations or {}).get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def is_saturated(d: Deployment, rs: ReplicaSet | None) -> bool:
    if rs is None:
        return False
    available = (rs.status.available_replicas or 0) if rs.status else 0
    return annotation_int(rs, DESIRED_REPLICAS) == desired(d) and replicas(rs) == desired(d) and available == desired(d)


def proportion(rs: ReplicaSet, d: Deployment, *, to_add: int, added: int) -> int:
    """This ReplicaSet's share of a scaling change, by its size relative to the last full size."""
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    if desired(d) == 0:
        fraction = -replicas(rs)
    else:
        deployment_replicas = desired(d) + max_surge(d)
        annotated = annotation_int(rs, MAX_REPLICAS)
        if not annotated:  # lost or edited away: fall back to the current size
            annotated = (d.status.replicas or 0) if d.status else 0
        if not annotated:
            return 0
        fraction = _round_half_away(replicas(rs) * deployment_replicas / annotated) - replicas(rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _round_half_away(value: float) -> int:
    """Go's math.Round: halves round away from zero (Python rounds them to even)."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


# --- annotations --------------------------------------------------------------------------------


def set_replicas_annotations(rs: ReplicaSet, desired_count: int, max_count: int) -> bool:
    """Record the deployment size this ReplicaSet was scaled for; True when anything changed."""
    annotations = dict(rs.metadata.annotations or {})
    before = dict(annotations)
    annotations[DESIRED_REPLICAS] = str(desired_count)
    annotations[MAX_REPLICAS] = str(max_count)
    rs.metadata.annotations = annotations
    return annotations != before


def set_new_rs_annotations(d: Deployment, rs: ReplicaSet, new_revision: int, *, exists: bool) -> bool:
    """Copy the Deployment's annotations and raise the revision (keeping the history); on a copy."""
    annotations = dict(rs.metadata.annotations or {})
    before = dict(annotations)
    for key, value in (d.metadata.annotations or {}).items():
        if key not in _NOT_COPIED and not key.startswith(SUPERVISION_PREFIX):  # the Deployment's own state
            annotations[key] = value
    old_raw = annotations.get(REVISION)
    old = revision(rs)
    if old < new_revision:
        annotations[REVISION] = str(new_revision)
        if old_raw:
            annotations[REVISION_HISTORY] = _append_history(annotations.get(REVISION_HISTORY, ""), old_raw)
    rs.metadata.annotations = annotations
    changed = annotations != before
    if not exists:
        changed = set_replicas_annotations(rs, desired(d), desired(d) + max_surge(d)) or changed
    return changed


def _append_history(history: str, old_revision: str) -> str:
    entries = [e for e in history.split(",") if e] + [old_revision]
    while len(",".join(entries)) > MAX_REVISION_HISTORY_CHARS and len(entries) > 1:
        entries.pop(0)
    return ",".join(entries)
