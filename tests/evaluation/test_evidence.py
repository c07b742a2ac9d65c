"""Tests of lopsnb.evaluation.evidence.grade_evidence: each rule firing alone.

The reference case is a clean, large did estimate graded "strong" with one
reason (the design). Each test changes exactly one input so exactly one rule
fires, and checks the grade and the reason it adds; boundary values check
the rule does *not* fire at its threshold.
"""

from __future__ import annotations

from typing import Any

import pytest

from lopsnb.evaluation.evidence import GRADES, EvidenceGrade, grade_evidence
from lopsnb.evaluation.methods import ASSUMPTIONS, METHOD_STRENGTH, Estimate


def _est(method: str = "did", *, estimate: float = 10.0, half_width: float = 2.0, n_t: int = 100, n_c: int = 100, strength: str | None = None) -> Estimate:
    return Estimate(
        method=method,
        estimate=estimate,
        std_error=half_width / 1.96,
        ci_low=estimate - half_width,
        ci_high=estimate + half_width,
        p_value=0.001,
        n_treated=n_t,
        n_comparison=n_c,
        strength=strength or METHOD_STRENGTH[method],  # type: ignore[arg-type]
        assumptions=ASSUMPTIONS.get(method, ()),
    )


CLEAN: dict[str, Any] = {
    "baseline_smd": 0.01,
    "pre_trend_p": 0.5,
    "participants": 100,
    "with_outcome": 100,
    "break_even_effect": 5.0,
}


def _grade(primary: Estimate | None = None, design: str = "did", **over: Any) -> EvidenceGrade:
    kw = {**CLEAN, **over}
    return grade_evidence(_est(design) if primary is None else primary, design=design, **kw)


def test_reference_case_is_strong_with_design_reason_only() -> None:
    g = _grade()
    assert g.grade == "strong"
    assert g.reasons[0].startswith("The design (difference-in-differences against a comparison group)")
    assert not any(w in " ".join(g.reasons) for w in ("Small sample", "imbalance", "Pre-trends differ", "Imprecise", "outcome data ("))
    assert g.to_dict() == {"grade": "strong", "reasons": g.reasons}


@pytest.mark.parametrize(("design", "grade"), [("did", "strong"), ("ancova", "strong"), ("post_only", "moderate"),
                                               ("trend", "moderate"), ("before_after", "weak"), ("estimates", "weak")])
def test_start_grade_is_the_design_strength(design: str, grade: str) -> None:
    n_c = 0 if design in ("trend", "before_after", "estimates") else 100
    g = _grade(_est(design, n_c=n_c), design=design)
    assert g.grade == grade
    assert len(g.reasons) >= 1


def test_no_primary_estimate_is_insufficient_with_the_error() -> None:
    g = grade_evidence(None, design="did", primary_error="did: 0 comparison entities", **CLEAN)
    assert g.grade == "insufficient"
    assert "0 comparison entities" in g.reasons[0] and len(g.reasons) == 1
    g = grade_evidence(None, design="did", **CLEAN)
    assert g.grade == "insufficient" and "could not be estimated" in g.reasons[0]


@pytest.mark.parametrize(("n_t", "grade"), [(9, "insufficient"), (10, "moderate")])
def test_fewer_than_ten_participants_is_insufficient(n_t: int, grade: str) -> None:
    g = _grade(_est(n_t=n_t))
    assert g.grade == grade  # 10 is enough for a claim but still a small sample
    if grade == "insufficient":
        assert "Only 9 participating entities" in g.reasons[0] and len(g.reasons) == 1


def test_fewer_than_ten_comparison_entities_is_insufficient_for_comparison_designs_only() -> None:
    for design in ("did", "ancova", "post_only"):
        g = _grade(_est(design, n_c=9), design=design)
        assert g.grade == "insufficient" and "9 comparison entities" in g.reasons[0]
    assert _grade(_est(n_c=10)).grade == "strong"
    # a trend design needs no comparison group
    assert _grade(_est("trend", n_c=0), design="trend").grade == "moderate"


@pytest.mark.parametrize(("n_t", "grade"), [(29, "moderate"), (30, "strong")])
def test_small_sample_caps_at_moderate(n_t: int, grade: str) -> None:
    g = _grade(_est(n_t=n_t), participants=n_t, with_outcome=n_t)
    assert g.grade == grade
    assert any("Small sample" in r for r in g.reasons) == (n_t < 30)


