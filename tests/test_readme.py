"""The README cannot go stale: every podctl/podvisor command and flag it shows exists,
and every make target it names is in the Makefile. (What the commands do is covered by the
podctl, e2e and demo tests.)"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CODE = "\n".join(re.findall(r"```sh\n(.*?)```", README, flags=re.S))


def command_lines(program: str) -> list[str]:
    lines = []
    for raw in CODE.splitlines():
        line = raw.split("#", 1)[0].strip()
        for part in re.split(r"&&|\|", line):
            part = part.strip()
            if part.startswith(program + " "):
                lines.append(part)
    return lines


@cache
def help_text(program: str, *words: str) -> str:
    module = {"podctl": "podctl.cli", "podvisor": "podvisor.cli"}[program]
    done = subprocess.run([sys.executable, "-m", module, *words, "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, f"{program} {' '.join(words)} --help failed: {done.stderr}"
    return done.stdout


def subcommand(program: str, args: list[str]) -> list[str]:
    """The longest prefix of non-flag words that is a command (e.g. ``rollout status``)."""
    words: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            break
        candidate = [*words, arg]
        done = subprocess.run([sys.executable, "-m", f"{program}.cli", *candidate, "--help"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
        if done.returncode != 0 or (words and arg not in help_text(program, *words)):
            break
        words = candidate
    return words


PODCTL = command_lines("podctl")
PODVISOR_FLAGS = re.findall(r"`podvisor (server|kubelet)[^`]*`|`(--[a-z-]+)`", README)


def test_readme_shows_podctl() -> None:
    assert len(PODCTL) >= 10


@pytest.mark.parametrize("line", PODCTL, ids=PODCTL)
def test_podctl_command_and_flags_exist(line: str) -> None:
    args = shlex.split(line)[1:]
    words = subcommand("podctl", args)
    assert words, f"not a podctl command: {line}"
    text = help_text("podctl", *words)
    for arg in args:
        if arg.startswith("--"):
            flag = arg.split("=", 1)[0]
            assert flag in text, f"{line}: {flag} is not an option of podctl {' '.join(words)}"


def test_configuration_flags_exist() -> None:
    table = README[README.index("## Configuration"):README.index("## Tests and benchmarks")]
    program = "server"
    for row in table.splitlines():
        m = re.match(r"\| `(?:podvisor (server|kubelet) )?(--[a-z-]+)`(?:, `(--[a-z-]+)`)?", row)
        if not m:
            continue
        program = m.group(1) or program
        for flag in filter(None, m.groups()[1:]):
            assert flag in help_text("podvisor", program), f"podvisor {program} has no {flag}"


def test_make_targets_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"\bmake ([a-z-]+)", README)):
        assert re.search(rf"^{target}:", makefile, flags=re.M), f"Makefile has no target {target}"
