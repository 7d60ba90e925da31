"""``python -m demo run|check|down``: the local multi-node demo (see the README)."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from demo import checks
from demo.processes import NODES, REPO, DemoCluster, leftovers, remove_docker_objects, stop_recorded

DATA_DIR = REPO / ".podvisor-demo"

NEXT_STEPS = """
The demo is running: a podvisor server and three kubelets (node-1, node-2, node-3) on Docker.

  export KUBECONFIG={kubeconfig}
  podctl get pods -n demo -o wide                  # where each pod runs, its IP and restarts
  podctl logs -n demo client -f                    # the client fetching http://web/ through the Service
  podctl get svc,endpoints -n demo                 # ClusterIPs, the NodePort and the ready replicas
  podctl edit -n demo configmap web-pages          # the mounted /www/pages/about.html follows
  podctl get pods -n demo -w                       # watch the worker crash and come back
  docker kill $(docker ps -q --filter label=io.podvisor.container=httpd | head -1)
                                                   # kill a web container: it is restarted
  podctl scale -n demo deployment/web --replicas=5
  docker tag podvisor/busybox:latest podvisor/busybox:v2
  podctl set image -n demo deployment/web httpd=podvisor/busybox:v2
  podctl rollout status -n demo deployment/web     # a rolling update, one pod at a time
  podctl describe -n demo pod app-with-sidecar     # init container, sidecar, events
  kill -STOP $(pgrep -f 'node-name node-3')        # freeze node-3: its pods move after ~30s
  podctl tree -n demo deployment/ledger            # a supervision tree: strategy, budgets, restarts
  podctl set image -n demo deployment/ledger journal=podvisor/busybox:broken
  podctl tree -n demo deployment/ledger            # pods give up, then the Deployment rolls back
  podctl rollout history -n demo deployment/ledger # the rollback, with its cause

Press Ctrl-C to stop everything (containers included).
"""


def api_client(cluster: DemoCluster) -> httpx.Client:
    token = (cluster.data_dir / "admin.token").read_text().strip()
    return httpx.Client(base_url=f"https://127.0.0.1:{cluster.port}", verify=str(cluster.data_dir / "ca.crt"),
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)


def podctl(cluster: DemoCluster, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "podctl.cli", "--kubeconfig", str(cluster.kubeconfig), *args],
                   check=True, cwd=REPO)


def bring_up(cluster: DemoCluster) -> httpx.Client:
    print("starting podvisor server and kubelets node-1..3 ...", flush=True)
    cluster.start()
    api = api_client(cluster)
    checks.wait_until("three Ready nodes", lambda: _ready_nodes(api) >= 3, timeout=60)
    podctl(cluster, "apply", "-f", str(REPO / "manifests" / "demo"))
    print("waiting for the demo pods ...", flush=True)
    checks.wait_until("the demo pods", lambda: checks.everything_ready(api) is None, timeout=180, interval=1)
    return api


def _ready_nodes(api: httpx.Client) -> int:
    nodes = api.get("/api/v1/nodes").json()["items"]
    return sum(1 for n in nodes for c in (n.get("status") or {}).get("conditions") or []
               if c["type"] == "Ready" and c["status"] == "True")


def cmd_run(cluster: DemoCluster) -> int:
    down(cluster.data_dir)
    try:
        bring_up(cluster)
        print(NEXT_STEPS.format(kubeconfig=cluster.kubeconfig), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while cluster.alive():
            time.sleep(1)
        print("a demo process exited; see", cluster.data_dir / "logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("\nstopping the demo ...", flush=True)
        cluster.stop()


def cmd_check(cluster: DemoCluster) -> int:
    down(cluster.data_dir)
    ok = False
    try:
        api = bring_up(cluster)
        print("check: every demo pod is Running or Succeeded as designed: ok")
        checks.page_served_by_all_replicas(api)
        print("check: the page is served by all three web replicas: ok")
        replicas = checks.client_reaches_web_by_name(api)
        print(f"check: the client reaches {replicas} web replicas through the Service's name and ClusterIP: ok")
        checks.page_mounted_from_config_map(api)
        print("check: every replica serves the page mounted from the ConfigMap: ok")
        victim = checks.killed_container_restarts_while_page_is_served(api)
        print(f"check: killed web container of {victim} restarted (restartCount 1), page kept served: ok")
        podctl(cluster, "set", "image", "-n", checks.NAMESPACE, "deployment/ledger", f"journal={checks.BROKEN}")
        seconds = checks.bad_release_rolled_back(api)
        print(f"check: a broken ledger release escalated and was rolled back in {seconds:.0f}s: ok")
        ok = True
    except (checks.CheckFailed, RuntimeError, subprocess.CalledProcessError) as err:
        print(f"demo check FAILED: {err}", file=sys.stderr)
        for log in sorted((cluster.data_dir / "logs").glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
    finally:
        cluster.stop()
    left = leftovers(NODES)
    if left:
        print(f"demo check FAILED: left on Docker after stopping: {left}", file=sys.stderr)
        return 1
    print("check: nothing of the demo is left on Docker: ok" if ok else "")
    return 0 if ok else 1


def down(data_dir: Path) -> int:
    """Stop leftover processes, remove their containers, and forget the old cluster state."""
    stop_recorded(data_dir / "pids")
    remove_docker_objects(NODES)
    for db in data_dir.glob("state.db*"):
        db.unlink()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("command", choices=("run", "check", "down"))
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--port", type=int, default=6443)
    args = parser.parse_args()
    cluster = DemoCluster(args.data_dir, port=args.port)
    if args.command == "run":
        return cmd_run(cluster)
    if args.command == "check":
        return cmd_check(cluster)
    return down(args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