def test_small_sample_does_not_raise_a_weak_design() -> None:
    g = _grade(_est("before_after", n_t=15, n_c=0), design="before_after", participants=15, with_outcome=15)
    assert g.grade == "weak"


@pytest.mark.parametrize(("smd", "grade", "fires"), [(0.26, "moderate", True), (-0.3, "moderate", True), (0.25, "strong", False)])
def test_large_baseline_imbalance_caps_did_at_moderate(smd: float, grade: str, fires: bool) -> None:
    g = _grade(baseline_smd=smd)
    assert g.grade == grade
    assert any("Large baseline imbalance" in r for r in g.reasons) == fires


def test_large_baseline_imbalance_caps_post_only_at_weak() -> None:
    g = _grade(_est("post_only"), design="post_only", baseline_smd=0.3)
    assert g.grade == "weak"
    assert any("Large baseline imbalance" in r for r in g.reasons)


def test_moderate_imbalance_with_post_only_caps_at_moderate() -> None:
    # post_only starts at moderate; give it a "strong" strength so the cap is visible
    g = _grade(_est("post_only", strength="strong"), design="post_only", baseline_smd=0.1)
    assert g.grade == "moderate"
    assert any("a comparison after the program only does not adjust for" in r for r in g.reasons)
    # the same imbalance is adjusted for by did
    g = _grade(baseline_smd=0.1)
    assert g.grade == "strong" and any("adjusted for by the design" in r for r in g.reasons)
    # and within 0.05 post_only is fine
    g = _grade(_est("post_only", strength="strong"), design="post_only", baseline_smd=0.05)
    assert g.grade == "strong"


def test_imbalance_is_ignored_without_a_comparison_design() -> None:
    g = _grade(_est("trend", n_c=0), design="trend", baseline_smd=0.9)
    assert g.grade == "moderate"
    assert not any("SMD" in r for r in g.reasons)


@pytest.mark.parametrize(("p", "grade"), [(0.049, "weak"), (0.05, "strong"), (None, "strong"), (float("nan"), "strong")])
def test_failed_pre_trend_test_caps_at_weak(p: float | None, grade: str) -> None:
    g = _grade(pre_trend_p=p)
    assert g.grade == grade
    assert any("Pre-trends differ" in r for r in g.reasons) == (grade == "weak")


@pytest.mark.parametrize(("half_width", "grade"), [(5.01, "moderate"), (5.0, "strong")])
def test_interval_wider_than_twice_break_even_caps_at_moderate(half_width: float, grade: str) -> None:
    # width = 2 × half_width, break-even 5: fires when width > 10
    g = _grade(_est(half_width=half_width), break_even_effect=5.0)
    assert g.grade == grade
    assert any("twice the break-even effect" in r for r in g.reasons) == (grade == "moderate")


def test_without_monetization_precision_is_judged_against_the_effect() -> None:
    # effect 10: fires when the width exceeds 20
    assert _grade(_est(half_width=9.0), break_even_effect=None).grade == "strong"
    g = _grade(_est(half_width=10.5), break_even_effect=None)
    assert g.grade == "moderate" and any("twice the effect itself" in r for r in g.reasons)
    # a break-even of zero (no costs) also falls back to the effect
    assert _grade(_est(half_width=9.0), break_even_effect=0.0).grade == "strong"


@pytest.mark.parametrize(("with_outcome", "grade"), [(69, "moderate"), (70, "strong")])
def test_low_outcome_coverage_caps_at_moderate(with_outcome: int, grade: str) -> None:
    g = _grade(participants=100, with_outcome=with_outcome)
    assert g.grade == grade
    assert any("participants have outcome data" in r for r in g.reasons) == (grade == "moderate")


def test_caps_never_raise_a_grade_and_combine_to_the_lowest() -> None:
    g = _grade(_est(n_t=20), pre_trend_p=0.01, baseline_smd=0.4, participants=40, with_outcome=20)
    assert g.grade == "weak"
    assert len(g.reasons) == 5  # design + small sample + imbalance + pre-trend + coverage
    assert GRADES == ("strong", "moderate", "weak", "insufficient")


