"""``podctl exec`` and ``podctl cp`` against a real server and kubelet on Docker, as child processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.terminal import Terminal
from tests.podctl.conftest import write

pytestmark = pytest.mark.e2e

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: "podvisor/busybox:latest", command: ["sleep", "3600"]}
  - {name: side, image: "podvisor/busybox:latest", command: ["sleep", "3600"]}
"""


class Cli:
    def __init__(self, cluster: Cluster) -> None:
        self.kubeconfig = cluster.data_dir / "admin.kubeconfig"

    def __call__(self, *args: str, stdin: bytes | None = None, rc: int = 0) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-c", "from podctl.cli import main; main()", args[0], "--kubeconfig",
                   str(self.kubeconfig), *args[1:]]
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=60, env={**os.environ})
        assert done.returncode == rc, f"podctl {' '.join(args)}: {done.returncode}\n{done.stdout!r}\n{done.stderr!r}"
        return done


@pytest.fixture(scope="module")
def cli(server: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    server.start_kubelet("node-e", "--restart-backoff-initial", "0")
    run = Cli(server)
    run("apply", "-f", str(write(tmp_path_factory.mktemp("manifests") / "pod.yaml", POD)))

    def running() -> bool:
        statuses = server.http().get("/api/v1/namespaces/default/pods/box").json().get("status", {})
        found = statuses.get("containerStatuses") or []
        return len(found) == 2 and all("running" in s.get("state", {}) for s in found)

    server.wait_for("pod box running", running, timeout=90)
    yield run
    run("delete", "pod", "box", "--wait=false")


def test_exec_prints_output_and_says_which_container(cli: Cli) -> None:
    done = cli("exec", "box", "--", "echo", "hi")
    assert done.stdout == b"hi\n"
    assert b'Defaulted container "main" out of: main, side' in done.stderr


@pytest.mark.parametrize(("args", "stdin", "out", "rc"), [
    (["-c", "side", "--", "sh", "-c", "echo $HOSTNAME >/dev/null; echo side"], None, b"side\n", 0),
    (["-i", "--", "cat"], b"piped\n", b"piped\n", 0),
    (["--", "sh", "-c", "echo before; exit 3"], None, b"before\n", 3),
], ids=["named-container", "stdin-piped", "exit-code"])
def test_exec(cli: Cli, args: list[str], stdin: bytes | None, out: bytes, rc: int) -> None:
    done = cli("exec", "box", "-q", *args, stdin=stdin, rc=rc)
    assert done.stdout == out
    if rc:
        assert f"command terminated with exit code {rc}".encode() in done.stderr


def test_exec_tty_follows_the_terminal_size(cli: Cli) -> None:
    command = [sys.executable, "-c", "from podctl.cli import main; main()", "exec", "--kubeconfig",
               str(cli.kubeconfig), "-it", "-c", "main", "box", "--", "sh", "-c", "read x; stty size; read y; stty size"]
    terminal = Terminal(command, rows=30, cols=100)
    try:
        time.sleep(2.0)  # the size reaches the command just after it starts: it reads first
        terminal.type(b"\r")
        terminal.read_until(b"30 100")
        terminal.resize(rows=40, cols=120)
        time.sleep(0.5)
        terminal.type(b"\r")
        terminal.read_until(b"40 120")
        assert terminal.proc.wait(timeout=30) == 0, terminal.seen
    finally:
        terminal.close()


def test_exec_into_a_missing_pod_is_not_found(cli: Cli) -> None:
    done = cli("exec", "nope", "--", "true", rc=1)
    assert b'Error from server (NotFound): pods "nope" not found' in done.stderr


def test_cp_a_directory_in_and_out(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a\n")
    (source / "sub" / "blob.bin").write_bytes(os.urandom(200_000))
    cli("cp", str(source), "box:/tmp/in", "-c", "main")
    assert cli("exec", "box", "-q", "--", "cat", "/tmp/in/a.txt").stdout == b"a\n"
    back = tmp_path / "back"
    cli("cp", "box:/tmp/in", str(back))
    assert _tree(back) == _tree(source)
    single = tmp_path / "single.txt"
    cli("cp", "box:/tmp/in/a.txt", str(single))
    assert single.read_text() == "a\n"


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def test_debug_i_attaches_to_the_new_container_in_the_target_pid_namespace(cli: Cli) -> None:
    done = cli("debug", "box", "-i", "--image=podvisor/busybox:latest", "--target=main", "--container=piped",
               "--", "sh", stdin=b"ps -o args\nexit 0\n")
    assert b"sleep 3600" in done.stdout, done
    assert b"If you don't see a command prompt, try pressing enter." in done.stderr


def test_debug_it_gives_the_container_this_terminal(cli: Cli) -> None:
    command = [sys.executable, "-c", "from podctl.cli import main; main()", "debug", "--kubeconfig",
               str(cli.kubeconfig), "-it", "box", "--image=podvisor/busybox:latest", "--container=shell", "--", "sh"]
    terminal = Terminal(command, rows=30, cols=100)
    try:
        terminal.read_until(b"try pressing enter")
        time.sleep(1.0)
        terminal.type(b"stty size; tty\r")
        terminal.read_until(b"30 100")
        terminal.read_until(b"/dev/pts/")
        terminal.type(b"exit\r")
        assert terminal.proc.wait(timeout=30) == 0, terminal.seen
    finally:
        terminal.close()
