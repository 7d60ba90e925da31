"""What encryption at rest and the audit log cost a request: Secret create and get latency.

One apiserver (uvicorn in a thread, SQLite store with ``synchronous=FULL`` in a temp dir), one
client, sequential requests; medians and 90th percentiles over ``--ops`` requests per case:

    plain        no encryption configuration, no audit log
    encrypted    aesgcm (32-byte key) for Secrets
    audited      encrypted, plus the audit log at the default policy (mutations at Metadata)
    audited-rr   encrypted, plus the audit log at RequestResponse for everything

Run: ``python -m bench.security_overhead [--ops 300]``. Figures depend on the machine (and on
what else it runs); compare the cases with each other, not with other machines.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from apiserver.app import AppSettings
from apiserver.audit.logfile import LogFile
from apiserver.audit.middleware import AuditSettings
from apiserver.audit.policy import DEFAULT_POLICY, Policy, parse_policy
from apiserver.store.encryption import PLAIN, ValueCodec, config_document, new_key, parse_config
from apiserver.store.sqlite import SqliteStore
from tests.apiserver.conftest import RunningServer

EVERYTHING = parse_policy({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                           "rules": [{"level": "RequestResponse"}]}, source="bench")


def run_case(name: str, *, codec: ValueCodec, policy: Policy | None, ops: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        sink = LogFile(Path(tmp) / "audit.log") if policy is not None else None
        settings = AppSettings(compaction_interval=3600,
                               audit=AuditSettings(sink=sink, policy=policy) if sink is not None and policy else None)
        server = RunningServer(SqliteStore(Path(tmp) / "state.db", codec=codec), settings)
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                url = "/api/v1/namespaces/default/secrets"
                create, get = [], []
                for i in range(ops):
                    body = {"metadata": {"name": f"s{i}"}, "stringData": {"password": f"value-{i}" * 8}}
                    started = time.perf_counter()
                    assert http.post(url, json=body).status_code == 201
                    create.append(time.perf_counter() - started)
                for i in range(ops):
                    started = time.perf_counter()
                    assert http.get(f"{url}/s{i}").status_code == 200
                    get.append(time.perf_counter() - started)
        finally:
            server.stop()
            if sink is not None:
                sink.close()
    return {"case": name, "create": _stats(create), "get": _stats(get)}


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.9)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=300)
    args = parser.parse_args()
    encrypted = ValueCodec(parse_config(config_document([("key1", new_key())]), source="bench"))
    cases = [("plain", PLAIN, None), ("encrypted", encrypted, None), ("audited", encrypted, DEFAULT_POLICY),
             ("audited-rr", encrypted, EVERYTHING)]
    print(f"{'case':<12} {'create p50':>11} {'create p90':>11} {'get p50':>9} {'get p90':>9}   (ms, {args.ops} ops)")
    for name, codec, policy in cases:
        row = run_case(name, codec=codec, policy=policy, ops=args.ops)
        print(f"{name:<12} {row['create'][0]:>11.2f} {row['create'][1]:>11.2f} {row['get'][0]:>9.2f} {row['get'][1]:>9.2f}")


if __name__ == "__main__":
    main()
