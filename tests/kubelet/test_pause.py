"""The sandbox image is built by the kubelet itself: a tiny static ELF that blocks forever."""

from __future__ import annotations

import io
import struct
import tarfile

import pytest

from kubelet.pause import pause_binary, pause_rootfs_tar


@pytest.mark.parametrize(("machine", "e_machine"), [("x86_64", 0x3E), ("aarch64", 0xB7)])
def test_pause_binary_is_a_static_elf_for_the_machine(machine: str, e_machine: int) -> None:
    binary = pause_binary(machine)
    assert binary[:4] == b"\x7fELF" and binary[4] == 2  # 64-bit
    assert struct.unpack_from("<HH", binary, 16) == (2, e_machine)  # ET_EXEC
    entry, phoff = struct.unpack_from("<QQ", binary, 24)
    p_type, p_flags, p_offset, p_vaddr, _, p_filesz = struct.unpack_from("<IIQQQQ", binary, phoff)
    assert (p_type, p_offset, p_filesz) == (1, 0, len(binary))
    assert p_vaddr <= entry < p_vaddr + len(binary)


def test_rootfs_holds_an_executable_pause_and_world_writable_volume_slots() -> None:
    with tarfile.open(fileobj=io.BytesIO(pause_rootfs_tar("x86_64"))) as tar:
        members = tar.getmembers()
    assert [(m.name, m.isfile(), m.mode & 0o111 != 0) for m in members[:2]] == [
        ("pause", True, True), ("volumes", False, True)]
    slots = members[2:]
    assert [m.name for m in slots] == [f"volumes/{i}" for i in range(64)]
    assert all(m.isdir() and m.mode == 0o777 for m in slots)


def test_unknown_machine_is_refused() -> None:
    with pytest.raises(ValueError):
        pause_binary("mips")
