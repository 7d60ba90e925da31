"""In-memory fakes of everything a controller touches, for tests that call ``sync(key)``.

* :class:`FakeClient` - a tiny apiserver over a dict: create (``generateName``, uid,
  resourceVersion, generation), replace (409 on a stale resourceVersion), ``/status``, merge /
  strategic / JSON patches, delete (graceful for scheduled pods, finalizers for foreground and
  orphan propagation, uid preconditions). Every call is recorded as an :class:`Action`, and
  failures can be injected per verb and resource.
* :class:`FakeInformer` - a cache with indexes and handlers, like
  :class:`apimachinery.informer.Informer`. Writes through the fake client reach the informers
  only when the test calls :meth:`FakeClient.deliver` (or always, with ``auto_deliver=True``):
  that is how a test reproduces an informer lagging behind the controller's own writes.
* :class:`FakeQueue` and :class:`FakeRecorder` record what a controller enqueued and reported.

Use :func:`fake_context` to get all of them wired into a :class:`ControllerContext`.
"""

from __future__ import annotations

import builtins
import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from apimachinery.errors import ApiError, already_exists, conflict, not_found
from apimachinery.models.apps import Deployment, Lease, ReplicaSet
from apimachinery.models.base import TypedObject
from apimachinery.models.core import Namespace, Node, Pod, PodStatus
from apimachinery.patch import json_patch, merge_patch, strategic_merge_patch
from apimachinery.resources import by_model
from apimachinery.timeutil import FakeClock, now_rfc3339
from controllers.base import ControllerContext, Informers, key_of

T = TypeVar("T", bound=TypedObject)
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Action:
    verb: str  # create | update | update-status | patch | patch-status | delete | get
    resource: str  # plural: pods, replicasets, ...
    namespace: str | None
    name: str
    body: Any = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


class FakeInformer(Generic[T]):
    def __init__(self, model: type[T]) -> None:
        self.model = model
        self._cache: dict[str, T] = {}
        self._indexers: dict[str, Callable[[T], builtins.list[str]]] = {}
        self._handlers: list[tuple[Any, Any, Any]] = []

    def get(self, key: str) -> T | None:
        return self._cache.get(key)

    def list(self) -> builtins.list[T]:
        return list(self._cache.values())

    def add_indexer(self, name: str, fn: Callable[[T], builtins.list[str]]) -> None:
        self._indexers[name] = fn

    def by_index(self, name: str, value: str) -> builtins.list[T]:
        fn = self._indexers[name]
        return [obj for obj in self._cache.values() if value in fn(obj)]

    def add_handler(self, on_add: Any = None, on_update: Any = None, on_delete: Any = None) -> None:
        self._handlers.append((on_add, on_update, on_delete))

    # -- what a watch would deliver ---------------------------------------------------------

    def add(self, obj: T) -> T:
        """Put (or replace) ``obj`` in the cache and notify handlers as a watch event would."""
        key = key_of(obj)
        old = self._cache.get(key)
        self._cache[key] = obj
        for on_add, on_update, _ in self._handlers:
            if old is None and on_add:
                on_add(obj)
            elif old is not None and on_update:
                on_update(old, obj)
        return obj

    def delete(self, obj: T) -> None:
        if self._cache.pop(key_of(obj), None) is None:
            return
        for _, _, on_delete in self._handlers:
            if on_delete:
                on_delete(obj)


class FakeQueue:
    def __init__(self) -> None:
        self.added: list[str] = []
        self.after: list[tuple[str, float]] = []

    def add(self, key: str) -> None:
        self.added.append(key)

    def add_after(self, key: str, delay: float) -> None:
        if delay <= 0:
            self.add(key)
        else:
            self.after.append((key, delay))

    def clear(self) -> None:
        self.added.clear()
        self.after.clear()


