"""Generic REST semantics shared by every resource: create, read, update, patch, delete.

This is where the server enforces Kubernetes' rules: who may change spec vs status, when
generation moves, optimistic concurrency on resourceVersion, graceful deletion of pods,
finalizers, and namespace lifecycle. Handlers in :mod:`apiserver.routes` only translate HTTP.
"""

from __future__ import annotations

import base64
import builtins
import copy
import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

from apimachinery import jsonio
from apimachinery import resources as res
from apimachinery.errors import ApiError, already_exists, bad_request, conflict, expired, not_found
from apimachinery.resources import ResourceType
from apimachinery.selectors import FieldSelector, LabelSelector
from apiserver import admission, fieldmanager, strategies
from apiserver.admissionplugins.base import CREATE, DELETE, UPDATE, Attributes, Chain
from apiserver.authn.user import current_user
from apiserver.servicealloc.ranges import ServiceRanges
from apiserver.servicealloc.storage import ServiceStorage
from apiserver.store.base import (
    CompactedError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionConflictError,
    Store,
)
from apiserver.strategies import pod as pod_strategy
from apiserver.strategies import workloads

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_KEEP_ON_UPDATE = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_key(rt: ResourceType, namespace: str | None, name: str) -> str:
    if rt.namespaced:
        return f"/registry/{rt.group_resource}/{namespace}/{name}"
    return f"/registry/{rt.group_resource}/{name}"


def list_prefix(rt: ResourceType, namespace: str | None) -> str:
    if rt.namespaced and namespace:
        return f"/registry/{rt.group_resource}/{namespace}/"
    return f"/registry/{rt.group_resource}/"


def with_revision(kv: KeyValue) -> dict[str, Any]:
    """The stored value as clients see it: resourceVersion is the row's revision."""
    obj = dict(kv.value)
    obj["metadata"] = {**kv.value.get("metadata", {}), "resourceVersion": str(kv.mod_revision)}
    return obj


def wire_json(kv: KeyValue) -> bytes:
    """:func:`with_revision` as JSON, encoded once per stored revision."""
    data = kv.encoded.get("json")
    if data is None:
        data = kv.encoded["json"] = jsonio.dumps(with_revision(kv))
    return data


def spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything a user owns besides metadata: what bumps generation when it changes."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


Finish = Callable[[bool], None]


class StorageHooks(Protocol):
    """A kind's own work around its store writes (Kubernetes' ``BeginCreate`` / ``BeginUpdate`` /
    ``AfterDelete`` decorators): Services reserve their ClusterIP and node ports here. A begin
    hook runs after validation and admission, may fill in the object, and returns a finish
    function the registry calls with whether the write was stored."""

    def begin_create(self, obj: dict[str, Any], *, dry_run: bool) -> Finish: ...

    def begin_update(self, new: dict[str, Any], old: dict[str, Any], *, dry_run: bool) -> Finish: ...

    def after_delete(self, obj: dict[str, Any]) -> None: ...


def _finished(_: bool) -> None:
    """The finish function of a write without hooks."""


@dataclass
class ListPage:
    entries: list[KeyValue]
    resource_version: int
    continue_token: str | None = None

    @cached_property
    def items(self) -> list[dict[str, Any]]:
        return [with_revision(kv) for kv in self.entries]

    def encoded_items(self) -> bytes:
        """The items as a JSON array, from each object's cached encoding."""
        return b"[" + b",".join(wire_json(kv) for kv in self.entries) + b"]"


@dataclass
class WriteResult:
    obj: dict[str, Any]
    created: bool = False
    warnings: list[str] = field(default_factory=list)


