"""Key rotation in one step: a new aesgcm key, every encrypted object rewritten with it, the old
keys dropped.

Kubernetes documents rotation as a procedure: add the new key as a second key, restart every
apiserver, make it the first, restart, rewrite every Secret (``kubectl get secrets -A -o json |
kubectl replace -f -``), remove the old key, restart. That works here too, unchanged. This module
does the same in one command while the servers are stopped, in an order that never leaves data
without a key that reads it:

1. the configuration gets the new key first, the old ones after (written atomically, 0600);
2. every object of an encrypted resource is rewritten through the store (a new revision each,
   encrypted with the new key; values written in plaintext by an older server are encrypted
   now), then history is compacted to the current revision, so no older row, encrypted with an
   old key or not at all, remains;
3. the store is opened again with only the new key, which decrypts every object or fails;
4. only then are the old keys removed from the configuration.

A crash at any step leaves a configuration that reads everything; running the command again
finishes the job. Compaction ends every client's watch history (they re-list, as after any
compaction past their revision).
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apimachinery.resources import RESOURCES
from apimachinery.yamlsafe import load_documents
from apiserver.store import open_store
from apiserver.store.encryption import ValueCodec, load_config, new_key, parse_config, write_config

ROTATED_RESOURCE = "secrets"  # the rule whose aesgcm provider gets the new key


@dataclass(frozen=True)
class Rotation:
    key_name: str
    removed: tuple[str, ...]  # old key names dropped from the configuration
    rewritten: dict[str, int]  # resource -> objects re-encrypted


def rotate_key(*, config_path: Path, endpoint: str | Path, synchronous: str = "FULL") -> Rotation:
    """Rotate the key of ``config_path`` and re-encrypt the store at ``endpoint`` (servers stopped:
    a SQLite store refuses to open while a server holds it)."""
    doc = _read(config_path)
    load_config(config_path)  # the current file must be valid before anything changes
    name, old = _add_key(doc)
    write_config(config_path, doc)
    rewritten = asyncio.run(_rewrite(load_config(config_path), endpoint=endpoint, synchronous=synchronous))
    final = _drop_keys(doc, old)
    codec = ValueCodec(parse_config(final, source=str(config_path)), source=str(config_path))
    open_store(endpoint, synchronous=synchronous, codec=codec).close()  # every object decrypts with the new key
    write_config(config_path, final)
    return Rotation(name, tuple(old), rewritten)


def _read(path: Path) -> dict[str, Any]:
    documents = load_documents(path.read_bytes(), source=str(path))
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ValueError(f"{path}: expected one EncryptionConfiguration object")
    return documents[0]


def _add_key(doc: dict[str, Any]) -> tuple[str, list[str]]:
    """Put a new key first in the aesgcm provider of the Secrets' rule (creating the provider if
    the rule starts with identity); return its name and the names of the keys it supersedes."""
    rule = next((r for r in doc["resources"] if ROTATED_RESOURCE in r["resources"] or "*.*" in r["resources"]), None)
    if rule is None:
        raise ValueError(f"the encryption configuration has no rule for {ROTATED_RESOURCE}")
    names = [k["name"] for r in doc["resources"] for p in r["providers"] for k in p.get("aesgcm", {}).get("keys", [])]
    numbers = [int(m.group(1)) for n in names if (m := re.fullmatch(r"key(\d+)", n))]
    name = f"key{max(numbers, default=0) + 1}"
    while name in names:
        name += "x"
    key = {"name": name, "secret": _b64(new_key())}
    first = rule["providers"][0]
    if "aesgcm" in first:
        old = [k["name"] for k in first["aesgcm"]["keys"]]
        first["aesgcm"]["keys"].insert(0, key)
    else:
        old = []
        rule["providers"].insert(0, {"aesgcm": {"keys": [key]}})
    return name, old


def _drop_keys(doc: dict[str, Any], names: list[str]) -> dict[str, Any]:
    for rule in doc["resources"]:
        for provider in rule["providers"]:
            if "aesgcm" in provider:
                provider["aesgcm"]["keys"] = [k for k in provider["aesgcm"]["keys"] if k["name"] not in names]
        rule["providers"] = [p for p in rule["providers"] if "aesgcm" not in p or p["aesgcm"]["keys"]]
    return doc


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def _rewrite(codec: ValueCodec, *, endpoint: str | Path, synchronous: str) -> dict[str, int]:
    store = open_store(endpoint, synchronous=synchronous, codec=codec)
    try:
        counts: dict[str, int] = {}
        for rt in RESOURCES:
            prefix = f"/registry/{rt.group_resource}/"
            if codec.rule_for(prefix) is None:
                continue
            items = store.list(prefix).items
            for kv in items:
                store.update(kv.key, kv.value, expected_revision=kv.mod_revision)
            counts[rt.group_resource] = len(items)
        await store.sync()
        store.compact(store.current_revision())
        return counts
    finally:
        store.close()
