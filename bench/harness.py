"""Timing, statistics and results writing shared by every benchmark.

A benchmark produces :class:`Comparison` rows: one podvisor figure against one baseline figure
measured in the same run on the same image. Figures are summarised by their median and p99,
and the headline number is the ratio of medians, podvisor / baseline (lower is better, so
throughputs are expressed as seconds per operation). The machine is small and shared, so
absolute times drift between runs; ratios measured side by side are what to compare.

Everything here is pure (no Docker, no servers) so the tests can check it quickly.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


# -- statistics ------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks.

    Linear interpolation (numpy's default) rather than nearest rank: with the few repetitions a
    container benchmark can afford, p99 is then a value between the two largest samples instead
    of jumping straight to the maximum.
    """
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile out of range: {q}")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


@dataclass(frozen=True)
class Stat:
    """A summarised measurement: median, p99 and how many samples it came from."""

    median: float
    p99: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        return cls(median=median(samples), p99=percentile(samples, 99), n=len(samples))

    @classmethod
    def value(cls, v: float, *, n: int = 1) -> Stat:
        """A single figure (a threshold, a throughput over a whole run, a file size)."""
        return cls(median=v, p99=v, n=n)


def ratio(podvisor: Stat | None, baseline: Stat | None) -> float | None:
    """podvisor / baseline of the medians; None when either side is missing or the baseline is 0."""
    if podvisor is None or baseline is None or baseline.median == 0:
        return None
    return podvisor.median / baseline.median


# -- results ---------------------------------------------------------------------------------


@dataclass
class Comparison:
    """One row of the results: a podvisor figure against a baseline measured in the same run."""

    name: str
    unit: str
    podvisor: Stat | None
    baseline: Stat | None
    baseline_name: str
    note: str = ""
    group: str = ""  # the benchmark that produced it (a section of results.md)

    @property
    def ratio(self) -> float | None:
        return ratio(self.podvisor, self.baseline)

    def latest(self) -> dict[str, Any]:
        """The row as ``latest.json`` has it (medians only)."""
        return {
            "name": self.name,
            "unit": self.unit,
            "podvisor": _round(self.podvisor.median if self.podvisor else None),
            "baseline": _round(self.baseline.median if self.baseline else None),
            "baseline_name": self.baseline_name,
            "ratio": _round(self.ratio),
            "n": self.podvisor.n if self.podvisor else (self.baseline.n if self.baseline else 0),
        }

    def full(self) -> dict[str, Any]:
        """The row with p99s and sample counts of both sides (``results.json``)."""
        row = self.latest()
        for side, stat in (("podvisor", self.podvisor), ("baseline", self.baseline)):
            row[f"{side}_p99"] = _round(stat.p99 if stat else None)
            row[f"{side}_n"] = stat.n if stat else 0
        row["note"] = self.note
        row["group"] = self.group
        return row


def _round(v: float | None) -> float | None:
    if v is None:
        return None
    return float(f"{v:.6g}")


@dataclass
class RunInfo:
    """What a reader needs to judge the figures: when, how, on what."""

    started: str
    quick: bool
    only: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # benchmark -> method / caveats
    errors: dict[str, str] = field(default_factory=dict)  # benchmark -> why it produced nothing
    durations: dict[str, float] = field(default_factory=dict)  # benchmark -> wall seconds
    curves: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # benchmark -> points by size


def format_value(v: float | None, unit: str) -> str:
    """Human-friendly number: times in ms when small, sizes in MiB, else 3 significant digits."""
    if v is None:
        return "-"
    if unit == "s" and abs(v) < 1:
        return f"{v * 1000:.3g} ms"
    if unit == "s/op":
        return f"{v * 1000:.3g} ms/op"
    if unit == "bytes":
        return f"{v / 2**20:.3g} MiB"
    return f"{v:.3g} {unit}"


