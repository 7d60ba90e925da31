"""The ConfigMaps and Secrets a node's pods read, fetched one by name.

A node may read only the objects its pods reference (the Node authorizer), so every read is a
GET by name, never a list. Environments want text (:meth:`ConfigMapSource.config_map`,
:meth:`ConfigMapSource.secret`); volumes want bytes, ``binaryData`` included, and whether the
object is ``immutable`` (:meth:`ConfigMapSource.files`), which lets the kubelet stop re-reading
it, as Kubernetes' object managers stop watching an immutable object.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from apimachinery.errors import ApiError
from apimachinery.models.core import ConfigMap, Secret

CONFIG_MAP = "configmap"
SECRET = "secret"


@dataclass(frozen=True)
class ObjectFiles:
    """A ConfigMap's ``data`` and ``binaryData`` or a Secret's decoded ``data``, as bytes."""

    data: Mapping[str, bytes] = field(default_factory=dict)
    immutable: bool = False


class ConfigMapSource(Protocol):
    async def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        """The ConfigMap's ``data``, None if it does not exist."""
        ...

    async def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's ``data``, decoded, None if it does not exist."""
        ...

    async def files(self, kind: str, namespace: str, name: str) -> ObjectFiles | None:
        """A ConfigMap's (``kind`` ``configmap``) or Secret's (``secret``) keys as bytes; None if absent."""
        ...


class ClientConfigMaps:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def _get(self, model: type[Any], namespace: str, name: str) -> Any:
        try:
            return await self.client.get(model, name, namespace)
        except ApiError as err:
            if err.code == 404:
                return None
            raise

    async def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        found = await self._get(ConfigMap, namespace, name)
        return None if found is None else dict(found.data or {})

    async def secret(self, namespace: str, name: str) -> dict[str, str] | None:
        found = await self._get(Secret, namespace, name)
        if found is None:
            return None
        decoded = {key: base64.b64decode(value).decode("utf-8", "replace") for key, value in (found.data or {}).items()}
        return {**(found.string_data or {}), **decoded}

    async def files(self, kind: str, namespace: str, name: str) -> ObjectFiles | None:
        found = await self._get(ConfigMap if kind == CONFIG_MAP else Secret, namespace, name)
        if found is None:
            return None
        if kind == CONFIG_MAP:
            data = {key: value.encode() for key, value in (found.data or {}).items()}
            binary = found.binary_data or {}
            data.update({key: base64.b64decode(value) for key, value in binary.items()})
        else:
            data = {key: base64.b64decode(value) for key, value in (found.data or {}).items()}
        return ObjectFiles(data=data, immutable=bool(found.immutable))
