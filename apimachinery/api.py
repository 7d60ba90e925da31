"""The API as its callers see it: the Protocols :class:`apimachinery.client.ApiClient` satisfies.

Controllers, the scheduler, kubelets, informers, leader election and the event recorder are
written against these, not against the HTTP client, so unit tests hand them the in-memory
:class:`apimachinery.testing.FakeApi` instead. Both implementations run through one contract
suite (``tests/apimachinery/test_api_contract.py``), which is what keeps the fake honest.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from apimachinery.models.base import TypedObject
from apimachinery.resources import ResourceType

T = TypeVar("T", bound=TypedObject)


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")


class TypedApi(Protocol):
    """Typed calls on the pydantic models; failures raise :class:`apimachinery.errors.ApiError`."""

    async def get(self, model: type[T], name: str, namespace: str | None = None) -> T: ...

    async def list(
        self,
        model: type[T],
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
    ) -> tuple[builtins.list[T], str]: ...

    async def create(self, obj: T, namespace: str | None = None) -> T: ...

    async def replace(self, obj: T, *, subresource: str | None = None) -> T: ...

    async def replace_status(self, obj: T) -> T: ...

    async def patch(
        self,
        model: type[T],
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> T: ...

    async def delete(
        self,
        model: type[TypedObject],
        name: str,
        namespace: str | None = None,
        *,
        grace_period: int | None = None,
        propagation: str | None = None,
        preconditions: dict[str, str] | None = None,
    ) -> dict[str, Any]: ...

    async def bind(self, namespace: str, pod: str, node: str, *, uid: str | None = None) -> None: ...


class WatchApi(Protocol):
    """What an informer needs: a consistent list, then every change after it."""

    async def list_raw(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
    ) -> tuple[builtins.list[dict[str, Any]], str]: ...

    def watch_raw(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        resource_version: str = "",
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
        bookmarks: bool = True,
        send_initial_events: bool = False,
    ) -> AsyncIterator[WatchEvent]: ...


class Api(TypedApi, WatchApi, Protocol):
    """Everything the components call (podctl's raw requests aside)."""
