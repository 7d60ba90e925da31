"""The admission plugin interface and the chain the registry runs on every write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from apimachinery.resources import ResourceType
from apiserver.authn.user import UserInfo

Obj = dict[str, Any]

CREATE, UPDATE, DELETE, CONNECT = "CREATE", "UPDATE", "DELETE", "CONNECT"


@dataclass(frozen=True)
class Attributes:
    operation: str  # CREATE / UPDATE / DELETE / CONNECT
    rt: ResourceType
    namespace: str
    name: str
    obj: Obj | None  # the new object (None on DELETE)
    old: Obj | None  # the stored object (None on CREATE)
    user: UserInfo | None  # None: an in-process caller without authentication
    subresource: str = ""
    dry_run: bool = False


class Plugin(Protocol):
    """``admit`` may change ``attrs.obj`` in place (mutating phase); ``validate`` may only refuse.

    Both return warnings for the client's ``Warning`` header and raise ApiError to refuse.
    """

    def admit(self, attrs: Attributes) -> list[str]: ...

    def validate(self, attrs: Attributes) -> list[str]: ...


class Chain:
    """Plugins in order: every ``admit``, then every ``validate`` (Kubernetes' two phases)."""

    def __init__(self, plugins: Sequence[Plugin] = ()) -> None:
        self.plugins = tuple(plugins)

    def admit(self, attrs: Attributes) -> list[str]:
        return [warning for plugin in self.plugins for warning in plugin.admit(attrs)]

    def validate(self, attrs: Attributes) -> list[str]:
        return [warning for plugin in self.plugins for warning in plugin.validate(attrs)]
