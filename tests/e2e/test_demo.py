"""``make demo-check`` from a fresh clone: the demo comes up, shows what it promises, and
leaves nothing behind on the Docker daemon."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.cluster import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_demo_check_passes_from_a_fresh_clone(tmp_path: Path, busybox_image: str) -> None:
    clone = tmp_path / "podvisor"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    done = subprocess.run([sys.executable, "-m", "demo", "check", "--port", str(free_port())], cwd=clone,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr[-6000:]
    for promise in ("every demo pod is Running or Succeeded as designed: ok",
                    "the page is served by all three web replicas: ok",
                    "web replicas through the Service's name and ClusterIP: ok",
                    "every replica serves the page mounted from the ConfigMap: ok",
                    "restarted (restartCount 1), page kept served: ok",
                    "a broken ledger release escalated and was rolled back in",
                    "nothing of the demo is left on Docker: ok"):
        assert promise in done.stdout, done.stdout
