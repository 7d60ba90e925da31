"""Files that hold secrets: written atomically and never readable by others, not even for a moment."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write via a temporary file created with ``mode``, fsync, rename: a crash never leaves a
    half-written key, and a private file is private from its first byte."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)  # the umask may have narrowed it; make it exact
    os.replace(tmp, path)
