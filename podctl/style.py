"""Colours for a terminal, and plain text for everything else.

Scripts parse podctl's output, so escape codes appear only when the stream is a TTY (and
``NO_COLOR`` is unset). Alignment is always computed on the plain text; colour is added last.
"""

from __future__ import annotations

import os
from typing import TextIO

from rich.color import ColorSystem
from rich.style import Style

# Table cells worth a glance: pod/node status words.
_CELL_STYLES = {
    "Running": "green", "Ready": "green", "Completed": "green", "Succeeded": "green", "Active": "green",
    "Pending": "yellow", "ContainerCreating": "yellow", "Terminating": "yellow", "NotReady": "red",
    "CrashLoopBackOff": "red", "Error": "red", "Failed": "red", "ErrImagePull": "red",
    "ImagePullBackOff": "red", "ErrImageNeverPull": "red", "OOMKilled": "red", "Unknown": "red",
    "Warning": "yellow",
}


def use_colour(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal that wants colour."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, style: str, *, enabled: bool) -> str:
    """``text`` wrapped in the ANSI codes of a rich style (e.g. ``"bold red"``) when enabled."""
    if not enabled or not style or not text:
        return text
    return Style.parse(style).render(text, color_system=ColorSystem.STANDARD)


def cell_style(text: str) -> str:
    """The colour a status-like table cell gets on a terminal (``""``: none)."""
    word = text.split(",")[0].split(":")[0].strip()
    return _CELL_STYLES.get(word, "")
