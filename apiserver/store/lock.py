"""One writer per SQLite database: an exclusive ``flock`` on ``<db>.lock`` next to it.

Two apiservers on one file would each keep their own live state and revision counter, hand
out the same revisions and corrupt the log. The lock is taken before the database is opened
and held for the store's life; the file holds the holder's pid, so the second process can say
who is in the way. ``flock`` belongs to the open file, so the kernel releases it when the
holder dies, even by ``kill -9``: a crashed server never leaves a stale lock behind. The
descriptor is not inherited by child processes (Python opens it close-on-exec).
"""

from __future__ import annotations

import contextlib
import fcntl
import os

from apiserver.store.base import StoreLockedError


class DataLock:
    """The held lock on ``<path>.lock``; :meth:`release` (or the process's end) frees it."""

    def __init__(self, db_path: str) -> None:
        self.path = f"{db_path}.lock"
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(self._fd)
            self.release()
            raise StoreLockedError(db_path, holder) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None
