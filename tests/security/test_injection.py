"""User-supplied strings render as text; program ids never become unsafe paths; spreadsheets get no formulas."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from lopsnb.errors import LopsnbError, RunError
from security.kit import PAYLOAD, needs_kernel, program_yml, run, security_workspace


class _Audit(HTMLParser):
    """Collects what a browser would execute or fetch: script tags, on* handlers, external URLs; and the text."""

    ACTIVE = ("script", "iframe", "object", "embed", "base", "link", "form", "svg", "math")
    URL_ATTRS = ("src", "href", "action", "formaction", "srcset", "poster", "xlink:href")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.active: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.ACTIVE:
            self.active.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            # In-page anchors, embedded images and the index's relative report links only.
            if name in self.URL_ATTRS and value is not None and not (value.startswith(("#", "data:image/")) or value.endswith("/report.html")):
                self.urls.append(value)
            if name == "http-equiv":
                self.urls.append(f"meta http-equiv={value}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _audit(page: str) -> _Audit:
    audit = _Audit()
    audit.feed(page)
    audit.close()
    return audit


@needs_kernel
def test_payload_strings_render_as_text_in_report_and_index(security_batch) -> None:
    result = security_batch.result
    assert result.failed == 0, result.summary()
    pages = {pid: (security_batch.out / pid / "report.html").read_text(encoding="utf-8") for pid in ("inject", "formula", "privacy-demo", "tiny")}
    pages["index"] = (security_batch.out / "index.html").read_text(encoding="utf-8")
    for name, page in pages.items():
        audit = _audit(page)
        assert audit.active == [] and audit.handlers == [] and audit.urls == [], (name, audit.active, audit.handlers, audit.urls)
    inject = _audit(pages["inject"])
    text = "".join(inject.text)
    # The name (title, header, summary), metric (tables, headings), item, behavior and comments are shown verbatim as text.
    assert text.count(PAYLOAD) >= 5, text.count(PAYLOAD)
    for k in range(6):
        assert f"{PAYLOAD} #{k}" in text  # comments
    assert html.escape(PAYLOAD, quote=False) in pages["inject"]  # escaped in the source, not just stripped
    assert PAYLOAD in "".join(_audit(pages["index"]).text)
    formula = '=HYPERLINK("http://example.invalid/x","click")'
    assert formula in "".join(_audit(pages["formula"]).text) and formula in "".join(_audit(pages["index"]).text)


@needs_kernel
def test_spreadsheet_exports_keep_names_as_text(security_batch) -> None:
    from openpyxl import load_workbook

    csv = pd.read_csv(security_batch.out / "portfolio.csv", dtype=str, keep_default_na=False)
    names = dict(zip(csv["program_id"], csv["name"], strict=True))
    assert names["formula"] == "'=HYPERLINK(\"http://example.invalid/x\",\"click\")"
    assert names["inject"] == PAYLOAD
    sheet = load_workbook(security_batch.out / "portfolio.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula cell anywhere
    assert "'=HYPERLINK(\"http://example.invalid/x\",\"click\")" in [c.value for c in cells]


@pytest.mark.parametrize("bad", ["../x", "a/b", "/etc", "..", "X", "a\\b", "a\0b", ".hidden"])
def test_unsafe_program_ids_are_rejected_before_any_path(tmp_path: Path, bad: str) -> None:
    ws = security_workspace(tmp_path / "ws")
    out = tmp_path / "deep" / "out"
    with pytest.raises(RunError, match="unknown program id"):
        run(ws, out, programs=[bad])
    assert not (tmp_path / "deep").exists()  # nothing created, inside or outside out
    assert not (tmp_path / "x").exists()


def test_program_file_with_unsafe_id_fails_without_a_folder(tmp_path: Path) -> None:
    ws = security_workspace(tmp_path / "ws")
    # A file stem that is not a slug: the loader refuses its id, the runner builds no path from it.
    (ws / "programs" / "Evil..Name.yml").write_text(program_yml("Evil..Name"), encoding="utf-8")
    out = tmp_path / "out"
    result = run(ws, out, workers=1, programs=["Evil..Name"])
    (outcome,) = result.programs
    assert (outcome.program_id, outcome.status, outcome.report) == ("Evil..Name", "failed", None)
    assert "slug" in (outcome.error or "")
    assert sorted(p.name for p in out.iterdir() if p.name != ".lopsnb-output") == ["index.html", "portfolio.csv", "portfolio.xlsx"]


def test_program_yaml_id_with_a_path_is_a_located_error(tmp_path: Path) -> None:
    from lopsnb.io.workspace import load_workspace

    ws = security_workspace(tmp_path / "ws")
    (ws / "programs" / "tiny.yml").write_text(program_yml("../tiny"), encoding="utf-8")
    with pytest.raises(LopsnbError) as info:
        load_workspace(ws)
    assert "tiny.yml" in str(info.value) and "'id'" in str(info.value)
