"""Streaming watches with the Accept header podctl needs.

``get -w`` wants each watch event as a one-row server-side Table, so the request must carry the
Table ``Accept`` header; the shared client's ``watch_raw`` cannot send one yet, so this module
streams through the client's connection pool itself. Everything else uses ``watch_raw``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from apimachinery.client import ApiClient, WatchEvent
from apimachinery.errors import ApiError


async def watch_with_accept(client: ApiClient, path: str, *, accept: str, params: dict[str, Any],
                            timeout: float) -> AsyncIterator[WatchEvent]:
    """``GET path?watch=true`` with an explicit Accept header; yields decoded events."""
    http: httpx.AsyncClient = client._http  # the shared client has no per-call headers on streams
    query = {k: v for k, v in {**params, "watch": "true"}.items() if v not in (None, "")}
    try:
        async with http.stream("GET", path, params=query, headers={"Accept": accept},
                               timeout=httpx.Timeout(timeout + 30, connect=10.0)) as response:
            if response.status_code >= 400:
                await response.aread()
                try:
                    body: Any = response.json()
                except ValueError:
                    body = response.text
                raise ApiError.from_status(response.status_code, body)
            async for line in response.aiter_lines():
                if line.strip():
                    data = json.loads(line)
                    yield WatchEvent(data.get("type", ""), data.get("object") or {})
    except httpx.TransportError as err:
        raise ApiError(503, "ServiceUnavailable", f"connection to the apiserver lost: {err}") from err
