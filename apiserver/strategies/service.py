"""Services: type-dependent defaults and fields, ports, ClusterIPs (``pkg/registry/core/service``).

Validation is Kubernetes' ``ValidateService`` for a single-stack IPv4 cluster, narrowed to what
podvisor's service proxy carries: what it cannot honour (SCTP, ``externalIPs``, the ``Local``
traffic policies) is refused rather than stored and silently ignored. Allocation itself (the
ClusterIP, node ports) needs the store and lives in :mod:`apiserver.servicealloc`; this module
only says which types hold what, and, on update, puts back the allocated values a client left
out and drops those the new type no longer has, as Kubernetes' strategy and ``alloc.go`` do.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from apiserver.defaults import dicts, sub, unset
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    FIELD_IMMUTABLE,
    as_dict,
    as_dicts,
    as_int,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    duplicate,
    enum_value,
    forbidden,
    invalid_value,
    not_supported,
    port_number,
    port_number_or_name,
    required,
    required_name,
    validate_labels,
)

HEADLESS = "None"
CLUSTER_IP, NODE_PORT, LOAD_BALANCER, EXTERNAL_NAME = "ClusterIP", "NodePort", "LoadBalancer", "ExternalName"
TYPES = (CLUSTER_IP, EXTERNAL_NAME, LOAD_BALANCER, NODE_PORT)
#: What the node proxy carries; Kubernetes also has SCTP.
SERVICE_PROTOCOLS = ("TCP", "UDP")
DEFAULT_CLIENT_IP_TIMEOUT = 10800
MAX_CLIENT_IP_TIMEOUT = 86400


def service_type(spec: Obj) -> str:
    return str(spec.get("type") or CLUSTER_IP)


def needs_cluster_ip(spec: Obj) -> bool:
    """Every type but ExternalName has a ClusterIP (or is headless)."""
    return service_type(spec) != EXTERNAL_NAME


def has_node_ports(spec: Obj) -> bool:
    return service_type(spec) in (NODE_PORT, LOAD_BALANCER)


def allocates_node_ports(spec: Obj) -> bool:
    """NodePort always; LoadBalancer unless ``allocateLoadBalancerNodePorts: false``."""
    if service_type(spec) == LOAD_BALANCER:
        return spec.get("allocateLoadBalancerNodePorts") is not False
    return service_type(spec) == NODE_PORT


# --- defaults ------------------------------------------------------------------------------------


def _default_service(service: Obj) -> None:
    spec = sub(service, "spec")
    if spec is None:
        return
    unset(spec, "type", CLUSTER_IP)
    unset(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig")
        config = spec["sessionAffinityConfig"] = config if isinstance(config, dict) else {}
        client_ip = config.get("clientIP")
        client_ip = config["clientIP"] = client_ip if isinstance(client_ip, dict) else {}
        unset(client_ip, "timeoutSeconds", DEFAULT_CLIENT_IP_TIMEOUT)
    for port in dicts(spec, "ports"):
        unset(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and port.get("port") is not None:
            port["targetPort"] = port["port"]
    kind = spec["type"]
    if kind in (NODE_PORT, LOAD_BALANCER) or spec.get("externalIPs"):
        unset(spec, "externalTrafficPolicy", "Cluster")
    if kind in (CLUSTER_IP, NODE_PORT, LOAD_BALANCER):
        unset(spec, "internalTrafficPolicy", "Cluster")
    if kind == LOAD_BALANCER:
        unset(spec, "allocateLoadBalancerNodePorts", True)
    if kind != EXTERNAL_NAME:
        # Set by the service registry of a single-stack IPv4 cluster, not by the scheme.
        unset(spec, "ipFamilyPolicy", "SingleStack")
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]
        cluster_ips = spec.get("clusterIPs")
        if spec.get("clusterIP") and not cluster_ips:
            spec["clusterIPs"] = [spec["clusterIP"]]
        elif not spec.get("clusterIP") and isinstance(cluster_ips, list) and cluster_ips:
            spec["clusterIP"] = cluster_ips[0]


# --- validation ----------------------------------------------------------------------------------


def _validate_service(service: Obj) -> list[Cause]:
    spec = as_dict(service.get("spec"))
    kind = spec.get("type")
    causes = enum_value(spec, "type", "spec", TYPES)
    causes += validate_labels(spec.get("selector"), "spec.selector")
    if kind == EXTERNAL_NAME:
        causes += required_name("spec.externalName", spec.get("externalName"), dns1123_subdomain_errors)
    ports = as_dicts(spec.get("ports"))
    if not ports and kind != EXTERNAL_NAME and spec.get("clusterIP") != HEADLESS:
        causes.append(required("spec.ports"))
    causes += _validate_cluster_ips(spec)
    causes += _validate_affinity(spec)
    causes += _validate_external(spec)
    return causes + _validate_service_ports(ports, spec)


def _validate_cluster_ips(spec: Obj) -> list[Cause]:
    ip, ips = spec.get("clusterIP"), spec.get("clusterIPs")
    kind = service_type(spec)
    if kind == EXTERNAL_NAME:
        return [forbidden("spec.clusterIP", "may not be set for ExternalName services")] if ip or ips else []
    causes = enum_value(spec, "ipFamilyPolicy", "spec", ("PreferDualStack", "RequireDualStack", "SingleStack"))
    if spec.get("ipFamilyPolicy") == "RequireDualStack":
        causes.append(invalid_value("spec.ipFamilyPolicy", "RequireDualStack",
                                    "this cluster is not configured for dual-stack services"))
    for i, family in enumerate(spec.get("ipFamilies") or []):
        if family != "IPv4":
            causes.append(invalid_value(f"spec.ipFamilies[{i}]", family, "not configured on this cluster"))
    if isinstance(ips, list) and len(ips) > 1:
        causes.append(invalid_value("spec.clusterIPs", ips, "this cluster is single-stack IPv4: "
                                                            "a Service has at most one ClusterIP"))
    if isinstance(ips, list) and ips and ips[0] != ip:
        causes.append(invalid_value("spec.clusterIPs[0]", ips[0], "first value must match `clusterIP`"))
    if ip == HEADLESS:
        if kind != CLUSTER_IP:
            causes.append(invalid_value("spec.clusterIPs[0]", ip, f"may not be set to 'None' for {kind} services"))
    elif ip:
        causes += _ip_causes(str(ip))
    return causes


def _ip_causes(ip: str) -> list[Cause]:
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return [invalid_value("spec.clusterIPs[0]", ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]
    if parsed.version != 4:
        return [invalid_value("spec.clusterIPs[0]", ip, "expected an IPv4 value as indicated by `ipFamilies[0]`")]
    return []


def _validate_affinity(spec: Obj) -> list[Cause]:
    causes = enum_value(spec, "sessionAffinity", "spec", ("ClientIP", "None"))
    config = spec.get("sessionAffinityConfig")
    if spec.get("sessionAffinity") != "ClientIP":
        if config:
            causes.append(forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None"))
        return causes
    path = "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
    timeout = as_dict(as_dict(config).get("clientIP")).get("timeoutSeconds")
    if timeout is None:
        causes.append(required(path))
    elif not 0 < (as_int(timeout) or 0) <= MAX_CLIENT_IP_TIMEOUT:
        causes.append(invalid_value(path, timeout, f"must be greater than 0 and less than {MAX_CLIENT_IP_TIMEOUT}"))
    return causes


def _validate_external(spec: Obj) -> list[Cause]:
    """Fields for traffic from outside: refused where the node proxy cannot honour them."""
    kind = service_type(spec)
    causes: list[Cause] = []
    if spec.get("externalIPs"):
        causes.append(forbidden("spec.externalIPs", "externalIPs have been disabled: "
                                                    "the service proxy does not carry traffic to them"))
    if spec.get("loadBalancerIP") and kind != LOAD_BALANCER:
        causes.append(forbidden("spec.loadBalancerIP", "may only be used when `type` is 'LoadBalancer'"))
    if spec.get("allocateLoadBalancerNodePorts") is not None and kind != LOAD_BALANCER:
        causes.append(forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"))
    policy = spec.get("externalTrafficPolicy")
    if policy and kind not in (NODE_PORT, LOAD_BALANCER) and not spec.get("externalIPs"):
        causes.append(invalid_value("spec.externalTrafficPolicy", policy,
                                    "may only be set for externally-accessible services"))
    elif policy not in (None, "Cluster"):
        causes.append(not_supported("spec.externalTrafficPolicy", policy, ["Cluster"]))
    if spec.get("internalTrafficPolicy") not in (None, "Cluster"):
        causes.append(not_supported("spec.internalTrafficPolicy", spec["internalTrafficPolicy"], ["Cluster"]))
    if spec.get("healthCheckNodePort"):
        causes.append(forbidden("spec.healthCheckNodePort", "may only be set when `type` is 'LoadBalancer' "
                                                            "and `externalTrafficPolicy` is 'Local'"))
    return causes


def _validate_service_ports(ports: list[Obj], spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    seen: set[tuple[Any, Any]] = set()
    node_ports: set[tuple[Any, Any]] = set()
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
        causes += enum_value(port, "protocol", path, SERVICE_PROTOCOLS)
        if port.get("targetPort") is not None:
            causes += port_number_or_name(port["targetPort"], f"{path}.targetPort")
        key = (port.get("port"), port.get("protocol"))
        if key in seen:
            causes.append(duplicate(path, {"port": key[0], "protocol": key[1]}))
        seen.add(key)
        causes += _validate_node_port(port, path, spec, node_ports)
    return causes


def _validate_node_port(port: Obj, path: str, spec: Obj, seen: set[tuple[Any, Any]]) -> list[Cause]:
    node_port = port.get("nodePort")
    if node_port in (None, 0):
        return []
    if not has_node_ports(spec):
        return [forbidden(f"{path}.nodePort", f"may not be used when `type` is '{service_type(spec)}'")]
    key = (node_port, port.get("protocol"))
    if key in seen:
        return [duplicate(f"{path}.nodePort", node_port)]
    seen.add(key)
    return port_number(node_port, f"{path}.nodePort")


def _validate_service_update(new: Obj, old: Obj) -> list[Cause]:
    new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    new_ip, old_ip = new_spec.get("clusterIP"), old_spec.get("clusterIP")
    if needs_cluster_ip(new_spec) and needs_cluster_ip(old_spec) and old_ip and new_ip != old_ip:
        return [invalid_value("spec.clusterIP", new_ip, FIELD_IMMUTABLE)]
    return []


# --- update: what the new type keeps and loses ---------------------------------------------------


def _drop_type_dependent(new: Obj, old: Obj) -> None:
    """Clear what the old type had and the new one may not, when the client sent it back unchanged."""
    if needs_cluster_ip(old) and not needs_cluster_ip(new):
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if new.get(key) in (None, "", [], old.get(key)):
                new.pop(key, None)
    if has_node_ports(old) and not has_node_ports(new):
        new_ports, old_ports = as_dicts(new.get("ports")), as_dicts(old.get("ports"))
        if [p.get("nodePort") or 0 for p in new_ports] == [p.get("nodePort") or 0 for p in old_ports][:len(new_ports)]:
            for port in new_ports:
                port.pop("nodePort", None)
        if new.get("externalTrafficPolicy") == old.get("externalTrafficPolicy"):
            new.pop("externalTrafficPolicy", None)
    lb_only = new.get("allocateLoadBalancerNodePorts") == old.get("allocateLoadBalancerNodePorts")
    if service_type(old) == LOAD_BALANCER and service_type(new) != LOAD_BALANCER and lb_only:
        new.pop("allocateLoadBalancerNodePorts", None)


def _patch_allocated(new: Obj, old: Obj) -> None:
    """Put back the ClusterIP and node ports a client left out (an update is idempotent)."""
    if needs_cluster_ip(old) and needs_cluster_ip(new) and old.get("clusterIP"):
        if new.get("clusterIP") and new.get("clusterIPs") == old.get("clusterIPs"):
            new["clusterIPs"] = [new["clusterIP"]]  # only clusterIP was edited: clusterIPs follows it
        if not new.get("clusterIP"):
            new["clusterIP"] = old["clusterIP"]
        if not new.get("clusterIPs") and new["clusterIP"] == old["clusterIP"] and old.get("clusterIPs"):
            new["clusterIPs"] = list(old["clusterIPs"])
    if has_node_ports(old) and has_node_ports(new):
        new_ports, old_ports = as_dicts(new.get("ports")), as_dicts(old.get("ports"))
        used = {p.get("nodePort") for p in old_ports} & {p.get("nodePort") for p in new_ports}
        by_name = {p.get("name"): p.get("nodePort") for p in old_ports}
        for port in new_ports:
            kept = by_name.get(port.get("name"))
            if not port.get("nodePort") and kept and kept not in used:
                port["nodePort"] = kept


class ServiceStrategy(Strategy):
    def prepare_for_create(self, obj: Obj) -> None:
        """Status starts as Go encodes an empty ServiceStatus: ``{"loadBalancer": {}}``."""
        obj["status"] = {"loadBalancer": {}}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        new_spec, old_spec = sub(new, "spec"), as_dict(old.get("spec"))
        if new_spec is None:
            return
        _drop_type_dependent(new_spec, old_spec)
        _patch_allocated(new_spec, old_spec)

    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_service(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_service(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_service_update(new, old)


STRATEGY = ServiceStrategy("Service")
