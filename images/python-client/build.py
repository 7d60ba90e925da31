"""Build ``podvisor/python-client:latest``: busybox plus this host's Python and the official ``kubernetes`` client.

No registry is reachable, so the image is assembled from what the host has: the running
interpreter (binary, ``libpython``, the standard library without its tests and GUI parts,
``lib-dynload``), the shared libraries all of those link against (found with ``ldd``, copied
to the same paths), and the ``kubernetes`` distribution with its installed dependencies
(their files as recorded by pip). It is layered on ``podvisor/busybox:latest`` (``images/build.sh``).

    python images/python-client/build.py [--force]

Idempotent: nothing is done when the image exists (unless ``--force``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

IMAGE = "podvisor/python-client:latest"
BASE = "podvisor/busybox:latest"
PREFIX = Path("/opt/python")
SKIP_STDLIB = {"test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip", "pydoc_data", "site-packages",
               "__pycache__", "unittest", "distutils"}
DOCKERFILE = f"""FROM {BASE}
COPY rootfs/ /
ENV PATH=/opt/python/bin:/bin LD_LIBRARY_PATH=/opt/python/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu \\
    PYTHONDONTWRITEBYTECODE=1
CMD ["python3"]
"""


def image_exists() -> bool:
    return subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0


def distributions(root: str) -> list[metadata.Distribution]:
    """``root`` and everything it requires, as installed here (markers evaluated, extras skipped)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def shared_libraries(files: list[Path]) -> set[Path]:
    found: set[Path] = set()
    for file in files:
        out = subprocess.run(["ldd", str(file)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            match = re.search(r"(/\S+) \(0x", line)
            if match:
                found.add(Path(match.group(1)))
    return found


def copy(src: Path, rootfs: Path, dest: Path) -> None:
    target = rootfs / dest.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, target, follow_symlinks=True)


def assemble(rootfs: Path) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    purelib = Path(sysconfig.get_paths()["purelib"])
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    lib = PREFIX / "lib" / version
    binary = Path(os.path.realpath(sys.executable))
    copy(binary, rootfs, PREFIX / "bin" / "python3")
    for path in stdlib.rglob("*"):
        rel = path.relative_to(stdlib)
        if path.is_file() and not (set(rel.parts) & SKIP_STDLIB) and not rel.parts[0].startswith("config-"):
            copy(path, rootfs, lib / rel)
    natives = [binary, *stdlib.joinpath("lib-dynload").glob("*.so")]
    for dist in distributions("kubernetes"):
        for file in dist.files or []:
            src = Path(str(dist.locate_file(file)))
            if src.is_file() and "__pycache__" not in src.parts and src.is_relative_to(purelib):
                copy(src, rootfs, lib / "site-packages" / src.relative_to(purelib))
                if src.suffix == ".so":
                    natives.append(src)
    for library in shared_libraries(natives):
        dest = PREFIX / "lib" / library.name if library.name.startswith("libpython") else library
        copy(library, rootfs, dest)


def main() -> int:
    if "--force" not in sys.argv[1:] and image_exists():
        return 0
    if subprocess.run(["docker", "image", "inspect", BASE], capture_output=True).returncode != 0:
        print(f"build.py: {BASE} is missing; run images/build.sh first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as context:
        assemble(Path(context) / "rootfs")
        (Path(context) / "Dockerfile").write_text(DOCKERFILE)
        done = subprocess.run(["docker", "build", "--quiet", "-t", IMAGE, context], capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
        return 1
    print(f"built {IMAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
