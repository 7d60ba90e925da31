"""Create and update validation of wire dicts, reported the way the Kubernetes apiserver reports it.

Every problem becomes one Status cause (``apimachinery.errors.cause``) naming the JSON path at
fault (``spec.template.spec.containers[0].image``), a Kubernetes reason (``FieldValueRequired``,
``FieldValueInvalid``, ...) and a message worded like Kubernetes' field errors
(``Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must ...``). Clients and people who
know Kubernetes then read podvisor's 422s without surprise, and tests can assert on paths.

The rules are those of ``pkg/apis/core/validation``, ``pkg/apis/apps/validation`` and the
apimachinery name checks, restricted to the fields podvisor serves. This module holds what
several kinds share (field errors, names and labels, metadata, the pod spec); each kind's own
rules are in its strategy (:mod:`apiserver.strategies`), which composes these. They expect what is
about to be stored: defaulted, with name and namespace filled in. Everything here is pure and
never mutates its arguments; sub-structures of the wrong JSON type are treated as empty (strict
decoding reports those before we run).

The name and label checks are public (``is_dns1123_subdomain`` ...) so the rest of the apiserver
and podctl can reuse them.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from apimachinery.errors import cause
from apimachinery.quantity import parse_quantity
from apimachinery.resources import by_kind
from apiserver.probehosts import probe_host_causes

Obj = dict[str, Any]
Cause = dict[str, str]

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
NOT_FOUND = "FieldValueNotFound"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
FIELD_IMMUTABLE = "field is immutable"

# --- Kubernetes field errors ---------------------------------------------------------------------


def _fmt(value: Any) -> str:
    """A bad value as Kubernetes prints it: quoted strings, bare numbers, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def required(field: str, detail: str = "") -> Cause:
    return cause(field, f"Required value: {detail}" if detail else "Required value", REQUIRED)


def invalid_value(field: str, value: Any, detail: str) -> Cause:
    return cause(field, f"Invalid value: {_fmt(value)}: {detail}", INVALID)


def required_name(field: str, value: Any, errors: Callable[[str], list[str]]) -> list[Cause]:
    """A required name-like value: Required if empty, else one cause per syntax error."""
    if not value:
        return [required(field)]
    return [invalid_value(field, value, msg) for msg in errors(str(value))]


def not_supported(field: str, value: Any, supported: Sequence[str]) -> Cause:
    values = ", ".join(json.dumps(v) for v in supported)
    return cause(field, f"Unsupported value: {_fmt(value)}: supported values: {values}", NOT_SUPPORTED)


def duplicate(field: str, value: Any) -> Cause:
    return cause(field, f"Duplicate value: {_fmt(value)}", DUPLICATE)


def forbidden(field: str, detail: str) -> Cause:
    return cause(field, f"Forbidden: {detail}", FORBIDDEN)


def not_found_value(field: str, value: Any) -> Cause:
    return cause(field, f"Not found: {_fmt(value)}", NOT_FOUND)


def too_long(field: str, limit: int) -> Cause:
    return cause(field, f"Too long: must have at most {limit} bytes", TOO_LONG)


def too_many(field: str, actual: int, limit: int) -> Cause:
    return cause(field, f"Too many: {actual}: must have at most {limit} items", TOO_MANY)


# --- names, labels and other string formats (apimachinery's util/validation) ---------------------

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
LABEL_VALUE_MAX_LENGTH = 63
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"
CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
PERCENT_FMT = "[0-9]+%"
DNS1123_LABEL_RE = re.compile(DNS1123_LABEL_FMT)
DNS1123_SUBDOMAIN_RE = re.compile(DNS1123_SUBDOMAIN_FMT)
_QUALIFIED_NAME_RE = re.compile(QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE_FMT)
_CONFIG_KEY_RE = re.compile(CONFIG_KEY_FMT)
PERCENT_RE = re.compile(PERCENT_FMT)

_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_LABEL_VALUE_MSG = "a valid label must be an empty string or " + _QUALIFIED_NAME_MSG.removeprefix("must ")
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """Kubernetes' RegexError wording: ``<message> (e.g. 'a' or 'b', regex used for validation is '<fmt>')``."""
    shown = " or ".join(f"'{e}'" for e in examples)
    return f"{message} (e.g. {shown}, regex used for validation is '{fmt}')"


