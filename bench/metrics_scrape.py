"""How long one ``GET /metrics`` takes with many pods stored: the figure for the issue's note.

The app runs in this process (FastAPI's TestClient over a SQLite store in a temp dir, durable
as the server's); ``--pods`` pods are created through it, then ``--scrapes`` scrapes are timed
one after another and the median, the slowest and the body size printed. A scrape reads the
store's counts per resource and renders every series, so it grows with the kinds served and
the request series recorded, not with the pods themselves.

Run: ``python -m bench.metrics_scrape [--pods 1000] [--scrapes 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from apiserver.app import AppSettings, create_app
from apiserver.store.sqlite import SqliteStore
from bench.cluster import pod_manifest

PODS = "/api/v1/namespaces/default/pods"


def measure(*, pods: int, scrapes: int, tmp: Path) -> tuple[list[float], int]:
    store = SqliteStore(tmp / "state.db")
    with TestClient(create_app(store, AppSettings(compaction_interval=3600))) as client:
        for i in range(pods):
            response = client.post(PODS, json=pod_manifest(f"pod-{i}", namespace="default"))
            response.raise_for_status()
        times, size = [], 0
        for _ in range(scrapes):
            started = time.perf_counter()
            response = client.get("/metrics")
            times.append(time.perf_counter() - started)
            response.raise_for_status()
            size = len(response.content)
    store.close()
    return times, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podvisor-bench-scrape-") as tmp:
        times, size = measure(pods=args.pods, scrapes=args.scrapes, tmp=Path(tmp))
    print(f"/metrics with {args.pods} pods stored: median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms over {len(times)} scrapes; body {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
