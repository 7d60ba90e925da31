"""Store back-ends behind one protocol (:mod:`apiserver.store.base`), and :func:`open_store`.

``open_store`` picks the back-end from the endpoint, as k3s's ``--datastore-endpoint`` does: a
``postgres://`` or ``postgresql://`` URL opens the shared PostgreSQL log (several apiservers on
one database), anything else is a path to the embedded SQLite database.
"""

from __future__ import annotations

from pathlib import Path

from apiserver.store.base import Store
from apiserver.store.encryption import PLAIN, ValueCodec

POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def is_postgres_endpoint(endpoint: str | Path) -> bool:
    return isinstance(endpoint, str) and endpoint.startswith(POSTGRES_SCHEMES)


def open_store(endpoint: str | Path, *, synchronous: str = "FULL", codec: ValueCodec = PLAIN) -> Store:
    """Open the store at ``endpoint``; ``synchronous`` is SQLite's durability pragma, ``codec``
    encrypts the resources an encryption configuration names (:mod:`apiserver.store.encryption`)."""
    if is_postgres_endpoint(endpoint):
        from apiserver.store.postgres import PostgresStore  # psycopg is an optional dependency

        return PostgresStore(str(endpoint), codec=codec)
    from apiserver.store.sqlite import SqliteStore

    return SqliteStore(endpoint, synchronous=synchronous, codec=codec)
