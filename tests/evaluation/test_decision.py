"""The decision rule (lopsnb.evaluation.decision), one rule at a time at its boundary values."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from lopsnb._result import NotEstimated
from lopsnb.evaluation.decision import NOT_ENOUGH_EVIDENCE, decide, withhold_roi
from lopsnb.evaluation.evidence import EvidenceGrade
from lopsnb.evaluation.methods import Estimate
from lopsnb.evaluation.roi import RoiResult, costs_complete, phillips_roi


@pytest.fixture(scope="module")
def base_roi() -> RoiResult:
    """A real Phillips ROI (effect 10 +- 4, 20 entities, 12 periods, cost 1,000)."""
    costs = pd.DataFrame({"category": ["delivery"], "amount": [1000.0]})
    return phillips_roi(effect=10.0, std_error=2.0, ci_low=6.0, ci_high=14.0, direction="increase", value_per_unit=1.0,
                        periods_per_year=12, horizon_years=1, n_entities=20, costs=costs, isolation_method="did", n_draws=2000)


def roi(base: RoiResult, pct: float | None, low: float | None, high: float | None, break_even: float | None = 5.0) -> RoiResult:
    interval = None if low is None else (low, high)
    return dataclasses.replace(base, roi_pct=pct, roi_interval=interval, break_even_effect=break_even)  # type: ignore[arg-type]


def est(value: float = 10.0, low: float = 6.0, high: float = 14.0) -> Estimate:
    return Estimate(method="did", estimate=value, std_error=2.0, ci_low=low, ci_high=high, p_value=0.001, n_treated=40, n_comparison=40, strength="strong", assumptions=())


def grade(g: str) -> EvidenceGrade:
    return EvidenceGrade(grade=g, reasons=[f"reason for {g}."])  # type: ignore[arg-type]


def test_base_roi_is_real(base_roi: RoiResult) -> None:
    # 10 x 1 x 12 x 20 = 2,400 benefits against 1,000 costs: ROI 140 %.
    assert base_roi.roi_pct == pytest.approx(140.0)


@pytest.mark.parametrize(
    ("g", "low", "action"),
    [
        ("strong", 0.01, "scale"),
        ("moderate", 0.01, "scale"),
        ("strong", 0.0, "sustain"),  # boundary: the low end must be strictly above 0
        ("moderate", -0.01, "sustain"),
        ("weak", 50.0, "sustain"),  # weak evidence is never scale, however high the interval
    ],
)
def test_scale_needs_strong_or_moderate_evidence_and_interval_above_zero(base_roi, g, low, action) -> None:
    d = decide(evidence=grade(g), roi=roi(base_roi, 140.0, low, 300.0), primary=est())
    assert d.action == action
    if g == "weak":
        assert "weak" in d.reason and "strong or moderate" in d.reason


@pytest.mark.parametrize(("pct", "action"), [(0.01, "sustain"), (0.0, "fix"), (-0.01, "fix")])
def test_sustain_needs_a_positive_point_roi(base_roi, pct, action) -> None:
    # Interval includes 0 and the favourable CI bound (14) reaches break-even (5): no retire.
    d = decide(evidence=grade("moderate"), roi=roi(base_roi, pct, -50.0, 60.0), primary=est())
    assert d.action == action


@pytest.mark.parametrize(
    ("ci_high", "action"),
    [(4.99, "retire"), (5.0, "fix"), (5.01, "fix")],  # break-even effect 5: only a CI strictly below it rules it out
)
def test_retire_when_the_effect_ci_excludes_break_even(base_roi, ci_high, action) -> None:
    d = decide(evidence=grade("strong"), roi=roi(base_roi, -10.0, -60.0, 30.0), primary=est(2.0, 0.0, ci_high))
    assert d.action == action
    if action == "retire":
        assert d.rule == "retire_effect" and "break-even" in d.reason


@pytest.mark.parametrize(("ci_low", "action"), [(-4.99, "retire"), (-5.0, "fix"), (-5.01, "fix")])
def test_retire_for_a_decrease_outcome_uses_the_lower_bound(base_roi, ci_low, action) -> None:
    # Break-even -5: the favourable bound of a decrease outcome is the CI's low end.
    d = decide(evidence=grade("weak"), roi=roi(base_roi, -20.0, -60.0, 30.0, break_even=-5.0),
               primary=est(-1.0, ci_low, 1.0), direction="decrease")
    assert d.action == action


@pytest.mark.parametrize(("high", "action"), [(-0.01, "retire"), (0.0, "fix")])
def test_retire_when_the_whole_roi_interval_is_below_zero(base_roi, high, action) -> None:
    # The effect CI (up to 6) reaches break-even: only the ROI interval can retire.
    d = decide(evidence=grade("strong"), roi=roi(base_roi, -40.0, -70.0, high), primary=est(2.0, -1.0, 6.0))
    assert d.action == action


def test_log_outcomes_never_compare_the_ci_with_break_even(base_roi) -> None:
    d = decide(evidence=grade("strong"), roi=roi(base_roi, -10.0, -60.0, 30.0), primary=est(0.01, 0.0, 0.02), transform="log")
    assert d.action == "fix"


@pytest.mark.parametrize("low", [-90.0, 5.0])
def test_insufficient_evidence_is_always_fix_and_never_shows_roi(base_roi, low) -> None:
    g = EvidenceGrade(grade="insufficient", reasons=["Only 6 participating entities with outcome data."])
    r = roi(base_roi, 140.0 if low > 0 else -80.0, low, -5.0 if low < 0 else 200.0)
    shown = withhold_roi(r, evidence=g, costs_note=None)
    assert isinstance(shown, NotEstimated) and not shown and shown.withheld
    assert shown.reason.startswith("not claimed") and "Only 6" in shown.reason
    d = decide(evidence=g, roi=shown, primary=est())
    assert (d.action, d.rule) == ("fix", "insufficient_evidence")
    assert d.reason.startswith(NOT_ENOUGH_EVIDENCE) and "Only 6" in d.reason


def test_withhold_keeps_a_sufficient_roi_and_an_existing_reason(base_roi) -> None:
    assert withhold_roi(base_roi, evidence=grade("weak"), costs_note=None) is base_roi
    missing = NotEstimated(reason="no monetization")
    assert withhold_roi(missing, evidence=grade("insufficient"), costs_note=None) is missing  # never computed: its own reason
    assert not missing.withheld and missing.status == "not measured"


def test_incomplete_costs_withhold_the_roi_and_decide_fix(base_roi) -> None:
    shown = withhold_roi(base_roi, evidence=grade("strong"), costs_note="only participant time")
    assert shown == NotEstimated(reason="not claimed: costs incomplete (only participant time)", withheld=True)
    assert shown.status == "not claimed"
    d = decide(evidence=grade("strong"), roi=shown, primary=est())
    assert (d.action, d.rule) == ("fix", "no_roi") and "costs incomplete" in d.reason


def test_zero_cost_roi_is_fix(base_roi) -> None:
    d = decide(evidence=grade("strong"), roi=roi(base_roi, None, None, None), primary=est())
    assert (d.action, d.rule) == ("fix", "no_roi") and "zero total cost" in d.reason


@pytest.mark.parametrize(
    ("rows", "complete"),
    [
        ([], False),
        ([("participant_time", 500.0)], False),
        ([("participant_time", 500.0), ("delivery", 0.0)], False),  # a zero line is not a cost
        ([("participant_time", 500.0), ("delivery", 0.01)], True),
        ([("materials", 10.0)], True),
    ],
)
def test_costs_complete_boundaries(rows, complete) -> None:
    frame = pd.DataFrame(rows, columns=["category", "amount"])
    assert (costs_complete(frame) is None) is complete


def test_decision_to_dict(base_roi) -> None:
    d = decide(evidence=grade("strong"), roi=base_roi, primary=est())
    assert d.to_dict() == {"action": d.action, "reason": d.reason, "rule": d.rule}
    with pytest.raises(TypeError):
        type(d)("scale", "x", "scale")  # type: ignore[misc]  # keyword-only


# --------------------------------------------------------------------------- end to end through evaluate()


def test_insufficient_pilot_shows_no_roi_anywhere() -> None:
    # Sample program ai-assistant-pilot: 6 participants; a positive point ROI was once shown as "measured" + SUSTAIN.
    import re

    from conftest import SAMPLE
    from lopsnb import evaluate
    from lopsnb.report import sections

    ev = evaluate(SAMPLE, "ai-assistant-pilot")
    assert ev.evidence.grade == "insufficient" and not ev.roi
    assert ev.decision is not None and (ev.decision.action, ev.decision.rule) == ("fix", "insufficient_evidence")
    row = ev.chain.set_index("level").loc["5 ROI"]
    assert row["status"] == "not claimed" and pd.isna(row["value"]) and "not enough evidence to decide" in row["note"]
    d = ev.to_dict()
    assert d["roi"]["available"] is False and d["roi"]["reason"].startswith("not claimed")
    assert d["decision"]["action"] == "fix"
    for text in (ev.summary(), sections.executive_summary(ev), sections.tiles(ev), sections.chain_table(ev), sections.roi_summary(ev)):
        assert not re.search(r"ROI[^.]{0,40}\d+(\.\d+)? ?%", text), text
    assert "Level 5 ROI: not claimed." in sections.roi_summary(ev)
    summary = sections.executive_summary(ev)
    assert "not claimed" in summary and "<strong>Recommendation: fix, then measure again</strong> <span class='action'>(fix)</span>" in summary


def test_no_costs_table_is_costs_incomplete_not_fully_loaded(make_workspace, capsys) -> None:
    from evaluation import synth_workspace as synth
    from lopsnb import evaluate
    from lopsnb.cli import main

    root = make_workspace(program=synth.program("month"), **{**synth.tables("month"), "costs": None})
    ev = evaluate(root, "demo")
    assert ev.evidence.grade in ("strong", "moderate")  # the evidence would allow a decision ...
    assert not ev.roi and ev.roi_reason is not None and ev.roi_reason.startswith("not claimed: costs incomplete")
    assert ev.decision is not None and (ev.decision.action, ev.decision.rule) == ("fix", "no_roi")  # ... the costs do not
    actions = [a.action for a in ev.audit]
    assert not any("fully loaded" in a for a in actions) and any(a.startswith("costs incomplete") for a in actions)
    assert not any("%" in a and "ROI" in a for a in actions)
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "warning: program demo: costs table (not supplied), column 'category': found no cost rows besides participant time" in out


def test_post_only_coverage_counts_the_followup_only(make_workspace) -> None:
    from evaluation import synth_workspace as synth
    from lopsnb import evaluate

    t = synth.tables("month")
    k = t["kpis"]
    treated = k["entity_id"].isin(t["enrollments"]["person_id"])
    t["kpis"] = k[~(treated & (pd.to_datetime(k["period"]) < "2012-07-01"))]  # participants have no baseline data
    prog = synth.program("month", also="[]").replace("design: did", "design: post_only")
    ev = evaluate(make_workspace(program=prog, **t), "demo")
    assert ev.impact and "post_only" in ev.impact.estimates
    assert not any("have outcome data" in r for r in ev.evidence.reasons), ev.evidence.reasons
    # did on the same data would need both windows: coverage 0 of 20
    ev_did = evaluate(make_workspace(program=synth.program("month", also="[]"), **t), "demo")
    assert ev_did.evidence.grade == "insufficient"


def test_explorer_shows_no_roi_for_the_insufficient_pilot() -> None:
    import re

    from conftest import SAMPLE
    from lopsnb import load_workspace
    from lopsnb.ui.widgets import Explorer

    ex = Explorer(load_workspace(SAMPLE), "ai-assistant-pilot", debounce=0)
    assert ex.error is None and "not claimed" in ex.roi.value and "Recommendation: fix" in ex.roi.value
    assert not re.search(r"ROI \d", ex.roi.value)
