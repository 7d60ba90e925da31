"""The atomic writer: one version visible at a time, removed keys gone, exact modes, paths kept inside."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from kubelet.atomicwriter import DATA_DIR, AtomicWriter, FileProjection, PayloadError, resolve


def files(version: str, keys: tuple[str, ...] = ("a", "b", "dir/c")) -> dict[str, FileProjection]:
    return {key: FileProjection(version.encode()) for key in keys}


def visible(target: Path) -> dict[str, str]:
    out = {}
    for root, _dirs, names in os.walk(target, followlinks=True):
        rel = Path(root).relative_to(target)
        if rel.parts and rel.parts[0].startswith(".."):
            continue
        for name in names:
            if not name.startswith(".."):
                out[str(rel / name) if rel.parts else name] = (Path(root) / name).read_text()
    return out


def test_files_are_links_into_the_current_version(tmp_path: Path) -> None:
    assert AtomicWriter(tmp_path).write(files("1"))
    assert visible(tmp_path) == {"a": "1", "b": "1", "dir/c": "1"}
    assert os.readlink(tmp_path / "a") == f"{DATA_DIR}/a" and os.readlink(tmp_path / "dir") == f"{DATA_DIR}/dir"
    version = os.readlink(tmp_path / DATA_DIR)
    assert version.startswith("..") and (tmp_path / version / "dir/c").is_file()


def test_the_same_payload_writes_nothing(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    writer.write(files("1"))
    before = os.readlink(tmp_path / DATA_DIR)
    assert not writer.write(files("1"))
    assert os.readlink(tmp_path / DATA_DIR) == before


def test_an_update_replaces_the_version_and_removes_the_old_one(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    writer.write(files("1"))
    old = os.readlink(tmp_path / DATA_DIR)
    assert writer.write(files("2", ("a", "new")))
    assert visible(tmp_path) == {"a": "2", "new": "2"}  # b and dir/ are gone
    assert not (tmp_path / "b").is_symlink() and not (tmp_path / "dir").is_symlink()
    assert not (tmp_path / old).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([DATA_DIR, os.readlink(tmp_path / DATA_DIR), "a", "new"])


def test_modes_are_exact_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        AtomicWriter(tmp_path).write({"secret": FileProjection(b"x", 0o400), "open": FileProjection(b"y", 0o666),
                                      "sub/run": FileProjection(b"z", 0o755)})
    finally:
        os.umask(previous)
    modes = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("secret", "open", "sub/run", "sub")}
    assert modes == {"secret": 0o400, "open": 0o666, "sub/run": 0o755, "sub": 0o755}
    assert stat.S_IMODE((tmp_path / DATA_DIR).stat().st_mode) == 0o755


def test_a_mode_change_alone_is_an_update(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    writer.write({"k": FileProjection(b"v", 0o644)})
    assert writer.write({"k": FileProjection(b"v", 0o600)})
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../x", "..data", "..hidden/x", ""])
def test_paths_that_would_escape_or_collide_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(PayloadError):
        AtomicWriter(tmp_path).write({path: FileProjection(b"x")})
    assert not (tmp_path / DATA_DIR).exists()


def test_a_reader_never_sees_a_mix_of_versions(tmp_path: Path) -> None:
    """Readers resolve ``..data`` once and read every file of that version; while 300 versions
    are written they must all agree, and a file read through its link is always whole."""
    writer = AtomicWriter(tmp_path)
    writer.write(files("0"))
    stop = threading.Event()
    problems: list[str] = []
    reads = [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                version = os.readlink(tmp_path / DATA_DIR)
                seen = {(tmp_path / version / key).read_text() for key in ("a", "b", "dir/c")}
            except FileNotFoundError:
                continue  # that version was removed after we resolved it: resolve again
            if len(seen) != 1:
                problems.append(f"mixed versions {seen}")
            try:
                through_link = (tmp_path / "a").read_text()
            except FileNotFoundError:
                continue  # resolved into the version that was just removed (Kubernetes' writer alike)
            if not through_link.isdigit():
                problems.append(f"a partial file {through_link!r}")
            reads[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for n in range(1, 301):
            writer.write(files(str(n)))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not problems, problems[:5]
    assert reads[0] > 0
    assert visible(tmp_path) == {"a": "300", "b": "300", "dir/c": "300"}


def test_a_sub_path_resolves_into_the_version_and_stays_inside(tmp_path: Path) -> None:
    AtomicWriter(tmp_path).write(files("1"))
    found = resolve(tmp_path, "dir/c")
    assert found.parent.parent.name == os.readlink(tmp_path / DATA_DIR) and found.read_text() == "1"
    os.symlink("/etc", tmp_path / "escape")
    with pytest.raises(PayloadError):
        resolve(tmp_path, "escape/passwd")


def test_files_of_the_older_layout_become_links_in_place(tmp_path: Path) -> None:
    """A pod started by a kubelet that wrote plain files keeps running: the next write links them."""
    (tmp_path / "token").write_text("old")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir/c").write_text("old")
    AtomicWriter(tmp_path).write(files("1", ("token", "dir/c")))
    assert (tmp_path / "token").is_symlink() and (tmp_path / "dir").is_symlink()
    assert visible(tmp_path) == {"token": "1", "dir/c": "1"}