@dataclass
class FakeRecorder:
    events: list[tuple[str, str, str, str]] = field(default_factory=list)  # (object key, type, reason, message)

    def event(self, obj: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((key_of(obj), type_, reason, message))

    def reasons(self) -> list[str]:
        return [e[2] for e in self.events]


class FakeClient:
    """An in-memory apiserver for unit tests; see the module docstring."""

    def __init__(self, *, clock: FakeClock | None = None, auto_deliver: bool = False) -> None:
        self.clock = clock or FakeClock()
        self.auto_deliver = auto_deliver
        self.objects: dict[tuple[str, str | None, str], TypedObject] = {}
        self.actions: list[Action] = []
        self.informers: dict[str, FakeInformer[Any]] = {}
        self._pending: list[tuple[str, TypedObject]] = []
        self._failures: list[tuple[str, str, ApiError, list[int]]] = []
        self._revision = itertools.count(100)
        self._names = itertools.count(0)
        self._uids = itertools.count(1)

    # -- test helpers --------------------------------------------------------------------------

    def connect(self, informer: FakeInformer[Any]) -> None:
        self.informers[by_model(informer.model).plural] = informer

    def seed(self, obj: T) -> T:
        """Store ``obj`` (filling uid, resourceVersion, ...) and put it in its informer at once."""
        stored = self._stored(obj)
        informer = self.informers.get(by_model(type(obj)).plural)
        if informer is not None:
            informer.add(stored.model_copy(deep=True))
        return stored.model_copy(deep=True)

    def deliver(self) -> None:
        """Let the informers see every write made so far (in order)."""
        pending, self._pending = self._pending, []
        for kind, obj in pending:
            informer = self.informers.get(by_model(type(obj)).plural)
            if informer is None:
                continue
            if kind == "DELETED":
                informer.delete(obj)
            else:
                informer.add(obj.model_copy(deep=True))

    def fail(self, verb: str, resource: str, error: ApiError | None = None, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``verb`` on ``resource`` fail."""
        self._failures.append((verb, resource, error or ApiError(500, "InternalError", "injected"), [times]))

    def stored(self, model: type[T], name: str, namespace: str | None = None) -> T | None:
        obj = self.objects.get((by_model(model).plural, namespace, name))
        return obj.model_copy(deep=True) if obj is not None else None  # type: ignore[return-value]

    def all(self, model: type[T]) -> list[T]:
        plural = by_model(model).plural
        return [o.model_copy(deep=True) for (p, _, _), o in self.objects.items() if p == plural]  # type: ignore[misc]

    def calls(self, verb: str | None = None, resource: str | None = None) -> list[Action]:
        return [a for a in self.actions if (verb is None or a.verb == verb) and (resource is None or a.resource == resource)]

    def clear_actions(self) -> None:
        self.actions.clear()

    # -- internals -----------------------------------------------------------------------------

    def _record(self, verb: str, model: type[TypedObject], namespace: str | None, name: str, body: Any = None) -> None:
        plural = by_model(model).plural
        self.actions.append(Action(verb, plural, namespace, name, body))
        for verb_, resource, error, left in self._failures:
            if verb_ == verb and resource == plural and left[0] > 0:
                left[0] -= 1
                raise error

    def _stored(self, obj: T) -> T:
        obj = obj.model_copy(deep=True)
        meta = obj.metadata  # type: ignore[attr-defined]
        if not meta.name and meta.generate_name:
            n = next(self._names)
            meta.name = meta.generate_name + "".join(_ALPHABET[(n // len(_ALPHABET) ** i) % len(_ALPHABET)] for i in range(5))
        meta.uid = meta.uid or f"uid-{next(self._uids)}"
        meta.creation_timestamp = meta.creation_timestamp or now_rfc3339(self.clock)
        meta.generation = meta.generation or 1
        meta.resource_version = str(next(self._revision))
        if isinstance(obj, Pod) and obj.status is None:
            obj.status = PodStatus(phase="Pending")
        self.objects[(by_model(type(obj)).plural, meta.namespace, meta.name)] = obj
        return obj

    def _emit(self, kind: str, obj: TypedObject) -> None:
        self._pending.append((kind, obj.model_copy(deep=True)))
        if self.auto_deliver:
            self.deliver()

    def _current(self, model: type[T], name: str, namespace: str | None) -> T:
        obj = self.objects.get((by_model(model).plural, namespace, name))
        if obj is None:
            raise not_found(by_model(model).plural, name)
        return obj  # type: ignore[return-value]

    def _write(self, old: TypedObject, new: TypedObject) -> TypedObject:
        meta = new.metadata  # type: ignore[attr-defined]
        old_meta = old.metadata  # type: ignore[attr-defined]
        if meta.resource_version and meta.resource_version != old_meta.resource_version:
            raise conflict(by_model(type(old)).plural, old_meta.name)
        for keep in ("uid", "creation_timestamp", "deletion_timestamp", "name", "namespace"):
            setattr(meta, keep, getattr(old_meta, keep))
        if _spec(new) != _spec(old):
            meta.generation = (old_meta.generation or 1) + 1
        else:
            meta.generation = old_meta.generation
        if meta.deletion_timestamp and not meta.finalizers and not _awaits_kubelet(new):
            return self._remove(new)
        meta.resource_version = str(next(self._revision))
        self.objects[(by_model(type(new)).plural, meta.namespace, meta.name)] = new
        self._emit("MODIFIED", new)
        return new

    def _remove(self, obj: TypedObject) -> TypedObject:
        meta = obj.metadata  # type: ignore[attr-defined]
        self.objects.pop((by_model(type(obj)).plural, meta.namespace, meta.name), None)
        self._emit("DELETED", obj)
        return obj

    # -- the Client protocol -------------------------------------------------------------------

    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T:
        self._record("get", model, namespace, name)
        return self._current(model, name, namespace).model_copy(deep=True)

    async def create(self, obj: T, namespace: str | None = None) -> T:
        meta = obj.metadata  # type: ignore[attr-defined]
        namespace = namespace or meta.namespace
        self._record("create", type(obj), namespace, meta.name or meta.generate_name or "", obj.model_copy(deep=True))
        if meta.name and (by_model(type(obj)).plural, namespace, meta.name) in self.objects:
            raise already_exists(by_model(type(obj)).plural, meta.name)
        obj = obj.model_copy(deep=True)
        obj.metadata.namespace = namespace  # type: ignore[attr-defined]
        obj.metadata.resource_version = None  # type: ignore[attr-defined]
        if hasattr(obj, "status") and not isinstance(obj, Node):
            obj.status = None  # type: ignore[attr-defined]
        stored = self._stored(obj)
        self._emit("ADDED", stored)
        return stored.model_copy(deep=True)

    async def replace(self, obj: T, *, subresource: str | None = None) -> T:
        meta = obj.metadata  # type: ignore[attr-defined]
        self._record("update-status" if subresource == "status" else "update", type(obj), meta.namespace, meta.name,
                     obj.model_copy(deep=True))
        old = self._current(type(obj), meta.name, meta.namespace)
        if subresource == "status":
            new = old.model_copy(deep=True)
            new.status = copy.deepcopy(obj.status)  # type: ignore[attr-defined]
            new.metadata.resource_version = meta.resource_version  # type: ignore[attr-defined]
        else:
            new = obj.model_copy(deep=True)
            if hasattr(old, "status"):
                new.status = copy.deepcopy(old.status)  # type: ignore[attr-defined]
        return self._write(old, new).model_copy(deep=True)  # type: ignore[return-value]

    async def replace_status(self, obj: T) -> T:
        return await self.replace(obj, subresource="status")

    async def patch(self, model: type[T], name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: str = "merge", subresource: str | None = None) -> T:
        verb = "patch-status" if subresource == "status" else "patch"
        self._record(verb, model, namespace, name, copy.deepcopy(patch))
        old = self._current(model, name, namespace)
        wire = old.to_dict()
        if patch_type == "json":
            patched = json_patch(wire, patch)
        elif patch_type == "merge":
            patched = merge_patch(wire, patch)
        else:
            patched = strategic_merge_patch(wire, patch, model.KIND)
        new = model.model_validate(patched)
        if subresource == "status":
            status_only = old.model_copy(deep=True)
            status_only.status = new.status  # type: ignore[attr-defined]
            new = status_only
        elif hasattr(old, "status"):
            new.status = copy.deepcopy(old.status)  # type: ignore[attr-defined]
        return self._write(old, new).model_copy(deep=True)  # type: ignore[return-value]

    async def delete(self, model: type[TypedObject], name: str, namespace: str | None = None, *,
                     grace_period: int | None = None, propagation: str | None = None,
                     preconditions: dict[str, str] | None = None) -> dict[str, Any]:
        self._record("delete", model, namespace, name, {"propagation": propagation, "grace": grace_period})
        old = self._current(model, name, namespace)
        meta = old.metadata  # type: ignore[attr-defined]
        if preconditions and preconditions.get("uid") not in (None, meta.uid):
            raise ApiError(409, "Conflict", f"Precondition failed: UID in precondition: {preconditions['uid']}")
        new = old.model_copy(deep=True)
        finalizers = list(meta.finalizers or [])
        extra = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(propagation or "")
        if extra and extra not in finalizers:
            finalizers.append(extra)
        graceful = isinstance(old, Pod) and _awaits_kubelet(old) and grace_period != 0
        if not finalizers and not graceful:
            return self._remove(old).to_dict()
        new.metadata.finalizers = finalizers or None  # type: ignore[attr-defined]
        new.metadata.deletion_timestamp = meta.deletion_timestamp or now_rfc3339(self.clock)  # type: ignore[attr-defined]
        new.metadata.resource_version = str(next(self._revision))  # type: ignore[attr-defined]
        self.objects[(by_model(model).plural, namespace, name)] = new
        self._emit("MODIFIED", new)
        return new.to_dict()

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> None:
        self._record("bind", Pod, namespace, pod, node)
        old = self._current(Pod, pod, namespace)
        new = old.model_copy(deep=True)
        new.spec.node_name = node
        new.metadata.resource_version = None
        self._write(old, new)


def _spec(obj: TypedObject) -> Any:
    return obj.to_dict().get("spec")


def _awaits_kubelet(obj: TypedObject) -> bool:
    """A scheduled, unfinished pod is removed by its kubelet after a graceful stop."""
    if not isinstance(obj, Pod):
        return False
    phase = obj.status.phase if obj.status else None
    return bool(obj.spec.node_name) and phase not in ("Succeeded", "Failed")


@dataclass
class FakeCluster:
    """A fake client, its informers, queue-less context pieces and a fake clock, wired together."""

    client: FakeClient
    informers: Informers
    recorder: FakeRecorder
    clock: FakeClock
    ctx: ControllerContext

    @property
    def pods(self) -> FakeInformer[Pod]:
        return self.informers.pods  # type: ignore[return-value]

    @property
    def replicasets(self) -> FakeInformer[ReplicaSet]:
        return self.informers.replicasets  # type: ignore[return-value]

    @property
    def deployments(self) -> FakeInformer[Deployment]:
        return self.informers.deployments  # type: ignore[return-value]

    @property
    def nodes(self) -> FakeInformer[Node]:
        return self.informers.nodes  # type: ignore[return-value]

    @property
    def leases(self) -> FakeInformer[Lease]:
        return self.informers.leases  # type: ignore[return-value]


def fake_context(*, auto_deliver: bool = False, clock: FakeClock | None = None) -> FakeCluster:
    clock = clock or FakeClock()
    client = FakeClient(clock=clock, auto_deliver=auto_deliver)
    fakes: dict[str, FakeInformer[Any]] = {
        "pods": FakeInformer(Pod), "replicasets": FakeInformer(ReplicaSet), "deployments": FakeInformer(Deployment),
        "nodes": FakeInformer(Node), "leases": FakeInformer(Lease), "namespaces": FakeInformer(Namespace),
    }
    for informer in fakes.values():
        client.connect(informer)
    informers = Informers(**fakes)
    informers.add_standard_indexers()
    recorder = FakeRecorder()
    ctx = ControllerContext(client=client, informers=informers, recorder_for=lambda _: recorder, clock=clock)
    return FakeCluster(client=client, informers=informers, recorder=recorder, clock=clock, ctx=ctx)
