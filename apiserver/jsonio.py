"""JSON encoding for the apiserver: :mod:`apimachinery.jsonio` plus a response class using it."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from apimachinery.jsonio import dumps, loads


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)


__all__ = ["FastJSONResponse", "dumps", "loads"]
