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


#: The scaling chart's panels: (point key, axis label).
SCALING_PANELS = (("pods_per_second", "scheduling, pods/s"), ("startup_p99_s", "pod startup p99, s"),
                  ("mutating_p99_s", "mutating API p99, s"), ("rss_mib", "server RSS, MiB"))


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed (pip install -e '.[bench]'): no chart")
        return None
    return plt


def scaling_chart(points: Sequence[dict[str, float]], path: Path, *, title: str) -> Path | None:
    """One panel per figure against the node count, so how cost grows with work is visible."""
    plt = _pyplot()
    if plt is None or not points:
        return None
    nodes = [p["nodes"] for p in points]
    fig, axes = plt.subplots(1, len(SCALING_PANELS), figsize=(4 * len(SCALING_PANELS), 3.6))
    for ax, (key, label) in zip(axes, SCALING_PANELS, strict=True):
        ax.plot(nodes, [p.get(key, 0) for p in points], marker="o")
        for p in points:
            ax.annotate(f"{p.get(key, 0):.3g}", (p["nodes"], p.get(key, 0)), fontsize=7,
                        textcoords="offset points", xytext=(0, 5), ha="center")
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(nodes, [f"{n:.0f}\n{p['pods']:.0f} pods" for n, p in zip(nodes, points, strict=True)],
                      fontsize=7)
        ax.set_xlabel("hollow nodes", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.set_ylim(bottom=0)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ratio_chart(rows: Sequence[Comparison], path: Path, *, title: str) -> Path | None:
    """Horizontal bars of podvisor/baseline per row, grouped by benchmark; None if nothing to draw."""
    drawn = [r for r in rows if r.ratio is not None and r.ratio > 0]
    plt = _pyplot() if drawn else None
    if plt is None:
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
