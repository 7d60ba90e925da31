"""Write a volume's files so a reader sees either the old set or the new one, never a mix.

Kubernetes' ``AtomicWriter`` (``pkg/volume/util/atomic_writer.go``), carried over: the files of
one version live in a hidden directory ``..<timestamp>.<random>``; a symlink ``..data`` points at
the current one and is replaced by ``rename(2)`` of a fresh symlink (``..data_tmp``), which is
atomic; what users see (``key``, ``dir``) are symlinks to ``..data/key``, created once and left
alone while the key exists. So a process that opens ``key`` resolves ``..data`` once and reads
one version whole, and a process holding the directory of ``..data`` keeps reading one version
until it looks again. After the swap, user-visible entries of keys that went away are removed,
then the old version's directory (so a reader that resolved ``..data`` just before the swap may
find its file gone and must open it again, as with Kubernetes' writer; it never reads a mix).

The symlinks are relative, so they resolve the same inside a container that bind-mounts the
volume directory. A ``subPath`` mount of one file binds the file inside the version directory
(:func:`resolve`), which is why such a mount never sees an update, as in Kubernetes.

Writing the same payload again changes nothing (contents and modes compared), so a kubelet may
rewrite every volume on each resync at no cost.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DATA_DIR = "..data"
DATA_TMP = "..data_tmp"
DIR_MODE = 0o755
MAX_PATH = 4096
MAX_SEGMENT = 255


@dataclass(frozen=True)
class FileProjection:
    """One file of a volume: its bytes and permission bits."""

    data: bytes
    mode: int = 0o644


Payload = Mapping[str, FileProjection]


class PayloadError(ValueError):
    """A path that would escape the volume or collide with the writer's own names."""


def validate_path(path: str) -> None:
    """Relative, no ``..`` element, not starting with ``..`` (the writer's names), bounded length."""
    if not path:
        raise PayloadError("path must not be empty")
    if len(path) > MAX_PATH:
        raise PayloadError(f"path {path[:32]!r}... is longer than {MAX_PATH} characters")
    if path.startswith("/"):
        raise PayloadError(f"path {path!r} must be relative")
    if path.startswith(".."):
        raise PayloadError(f"path {path!r} must not start with '..'")
    for segment in path.split("/"):
        if segment == "..":
            raise PayloadError(f"path {path!r} must not contain '..'")
        if len(segment) > MAX_SEGMENT:
            raise PayloadError(f"path {path!r} has an element longer than {MAX_SEGMENT} characters")


def _clean(path: str) -> str:
    return "/".join(part for part in path.split("/") if part not in ("", "."))


class AtomicWriter:
    """Writes payloads into ``target``, a directory the caller created (possibly a tmpfs mount)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def write(self, payload: Payload) -> bool:
        """Make ``target`` show exactly ``payload``; False if it already did (nothing written)."""
        cleaned: dict[str, FileProjection] = {}
        for path, projection in payload.items():
            validate_path(path)
            cleaned[_clean(path)] = projection
        old = self._current()
        if old is not None and self._matches(old, cleaned):
            return False
        new = self._new_version_dir()
        try:
            self._write_files(new, cleaned)
            tmp = self.target / DATA_TMP
            tmp.unlink(missing_ok=True)
            os.symlink(new.name, tmp)
            os.replace(tmp, self.target / DATA_DIR)  # the one atomic step
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        self._link_user_visible(cleaned)
        if old is not None:
            self._remove_stale(old, cleaned)
            shutil.rmtree(self.target / old, ignore_errors=True)
        return True

    def _current(self) -> str | None:
        """The version directory ``..data`` points at, if it is one of ours and present."""
        try:
            name = os.readlink(self.target / DATA_DIR)
        except (FileNotFoundError, OSError):
            return None
        return name if (self.target / name).is_dir() and "/" not in name else None

    def _matches(self, old: str, payload: Mapping[str, FileProjection]) -> bool:
        base = self.target / old
        if set(_files_under(base)) != set(payload):
            return False
        for path, projection in payload.items():
            file = base / path
            info = file.lstat()
            if stat.S_IMODE(info.st_mode) != projection.mode or file.read_bytes() != projection.data:
                return False
        return all((self.target / top).is_symlink() for top in _top_levels(payload))

    def _new_version_dir(self) -> Path:
        stamp = datetime.now(UTC).strftime("..%Y_%m_%d_%H_%M_%S.")
        path = self.target / f"{stamp}{secrets.token_hex(5)}"
        path.mkdir(mode=DIR_MODE)
        path.chmod(DIR_MODE)
        return path

    @staticmethod
    def _write_files(base: Path, payload: Mapping[str, FileProjection]) -> None:
        for path, projection in payload.items():
            file = base / path
            for parent in reversed(file.relative_to(base).parents[:-1]):
                directory = base / parent
                if not directory.is_dir():
                    directory.mkdir(mode=DIR_MODE)
                    directory.chmod(DIR_MODE)
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, projection.data)
                os.fchmod(fd, projection.mode)  # the exact mode, whatever the umask
            finally:
                os.close(fd)

    def _link_user_visible(self, payload: Mapping[str, FileProjection]) -> None:
        """Link each top-level name into ``..data``. A plain file there (written by a kubelet from
        before the atomic writer, for a pod still running) is replaced by the link in one rename."""
        for top in _top_levels(payload):
            link = self.target / top
            if link.is_symlink():
                continue
            if link.is_dir():
                shutil.rmtree(link)
            tmp = self.target / f"..{top}.link"
            tmp.unlink(missing_ok=True)
            os.symlink(f"{DATA_DIR}/{top}", tmp)
            os.replace(tmp, link)

    def _remove_stale(self, old: str, payload: Mapping[str, FileProjection]) -> None:
        wanted = _top_levels(payload)
        for top in _top_levels({path: FileProjection(b"") for path in _files_under(self.target / old)}):
            if top not in wanted and (self.target / top).is_symlink():
                (self.target / top).unlink()


def _top_levels(payload: Mapping[str, object]) -> set[str]:
    return {path.split("/", 1)[0] for path in payload}


def _files_under(base: Path) -> list[str]:
    out = []
    for root, _dirs, files in os.walk(base):
        for name in files:
            out.append(str((Path(root) / name).relative_to(base)))
    return out


def resolve(volume_dir: Path, sub_path: str) -> Path:
    """The real path of ``sub_path`` in the volume (through ``..data``), refused if it leaves it."""
    candidate = (volume_dir / sub_path).resolve()
    root = volume_dir.resolve()
    if candidate != root and root not in candidate.parents:
        raise PayloadError(f"subPath {sub_path!r} leaves the volume")
    return candidate
