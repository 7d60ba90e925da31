"""``python -m bench run [--quick] [--only NAME ...]``: run the benchmarks, write the results.

Each benchmark module exposes ``NAME`` and ``run(*, quick, info) -> list[Comparison]``. One that
fails is recorded under "Not measured" and the others still run; containers, services and Swarm
are cleaned up after every benchmark and on Ctrl-C / SIGTERM, and the results gathered so far
are written in every case.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import time
import traceback
from datetime import datetime
from types import FrameType

from bench import dockerops
from bench.harness import Comparison, RunInfo, write_results

BENCHMARKS = ("pod_start", "restart", "supervision", "convergence", "api", "authz", "hollow", "exec_roundtrip",
              "portforward_throughput", "dns", "services", "jobs", "daemonset", "metrics")

log = logging.getLogger("bench")


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_all(*, quick: bool, only: list[str]) -> int:
    names = [n for n in BENCHMARKS if not only or n in only]
    info = RunInfo(started=datetime.now().strftime("%Y-%m-%dT%H-%M-%S"), quick=quick, only=only)
    rows: list[Comparison] = []
    interrupted = False
    dockerops.cleanup()  # leftovers of an earlier crashed run would skew the first figures
    try:
        for name in names:
            started = time.monotonic()
            log.info("== %s (%s)", name, "quick" if quick else "full")
            try:
                module = importlib.import_module(f"bench.{name}")
                rows += module.run(quick=quick, info=info)
            except KeyboardInterrupt:
                info.errors[name] = "interrupted"
                interrupted = True
                break
            except Exception as err:  # noqa: BLE001 - one broken benchmark must not hide the others
                log.error("%s failed:\n%s", name, traceback.format_exc())
                info.errors[name] = f"{type(err).__name__}: {err}"
            finally:
                dockerops.cleanup()
                info.durations[name] = time.monotonic() - started
                log.info("== %s done in %.0f s", name, info.durations[name])
    finally:
        out = write_results(rows, info)
        print((out / "results.md").read_text())
        print(f"results: {out}")
    return 130 if interrupted else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the benchmarks and write bench/results/")
    run.add_argument("--quick", action="store_true", help="fewer repetitions and smaller sizes (< 3 minutes)")
    run.add_argument(
        "--only", action="append", choices=BENCHMARKS, default=[], help="run only this benchmark (repeatable)"
    )
    sub.add_parser("cleanup", help="remove labelled containers/services and leave Swarm")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "docker", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _terminate)
    if args.command == "cleanup":
        dockerops.cleanup()
        return 0
    return run_all(quick=args.quick, only=args.only)


if __name__ == "__main__":
    sys.exit(main())
