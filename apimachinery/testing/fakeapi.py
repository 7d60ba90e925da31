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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from apimachinery.api import Api, WatchEvent
from apimachinery.errors import ApiError, already_exists, bad_request, cause, conflict, invalid, not_found
from apimachinery.informer import EventSink
from apimachinery.models.base import TypedObject
from apimachinery.resources import NAMESPACES, PODS, ResourceType, by_model
from apimachinery.testing import rules
from apimachinery.testing.informers import FakeInformer, Filter
from apimachinery.testing.store import FakeStore, Row, key_of
from apimachinery.timeutil import Clock, FakeClock, format_rfc3339, now_rfc3339

T = TypeVar("T", bound=TypedObject)

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


class FakeApi:
    """See the module docstring."""

    def __init__(self, *, clock: Clock | None = None, auto_deliver: bool = True, latency: float = 0.0) -> None:
        self.clock = clock or FakeClock()
        self.store = FakeStore(auto_deliver=auto_deliver)
        self.latency = latency
        self.actions: list[Action] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._failures: list[_Failure] = []
        self._names = itertools.count(0)
        for name in SYSTEM_NAMESPACES:
            self.put_raw(NAMESPACES, {"metadata": {"name": name}, "status": {"phase": "Active"}})

    async def close(self) -> None:
        return None

    @property
    def auto_deliver(self) -> bool:
        """Whether informers see each write at once (else at :meth:`deliver`)."""
        return self.store.auto_deliver

    @auto_deliver.setter
    def auto_deliver(self, value: bool) -> None:
        self.store.auto_deliver = value

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
        row = self.store.table(rt).get(key)
        return self.store.commit(rt, key, obj, old=row.value() if row else None, at_once=True).served()

    def remove(self, model: type[TypedObject], name: str, namespace: str | None = None) -> None:
        """Delete an object from the store now (no grace, no finalizers); informers see it at once."""
        rt = by_model(model)
        row = self.store.row(rt, namespace, name)
        if row is not None:
            self.store.commit_delete(rt, key_of(rt, namespace, name), row, at_once=True)

    def stored(self, model: type[T], name: str, namespace: str | None = None) -> T | None:
        raw = self.raw(by_model(model), name, namespace)
        return model.model_validate(raw) if raw is not None else None

    def raw(self, rt: ResourceType, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        row = self.store.row(rt, namespace, name)
        return row.served() if row is not None else None

    def all(self, model: type[T], namespace: str | None = None) -> builtins.list[T]:
        return [model.model_validate(o) for o in self.store.current(by_model(model), namespace, None)]

    @property
    def revision(self) -> int:
        return self.store.revision

    # -- test helpers: informers, actions, failures --------------------------------------------

    def informer(self, model: type[T], *, namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None, recorder: EventSink | None = None) -> FakeInformer[T]:
        """An informer over this fake, synced with the current state (see ``auto_deliver``)."""
        scope = Filter.parse(by_model(model), namespace, label_selector, field_selector)
        informer = FakeInformer(model, scope, recorder=recorder)
        self.store.add_informer(informer)
        return informer

    def deliver(self) -> None:
        """Let the informers see every write made so far, in order."""
        self.store.deliver()

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
        self.store.commit(PODS, (namespace, pod), new, old=old)  # no generation bump: the server's store write

    # -- raw calls (apimachinery.api.WatchApi) -------------------------------------------------

    async def list_raw(self, rt: ResourceType, namespace: str | None = None, *, label_selector: str | None = None,
                       field_selector: str | None = None, limit: int = 0) -> tuple[builtins.list[dict[str, Any]], str]:
        await self._call("list", rt, namespace, "")
        filt = Filter.parse(rt, namespace, label_selector, field_selector)
        return self.store.current(rt, namespace, filt), str(self.store.revision)

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
        if send_initial_events or resource_version in ("", "0"):
            after = self.store.revision
            for obj in self.store.current(rt, namespace, filt):
                yield WatchEvent("ADDED", obj)
            if send_initial_events:
                yield WatchEvent("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {
                    "resourceVersion": str(after), "annotations": {INITIAL_EVENTS_END: "true"}}})
        else:
            after = rules.expected_revision({"resourceVersion": resource_version})
        async for change in self.store.changes(rt, after=after, timeout=timeout_seconds):
            if (event := filt.event(change)) is not None:
                yield event

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
        if key in self.store.table(rt):
            raise already_exists(rt.plural, name, group=rt.group)
        return self.store.commit(rt, key, obj, old=None).served()

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
        key = key_of(rt, namespace, name)
        if new == old:
            return row.served()  # a no-op write takes no revision and sends no event
        if rules.finalizers_done(rt, new):
            return self.store.commit_delete(rt, key, row)
        return self.store.commit(rt, key, new, old=old).served()

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
        key = key_of(rt, namespace, name)
        if not finalizers and grace == 0:
            return self.store.commit_delete(rt, key, row)
        deadline = format_rfc3339(datetime.fromtimestamp(self.clock.time() + grace, UTC))
        new = rules.mark_deleting(old, finalizers=finalizers, grace=grace, deadline=deadline)
        return row.served() if new == old else self.store.commit(rt, key, new, old=old).served()

    # -- the store -----------------------------------------------------------------------------

    def _row(self, rt: ResourceType, namespace: str | None, name: str) -> Row | None:
        return self.store.row(rt, namespace, name)

    def _served(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        row = self._row(rt, namespace, name)
        if row is None:
            raise not_found(rt.plural, name, group=rt.group)
        return row.served()

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


def _satisfies_api(fake: FakeApi) -> Api:
    """mypy checks here that the fake offers every call of :class:`apimachinery.api.Api`."""
    return fake
