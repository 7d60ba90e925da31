"""An in-memory apiserver with :class:`apimachinery.client.ApiClient`'s calls, for unit tests.

:class:`FakeApi` satisfies :class:`apimachinery.api.Api`: typed and raw calls, watch included.
It keeps objects as the server does - encoded JSON without resourceVersion, one global revision
counter - and applies the server's write rules from :mod:`apimachinery.testing.rules`, so a
component that works against it behaves the same against the real server; the contract suite
``tests/apimachinery/test_api_contract.py`` runs both to keep it so.

What tests add on top:

* :meth:`FakeApi.informer` builds informers (the real cache code, :class:`InformerCache`) fed
  synchronously from the fake's writes. With ``auto_deliver`` they see every write at once;
  without it, only when the test calls :meth:`FakeApi.deliver` - how a test reproduces an
  informer lagging behind the component's own writes.
* :meth:`FakeApi.seed`, :meth:`put_raw` and :meth:`remove` change the store directly (state the
  cluster is already in, another client's write, an undecodable object); informers see those at
  once.
* Every call is recorded as an :class:`Action`; :meth:`FakeApi.fail` injects errors per verb and
  resource; ``latency`` delays every call (``max_in_flight`` counts how many overlapped).
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from apimachinery import jsonio
from apimachinery.api import WatchEvent
from apimachinery.errors import ApiError, already_exists, bad_request, cause, conflict, invalid, not_found
from apimachinery.informer import EventSink
from apimachinery.models.base import TypedObject
from apimachinery.resources import NAMESPACES, PODS, ResourceType, by_model
from apimachinery.testing import rules
from apimachinery.testing.informers import Change, FakeInformer, Filter
from apimachinery.timeutil import Clock, FakeClock, format_rfc3339, now_rfc3339

T = TypeVar("T", bound=TypedObject)
Key = tuple[str | None, str]  # (namespace, name)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Action:
    verb: str  # get | list | watch | create | update | update-status | patch | patch-status | delete | bind
    resource: str  # plural: pods, replicasets, ...
    namespace: str | None
    name: str
    body: Any = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass
class _Failure:
    verb: str
    resource: str
    error: ApiError
    left: int
    name: str | None = None

    def hits(self, action: Action) -> bool:
        return (self.left > 0 and self.verb == action.verb and self.resource == action.resource
                and self.name in (None, action.name))


@dataclass(frozen=True)
class _Row:
    data: bytes  # the object as stored: JSON without metadata.resourceVersion
    revision: int

    def value(self) -> dict[str, Any]:
        obj: dict[str, Any] = jsonio.loads(self.data)
        return obj

    def served(self) -> dict[str, Any]:
        return _with_revision(self.value(), self.revision)


def _with_revision(obj: dict[str, Any], revision: int) -> dict[str, Any]:
    return {**obj, "metadata": {**obj.get("metadata", {}), "resourceVersion": str(revision)}}


@dataclass
class _Watcher:
    rt: ResourceType
    queue: asyncio.Queue[Change] = field(default_factory=asyncio.Queue)


class FakeApi:
    """See the module docstring."""

    def __init__(self, *, clock: Clock | None = None, auto_deliver: bool = True, latency: float = 0.0) -> None:
        self.clock = clock or FakeClock()
        self.auto_deliver = auto_deliver
        self.latency = latency
        self.actions: list[Action] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._tables: dict[str, dict[Key, _Row]] = {}
        self._revision = 0
        self._history: list[Change] = []
        self._undelivered: list[Change] = []
        self._informers: list[FakeInformer[Any]] = []
        self._watchers: list[_Watcher] = []
        self._failures: list[_Failure] = []
        self._names = itertools.count(0)
        for name in SYSTEM_NAMESPACES:
            self.put_raw(NAMESPACES, {"metadata": {"name": name}, "status": {"phase": "Active"}})

    async def close(self) -> None:
        return None

    # -- test helpers: the store ---------------------------------------------------------------

    def seed(self, obj: T) -> T:
        """Store ``obj`` as it is (status included), filling uid, creationTimestamp and
        generation if missing; informers see it at once. Returns the stored object."""
        rt = by_model(type(obj))
        body = rules.typed(rt, obj.to_dict())
        meta = body["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self._suffix()
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now_rfc3339(self.clock))
        meta.setdefault("generation", 1)
        return type(obj).model_validate(self._put(rt, body))

    def put_raw(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a wire object verbatim (it need not decode: old data, a bug); informers see it at once."""
        return self._put(rt, rules.clone(obj))

    def _put(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.pop("resourceVersion", None)
        if rt.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        key = (meta.get("namespace"), meta["name"])
        row = self._table(rt).get(key)
        return self._commit(rt, key, obj, old=row.value() if row else None, at_once=True).served()

    def remove(self, model: type[TypedObject], name: str, namespace: str | None = None) -> None:
        """Delete an object from the store now (no grace, no finalizers); informers see it at once."""
        rt = by_model(model)
        key = (namespace if rt.namespaced else None, name)
        row = self._table(rt).get(key)
        if row is not None:
            self._commit_delete(rt, key, row, at_once=True)

    def stored(self, model: type[T], name: str, namespace: str | None = None) -> T | None:
        raw = self.raw(by_model(model), name, namespace)
        return model.model_validate(raw) if raw is not None else None

    def raw(self, rt: ResourceType, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        row = self._table(rt).get((namespace if rt.namespaced else None, name))
        return row.served() if row is not None else None

    def all(self, model: type[T], namespace: str | None = None) -> builtins.list[T]:
        return [model.model_validate(o) for o in self._current(by_model(model), namespace, None)]

    @property
    def revision(self) -> int:
        return self._revision

    # -- test helpers: informers, actions, failures --------------------------------------------

    def informer(self, model: type[T], *, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, recorder: EventSink | None = None) -> FakeInformer[T]:
        """An informer over this fake, synced with the current state (see ``auto_deliver``)."""
        rt = by_model(model)
        filt = Filter.parse(rt, namespace, label_selector, field_selector)
        informer = FakeInformer(model, filt, recorder=recorder)
        informer.sync([(o, int(o["metadata"]["resourceVersion"])) for o in self._current(rt, namespace, None)])
        self._informers.append(informer)
        return informer

    def deliver(self) -> None:
        """Let the informers see every write made so far, in order."""
        pending, self._undelivered = self._undelivered, []
        for change in pending:
            for informer in self._informers:
                informer.observe(change)

    def fail(self, verb: str, resource: str, error: ApiError | None = None, *, times: int = 1,
             name: str | None = None) -> None:
        """Make the next ``times`` calls of ``verb`` on ``resource`` (and ``name``, if given) fail."""
        self._failures.append(_Failure(verb, resource, error or ApiError(500, "InternalError", "injected"), times, name))

    def calls(self, verb: str | None = None, resource: str | None = None) -> builtins.list[Action]:
        return [a for a in self.actions if verb in (None, a.verb) and resource in (None, a.resource)]

    def clear_actions(self) -> None:
        self.actions.clear()

    # -- typed calls (apimachinery.api.TypedApi) ------------------------------------------------

    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T:
        rt = by_model(model)
        await self._call("get", rt, namespace, name)
        return model.model_validate(self._served(rt, namespace, name))

    async def list(self, model: type[T], namespace: str | None = None, *, label_selector: str | None = None,
                   field_selector: str | None = None, limit: int = 0) -> tuple[builtins.list[T], str]:
        items, rv = await self.list_raw(by_model(model), namespace, label_selector=label_selector,
                                        field_selector=field_selector, limit=limit)
        return [model.model_validate(i) for i in items], rv

    async def create(self, obj: T, namespace: str | None = None) -> T:
        rt = by_model(type(obj))
        meta = obj.metadata  # type: ignore[attr-defined]
        namespace = namespace or meta.namespace
        await self._call("create", rt, namespace, meta.name or meta.generate_name or "", obj.model_copy(deep=True))
        return type(obj).model_validate(self._create(rt, namespace, obj.to_dict()))

    async def replace(self, obj: T, *, subresource: str | None = None) -> T:
        rt = by_model(type(obj))
        meta = obj.metadata  # type: ignore[attr-defined]
        verb = "update-status" if subresource == "status" else "update"
        await self._call(verb, rt, meta.namespace, meta.name, obj.model_copy(deep=True))
        return type(obj).model_validate(self._update(rt, meta.namespace, meta.name, obj.to_dict(),
                                                     subresource=subresource))

    async def replace_status(self, obj: T) -> T:
        return await self.replace(obj, subresource="status")

    async def patch(self, model: type[T], name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: str = "merge", subresource: str | None = None) -> T:
        rt = by_model(model)
        verb = "patch-status" if subresource == "status" else "patch"
        await self._call(verb, rt, namespace, name, copy.deepcopy(patch))
        if self._row(rt, namespace, name) is None and patch_type == "apply" and subresource is None:
            return model.model_validate(self._create(rt, namespace, _named(patch, name)))
        current = self._served(rt, namespace, name)
        result = _normalised(rt, rules.patched(current, patch, patch_type, kind=rt.kind), name)
        return model.model_validate(self._update(rt, namespace, name, result, subresource=subresource))

    async def delete(self, model: type[TypedObject], name: str, namespace: str | None = None, *,
                     grace_period: int | None = None, propagation: str | None = None,
                     preconditions: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.delete_raw(by_model(model), name, namespace, grace_period=grace_period,
                                     propagation=propagation, preconditions=preconditions)

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> None:
        await self._call("bind", PODS, namespace, pod, node)
        row = self._row(PODS, namespace, pod)
        if row is None:
            raise not_found("pods", pod)
        old = row.value()
        new = rules.bound_pod(old, node=node, uid=uid, now=now_rfc3339(self.clock))
        self._commit(PODS, (namespace, pod), new, old=old)  # no generation bump: the server's store write

    # -- raw calls (apimachinery.api.WatchApi) -------------------------------------------------

    async def list_raw(self, rt: ResourceType, namespace: str | None = None, *, label_selector: str | None = None,
                       field_selector: str | None = None, limit: int = 0) -> tuple[builtins.list[dict[str, Any]], str]:
        await self._call("list", rt, namespace, "")
        filt = Filter.parse(rt, namespace, label_selector, field_selector)
        return self._current(rt, namespace, filt), str(self._revision)

    async def delete_raw(self, rt: ResourceType, name: str, namespace: str | None = None, *,
                         grace_period: int | None = None, propagation: str | None = None,
                         preconditions: dict[str, str] | None = None) -> dict[str, Any]:
        options = {"gracePeriodSeconds": grace_period, "propagationPolicy": propagation, "preconditions": preconditions}
        await self._call("delete", rt, namespace, name, {k: v for k, v in options.items() if v is not None})
        return self._delete(rt, namespace, name, grace_period=grace_period, propagation=propagation,
                            preconditions=preconditions or {})

    async def watch_raw(self, rt: ResourceType, namespace: str | None = None, *, resource_version: str = "",
                        label_selector: str | None = None, field_selector: str | None = None,
                        timeout_seconds: int = 300, bookmarks: bool = True,
                        send_initial_events: bool = False) -> AsyncIterator[WatchEvent]:
        """Changes after ``resource_version`` in order (or the current state first, as ADDED)."""
        await self._call("watch", rt, namespace, "")
        filt = Filter.parse(rt, namespace, label_selector, field_selector)
        watcher = _Watcher(rt)
        self._watchers.append(watcher)
        head = self._revision
        try:
            if send_initial_events or resource_version in ("", "0"):
                for obj in self._current(rt, namespace, filt):
                    yield WatchEvent("ADDED", obj)
                if send_initial_events:
                    yield WatchEvent("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {
                        "resourceVersion": str(head), "annotations": {INITIAL_EVENTS_END: "true"}}})
            else:
                for change in [c for c in self._history if c.rt is rt and c.revision > int(resource_version)]:
                    if (event := filt.event(change)) is not None:
                        yield event
            async for change in _until(watcher.queue, timeout_seconds):
                if change.revision > head and (event := filt.event(change)) is not None:
                    yield event
        finally:
            self._watchers.remove(watcher)

    # -- the rules, applied --------------------------------------------------------------------

    def _create(self, rt: ResourceType, namespace: str | None, body: dict[str, Any]) -> dict[str, Any]:
        obj = rules.typed(rt, body)
        meta = obj["metadata"]
        self._place_in_namespace(rt, namespace, meta)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self._suffix()
        name = rules.required_name(rt, meta)
        rules.init_metadata(meta, uid=str(uuid.uuid4()), now=now_rfc3339(self.clock))
        rules.reset_status_on_create(rt, obj)
        key = (meta.get("namespace"), name)
        if key in self._table(rt):
            raise already_exists(rt.plural, name, group=rt.group)
        return self._commit(rt, key, obj, old=None).served()

    def _place_in_namespace(self, rt: ResourceType, namespace: str | None, meta: dict[str, Any]) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.get("namespace")
        if given and given != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        meta["namespace"] = namespace
        ns = self._row(NAMESPACES, None, str(namespace))
        if ns is None:
            raise not_found("namespaces", str(namespace))
        if ns.value()["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f"unable to create new content in namespace {namespace} because it is "
                           "being terminated", name=str(namespace), kind="namespaces")

    def _update(self, rt: ResourceType, namespace: str | None, name: str, body: dict[str, Any], *,
                subresource: str | None) -> dict[str, Any]:
        row = self._row(rt, namespace, name)
        if row is None:
            raise not_found(rt.plural, name, group=rt.group)
        obj = rules.typed(rt, body)
        if obj["metadata"].get("name") not in (None, name):
            raise bad_request(f"the name of the object ({obj['metadata'].get('name')}) does not match the name on "
                              f"the URL ({name})")
        expected = rules.expected_revision(obj["metadata"])
        if expected and expected != row.revision:
            raise _conflict(rt, name)
        old = row.value()
        new = rules.with_generation(rules.merge_for_update(rt, obj, old, subresource=subresource), old)
        key = (namespace if rt.namespaced else None, name)
        if new == old:
            return row.served()  # a no-op write takes no revision and sends no event
        if rules.finalizers_done(rt, new):
            return self._commit_delete(rt, key, row)
        return self._commit(rt, key, new, old=old).served()

    def _delete(self, rt: ResourceType, namespace: str | None, name: str, *, grace_period: int | None,
                propagation: str | None, preconditions: dict[str, Any]) -> dict[str, Any]:
        row = self._row(rt, namespace, name)
        if row is None:
            raise not_found(rt.plural, name, group=rt.group)
        old = row.value()
        rules.check_preconditions(rt, old, row.revision, preconditions)
        if rt.kind == "Namespace":
            raise ApiError(405, "MethodNotAllowed", "the fake API does not delete namespaces")
        finalizers = rules.deletion_finalizers(old, propagation)
        grace = rules.grace_period(rt, old, grace_period)
        key = (namespace if rt.namespaced else None, name)
        if not finalizers and grace == 0:
            return self._commit_delete(rt, key, row)
        deadline = format_rfc3339(datetime.fromtimestamp(self.clock.time() + grace, UTC))
        new = rules.mark_deleting(old, finalizers=finalizers, grace=grace, deadline=deadline)
        return row.served() if new == old else self._commit(rt, key, new, old=old).served()

    # -- the store -----------------------------------------------------------------------------

    def _table(self, rt: ResourceType) -> dict[Key, _Row]:
        return self._tables.setdefault(rt.plural, {})

    def _row(self, rt: ResourceType, namespace: str | None, name: str) -> _Row | None:
        return self._table(rt).get((namespace if rt.namespaced else None, name))

    def _served(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        row = self._row(rt, namespace, name)
        if row is None:
            raise not_found(rt.plural, name, group=rt.group)
        return row.served()

    def _current(self, rt: ResourceType, namespace: str | None, filt: Filter | None) -> builtins.list[dict[str, Any]]:
        """Current objects in key order (as the server lists them), optionally filtered."""
        rows = sorted(self._table(rt).items(), key=lambda item: f"{item[0][0] or ''}/{item[0][1]}")
        objs = [row.served() for (ns, _), row in rows if not (rt.namespaced and namespace) or ns == namespace]
        return [o for o in objs if filt is None or filt.matches(o)]

    def _commit(self, rt: ResourceType, key: Key, new: dict[str, Any], *, old: dict[str, Any] | None,
                at_once: bool = False) -> _Row:
        """Store ``new`` (a dict nobody else holds) at the next revision and tell watchers and informers."""
        self._revision += 1
        row = self._table(rt)[key] = _Row(jsonio.dumps(new), self._revision)
        served = _with_revision(new, self._revision)
        self._publish(Change("ADDED" if old is None else "MODIFIED", rt, old, served, self._revision), at_once)
        return row

    def _commit_delete(self, rt: ResourceType, key: Key, row: _Row, *, at_once: bool = False) -> dict[str, Any]:
        """Remove the object; watchers get its last stored value at the deletion's revision."""
        self._revision += 1
        del self._table(rt)[key]
        gone = _Row(row.data, self._revision)
        self._publish(Change("DELETED", rt, row.value(), gone.served(), self._revision), at_once)
        return gone.served()

    def _publish(self, change: Change, at_once: bool) -> None:
        self._history.append(change)
        for watcher in self._watchers:
            if watcher.rt is change.rt:
                watcher.queue.put_nowait(change)
        if at_once:
            for informer in self._informers:
                informer.observe(change)
            return
        self._undelivered.append(change)
        if self.auto_deliver:
            self.deliver()

    def _suffix(self) -> str:
        n = next(self._names)
        size = len(_NAME_ALPHABET)
        return "".join(_NAME_ALPHABET[(n // size**i) % size] for i in range(5))

    async def _call(self, verb: str, rt: ResourceType, namespace: str | None, name: str, body: Any = None) -> None:
        action = Action(verb, rt.plural, namespace, name, body)
        self.actions.append(action)
        if self.latency:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            try:
                await asyncio.sleep(self.latency)
            finally:
                self._in_flight -= 1
        for failure in self._failures:
            if failure.hits(action):
                failure.left -= 1
                raise failure.error


def _conflict(rt: ResourceType, name: str) -> ApiError:
    return conflict(rt.plural, name, group=rt.group)


def _named(body: Any, name: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("an apply patch must be a JSON object")
    return {**body, "metadata": {**(body.get("metadata") or {}), "name": name}}


def _normalised(rt: ResourceType, obj: dict[str, Any], name: str) -> dict[str, Any]:
    """The patched object decoded through its model, as the server's admission does (422 on a type error)."""
    try:
        return rt.model.model_validate(obj).to_dict()
    except ValidationError as err:
        causes = [cause(".".join(str(p) for p in e["loc"]), f"Invalid value: {e['msg']}") for e in err.errors()[:20]]
        raise invalid(rt.kind, name, causes, group=rt.group) from None


async def _until(queue: asyncio.Queue[Change], timeout: float) -> AsyncIterator[Change]:
    """Items from ``queue`` until ``timeout`` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (remaining := deadline - loop.time()) > 0:
        try:
            yield await asyncio.wait_for(queue.get(), remaining)
        except TimeoutError:
            return


