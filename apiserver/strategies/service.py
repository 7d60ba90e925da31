"""Services: type-dependent defaults, ports, selectors, an immutable ``clusterIP`` (``pkg/registry/core/service``)."""

from __future__ import annotations

from apiserver.defaults import dicts, sub, unset
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    FIELD_IMMUTABLE,
    PROTOCOLS,
    as_dict,
    as_dicts,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    duplicate,
    enum_value,
    invalid_value,
    port_number,
    port_number_or_name,
    required,
    required_name,
    validate_labels,
)


def _default_service(service: Obj) -> None:
    spec = sub(service, "spec")
    if spec is None:
        return
    unset(spec, "type", "ClusterIP")
    unset(spec, "sessionAffinity", "None")
    for port in dicts(spec, "ports"):
        unset(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and port.get("port") is not None:
            port["targetPort"] = port["port"]
    service_type = spec["type"]
    if service_type in ("NodePort", "LoadBalancer") or spec.get("externalIPs"):
        unset(spec, "externalTrafficPolicy", "Cluster")
    if service_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        unset(spec, "internalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        unset(spec, "allocateLoadBalancerNodePorts", True)
    if service_type != "ExternalName":
        # Set by the service registry of a single-stack IPv4 cluster, not by the scheme.
        unset(spec, "ipFamilyPolicy", "SingleStack")
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]


def _validate_service(service: Obj) -> list[Cause]:
    spec = as_dict(service.get("spec"))
    service_type = spec.get("type")
    causes = enum_value(spec, "type", "spec", ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"))
    causes += enum_value(spec, "sessionAffinity", "spec", ("ClientIP", "None"))
    causes += validate_labels(spec.get("selector"), "spec.selector")
    if service_type == "ExternalName":
        causes += required_name("spec.externalName", spec.get("externalName"), dns1123_subdomain_errors)
    ports = as_dicts(spec.get("ports"))
    if not ports and service_type != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(required("spec.ports"))
    return causes + _validate_service_ports(ports)


def _validate_service_ports(ports: list[Obj]) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        name = port.get("name")
        if not name and len(ports) > 1:
            causes.append(required(f"{path}.name"))
        elif name:
            causes += [invalid_value(f"{path}.name", name, msg) for msg in dns1123_label_errors(str(name))]
            if name in names:
                causes.append(duplicate(f"{path}.name", name))
            names.add(str(name))
        causes += port_number(port.get("port"), f"{path}.port")
        causes += enum_value(port, "protocol", path, PROTOCOLS)
        if port.get("targetPort") is not None:
            causes += port_number_or_name(port["targetPort"], f"{path}.targetPort")
    return causes


def _validate_service_update(new: Obj, old: Obj) -> list[Cause]:
    new_ip, old_ip = as_dict(new.get("spec")).get("clusterIP"), as_dict(old.get("spec")).get("clusterIP")
    if new_ip and old_ip and new_ip != old_ip:
        return [invalid_value("spec.clusterIP", new_ip, FIELD_IMMUTABLE)]
    return []


class ServiceStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """Status starts as Go encodes an empty ServiceStatus: ``{"loadBalancer": {}}``."""
        obj["status"] = {"loadBalancer": {}}

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_service(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_service(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_service_update(new, old)


STRATEGY = ServiceStrategy("Service")
