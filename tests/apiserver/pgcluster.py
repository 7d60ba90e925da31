"""A throwaway PostgreSQL server for the tests, and the fixtures that hand out databases.

One cluster per test session (``initdb`` into a temporary directory, ``pg_ctl start`` on a free
port with its socket in that directory), one fresh database per test. The server binaries are
required, never optional: without them the fixture FAILS, telling what to install, so a machine
that lacks them cannot pass the suite by skipping the PostgreSQL store's tests.

As root, ``initdb`` refuses to run, so the cluster runs as the ``postgres`` system user that
Debian's package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apiserver.conftest import free_port

INSTALL_HINT = "apt-get install -y postgresql"


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl (Debian keeps them out of PATH)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)],
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found; install them: {INSTALL_HINT}")


class PostgresCluster:
    """initdb + pg_ctl around a temporary data directory; trust authentication on 127.0.0.1."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="podvisor-pg-"))
        self.data = self.root / "data"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail(f"running as root needs the 'postgres' system user; install: {INSTALL_HINT}")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.running = False

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            pytest.fail(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}")

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        settings = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root}"
                    " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", settings, "-w", "-t", "60", "start")
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            done = subprocess.run([*self._as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data),
                                   "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
            pidfile = self.data / "postmaster.pid"
            if done.returncode != 0 and pidfile.exists():  # never leave a server behind
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_shared: PostgresCluster | None = None


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The session's server, started once however many test modules import this fixture."""
    global _shared
    if _shared is None or not _shared.running:
        _shared = PostgresCluster()
        try:
            _shared.start()
        except BaseException:
            _shared.stop()
            raise
    yield _shared
    _shared.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty database on the session's server."""
    url = postgres_cluster.create_database()
    yield url
    postgres_cluster.drop_database(url)
