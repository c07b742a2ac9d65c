"""Frequencies week, month, quarter and year end to end: absolute and offset windows, DiD, staggered cohorts, trend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaluation import synth_workspace as synth
from lopsnb import evaluate, load_workspace
from lopsnb.cli import main
from lopsnb.evaluation.panel import build_panel, period_gaps, period_index

FREQUENCIES = ["week", "month", "quarter", "year"]


def test_period_index_is_consecutive_for_every_frequency() -> None:
    for f in FREQUENCIES:
        idx = period_index(pd.Series(synth.periods(f, 30)), f).to_numpy()
        assert list(idx[1:] - idx[:-1]) == [1] * 29, f
    # Boundaries: the last day of a period and the first day of the next.
    pairs = {"week": ("2024-01-07", "2024-01-08"), "month": ("2024-01-31", "2024-02-01"),
             "quarter": ("2024-03-31", "2024-04-01"), "year": ("2024-12-31", "2025-01-01")}
    for f, (a, b) in pairs.items():
        i = period_index(pd.Series(pd.to_datetime([a, b])), f)
        assert int(i.iloc[1] - i.iloc[0]) == 1, f


@pytest.mark.parametrize("frequency", FREQUENCIES)
def test_did_with_absolute_windows_matches_statsmodels(frequency: str, make_workspace: Callable[..., Path]) -> None:
    ws = load_workspace(make_workspace(program=synth.program(frequency), **synth.tables(frequency)))
    ev = evaluate(ws, "demo")
    did = ev.impact.estimates["did"]  # type: ignore[union-attr]
    assert (did.n_treated, did.n_comparison) == (20, 20)
    # Independent check: OLS with entity and period dummies on the same windowed panel.
    obs = build_panel(ws, ws.program("demo")).obs.dropna(subset=["window"])
    obs = obs.assign(d=(obs["treated"] & obs["post"]).astype(float))
    ols = smf.ols("value ~ d + C(entity_id) + C(pidx)", data=obs).fit()
    assert did.estimate == pytest.approx(ols.params["d"], abs=1e-6)
    assert did.ci_low < 10.0 < did.ci_high
    assert "trend" in ev.impact.estimates, ev.impact.failures  # type: ignore[union-attr]
    es = ev.impact.event_study  # type: ignore[union-attr]
    assert es is not None and set(es["kind"]) == {"placebo", "effect"}
    assert not ev.impact.failures  # type: ignore[union-attr]


@pytest.mark.parametrize("frequency", FREQUENCIES)
def test_staggered_cohorts_with_offset_windows(frequency: str, make_workspace: Callable[..., Path]) -> None:
    ws = make_workspace(program=synth.program(frequency, staggered=True), **synth.tables(frequency, staggered=True))
    ev = evaluate(ws, "demo")
    assert "did" in ev.impact.estimates, ev.impact.failures  # type: ignore[union-attr]
    did = ev.impact.estimates["did"]  # type: ignore[union-attr]
    assert did.details["n_cohorts"] == 2 and did.ci_low < 10.0 < did.ci_high
    es = ev.impact.event_study  # type: ignore[union-attr]
    assert es is not None and {-3, 0, 2} <= set(es["relative_period"])


def test_annual_kpis_with_a_monthly_frequency_name_the_setting_not_internal_columns(make_workspace: Callable[..., Path]) -> None:
    ws = make_workspace(program=synth.program("month", staggered=True, kpi_frequency="year"), **synth.tables("month", staggered=True, kpi_frequency="year"))
    ev = evaluate(ws, "demo")
    why = ev.impact.failures["did"]  # type: ignore[union-attr]
    assert "evaluation.frequency: year" in why and "pidx" not in why and "2012-01-01" in why
    assert ev.evidence.grade == "insufficient" and ev.decision.action == "fix"  # type: ignore[union-attr]
    assert "pidx" not in " ".join(ev.evidence.reasons)


def test_period_gaps_boundaries() -> None:
    monthly = pd.Series(synth.periods("month", 6))
    assert period_gaps(monthly, "month", metric="m") is None
    assert "add the missing periods" not in (period_gaps(monthly.drop(3), "month", metric="m") or "")
    assert "a kpis row in every period" in period_gaps(monthly.drop(3), "month", metric="m")  # type: ignore[operator]
    assert "evaluation.frequency: quarter" in period_gaps(pd.Series(synth.periods("quarter", 6)), "month", metric="m")  # type: ignore[operator]
    assert period_gaps(pd.Series(synth.periods("quarter", 6)), "quarter", metric="m") is None


def test_validate_warns_on_a_misplaced_window(make_workspace: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    # The followup starts before anyone completed: every participant is excluded.
    root = make_workspace(program=synth.program("month", followup_start=5).replace("end: 2012-06-01", "end: 2012-05-01"),
                          **synth.tables("month"))
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "evaluation.followup.start" in x)
    assert line.startswith("warning: program demo:") and str(root / "programs" / "demo.yml") in line
    assert "found 2012-06-01: 20 of 20 participants completed on or after it" in line and "expected a followup start after" in line
    ev = evaluate(root, "demo")
    why = ev.impact.failures["did"]  # type: ignore[union-attr]
    assert "all 20 participants completed on or after the followup began" in why and "evaluation.followup.start" in why


def test_validate_warns_on_frequency_and_periods_per_year(make_workspace: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    root = make_workspace(program=synth.program("month", periods_per_year=4), **synth.tables("month", kpi_frequency="quarter"))
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "column 'evaluation.frequency': found 'month'; kpis rows of metric 'revenue' not observed every month" in out
    assert "expected evaluation.frequency: quarter" in out
    assert "column 'monetization.periods_per_year': found 4 with evaluation.frequency 'month'; expected 12" in out


def test_validate_is_quiet_on_a_sound_design(make_workspace: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(make_workspace(program=synth.program("quarter"), **synth.tables("quarter")))]) == 0
    assert "Design checks: no warnings." in capsys.readouterr().out


@pytest.mark.parametrize("staggered", [False, True])
def test_explorer_with_yearly_kpis(staggered: bool, make_workspace: Callable[..., Path]) -> None:
    from lopsnb.ui.widgets import Explorer

    ws = load_workspace(make_workspace(program=synth.program("year", staggered=staggered), **synth.tables("year", staggered=staggered)))
    ex = Explorer(ws, "demo", debounce=0)
    assert ex.error is None and ex.result is not None and "did" in ex.result.impact.estimates  # type: ignore[union-attr]
    assert ex.current_program().evaluation.frequency == "year" and ex.diff() == ""
    assert "Recommendation:" in ex.roi.value


@pytest.mark.parametrize(("ppy", "logged"), [(1, False), (12, True)])
def test_periods_per_year_mismatch_is_logged(ppy: float, logged: bool, make_workspace: Callable[..., Path]) -> None:
    ev = evaluate(make_workspace(program=synth.program("year", periods_per_year=ppy), **synth.tables("year")), "demo")
    assert ev.roi
    assert any("periods_per_year 12 differs from the 1 periods per year of evaluation.frequency 'year'" in a.action for a in ev.audit) is logged
