"""The lopsnb nbconvert template: self-contained, escaped, no code, no stderr."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lopsnb.report.export import TEMPLATE_DIR, export_html, failure_page, make_exporter, toc_entries


def _png() -> str:
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def notebook():
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Title\n\n## Executive summary\n\nText.\n\n### Effect & ROI\n\n#### too deep"),
        new_code_cell(
            "SECRET_INPUT_CODE = 42",
            execution_count=1,
            outputs=[
                new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"}),
                new_output("stream", name="stderr", text="STDERR-WARNING-TEXT"),
                new_output("stream", name="stdout", text="visible stdout"),
                new_output("display_data", data={"text/plain": "<script>alert(1)</script>"}),
                new_output("display_data", data={"text/markdown": "## Dynamic section"}),
                new_output("display_data", data={"application/javascript": "alert('js')", "text/plain": "js"}),
                new_output("error", ename="ValueError", evalue="TRACEBACK-TEXT", traceback=["TRACEBACK-TEXT"]),
            ],
        ),
        new_markdown_cell("## Appendix"),
    ]
    nb.metadata["lopsnb"] = {
        "title": "<img src=x onerror=alert(1)>",
        "program_id": "demo",
        "generated_at": "2026-10-02T08:00:00Z",
        "data_as_of": "2026-10-01",
        "version": "0.1.0",
    }
    return nb


def test_report_is_self_contained_and_escaped(notebook) -> None:
    page = export_html(notebook)
    assert page.lstrip().startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()  # no scripts at all, not even inline
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, re.I)
    assert not re.search(r"url\(\s*[\"']?\s*(https?:)?//", page, re.I)
    assert "<link" not in page.lower() and "@import" not in page
    assert "SECRET_INPUT_CODE" not in page and "In&nbsp;[" not in page
    assert "STDERR-WARNING-TEXT" not in page and "TRACEBACK-TEXT" not in page
    assert "visible stdout" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # header: every field present, the title escaped
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    for value in ("demo", "2026-10-02T08:00:00Z", "2026-10-01", "0.1.0"):
        assert value in page
    assert "data:image/png;base64," in page
    assert '<footer class="lp-footer">' in page
    assert "@media print" in page and "break-inside: avoid" in page and 'counter(page) " of " counter(pages)' in page
    # forced page breaks left blank pages in the PDF (issue 15): none
    assert "break-before: page" not in page and "break-after: page" not in page and "page-break-before: always" not in page


def test_toc_lists_h2_and_h3_with_matching_anchors(notebook) -> None:
    entries = toc_entries(notebook)
    assert [(e["level"], e["text"]) for e in entries] == [
        (2, "Executive summary"),
        (3, "Effect & ROI"),
        (2, "Dynamic section"),
        (2, "Appendix"),
    ]
    page = export_html(notebook)
    nav = page[page.index('class="lp-toc"') : page.index("</nav>")]
    for entry in entries:
        anchor = entry["anchor"].replace("&", "&amp;")
        assert f'href="#{anchor}"' in nav
        assert f'id="{anchor}"' in page  # the link lands on the heading
    assert "Effect &amp; ROI" in nav and "too deep" not in nav and ">Title<" not in nav


def test_exporter_is_reusable_and_metadata_optional(notebook) -> None:
    exporter = make_exporter()
    first = export_html(notebook, exporter=exporter)
    notebook.metadata.pop("lopsnb")
    second = export_html(notebook, exporter=exporter, resources_meta={"name": "Fallback <name>"})
    assert "Fallback &lt;name&gt;" in second and "&lt;img" in first
    assert (TEMPLATE_DIR / "lopsnb" / "conf.json").is_file()


def test_failure_page_escapes_everything() -> None:
    page = failure_page("demo", "<b>Demo</b>", "ValueError: <script>x</script>", duration_s=1.26, log_tail="\x1b[31mTraceback <tag>\x1b[0m")
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;b&gt;Demo&lt;/b&gt;" in page and "1.3 s" in page
    assert "Traceback &lt;tag&gt;" in page and "\x1b" not in page
    assert "could not be produced" in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:", page)