def _max_len_error(limit: int) -> str:
    return f"must be no more than {limit} characters"


def dns1123_label_errors(value: str) -> list[str]:
    errors = [_max_len_error(DNS1123_LABEL_MAX_LENGTH)] if len(value) > DNS1123_LABEL_MAX_LENGTH else []
    if not DNS1123_LABEL_RE.fullmatch(value):
        if DNS1123_SUBDOMAIN_RE.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(regex_error(_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


def path_segment_name_errors(value: str) -> list[str]:
    """Kubernetes' ``path.IsValidPathSegmentName``: RBAC names may hold ``:`` (``system:node``)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def dns1123_subdomain_errors(value: str) -> list[str]:
    errors = (
        [_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH)] if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH else []
    )
    if not DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errors.append(regex_error(_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def label_key_errors(value: str) -> list[str]:
    """A qualified name: an optional DNS subdomain prefix and ``/``, then a name of at most 63."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a valid label key "
            + regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errors: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        errors.extend(
            "prefix part " + msg for msg in (dns1123_subdomain_errors(parts[0]) if parts[0] else [])
        )
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + _max_len_error(63))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errors.append(
            "name part "
            + regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    errors = [_max_len_error(LABEL_VALUE_MAX_LENGTH)] if len(value) > LABEL_VALUE_MAX_LENGTH else []
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _port_name_errors(value: str) -> list[str]:
    """IANA service names: at most 15 of [-a-z0-9], at least one letter, no leading/trailing/double '-'."""
    errors = [_max_len_error(15)] if len(value) > 15 else []
    if not re.fullmatch("[-a-z0-9]+", value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def config_key_errors(value: str) -> list[str]:
    errors = (
        [_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH)] if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH else []
    )
    if not _CONFIG_KEY_RE.fullmatch(value):
        errors.append(regex_error(_CONFIG_KEY_MSG, CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value in (".", ".."):
        errors.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def _joined(errors: list[str]) -> str | None:
    return "; ".join(errors) or None


def is_dns1123_label(value: str) -> str | None:
    """Why ``value`` is not an RFC 1123 label (namespace and service names), or None."""
    return _joined(dns1123_label_errors(value))


def is_dns1123_subdomain(value: str) -> str | None:
    """Why ``value`` is not an RFC 1123 subdomain (most object names), or None."""
    return _joined(dns1123_subdomain_errors(value))


def is_label_key(value: str) -> str | None:
    """Why ``value`` is not a label or annotation key (``[prefix/]name``), or None."""
    return _joined(label_key_errors(value))


def is_label_value(value: str) -> str | None:
    """Why ``value`` is not a label value, or None."""
    return _joined(label_value_errors(value))


# --- small readers -------------------------------------------------------------------------------


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def as_dicts(value: Any) -> list[Obj]:
    return [as_dict(item) for item in value] if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def at_least(obj: Obj, key: str, path: str, minimum: int) -> list[Cause]:
    value = as_int(obj.get(key))
    if value is None or value >= minimum:
        return []
    return [invalid_value(f"{path}.{key}", value, f"must be greater than or equal to {minimum}")]


def enum_value(obj: Obj, key: str, path: str, supported: Sequence[str]) -> list[Cause]:
    """A set value must be one of ``supported``; absent is fine (defaulting fills it in)."""
    value = obj.get(key)
    if value is None or value in supported:
        return []
    if value == "":
        return [required(f"{path}.{key}")]
    return [not_supported(f"{path}.{key}", value, supported)]


def port_number(value: Any, path: str) -> list[Cause]:
    number = as_int(value)
    if number is None or not 1 <= number <= 65535:
        return [invalid_value(path, value, "must be between 1 and 65535, inclusive")]
    return []


def port_number_or_name(value: Any, path: str) -> list[Cause]:
    if isinstance(value, str):
        return [invalid_value(path, value, msg) for msg in _port_name_errors(value)]
    return port_number(value, path)


# --- metadata ------------------------------------------------------------------------------------

_LABEL_NAMED_KINDS = {"Namespace", "Service"}


_RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
_NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    **{kind: dns1123_label_errors for kind in _LABEL_NAMED_KINDS},
    **{kind: path_segment_name_errors for kind in _RBAC_KINDS},
}


def validate_metadata(kind: str, meta: Obj) -> list[Cause]:
    """Name (subdomain, or label for Namespace/Service), namespace, labels and annotations."""
    name_errors = _NAME_RULES.get(kind, dns1123_subdomain_errors)
    causes: list[Cause] = []
    name, generate_name = meta.get("name"), meta.get("generateName")
    if generate_name:
        # A prefix may end in '-': Kubernetes masks a trailing dash before checking it.
        masked = generate_name[:-1] + "a" if generate_name.endswith("-") else generate_name
        causes += [invalid_value("metadata.generateName", generate_name, m) for m in name_errors(masked)]
    if not name and not generate_name:
        causes.append(required("metadata.name", "name or generateName is required"))
    elif name:
        causes += [invalid_value("metadata.name", name, msg) for msg in name_errors(str(name))]
    resource = by_kind(kind)
    if resource is not None and resource.namespaced:
        causes += required_name("metadata.namespace", meta.get("namespace"), dns1123_label_errors)
    causes += validate_labels(meta.get("labels"), "metadata.labels")
    causes += validate_annotations(meta.get("annotations"), "metadata.annotations")
    return causes


def validate_labels(labels: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key, value in as_dict(labels).items():
        causes += [invalid_value(path, key, msg) for msg in label_key_errors(key)]
        if not isinstance(value, str):
            causes.append(invalid_value(path, value, "must be a string"))
        else:
            causes += [invalid_value(path, value, msg) for msg in label_value_errors(value)]
    return causes


def validate_annotations(annotations: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    total = 0
    for key, value in as_dict(annotations).items():
        causes += [invalid_value(path, key, msg) for msg in label_key_errors(key.lower())]
        total += len(key.encode()) + len(value.encode() if isinstance(value, str) else b"")
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def validate_label_selector(selector: Obj, path: str) -> list[Cause]:
    causes = validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, requirement in enumerate(as_dicts(selector.get("matchExpressions"))):
        req_path = f"{path}.matchExpressions[{i}]"
        operator, values = requirement.get("operator"), requirement.get("values")
        if operator in ("In", "NotIn") and not values:
            causes.append(
                required(f"{req_path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            )
        elif operator in ("Exists", "DoesNotExist") and values:
            causes.append(
                forbidden(
                    f"{req_path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )
            )
        elif operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            causes.append(invalid_value(f"{req_path}.operator", operator, "not a valid selector operator"))
        causes += [
            invalid_value(f"{req_path}.key", requirement.get("key"), m)
            for m in label_key_errors(str(requirement.get("key") or ""))
        ]
    return causes


# --- pod spec ------------------------------------------------------------------------------------

_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
PROTOCOLS = ("SCTP", "TCP", "UDP")
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_ENV_SOURCES = "`fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"


def validate_pod_spec(spec: Obj, path: str) -> list[Cause]:
    volumes, causes = _validate_volumes(as_dicts(spec.get("volumes")), f"{path}.volumes")
    causes += _validate_container_lists(spec, path, volumes)
    causes += probe_host_causes(spec, path)
    causes += enum_value(spec, "restartPolicy", path, ("Always", "OnFailure", "Never"))
    causes += enum_value(spec, "dnsPolicy", path, ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"))
    causes += _validate_dns_config(spec.get("dnsConfig"), spec.get("dnsPolicy"), f"{path}.dnsConfig")
    causes += at_least(spec, "terminationGracePeriodSeconds", path, 0)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= (as_int(deadline) or 0) <= 2**31 - 1:
        causes.append(
            invalid_value(f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive")
        )
    causes += validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    for i, toleration in enumerate(as_dicts(spec.get("tolerations"))):
        causes += _validate_toleration(toleration, f"{path}.tolerations[{i}]")
    return causes


MAX_DNS_NAMESERVERS, MAX_DNS_SEARCH_PATHS, MAX_DNS_SEARCH_LIST_CHARS = 3, 32, 2048


def _validate_dns_config(config: Any, policy: Any, path: str) -> list[Cause]:
    """Kubernetes' validatePodDNSConfig: the resolver's limits, addresses, domain names; ``None``
    needs a nameserver (nothing else would give the pod one)."""
    if policy == "None":
        if not isinstance(config, dict):
            return [required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not config.get("nameservers"):
            return [required(f"{path}.nameservers", "must provide at least one DNS nameserver when `dnsPolicy` is None")]
    if not isinstance(config, dict):
        return []
    causes: list[Cause] = []
    nameservers = [str(n) for n in config.get("nameservers") or []]
    if len(nameservers) > MAX_DNS_NAMESERVERS:
        causes.append(invalid_value(f"{path}.nameservers", nameservers,
                                    f"must not have more than {MAX_DNS_NAMESERVERS} nameservers"))
    for i, server in enumerate(nameservers):
        if not _is_ip(server):
            causes.append(invalid_value(f"{path}.nameservers[{i}]", server, "must be a valid IP address"))
    searches = [str(s) for s in config.get("searches") or []]
    if len(searches) > MAX_DNS_SEARCH_PATHS:
        causes.append(invalid_value(f"{path}.searches", searches,
                                    f"must not have more than {MAX_DNS_SEARCH_PATHS} search paths"))
    if len(" ".join(searches)) > MAX_DNS_SEARCH_LIST_CHARS:
        causes.append(invalid_value(f"{path}.searches", searches, f"must not have more than "
                                    f"{MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list"))
    for i, search in enumerate(searches):
        domain = search.removesuffix(".")  # a trailing dot is fine
        causes += [invalid_value(f"{path}.searches[{i}]", domain, msg) for msg in dns1123_subdomain_errors(domain)]
    for i, option in enumerate(as_dicts(config.get("options"))):
        if not option.get("name"):
            causes.append(required(f"{path}.options[{i}]", "must not be empty"))
    return causes


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _validate_container_lists(spec: Obj, path: str, volumes: set[str]) -> list[Cause]:
    """Both lists, with names unique across them (a clash is reported on the init container)."""
    causes: list[Cause] = []
    containers = as_dicts(spec.get("containers"))
    if not containers:
        causes.append(required(f"{path}.containers"))
    names: set[str] = set()
    for list_name, items in (
        ("containers", containers),
        ("initContainers", as_dicts(spec.get("initContainers"))),
    ):
        for i, container in enumerate(items):
            item_path = f"{path}.{list_name}[{i}]"
            causes += _validate_container(container, item_path, volumes)
            if list_name == "initContainers":
                causes += _validate_init_container(container, item_path)
            name = container.get("name")
            if name and name in names:
                causes.append(duplicate(f"{item_path}.name", name))
            if name:
                names.add(str(name))
    return causes


def validate_container(container: Obj, path: str, volumes: set[str]) -> list[Cause]:
    """One container's own fields (name, image, ports, env, mounts, resources, probes)."""
    return _validate_container(container, path, volumes)


def volume_names(spec: Obj) -> set[str]:
    """The names of a pod spec's volumes, which its containers' mounts must name."""
    return {str(v.get("name")) for v in as_dicts(spec.get("volumes")) if v.get("name")}


def _validate_container(container: Obj, path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    causes += required_name(f"{path}.name", container.get("name"), dns1123_label_errors)
    if not container.get("image"):
        causes.append(required(f"{path}.image"))
    causes += enum_value(container, "imagePullPolicy", path, ("Always", "IfNotPresent", "Never"))
    causes += enum_value(container, "terminationMessagePolicy", path, ("File", "FallbackToLogsOnError"))
    causes += _validate_container_ports(as_dicts(container.get("ports")), f"{path}.ports")
    causes += _validate_env(as_dicts(container.get("env")), f"{path}.env")
    causes += _validate_volume_mounts(as_dicts(container.get("volumeMounts")), f"{path}.volumeMounts", volumes)
    causes += _validate_resources(as_dict(container.get("resources")), f"{path}.resources")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if container.get(probe_name) is not None:
            single_success = probe_name != "readinessProbe"
            causes += _validate_probe(
                as_dict(container[probe_name]), f"{path}.{probe_name}", single_success=single_success
            )
    return causes


def _validate_init_container(container: Obj, path: str) -> list[Cause]:
    """Only sidecars (``restartPolicy: Always``) may carry probes.

    Which restart policies a container may have is :mod:`apiserver.restartrules`' to say.
    """
    causes: list[Cause] = []
    if container.get("restartPolicy") != "Always":
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            if container.get(probe_name) is not None:
                message = "may not be set for init containers without restartPolicy=Always"
                causes.append(forbidden(f"{path}.{probe_name}", message))
    return causes


def _validate_container_ports(ports: list[Obj], path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        item_path = f"{path}[{i}]"
        if name := port.get("name"):
            errors = _port_name_errors(str(name))
            causes += [invalid_value(f"{item_path}.name", name, msg) for msg in errors]
            if not errors and name in names:
                causes.append(duplicate(f"{item_path}.name", name))
            names.add(str(name))
        if not port.get("containerPort"):
            causes.append(required(f"{item_path}.containerPort"))
        else:
            causes += port_number(port["containerPort"], f"{item_path}.containerPort")
        if port.get("hostPort"):
            causes += port_number(port["hostPort"], f"{item_path}.hostPort")
        causes += enum_value(port, "protocol", item_path, PROTOCOLS)
    return causes


def _validate_env(env: list[Obj], path: str) -> list[Cause]:
    """Names are printable ASCII without '='; duplicates are allowed (the last one wins)."""
    causes: list[Cause] = []
    for i, var in enumerate(env):
        item_path = f"{path}[{i}]"
        name = var.get("name")
        if not name:
            causes.append(required(f"{item_path}.name"))
        elif not re.fullmatch("[\x20-\x3c\x3e-\x7e]+", str(name)):
            message = "a valid environment variable name must consist only of printable ASCII characters other than '='"
            causes.append(invalid_value(f"{item_path}.name", name, message))
        if var.get("valueFrom") is not None:
            sources = [k for k, v in as_dict(var["valueFrom"]).items() if v is not None]
            if not sources:
                causes.append(invalid_value(f"{item_path}.valueFrom", "", f"must specify one of: {_ENV_SOURCES}"))
            elif len(sources) > 1:
                message = "may not have more than one field specified at a time"
                causes.append(invalid_value(f"{item_path}.valueFrom", "", message))
            if var.get("value"):
                message = "may not be specified when `value` is not empty"
                causes.append(invalid_value(f"{item_path}.valueFrom", "", message))
    return causes


def _validate_volumes(volumes: list[Obj], path: str) -> tuple[set[str], list[Cause]]:
    """The declared volume names (for the mounts to refer to) and the volumes' own problems."""
    causes: list[Cause] = []
    names: set[str] = set()
    for i, volume in enumerate(volumes):
        item_path = f"{path}[{i}]"
        name = volume.get("name")
        if not name:
            causes.append(required(f"{item_path}.name"))
        else:
            causes += [invalid_value(f"{item_path}.name", name, msg) for msg in dns1123_label_errors(str(name))]
            if name in names:
                causes.append(duplicate(f"{item_path}.name", name))
            names.add(str(name))
        sources = [key for key, value in volume.items() if key != "name" and value is not None]
        if not sources:
            causes.append(required(item_path, "must specify a volume type"))
        for extra in sources[1:]:
            causes.append(forbidden(f"{item_path}.{extra}", "may not specify more than 1 volume type"))
    return names, causes


def _validate_volume_mounts(mounts: list[Obj], path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    mount_paths: set[str] = set()
    for i, mount in enumerate(mounts):
        item_path = f"{path}[{i}]"
        name, mount_path = mount.get("name"), mount.get("mountPath")
        if not name:
            causes.append(required(f"{item_path}.name"))
        elif name not in volumes:
            causes.append(not_found_value(f"{item_path}.name", name))
        if not mount_path:
            causes.append(required(f"{item_path}.mountPath"))
        elif mount_path in mount_paths:
            causes.append(invalid_value(f"{item_path}.mountPath", mount_path, "must be unique"))
        else:
            mount_paths.add(str(mount_path))
    return causes


def _validate_resources(resources: Obj, path: str) -> list[Cause]:
    """Names and quantity syntax of limits and requests, and every request within its limit."""
    causes: list[Cause] = []
    parsed: dict[str, dict[str, Decimal]] = {"limits": {}, "requests": {}}
    for section, values in parsed.items():
        for name, raw in as_dict(resources.get(section)).items():
            item_path = f"{path}.{section}[{name}]"
            causes += _resource_name_errors(name, item_path)
            try:
                quantity = parse_quantity(raw)
            except ValueError as err:
                # "invalid quantity 'x': <why>" -> "<why>", worded as Kubernetes words it
                causes.append(invalid_value(item_path, raw, str(err).split(": ", 1)[-1]))
                continue
            if quantity < 0:
                causes.append(invalid_value(item_path, raw, "must be greater than or equal to 0"))
            else:
                values[name] = quantity
    for name, request in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit:
            message = f"must be less than or equal to {name} limit of {resources['limits'][name]}"
            causes.append(invalid_value(f"{path}.requests[{name}]", resources["requests"][name], message))
    return causes


def _resource_name_errors(name: str, path: str) -> list[Cause]:
    if "/" in name:
        return [invalid_value(path, name, msg) for msg in label_key_errors(name)]
    if name in _STANDARD_RESOURCES or name.startswith("hugepages-"):
        return []
    return [invalid_value(path, name, "must be a standard resource for containers")]


def _validate_probe(probe: Obj, path: str, *, single_success: bool) -> list[Cause]:
    """Exactly one handler, sane timings; liveness and startup probes succeed on the first success."""
    handlers = [h for h in _PROBE_HANDLERS if probe.get(h) is not None]
    causes = [] if handlers else [required(path, "must specify a handler type")]
    causes += [
        forbidden(f"{path}.{extra}", "may not specify more than 1 handler type") for extra in handlers[1:]
    ]
    causes += at_least(probe, "initialDelaySeconds", path, 0)
    for key in ("timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        causes += at_least(probe, key, path, 1)
    success = as_int(probe.get("successThreshold"))
    if single_success and success is not None and success > 1:
        causes.append(invalid_value(f"{path}.successThreshold", success, "must be 1"))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and (as_int(grace) or 0) <= 0:
        causes.append(invalid_value(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0"))
    for handler in ("httpGet", "tcpSocket"):
        if handlers[:1] == [handler]:
            action = as_dict(probe[handler])
            causes += port_number_or_name(action.get("port"), f"{path}.{handler}.port")
            causes += enum_value(action, "scheme", f"{path}.{handler}", ("HTTP", "HTTPS"))
    return causes


def _validate_toleration(toleration: Obj, path: str) -> list[Cause]:
    key, operator, effect = toleration.get("key"), toleration.get("operator"), toleration.get("effect")
    causes = [invalid_value(f"{path}.key", key, msg) for msg in label_key_errors(str(key))] if key else []
    causes += enum_value(toleration, "operator", path, ("Equal", "Exists"))
    if not key and operator != "Exists":
        message = 'operator must be Exists when `key` is empty, which means "match all values and all keys"'
        causes.append(invalid_value(f"{path}.operator", operator, message))
    if operator == "Exists" and toleration.get("value"):
        causes.append(
            invalid_value(f"{path}.operator", toleration, "value must be empty when `operator` is 'Exists'")
        )
    if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
        causes.append(
            invalid_value(f"{path}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
        )
    if effect:
        causes += enum_value(toleration, "effect", path, ("NoExecute", "NoSchedule", "PreferNoSchedule"))
    return causes


# --- kinds ---------------------------------------------------------------------------------------


# --- updates -------------------------------------------------------------------------------------


def validate_metadata_update(new: Obj, old: Obj) -> list[Cause]:
    """Name, namespace and uid are fixed; an empty uid and creationTimestamp are restored by the server."""
    causes: list[Cause] = []
    for key in ("name", "namespace", "uid"):
        if new.get(key) and old.get(key) and new[key] != old[key]:
            causes.append(invalid_value(f"metadata.{key}", new[key], FIELD_IMMUTABLE))
    return causes


