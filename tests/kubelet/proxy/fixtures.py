"""Services and EndpointSlices for the proxy's tests, written as the API would hold them."""

from __future__ import annotations

from typing import Any

from apimachinery.models.core import Service
from apimachinery.models.discovery import EndpointSlice


def service(name: str, ip: str | None = "10.96.0.10", *, ports: list[dict[str, Any]] | None = None,
            namespace: str = "default", **spec: Any) -> Service:
    body = {"clusterIP": ip, "ports": ports if ports is not None else [{"name": "http", "port": 80}], **spec}
    return Service.model_validate({"metadata": {"name": name, "namespace": namespace}, "spec": body})


def ep(ip: str, *, ready: bool | None = None, serving: bool | None = None,
       terminating: bool | None = None) -> dict[str, Any]:
    conditions = {k: v for k, v in (("ready", ready), ("serving", serving), ("terminating", terminating))
                  if v is not None}
    return {"addresses": [ip], "conditions": conditions}


def endpoint_slice(service_name: str, endpoints: list[dict[str, Any]], *, ports: list[dict[str, Any]] | None = None,
                   name: str = "", namespace: str = "default") -> EndpointSlice:
    return EndpointSlice.model_validate({
        "metadata": {"name": name or f"{service_name}-abc", "namespace": namespace,
                     "labels": {"kubernetes.io/service-name": service_name}},
        "addressType": "IPv4", "endpoints": endpoints,
        "ports": ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}],
    })
