"""Create and update validation of wire dicts, reported the way the Kubernetes apiserver reports it.

Every problem becomes one Status cause (``apimachinery.errors.cause``) naming the JSON path at
fault (``spec.template.spec.containers[0].image``), a Kubernetes reason (``FieldValueRequired``,
``FieldValueInvalid``, ...) and a message worded like Kubernetes' field errors
(``Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must ...``). Clients and people who
know Kubernetes then read podvisor's 422s without surprise, and tests can assert on paths.

The rules are those of ``pkg/apis/core/validation``, ``pkg/apis/apps/validation`` and the
apimachinery name checks, restricted to the fields podvisor serves. :func:`validate_object`
expects what is about to be stored: defaulted (:mod:`apiserver.defaults`), with name and
namespace filled in. Both entry points are pure and never mutate their arguments; sub-structures
of the wrong JSON type are treated as empty (strict decoding reports those before we run).

The name and label checks are public (``is_dns1123_subdomain`` ...) so the rest of the apiserver
and podctl can reuse them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from apimachinery.errors import ApiError, cause
from apimachinery.quantity import parse_quantity
from apimachinery.resources import by_kind
from apimachinery.selectors import selector_from_model

Obj = dict[str, Any]
Cause = dict[str, str]

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
NOT_FOUND = "FieldValueNotFound"
TOO_LONG = "FieldValueTooLong"
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


def _required(field: str, detail: str = "") -> Cause:
    return cause(field, f"Required value: {detail}" if detail else "Required value", REQUIRED)


def _invalid(field: str, value: Any, detail: str) -> Cause:
    return cause(field, f"Invalid value: {_fmt(value)}: {detail}", INVALID)


def _not_supported(field: str, value: Any, supported: Sequence[str]) -> Cause:
    values = ", ".join(json.dumps(v) for v in supported)
    return cause(field, f"Unsupported value: {_fmt(value)}: supported values: {values}", NOT_SUPPORTED)


def _duplicate(field: str, value: Any) -> Cause:
    return cause(field, f"Duplicate value: {_fmt(value)}", DUPLICATE)


def _forbidden(field: str, detail: str) -> Cause:
    return cause(field, f"Forbidden: {detail}", FORBIDDEN)


def _not_found(field: str, value: Any) -> Cause:
    return cause(field, f"Not found: {_fmt(value)}", NOT_FOUND)


def _too_long(field: str, limit: int) -> Cause:
    return cause(field, f"Too long: must have at most {limit} bytes", TOO_LONG)


# --- names, labels and other string formats (apimachinery's util/validation) ---------------------

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
LABEL_VALUE_MAX_LENGTH = 63
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
MAX_CONFIG_SIZE = 1024 * 1024
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
_PERCENT_RE = re.compile(PERCENT_FMT)

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
_PERCENT_MSG = "a valid percent string must be a numeric string followed by an ending '%'"


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """Kubernetes' RegexError wording: ``<message> (e.g. 'a' or 'b', regex used for validation is '<fmt>')``."""
    shown = " or ".join(f"'{e}'" for e in examples)
    return f"{message} (e.g. {shown}, regex used for validation is '{fmt}')"


def _max_len_error(limit: int) -> str:
    return f"must be no more than {limit} characters"