class Registry:
    """Resource semantics over a :class:`Store`; time comes from an injected clock."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        toleration_seconds: int = 300,
        plugins: Chain | None = None,
        service_ranges: ServiceRanges | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.toleration_seconds = toleration_seconds
        self.plugins = plugins or Chain()
        self.service_ranges = service_ranges or ServiceRanges()
        self.hooks: dict[str, StorageHooks] = {"Service": ServiceStorage(store, self.service_ranges, clock=clock)}

    def _admit(
        self,
        operation: str,
        rt: ResourceType,
        obj: dict[str, Any] | None,
        old: dict[str, Any] | None,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> builtins.list[str]:
        """Run the admission chain (mutate, then validate) on a write; its warnings, or an ApiError."""
        meta = (obj or old or {}).get("metadata") or {}
        attrs = Attributes(
            operation=operation, rt=rt, namespace=str(meta.get("namespace") or ""), name=str(meta.get("name") or ""),
            obj=obj, old=old, user=current_user.get(), subresource=subresource or "", dry_run=dry_run,
        )
        return self.plugins.admit(attrs) + self.plugins.validate(attrs)

    # -- bootstrapping ---------------------------------------------------------------------

    def ensure_system_namespaces(self) -> None:
        for name in SYSTEM_NAMESPACES:
            if self.store.get(object_key(res.NAMESPACES, None, name)) is None:
                try:
                    self.create(res.NAMESPACES, None, {"metadata": {"name": name}})
                except ApiError as err:
                    if err.reason != "AlreadyExists":  # another apiserver on the same database won
                        raise

    # -- reads -----------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        kv = self.store.get(object_key(rt, namespace, name))
        if kv is None:
            raise not_found(rt.plural, name, group=rt.group)
        return with_revision(kv)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        labels: LabelSelector | None = None,
        fields: FieldSelector | None = None,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListPage:
        start_after, revision = self._decode_continue(continue_token)
        prefix = list_prefix(rt, namespace)
        items: builtins.list[KeyValue] = []
        while True:
            try:
                page = self.store.list(prefix, start_after=start_after, limit=limit, revision=revision)
            except CompactedError:
                raise expired(
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter."
                ) from None
            revision = page.revision
            items += (kv for kv in page.items if _selected(kv, labels, fields))
            if not page.items:
                break
            start_after = page.items[-1].key
            if not page.more or not limit or len(items) >= limit:
                break
        token = None
        if limit and page.more:
            token = self._encode_continue(start_after, revision)
        return ListPage(items, revision, token)

    @staticmethod
    def _encode_continue(start_after: str, revision: int) -> str:
        raw = json.dumps({"v": 1, "rv": revision, "start": start_after}).encode()
        return base64.urlsafe_b64encode(raw).decode()

    @staticmethod
    def _decode_continue(token: str) -> tuple[str, int]:
        if not token:
            return "", 0
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            return str(data["start"]), int(data["rv"])
        except (ValueError, KeyError, TypeError):
            raise bad_request("continue key is not valid: invalid format") from None

    # -- create ----------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        *,
        dry_run: bool = False,
        field_validation: str = "Warn",
        duplicates: Sequence[str] = (),
        field_manager: str | None = None,
        apply: fieldmanager.ApplyRequest | None = None,
    ) -> WriteResult:
        obj = admission.check_type(rt, body)
        obj, warnings = admission.decode(rt, obj, field_validation=field_validation, duplicates=duplicates)
        meta = obj.setdefault("metadata", {})
        self._place_in_namespace(rt, namespace, meta)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_ALPHABET, k=5))
        if not meta.get("name"):
            raise admission.invalid(
                rt.kind,
                "",
                [admission.cause("metadata.name", "Required value", "FieldValueRequired")],
                group=rt.group,
            )
        self._init_metadata(meta)
        obj = admission.default_and_validate(rt, obj, old=None, toleration_seconds=self.toleration_seconds)
        fieldmanager.track(None, obj, rt=rt, writer=fieldmanager.writer_for(rt, field_manager, None),
                           now=rfc3339(self.clock()), apply=apply)
        warnings += self._admit(CREATE, rt, obj, None, dry_run=dry_run)
        hooks = self.hooks.get(rt.kind)
        if hooks is not None:  # what the store would refuse is refused before the hooks reserve anything
            admission.check_size(rt, obj)
            if self.store.get(object_key(rt, meta.get("namespace"), meta["name"])) is not None:
                raise already_exists(rt.plural, meta["name"], group=rt.group)
        finish = hooks.begin_create(obj, dry_run=dry_run) if hooks is not None else _finished
        try:
            result = WriteResult(self._store_new(rt, obj, dry_run=dry_run), created=True, warnings=warnings)
        except BaseException:
            finish(False)
            raise
        finish(True)
        return result

    def _store_new(self, rt: ResourceType, obj: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        admission.check_size(rt, obj)
        meta = obj["metadata"]
        key = object_key(rt, meta.get("namespace"), meta["name"])
        if dry_run:
            if self.store.get(key) is not None:
                raise already_exists(rt.plural, meta["name"], group=rt.group)
            return obj
        try:
            kv = self.store.create(key, obj)
        except (KeyExistsError, RevisionConflictError):
            raise already_exists(rt.plural, meta["name"], group=rt.group) from None
        return with_revision(kv)

    def _place_in_namespace(self, rt: ResourceType, namespace: str | None, meta: dict[str, Any]) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.get("namespace")
        if given and given != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = namespace
        ns = self.store.get(object_key(res.NAMESPACES, None, str(namespace)))
        if ns is None:
            raise not_found("namespaces", str(namespace))
        if ns.value.get("metadata", {}).get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being terminated",
                name=str(namespace),
                kind="namespaces",
            )

    def _init_metadata(self, meta: dict[str, Any]) -> None:
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.clock())
        meta["generation"] = 1
        for transient in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(transient, None)

    # -- update ----------------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
        duplicates: Sequence[str] = (),
        field_manager: str | None = None,
        apply: fieldmanager.ApplyRequest | None = None,
        owner_subresource: str | None = None,
    ) -> WriteResult:
        """PUT semantics: the body replaces the object (or only its status on ``/status``)."""
        key = object_key(rt, namespace, name)
        current = self.store.get(key)
        if current is None:
            raise not_found(rt.plural, name, group=rt.group)
        obj = admission.check_type(rt, body)
        obj, warnings = admission.decode(rt, obj, field_validation=field_validation, duplicates=duplicates)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
            )
        expected = _expected_revision(meta)
        if expected and expected != current.mod_revision:
            raise conflict(rt.plural, name, group=rt.group)
        old = current.value
        new = self._merge_for_update(rt, obj, old, subresource=subresource)
        if subresource != "status":  # a finalize is validated too: its finalizer names are user input
            new = admission.default_and_validate(
                rt, new, old=old, toleration_seconds=self.toleration_seconds, subresource=subresource
            )
        if subresource != "finalize":
            writer = fieldmanager.writer_for(rt, field_manager, owner_subresource or subresource)
            fieldmanager.track(old, new, rt=rt, writer=writer, now=rfc3339(self.clock()), apply=apply)
        warnings += self._admit(UPDATE, rt, new, old, subresource=subresource, dry_run=dry_run)
        hooks = self.hooks.get(rt.kind) if subresource is None else None
        finish = hooks.begin_update(new, old, dry_run=dry_run) if hooks is not None else _finished
        try:
            result = WriteResult(self._write(rt, key, new, current, dry_run=dry_run), warnings=warnings)
        except BaseException:
            finish(False)
            raise
        finish(True)
        return result

    def _merge_for_update(
        self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any], *, subresource: str | None
    ) -> dict[str, Any]:
        if subresource == "finalize":  # a namespace's spec.finalizers, and nothing else
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["finalizers"] = list((obj.get("spec") or {}).get("finalizers") or [])
            return new
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
            return new
        new = obj
        meta = new["metadata"]
        old_meta = old.get("metadata", {})
        meta["name"] = old_meta.get("name")
        if rt.namespaced:
            meta["namespace"] = old_meta.get("namespace")
        for keep in _KEEP_ON_UPDATE:
            if keep in old_meta:
                meta[keep] = old_meta[keep]
            else:
                meta.pop(keep, None)
        meta.pop("resourceVersion", None)
        strategies.for_request(rt.kind, subresource).prepare_for_update(new, old)
        if "status" in rt.subresources:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        return new

    def _write(
        self, rt: ResourceType, key: str, new: dict[str, Any], current: KeyValue, *, dry_run: bool
    ) -> dict[str, Any]:
        """Store ``new`` over ``current``: bump generation on spec change, skip no-op writes."""
        old = current.value
        meta = new["metadata"]
        generation = int(old.get("metadata", {}).get("generation") or 1)
        if spec_part(new) != spec_part(old):
            generation += 1
        meta["generation"] = generation
        if new == old:
            return with_revision(current)
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not strategies.for_kind(rt.kind).still_held(new)
        ):
            return self._remove(rt, key, current, dry_run=dry_run)
        admission.check_size(rt, new)
        if dry_run:
            return {**new, "metadata": {**meta, "resourceVersion": str(current.mod_revision)}}
        try:
            kv = self.store.update(key, new, expected_revision=current.mod_revision)
        except (RevisionConflictError, KeyNotFoundError):
            raise conflict(rt.plural, meta.get("name", ""), group=rt.group) from None
        return with_revision(kv)

    def _remove(self, rt: ResourceType, key: str, current: KeyValue, *, dry_run: bool) -> dict[str, Any]:
        if dry_run:
            return with_revision(current)
        try:
            kv = self.store.delete(key, expected_revision=current.mod_revision)
        except (RevisionConflictError, KeyNotFoundError):
            raise conflict(rt.plural, current.value["metadata"].get("name", ""), group=rt.group) from None
        hooks = self.hooks.get(rt.kind)
        if hooks is not None:
            hooks.after_delete(kv.value)
        return with_revision(kv)

    # -- delete ----------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Delete now, or start a graceful/finalized deletion and return the object."""
        options = options or {}
        key = object_key(rt, namespace, name)
        current = self.store.get(key)
        if current is None:
            raise not_found(rt.plural, name, group=rt.group)
        _check_preconditions(rt, current, options.get("preconditions") or {})
        self._admit(DELETE, rt, None, current.value, dry_run=dry_run)
        strategy = strategies.for_kind(rt.kind)
        if strategy.deletes_contents:
            return self._delete_namespace(current, dry_run=dry_run)
        obj = copy.deepcopy(current.value)
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        policy = _propagation(rt, options)
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        elif policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        grace = strategy.grace_period(obj, options)
        if not finalizers and grace == 0:
            return self._remove(rt, key, current, dry_run=dry_run)
        return self._mark_deleting(rt, key, current, obj, finalizers=finalizers, grace=grace, dry_run=dry_run)

    def _mark_deleting(
        self,
        rt: ResourceType,
        key: str,
        current: KeyValue,
        obj: dict[str, Any],
        *,
        finalizers: builtins.list[str],
        grace: int,
        dry_run: bool,
    ) -> dict[str, Any]:
        meta = obj["metadata"]
        existing = meta.get("deletionTimestamp")
        deadline = _deadline(self.clock(), grace)
        if existing is None or grace < int(meta.get("deletionGracePeriodSeconds") or 0):
            meta["deletionTimestamp"] = rfc3339(deadline)
            meta["deletionGracePeriodSeconds"] = grace
        if finalizers:
            meta["finalizers"] = finalizers
        if obj == current.value:
            return with_revision(current)
        if dry_run:
            return obj
        try:
            kv = self.store.update(key, obj, expected_revision=current.mod_revision)
        except RevisionConflictError:
            raise conflict(rt.plural, meta.get("name", ""), group=rt.group) from None
        return with_revision(kv)

    def _delete_namespace(self, current: KeyValue, *, dry_run: bool) -> dict[str, Any]:
        """Start a namespace's graceful deletion, as Kubernetes does: it turns ``Terminating``
        and stays while its ``kubernetes`` finalizer (``spec.finalizers``) is held; the namespace
        controller deletes its content (pods get their grace period), then finalizes it."""
        name = current.value["metadata"]["name"]
        if name in SYSTEM_NAMESPACES:
            raise ApiError(
                403,
                "Forbidden",
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                name=name,
                kind="namespaces",
            )
        key = object_key(res.NAMESPACES, None, name)
        if current.value["metadata"].get("deletionTimestamp"):
            return with_revision(current)  # already terminating
        if not strategies.for_kind("Namespace").still_held(current.value) and not current.value["metadata"].get("finalizers"):
            return self._remove(res.NAMESPACES, key, current, dry_run=dry_run)
        obj = copy.deepcopy(current.value)
        obj["metadata"]["deletionTimestamp"] = rfc3339(self.clock())
        obj["metadata"]["deletionGracePeriodSeconds"] = 0
        obj.setdefault("status", {})["phase"] = "Terminating"
        if dry_run:
            return obj
        try:
            return with_revision(self.store.update(key, obj, expected_revision=current.mod_revision))
        except RevisionConflictError:
            raise conflict("namespaces", name) from None

    # -- pods/binding ----------------------------------------------------------------------

    def bind(self, namespace: str, name: str, body: Any) -> None:
        key = object_key(res.PODS, namespace, name)
        current = self.store.get(key)
        if current is None:
            raise not_found("pods", name)
        bound = pod_strategy.bind(current.value, body, now=rfc3339(self.clock()))
        self._admit(UPDATE, res.PODS, bound, current.value, subresource="binding")
        try:
            self.store.update(key, bound, expected_revision=current.mod_revision)
        except (RevisionConflictError, KeyNotFoundError):
            raise conflict("pods", name) from None


