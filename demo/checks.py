"""What the demo must show, checked through the API and from the host."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from demo.processes import docker

NAMESPACE = "demo"
BROKEN = "podvisor/busybox:broken"
GOOD = "podvisor/busybox:latest"


class CheckFailed(AssertionError):
    pass


def wait_until(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise CheckFailed(f"timed out after {timeout:.0f}s waiting for {what} (last seen: {last!r})")


def pods(api: httpx.Client) -> dict[str, dict[str, Any]]:
    items = api.get(f"/api/v1/namespaces/{NAMESPACE}/pods").json()["items"]
    return {p["metadata"]["name"]: p for p in items if not p["metadata"].get("deletionTimestamp")}


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _restarts(pod: dict[str, Any]) -> int:
    return sum(int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or [])


def web_pods(api: httpx.Client) -> list[dict[str, Any]]:
    return [p for name, p in pods(api).items() if name.startswith("web-")]


def everything_ready(api: httpx.Client) -> str | None:
    """None when every demo pod is as designed, else what is still missing."""
    current = pods(api)
    web = [p for n, p in current.items() if n.startswith("web-")]
    if len(web) != 3 or not all(_phase(p) == "Running" and _ready(p) for p in web):
        return f"web: {[(p['metadata']['name'], _phase(p), _ready(p)) for p in web]}"
    for name in ("client", "app-with-sidecar"):
        if name not in current or _phase(current[name]) != "Running" or not _ready(current[name]):
            return f"{name} not running and ready"
    if not any(n.startswith("worker-") and _phase(p) == "Running" for n, p in current.items()):
        return "worker not running"
    ledger = [p for n, p in current.items() if n.startswith("ledger-") and _phase(p) == "Running" and _ready(p)]
    if len(ledger) != 2:
        return f"ledger: {len(ledger)} of 2 pods running and ready"
    for name in ("once", "retry-once"):
        if name not in current or _phase(current[name]) != "Succeeded":
            return f"{name} not Succeeded"
    if _restarts(current["retry-once"]) != 1:
        return f"retry-once restarted {_restarts(current['retry-once'])} times, expected 1"
    return None


def fetch_page(pod: dict[str, Any]) -> str | None:
    ip = (pod.get("status") or {}).get("podIP")
    if not ip:
        return None
    try:
        return httpx.get(f"http://{ip}:8080/", timeout=2).text.strip()
    except httpx.HTTPError:
        return None


def page_served_by_all_replicas(api: httpx.Client) -> None:
    web = web_pods(api)
    answers = {p["metadata"]["name"]: fetch_page(p) for p in web}
    for name, answer in answers.items():
        if answer != f"hello from {name}":
            raise CheckFailed(f"replica {name} answered {answer!r}")


def client_reaches_web_by_name(api: httpx.Client) -> int:
    """The client fetches ``http://web/`` (the Service's name, port 80 → the pods' 8080) and the
    answers come from more than one replica; returns how many distinct replicas answered."""
    def answered() -> int:
        log = api.get(f"/api/v1/namespaces/{NAMESPACE}/pods/client/log", params={"tailLines": "40"}).text
        replicas = {line.rsplit("hello from ", 1)[1].strip() for line in log.splitlines() if "hello from web-" in line}
        return len(replicas) if len(replicas) >= 2 else 0

    return int(wait_until("the client pod to reach two web replicas through the Service 'web'", answered,
                          timeout=90))


def page_mounted_from_config_map(api: httpx.Client) -> None:
    """Every replica serves /pages/about.html from the ConfigMap volume."""
    for pod in web_pods(api):
        ip = (pod.get("status") or {}).get("podIP")
        page = httpx.get(f"http://{ip}:8080/pages/about.html", timeout=2).text
        if "comes from the ConfigMap web-pages" not in page:
            raise CheckFailed(f"replica {pod['metadata']['name']} served {page!r} as /pages/about.html")


def killed_container_restarts_while_page_is_served(api: httpx.Client) -> str:
    """Kill one web container; it must come back (restartCount 1) and the page stay served."""
    victim = sorted(web_pods(api), key=lambda p: p["metadata"]["name"])[0]
    name = victim["metadata"]["name"]
    ids = docker("ps", "-q", "--filter", f"label=io.podvisor.pod.name={name}",
                 "--filter", "label=io.podvisor.container=httpd")
    if len(ids) != 1:
        raise CheckFailed(f"expected one running httpd container for {name}, found {ids}")
    docker("kill", ids[0])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = {p["metadata"]["name"]: p for p in web_pods(api)}
        served = [n for n, p in current.items() if n != name and fetch_page(p) == f"hello from {n}"]
        if not served:
            raise CheckFailed("no replica served the page while one was restarting")
        pod = current.get(name)
        if pod and _restarts(pod) == 1 and _ready(pod) and fetch_page(pod) == f"hello from {name}":
            return name
        time.sleep(0.5)
    raise CheckFailed(f"{name} did not come back after its container was killed")


def _deployment(api: httpx.Client, name: str) -> dict[str, Any]:
    return dict(api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}").json())


def _rolled_back(api: httpx.Client) -> bool:
    """Back on the good image, every replica updated and available, and the rollback recorded."""
    d = _deployment(api, "ledger")
    images = {c["image"] for c in d["spec"]["template"]["spec"]["containers"]}
    status, want = d.get("status") or {}, d["spec"]["replicas"]
    rejected = "supervision.podvisor.io/rejected-template" in (d["metadata"].get("annotations") or {})
    return (images == {GOOD} and rejected and status.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and status.get("updatedReplicas") == want == status.get("availableReplicas") == status.get("replicas"))


def bad_release_rolled_back(api: httpx.Client) -> float:
    """After a broken release of ``ledger``: its pods exceed their intensity, the Deployment exceeds
    its own and rolls back by itself. Returns the seconds it took."""
    started = time.monotonic()
    wait_until("the broken ledger release rolled back, all replicas available", lambda: _rolled_back(api),
               timeout=180, interval=1)
    return time.monotonic() - started
