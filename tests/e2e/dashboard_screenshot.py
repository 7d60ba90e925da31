"""``make screenshot``: start a small cluster, run a steady and a crashing Deployment, and save
the dashboard showing the crashing one's supervision tree (restarts, back-off) as docs/dashboard.png."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tests.e2e.cluster import Cluster
from tests.e2e.dashboard_page import browser_page, login
from tests.e2e.test_dashboard import DEPLOYMENTS, deployment

CRASHER = "echo starting; sleep 3; echo giving up; exit 1"
SETTLE_SECONDS = 20.0


def main(out: Path) -> None:
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="dashboard-shot-")))
    try:
        cluster.start_server()
        cluster.start_kubelet("dashboard-shot", "--restart-backoff-initial", "2")
        with cluster.http() as api:
            api.post(DEPLOYMENTS, json=deployment("web", replicas=2)).raise_for_status()
            api.post(DEPLOYMENTS, json=deployment("crasher", script=CRASHER)).raise_for_status()
        with browser_page() as rec:
            login(rec.page, cluster.url, cluster.token)
            rec.page.click("[data-deployment='default/crasher']", timeout=60_000)
            rec.page.wait_for_selector("[data-pod-row^='default/web-']:not(.warn)", timeout=60_000)
            rec.page.click("[data-pod-row^='default/web-']")
            time.sleep(SETTLE_SECONDS)
            rec.page.wait_for_selector(".container.down", timeout=30_000)
            out.parent.mkdir(parents=True, exist_ok=True)
            rec.page.screenshot(path=str(out))
            rec.assert_clean()
    finally:
        cluster.stop()
    print(f"saved {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png"))
