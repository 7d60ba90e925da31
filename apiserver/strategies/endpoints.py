"""Endpoints (v1) and EndpointSlices (``discovery.k8s.io/v1``): what the service proxy and DNS may trust.

Both kinds are written by the endpoints controllers (and, for Services without a selector, by
users), and read by every node's proxy and by cluster DNS, which turn each address into kernel
rules or answers without checking it again. So the server refuses what Kubernetes refuses
(``ValidateEndpoints`` in ``pkg/apis/core/validation``, ``ValidateEndpointSlice`` in
``pkg/apis/discovery/validation``): addresses that are not IPs of the slice's type, or that are
unspecified, loopback or link-local (a proxy rule to them would reach the node itself); unnamed
ports where several share a subset; more than 1000 endpoints or 100 ports in one slice; and a
slice's ``addressType`` changing after creation. Port protocols default to TCP as the scheme does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from apiserver.defaults import dicts, unset
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
    is_label_key,
    not_supported,
    port_number,
    required,
    too_many,
)

ADDRESS_TYPES = ("IPv4", "IPv6", "FQDN")
MAX_SLICE_ENDPOINTS = 1000
MAX_SLICE_PORTS = 100
MAX_ENDPOINT_ADDRESSES = 100

_IPV4_MSG = "must be a valid IPv4 address"
_IPV6_MSG = "must be a valid IPv6 address"
_IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


# --- addresses -----------------------------------------------------------------------------------


def special_ip_errors(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[str]:
    """Kubernetes' ``ValidateNonSpecialIP``: addresses a proxy rule must never point at."""
    if ip.is_unspecified:
        return [f"may not be unspecified ({ip})"]
    if ip.is_loopback:
        return ["may not be in the loopback range (127.0.0.0/8, ::1/128)"]
    if ip.is_link_local:
        return ["may not be in the link-local range (169.254.0.0/16, fe80::/10)"]
    if ip in ipaddress.ip_network("224.0.0.0/24") or ip in ipaddress.ip_network("ff02::/16"):
        return ["may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"]
    return []


def _ip_causes(value: object, path: str, address_type: str | None) -> list[Cause]:
    """A valid IP (of ``address_type`` when given) that is not special."""
    try:
        ip = ipaddress.ip_address(str(value)) if isinstance(value, str) else None
    except ValueError:
        ip = None
    wanted = {"IPv4": (4, _IPV4_MSG), "IPv6": (6, _IPV6_MSG)}.get(address_type or "", (0, _IP_MSG))
    if ip is None or (wanted[0] and ip.version != wanted[0]):
        return [invalid_value(path, value, wanted[1])]
    return [invalid_value(path, value, msg) for msg in special_ip_errors(ip)]


def _fqdn_causes(value: object, path: str) -> list[Cause]:
    text = str(value or "")
    if not text:
        return [required(path)]
    if "." not in text.rstrip("."):
        return [invalid_value(path, value, "should be a domain with at least two segments separated by dots")]
    return [invalid_value(path, value, msg) for msg in dns1123_subdomain_errors(text.rstrip("."))]


def _name_causes(value: object, path: str, errors: Callable[[str], list[str]] = dns1123_label_errors) -> list[Cause]:
    """An optional name: nothing when unset, else one cause per syntax error."""
    if value in (None, ""):
        return []
    return [invalid_value(path, value, msg) for msg in errors(str(value))]


# --- ports ---------------------------------------------------------------------------------------


def _default_ports(parent: Obj, key: str) -> None:
    for port in dicts(parent, key):
        unset(port, "protocol", "TCP")


def _protocol_causes(port: Obj, path: str) -> list[Cause]:
    if port.get("protocol") in (None, ""):
        return [required(f"{path}.protocol")]
    return enum_value(port, "protocol", path, PROTOCOLS)


def _app_protocol_causes(port: Obj, path: str) -> list[Cause]:
    value = port.get("appProtocol")
    if value in (None, ""):
        return []
    error = is_label_key(str(value))
    return [] if error is None else [invalid_value(f"{path}.appProtocol", value, error)]


def _validate_port_names(ports: list[Obj], path: str, *, require_names: bool) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        name = port.get("name")
        if not name:
            if require_names:
                causes.append(required(f"{path}[{i}].name"))
            elif "" in seen:
                causes.append(duplicate(f"{path}[{i}].name", name or ""))
            seen.add("")
            continue
        causes += _name_causes(name, f"{path}[{i}].name")
        if name in seen:
            causes.append(duplicate(f"{path}[{i}].name", name))
        seen.add(str(name))
    return causes


# --- Endpoints -----------------------------------------------------------------------------------


def _validate_endpoint_address(address: Obj, path: str) -> list[Cause]:
    causes = _ip_causes(address.get("ip"), f"{path}.ip", None)
    causes += _name_causes(address.get("hostname"), f"{path}.hostname")
    return causes + _name_causes(address.get("nodeName"), f"{path}.nodeName", dns1123_subdomain_errors)


