"""The bare baseline of the API benchmark: the least an HTTPS JSON API over SQLite can do.

Same transport and durability as the podvisor apiserver, none of its semantics:

* uvicorn + FastAPI, HTTPS with the same certificate, the same bearer token checked per request;
* SQLite in WAL mode with ``synchronous=FULL``, one autocommitted statement (one fsync) per write:
  create = one INSERT, update = one UPDATE guarded by the resourceVersion (409 on a mismatch);
* JSON bodies parsed and written, objects stored as JSON text and returned as stored;
* watch = newline-delimited JSON events from an in-process fan-out, published after the commit.

No validation, defaulting, admission, selectors, history or compaction: the ceiling a Python
API server on this stack could reach. Run as ``python -m bench.baseline_app --db D --port P
--cert C --key K --token T``.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import StreamingResponse

JSON = "application/json"


class BareStore:
    """One table of current objects; the global revision counter is the resourceVersion."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, rv INTEGER NOT NULL, value TEXT)")
        row = self.db.execute("SELECT MAX(rv) FROM objects").fetchone()
        self.revision = int(row[0] or 0)
        self.watchers: set[asyncio.Queue[bytes]] = set()

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM objects WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def list(self, prefix: str) -> list[str]:
        rows = self.db.execute("SELECT value FROM objects WHERE key >= ? AND key < ? ORDER BY key",
                               (prefix, prefix + "\xff"))
        return [r[0] for r in rows]

    def create(self, key: str, obj: dict[str, Any]) -> str:
        self.revision += 1
        obj["metadata"].update(resourceVersion=str(self.revision), uid=str(uuid.uuid4()),
                               creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        value = json.dumps(obj, separators=(",", ":"))
        try:
            self.db.execute("INSERT INTO objects (key, rv, value) VALUES (?, ?, ?)", (key, self.revision, value))
        except sqlite3.IntegrityError as err:
            raise HTTPException(409, "AlreadyExists") from err
        self.publish("ADDED", value)
        return value

    def update(self, key: str, obj: dict[str, Any]) -> str:
        expected = int(obj["metadata"].get("resourceVersion") or 0)
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        value = json.dumps(obj, separators=(",", ":"))
        cur = self.db.execute("UPDATE objects SET rv = ?, value = ? WHERE key = ? AND (? = 0 OR rv = ?)",
                              (self.revision, value, key, expected, expected))
        if cur.rowcount == 0:
            raise HTTPException(409 if self.get(key) is not None else 404)
        self.publish("MODIFIED", value)
        return value

    def publish(self, kind: str, value: str) -> None:
        line = f'{{"type":"{kind}","object":{value}}}\n'.encode()
        for queue in self.watchers:
            queue.put_nowait(line)


def create_app(store: BareStore, token: str) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def authorised(request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
            raise HTTPException(401)

    auth = [Depends(authorised)]

    @app.get("/readyz")
    async def readyz() -> Response:
        return Response("ok")

    @app.get("/api/v1/namespaces/{ns}/pods/{name}", dependencies=auth)
    async def get_pod(ns: str, name: str) -> Response:
        value = store.get(f"/pods/{ns}/{name}")
        if value is None:
            raise HTTPException(404)
        return Response(value, media_type=JSON)

    @app.get("/api/v1/namespaces/{ns}/pods", dependencies=auth)
    async def list_pods(ns: str, watch: bool = False) -> Response:
        if watch:
            return StreamingResponse(_stream(store), media_type=JSON)
        items = ",".join(store.list(f"/pods/{ns}/"))
        body = f'{{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"{store.revision}"}},' \
               f'"items":[{items}]}}'
        return Response(body, media_type=JSON)

    @app.post("/api/v1/namespaces/{ns}/pods", dependencies=auth, status_code=201)
    async def create_pod(ns: str, request: Request) -> Response:
        obj = await request.json()
        return Response(store.create(f"/pods/{ns}/{obj['metadata']['name']}", obj), status_code=201, media_type=JSON)

    @app.put("/api/v1/namespaces/{ns}/pods/{name}", dependencies=auth)
    async def update_pod(ns: str, name: str, request: Request) -> Response:
        return Response(store.update(f"/pods/{ns}/{name}", await request.json()), media_type=JSON)

    return app


async def _stream(store: BareStore) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    store.watchers.add(queue)
    try:
        while True:
            yield await queue.get()
    finally:
        store.watchers.discard(queue)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="bare FastAPI+SQLite baseline")
    for flag in ("--db", "--cert", "--key", "--token"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(BareStore(args.db), args.token)
    uvicorn.run(app, host="127.0.0.1", port=args.port, ssl_certfile=args.cert, ssl_keyfile=args.key,
                log_level="warning")


if __name__ == "__main__":
    main()