def test_covariate_imbalance_caps_unless_ancova_agrees() -> None:
    from lopsnb.evaluation.evidence import grade_evidence
    from lopsnb.evaluation.methods import ASSUMPTIONS, Estimate

    def est(method: str, e: float, lo: float, hi: float) -> Estimate:
        return Estimate(method=method, estimate=e, std_error=(hi - lo) / 3.92, ci_low=lo, ci_high=hi, p_value=0.001, n_treated=100, n_comparison=200, strength="strong", assumptions=ASSUMPTIONS[method])

    primary = est("did", 10.0, 8.0, 12.0)
    common = dict(design="did", baseline_smd=0.02, pre_trend_p=0.5, participants=100, with_outcome=100, break_even_effect=5.0)
    alone = grade_evidence(primary, covariate_smd={"tenure": 0.4}, **common)
    assert alone.grade == "moderate" and any("tenure" in r for r in alone.reasons)
    confirmed = grade_evidence(primary, covariate_smd={"tenure": 0.4}, adjusted=est("ancova", 9.0, 7.5, 10.5), **common)
    assert confirmed.grade == "strong" and any("agrees" in r for r in confirmed.reasons)
    refuted = grade_evidence(primary, covariate_smd={"tenure": 0.4}, adjusted=est("ancova", 2.0, 1.0, 3.0), **common)
    assert refuted.grade == "moderate"
    balanced = grade_evidence(primary, covariate_smd={"tenure": 0.1}, **common)
    assert balanced.grade == "strong"


@pytest.mark.parametrize(("design", "grade"), [("dr_did", "strong"), ("ipw_did", "strong"), ("reg_did", "strong"), ("weighting", "moderate")])
def test_covariate_designs_start_grade(design: str, grade: str) -> None:
    assert _grade(_est(design), design=design).grade == grade


def test_weighting_is_capped_at_moderate_even_when_labelled_strong() -> None:
    # The cap is a rule of its own, not only the design strength: a weighting
    # estimate can never be graded strong.
    g = _grade(_est("weighting", strength="strong"), design="weighting")
    assert g.grade == "moderate" and any("background variables capture" in r for r in g.reasons)
    assert _grade(_est("dr_did", strength="strong"), design="dr_did").grade == "strong"


def test_weighting_needs_ten_comparison_entities() -> None:
    assert _grade(_est("weighting", n_c=9), design="weighting").grade == "insufficient"
    assert _grade(_est("weighting", n_c=10), design="weighting").grade == "moderate"


def test_covariate_adjusted_primary_confirms_itself_in_the_wording() -> None:
    primary = _est("dr_did")
    g = _grade(primary, design="dr_did", covariate_smd={"tenure": 0.4}, adjusted=primary)
    # dr_did is not subject to the covariate-imbalance rule (it adjusts for them).
    assert g.grade == "strong"


# --------------------------------------------------------------------------- boundaries of the remaining rules


@pytest.mark.parametrize(("smd", "grade"), [(0.05, "strong"), (0.0501, "moderate"), (0.25, "moderate"), (0.2501, "weak")])
def test_post_only_baseline_imbalance_boundaries(smd: float, grade: str) -> None:
    assert _grade(_est("post_only", strength="strong"), design="post_only", baseline_smd=smd).grade == grade


@pytest.mark.parametrize(("smd", "grade"), [(0.25, "strong"), (0.2501, "moderate"), (-0.2501, "moderate")])
def test_covariate_imbalance_boundary(smd: float, grade: str) -> None:
    assert _grade(covariate_smd={"tenure": smd}).grade == grade


@pytest.mark.parametrize(("n_c", "grade"), [(9, "insufficient"), (10, "strong")])
def test_comparison_size_boundary(n_c: int, grade: str) -> None:
    assert _grade(_est(n_c=n_c)).grade == grade


@pytest.mark.parametrize(("adj_high", "grade"), [(8.0, "strong"), (7.99, "moderate")])
def test_ancova_agreement_boundary_is_interval_overlap(adj_high: float, grade: str) -> None:
    # Primary 10 +- 2 (8 .. 12): an adjusted interval reaching 8 overlaps it, one ending at 7.99 does not.
    adjusted = Estimate(method="ancova", estimate=adj_high - 2.0, std_error=1.0, ci_low=adj_high - 4.0, ci_high=adj_high, p_value=0.01, n_treated=100, n_comparison=100, strength="strong", assumptions=())
    assert _grade(covariate_smd={"tenure": 0.4}, adjusted=adjusted).grade == grade
