"""Colour only on terminals."""

from __future__ import annotations

import io

import pytest

from podctl.style import cell_style, paint, use_colour


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(FakeTerminal()) is True
    assert use_colour(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(FakeTerminal()) is False


@pytest.mark.parametrize(("cell", "style"), [("Running", "green"), ("CrashLoopBackOff", "red"),
                                             ("Init:0/1", ""), ("Pending", "yellow"), ("Ready,SchedulingDisabled", "green")])
def test_cell_styles(cell: str, style: str) -> None:
    assert cell_style(cell) == style


def test_paint_wraps_in_ansi_codes() -> None:
    assert paint("x", "red", enabled=True) == "\x1b[31mx\x1b[0m"
