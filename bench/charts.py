"""PNG charts of a run: the ratios at a glance (log scale, parity line at 1).

matplotlib lives in the ``bench`` extra; without it the run still writes JSON and Markdown.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Sequence
from pathlib import Path

from bench.harness import Comparison

log = logging.getLogger(__name__)


def ratio_chart(rows: Sequence[Comparison], path: Path, *, title: str) -> Path | None:
    """Horizontal bars of podvisor/baseline per row, grouped by benchmark; None if nothing to draw."""
    drawn = [r for r in rows if r.ratio is not None and r.ratio > 0]
    if not drawn:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed (pip install -e '.[bench]'): no chart")
        return None
    labels = [textwrap.shorten(f"{r.name}  vs {r.baseline_name}", 90, placeholder="...") for r in drawn]
    values = [float(r.ratio or 0) for r in drawn]
    colours = ["tab:green" if v <= 1 else ("tab:orange" if v <= 3 else "tab:red") for v in values]
    fig, ax = plt.subplots(figsize=(13, 0.3 * len(drawn) + 1.5))
    ax.barh(range(len(drawn)), values, color=colours)
    ax.set_yticks(range(len(drawn)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=7)
    ax.set_xlabel("podvisor / baseline (median; lower is better)")
    ax.set_title(title)
    fig.subplots_adjust(left=0.5, right=0.95, top=1 - 0.5 / fig.get_figheight(), bottom=0.7 / fig.get_figheight())
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
