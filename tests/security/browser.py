"""Headless Chromium over the DevTools protocol, for the browser tests (no browser is downloaded).

:class:`Browser` starts the system's Chromium (``chromium``, ``chromium-browser``,
``google-chrome``) with networking off and a private profile; :func:`chromium`
skips the calling test when none is installed, except in CI (``CI=true``),
where a missing browser is a failure. :func:`problems` lists console errors,
exceptions, dialogs and non-local requests among the events a page raised.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from security.kit import ROOT, env_ci

__all__ = ["CANDIDATES", "FLAGS", "Browser", "chromium", "problems", "SCREENSHOTS"]

#: Where the browser tests save pictures for reviewers (gitignored ``build/``).
SCREENSHOTS = ROOT / "build" / "screenshots"

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps", "--mute-audio",
    # No request may leave the machine even if a page tried: every host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--window-size=1280,900", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
]
SETTLE_S = 0.7  # after the load event: late console messages, lazy images


def chromium() -> str:
    """Path of the system's Chromium, or skip (fail in CI) when there is none."""
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

    def screenshot(self, path: Path, *, full_page: bool = False, max_height: int = 12000) -> Path:
        """Save a PNG of the viewport (``full_page``: of the page, cut at ``max_height`` CSS pixels)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            width, height = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": width, "height": min(height, max_height), "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def viewport(self, width: int, height: int = 900) -> None:
        """Lay pages out as a window ``width`` CSS pixels wide (mobile layout below 600 px)."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=width < 600)

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
