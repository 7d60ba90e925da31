"""ConfigMaps and Secrets: keys usable as file names, 1 MiB of data, ``immutable: true`` honoured.

A Secret's write-only ``stringData`` is folded into ``data`` before anything else looks at the
object, as Kubernetes' conversion does, so it is validated, stored and returned as ``data`` only.
Each built-in Secret ``type`` requires the keys its consumers read (Kubernetes' ``ValidateSecret``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence

from apiserver.defaults import unset
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    FIELD_IMMUTABLE,
    as_dict,
    config_key_errors,
    forbidden,
    invalid_value,
    required,
    too_long,
)


def _merge_string_data(secret: Obj) -> None:
    """``stringData`` entries become base64 ``data`` entries (winning on a shared key), then go."""
    string_data = secret.pop("stringData", None)
    if not isinstance(string_data, dict) or not string_data:
        return
    data = secret.get("data")
    merged = dict(data) if isinstance(data, dict) else {}
    for key, value in string_data.items():
        merged[key] = base64.b64encode(str(value).encode()).decode()
    secret["data"] = merged


def _default_secret(secret: Obj) -> None:
    _merge_string_data(secret)
    unset(secret, "type", "Opaque")


def _decoded(value: object) -> bytes:
    """A ``data`` value's bytes (its text as given if it is not base64)."""
    text = value if isinstance(value, str) else ""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()


def _json_object_error(raw: bytes) -> str | None:
    """Why ``raw`` is not a JSON object (what a docker config file must be), or None."""
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        return str(err)
    if not isinstance(parsed, dict):
        return f"json: cannot unmarshal {type(parsed).__name__} into Go value of type map[string]interface {{}}"
    return None


def _docker_config_causes(data: Obj, key: str) -> list[Cause]:
    if key not in data:
        return [required(f"data[{key}]")]
    error = _json_object_error(_decoded(data[key]))
    return [] if error is None else [invalid_value(f"data[{key}]", "<secret contents redacted>", error)]


def _required_keys(data: Obj, keys: Sequence[str], *, any_of: bool = False) -> list[Cause]:
    missing = [key for key in keys if key not in data]
    if any_of and len(missing) < len(keys):
        return []
    return [required(f"data[{key}]") for key in missing]


SERVICE_ACCOUNT_NAME_KEY = "kubernetes.io/service-account.name"
MAX_CONFIG_SIZE = 1024 * 1024


def _secret_type_causes(secret: Obj) -> list[Cause]:
    """The keys (or annotation) each built-in Secret type needs; other types need nothing."""
    data = as_dict(secret.get("data"))
    kind = secret.get("type")
    if kind == "kubernetes.io/service-account-token":
        annotations = as_dict(as_dict(secret.get("metadata")).get("annotations"))
        name_missing = not annotations.get(SERVICE_ACCOUNT_NAME_KEY)
        return [required(f"metadata.annotations[{SERVICE_ACCOUNT_NAME_KEY}]")] if name_missing else []
    if kind == "kubernetes.io/dockercfg":
        return _docker_config_causes(data, ".dockercfg")
    if kind == "kubernetes.io/dockerconfigjson":
        return _docker_config_causes(data, ".dockerconfigjson")
    if kind == "kubernetes.io/basic-auth":
        return _required_keys(data, ("username", "password"), any_of=True)
    if kind == "kubernetes.io/ssh-auth":
        return [] if _decoded(data.get("ssh-privatekey")) else [required("data[ssh-privatekey]")]
    if kind == "kubernetes.io/tls":
        return _required_keys(data, ("tls.crt", "tls.key"))
    return []


def _validate_secret(secret: Obj) -> list[Cause]:
    """Key names, 1 MiB of decoded data, and what the Secret's type requires."""
    causes: list[Cause] = []
    total = 0
    for section in ("data", "stringData"):
        for key, value in as_dict(secret.get(section)).items():
            causes += [invalid_value(f"{section}[{key}]", key, msg) for msg in config_key_errors(key)]
            total += len(_decoded(value)) if section == "data" else len(str(value).encode())
    if total > MAX_CONFIG_SIZE:
        causes.append(too_long("data", MAX_CONFIG_SIZE))
    return causes + _secret_type_causes(secret)



def _validate_config_data(obj: Obj, sections: Sequence[str], *, unique: bool) -> list[Cause]:
    """Keys usable as file names, unique across ``sections`` when asked, 1 MiB in all."""
    causes: list[Cause] = []
    seen: set[str] = set()
    total = 0
    for section in sections:
        for key, value in as_dict(obj.get(section)).items():
            causes += [invalid_value(f"{section}[{key}]", key, msg) for msg in config_key_errors(key)]
            if unique and key in seen:
                causes.append(invalid_value(f"{section}[{key}]", key, "duplicate of key present in data"))
            seen.add(key)
            total += len(value) if isinstance(value, str) else 0
    if total > MAX_CONFIG_SIZE:
        causes.append(too_long(sections[0], MAX_CONFIG_SIZE))
    return causes


def _immutable_data_update(*fields: str) -> Callable[[Obj, Obj], list[Cause]]:
    """ConfigMaps and Secrets marked ``immutable: true`` keep their data and the mark."""

    def check(new: Obj, old: Obj) -> list[Cause]:
        if old.get("immutable") is not True:
            return []
        message = "field is immutable when `immutable` is set"
        causes = [] if new.get("immutable") is True else [forbidden("immutable", message)]
        return causes + [forbidden(f, message) for f in fields if new.get(f) != old.get(f)]

    return check


def _validate_secret_update(new: Obj, old: Obj) -> list[Cause]:
    causes = (
        [] if new.get("type") == old.get("type") else [invalid_value("type", new.get("type"), FIELD_IMMUTABLE)]
    )
    return causes + _immutable_data_update("data")(new, old)


class ConfigMapStrategy(Strategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_config_data(obj, ("data", "binaryData"), unique=True)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _immutable_data_update("data", "binaryData")(new, old)


class SecretStrategy(Strategy):
    def default(self, obj: Obj, *, toleration_seconds: int) -> None:
        _default_secret(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        return _validate_secret(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_secret_update(new, old)


CONFIG_MAP = ConfigMapStrategy("ConfigMap")
SECRET = SecretStrategy("Secret")
