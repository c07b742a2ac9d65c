"""lopsnb.report.sections on its own: formatting, escaping, and what each section claims."""

from __future__ import annotations

import dataclasses
import re
import math

import pandas as pd
import pytest

from conftest import SAMPLE
from lopsnb._result import NotEstimated
from lopsnb import evaluate, load_workspace
from lopsnb.report import sections as s


@pytest.fixture(scope="module")
def ws():
    return load_workspace(SAMPLE)


@pytest.fixture(scope="module")
def strong(ws):
    return evaluate(ws, "sales-enablement")


@pytest.fixture(scope="module")
def insufficient(ws):
    return evaluate(ws, "ai-assistant-pilot")


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        ((1234.5,), {}, "1,234"),  # >= 1000: no decimals (banker's rounding of .5 is fine: a display)
        ((12.34, "USD"), {}, "12.3 USD"),
        ((0.01234,), {}, "0.0123"),
        ((3.0,), {"signed": True}, "+3"),
        ((-12.5,), {"pct": True, "signed": True}, "-12%"),
        ((math.nan,), {}, "—"),
        ((None,), {}, "—"),
        ((True,), {}, "—"),  # a bool is not a number to show
        ((5.0, "<b>"), {}, "5 &lt;b&gt;"),
    ],
)
def test_fmt(args, kwargs, text) -> None:
    assert s.fmt(*args, **kwargs) == text


def test_money_and_escaping() -> None:
    assert s.money(1234567.8, "EUR") == "€1,234,568"
    assert s.money(1234567.8, "SEK") == "SEK 1,234,568"  # no symbol: the code
    assert s.money(float("inf"), "EUR") == "—"
    assert s.esc('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"


def test_table_escapes_cells_and_formats_numbers() -> None:
    html = s.table(pd.DataFrame({"name": ["<script>", None], "n": [1500.0, math.nan]}), columns={"name": "Name", "n": "Count"})
    assert "<th>Name</th><th>Count</th>" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "<td class='num'>1,500</td>" in html and html.count("<td>—</td>") == 2
    assert s.table(pd.DataFrame()) == "<p><em>No rows.</em></p>"


def test_summary_states_effect_roi_and_grade(strong) -> None:
    html = s.executive_summary(strong)
    assert f"grade-{strong.evidence.grade}'>{strong.evidence.grade}</strong>" in html
    assert strong.evidence.grade in {"strong", "moderate"}
    assert f"an ROI of {s.fmt(strong.roi.roi_pct, pct=True)}" in html and "not a claim" not in html
    assert f"the ROI is <strong>{s.fmt(strong.roi.conservative_roi_pct, pct=True)}</strong>" in html  # the conservative figure


def test_a_credible_null_is_not_read_as_an_effect(ws, strong) -> None:
    # time-management: moderate evidence whose 95% interval includes zero (truth.json: a true effect of 0).
    null = evaluate(ws, "time-management")
    e = null.impact.primary
    assert null.evidence.grade == "moderate" and e.ci_low <= 0 <= e.ci_high
    how = s._evidence_par(null)
    assert "it does not tell an effect apart from zero" in how and "likely" not in how
    assert strong.impact.primary.ci_low > 0 and "apart from zero" not in s._evidence_par(strong)


def test_insufficient_evidence_never_shows_roi_as_a_claim(insufficient) -> None:
    # The decision layer withholds the ROI itself: no figure reaches any section.
    assert insufficient.evidence.grade == "insufficient" and not insufficient.roi
    assert insufficient.roi_reason.startswith("not claimed")
    html = s.executive_summary(insufficient) + s.tiles(insufficient) + s.roi_summary(insufficient)
    assert "not claimed" in html
    assert not re.search(r"ROI[^<]{0,12}-?\d+(\.\d+)? ?%", html)
    roi_tile = s.tiles(insufficient).split("<div class='tile-label'>ROI</div>")[1]
    assert roi_tile.startswith("<div class='tile-value'>—</div>")


def test_program_name_is_escaped_everywhere(strong) -> None:
    evil = dataclasses.replace(strong, program=strong.program.model_copy(update={"name": "<img src=x onerror=alert(1)>"}))
    html = s.executive_summary(evil)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_missing_roi_says_why(strong) -> None:
    no_roi = dataclasses.replace(strong, roi=NotEstimated(reason="the program file has no monetization section"))
    assert "ROI was not computed: the program file has no monetization section." in s.executive_summary(no_roi)
    assert s.roi_summary(no_roi) == s.not_measured("Level 5 ROI", "the program file has no monetization section")


def test_chain_table_has_one_row_per_chain_level(strong) -> None:
    html = s.chain_table(strong)
    assert html.count("<tr class='status-") == len(strong.chain)


def test_suppress_series_marks_small_groups() -> None:
    series = pd.DataFrame({"period": ["2026-01", "2026-02"], "group": ["participants"] * 2, "mean": [1.0, 2.0], "n": [4, 5]})
    assert s.suppress_series(series, 5)["suppressed"].tolist() == [True, False]
    assert "suppressed" in s.suppress_series(series.iloc[0:0], 5).columns
