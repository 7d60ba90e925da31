"""The pod sandbox image: a few hundred bytes the kubelet builds itself.

Every pod gets a sandbox container that owns the pod's network namespace (its IP,
hostname, DNS alias and published host ports); the pod's containers join it with
Docker's ``container:<id>`` network mode, so they see each other on localhost and
keep the pod's IP across their own restarts, as in Kubernetes.

Why not a user image: the sandbox must start for any pod, whatever its images
contain (a ``FROM scratch`` image may have no ``sleep``), and no registry is
reachable to pull ``registry.k8s.io/pause``. So the kubelet imports its own image
once per node: a tar holding one static ELF executable, written here byte by byte,
whose only job is to block forever (``pause(2)`` on x86-64, ``ppoll(2)`` with no
descriptors on arm64, which has no ``pause``). As PID 1 it ignores SIGTERM, so
the kubelet removes sandboxes with SIGKILL, as it may: nothing runs inside.
"""

from __future__ import annotations

import io
import platform
import struct
import tarfile

PAUSE_IMAGE = "podvisor/pause:1.1"
PAUSE_COMMAND = ["/pause"]
#: Directories (mode 0777) the sandbox mounts the pod's emptyDir volumes on. Docker copies a
#: directory's mode into an empty volume the first time it is mounted there, so every emptyDir
#: starts world-writable, as Kubernetes creates it, and a non-root container can write to it.
VOLUME_SLOTS = 64
VOLUME_SLOT_DIR = "volumes"

_LOAD_ADDRESS = 0x400000
_HEADERS_SIZE = 64 + 56  # ELF header + one program header

# x86-64: loop: mov eax, 34 (pause); syscall; jmp loop
_X86_64 = bytes.fromhex("b822000000" "0f05" "ebf7")
# arm64: loop: mov x0..x3, #0; mov x8, #73 (ppoll); svc #0; b loop  (little-endian words)
_ARM64 = b"".join(
    struct.pack("<I", word)
    for word in (0xD2800000, 0xD2800001, 0xD2800002, 0xD2800003, 0xD2800928, 0xD4000001, 0x17FFFFFA)
)
_MACHINES = {"x86_64": (0x3E, _X86_64), "amd64": (0x3E, _X86_64), "aarch64": (0xB7, _ARM64), "arm64": (0xB7, _ARM64)}


def pause_binary(machine: str | None = None) -> bytes:
    """A static ELF64 executable for ``machine`` (default: this host) that blocks forever."""
    arch = (machine or platform.machine()).lower()
    if arch not in _MACHINES:
        raise ValueError(f"no pause binary for architecture {arch!r}")
    e_machine, code = _MACHINES[arch]
    size = _HEADERS_SIZE + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, SysV
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, e_machine, 1, _LOAD_ADDRESS + _HEADERS_SIZE, 64, 0, 0, 64, 56, 1, 0, 0, 0
    )
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, _LOAD_ADDRESS, _LOAD_ADDRESS, size, size, 0x1000)
    return header + program + code


def volume_slot(index: int) -> str:
    """Where the sandbox mounts the pod's ``index``-th emptyDir volume."""
    return f"/{VOLUME_SLOT_DIR}/{index}"


def pause_rootfs_tar(machine: str | None = None) -> bytes:
    """A root file system holding ``/pause`` and the volume slots, as a tar for ``docker import``."""
    binary = pause_binary(machine)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("pause")
        info.size = len(binary)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(binary))
        for name, mode in [(VOLUME_SLOT_DIR, 0o755), *((volume_slot(i)[1:], 0o777) for i in range(VOLUME_SLOTS))]:
            folder = tarfile.TarInfo(name)
            folder.type, folder.mode = tarfile.DIRTYPE, mode
            tar.addfile(folder)
    return buffer.getvalue()
