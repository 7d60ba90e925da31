"""ConfigMaps and Secrets: keys usable as file names, 1 MiB of data, ``immutable: true`` honoured."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from apiserver.defaults import unset
from apiserver.strategies.base import Cause, Obj, Strategy
from apiserver.validation import (
    FIELD_IMMUTABLE,
    as_dict,
    config_key_errors,
    forbidden,
    invalid_value,
    too_long,
)


def _default_secret(secret: Obj) -> None:
    unset(secret, "type", "Opaque")


MAX_CONFIG_SIZE = 1024 * 1024


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
        return _validate_config_data(obj, ("data", "stringData"), unique=False)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return _validate_secret_update(new, old)


CONFIG_MAP = ConfigMapStrategy("ConfigMap")
SECRET = SecretStrategy("Secret")