def markdown(rows: Sequence[Comparison], info: RunInfo) -> str:
    """The Markdown report: one table per benchmark, then method notes and errors."""
    mode = "quick" if info.quick else "full"
    lines = [f"# podvisor benchmarks ({mode} run, {info.started})", "",
             "Ratio = podvisor median / baseline median: lower is better, 1.0 is parity. "
             "Throughputs are given as time per operation so the same reading holds.", ""]
    for group in _groups(rows):
        lines += [f"## {group}", "",
                  "| benchmark | podvisor median | podvisor p99 | baseline | baseline median | baseline p99 "
                  "| ratio | n (podvisor/baseline) |",
                  "|---|---:|---:|---|---:|---:|---:|---:|"]
        for r in (r for r in rows if r.group == group):
            p, b = r.podvisor, r.baseline
            pm, pp = (p.median, p.p99) if p else (None, None)
            bm, bp = (b.median, b.p99) if b else (None, None)
            lines.append(
                f"| {r.name} | {format_value(pm, r.unit)} | {format_value(pp, r.unit)} "
                f"| {r.baseline_name} | {format_value(bm, r.unit)} | {format_value(bp, r.unit)} "
                f"| {'-' if r.ratio is None else f'{r.ratio:.2f}'} | {p.n if p else 0}/{b.n if b else 0} |")
        notes = [f"- {r.name}: {r.note}" for r in rows if r.group == group and r.note]
        if info.notes.get(group):
            notes.insert(0, info.notes[group])
        lines += ["", *notes, ""] if notes else [""]
        lines += curve_table(info.curves.get(group, []))
    if info.errors:
        lines += ["## Not measured", ""] + [f"- **{k}**: {v}" for k, v in info.errors.items()] + [""]
    if info.durations:
        lines += ["Wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in info.durations.items()), ""]
    return "\n".join(lines)


def curve_table(points: Sequence[dict[str, float]]) -> list[str]:
    """A scaling curve as Markdown: one row per size, one column per figure."""
    if not points:
        return []
    keys = list(points[0])
    return ["Scaling curve:", "", "| " + " | ".join(keys) + " |", "|" + "---:|" * len(keys),
            *("| " + " | ".join(_figure(p.get(k, 0)) for k in keys) + " |" for p in points), ""]


def _figure(v: float) -> str:
    """Whole numbers in full (30000, not 3e+04), others to four significant digits."""
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.4g}"


def _groups(rows: Iterable[Comparison]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        seen.setdefault(r.group, None)
    return list(seen)


def write_results(rows: Sequence[Comparison], info: RunInfo, *, root: Path = RESULTS_DIR,
                  charts: bool = True) -> Path:
    """Write ``<root>/<timestamp>/results.{json,md}`` (+ PNG) and ``<root>/latest.json``."""
    out = root / info.started.replace(":", "").replace("-", "")
    out.mkdir(parents=True, exist_ok=True)
    payload = {"run": info.__dict__, "results": [r.full() for r in rows]}
    (out / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    (out / "results.md").write_text(markdown(rows, info))
    (root / "latest.json").write_text(json.dumps([r.latest() for r in rows], indent=2) + "\n")
    if charts:
        from bench.charts import ratio_chart, scaling_chart

        ratio_chart(rows, out / "ratios.png", title=f"podvisor / baseline ({'quick' if info.quick else 'full'})")
        for name, points in info.curves.items():
            scaling_chart(points, out / f"{name}-scaling.png", title=f"{name}: cost as the cluster grows")
    return out


# -- timing ----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes (monotonic clock)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def repeat(fn: Callable[[], float], *, times: int, warmup: int = 1) -> list[float]:
    """Run ``fn`` (which returns one measured duration) ``warmup + times`` times; keep the last ``times``.

    The warm-up run pays for first-use costs (page cache, image layers, imports) that neither
    side would pay in steady state.
    """
    for _ in range(warmup):
        fn()
    return [fn() for _ in range(times)]


def deadline_wait(check: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str = "") -> Any:
    """Poll ``check`` until truthy; raise TimeoutError naming ``what``."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or check}")
        time.sleep(interval)
