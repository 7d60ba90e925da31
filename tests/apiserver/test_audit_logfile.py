"""The audit log file: rotation by size, backups by count and age, and a disk that fails or stalls.

Rotation times come from an injected clock, so backup names and ages are exact.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from apiserver.audit.logfile import LogFile
from apiserver.audit.options import AuditOptions
from apiserver.audit.policy import PolicyError


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 14, 0, 0, 123456, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def event(i: int, pad: int = 0) -> dict[str, Any]:
    return {"kind": "Event", "auditID": f"id-{i}", "pad": "x" * pad}


def line_size(i: int, pad: int) -> int:
    return len(json.dumps(event(i, pad), separators=(",", ":"))) + 1


def write(log: LogFile, events: list[dict[str, Any]], clock: Clock | None = None) -> None:
    """One event at a time, each written before the next (and the clock moved a second)."""
    for e in events:
        log.process(e)
        deadline = time.monotonic() + 5
        while log.written + log.dropped < int(e["auditID"].split("-")[1]) + 1:
            assert time.monotonic() < deadline, "the writer did not write"
            time.sleep(0.001)
        if clock is not None:
            clock.now += timedelta(seconds=1)


def ids(path: Path) -> list[str]:
    return [json.loads(line)["auditID"] for line in path.read_text().splitlines()]


def test_rotates_by_size_into_timestamped_backups(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "audit.log"
    size = line_size(0, 100)
    log = LogFile(path, max_size=size * 3, clock=clock)  # three events per file
    write(log, [event(i, 100) for i in range(8)], clock)
    log.close()
    backups = [p for _, p in log.backups()]
    assert [p.name for p in backups] == ["audit-2026-12-02T14-00-03.123.log", "audit-2026-12-02T14-00-06.123.log"]
    assert [ids(p) for p in backups] == [["id-0", "id-1", "id-2"], ["id-3", "id-4", "id-5"]]
    assert ids(path) == ["id-6", "id-7"]
    assert all(p.stat().st_size <= size * 3 for p in [*backups, path])


def test_keeps_at_most_max_backups(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "audit.log"
    log = LogFile(path, max_size=line_size(0, 100), max_backups=2, clock=clock)  # one event per file
    write(log, [event(i, 100) for i in range(6)], clock)
    log.close()
    assert [ids(p) for _, p in log.backups()] == [["id-3"], ["id-4"]]  # the newest two
    assert ids(path) == ["id-5"]


def test_removes_backups_older_than_max_age(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "audit.log"
    log = LogFile(path, max_size=line_size(0, 100), max_age_days=2, clock=clock)
    write(log, [event(0, 100), event(1, 100)], clock)  # backup of id-0 at t0
    clock.now += timedelta(days=3)
    write(log, [event(2, 100)], clock)  # rotation 3 days later: the first backup is too old
    log.close()
    assert [ids(p) for _, p in log.backups()] == [["id-1"]]


def test_no_rotation_without_max_size(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = LogFile(path)
    write(log, [event(i, 1000) for i in range(50)])
    log.close()
    assert len(ids(path)) == 50 and log.backups() == []


def test_appends_to_an_existing_log_and_counts_its_size(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_text(json.dumps(event(99)) + "\n")
    log = LogFile(path, max_size=path.stat().st_size + line_size(0, 0) - 1)
    write(log, [event(0)])
    log.close()
    assert ids(path) == ["id-0"] and [ids(p) for _, p in log.backups()] == [["id-99"]]


def test_a_failing_disk_drops_and_counts_then_recovers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "audit.log"
    log = LogFile(path)
    write(log, [event(0)])
    path.unlink()
    path.mkdir()  # the log's path is now a directory: opening it fails
    log._close_file()  # as after a failed write: the next batch reopens
    write(log, [event(1), event(2)])
    assert (log.written, log.dropped) == (1, 2)
    assert len([r for r in caplog.records if "dropping audit events" in r.message]) == 1  # logged once
    path.rmdir()
    write(log, [event(3)])
    log.close()
    assert (log.written, log.dropped) == (2, 2) and ids(path) == ["id-3"]


def test_a_stalled_disk_never_blocks_the_caller(tmp_path: Path) -> None:
    """The writer is stuck (a hung device): process() still returns at once; the overflow is counted."""
    log = LogFile(tmp_path / "audit.log", queue_events=10)
    stuck = threading.Event()
    original = log._append

    def hang(lines: list[bytes]) -> None:
        stuck.wait(10)
        original(lines)

    log._append = hang  # type: ignore[method-assign]
    started = time.monotonic()
    for i in range(100):
        log.process(event(i))
    elapsed = time.monotonic() - started
    stuck.set()
    log.close()
    assert elapsed < 1.0  # 100 events handed over while the writer hangs
    assert log.dropped >= 80 and log.dropped + log.written == 100


def test_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    log = LogFile("-")
    write(log, [event(0)])
    log.close()
    assert json.loads(capfd.readouterr().out)["auditID"] == "id-0"


@pytest.mark.parametrize(("options", "message"), [
    pytest.param(AuditOptions(policy_file=Path("p.yaml")), "--audit-policy-file needs --audit-log-path", id="policy-alone"),
    pytest.param(AuditOptions(log_path="x", max_size_mb=-1), "--audit-log-maxsize must not be negative", id="negative"),
    pytest.param(AuditOptions(log_path="/proc/audit.log"), "cannot open the audit log /proc/audit.log", id="unwritable"),
    pytest.param(AuditOptions(log_path="x", policy_file=Path("/nonexistent/p.yaml")),
                 "cannot read the audit policy /nonexistent/p.yaml", id="missing-policy"),
])
def test_unusable_options_fail_start_up(options: AuditOptions, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        options.build()


def test_the_log_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "audit.log"
    log = LogFile(path)
    log.close()
    assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)
