"""``podctl exec`` and ``podctl cp``: kubectl's commands over the same ``pods/exec`` stream.

``exec`` picks the container as kubectl does (``-c``, else the pod's
``kubectl.kubernetes.io/default-container`` annotation, else the first one, saying so when the
pod has several), puts a local terminal in raw mode with ``-t`` and follows its size, and exits
with the remote command's exit code (``command terminated with exit code N`` on stderr).

``cp`` is tar over exec, as kubectl's: into a pod, a tar of the local path named after the
destination is unpacked by ``tar -xmf - -C <destination's parent>``; out of a pod, ``tar cf -
-C <parent> <name>`` is unpacked locally, its top entry renamed to the destination, with Python's
``data`` extraction filter (no absolute paths, no ``..``, no links out of the destination).
"""

from __future__ import annotations

import io
import posixpath
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apimachinery import remotecommand as rc
from apimachinery import resources as res
from podctl import remote
from podctl.errors import PodctlError
from podctl.session import Session

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


@dataclass(frozen=True)
class ExecOptions:
    container: str | None = None
    stdin: bool = False
    tty: bool = False
    quiet: bool = False


def pick_container(pod: dict[str, Any], requested: str | None) -> tuple[str, str | None]:
    """The container kubectl would use, and the note it prints when it chose one of several."""
    if requested:
        return requested, None
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    annotated = ((pod.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if annotated in names:
        return str(annotated), None
    if not names:
        raise PodctlError(f"pod {pod['metadata']['name']} has no containers")
    note = f'Defaulted container "{names[0]}" out of: {", ".join(names)}' if len(names) > 1 else None
    return names[0], note


def _pod_name(target: str) -> str:
    kind, sep, name = target.partition("/")
    if sep and kind not in ("pod", "pods", "po"):
        raise PodctlError(f"exec needs a pod, not {target}")
    return name if sep else target


async def exec_(session: Session, target: str, command: list[str], opts: ExecOptions) -> int:
    pod = await session.get(res.PODS, _pod_name(target))
    container, note = pick_container(pod, opts.container)
    if note and not opts.quiet:
        session.output.progress(note)
    terminal = remote.local_terminal(wanted=opts.tty, session=session, quiet=opts.quiet)
    options = rc.StreamOptions(stdin=opts.stdin, stdout=True, stderr=not terminal, tty=terminal,
                               container=container, command=tuple(command))
    code = await remote.interact(session, pod["metadata"]["name"], subresource="exec", options=options)
    if code:
        session.output.error(f"command terminated with exit code {code}")
    return code


# -- cp -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodPath:
    namespace: str | None
    pod: str
    path: str


def parse_location(text: str) -> PodPath | None:
    """``[namespace/]pod:path`` names a pod's file; anything else is local."""
    head, sep, path = text.partition(":")
    if not sep or not head or not path or Path(text).exists():
        return None
    namespace, slash, pod = head.rpartition("/")
    return PodPath(namespace or None, pod if slash else head, path)


async def cp(session: Session, source: str, destination: str, *, container: str | None) -> int:
    src, dst = parse_location(source), parse_location(destination)
    if (src is None) == (dst is None):
        raise PodctlError("one of src or dest must be a local file specification and the other a remote one")
    if dst is not None:
        await _copy_in(session, Path(source), dst, container=container)
    else:
        assert src is not None
        await _copy_out(session, src, Path(destination), container=container)
    return 0


async def _run(session: Session, where: PodPath, command: list[str], *, container: str | None,
               stdin: bytes | None = None) -> bytes:
    pod = await session.get(res.PODS, where.pod, where.namespace)
    name, _ = pick_container(pod, container)
    options = rc.StreamOptions(stdin=stdin is not None, stdout=True, stderr=True, tty=False, container=name,
                               command=tuple(command))
    ws = await remote.open_stream(session, where.pod, subresource="exec", options=options, namespace=where.namespace)
    out = bytearray()
    err = bytearray()
    streams = remote.StreamIO(stdout=out.extend, stderr=err.extend,
                              stdin=remote.bytes_source(stdin) if stdin is not None else None)
    code = await remote.run_stream(ws, streams)
    if code:
        raise PodctlError(f"{' '.join(command)} exited with {code} in pod {where.pod}: "
                          f"{err.decode(errors='replace').strip()}")
    return bytes(out)


async def _copy_in(session: Session, local: Path, dst: PodPath, *, container: str | None) -> None:
    if not local.exists():
        raise PodctlError(f"{local} doesn't exist in local filesystem")
    remote_path = posixpath.normpath(dst.path)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(str(local), arcname=posixpath.basename(remote_path))
    parent = posixpath.dirname(remote_path) or "."
    await _run(session, dst, ["tar", "-xmf", "-", "-C", parent], container=container, stdin=buffer.getvalue())


async def _copy_out(session: Session, src: PodPath, local: Path, *, container: str | None) -> None:
    remote_path = posixpath.normpath(src.path)
    name = posixpath.basename(remote_path)
    data = await _run(session, src, ["tar", "cf", "-", "-C", posixpath.dirname(remote_path) or "/", name],
                      container=container)
    with tempfile.TemporaryDirectory(prefix="podctl-cp-") as scratch, \
            tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        archive.extractall(scratch, filter="data")
        unpacked = Path(scratch) / name
        if unpacked.is_dir():
            shutil.copytree(unpacked, local, dirs_exist_ok=True)
        else:
            target = local / name if local.is_dir() else local
            shutil.copy2(unpacked, target)