def _dns1123_label_errors(value: str) -> list[str]:
    errors = [_max_len_error(DNS1123_LABEL_MAX_LENGTH)] if len(value) > DNS1123_LABEL_MAX_LENGTH else []
    if not DNS1123_LABEL_RE.fullmatch(value):
        if DNS1123_SUBDOMAIN_RE.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(_regex_error(_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errors = (
        [_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH)] if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH else []
    )
    if not DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errors.append(_regex_error(_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def _label_key_errors(value: str) -> list[str]:
    """A qualified name: an optional DNS subdomain prefix and ``/``, then a name of at most 63."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a valid label key "
            + _regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errors: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        errors.extend(
            "prefix part " + msg for msg in (_dns1123_subdomain_errors(parts[0]) if parts[0] else [])
        )
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part " + _max_len_error(63))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errors.append(
            "name part "
            + _regex_error(_QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def _label_value_errors(value: str) -> list[str]:
    errors = [_max_len_error(LABEL_VALUE_MAX_LENGTH)] if len(value) > LABEL_VALUE_MAX_LENGTH else []
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
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


def _config_key_errors(value: str) -> list[str]:
    errors = (
        [_max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH)] if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH else []
    )
    if not _CONFIG_KEY_RE.fullmatch(value):
        errors.append(_regex_error(_CONFIG_KEY_MSG, CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value in (".", ".."):
        errors.append(f"must not be '{value}'")
    elif value.startswith(".."):
        errors.append("must not start with '..'")
    return errors


def _joined(errors: list[str]) -> str | None:
    return "; ".join(errors) or None


def is_dns1123_label(value: str) -> str | None:
    """Why ``value`` is not an RFC 1123 label (namespace and service names), or None."""
    return _joined(_dns1123_label_errors(value))


def is_dns1123_subdomain(value: str) -> str | None:
    """Why ``value`` is not an RFC 1123 subdomain (most object names), or None."""
    return _joined(_dns1123_subdomain_errors(value))


def is_label_key(value: str) -> str | None:
    """Why ``value`` is not a label or annotation key (``[prefix/]name``), or None."""
    return _joined(_label_key_errors(value))


def is_label_value(value: str) -> str | None:
    """Why ``value`` is not a label value, or None."""
    return _joined(_label_value_errors(value))


# --- small readers -------------------------------------------------------------------------------


def _d(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Obj]:
    return [_d(item) for item in value] if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _at_least(obj: Obj, key: str, path: str, minimum: int) -> list[Cause]:
    value = _int(obj.get(key))
    if value is None or value >= minimum:
        return []
    return [_invalid(f"{path}.{key}", value, f"must be greater than or equal to {minimum}")]


def _enum(obj: Obj, key: str, path: str, supported: Sequence[str]) -> list[Cause]:
    """A set value must be one of ``supported``; absent is fine (defaulting fills it in)."""
    value = obj.get(key)
    if value is None or value in supported:
        return []
    if value == "":
        return [_required(f"{path}.{key}")]
    return [_not_supported(f"{path}.{key}", value, supported)]


def _port_number(value: Any, path: str) -> list[Cause]:
    number = _int(value)
    if number is None or not 1 <= number <= 65535:
        return [_invalid(path, value, "must be between 1 and 65535, inclusive")]
    return []


def _port_number_or_name(value: Any, path: str) -> list[Cause]:
    if isinstance(value, str):
        return [_invalid(path, value, msg) for msg in _port_name_errors(value)]
    return _port_number(value, path)


# --- metadata ------------------------------------------------------------------------------------

_LABEL_NAMED_KINDS = {"Namespace", "Service"}


def _validate_metadata(kind: str, meta: Obj) -> list[Cause]:
    """Name (subdomain, or label for Namespace/Service), namespace, labels and annotations."""
    name_errors = _dns1123_label_errors if kind in _LABEL_NAMED_KINDS else _dns1123_subdomain_errors
    causes: list[Cause] = []
    name, generate_name = meta.get("name"), meta.get("generateName")
    if generate_name:
        # A prefix may end in '-': Kubernetes masks a trailing dash before checking it.
        masked = generate_name[:-1] + "a" if generate_name.endswith("-") else generate_name
        causes += [_invalid("metadata.generateName", generate_name, m) for m in name_errors(masked)]
    if not name and not generate_name:
        causes.append(_required("metadata.name", "name or generateName is required"))
    elif name:
        causes += [_invalid("metadata.name", name, msg) for msg in name_errors(str(name))]
    resource = by_kind(kind)
    if resource is not None and resource.namespaced:
        namespace = meta.get("namespace")
        if not namespace:
            causes.append(_required("metadata.namespace"))
        else:
            causes += [
                _invalid("metadata.namespace", namespace, m) for m in _dns1123_label_errors(str(namespace))
            ]
    causes += _validate_labels(meta.get("labels"), "metadata.labels")
    causes += _validate_annotations(meta.get("annotations"), "metadata.annotations")
    return causes


def _validate_labels(labels: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key, value in _d(labels).items():
        causes += [_invalid(path, key, msg) for msg in _label_key_errors(key)]
        if not isinstance(value, str):
            causes.append(_invalid(path, value, "must be a string"))
        else:
            causes += [_invalid(path, value, msg) for msg in _label_value_errors(value)]
    return causes


def _validate_annotations(annotations: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    total = 0
    for key, value in _d(annotations).items():
        causes += [_invalid(path, key, msg) for msg in _label_key_errors(key.lower())]
        total += len(key.encode()) + len(value.encode() if isinstance(value, str) else b"")
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(_too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def _validate_label_selector(selector: Obj, path: str) -> list[Cause]:
    causes = _validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, requirement in enumerate(_items(selector.get("matchExpressions"))):
        req_path = f"{path}.matchExpressions[{i}]"
        operator, values = requirement.get("operator"), requirement.get("values")
        if operator in ("In", "NotIn") and not values:
            causes.append(
                _required(f"{req_path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            )
        elif operator in ("Exists", "DoesNotExist") and values:
            causes.append(
                _forbidden(
                    f"{req_path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                )
            )
        elif operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            causes.append(_invalid(f"{req_path}.operator", operator, "not a valid selector operator"))
        causes += [
            _invalid(f"{req_path}.key", requirement.get("key"), m)
            for m in _label_key_errors(str(requirement.get("key") or ""))
        ]
    return causes


# --- pod spec ------------------------------------------------------------------------------------

_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_ENV_SOURCES = "`fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"


def _validate_pod_spec(spec: Obj, path: str) -> list[Cause]:
    volumes, causes = _validate_volumes(_items(spec.get("volumes")), f"{path}.volumes")
    causes += _validate_container_lists(spec, path, volumes)
    causes += _enum(spec, "restartPolicy", path, ("Always", "OnFailure", "Never"))
    causes += _enum(spec, "dnsPolicy", path, ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"))
    causes += _at_least(spec, "terminationGracePeriodSeconds", path, 0)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= (_int(deadline) or 0) <= 2**31 - 1:
        causes.append(
            _invalid(f"{path}.activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive")
        )
    causes += _validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector")
    for i, toleration in enumerate(_items(spec.get("tolerations"))):
        causes += _validate_toleration(toleration, f"{path}.tolerations[{i}]")
    return causes


def _validate_container_lists(spec: Obj, path: str, volumes: set[str]) -> list[Cause]:
    """Both lists, with names unique across them (a clash is reported on the init container)."""
    causes: list[Cause] = []
    containers = _items(spec.get("containers"))
    if not containers:
        causes.append(_required(f"{path}.containers"))
    names: set[str] = set()
    for list_name, items in (
        ("containers", containers),
        ("initContainers", _items(spec.get("initContainers"))),
    ):
        for i, container in enumerate(items):
            item_path = f"{path}.{list_name}[{i}]"
            causes += _validate_container(container, item_path, volumes)
            if list_name == "initContainers":
                causes += _validate_init_container(container, item_path)
            name = container.get("name")
            if name and name in names:
                causes.append(_duplicate(f"{item_path}.name", name))
            if name:
                names.add(str(name))
    return causes


def _validate_container(container: Obj, path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = container.get("name")
    if not name:
        causes.append(_required(f"{path}.name"))
    else:
        causes += [_invalid(f"{path}.name", name, msg) for msg in _dns1123_label_errors(str(name))]
    if not container.get("image"):
        causes.append(_required(f"{path}.image"))
    causes += _enum(container, "imagePullPolicy", path, ("Always", "IfNotPresent", "Never"))
    causes += _enum(container, "terminationMessagePolicy", path, ("File", "FallbackToLogsOnError"))
    causes += _validate_container_ports(_items(container.get("ports")), f"{path}.ports")
    causes += _validate_env(_items(container.get("env")), f"{path}.env")
    causes += _validate_volume_mounts(_items(container.get("volumeMounts")), f"{path}.volumeMounts", volumes)
    causes += _validate_resources(_d(container.get("resources")), f"{path}.resources")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if container.get(probe_name) is not None:
            single_success = probe_name != "readinessProbe"
            causes += _validate_probe(
                _d(container[probe_name]), f"{path}.{probe_name}", single_success=single_success
            )
    return causes


def _validate_init_container(container: Obj, path: str) -> list[Cause]:
    """Only sidecars (``restartPolicy: Always``) may restart or carry probes."""
    causes = _enum(container, "restartPolicy", path, ("Always",))
    if container.get("restartPolicy") != "Always":
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            if container.get(probe_name) is not None:
                message = "may not be set for init containers without restartPolicy=Always"
                causes.append(_forbidden(f"{path}.{probe_name}", message))
    return causes


def _validate_container_ports(ports: list[Obj], path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        item_path = f"{path}[{i}]"
        if name := port.get("name"):
            errors = _port_name_errors(str(name))
            causes += [_invalid(f"{item_path}.name", name, msg) for msg in errors]
            if not errors and name in names:
                causes.append(_duplicate(f"{item_path}.name", name))
            names.add(str(name))
        if not port.get("containerPort"):
            causes.append(_required(f"{item_path}.containerPort"))
        else:
            causes += _port_number(port["containerPort"], f"{item_path}.containerPort")
        if port.get("hostPort"):
            causes += _port_number(port["hostPort"], f"{item_path}.hostPort")
        causes += _enum(port, "protocol", item_path, _PROTOCOLS)
    return causes


def _validate_env(env: list[Obj], path: str) -> list[Cause]:
    """Names are printable ASCII without '='; duplicates are allowed (the last one wins)."""
    causes: list[Cause] = []
    for i, var in enumerate(env):
        item_path = f"{path}[{i}]"
        name = var.get("name")
        if not name:
            causes.append(_required(f"{item_path}.name"))
        elif not re.fullmatch("[\x20-\x3c\x3e-\x7e]+", str(name)):
            message = "a valid environment variable name must consist only of printable ASCII characters other than '='"
            causes.append(_invalid(f"{item_path}.name", name, message))
        if var.get("valueFrom") is not None:
            sources = [k for k, v in _d(var["valueFrom"]).items() if v is not None]
            if not sources:
                causes.append(_invalid(f"{item_path}.valueFrom", "", f"must specify one of: {_ENV_SOURCES}"))
            elif len(sources) > 1:
                message = "may not have more than one field specified at a time"
                causes.append(_invalid(f"{item_path}.valueFrom", "", message))
            if var.get("value"):
                message = "may not be specified when `value` is not empty"
                causes.append(_invalid(f"{item_path}.valueFrom", "", message))
    return causes


def _validate_volumes(volumes: list[Obj], path: str) -> tuple[set[str], list[Cause]]:
    """The declared volume names (for the mounts to refer to) and the volumes' own problems."""
    causes: list[Cause] = []
    names: set[str] = set()
    for i, volume in enumerate(volumes):
        item_path = f"{path}[{i}]"
        name = volume.get("name")
        if not name:
            causes.append(_required(f"{item_path}.name"))
        else:
            causes += [_invalid(f"{item_path}.name", name, msg) for msg in _dns1123_label_errors(str(name))]
            if name in names:
                causes.append(_duplicate(f"{item_path}.name", name))
            names.add(str(name))
        sources = [key for key, value in volume.items() if key != "name" and value is not None]
        if not sources:
            causes.append(_required(item_path, "must specify a volume type"))
        for extra in sources[1:]:
            causes.append(_forbidden(f"{item_path}.{extra}", "may not specify more than 1 volume type"))
    return names, causes


def _validate_volume_mounts(mounts: list[Obj], path: str, volumes: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    mount_paths: set[str] = set()
    for i, mount in enumerate(mounts):
        item_path = f"{path}[{i}]"
        name, mount_path = mount.get("name"), mount.get("mountPath")
        if not name:
            causes.append(_required(f"{item_path}.name"))
        elif name not in volumes:
            causes.append(_not_found(f"{item_path}.name", name))
        if not mount_path:
            causes.append(_required(f"{item_path}.mountPath"))
        elif mount_path in mount_paths:
            causes.append(_invalid(f"{item_path}.mountPath", mount_path, "must be unique"))
        else:
            mount_paths.add(str(mount_path))
    return causes


def _validate_resources(resources: Obj, path: str) -> list[Cause]:
    """Names and quantity syntax of limits and requests, and every request within its limit."""
    causes: list[Cause] = []
    parsed: dict[str, dict[str, Decimal]] = {"limits": {}, "requests": {}}
    for section, values in parsed.items():
        for name, raw in _d(resources.get(section)).items():
            item_path = f"{path}.{section}[{name}]"
            causes += _resource_name_errors(name, item_path)
            try:
                quantity = parse_quantity(raw)
            except ValueError as err:
                # "invalid quantity 'x': <why>" -> "<why>", worded as Kubernetes words it
                causes.append(_invalid(item_path, raw, str(err).split(": ", 1)[-1]))
                continue
            if quantity < 0:
                causes.append(_invalid(item_path, raw, "must be greater than or equal to 0"))
            else:
                values[name] = quantity
    for name, request in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit:
            message = f"must be less than or equal to {name} limit of {resources['limits'][name]}"
            causes.append(_invalid(f"{path}.requests[{name}]", resources["requests"][name], message))
    return causes


def _resource_name_errors(name: str, path: str) -> list[Cause]:
    if "/" in name:
        return [_invalid(path, name, msg) for msg in _label_key_errors(name)]
    if name in _STANDARD_RESOURCES or name.startswith("hugepages-"):
        return []
    return [_invalid(path, name, "must be a standard resource for containers")]


def _validate_probe(probe: Obj, path: str, *, single_success: bool) -> list[Cause]:
    """Exactly one handler, sane timings; liveness and startup probes succeed on the first success."""
    handlers = [h for h in _PROBE_HANDLERS if probe.get(h) is not None]
    causes = [] if handlers else [_required(path, "must specify a handler type")]
    causes += [
        _forbidden(f"{path}.{extra}", "may not specify more than 1 handler type") for extra in handlers[1:]
    ]
    causes += _at_least(probe, "initialDelaySeconds", path, 0)
    for key in ("timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        causes += _at_least(probe, key, path, 1)
    success = _int(probe.get("successThreshold"))
    if single_success and success is not None and success > 1:
        causes.append(_invalid(f"{path}.successThreshold", success, "must be 1"))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and (_int(grace) or 0) <= 0:
        causes.append(_invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0"))
    for handler in ("httpGet", "tcpSocket"):
        if handlers[:1] == [handler]:
            action = _d(probe[handler])
            causes += _port_number_or_name(action.get("port"), f"{path}.{handler}.port")
            causes += _enum(action, "scheme", f"{path}.{handler}", ("HTTP", "HTTPS"))
    return causes


def _validate_toleration(toleration: Obj, path: str) -> list[Cause]:
    key, operator, effect = toleration.get("key"), toleration.get("operator"), toleration.get("effect")
    causes = [_invalid(f"{path}.key", key, msg) for msg in _label_key_errors(str(key))] if key else []
    causes += _enum(toleration, "operator", path, ("Equal", "Exists"))
    if not key and operator != "Exists":
        message = 'operator must be Exists when `key` is empty, which means "match all values and all keys"'
        causes.append(_invalid(f"{path}.operator", operator, message))
    if operator == "Exists" and toleration.get("value"):
        causes.append(
            _invalid(f"{path}.operator", toleration, "value must be empty when `operator` is 'Exists'")
        )
    if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
        causes.append(
            _invalid(f"{path}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
        )
    if effect:
        causes += _enum(toleration, "effect", path, ("NoExecute", "NoSchedule", "PreferNoSchedule"))
    return causes


# --- kinds ---------------------------------------------------------------------------------------


def _validate_pod(pod: Obj) -> list[Cause]:
    return _validate_pod_spec(_d(pod.get("spec")), "spec")


def _validate_workload(kind: str, obj: Obj) -> list[Cause]:
    """What Deployments and ReplicaSets share: replicas, a non-empty selector and a matching template."""
    spec = _d(obj.get("spec"))
    causes = _at_least(spec, "replicas", "spec", 0) + _at_least(spec, "minReadySeconds", "spec", 0)
    selector = spec.get("selector")
    if selector is None:
        causes.append(_required("spec.selector"))
    else:
        selector_causes = _validate_label_selector(_d(selector), "spec.selector")
        if not _d(selector).get("matchLabels") and not _d(selector).get("matchExpressions"):
            # Kubernetes words it so for ReplicaSets too.
            selector_causes.append(
                _invalid("spec.selector", selector, "empty selector is invalid for deployment")
            )
        causes += selector_causes
        if not selector_causes:
            causes += _template_matches_selector(_d(spec.get("template")), _d(selector))
    causes += _validate_template(kind, _d(spec.get("template")), "spec.template")
    if kind == "Deployment":
        causes += _validate_deployment_spec(spec)
    return causes


def _template_matches_selector(template: Obj, selector: Obj) -> list[Cause]:
    labels = _d(_d(template.get("metadata")).get("labels"))
    try:
        matches = selector_from_model(selector).matches(labels)
    except ApiError:
        return []  # an invalid selector is reported on spec.selector already
    if matches:
        return []
    return [_invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")]


def _validate_template(kind: str, template: Obj, path: str) -> list[Cause]:
    metadata = _d(template.get("metadata"))
    causes = _validate_labels(metadata.get("labels"), f"{path}.metadata.labels")
    causes += _validate_annotations(metadata.get("annotations"), f"{path}.metadata.annotations")
    spec = _d(template.get("spec"))
    causes += _validate_pod_spec(spec, f"{path}.spec")
    if spec.get("restartPolicy") in ("OnFailure", "Never"):
        causes.append(_not_supported(f"{path}.spec.restartPolicy", spec["restartPolicy"], ("Always",)))
    if spec.get("activeDeadlineSeconds") is not None:
        message = f"activeDeadlineSeconds in {kind} is not Supported"
        causes.append(_forbidden(f"{path}.spec.activeDeadlineSeconds", message))
    return causes


def _validate_deployment_spec(spec: Obj) -> list[Cause]:
    causes = _validate_strategy(_d(spec.get("strategy")), "spec.strategy")
    causes += _at_least(spec, "revisionHistoryLimit", "spec", 0)
    deadline = _int(spec.get("progressDeadlineSeconds"))
    if deadline is not None:
        causes += _at_least(spec, "progressDeadlineSeconds", "spec", 0)
        if deadline <= (_int(spec.get("minReadySeconds")) or 0):
            causes.append(
                _invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")
            )
    return causes


def _validate_strategy(strategy: Obj, path: str) -> list[Cause]:
    strategy_type, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if strategy_type == "Recreate":
        if rolling is None:
            return []
        return [
            _forbidden(f"{path}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
        ]
    if strategy_type == "RollingUpdate":
        if rolling is None:
            return [_required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        return _validate_rolling_update(_d(rolling), f"{path}.rollingUpdate")
    if strategy_type is None:
        return [_required(f"{path}.type")]
    return [_not_supported(f"{path}.type", strategy_type, ("Recreate", "RollingUpdate"))]


def _validate_rolling_update(rolling: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    amounts: dict[str, int] = {}
    for key in ("maxUnavailable", "maxSurge"):
        errors, amounts[key] = _int_or_percent(rolling.get(key), f"{path}.{key}")
        causes += errors
    if amounts["maxUnavailable"] == 0 and amounts["maxSurge"] == 0:
        causes.append(
            _invalid(
                f"{path}.maxUnavailable", rolling.get("maxUnavailable"), "may not be 0 when `maxSurge` is 0"
            )
        )
    unavailable = rolling.get("maxUnavailable")
    if (
        isinstance(unavailable, str)
        and _PERCENT_RE.fullmatch(unavailable)
        and amounts["maxUnavailable"] > 100
    ):
        causes.append(_invalid(f"{path}.maxUnavailable", unavailable, "must not be greater than 100%"))
    return causes


def _int_or_percent(value: Any, path: str) -> tuple[list[Cause], int]:
    """Problems with a non-negative int or ``"N%"``, and its magnitude (absent counts as 0)."""
    if value is None:
        return [], 0
    if isinstance(value, str):
        if not _PERCENT_RE.fullmatch(value):
            return [_invalid(path, value, _regex_error(_PERCENT_MSG, PERCENT_FMT, "1%", "93%"))], -1
        return [], int(value[:-1])
    number = _int(value)
    if number is None:
        return [_invalid(path, value, "must be an integer or percentage (e.g '5%')")], -1
    if number < 0:
        return [_invalid(path, number, "must be greater than or equal to 0")], number
    return [], number


def _validate_service(service: Obj) -> list[Cause]:
    spec = _d(service.get("spec"))
    service_type = spec.get("type")
    causes = _enum(spec, "type", "spec", ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"))
    causes += _enum(spec, "sessionAffinity", "spec", ("ClientIP", "None"))
    causes += _validate_labels(spec.get("selector"), "spec.selector")
    if service_type == "ExternalName":
        external = spec.get("externalName")
        if not external:
            causes.append(_required("spec.externalName"))
        else:
            causes += [
                _invalid("spec.externalName", external, m) for m in _dns1123_subdomain_errors(str(external))
            ]
    ports = _items(spec.get("ports"))
    if not ports and service_type != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(_required("spec.ports"))
    return causes + _validate_service_ports(ports)


def _validate_service_ports(ports: list[Obj]) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        name = port.get("name")
        if not name and len(ports) > 1:
            causes.append(_required(f"{path}.name"))
        elif name:
            causes += [_invalid(f"{path}.name", name, msg) for msg in _dns1123_label_errors(str(name))]
            if name in names:
                causes.append(_duplicate(f"{path}.name", name))
            names.add(str(name))
        causes += _port_number(port.get("port"), f"{path}.port")
        causes += _enum(port, "protocol", path, _PROTOCOLS)
        if port.get("targetPort") is not None:
            causes += _port_number_or_name(port["targetPort"], f"{path}.targetPort")
    return causes


def _validate_node(node: Obj) -> list[Cause]:
    causes: list[Cause] = []
    for i, taint in enumerate(_items(_d(node.get("spec")).get("taints"))):
        path = f"spec.taints[{i}]"
        key = taint.get("key")
        if not key:
            causes.append(_required(f"{path}.key"))
        else:
            causes += [_invalid(f"{path}.key", key, msg) for msg in _label_key_errors(str(key))]
        if not taint.get("effect"):
            causes.append(_required(f"{path}.effect"))
        causes += _enum(taint, "effect", path, ("NoExecute", "NoSchedule", "PreferNoSchedule"))
    return causes


def _validate_event(event: Obj) -> list[Cause]:
    involved = _d(event.get("involvedObject"))
    if not involved:
        return [_required("involvedObject")]
    namespace, event_namespace = involved.get("namespace"), _d(event.get("metadata")).get("namespace")
    if namespace and event_namespace and namespace != event_namespace:
        return [_invalid("involvedObject.namespace", namespace, "does not match event.namespace")]
    return []


def _validate_lease(lease: Obj) -> list[Cause]:
    spec = _d(lease.get("spec"))
    duration = spec.get("leaseDurationSeconds")
    causes = _at_least(spec, "leaseTransitions", "spec", 0)
    if duration is not None and (_int(duration) or 0) <= 0:
        causes.append(_invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    return causes


def _validate_config_data(obj: Obj, sections: Sequence[str], *, unique: bool) -> list[Cause]:
    """Keys usable as file names, unique across ``sections`` when asked, 1 MiB in all."""
    causes: list[Cause] = []
    seen: set[str] = set()
    total = 0
    for section in sections:
        for key, value in _d(obj.get(section)).items():
            causes += [_invalid(f"{section}[{key}]", key, msg) for msg in _config_key_errors(key)]
            if unique and key in seen:
                causes.append(_invalid(f"{section}[{key}]", key, "duplicate of key present in data"))
            seen.add(key)
            total += len(value) if isinstance(value, str) else 0
    if total > MAX_CONFIG_SIZE:
        causes.append(_too_long(sections[0], MAX_CONFIG_SIZE))
    return causes


_VALIDATORS: dict[str, Callable[[Obj], list[Cause]]] = {
    "Pod": _validate_pod,
    "Deployment": lambda obj: _validate_workload("Deployment", obj),
    "ReplicaSet": lambda obj: _validate_workload("ReplicaSet", obj),
    "Service": _validate_service,
    "Node": _validate_node,
    "Event": _validate_event,
    "Lease": _validate_lease,
    "ConfigMap": lambda obj: _validate_config_data(obj, ("data", "binaryData"), unique=True),
    "Secret": lambda obj: _validate_config_data(obj, ("data", "stringData"), unique=False),
}


def validate_object(kind: str, obj: Obj) -> list[Cause]:
    """Every problem with ``obj`` as a new object of ``kind``; an empty list means valid."""
    causes = _validate_metadata(kind, _d(obj.get("metadata")))
    validator = _VALIDATORS.get(kind)
    if validator is not None:
        causes += validator(obj)
    return causes


# --- updates -------------------------------------------------------------------------------------

_POD_UPDATE_MESSAGE = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds`"
)
_POD_MUTABLE_FIELDS = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def validate_update(kind: str, new: Obj, old: Obj) -> list[Cause]:
    """:func:`validate_object` on ``new`` plus what may not change from ``old``."""
    causes = validate_object(kind, new)
    causes += _validate_metadata_update(_d(new.get("metadata")), _d(old.get("metadata")))
    checker = _UPDATE_VALIDATORS.get(kind)
    if checker is not None:
        causes += checker(new, old)
    return causes


def _validate_metadata_update(new: Obj, old: Obj) -> list[Cause]:
    """Name, namespace and uid are fixed; an empty uid and creationTimestamp are restored by the server."""
    causes: list[Cause] = []
    for key in ("name", "namespace", "uid"):
        if new.get(key) and old.get(key) and new[key] != old[key]:
            causes.append(_invalid(f"metadata.{key}", new[key], FIELD_IMMUTABLE))
    return causes


def _validate_pod_update(new: Obj, old: Obj) -> list[Cause]:
    new_spec, old_spec = _d(new.get("spec")), _d(old.get("spec"))
    causes = _active_deadline_update(
        new_spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    )
    causes += _tolerations_update(_items(new_spec.get("tolerations")), _items(old_spec.get("tolerations")))
    changed = _changed_paths(
        _immutable_pod_spec(new_spec, old_spec), _immutable_pod_spec(old_spec, old_spec), "spec"
    )
    if changed:
        causes.append(
            _forbidden("spec", _POD_UPDATE_MESSAGE + "".join(f"\n  changed: {p}" for p in changed[:10]))
        )
    return causes


def _immutable_pod_spec(spec: Obj, old_spec: Obj) -> Obj:
    """``spec`` without what a pod update may change, images taken from ``old_spec``."""
    masked = {key: copy.deepcopy(value) for key, value in spec.items() if key not in _POD_MUTABLE_FIELDS}
    for list_name in ("containers", "initContainers"):
        old_items = _items(old_spec.get(list_name))
        for i, container in enumerate(masked.get(list_name) or []):
            if isinstance(container, dict) and i < len(old_items):
                container["image"] = old_items[i].get("image")
    return masked


def _changed_paths(new: Any, old: Any, path: str) -> list[str]:
    if isinstance(new, dict) and isinstance(old, dict):
        keys = sorted(set(new) | set(old))
        return [p for k in keys for p in _changed_paths(new.get(k), old.get(k), f"{path}.{k}")]
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [
            p
            for i, (a, b) in enumerate(zip(new, old, strict=True))
            for p in _changed_paths(a, b, f"{path}[{i}]")
        ]
    return [] if new == old else [path]


def _active_deadline_update(new: Any, old: Any) -> list[Cause]:
    """It may be set, or shortened, never lengthened or removed."""
    path = "spec.activeDeadlineSeconds"
    if new is None and old is not None:
        return [_invalid(path, None, "must not update from a positive integer to nil value")]
    if _int(new) is not None and _int(old) is not None and new > old:
        return [_invalid(path, new, "must be less than or equal to previous value")]
    return []


def _tolerations_update(new: list[Obj], old: list[Obj]) -> list[Cause]:
    """Every existing toleration must survive; only its tolerationSeconds may change."""

    def without_seconds(toleration: Obj) -> Obj:
        return {k: v for k, v in toleration.items() if k != "tolerationSeconds"}

    remaining = [without_seconds(t) for t in new]
    if all(without_seconds(t) in remaining for t in old):
        return []
    return [
        _forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
    ]


def _validate_selector_update(new: Obj, old: Obj) -> list[Cause]:
    new_selector, old_selector = _d(new.get("spec")).get("selector"), _d(old.get("spec")).get("selector")
    if new_selector == old_selector:
        return []
    return [_invalid("spec.selector", new_selector, FIELD_IMMUTABLE)]


def _validate_service_update(new: Obj, old: Obj) -> list[Cause]:
    new_ip, old_ip = _d(new.get("spec")).get("clusterIP"), _d(old.get("spec")).get("clusterIP")
    if new_ip and old_ip and new_ip != old_ip:
        return [_invalid("spec.clusterIP", new_ip, FIELD_IMMUTABLE)]
    return []


def _immutable_data_update(*fields: str) -> Callable[[Obj, Obj], list[Cause]]:
    """ConfigMaps and Secrets marked ``immutable: true`` keep their data and the mark."""

    def check(new: Obj, old: Obj) -> list[Cause]:
        if old.get("immutable") is not True:
            return []
        message = "field is immutable when `immutable` is set"
        causes = [] if new.get("immutable") is True else [_forbidden("immutable", message)]
        return causes + [_forbidden(f, message) for f in fields if new.get(f) != old.get(f)]

    return check


def _validate_secret_update(new: Obj, old: Obj) -> list[Cause]:
    causes = (
        [] if new.get("type") == old.get("type") else [_invalid("type", new.get("type"), FIELD_IMMUTABLE)]
    )
    return causes + _immutable_data_update("data")(new, old)


_UPDATE_VALIDATORS: dict[str, Callable[[Obj, Obj], list[Cause]]] = {
    "Pod": _validate_pod_update,
    "Deployment": _validate_selector_update,
    "ReplicaSet": _validate_selector_update,
    "Service": _validate_service_update,
    "ConfigMap": _immutable_data_update("data", "binaryData"),
    "Secret": _validate_secret_update,
}
