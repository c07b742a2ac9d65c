"""lopsnb.fmt: the one set of number formats of business text."""

from __future__ import annotations

import math
import re

import pytest

from lopsnb import fmt as F

SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
EDGES = [0.0, 1.0, -1.0, 1e-9, -1e-9, 1e-4, 0.00105, 0.5, 22.5, 254.7, 999.5, 1234.5, 1e6, 1.5e7, 1e9, -3.4e9, 1e12, 1e15, 1e20,
         1e300, math.nan, math.inf, -math.inf, None]


@pytest.mark.parametrize("value", EDGES)
def test_never_scientific_notation(value) -> None:
    texts = [F.number(value), F.number(value, signed=True), F.money(value, "USD"), F.money(value, "SEK", signed=True),
             F.percent(value), F.share_pct(value), F.pp(value), F.pvalue(value), F.payback(value, 12),
             F.probability(value), F.measure(value, "USD per month"), F.effect(value, "share"), F.interval(value, value, "days")]
    for text in texts:
        assert not SCIENTIFIC.search(text), text


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, None, True, "12"])
def test_not_a_number_is_a_dash(value) -> None:
    assert F.number(value) == F.money(value, "USD") == F.percent(value) == F.pp(value) == F.pvalue(value) == "—"


@pytest.mark.parametrize(("value", "kw", "text"), [
    (2000, {}, "2,000"),
    (2000.0, {}, "2,000"),
    (22.5, {}, "22.5"),
    (0.00105, {}, "0.00105"),
    (1216.4, {}, "1,216"),
    (3.0, {"signed": True}, "+3"),
    (-22.5, {"signed": True}, "-22.5"),
    (1.22e6, {}, "1.22 million"),
    (3.4e9, {}, "3.4 billion"),
    (1e-9, {}, "≈ 0"),
    (5.0, {"unit": "days"}, "5 days"),
])
def test_number(value, kw, text) -> None:
    assert F.number(value, **kw) == text


@pytest.mark.parametrize(("value", "currency", "kw", "text"), [
    (1216.4, "USD", {}, "$1,216"),
    (-3400, "EUR", {}, "-€3,400"),
    (55173.2, "USD", {"signed": True}, "+$55,173"),
    (1234567.8, "GBP", {}, "£1,234,568"),
    (1220, "SEK", {}, "SEK 1,220"),
    (0.25, "USD", {}, "$0.25"),
    (0, "USD", {"signed": True}, "$0"),
    (1220, None, {}, "1,220"),
])
def test_money(value, currency, kw, text) -> None:
    assert F.money(value, currency, **kw) == text


def test_shares_percent_and_points() -> None:
    assert F.share_pct(0.873) == "87%"
    assert F.share_pct(0.0512) == "5.1%"
    assert F.pp(0.021) == "+2.1 percentage points"
    assert F.pp(-0.01) == "-1 percentage point"
    assert F.percent(-95.2) == "-95%"
    assert F.percent(-8.4) == "-8.4%"
    assert F.measure(0.9, "share") == "90%" and F.effect(0.00105, "share") == "+0.1 percentage points"


def test_pvalue() -> None:
    assert F.pvalue(1.99e-64) == "p < 0.001"
    assert F.pvalue(0.0042) == "p = 0.004"
    assert F.pvalue(0.034) == "p = 0.03"
    assert F.pvalue(0.5) == "p = 0.50"


@pytest.mark.parametrize(("months", "horizon", "text"), [
    (10.49, 12, "10.5 months"),
    (254.7, 12, "not reached within the horizon (12 months)"),
    (None, 12, "not reached within the horizon (12 months)"),
    (math.inf, None, "not reached within the horizon"),
    (-3.0, 12, "not reached within the horizon (12 months)"),
    (12.0, 12, "12 months"),
])
def test_payback(months, horizon, text) -> None:
    assert F.payback(months, horizon) == text


def test_probability_never_a_bare_100_percent() -> None:
    assert F.probability(1.0) == "over 99%"
    assert F.probability(0.0) == "under 1%"
    assert F.probability(0.81) == "81%"
    text = F.probability(1.0, modelled=False, basis="participants' own estimates")
    assert "100" not in text and text == "not modelled (rests on participants' own estimates)"


def test_money_units_and_intervals() -> None:
    assert F.measure(1216, "USD per rep per month") == "$1,216 per rep per month"
    assert F.effect(1216, "USD per month") == "+$1,216 per month"
    assert F.effect(1216, "SEK per month", currency="SEK") == "+SEK 1,216 per month"
    assert F.effect(-22.5, "days") == "-22.5 days"
    assert F.interval(1142, 1290, "USD per month") == "between +$1,142 and +$1,290 per month"
    assert F.interval(-26.0, -18.9, "days") == "between -26 and -18.9 days"
