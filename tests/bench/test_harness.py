"""The benchmark harness's pure parts: statistics, ratios, and the files a run writes.

Benchmarks themselves never run here and no timing is asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.harness import (
    Comparison,
    RunInfo,
    Stat,
    curve_table,
    format_value,
    markdown,
    median,
    percentile,
    ratio,
    write_results,
)

LATEST_KEYS = {"name", "unit", "podvisor", "baseline", "baseline_name", "ratio", "n"}


@pytest.mark.parametrize(
    ("samples", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0, 3.0], 50, 2.0),
        ([3.0, 1.0, 2.0, 4.0], 50, 2.5),
        ([1.0, 2.0], 99, 1.99),
        (list(map(float, range(101))), 99, 99.0),
        ([1.0, 2.0, 3.0], 0, 1.0),
        ([1.0, 2.0, 3.0], 100, 3.0),
    ],
    ids=["single-median", "single-p99", "odd", "even-unsorted", "p99-interpolates", "p99-of-101", "min", "max"],
)
def test_percentile_interpolates_between_closest_ranks(samples: list[float], q: float, expected: float) -> None:
    assert percentile(samples, q) == pytest.approx(expected)


@pytest.mark.parametrize("bad", [[], [1.0, 2.0]], ids=["empty", "out-of-range"])
def test_percentile_rejects_what_has_no_answer(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        percentile(bad, 50 if not bad else 101)


def test_stat_summarises_samples() -> None:
    stat = Stat.of([0.3, 0.1, 0.2])
    assert (stat.median, stat.n) == (pytest.approx(0.2), 3)
    assert stat.p99 == pytest.approx(0.298)
    assert median([4.0, 1.0]) == 2.5


@pytest.mark.parametrize(
    ("podvisor", "baseline", "expected"),
    [
        (Stat.value(2.0), Stat.value(1.0), 2.0),
        (Stat.value(0.5), Stat.value(2.0), 0.25),
        (None, Stat.value(1.0), None),
        (Stat.value(1.0), None, None),
        (Stat.value(1.0), Stat.value(0.0), None),
    ],
    ids=["slower", "faster", "no-podvisor", "no-baseline", "zero-baseline"],
)
def test_ratio_is_podvisor_over_baseline_of_medians(podvisor: Stat | None, baseline: Stat | None,
                                                    expected: float | None) -> None:
    assert ratio(podvisor, baseline) == (pytest.approx(expected) if expected is not None else None)


def test_latest_row_has_exactly_the_documented_keys_with_medians() -> None:
    row = Comparison("pod start", "s", Stat.of([1.0, 2.0, 3.0]), Stat.of([0.5, 1.0, 1.5]), "docker", group="g")
    latest = row.latest()
    assert set(latest) == LATEST_KEYS
    assert latest == {"name": "pod start", "unit": "s", "podvisor": 2.0, "baseline": 1.0, "baseline_name": "docker",
                      "ratio": 2.0, "n": 3}


def test_missing_podvisor_side_is_null_not_zero() -> None:
    latest = Comparison("x", "s", None, Stat.of([1.0, 1.0]), "docker").latest()
    assert latest["podvisor"] is None and latest["ratio"] is None and latest["n"] == 2


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(0.0123, "s", "12.3 ms"), (2.5, "s", "2.5 s"), (0.004, "s/op", "4 ms/op"), (3 * 2**20, "bytes", "3 MiB"),
     (None, "s", "-")],
    ids=["ms", "seconds", "per-op", "mib", "missing"],
)
def test_format_value(value: float | None, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


def _rows() -> list[Comparison]:
    return [
        Comparison("pod start", "s", Stat.of([0.5, 0.6]), Stat.of([0.25, 0.3]), "docker create+start", group="pod_start"),
        Comparison("get x1", "s/op", Stat.value(0.002, n=500), Stat.value(0.001, n=900), "bare", group="api",
                   note="500 vs 900 req/s"),
    ]


def test_markdown_has_a_table_per_benchmark_notes_and_errors() -> None:
    info = RunInfo(started="2026-01-01T00-00-00", quick=True, notes={"api": "method"}, errors={"hollow": "boom"})
    text = markdown(_rows(), info)
    assert "## pod_start" in text and "## api" in text
    assert "| pod start | 550 ms | 599 ms | docker create+start | 275 ms | 300 ms | 2.00 | 2/2 |" in text
    assert "- get x1: 500 vs 900 req/s" in text and "method" in text
    assert "**hollow**: boom" in text


def test_write_results_writes_run_files_and_latest(tmp_path: Path) -> None:
    info = RunInfo(started="2026-01-01T00-00-00", quick=True)
    out = write_results(_rows(), info, root=tmp_path, charts=False)
    assert out.parent == tmp_path
    full = json.loads((out / "results.json").read_text())
    assert full["run"]["quick"] is True
    assert full["results"][0]["podvisor_p99"] == pytest.approx(0.599)
    latest = json.loads((tmp_path / "latest.json").read_text())
    assert [set(r) for r in latest] == [LATEST_KEYS, LATEST_KEYS]
    assert latest[1]["ratio"] == 2.0
    assert (out / "results.md").read_text().startswith("# podvisor benchmarks (quick run")


def test_chart_is_a_png_when_matplotlib_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from bench.charts import ratio_chart

    path = ratio_chart(_rows(), tmp_path / "r.png", title="t")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


POINTS = [{"nodes": 100, "pods": 1000, "pods_per_second": 120.5, "rss_mib": 300.0},
          {"nodes": 300, "pods": 6000, "pods_per_second": 101.25, "rss_mib": 900.0}]


def test_a_scaling_curve_is_a_table_of_its_points_under_its_benchmark() -> None:
    info = RunInfo(started="2026-01-01T00-00-00", quick=True, curves={"api": POINTS})
    text = markdown(_rows(), info)
    table = curve_table(POINTS)
    assert table[2] == "| nodes | pods | pods_per_second | rss_mib |"
    assert table[4:6] == ["| 100 | 1000 | 120.5 | 300 |", "| 300 | 6000 | 101.2 | 900 |"]
    assert text.index("## api") < text.index("| 300 | 6000 |")
    assert curve_table([]) == []


def test_write_results_keeps_the_curve_in_the_run_json(tmp_path: Path) -> None:
    out = write_results(_rows(), RunInfo(started="2026-01-01T00-00-00", quick=True, curves={"api": POINTS}),
                        root=tmp_path, charts=False)
    assert json.loads((out / "results.json").read_text())["run"]["curves"] == {"api": POINTS}


def test_scaling_chart_is_a_png_when_matplotlib_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from bench.charts import scaling_chart

    path = scaling_chart(POINTS, tmp_path / "s.png", title="t")
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert scaling_chart([], tmp_path / "none.png", title="t") is None
