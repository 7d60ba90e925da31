"""Secrets at rest: encrypted in both stores, never readable from the files, rotatable.

What an attacker with a copy of the data directory's database sees is checked with ``strings``,
as the attack would be made; what the server reads back is checked through the store.
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from apiserver.store import open_store
from apiserver.store.base import Store
from apiserver.store.encryption import (
    AESGCM_PREFIX,
    PLAIN,
    EncryptionError,
    ValueCodec,
    config_document,
    ensure_config,
    load_config,
    new_key,
    parse_config,
    write_config,
)
from apiserver.store.rotation import rotate_key
from apiserver.store.sqlite import SqliteStore
from tests.apiserver import pgcluster

postgres_cluster = pgcluster.postgres_cluster
postgres_url = pgcluster.postgres_url

SECRETS = "/registry/secrets/default/"
VALUE = "hunter2-correct-horse-battery"  # what must never be found on disk


def secret(name: str, value: str = VALUE) -> dict[str, Any]:
    encoded = base64.b64encode(f"{value}-{name}".encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "default"},
            "type": "Opaque", "data": {"password": encoded}}


def needles(name: str, value: str = VALUE) -> list[str]:
    """The secret's bytes as they would appear on disk: plain and base64 (the wire form of data)."""
    return [f"{value}-{name}", base64.b64encode(f"{value}-{name}".encode()).decode()]