def _deadline(now: datetime, seconds: int) -> datetime:
    """``now + seconds``, saturating at the largest time a timestamp can spell (int64 graces do not fit)."""
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _selected(kv: KeyValue, labels: LabelSelector | None, fields: FieldSelector | None) -> bool:
    if labels is not None and not labels.matches(kv.value.get("metadata", {}).get("labels") or {}):
        return False
    return fields is None or fields.matches(with_revision(kv))


def _expected_revision(meta: dict[str, Any]) -> int:
    raw = meta.get("resourceVersion")
    if raw in (None, ""):
        return 0
    try:
        return int(str(raw))
    except ValueError:
        raise bad_request(f'invalid resourceVersion "{raw}"') from None


def _check_preconditions(rt: ResourceType, current: KeyValue, pre: dict[str, Any]) -> None:
    name = current.value["metadata"].get("name", "")
    uid = pre.get("uid")
    if uid and uid != current.value["metadata"].get("uid"):
        raise ApiError(
            409,
            "Conflict",
            f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
            f"{current.value['metadata'].get('uid')}",
            name=name,
            kind=rt.plural,
        )
    rv = pre.get("resourceVersion")
    if rv and str(rv) != str(current.mod_revision):
        raise conflict(rt.plural, name, group=rt.group)


def _propagation(rt: ResourceType, options: dict[str, Any]) -> str:
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is True:
        policy = "Orphan"
    if policy not in (None, "Background", "Foreground", "Orphan"):
        raise bad_request(
            f'propagationPolicy: Unsupported value: "{policy}": supported values: '
            '"Background", "Foreground", "Orphan"'
        )
    return policy or "Background"


