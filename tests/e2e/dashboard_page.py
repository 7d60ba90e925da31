"""Driving the /ui dashboard in headless Chromium (Debian's, through Playwright; never a download).

``browser_page`` opens a page that records every console error and uncaught page error; the
caller asserts there were none (``assert_clean``), so a failed request or a script error fails
the test. Screenshots go to ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000


@dataclass
class Recorded:
    page: Any
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # responses >= 400, to say which request an error was

    def assert_clean(self, allowed: tuple[str, ...] = ()) -> None:
        # Docker adding a container's interfaces makes Chromium drop requests in flight with
        # ERR_NETWORK_CHANGED; the page retries them, so that is the host's doing, not the page's.
        allowed = (*allowed, "net::ERR_NETWORK_CHANGED")
        unexpected = [e for e in self.errors if not any(a in e for a in allowed)]
        assert not unexpected, f"console or page errors: {unexpected}; failed requests: {self.failed}"

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@contextmanager
def browser_page() -> Iterator[Recorded]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS)
        try:
            context = browser.new_context(ignore_https_errors=True, viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            recorded = Recorded(page)
            page.on("console", lambda msg: recorded.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
            page.on("response", lambda r: recorded.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("pageerror", lambda err: recorded.errors.append(f"pageerror: {err}"))
            yield recorded
        finally:
            browser.close()


def login(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/ui/")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")
