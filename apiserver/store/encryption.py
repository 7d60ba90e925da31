"""Encryption at rest: the stores' value codec, configured by Kubernetes' ``EncryptionConfiguration``.

A store turns every object into the text of its ``value`` column through a :class:`ValueCodec`
and back. For the resources the configuration names (``secrets`` by default) the first provider
encrypts and every listed provider may decrypt, as kube-apiserver's prefix transformers do:

* ``aesgcm``: AES-GCM with a 16, 24 or 32 byte key, a fresh random 12-byte nonce per write and
  the storage key (``/registry/secrets/<ns>/<name>``) as authenticated data, so a ciphertext
  copied under another name does not decrypt. The stored text is
  ``k8s:enc:aesgcm:v1:<key name>:`` followed by nonce + ciphertext + tag. Kubernetes writes those
  bytes raw into etcd; the stores' ``value`` column is text, so here they are base64.
* ``identity``: no encryption. Listed after ``aesgcm`` it lets values written before encryption
  was configured (plain JSON) still be read; listed first it turns encryption off for writes.

Any other provider (``aescbc``, ``secretbox``, ``kms``) is refused rather than ignored. Every
value under the ``k8s:enc:`` prefix is decrypted whatever resource it belongs to; a value no
configured key can decrypt raises :class:`EncryptionError`, never garbage: the server refuses to
start on one, and a request that meets one later (an old revision) gets a 500.

The in-memory live state holds plaintext; only what reaches the database is encrypted.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from apimachinery import jsonio
from apimachinery.yamlsafe import ManifestError, load_documents
from apiserver.store.base import StorageError, encode

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
PREFIX = "k8s:enc:"
AESGCM_PREFIX = "k8s:enc:aesgcm:v1:"
NONCE_BYTES = 12
KEY_BYTES = 32
AES_KEY_SIZES = (16, 24, 32)
CONFIG_FILE = "encryption-config.yaml"
DEFAULT_RESOURCES = ("secrets",)
SUPPORTED = ("aesgcm", "identity")

log = logging.getLogger(__name__)


class EncryptionError(StorageError):
    """A stored value cannot be decrypted, or the configuration cannot be used (500)."""

    def __init__(self, message: str) -> None:
        super().__init__(500, "InternalError", message)


@dataclass(frozen=True)
class AesGcmProvider:
    keys: tuple[tuple[str, AESGCM], ...]  # (name, cipher); the first encrypts

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.keys)

    def encrypt(self, storage_key: str, plain: bytes) -> str:
        name, cipher = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = cipher.encrypt(nonce, plain, storage_key.encode())
        return f"{AESGCM_PREFIX}{name}:{base64.b64encode(nonce + sealed).decode()}"

    def cipher(self, name: str) -> AESGCM | None:
        return next((cipher for known, cipher in self.keys if known == name), None)


@dataclass(frozen=True)
class IdentityProvider:
    pass


Provider = AesGcmProvider | IdentityProvider


@dataclass(frozen=True)
class ResourceRule:
    resources: tuple[str, ...]  # "secrets", "deployments.apps", "*.apps", "*.*"
    providers: tuple[Provider, ...]

    def covers(self, group_resource: str) -> bool:
        group = group_resource.partition(".")[2]
        return any(r in (group_resource, "*.*") or (r.startswith("*.") and r[2:] == group) for r in self.resources)


class ValueCodec:
    """JSON text of a stored object, encrypted for the resources the rules cover.

    With no rules (the default, and the in-memory test stores) it is plain JSON both ways.
    """

    def __init__(self, rules: Sequence[ResourceRule] = (), *, source: str = "") -> None:
        self.rules = tuple(rules)
        self.source = source  # the configuration file, named in errors
        self._by_resource: dict[str, ResourceRule | None] = {}
        self._aesgcm = [p for rule in self.rules for p in rule.providers if isinstance(p, AesGcmProvider)]

    def rule_for(self, storage_key: str) -> ResourceRule | None:
        """The first rule covering the key's resource (``/registry/<resource>/...``), as Kubernetes
        takes the first matching entry."""
        resource = storage_key.split("/", 3)[2] if storage_key.count("/") >= 2 else ""
        if resource not in self._by_resource:
            self._by_resource[resource] = next((r for r in self.rules if r.covers(resource)), None)
        return self._by_resource[resource]

    def encode(self, storage_key: str, value: dict[str, Any]) -> str:
        text = encode(value)
        rule = self.rule_for(storage_key) if self.rules else None
        if rule is None or isinstance(rule.providers[0], IdentityProvider):
            return text
        return rule.providers[0].encrypt(storage_key, text.encode())

    def decode(self, storage_key: str, text: str) -> dict[str, Any]:
        if text.startswith(PREFIX):
            return jsonio.loads(self._decrypt(storage_key, text))
        rule = self.rule_for(storage_key) if self.rules else None
        if rule is not None and not any(isinstance(p, IdentityProvider) for p in rule.providers):
            raise EncryptionError(f"{storage_key} is stored unencrypted and the encryption configuration"
                                  f"{self._named()} lists no identity provider to read it")
        return jsonio.loads(text)

    def _decrypt(self, storage_key: str, text: str) -> bytes:
        if not text.startswith(AESGCM_PREFIX):
            kind = text[len(PREFIX):].split(":", 1)[0]
            raise EncryptionError(f"{storage_key} is encrypted by provider {kind!r}, which podvisor does not support")
        name, _, payload = text[len(AESGCM_PREFIX):].partition(":")
        cipher = next((c for c in (p.cipher(name) for p in self._aesgcm) if c is not None), None)
        if cipher is None:
            raise EncryptionError(f"{storage_key} is encrypted with aesgcm key {name!r}, which the encryption "
                                  f"configuration{self._named()} does not list: start with the configuration "
                                  "that holds that key")
        try:
            raw = base64.b64decode(payload, validate=True)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], storage_key.encode())
        except (InvalidTag, binascii.Error, ValueError):
            raise EncryptionError(f"{storage_key} does not decrypt with aesgcm key {name!r} of the encryption "
                                  f"configuration{self._named()}: the key's secret is not the one it was "
                                  "encrypted with, or the stored value was altered") from None

    def _named(self) -> str:
        return f" ({self.source})" if self.source else ""


PLAIN = ValueCodec()


# --- the configuration file ---------------------------------------------------------------------


def load_config(path: Path) -> ValueCodec:
    """Read an ``EncryptionConfiguration`` file; every mistake is an :class:`EncryptionError`
    naming the file and the field."""
    try:
        text = path.read_bytes()
    except OSError as err:
        raise EncryptionError(f"cannot read the encryption configuration {path}: {err.strerror}") from None
    try:
        documents = load_documents(text, source=str(path))
    except ManifestError as err:
        raise EncryptionError(str(err)) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise EncryptionError(f"{path}: expected one EncryptionConfiguration object")
    return ValueCodec(parse_config(documents[0], source=str(path)), source=str(path))


def parse_config(doc: dict[str, Any], *, source: str) -> list[ResourceRule]:
    def fail(field: str, message: str) -> EncryptionError:
        return EncryptionError(f"{source}: {field}: {message}")

    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise fail("apiVersion/kind", f"must be {API_VERSION} {KIND}")
    entries = doc.get("resources")
    if not isinstance(entries, list) or not entries:
        raise fail("resources", "must be a non-empty list")
    rules = []
    for i, entry in enumerate(entries):
        at = f"resources[{i}]"
        names = entry.get("resources") if isinstance(entry, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise fail(f"{at}.resources", "must be a non-empty list of resource names")
        providers = entry.get("providers")
        if not isinstance(providers, list) or not providers:
            raise fail(f"{at}.providers", "must be a non-empty list")
        rules.append(ResourceRule(tuple(names), tuple(_provider(p, f"{at}.providers[{j}]", fail)
                                                      for j, p in enumerate(providers))))
    return rules


def _provider(spec: Any, at: str, fail: Any) -> Provider:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise fail(at, "must name exactly one provider")
    (kind, body), = spec.items()
    if kind == "identity":
        return IdentityProvider()
    if kind != "aesgcm":
        raise fail(at, f"provider {kind!r} is not supported (supported: {', '.join(SUPPORTED)})")
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys:
        raise fail(f"{at}.aesgcm.keys", "must be a non-empty list")
    found: list[tuple[str, AESGCM]] = []
    for k, key in enumerate(keys):
        name = key.get("name") if isinstance(key, dict) else None
        if not isinstance(name, str) or not name or ":" in name:
            raise fail(f"{at}.aesgcm.keys[{k}].name", "must be a non-empty name without ':'")
        if name in (n for n, _ in found):
            raise fail(f"{at}.aesgcm.keys[{k}].name", f"duplicate key name {name!r}")
        try:
            secret = base64.b64decode(str(key.get("secret", "")), validate=True)
        except binascii.Error:
            raise fail(f"{at}.aesgcm.keys[{k}].secret", "must be base64") from None
        if len(secret) not in AES_KEY_SIZES:
            raise fail(f"{at}.aesgcm.keys[{k}].secret", f"must decode to 16, 24 or 32 bytes, not {len(secret)}")
        found.append((name, AESGCM(secret)))
    return AesGcmProvider(tuple(found))


def config_document(keys: Sequence[tuple[str, bytes]], *, resources: Sequence[str] = DEFAULT_RESOURCES) -> dict[str, Any]:
    """An EncryptionConfiguration: aesgcm with ``keys`` (the first encrypts), then identity."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "resources": [{
            "resources": list(resources),
            "providers": [
                {"aesgcm": {"keys": [{"name": n, "secret": base64.b64encode(s).decode()} for n, s in keys]}},
                {"identity": {}},
            ],
        }],
    }


def write_config(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically (a crash leaves the old file or the new one), mode 0600 from the start."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, yaml.safe_dump(doc, sort_keys=False).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def ensure_config(data_dir: Path, given: Path | None = None) -> ValueCodec:
    """The codec of ``given``, or of ``<data_dir>/encryption-config.yaml``, created on first use
    with one random key. A ``given`` file that does not exist is an error: it may hold the only
    key of existing data, and a new key would not read it."""
    if given is not None:
        return load_config(given)
    path = data_dir / CONFIG_FILE
    if not path.exists():
        write_config(path, config_document([("key1", new_key())]))
        log.warning("created %s with a new key for Secrets at rest: keep a copy (without it they cannot be "
                    "read), and give every apiserver sharing the store the same file", path)
    return load_config(path)
