"""A command on a pseudo-terminal of its own, for tests of ``exec -it``: its size can be set, and
changing it sends the command SIGWINCH as a real terminal would."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Sequence


class Terminal:
    def __init__(self, command: Sequence[str], *, rows: int, cols: int, env: dict[str, str] | None = None,
                 cwd: str | None = None) -> None:
        self.master, slave = pty.openpty()
        set_size(slave, rows=rows, cols=cols)

        def controlling_tty() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(list(command), stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                     preexec_fn=controlling_tty)
        os.close(slave)
        self.seen = b""

    def resize(self, *, rows: int, cols: int) -> None:
        set_size(self.master, rows=rows, cols=cols)

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def read_until(self, wanted: bytes, timeout: float = 30.0) -> bytes:
        """Everything shown until ``wanted`` appears (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while wanted not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {wanted!r} in {self.seen!r}"
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:
                    break
        assert wanted in self.seen, self.seen
        return self.seen

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        os.close(self.master)


def set_size(fd: int, *, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
