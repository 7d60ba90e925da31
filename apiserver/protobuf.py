"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``)."""

from __future__ import annotations

from typing import Any

from apimachinery.errors import ApiError


def decode_protobuf(raw: bytes) -> Any:
    raise ApiError(
        415,
        "UnsupportedMediaType",
        "protobuf request bodies are not supported yet; send application/json",
    )
