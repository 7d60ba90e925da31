"""podctl's writing commands against a real server: delete (and its wait), scale, rollout, nodes, config."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from tests.podctl.conftest import Podctl, write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{extra}data: {{k: v}}\n"
HOLD = "  finalizers: [podctl.test/hold]\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: "podvisor/busybox:{tag}"}}]}}
"""


def wait_until(what: str, check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def release(podctl: Podctl, name: str) -> None:
    with podctl.http() as client:
        response = client.patch(podctl.path(f"v1/configmaps/{name}"), json={"metadata": {"finalizers": None}},
                                headers={"Content-Type": "application/merge-patch+json"})
        assert response.status_code == 200, response.text


def test_delete_f_directory_deletes_in_reverse_order_and_waits(podctl: Podctl, tmp_path: Path) -> None:
    write(tmp_path / "app" / "1-first.yaml", CM.format(name="first", extra=HOLD))
    write(tmp_path / "app" / "2-second.yaml", CM.format(name="second", extra=""))
    assert podctl("apply", "-f", str(tmp_path / "app")).out == "configmap/first created\nconfigmap/second created\n"
    proc = podctl.process("delete", "-f", str(tmp_path / "app"))
    wait_until("the deletion to start", lambda: "deletionTimestamp" in podctl.obj("v1/configmaps/first")["metadata"])
    time.sleep(1.0)
    assert proc.poll() is None, "delete returned while an object was still there"
    release(podctl, "first")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out == 'configmap "second" deleted\nconfigmap "first" deleted\n'
    assert "waiting for 1 object(s) to be deleted: configmap/first (finalizers podctl.test/hold)" in err
    assert not podctl.exists("v1/configmaps/first") and not podctl.exists("v1/configmaps/second")


def test_delete_wait_false_returns_at_once(podctl: Podctl, tmp_path: Path) -> None:
    podctl("apply", "-f", str(write(tmp_path / "cm.yaml", CM.format(name="held", extra=HOLD))))
    result = podctl("delete", "configmap", "held", "--wait=false")
    assert (result.code, result.out) == (0, 'configmap "held" deleted\n')
    assert podctl.exists("v1/configmaps/held")
    timed_out = podctl("delete", "cm/held", "--timeout", "1s")
    assert timed_out.code == 1 and "timed out waiting for the deletion of configmap/held" in timed_out.err
    release(podctl, "held")


def test_delete_by_selector_all_and_errors(podctl: Podctl, tmp_path: Path) -> None:
    text = "---\n".join(CM.format(name=n, extra=f"  labels: {{tier: {t}}}\n") for n, t in
                        (("a", "x"), ("b", "y"), ("c", "y")))
    podctl("apply", "-f", str(write(tmp_path / "cms.yaml", text)))
    assert podctl("delete", "cm", "-l", "tier=y").out == 'configmap "b" deleted\nconfigmap "c" deleted\n'
    missing = podctl("delete", "deploy", "nope")
    assert (missing.code, missing.err) == (1, 'Error from server (NotFound): deployments.apps "nope" not found\n')
    assert podctl("delete", "deploy", "nope", "--ignore-not-found").code == 0
    assert podctl("delete", "cm").code == 1
    deleted = podctl("delete", "cm", "--all").out.splitlines()  # kube-root-ca.crt too, re-published at once
    assert [line for line in deleted if "kube-root-ca.crt" not in line] == ['configmap "a" deleted']


def test_scale_patches_the_scale_subresource(podctl: Podctl, tmp_path: Path) -> None:
    podctl("apply", "-f", str(write(tmp_path / "d.yaml", DEPLOYMENT.format(tag="latest"))))
    assert podctl("scale", "deploy/web", "--replicas=3").out == "deployment.apps/web scaled\n"
    assert podctl.obj("apps/v1/deployments/web")["spec"]["replicas"] == 3
    assert podctl("scale", "configmap", "x", "--replicas=1").code == 1


def test_rollout_restart_pause_resume(podctl: Podctl, tmp_path: Path) -> None:
    podctl("apply", "-f", str(write(tmp_path / "d.yaml", DEPLOYMENT.format(tag="latest"))))
    assert podctl("rollout", "restart", "deployment", "web").out == "deployment.apps/web restarted\n"
    template = podctl.obj("apps/v1/deployments/web")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    assert podctl("rollout", "pause", "deploy/web").out == "deployment.apps/web paused\n"
    assert podctl.obj("apps/v1/deployments/web")["spec"]["paused"] is True
    again = podctl("rollout", "pause", "deploy/web")
    assert again.code == 1 and "already paused" in again.err
    assert podctl("rollout", "restart", "deploy/web").code == 1
    assert podctl("rollout", "resume", "deploy/web").out == "deployment.apps/web resumed\n"
    assert not podctl.obj("apps/v1/deployments/web")["spec"].get("paused")


def test_rollout_history_and_undo(podctl: Podctl, tmp_path: Path) -> None:
    """Needs the deployment controller (ReplicaSets with revision annotations); no kubelet."""
    path = tmp_path / "d.yaml"
    podctl("apply", "-f", str(write(path, DEPLOYMENT.format(tag="v1"))))
    wait_until("revision 1", lambda: "1 " in podctl("rollout", "history", "deploy/web").out)
    podctl("apply", "-f", str(write(path, DEPLOYMENT.format(tag="v2"))))
    history = wait_until("revision 2", lambda: (lambda out: "2 " in out and out)(podctl("rollout", "history",
                                                                                         "deploy/web").out))
    lines = history.splitlines()
    assert lines[0] == "deployment.apps/web"
    assert lines[1].split() == ["REVISION", "CHANGE-CAUSE"]
    assert [line.split() for line in lines[2:]] == [["1", "<none>"], ["2", "<none>"]]
    shown = podctl("rollout", "history", "deploy/web", "--revision", "1").out
    assert "podvisor/busybox:v1" in shown and "pod-template-hash" not in shown
    assert podctl("rollout", "undo", "deploy/web").out == "deployment.apps/web rolled back\n"
    container = podctl.obj("apps/v1/deployments/web")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "podvisor/busybox:v1"
    missing = podctl("rollout", "undo", "deploy/web", "--to-revision", "9")
    assert missing.code == 1 and "revision 9" in missing.err


def test_cordon_and_uncordon(podctl: Podctl) -> None:
    name = f"node-{podctl.namespace}"
    with podctl.http() as client:
        created = client.post("/api/v1/nodes", json={"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        assert created.status_code == 201, created.text
        assert podctl("cordon", name).out == f"node/{name} cordoned\n"
        assert client.get(f"/api/v1/nodes/{name}").json()["spec"]["unschedulable"] is True
        assert podctl("cordon", name).out == f"node/{name} already cordoned\n"
        assert podctl("uncordon", name).out == f"node/{name} uncordoned\n"
        assert not client.get(f"/api/v1/nodes/{name}").json()["spec"].get("unschedulable")
        described = podctl("describe", "node", name)
        assert described.code == 0 and "Unschedulable:" in described.out
        client.delete(f"/api/v1/nodes/{name}")


def test_config_commands(podctl: Podctl, tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    shutil.copy(podctl.kubeconfig, config)
    flags = ("--kubeconfig", str(config))
    view = podctl("config", "view", *flags, namespace=False)
    assert "certificate-authority-data: DATA+OMITTED" in view.out and "token: REDACTED" in view.out
    assert podctl.cluster.token not in view.out
    assert podctl.cluster.token in podctl("config", "view", "--raw", *flags, namespace=False).out
    assert podctl("config", "current-context", *flags, namespace=False).out == "podvisor\n"
    contexts = podctl("config", "get-contexts", *flags, namespace=False).out.splitlines()
    assert contexts[0].split() == ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]
    assert contexts[1].split() == ["*", "podvisor", "podvisor", "admin", "default"]
    missing = podctl("config", "use-context", "nope", *flags, namespace=False)
    assert missing.code == 1 and 'no context exists with the name: "nope"' in missing.err
    assert podctl("config", "use-context", "podvisor", *flags, namespace=False).out == 'Switched to context "podvisor".\n'


def test_kubeconfig_from_environment_and_unreachable_server(podctl: Podctl, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("KUBECONFIG", str(podctl.kubeconfig))
    from click.testing import CliRunner

    from podctl.cli import cli

    assert CliRunner().invoke(cli, ["get", "ns"]).exit_code == 0
    broken = tmp_path / "kc"
    broken.write_text(podctl.kubeconfig.read_text().replace(f":{podctl.cluster.port}", ":1"))
    result = podctl("get", "pods", "--kubeconfig", str(broken), namespace=False)
    assert result.code == 1 and result.err.startswith("error: cannot reach the apiserver at https://127.0.0.1:1")
    absent = podctl("get", "pods", "--kubeconfig", str(tmp_path / "none"), namespace=False)
    assert absent.code == 1 and "cannot read kubeconfig" in absent.err


def test_exit_codes_of_the_real_entry_point(podctl: Podctl) -> None:
    for args, code in ((("get", "namespaces"), 0), (("get", "pods", "--bogus"), 1), (("get", "pod", "nope"), 1),
                       (("delete", "cm", "x", "--timeout", "5x"), 1)):
        proc = podctl.process(*args)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == code, (args, out, err)
        assert "\x1b[" not in out + err, "no colour when not on a terminal"


def test_set_image_changes_only_the_named_container(podctl: Podctl, tmp_path: Path) -> None:
    podctl("apply", "-f", str(write(tmp_path / "d.yaml", DEPLOYMENT.format(tag="latest"))))
    container = podctl.obj("apps/v1/deployments/web")["spec"]["template"]["spec"]["containers"][0]["name"]
    result = podctl("set", "image", "deployment/web", f"{container}=podvisor/busybox:v2")
    assert result.out == "deployment.apps/web image updated\n", result.err
    spec = podctl.obj("apps/v1/deployments/web")["spec"]["template"]["spec"]
    assert [c["image"] for c in spec["containers"]] == ["podvisor/busybox:v2"]
    missing = podctl("set", "image", "deployment/web", "nope=x:1")
    assert missing.code == 1 and "unable to find container named 'nope'" in missing.err