class PatchingRegistry(Registry):
    """Adds PATCH and the scale subresource, both defined in terms of update."""

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        ptype: str,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Warn",
        duplicates: Sequence[str] = (),
        field_manager: str | None = None,
        force: bool = False,
    ) -> WriteResult:
        from apiserver.patching import apply_patch

        if subresource == "scale":
            scale = self.get_scale(rt, namespace, name)
            patched = apply_patch(scale, body, ptype, kind="Scale")
            return self.update_scale(rt, namespace, name, patched, dry_run=dry_run, field_manager=field_manager)
        options: dict[str, Any] = {"dry_run": dry_run, "field_validation": field_validation,
                                   "duplicates": duplicates, "field_manager": field_manager}
        if ptype == "apply":
            return self._apply(rt, namespace, name, body, force=force, subresource=subresource, options=options)
        patched = apply_patch(self.get(rt, namespace, name), body, ptype, kind=rt.kind)
        return self.update(rt, namespace, name, patched, subresource=subresource, **options)

    def _apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        force: bool,
        subresource: str | None,
        options: dict[str, Any],
    ) -> WriteResult:
        """Server-side apply: create the object, or merge the configuration into it; either way
        the write is tracked as an Apply that owns the configuration's fields."""
        writer = fieldmanager.writer_for(rt, options["field_manager"], subresource)
        kv = self.store.get(object_key(rt, namespace, name))
        if kv is None and subresource is not None:
            raise not_found(rt.plural, name, group=rt.group)
        live = with_revision(kv) if kv is not None else None
        merged, request = fieldmanager.prepare_apply(live, body, rt=rt, writer=writer, force=force)
        if live is None:
            merged["metadata"] = {**(merged.get("metadata") or {}), "name": name}
            return self.create(rt, namespace, merged, apply=request, **options)
        return self.update(rt, namespace, name, merged, subresource=subresource, apply=request, **options)

    def get_scale(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return workloads.scale_of(self.get(rt, namespace, name))

    def update_scale(
        self, rt: ResourceType, namespace: str | None, name: str, scale: Any, *, dry_run: bool = False,
        field_manager: str | None = None,
    ) -> WriteResult:
        replicas = workloads.replicas_of_scale(scale, name)
        obj = copy.deepcopy(self.get(rt, namespace, name))  # get() shares the store's cached value
        expected = (scale.get("metadata") or {}).get("resourceVersion")
        if expected and str(expected) != obj["metadata"]["resourceVersion"]:
            raise conflict(rt.plural, name, group=rt.group)
        obj.setdefault("spec", {})["replicas"] = replicas
        self.update(rt, namespace, name, obj, dry_run=dry_run, field_manager=field_manager, owner_subresource="scale")
        return WriteResult(self.get_scale(rt, namespace, name) if not dry_run else scale)
