"""Reports and the index in a real browser: headless Chromium over the DevTools protocol, networking off.

Each page is opened from ``file://``. The test fails on any console error or
uncaught exception, any request for a URL other than ``file:``/``data:``,
and any JavaScript dialog (which an injected ``alert(...)`` would raise). A
PNG of the first screen of one report is saved to build/screenshots/ for people to look at; its
path is printed (``pytest -s`` shows it).

Chromium is driven with ``websocket-client``; no browser is downloaded. The
test is skipped when Chromium is absent, except in CI (``CI=true``), where a
missing browser is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from security.browser import SCREENSHOTS, Browser, chromium, problems


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    exe = chromium()
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
    browser.open((sample_batch.out / "sales-enablement" / "report.html").resolve().as_uri())
    shot = browser.screenshot(SCREENSHOTS / "report-first-screen.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    print(f"\nscreenshot of the first screen of a report: {shot}")
