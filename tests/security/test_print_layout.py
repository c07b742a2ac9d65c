"""The sample index and two reports as a reader gets them: on a wide and a narrow screen, and on paper.

In real headless Chromium (the system's; skipped only when none is installed,
a failure in CI):

* at 1400 px and 420 px no page scrolls sideways (``scrollWidth`` ≤ the
  viewport; the index's wide table scrolls inside its own box), and the
  index's "Why" column is readable (at least 12 rem wide at 1400 px);
* every image has a text alternative that says what it shows and has its key
  number — not nbconvert's placeholder;
* the visible business text (index table, headline tiles, executive summary)
  has no scientific notation;
* headings go h1 → h2 → h3 without skipping, ``<html lang>`` is set, every
  table header cell has a ``scope``;
* printed to PDF, each page has body text (no blank page) and a footer with
  the page's name and "Page N of M".

Screenshots (full page, both widths) are saved to ``build/screenshots/``; the
folder is printed (``pytest -s`` shows it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from security.browser import SCREENSHOTS, Browser, chromium

WIDTHS = (1400, 420)
PLACEHOLDER = "No description has been provided for this image"
#: 1.2e-05, 3E+04: what a spreadsheet shows, not an executive.
SCIENTIFIC = re.compile(r"\b\d+(?:\.\d+)?[eE][+-]?\d+\b")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(chromium(), tmp_path_factory.mktemp("chromium-layout"))
    try:
        yield b
    finally:
        b.close()


def _pages(batch) -> list[Path]:  # noqa: ANN001 - security.conftest.Batch
    pages = [batch.out / "index.html", batch.out / "sales-enablement" / "report.html", batch.out / "safety-compliance" / "report.html"]
    assert all(p.is_file() for p in pages)
    return pages


def _name(page: Path) -> str:
    return "index" if page.name == "index.html" else page.parent.name


def test_no_page_scrolls_sideways(browser: Browser, sample_batch) -> None:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    overflow = {}
    try:
        for width in WIDTHS:
            browser.viewport(width)
            for page in _pages(sample_batch):
                browser.open(page.resolve().as_uri())
                sizes = browser.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                if sizes[0] > sizes[1]:
                    overflow[f"{_name(page)} at {width} px"] = sizes
                browser.screenshot(SCREENSHOTS / f"{_name(page)}-{width}.png", full_page=True)
                if page.name == "index.html" and width == 1400:
                    why = browser.evaluate("Math.min(...[...document.querySelectorAll('td.lp-why')].map(td => td.getBoundingClientRect().width))")
                    assert why >= 12 * 16, f"the index's Why column is {why} px wide"
                    box = browser.evaluate("[document.querySelector('.lp-scroll').scrollWidth, document.querySelector('.lp-scroll').clientWidth]")
                    assert box[0] <= box[1], f"the index table does not fit 1400 px: {box}"
    finally:
        browser.viewport(1280)
    print(f"\nscreenshots of the index and two reports at {' and '.join(map(str, WIDTHS))} px: {SCREENSHOTS}")
    assert overflow == {}


def test_the_overflow_check_can_fail(browser: Browser, tmp_path: Path) -> None:
    wide = tmp_path / "wide.html"
    wide.write_text("<!DOCTYPE html><html lang='en'><head><meta name='viewport' content='width=device-width'></head>"
                    "<body><div style='width:900px'>x</div></body></html>", encoding="utf-8")
    browser.viewport(420)
    try:
        browser.open(wide.as_uri())
        width, client = browser.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    finally:
        browser.viewport(1280)
    assert width > client


_IMAGES = "[...document.images].map(i => [i.getAttribute('alt') || '', i.naturalWidth])"


def test_every_image_says_what_it_shows(browser: Browser, sample_batch) -> None:  # noqa: ANN001
    bad = {}
    seen = 0
    for page in _pages(sample_batch)[1:]:
        browser.open(page.resolve().as_uri())
        for alt, natural_width in browser.evaluate(_IMAGES):
            seen += 1
            assert natural_width > 0, f"an image of {page} did not load"
            if PLACEHOLDER in alt or len(alt) < 40 or not re.search(r"\d", alt) or SCIENTIFIC.search(alt):
                bad.setdefault(_name(page), []).append(alt)
    assert seen >= 12
    assert bad == {}


def test_business_text_has_no_scientific_notation(browser: Browser, sample_batch) -> None:  # noqa: ANN001
    found = {}
    for page in _pages(sample_batch):
        browser.open(page.resolve().as_uri())
        text = browser.evaluate(
            "[...document.querySelectorAll('table.lp-portfolio, .lopsnb-tiles, .lopsnb-summary, .lp-header')].map(e => e.innerText).join('\\n')")
        assert text.strip(), page
        hits = SCIENTIFIC.findall(text)
        if hits:
            found[_name(page)] = hits
    assert found == {}
    assert SCIENTIFIC.findall("p = 1.99e-64 and 3E+04") == ["1.99e-64", "3E+04"]


_STRUCTURE = """JSON.stringify({
  lang: document.documentElement.lang,
  headings: [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter(h => h.offsetParent !== null).map(h => +h.tagName[1]),
  unscoped: [...document.querySelectorAll('th')].filter(th => !th.getAttribute('scope')).map(th => th.textContent.trim()),
})"""


def test_headings_language_and_table_headers(browser: Browser, sample_batch) -> None:  # noqa: ANN001
    for page in _pages(sample_batch):
        browser.open(page.resolve().as_uri())
        info = json.loads(browser.evaluate(_STRUCTURE))
        assert info["lang"] == "en", page
        levels = info["headings"]
        assert levels[0] == 1 and levels.count(1) == 1, (page, levels)
        skips = [(a, b) for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
        assert skips == [], (page, skips)
        assert info["unscoped"] == [], page


def test_printed_pages_have_text_and_a_footer(sample_batch, tmp_path: Path) -> None:  # noqa: ANN001
    from pypdf import PdfReader

    from lopsnb.runner.printing import print_pages

    exe = chromium()
    pages = _pages(sample_batch)
    outcome = print_pages(pages, browser=exe)
    assert outcome.errors == {} and len(outcome.written) == 3
    counts = {}
    for page, pdf in zip(pages, outcome.written, strict=True):
        assert pdf == page.with_suffix(".pdf")
        reader = PdfReader(str(pdf))
        counts[_name(page)] = len(reader.pages)
        title = "Training portfolio" if page.name == "index.html" else json.loads((page.parent / "results.json").read_text())["program"]["name"]
        for number, p in enumerate(reader.pages, start=1):
            flat = " ".join((p.extract_text() or "").split())
            assert f"Page {number} of {len(reader.pages)}" in flat, (pdf, number)
            assert f"lopsnb · {title}" in flat, (pdf, number)
            body = flat.replace(f"Page {number} of {len(reader.pages)}", "")
            # A page of charts has little text but its images: blank means neither.
            assert len(body) > 200 or len(p.images) > 0, f"page {number} of {pdf} is (nearly) blank: {flat!r}"
        if page.name == "index.html":
            assert float(reader.pages[0].mediabox.width) > float(reader.pages[0].mediabox.height)  # landscape: the table fits
            assert "Why" in (reader.pages[0].extract_text() or "")
    print(f"\nPDF page counts: {counts}")
    assert 1 <= counts["index"] <= 4 and all(4 <= n <= 20 for k, n in counts.items() if k != "index")
