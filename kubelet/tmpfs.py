"""Memory-backed volume directories: a tmpfs mounted on the directory, so credentials never reach a disk.

Kubernetes mounts the directories of Secret and projected token volumes on tmpfs (an emptyDir
with ``medium: Memory`` under them). The kubelet runs as root, so it does the same with
``mount(2)``; a kubelet without the privilege (a developer's unprivileged run) falls back to
the disk once, with a warning, rather than leave pods unable to start. Mounts are found again
from ``/proc/self/mountinfo``, so a kubelet that crashed still unmounts what an earlier process
mounted before it removes a pod's directory.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MNT_DETACH = 2
MOUNTINFO = Path("/proc/self/mountinfo")


class Tmpfs:
    """Mount and unmount tmpfs through libc (Linux)."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self._warned = False

    def mount(self, target: Path) -> bool:
        """Mount a tmpfs on ``target`` (an existing directory) unless one is there; False if it cannot."""
        if target.resolve() in mount_points():
            return True
        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        if self._libc.mount(b"tmpfs", os.fsencode(target), b"tmpfs", flags, b"mode=0755") == 0:
            return True
        err = ctypes.get_errno()
        if not self._warned:
            log.warning("cannot mount a tmpfs on %s (%s): secret volumes are written to disk", target,
                        os.strerror(err))
            self._warned = True
        return False

    def unmount_under(self, path: Path) -> None:
        """Unmount every mount at or below ``path``, deepest first (lazily if one is busy)."""
        root = path.resolve()
        for point in sorted((p for p in mount_points() if p == root or root in p.parents),
                            key=lambda p: len(p.parts), reverse=True):
            if self._libc.umount2(os.fsencode(point), 0) != 0 and self._libc.umount2(os.fsencode(point), MNT_DETACH) != 0:
                log.warning("cannot unmount %s: %s", point, os.strerror(ctypes.get_errno()))


def mount_points() -> set[Path]:
    """Every mount point of this mount namespace (octal escapes decoded)."""
    try:
        lines = MOUNTINFO.read_text().splitlines()
    except OSError:
        return set()
    points = set()
    for line in lines:
        fields = line.split(" ")
        if len(fields) > 4:
            points.add(Path(_unescape(fields[4])))
    return points


def _unescape(text: str) -> str:
    return text.encode().decode("unicode_escape") if "\\" in text else text