def on_disk(db: Path) -> str:
    """What ``strings`` finds in the database and its WAL: an attacker's view of the files."""
    files = [str(p) for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
    return subprocess.run(["strings", "-n", "6", *files], capture_output=True, text=True, check=True).stdout


def codec_with(*keys: tuple[str, bytes], identity: bool = True) -> ValueCodec:
    doc = config_document(list(keys))
    if not identity:
        doc["resources"][0]["providers"].pop()
    return ValueCodec(parse_config(doc, source="test"))


KEY1 = ("key1", new_key())
KEY2 = ("key2", new_key())


# --- the codec ----------------------------------------------------------------------------------


def test_secret_is_stored_as_aesgcm_with_a_fresh_nonce_each_write() -> None:
    codec = codec_with(KEY1)
    first, second = codec.encode(SECRETS + "a", secret("a")), codec.encode(SECRETS + "a", secret("a"))
    assert first.startswith(f"{AESGCM_PREFIX}key1:") and second.startswith(f"{AESGCM_PREFIX}key1:")
    assert first != second
    assert codec.decode(SECRETS + "a", first) == secret("a") == codec.decode(SECRETS + "a", second)


def test_other_resources_stay_plain_json() -> None:
    codec = codec_with(KEY1)
    cm = {"metadata": {"name": "c"}, "data": {"k": VALUE}}
    assert codec.encode("/registry/configmaps/default/c", cm).startswith("{")


def test_ciphertext_moved_to_another_name_does_not_decrypt() -> None:
    codec = codec_with(KEY1)
    text = codec.encode(SECRETS + "a", secret("a"))
    with pytest.raises(EncryptionError, match="does not decrypt"):
        codec.decode(SECRETS + "b", text)


@pytest.mark.parametrize(("codec", "message"), [
    pytest.param(codec_with(KEY2), "aesgcm key 'key1', which the encryption configuration", id="key-not-listed"),
    pytest.param(codec_with(("key1", new_key())), "does not decrypt with aesgcm key 'key1'", id="same-name-wrong-secret"),
    pytest.param(PLAIN, "key 'key1', which the encryption configuration does not list", id="no-configuration"),
])
def test_a_value_no_key_decrypts_is_an_error_not_garbage(codec: ValueCodec, message: str) -> None:
    text = codec_with(KEY1).encode(SECRETS + "a", secret("a"))
    with pytest.raises(EncryptionError, match=message):
        codec.decode(SECRETS + "a", text)


def test_plaintext_is_read_through_identity_and_refused_without_it() -> None:
    plain = PLAIN.encode(SECRETS + "a", secret("a"))
    assert codec_with(KEY1).decode(SECRETS + "a", plain) == secret("a")
    with pytest.raises(EncryptionError, match="no identity provider"):
        codec_with(KEY1, identity=False).decode(SECRETS + "a", plain)


def _doc(**changes: Any) -> dict[str, Any]:
    doc = config_document([KEY1])
    provider = doc["resources"][0]["providers"][0]
    for path, value in changes.items():
        if path == "apiVersion":
            doc["apiVersion"] = value
        elif path == "resources":
            doc["resources"][0]["resources"] = value
        elif path == "provider":
            doc["resources"][0]["providers"][0] = value
        elif path == "key":
            provider["aesgcm"]["keys"][0].update(value)
        elif path == "keys":
            provider["aesgcm"]["keys"] = value
    return doc


@pytest.mark.parametrize(("doc", "message"), [
    pytest.param(_doc(apiVersion="v1"), "apiVersion/kind: must be apiserver.config.k8s.io/v1", id="api-version"),
    pytest.param(_doc(resources=[]), r"resources\[0\].resources: must be a non-empty list", id="no-resources"),
    pytest.param(_doc(provider={"aescbc": {"keys": []}}), "provider 'aescbc' is not supported", id="aescbc"),
    pytest.param(_doc(provider={"kms": {}}), "provider 'kms' is not supported", id="kms"),
    pytest.param(_doc(provider={"aesgcm": {}, "identity": {}}), "exactly one provider", id="two-in-one"),
    pytest.param(_doc(keys=[]), r"aesgcm.keys: must be a non-empty list", id="no-keys"),
    pytest.param(_doc(key={"secret": "not base64!"}), r"keys\[0\].secret: must be base64", id="not-base64"),
    pytest.param(_doc(key={"secret": base64.b64encode(b"x" * 20).decode()}), "16, 24 or 32 bytes, not 20",
                 id="short-key"),
    pytest.param(_doc(key={"name": "a:b"}), r"keys\[0\].name: must be a non-empty name without ':'", id="colon"),
    pytest.param(_doc(keys=[{"name": "k", "secret": base64.b64encode(new_key()).decode()}] * 2),
                 "duplicate key name 'k'", id="duplicate-name"),
])
def test_configuration_mistakes_are_refused_naming_the_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(EncryptionError, match=message):
        parse_config(doc, source="encryption-config.yaml")


def test_first_start_creates_a_private_configuration_with_one_random_key(tmp_path: Path) -> None:
    codec = ensure_config(tmp_path)
    path = tmp_path / "encryption-config.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert codec.encode(SECRETS + "a", secret("a")).startswith(f"{AESGCM_PREFIX}key1:")
    assert path.read_bytes() == (ensure_config(tmp_path) and path.read_bytes())  # reused, not regenerated


def test_a_given_configuration_that_does_not_exist_fails(tmp_path: Path) -> None:
    with pytest.raises(EncryptionError, match="cannot read the encryption configuration"):
        ensure_config(tmp_path, tmp_path / "elsewhere.yaml")
    assert not (tmp_path / "encryption-config.yaml").exists()


# --- SQLite: the files on disk ------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def opened(path: Path, codec: ValueCodec) -> SqliteStore:
    return SqliteStore(path, codec=codec)


def test_strings_finds_no_secret_value_in_the_database(db: Path) -> None:
    store = opened(db, codec_with(KEY1))
    for name in ("a", "b"):
        store.create(SECRETS + name, secret(name))
    kv = store.get(SECRETS + "b")
    assert kv is not None
    store.update(SECRETS + "b", secret("b", "second-version-value"), expected_revision=kv.mod_revision)
    found = on_disk(db)
    assert "k8s:enc:aesgcm:v1:key1:" in found  # the search works: it sees the rows
    for needle in needles("a") + needles("b") + needles("b", "second-version-value"):
        assert needle not in found
    store.close()
    reopened = opened(db, codec_with(KEY1))
    assert reopened.get(SECRETS + "b").value == secret("b", "second-version-value")  # type: ignore[union-attr]
    reopened.close()


def test_a_deleted_plaintext_secret_leaves_no_bytes_after_compaction(db: Path) -> None:
    """Without encryption (an older server's data): secure_delete and the WAL truncation remove
    the deleted and superseded rows' bytes from both files."""
    store = opened(db, PLAIN)
    store.create(SECRETS + "gone", secret("gone"))
    store.create("/registry/configmaps/default/filler", {"metadata": {"name": "filler"}, "data": {"x": "y" * 5000}})
    assert needles("gone")[1] in on_disk(db)
    store.delete(SECRETS + "gone")
    store.compact(store.current_revision())
    found = on_disk(db)
    for needle in needles("gone"):
        assert needle not in found
    store.close()


async def test_a_running_servers_compaction_truncates_the_wal_off_the_event_loop(db: Path) -> None:
    store = opened(db, PLAIN)
    store.create(SECRETS + "gone", secret("gone"))
    await store.sync()
    store.delete(SECRETS + "gone")
    await store.sync()
    assert Path(f"{db}-wal").stat().st_size > 0
    store.compact(store.current_revision())  # returns at once; the checkpoint runs in a thread
    for _ in range(200):
        if Path(f"{db}-wal").stat().st_size == 0:
            break
        await asyncio.sleep(0.01)
    assert Path(f"{db}-wal").stat().st_size == 0
    assert not any(needle in on_disk(db) for needle in needles("gone"))
    store.close()


def test_database_files_are_private(db: Path) -> None:
    db.touch(mode=0o644)
    db.chmod(0o644)  # as an older server left it
    store = opened(db, codec_with(KEY1))
    store.create(SECRETS + "a", secret("a"))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in db.parent.iterdir() if p.name.startswith("state.db")}
    store.close()
    assert {"state.db", "state.db-wal", "state.db-shm", "state.db.lock"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_wrong_key_fails_start_up_and_keeps_the_data(db: Path) -> None:
    store = opened(db, codec_with(KEY1))
    store.create(SECRETS + "a", secret("a"))
    store.close()
    with pytest.raises(EncryptionError, match="/registry/secrets/default/a does not decrypt with aesgcm key 'key1'"):
        opened(db, codec_with(("key1", new_key())))
    with pytest.raises(EncryptionError, match="key 'key1', which the encryption configuration"):
        opened(db, codec_with(KEY2))
    store = opened(db, codec_with(KEY1))  # the lock was released; the right key still reads it
    assert store.get(SECRETS + "a").value == secret("a")  # type: ignore[union-attr]
    store.close()


def test_server_start_up_with_a_wrong_key_exits_with_the_reason(tmp_path: Path) -> None:
    from podvisor.server import ServerOptions, open_server_store

    store = open_server_store(ServerOptions(data_dir=tmp_path))
    store.create(SECRETS + "a", secret("a"))
    store.close()
    other = tmp_path / "other.yaml"
    write_config(other, config_document([KEY2]))
    with pytest.raises(SystemExit, match="podvisor: /registry/secrets/default/a is encrypted with aesgcm key 'key1'"):
        open_server_store(ServerOptions(data_dir=tmp_path, encryption_provider_config=other))


# --- rotation -----------------------------------------------------------------------------------


def stored_texts(db: Path) -> list[str]:
    with sqlite3.connect(db) as raw:
        return [r[0] for r in raw.execute("SELECT value FROM log WHERE name LIKE '/registry/secrets/%'")]


def test_rotation_re_encrypts_every_secret_including_an_older_servers_plaintext(tmp_path: Path, db: Path) -> None:
    config = tmp_path / "encryption-config.yaml"
    old = opened(db, PLAIN)  # an older server, before encryption existed
    for i in range(5):
        old.create(f"{SECRETS}plain-{i}", secret(f"plain-{i}"))
    old.close()
    write_config(config, config_document([KEY1]))
    store = opened(db, load_config(config))
    for i in range(7):
        store.create(f"{SECRETS}new-{i}", secret(f"new-{i}"))
    kv = store.get(SECRETS + "new-0")
    store.update(SECRETS + "new-0", secret("new-0"), expected_revision=kv.mod_revision)  # type: ignore[union-attr]
    store.close()
    assert any(needles("plain-0")[1] in text for text in stored_texts(db))

    done = rotate_key(config_path=config, endpoint=db)

    assert (done.key_name, done.removed, done.rewritten["secrets"]) == ("key2", ("key1",), 12)
    texts = stored_texts(db)
    assert len(texts) == 12 and all(t.startswith(f"{AESGCM_PREFIX}key2:") for t in texts)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "key1" not in config.read_text()
    found = on_disk(db)
    for name in [f"plain-{i}" for i in range(5)] + [f"new-{i}" for i in range(7)]:
        assert not any(needle in found for needle in needles(name)), name
    store = opened(db, load_config(config))
    assert store.get(SECRETS + "plain-3").value == secret("plain-3")  # type: ignore[union-attr]
    assert store.count(SECRETS) == 12
    store.close()


def test_kubernetes_documented_rotation_procedure(db: Path) -> None:
    """Add the new key second, restart; move it first, restart; rewrite every Secret; remove the
    old key, restart: each step reads everything the previous one wrote."""
    store = opened(db, codec_with(KEY1))
    for i in range(3):
        store.create(f"{SECRETS}s{i}", secret(f"s{i}"))
    store.close()
    opened(db, codec_with(KEY1, KEY2)).close()  # the new key listed second: nothing changes yet
    store = opened(db, codec_with(KEY2, KEY1))  # first: new writes use it, old values still read
    for kv in store.list(SECRETS).items:  # kubectl get secrets -A -o json | kubectl replace -f -
        store.update(kv.key, kv.value, expected_revision=kv.mod_revision)
    store.close()
    latest = {t.split(":")[4] for t in stored_texts(db)[-3:]}
    assert latest == {"key2"}
    store = opened(db, codec_with(KEY2))  # the old key removed: the live state reads
    assert [kv.value for kv in store.list(SECRETS).items] == [secret(f"s{i}") for i in range(3)]
    store.compact(store.current_revision())  # and once history is compacted, nothing under key1 is left
    store.close()
    assert {t.split(":")[4] for t in stored_texts(db)} == {"key2"}


def test_rotation_refuses_a_running_servers_database(tmp_path: Path, db: Path) -> None:
    from apiserver.store.base import StoreLockedError

    config = tmp_path / "encryption-config.yaml"
    write_config(config, config_document([KEY1]))
    running = opened(db, load_config(config))
    with pytest.raises(StoreLockedError):
        rotate_key(config_path=config, endpoint=db)
    running.close()
    assert "key1" in config.read_text()  # both keys kept: nothing was rewritten yet


def test_rotate_key_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from podvisor.cli import app
    from podvisor.server import ServerOptions, open_server_store

    store = open_server_store(ServerOptions(data_dir=tmp_path))
    for i in range(3):
        store.create(f"{SECRETS}s{i}", secret(f"s{i}"))
    store.close()
    result = CliRunner().invoke(app, ["secrets", "rotate-key", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "new key key2 in" in result.output and "re-encrypted 3 secrets; removed key1" in result.output


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg(postgres_url: str) -> Iterator[str]:
    yield postgres_url


def pg_texts(url: str) -> list[str]:
    with psycopg.connect(url) as raw:
        return [r[0] for r in raw.execute("SELECT value FROM log WHERE name LIKE '/registry/secrets/%'")]


def test_postgres_stores_secrets_encrypted_and_rotates(pg: str, tmp_path: Path) -> None:
    config = tmp_path / "encryption-config.yaml"
    old: Store = open_store(pg)  # plaintext, as an older server wrote it
    old.create(SECRETS + "plain", secret("plain"))
    old.close()
    write_config(config, config_document([KEY1]))
    store = open_store(pg, codec=load_config(config))
    store.create(SECRETS + "a", secret("a"))
    store.create("/registry/configmaps/default/c", {"metadata": {"name": "c"}, "data": {"k": "v"}})
    assert store.get(SECRETS + "plain").value == secret("plain")  # type: ignore[union-attr]
    deleted = store.delete(SECRETS + "a")
    assert deleted.value == secret("a")
    store.create(SECRETS + "a", secret("a"))
    store.close()
    texts = pg_texts(pg)
    assert sum(t.startswith(f"{AESGCM_PREFIX}key1:") for t in texts) == 3 and any(t.startswith("{") for t in texts)
    with pytest.raises(EncryptionError, match="is encrypted with aesgcm key 'key1'"):
        open_store(pg, codec=codec_with(KEY2))

    done = rotate_key(config_path=config, endpoint=pg)

    assert done.rewritten["secrets"] == 2
    texts = pg_texts(pg)
    assert len(texts) == 2 and all(t.startswith(f"{AESGCM_PREFIX}key2:") for t in texts)
    store = open_store(pg, codec=load_config(config))
    assert store.get(SECRETS + "plain").value == secret("plain")  # type: ignore[union-attr]
    store.close()
