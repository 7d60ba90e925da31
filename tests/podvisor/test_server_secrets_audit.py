"""A real ``podvisor server`` process, driven by the real kubectl: Secrets at rest and the audit log.

What an attacker holding a copy of the data directory would try (``strings state.db | grep``)
and what an operator would do (rotate the key, read the audit log) are done as they would be.
No kubelet: nothing here needs Docker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster

KUBECTL = shutil.which("kubectl")
VALUE = "pa55-w0rd-only-in-memory"


class Kubectl:
    def __init__(self, cluster: Cluster, home: Path) -> None:
        home.mkdir(exist_ok=True)
        self.env = {**os.environ, "HOME": str(home), "KUBECONFIG": str(cluster.data_dir / "admin.kubeconfig")}

    def __call__(self, *args: str, rc: int = 0, kubeconfig: Path | None = None) -> str:
        if KUBECTL is None:
            pytest.fail("kubectl is not installed: pip install -e '.[compat]'")
        env = {**self.env, **({"KUBECONFIG": str(kubeconfig)} if kubeconfig else {})}
        done = subprocess.run([KUBECTL, *args], capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == rc, f"kubectl {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path / "data", server_args=["--disable", "controllers", "--disable", "scheduler",
                                                "--audit-log-path", str(tmp_path / "audit" / "audit.log")])
    yield c
    c.stop()


def strings(data: Path) -> str:
    files = [str(p) for p in sorted(data.glob("state.db*")) if not p.name.endswith(".lock")]
    return subprocess.run(["strings", "-n", "6", *files], capture_output=True, text=True, check=True).stdout


def podvisor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podvisor.cli", *args], capture_output=True, text=True, timeout=60)


def restart(cluster: Cluster) -> None:
    assert cluster.server is not None
    cluster.server.terminate()
    cluster.server.wait(timeout=20)
    cluster.start_server()


def test_secrets_at_rest_rotation_and_the_audit_log(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_server()
    data = cluster.data_dir
    kubectl = Kubectl(cluster, tmp_path / "home")
    for i in range(4):
        kubectl("create", "secret", "generic", f"s{i}", f"--from-literal=password={VALUE}-{i}")
    kubectl("delete", "secret", "s3")
    assert json.loads(kubectl("get", "secret", "s1", "-o", "json"))["data"]["password"]  # served decrypted
    assert kubectl("get", "secret", "s1", "-o", "go-template={{.data.password | base64decode}}") == f"{VALUE}-1"

    # the files: private, and no value in them, deleted or not
    config = data / "encryption-config.yaml"
    for path in [config, *data.glob("state.db*")]:
        assert path.stat().st_mode & 0o777 == 0o600, path
    found = strings(data)
    assert "k8s:enc:aesgcm:v1:key1:" in found
    assert VALUE not in found

    # one-step rotation while the server is stopped: every Secret, the server's join token's included
    stored = len(json.loads(kubectl("get", "secrets", "-A", "-o", "json"))["items"])
    assert cluster.server is not None
    cluster.server.terminate()
    cluster.server.wait(timeout=20)
    done = podvisor("secrets", "rotate-key", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert "new key key2" in done.stdout and f"re-encrypted {stored} secrets; removed key1" in done.stdout
    cluster.start_server()
    assert kubectl("get", "secret", "s2", "-o", "go-template={{.data.password | base64decode}}") == f"{VALUE}-2"
    found = strings(data)
    assert "k8s:enc:aesgcm:v1:key2:" in found and "k8s:enc:aesgcm:v1:key1:" not in found and VALUE not in found

    # the audit log: mutations recorded, never a Secret's data; a bad token recorded as a 401
    bad = tmp_path / "bad.kubeconfig"
    bad.write_text((data / "admin.kubeconfig").read_text().replace(cluster.token, "not-a-token"))
    kubectl("get", "pods", rc=1, kubeconfig=bad)
    restart(cluster)  # the log is flushed as the server stops
    log = (tmp_path / "audit" / "audit.log").read_text()
    assert VALUE not in log
    events = [json.loads(line) for line in log.splitlines()]
    creates = [e for e in events if e["verb"] == "create" and e.get("objectRef", {}).get("resource") == "secrets"]
    assert [e["objectRef"]["name"] for e in creates] == ["s0", "s1", "s2", "s3"]
    assert all(e["level"] == "Metadata" and e["user"]["username"] == "admin" for e in creates)
    assert [e["objectRef"]["name"] for e in events if e["verb"] == "delete"] == ["s3"]
    denied = [e for e in events if e["responseStatus"]["code"] == 401]
    assert denied and denied[0]["user"] == {} and denied[0]["stage"] == "ResponseStarted"
    assert not [e for e in events if e["verb"] in ("get", "list", "watch") and e["responseStatus"]["code"] < 400]
    assert (tmp_path / "audit" / "audit.log").stat().st_mode & 0o777 == 0o600


def test_a_wrong_key_stops_the_server_at_start(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_server()
    Kubectl(cluster, tmp_path / "home")("create", "secret", "generic", "kept", f"--from-literal=k={VALUE}")
    assert cluster.server is not None
    cluster.server.terminate()
    cluster.server.wait(timeout=20)
    config = cluster.data_dir / "encryption-config.yaml"
    original = config.read_text()
    other = tmp_path / "other.yaml"
    other.write_text(original.replace(original.split("secret: ")[1].split()[0],
                                      "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="))
    done = podvisor("server", "--data-dir", str(cluster.data_dir), "--port", str(cluster.port),
                    "--encryption-provider-config", str(other))
    assert done.returncode == 1
    assert ("podvisor: /registry/secrets/default/kept does not decrypt with aesgcm key 'key1' of the encryption "
            f"configuration ({other})") in done.stderr
    cluster.start_server()  # the right key: nothing was lost
    kubectl = Kubectl(cluster, tmp_path / "home")
    assert kubectl("get", "secret", "kept", "-o", "go-template={{.data.k | base64decode}}") == VALUE


def test_a_bad_audit_policy_stops_the_server_at_start(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Verbose\n")
    done = podvisor("server", "--data-dir", str(tmp_path / "data"), "--port", "1",
                    "--audit-log-path", str(tmp_path / "audit.log"), "--audit-policy-file", str(policy))
    assert done.returncode == 1
    assert f"podvisor: {policy}: rules[0].level: must be one of None, Metadata, Request, RequestResponse" in done.stderr
