"""WCAG 2.1 AA basics that need no browser: colour contrast of the palette, chart text alternatives, the template.

The browser-side checks (heading order, ``lang``, header scopes, alt text on
the rendered pages) are in ``tests/security/test_print_layout.py``.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd
import pytest

from lopsnb.report import alt
from lopsnb.report.export import report_css
from lopsnb.report.plots import plain_number

CSS = report_css()
VARS = dict(re.findall(r"--lp-([a-z]+):\s*(#[0-9a-fA-F]{6})", CSS))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey


@pytest.mark.parametrize("text", ["ink", "muted", "primary", "accent", "scale", "sustain", "fix", "retire", "failed"])
@pytest.mark.parametrize("background", ["paper", "surface"])
def test_text_colours_meet_aa_on_every_background(text: str, background: str) -> None:
    assert contrast(VARS[text], VARS[background]) >= 4.5, (text, background)


@pytest.mark.parametrize("badge", ["scale", "sustain", "fix", "retire", "failed"])
def test_white_badge_text_meets_aa(badge: str) -> None:
    assert re.search(rf"\.lp-badge[^{{]*\.{badge}\b[^{{]*\{{ background: var\(--lp-{badge}\)", CSS) or badge == "failed"
    assert contrast(VARS[badge], "#ffffff") >= 4.5, badge


@pytest.mark.parametrize(("value", "expected"), [(0.000012, "0.000012"), (-0.00347, "-0.00347"), (1216.02, "1,216"), (23.69, "23.7"), (0.0, "0")])
def test_chart_numbers_never_use_scientific_notation(value: float, expected: str) -> None:
    assert plain_number(value) == expected
    assert "e" not in alt.number(value)


def _ev() -> SimpleNamespace:
    estimates = pd.DataFrame({"method": ["did", "before_after"], "label": ["Difference-in-differences", "Before/after"],
                              "estimate": [412.0, 900.0], "ci_low": [120.0, 800.0], "ci_high": [700.0, 1000.0], "primary": [True, False]})
    series = pd.DataFrame({"period": ["2026-01-01"] * 2, "group": ["participants", "comparison"], "mean": [1.0, 2.0], "suppressed": [False, False]})
    impact = SimpleNamespace(unit="USD", outcome="revenue_per_rep", series=series, to_frame=lambda: estimates)
    roi = SimpleNamespace(break_even_effect=150.0)
    labels = {"revenue_per_rep": SimpleNamespace(label="revenue per rep")}
    return SimpleNamespace(impact=impact, roi=roi, program=SimpleNamespace(launch="2026-03-01", metric_label=labels.__getitem__))


def test_alt_texts_say_what_and_the_key_number() -> None:
    ev = _ev()
    trend = alt.trend_alt(ev)
    assert "revenue per rep" in trend and "comparison group" in trend and "+412 USD" in trend and "95% CI +120 to +700 USD" in trend
    forest = alt.forest_alt(ev)
    assert "2 method(s)" in forest and "revenue per rep" in forest and "Difference-in-differences" in forest and "break-even effect +150 USD" in forest
    ev.impact.series = ev.impact.series[ev.impact.series["group"] == "participants"]
    assert "projected" in alt.trend_alt(ev, counterfactual=True)


def _alts(page: str) -> list[str]:
    from html.parser import HTMLParser

    found: list[str] = []

    class Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                found.append(dict(attrs).get("alt") or "")

    Images().feed(page)
    return found


def test_template_writes_the_alt_text_escaped() -> None:
    import nbformat

    from lopsnb.report.export import export_html

    nb = nbformat.v4.new_notebook()
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    out = nbformat.v4.new_output("display_data", data={"image/png": png}, metadata={"image/png": {"alt": 'Effect "+412" <b>USD</b>'}})
    bare = nbformat.v4.new_output("display_data", data={"image/png": png})
    nb.cells = [nbformat.v4.new_markdown_cell("# Title line\n\n## Section"), nbformat.v4.new_code_cell("x", outputs=[out, bare])]
    page = export_html(nb)
    assert "<b>USD</b>" not in page  # the markup stays text
    assert _alts(page) == ['Effect "+412" <b>USD</b>', "Chart (no description was provided)"]
    assert "No description has been provided" not in page
    assert page.count("<h1") == 1 and "Title line" not in page.split("</header>", 1)[1]  # the header's h1 is the only one
