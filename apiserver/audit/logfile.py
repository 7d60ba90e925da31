"""The audit log file: JSON lines written by a thread, rotated by size, as kube-apiserver's log backend.

Requests hand events to a bounded queue and go on; one writer thread encodes them, appends
them to the file and flushes after each batch. So the event loop never waits for the disk:
a slow disk fills the queue, a full or unwritable one makes writes fail, and either way the
events that cannot be written are **dropped and counted** (:attr:`LogFile.dropped`; the first
drop is logged as an error, later ones only counted), while requests are served as usual. A
write that fails closes the file; the next batch opens it again, so logging resumes by itself
once space is freed. (kube-apiserver's log backend in its default ``blocking`` mode also serves
the request when the write fails; its batch mode drops when its buffer is full, as here.)

Rotation as kube-apiserver's flags (its lumberjack library): a write that would take the file
past ``max_size`` bytes first renames it to ``<name>-<UTC time>.<ext>`` (``audit-2026-12-02T14-51-26.123.log``)
and starts a new one; then backups beyond ``max_backups`` (0: keep all) and older than
``max_age`` days (0: keep all) are removed, oldest first. ``max_size`` 0 never rotates.
The file and its directory are created private (0600 / 0700). The path ``-`` writes to stdout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from apimachinery import jsonio

log = logging.getLogger(__name__)

QUEUE_EVENTS = 10_000  # events waiting for the writer before new ones are dropped
BATCH_EVENTS = 500  # events written per flush
CLOSE_TIMEOUT = 5.0  # seconds close() waits for the queue to drain
STAMP = "%Y-%m-%dT%H-%M-%S"
_STOP = object()


class LogFile:
    def __init__(
        self,
        path: str | Path,
        *,
        max_size: int = 0,
        max_backups: int = 0,
        max_age_days: int = 0,
        queue_events: int = QUEUE_EVENTS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.path = None if str(path) == "-" else Path(path)
        self.max_size = max_size
        self.max_backups = max_backups
        self.max_age_days = max_age_days
        self.dropped = 0
        self.written = 0
        self._clock = clock
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_events)
        self._file: IO[bytes] | None = None
        self._size = 0
        self._warned = False
        self._drop_lock = threading.Lock()
        if self.path is not None:
            self._open()  # an unusable path fails start-up, as kube-apiserver's does
        self._thread = threading.Thread(target=self._run, name="audit-log", daemon=True)
        self._thread.start()

    # -- the event loop's side -------------------------------------------------------------

    def process(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._drop(1, "the audit log's queue is full (the disk is too slow)")

    def close(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=CLOSE_TIMEOUT)
        self._thread.join(CLOSE_TIMEOUT)
        self._close_file()
        if self.dropped:
            log.warning("%d audit events could not be written and were dropped", self.dropped)

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH_EVENTS:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            self._write([item for item in batch if item is not _STOP])
            if stop:
                return

    def _write(self, events: list[dict[str, Any]]) -> None:
        """Append the events, rotating first whenever the next line would pass ``max_size``."""
        pending: list[bytes] = []
        before = self.written
        try:
            for line in (jsonio.dumps(event) + b"\n" for event in events):
                if self.max_size and self._size and self._size + len(line) > self.max_size:
                    self._append(pending)
                    pending = []
                    self._rotate()
                pending.append(line)
                self._size += len(line)
            self._append(pending)
        except OSError as err:
            self._close_file()
            self._drop(len(events) - (self.written - before), f"writing the audit log failed: {err}")

    def _append(self, lines: list[bytes]) -> None:
        data = memoryview(b"".join(lines))
        file = self._file_obj()
        while data:
            done = file.write(data)
            data = data[done or 0:]
        file.flush()
        self.written += len(lines)

    def _drop(self, count: int, why: str) -> None:
        """Count lost events (from the event loop and the writer alike); log the first loss."""
        with self._drop_lock:
            self.dropped += count
            first, self._warned = not self._warned, True
        if first:
            log.error("%s; dropping audit events (counted, logged only once) until it works again", why)

    def _file_obj(self) -> IO[bytes]:
        if self._file is None:
            self._open()
        assert self._file is not None
        return self._file

    def _open(self) -> None:
        if self.path is None:
            self._file = sys.stdout.buffer
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._file = os.fdopen(fd, "ab", buffering=0)  # a failed write raises at once
        self._size = os.fstat(fd).st_size

    def _close_file(self) -> None:
        file, self._file = self._file, None
        if file is not None and file is not sys.stdout.buffer:
            with contextlib.suppress(OSError):
                file.close()

    # -- rotation --------------------------------------------------------------------------

    def _rotate(self) -> None:
        assert self.path is not None
        self._close_file()
        now = self._clock()
        backup = self._backup_name(now)
        os.rename(self.path, backup)
        self._open()
        self._prune(now)

    def _backup_name(self, now: datetime) -> Path:
        assert self.path is not None
        stamp = now.strftime(STAMP) + f".{now.microsecond // 1000:03d}"
        candidate = self.path.with_name(f"{self.path.stem}-{stamp}{self.path.suffix}")
        serial = 1
        while candidate.exists():  # two rotations in one millisecond
            candidate = self.path.with_name(f"{self.path.stem}-{stamp}-{serial}{self.path.suffix}")
            serial += 1
        return candidate

    def backups(self) -> list[tuple[datetime, Path]]:
        """Rotated files with the time in their names, oldest first."""
        assert self.path is not None
        pattern = re.compile(re.escape(self.path.stem) + r"-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})(-\d+)?"
                             + re.escape(self.path.suffix) + "$")
        found = []
        for path in self.path.parent.iterdir():
            if match := pattern.match(path.name):
                when = datetime.strptime(match.group(1), STAMP + ".%f").replace(tzinfo=UTC)
                found.append((when, int((match.group(2) or "-0")[1:]), path))
        return [(when, path) for when, _, path in sorted(found)]

    def _prune(self, now: datetime) -> None:
        backups = self.backups()
        doomed = {path for _, path in backups[: -self.max_backups]} if self.max_backups else set()
        if self.max_age_days:
            cutoff = now - timedelta(days=self.max_age_days)
            doomed |= {path for when, path in backups if when < cutoff}
        for path in doomed:
            with contextlib.suppress(OSError):
                path.unlink()