def _validate_endpoints(endpoints: Obj) -> list[Cause]:
    causes: list[Cause] = []
    subsets = endpoints.get("subsets")
    for i, subset in enumerate(as_dicts(subsets)):
        path = f"subsets[{i}]"
        addresses, not_ready = as_dicts(subset.get("addresses")), as_dicts(subset.get("notReadyAddresses"))
        if not addresses and not not_ready:
            causes.append(required(path, "must specify `addresses` or `notReadyAddresses`"))
        for j, address in enumerate(addresses):
            causes += _validate_endpoint_address(address, f"{path}.addresses[{j}]")
        for j, address in enumerate(not_ready):
            causes += _validate_endpoint_address(address, f"{path}.notReadyAddresses[{j}]")
        ports = as_dicts(subset.get("ports"))
        causes += _validate_port_names(ports, f"{path}.ports", require_names=len(ports) > 1)
        for j, port in enumerate(ports):
            causes += port_number(port.get("port"), f"{path}.ports[{j}].port")
            causes += _protocol_causes(port, f"{path}.ports[{j}]")
            causes += _app_protocol_causes(port, f"{path}.ports[{j}]")
    return causes


class EndpointsStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        for subset in dicts(obj, "subsets"):
            _default_ports(subset, "ports")

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_endpoints(obj)


# --- EndpointSlice -------------------------------------------------------------------------------


def _validate_slice_endpoint(endpoint: Obj, path: str, address_type: str) -> list[Cause]:
    addresses = endpoint.get("addresses")
    causes: list[Cause] = []
    if not isinstance(addresses, list) or not addresses:
        causes.append(required(f"{path}.addresses", "must contain at least 1 address"))
    elif len(addresses) > MAX_ENDPOINT_ADDRESSES:
        causes.append(too_many(f"{path}.addresses", len(addresses), MAX_ENDPOINT_ADDRESSES))
    for i, address in enumerate(addresses if isinstance(addresses, list) else []):
        if address_type == "FQDN":
            causes += _fqdn_causes(address, f"{path}.addresses[{i}]")
        elif address_type in ("IPv4", "IPv6"):
            causes += _ip_causes(address, f"{path}.addresses[{i}]", address_type)
    causes += _name_causes(endpoint.get("hostname"), f"{path}.hostname")
    causes += _name_causes(endpoint.get("nodeName"), f"{path}.nodeName", dns1123_subdomain_errors)
    for key, value in as_dict(endpoint.get("conditions")).items():
        if value is not None and not isinstance(value, bool):
            causes.append(invalid_value(f"{path}.conditions.{key}", value, "must be a boolean"))
    return causes


def _validate_slice_ports(ports: list[Obj]) -> list[Cause]:
    if len(ports) > MAX_SLICE_PORTS:
        return [too_many("ports", len(ports), MAX_SLICE_PORTS)]
    causes = _validate_port_names(ports, "ports", require_names=False)
    for i, port in enumerate(ports):
        if port.get("port") is not None:
            causes += port_number(port.get("port"), f"ports[{i}].port")
        causes += _protocol_causes(port, f"ports[{i}]")
        causes += _app_protocol_causes(port, f"ports[{i}]")
    return causes


def _validate_endpoint_slice(obj: Obj) -> list[Cause]:
    address_type = obj.get("addressType")
    if address_type in (None, ""):
        causes = [required("addressType")]
    elif address_type not in ADDRESS_TYPES:
        causes = [not_supported("addressType", address_type, ADDRESS_TYPES)]
    else:
        causes = []
    endpoints = obj.get("endpoints")
    if isinstance(endpoints, list) and len(endpoints) > MAX_SLICE_ENDPOINTS:
        causes.append(too_many("endpoints", len(endpoints), MAX_SLICE_ENDPOINTS))
    else:
        for i, endpoint in enumerate(as_dicts(endpoints)):
            causes += _validate_slice_endpoint(endpoint, f"endpoints[{i}]", str(address_type))
    return causes + _validate_slice_ports(as_dicts(obj.get("ports")))


def _validate_endpoint_slice_update(new: Obj, old: Obj) -> list[Cause]:
    if new.get("addressType") != old.get("addressType"):
        return [invalid_value("addressType", new.get("addressType"), FIELD_IMMUTABLE)]
    return []


class EndpointSliceStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        for port in dicts(obj, "ports"):
            unset(port, "name", "")
            unset(port, "protocol", "TCP")

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_endpoint_slice(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_endpoint_slice_update(new, old)


ENDPOINTS = EndpointsStrategy("Endpoints")
ENDPOINT_SLICE = EndpointSliceStrategy("EndpointSlice")
