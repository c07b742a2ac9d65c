"""lopsnb.io.labels: metric labels and grammatical unit phrases."""

from __future__ import annotations

import pytest

from lopsnb.io.labels import metric_label, rate_unit, readable
from lopsnb.io.programs import MetricRef


@pytest.mark.parametrize(("metric", "text"), [("revenue_per_rep", "revenue per rep"), ("time-to-productivity", "time to productivity"),
                                              ("win__rate", "win rate"), ("nps", "nps")])
def test_readable(metric: str, text: str) -> None:
    assert readable(metric) == text


@pytest.mark.parametrize(("unit", "per", "text"), [
    ("USD per month", "rep", "USD per rep per month"),
    ("tickets per month", "analyst", "tickets per analyst per month"),
    ("USD per rep per month", "rep", "USD per rep per month"),  # already says it
    ("incidents per 100 workers per month", "team", "incidents per 100 workers per month"),  # counts per something else
    ("days", "team", "days"),  # a level, not a flow
    ("share", "rep", "share"),
    (None, "rep", None),
])
def test_rate_unit(unit, per, text) -> None:
    assert rate_unit(unit, per) == text


def test_metric_label_from_refs_or_fallback() -> None:
    refs = [MetricRef(metric="revenue_per_rep", label="Revenue per account executive", per="rep", unit="USD per month"),
            {"metric": "win_rate", "unit": "share"}]
    lab = metric_label("revenue_per_rep", refs)
    assert (lab.label, lab.rate_unit) == ("Revenue per account executive", "USD per rep per month")
    win = metric_label("win_rate", refs)
    assert (win.label, win.unit, win.per) == ("win rate", "share", "participant")
    team = metric_label("tickets", [], entity="org_unit", unit="tickets per month")
    assert (team.label, team.rate_unit) == ("tickets", "tickets per team per month")


def test_label_must_not_be_empty() -> None:
    with pytest.raises(ValueError):
        MetricRef(metric="x", label="")
