"""Fixtures: a real apiserver (uvicorn on a free port, temp SQLite store) per test module."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from apiserver.app import AppSettings, create_app
from apiserver.store.base import Store
from apiserver.store.sqlite import SqliteStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningServer:
    """One apiserver serving HTTP from a thread (its own event loop) over ``store``."""

    def __init__(self, store: Store, settings: AppSettings) -> None:
        self.store = store
        self.app = create_app(self.store, settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign,attr-defined]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("apiserver did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.store.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    srv = RunningServer(SqliteStore(tmp_path / "state.db"), AppSettings(compaction_interval=3600))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
