"""Reports and the index in a real browser: headless Chromium over the DevTools protocol, networking off.

Each page is opened from ``file://``. The test fails on any console error or
uncaught exception, any request for a URL other than ``file:``/``data:``,
and any JavaScript dialog (which an injected ``alert(...)`` would raise). A
PNG of the first screen of one report is saved for people to look at; its
path is printed (``pytest -s`` shows it).

Chromium is driven with ``websocket-client``; no browser is downloaded. The
test is skipped when Chromium is absent, except in CI (``CI=true``), where a
missing browser is a failure.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from security.kit import env_ci

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio",
    # No request may leave the machine even if a page tried: every host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--window-size=1280,900", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
]
SETTLE_S = 0.7  # after the load event: late console messages, lazy images


def _chromium() -> str:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    message = "Chromium is not installed (Debian: apt-get install -y chromium)"
    if env_ci():
        pytest.fail(f"{message}; CI must run the browser test")
    pytest.skip(message)


class Browser:
    """One headless Chromium and one page, spoken to over the DevTools protocol."""

    def __init__(self, executable: str, profile: Path) -> None:
        import websocket  # websocket-client

        self.proc = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/json/list"), timeout=10) as resp:
            targets = json.loads(resp.read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1, uploadThroughput=-1)

    def _recv(self) -> dict[str, Any]:
        msg = json.loads(self.ws.recv())
        if msg.get("method") == "Page.javascriptDialogOpening":
            self.events.append(msg)
            # Close it, or the page (and this test) would hang.
            self.next_id += 1
            self.ws.send(json.dumps({"id": self.next_id, "method": "Page.handleJavaScriptDialog", "params": {"accept": False}}))
        elif "method" in msg:
            self.events.append(msg)
        return msg

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = self._recv()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def open(self, url: str) -> list[dict[str, Any]]:
        """Navigate, wait for the load event and a short settle time; return the events seen."""
        self.events = []
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading")
            self._recv()
        end = time.monotonic() + SETTLE_S
        self.ws.settimeout(0.1)
        try:
            while time.monotonic() < end:
                try:
                    self._recv()
                except Exception:  # websocket timeout: nothing more yet
                    pass
        finally:
            self.ws.settimeout(30)
        return list(self.events)

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.kill()
        self.proc.wait(timeout=10)


def problems(events: list[dict[str, Any]]) -> list[str]:
    """Console errors, uncaught exceptions, non-local requests and dialogs among ``events``."""
    out: list[str] = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if not url.startswith(("file:", "data:", "about:")):
                out.append(f"network request: {url}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(f"console.{p.get('type')}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
        elif method == "Runtime.exceptionThrown":
            out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(f"log error: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif method == "Page.javascriptDialogOpening":
            out.append(f"dialog ({p.get('type')}): {p.get('message')}")
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    exe = _chromium()
    b = Browser(exe, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


def test_detector_catches_what_it_must(browser: Browser, tmp_path: Path) -> None:
    """A bad page trips every alarm: the checks below can fail."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body>"
        "<img src='http://example.invalid/pixel.png'>"
        "<script>console.error('boom'); alert('xss');</script>"
        "<script>undefinedFunction()</script></body></html>",
        encoding="utf-8",
    )
    found = problems(browser.open(bad.as_uri()))
    kinds = {f.split(":")[0].split(" (")[0] for f in found}
    assert {"network request", "console.error", "dialog", "exception"} <= kinds, found


def test_reports_and_index_are_inert_offline(browser: Browser, sample_batch, security_batch, tmp_path_factory) -> None:
    pages: list[Path] = []
    for batch in (sample_batch, security_batch):
        pages.append(batch.out / "index.html")
        pages += sorted(batch.out.glob("*/report.html"))
    assert len(pages) >= 8
    failures = {}
    for page in pages:
        found = problems(browser.open(page.resolve().as_uri()))
        if found:
            failures[str(page)] = found
        # the page really rendered (not an error page): its title is in the document
        title = browser.call("Runtime.evaluate", expression="document.title", returnByValue=True)["result"].get("value")
        assert title, page
    assert failures == {}
    # A first-screen picture for people to look at.
    shots = tmp_path_factory.mktemp("screenshots")
    browser.open((sample_batch.out / "sales-enablement" / "report.html").resolve().as_uri())
    shot = browser.screenshot(shots / "report-first-screen.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    print(f"\nscreenshot of the first screen of a report: {shot}")
