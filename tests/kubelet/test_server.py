"""The kubelet API: which container's logs, and log options, on the fake runtime.

Who may call it (the API server's client certificate over TLS) is tested on a real TLS server in
``tests/kubelet/test_server_tls.py``.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from apimachinery.models.core import Pod
from kubelet import naming
from kubelet.runtime.base import ContainerSpec
from kubelet.runtime.fake import FakeRuntime
from kubelet.server import NodeLogs, create_app
from kubelet.threads import InlineRunner
from tests.kubelet.harness import NODE

URL = "/containerLogs/default/web/app"


def start(runtime: FakeRuntime, attempt: int, text: bytes, *, exit_code: int | None) -> str:
    labels = {**naming.node_labels(NODE), naming.POD_NAMESPACE: "default", naming.POD_NAME: "web",
              naming.POD_UID: "u1", naming.CONTAINER: "app", naming.ATTEMPT: str(attempt)}
    cid = runtime.create_container(ContainerSpec(name=f"app{attempt}", image="img", labels=labels))
    runtime.start_container(cid)
    runtime.write_log(cid, text)
    if exit_code is not None:
        runtime.exit(cid, exit_code)
    return cid


def client(runtime: FakeRuntime, pod: Pod | None = None) -> TestClient:
    app = create_app(resolve=lambda ns, name: NodeLogs(node=NODE, runtime=runtime, run=InlineRunner(), pod=pod))
    return TestClient(app)


def test_a_pod_not_on_this_node_is_not_found() -> None:
    app = create_app(resolve=lambda ns, name: None)
    assert TestClient(app).get(URL).status_code == 404


def test_current_previous_and_tail() -> None:
    runtime = FakeRuntime(images=["img"])
    start(runtime, 0, b"one\ntwo\n", exit_code=1)
    start(runtime, 1, b"three\nfour\nfive\n", exit_code=None)
    http = client(runtime)
    assert http.get(URL).text == "three\nfour\nfive\n"
    assert http.get(URL, params={"tailLines": 1}).text == "five\n"
    assert http.get(URL, params={"previous": "true"}).text == "one\ntwo\n"
    assert http.get(URL, params={"limitBytes": 4}).text == "thre"
    stamped = http.get(URL, params={"timestamps": "true", "tailLines": 1}).text
    assert stamped.endswith("Z five\n")


def test_previous_of_a_first_attempt_is_a_bad_request() -> None:
    runtime = FakeRuntime(images=["img"])
    start(runtime, 0, b"only\n", exit_code=None)
    response = client(runtime).get(URL, params={"previous": "true"})
    assert response.status_code == 400 and response.json()["reason"] == "BadRequest"


def test_the_pod_status_decides_which_container_is_meant() -> None:
    runtime = FakeRuntime(images=["img"])
    first = start(runtime, 0, b"first\n", exit_code=1)
    second = start(runtime, 1, b"second\n", exit_code=1)
    pod = Pod.model_validate({
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": {"containers": [{"name": "app"}]},
        "status": {"containerStatuses": [{
            "name": "app", "containerID": f"fake://{second}",
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "containerID": f"fake://{second}"}}}]},
    })
    http = client(runtime, pod)
    assert http.get(URL).text == "second\n"
    assert http.get(URL, params={"previous": "true"}).text == "second\n"
    assert first
