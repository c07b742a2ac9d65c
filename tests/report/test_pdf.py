"""Printing pages to PDF (``lopsnb.report.pdf``, ``lopsnb pdf``, ``run --pdf``), the print footer and header scopes.

Stand-in browsers (small shell scripts) check the error paths without a real
browser; the tests marked ``chromium`` print with the system's Chromium and
read the PDF back with pypdf (page count, text on every page, the footer with
the page's name and "Page N of M").
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from lopsnb import cli
from lopsnb.errors import PdfError, RunError
from lopsnb.report.page import add_header_scope, css_string, print_footer_css, render_page
from lopsnb.report.pdf import BROWSER_ENV, find_browser, html_to_pdf, pdf_path
from lopsnb.runner.printing import print_pages
from security.browser import chromium


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _page(tmp_path: Path, title: str = "Sales Enablement Bootcamp", paragraphs: int = 3) -> Path:
    from markupsafe import Markup

    from lopsnb.report.export import report_css

    body = Markup("".join(f"<h2>Section {i}</h2><p>{'Evidence of impact. ' * 60}</p>" for i in range(paragraphs)))
    page = tmp_path / "report.html"
    page.write_text(render_page(kicker="Training impact report", title=title, meta=[("Program", "x")], body=body, footer=["f"],
                                css=report_css()), encoding="utf-8")
    return page


# ----------------------------------------------------------------- no browser needed


def test_no_browser_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: nothing to find
    monkeypatch.delenv(BROWSER_ENV, raising=False)
    with pytest.raises(PdfError, match="no Chromium or Chrome found.*apt-get install chromium") as info:
        find_browser()
    assert isinstance(info.value, RunError)
    monkeypatch.setenv(BROWSER_ENV, str(tmp_path / "missing-chrome"))
    with pytest.raises(PdfError, match=f"missing-chrome.*{BROWSER_ENV}"):
        find_browser()


def test_cli_pdf_without_browser_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = _page(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    monkeypatch.delenv(BROWSER_ENV, raising=False)
    assert cli.main(["pdf", str(page)]) == 1
    assert "no Chromium or Chrome found" in capsys.readouterr().err
    assert not pdf_path(page).exists()


def test_run_pdf_without_browser_fails_before_any_program(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lopsnb.runner.batch import run_batch

    monkeypatch.setenv(BROWSER_ENV, str(tmp_path / "missing-chrome"))
    with pytest.raises(PdfError):
        run_batch(tmp_path / "no-workspace", out=tmp_path / "out", pdf=True, progress=False)
    assert not (tmp_path / "out").exists()


def test_failed_browser_leaves_the_old_pdf_and_no_partial_file(tmp_path: Path) -> None:
    page = _page(tmp_path)
    target = pdf_path(page)
    target.write_bytes(b"%PDF-old")
    broken = _script(tmp_path, "broken-chrome", "echo 'GPU process crashed' >&2; exit 3")
    with pytest.raises(PdfError, match="(?s)status 3.*GPU process crashed"):
        html_to_pdf(page, browser=broken)
    silent = _script(tmp_path, "silent-chrome", "exit 0")
    with pytest.raises(PdfError, match="wrote no PDF"):
        html_to_pdf(page, browser=silent)
    assert target.read_bytes() == b"%PDF-old"
    assert sorted(p.name for p in tmp_path.iterdir() if ".part" in p.name) == []


def test_stuck_browser_is_stopped(tmp_path: Path) -> None:
    stuck = _script(tmp_path, "stuck-chrome", "exec sleep 600")
    with pytest.raises(PdfError, match="did not finish within 1 s"):
        html_to_pdf(_page(tmp_path), browser=stuck, timeout=1)


def test_missing_page_and_folder_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PdfError, match="is not a file"):
        html_to_pdf(tmp_path / "absent.html", browser="sh")
    with pytest.raises(PdfError, match="does not exist"):
        html_to_pdf(_page(tmp_path), tmp_path / "no" / "such" / "out.pdf", browser="sh")


def test_print_pages_records_failures_and_goes_on(tmp_path: Path) -> None:
    fake = _script(tmp_path, "fake-chrome", 'for a in "$@"; do case "$a" in --print-to-pdf=*) printf "%%PDF-1.4" > "${a#--print-to-pdf=}";; esac; done')
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    good = _page(tmp_path / "a")
    bad = tmp_path / "b" / "report.html"  # not written: left out
    outcome = print_pages([good, bad, good], browser=fake)
    assert outcome.written == [pdf_path(good)] and outcome.errors == {}
    broken = _script(tmp_path, "broken-chrome", "exit 1")
    outcome = print_pages([good], browser=broken)
    assert outcome.written == [] and list(outcome.errors) == [good]


def test_footer_label_cannot_break_out_of_css() -> None:
    hostile = '</style><script>alert(1)</script>"; } body { display: none'
    css = str(print_footer_css(hostile))
    assert "<" not in css and '";' not in css.split("content: ", 1)[1][1:-5]
    assert css.startswith('@page { @bottom-left { content: "lopsnb ') and css.endswith('"; } }')
    assert str(css_string("Q3 (2026), A-Z")) == '"Q3 (2026), A-Z"'


def test_header_cells_get_a_scope() -> None:
    page = "<table><thead><tr><th>A</th><th scope='colgroup'>B</th></tr></thead><tbody><tr><th class='x'>r</th><td>1</td></tr></tbody></table>"
    out = add_header_scope(page)
    assert '<th scope="col">A</th>' in out and "<th scope='colgroup'>B</th>" in out and '<th scope="row" class=\'x\'>r</th>' in out


def test_every_page_head_carries_its_print_footer(tmp_path: Path) -> None:
    html = _page(tmp_path, title="Safety <Refresher>").read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    footer = re.search(r'<style media="print">\s*(@page \{ @bottom-left \{ content: "[^"]*"; \} \})', html)
    assert footer and "Safety \\3c Refresher\\3e " in footer.group(1)


# ----------------------------------------------------------------- real Chromium


def _pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


def test_real_chromium_prints_a_footer_on_every_page(tmp_path: Path) -> None:
    exe = chromium()
    page = _page(tmp_path, paragraphs=12)
    out = html_to_pdf(page, browser=exe)
    assert out == tmp_path / "report.pdf" and out.read_bytes()[:5] == b"%PDF-"
    texts = _pdf_pages(out)
    assert len(texts) >= 2
    for number, text in enumerate(texts, start=1):
        flat = " ".join(text.split())
        assert f"Page {number} of {len(texts)}" in flat, flat[:200]
        assert "lopsnb · Sales Enablement Bootcamp" in flat
        assert "Evidence of impact" in flat  # no blank page: every page has body text
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []


def test_cli_pdf_writes_the_chosen_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exe = chromium()
    page = _page(tmp_path)
    target = tmp_path / "copy.pdf"
    assert cli.main(["pdf", str(page), "-o", str(target), "--browser", exe]) == 0
    assert f"Wrote {target}" in capsys.readouterr().out
    assert target.read_bytes()[:5] == b"%PDF-" and not pdf_path(page).exists()


def test_run_flags_reach_the_batch() -> None:
    args = cli.build_parser().parse_args(["run", "ws", "--pdf"])
    assert args.pdf is True
    assert cli.build_parser().parse_args(["run", "ws"]).pdf is False
    assert cli.build_parser().parse_args(["demo", "--pdf"]).pdf is True
