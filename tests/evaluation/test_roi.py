"""Tests of lopsnb.evaluation.roi (Phillips ROI, Level 5).

Published arithmetic comes from Phillips' ROI Methodology worked examples
(J. J. Phillips & P. P. Phillips, ROI Institute; "Return on Investment in
Training and Performance Improvement Programs"): the figures are quoted in the
lopsnb design brief and checked here with the textbook formulas
BCR = benefits / costs, ROI % = (benefits - costs) / costs x 100,
payback = costs / (annual benefits / 12).  Everything else is checked against
an independent computation (scipy / statistics / hand arithmetic).
"""

from __future__ import annotations

import json
import math
import statistics

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from lopsnb.errors import EvaluationError  # noqa: E402
from lopsnb.evaluation.roi import (  # noqa: E402
    COST_CATEGORIES,
    PRINCIPLES,
    AuditEntry,
    adjust_estimates,
    bcr,
    fully_loaded_costs,
    payback_months,
    phillips_roi,
    roi_pct,
)


def _costs(total: float = 10_000.0) -> pd.DataFrame:
    return pd.DataFrame({"category": ["delivery", "design_development"], "amount": [0.6 * total, 0.4 * total]})


def _base(**overrides: object) -> dict:
    kw: dict = dict(
        effect=10.0,
        std_error=2.0,
        ci_low=6.08,
        ci_high=13.92,
        direction="increase",
        value_per_unit=5.0,
        periods_per_year=12,
        horizon_years=1,
        n_entities=40,
        costs=_costs(),
        isolation_method="difference-in-differences vs eligible non-participants",
    )
    kw.update(overrides)
    return kw


# --------------------------------------------------------------------------- #
# Published Phillips arithmetic
# --------------------------------------------------------------------------- #
def test_published_bcr_and_roi() -> None:
    # Phillips worked example: benefits $1,077,321, fully-loaded costs $754,165
    # -> BCR 1.43 (1.43:1) and ROI 42.8 %.
    assert round(bcr(1_077_321, 754_165), 2) == 1.43
    assert round(roi_pct(1_077_321, 754_165), 1) == 42.8
    # The two are distinct quantities: ROI % = (BCR - 1) x 100.
    assert roi_pct(1_077_321, 754_165) == pytest.approx((bcr(1_077_321, 754_165) - 1) * 100, rel=1e-12)


def test_published_payback() -> None:
    # Phillips worked example: annual benefits $81,500 vs costs $15,000 -> payback 2.2 months.
    assert round(payback_months(81_500, 15_000), 1) == 2.2
    assert payback_months(81_500, 15_000) == pytest.approx(15_000 / (81_500 / 12), rel=1e-12)


def test_published_confidence_adjustment() -> None:
    # Phillips participant-estimate example: estimates totalling $336,000 per
    # month at an average confidence of 70 % adjust to $235,200.  Equal claims
    # with confidences averaging 0.7 make Σ improvement x confidence = 336,000 x 0.7.
    est = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "improvement": [84_000.0] * 4,
            "attribution": [1.0] * 4,
            "confidence": [0.6, 0.8, 0.7, 0.7],
        }
    )
    adj = adjust_estimates(est, participants=4)
    assert adj.total_improvement == pytest.approx(336_000)
    assert adj.total_adjusted == pytest.approx(235_200, rel=1e-12)
    assert adj.n_excluded == 0
    assert adj.effect == pytest.approx(235_200 / 4)
    assert {a.principle for a in adj.audit} == {"GP6", "GP7", "GP8"}


def test_principles_complete() -> None:
    assert list(PRINCIPLES) == [f"GP{i}" for i in range(1, 13)]
    assert all(isinstance(v, str) and v for v in PRINCIPLES.values())


# --------------------------------------------------------------------------- #
# Edge cases of the arithmetic
# --------------------------------------------------------------------------- #
def test_zero_cost_is_undefined_not_divided() -> None:
    assert roi_pct(100.0, 0.0) is None
    assert bcr(100.0, 0.0) is None
    assert payback_months(0.0, 100.0) is None
    assert payback_months(-5.0, 100.0) is None

    zero = pd.DataFrame({"category": ["delivery"], "amount": [0.0]})
    res = phillips_roi(**_base(costs=zero))
    assert res.costs == 0
    assert res.roi_pct is None and res.bcr is None and res.payback_months is None
    assert res.roi_interval is None and res.prob_positive is None
    assert res.benefits == pytest.approx(10 * 5 * 12 * 40)
    assert any("ROI undefined: zero total cost" in a.action for a in res.audit)
    d = res.to_dict()
    assert d["roi_pct"] is None and d["roi_interval"] == [None, None]
    json.dumps(d)  # JSON-serialisable despite the undefined figures
    res.plot_tornado()
    plt.close("all")


# --------------------------------------------------------------------------- #
# phillips_roi
# --------------------------------------------------------------------------- #
def test_point_figures_by_hand() -> None:
    res = phillips_roi(**_base())
    annual = 10 * 5 * 12 * 40  # 24,000
    assert res.annual_benefits == pytest.approx(annual)
    assert res.benefits == pytest.approx(annual)
    assert res.costs == pytest.approx(10_000)
    assert res.net_benefit == pytest.approx(annual - 10_000)
    assert res.roi_pct == pytest.approx((annual - 10_000) / 10_000 * 100)
    assert res.bcr == pytest.approx(annual / 10_000)
    assert res.payback_months == pytest.approx(10_000 / (annual / 12))
    # Break-even: effect e with e x 5 x 12 x 40 = 10,000.
    assert res.break_even_effect == pytest.approx(10_000 / (5 * 12 * 40))


def test_horizon_and_gp9_audit() -> None:
    res2 = phillips_roi(**_base(horizon_years=2))
    assert res2.benefits == pytest.approx(2 * res2.annual_benefits)
    gp9 = [a.action for a in res2.audit if a.principle == "GP9"]
    assert gp9 and "benefits beyond year 1 counted" in gp9[0] and "long-term" in gp9[0]
    res1 = phillips_roi(**_base())
    assert [a.action for a in res1.audit if a.principle == "GP9"] == ["first-year benefits only"]


def test_audit_principles_and_passed_entries() -> None:
    passed = AuditEntry("GP6", "3 non-respondents counted as zero improvement")
    res = phillips_roi(**_base(intangibles=["customer satisfaction", "teamwork"], audit=[passed]))
    principles = [a.principle for a in res.audit]
    assert res.audit[0] == passed
    for gp in ("GP4", "GP5", "GP9", "GP10", "GP11"):
        assert gp in principles
    gp5 = next(a.action for a in res.audit if a.principle == "GP5")
    assert "difference-in-differences" in gp5
    gp11 = next(a.action for a in res.audit if a.principle == "GP11")
    assert "customer satisfaction" in gp11
    # Intangibles are listed beside the ROI and do not change it.
    plain = phillips_roi(**_base())
    assert res.intangibles == ("customer satisfaction", "teamwork")
    assert res.roi_pct == plain.roi_pct and res.benefits == plain.benefits


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"value_range": (4.0, 6.0)},
        {"effect": 1.0, "ci_low": -2.0, "ci_high": 4.0, "value_range": (4.0, 6.0)},
        {"effect": -1.0, "ci_low": -3.0, "ci_high": 1.0, "value_range": (2.0, 9.0)},
        # A loss at the point estimate: the HIGH unit value is the least favourable one.
        {"effect": -1.0, "ci_low": -1.01, "ci_high": 0.0, "value_range": (0.5, 5.0)},
        {"direction": "decrease", "effect": -3.0, "ci_low": -5.0, "ci_high": -1.0, "value_range": (4.0, 5.5)},
    ],
)
def test_conservative_roi_not_above_point(overrides: dict) -> None:
    res = phillips_roi(**_base(**overrides))
    assert res.conservative_roi_pct <= res.roi_pct + 1e-9
    assert any(a.principle == "GP4" for a in res.audit)


def test_conservative_roi_by_hand() -> None:
    res = phillips_roi(**_base(value_range=(4.0, 6.0)))
    # GP4: lower CI bound 6.08 and low unit value 4.
    b = 6.08 * 4.0 * 12 * 40
    assert res.conservative_roi_pct == pytest.approx((b - 10_000) / 10_000 * 100)


def test_decrease_direction_signs() -> None:
    # Outcome is e.g. defects per month: the program REDUCES it by 3 units (a gain).
    kw = _base(direction="decrease", effect=-3.0, std_error=1.0, ci_low=-5.0, ci_high=-1.0)
    res = phillips_roi(**kw)
    assert res.annual_benefits == pytest.approx(3 * 5 * 12 * 40)
    assert res.benefits > 0
    # Break-even is direction-signed: a reduction of C / (v x ppy x n) units.
    assert res.break_even_effect == pytest.approx(-10_000 / (5 * 12 * 40))
    # Conservative: the CI bound least favourable to a reduction is the upper one (-1).
    assert res.conservative_roi_pct == pytest.approx((1 * 5 * 12 * 40 - 10_000) / 10_000 * 100)
    # An increase of a "decrease-is-good" outcome is a loss.
    worse = phillips_roi(**_base(direction="decrease", effect=3.0, ci_low=1.0, ci_high=5.0))
    assert worse.benefits == pytest.approx(-3 * 5 * 12 * 40)
    assert worse.payback_months is None


def test_log_transform_conversion() -> None:
    kw = _base(effect=0.1, std_error=0.02, ci_low=0.06, ci_high=0.14, transform="log", baseline_level=200.0)
    res = phillips_roi(**kw)
    units = (math.exp(0.1) - 1) * 200.0  # 21.034 units per entity per period
    assert res.annual_benefits == pytest.approx(units * 5 * 12 * 40, rel=1e-12)
    # Break-even stays in outcome units, not on the log scale.
    assert res.break_even_effect == pytest.approx(10_000 / (5 * 12 * 40))
    cons_units = (math.exp(0.06) - 1) * 200.0
    assert res.conservative_roi_pct == pytest.approx((cons_units * 5 * 12 * 40 - 10_000) / 100, rel=1e-12)
    with pytest.raises(EvaluationError, match="baseline_level"):
        phillips_roi(**_base(effect=0.1, std_error=0.02, ci_low=0.06, ci_high=0.14, transform="log"))


def test_monte_carlo_deterministic_and_matches_closed_form() -> None:
    kw = _base(n_draws=20000, seed=7)
    a = phillips_roi(**kw)
    b = phillips_roi(**kw)
    assert a.roi_interval == b.roi_interval and a.prob_positive == b.prob_positive
    c = phillips_roi(**_base(n_draws=20000, seed=8))
    assert c.roi_interval != a.roi_interval
    # ROI is linear in the effect: ROI ~ Normal(point, k x se / C x 100), k = v x ppy x n x h.
    k = 5 * 12 * 40
    sd = k * 2.0 / 10_000 * 100
    lo, hi = stats.norm.ppf([0.025, 0.975], loc=a.roi_pct, scale=sd)
    assert a.roi_interval[0] == pytest.approx(lo, rel=0.01)
    assert a.roi_interval[1] == pytest.approx(hi, rel=0.01)
    assert a.prob_positive == pytest.approx(stats.norm.sf(0, loc=a.roi_pct, scale=sd), abs=0.01)


def test_monte_carlo_with_value_range_and_log_stays_deterministic() -> None:
    kw = _base(
        effect=0.1, std_error=0.02, ci_low=0.06, ci_high=0.14, transform="log", baseline_level=200.0,
        value_range=(4.0, 6.0), seed=11,
    )
    a, b = phillips_roi(**kw), phillips_roi(**kw)
    assert a.roi_interval == b.roi_interval
    assert a.roi_interval[0] < a.roi_pct < a.roi_interval[1]
    assert 0.0 <= a.prob_positive <= 1.0


def test_tornado_by_direct_recomputation() -> None:
    res = phillips_roi(**_base(value_range=(4.0, 7.0)))
    C = 10_000.0

    def roi(e: float, v: float, c: float, n: float, h: float) -> float:
        return (e * v * 12 * n * h - c) / c * 100

    expected = {
        "effect": (6.08, 13.92, roi(6.08, 5, C, 40, 1), roi(13.92, 5, C, 40, 1)),
        "value_per_unit": (4.0, 7.0, roi(10, 4, C, 40, 1), roi(10, 7, C, 40, 1)),
        "costs": (0.8 * C, 1.2 * C, roi(10, 5, 0.8 * C, 40, 1), roi(10, 5, 1.2 * C, 40, 1)),
        "participants": (36.0, 44.0, roi(10, 5, C, 36, 1), roi(10, 5, C, 44, 1)),
        "horizon_years": (0.8, 1.2, roi(10, 5, C, 40, 0.8), roi(10, 5, C, 40, 1.2)),
    }
    t = res.tornado
    assert list(t.columns) == ["factor", "low_input", "high_input", "roi_low", "roi_high"]
    assert set(t["factor"]) == set(expected)
    for row in t.itertuples():
        lo_in, hi_in, r_lo, r_hi = expected[row.factor]
        assert row.low_input == pytest.approx(lo_in)
        assert row.high_input == pytest.approx(hi_in)
        assert row.roi_low == pytest.approx(r_lo, rel=1e-9)
        assert row.roi_high == pytest.approx(r_hi, rel=1e-9)
    swings = {f: abs(v[3] - v[2]) for f, v in expected.items()}
    assert list(t["factor"]) == sorted(swings, key=lambda f: -swings[f])
    # Sanity: with these inputs the effect CI dominates, costs beat participants.
    assert t["factor"].iloc[0] == "effect"


def test_tornado_value_default_band() -> None:
    res = phillips_roi(**_base())
    row = res.tornado.set_index("factor").loc["value_per_unit"]
    assert row["low_input"] == pytest.approx(4.0) and row["high_input"] == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"value_per_unit": -1.0}, "value_per_unit"),
        ({"n_entities": -1}, "n_entities"),
        ({"direction": "up"}, "direction"),
        ({"transform": "sqrt"}, "transform"),
        ({"isolation_method": "  "}, "isolation_method"),
        ({"isolation_method": ""}, "isolation_method"),
        ({"transform": "log"}, "baseline_level"),
        ({"ci_low": 11.0}, "ci_low"),
        ({"value_range": (6.0, 7.0)}, "value_range"),
        ({"std_error": -1.0}, "std_error"),
        ({"costs": pd.DataFrame({"category": ["travel"], "amount": [1.0]})}, "unknown category"),
    ],
)
def test_invalid_inputs_raise(overrides: dict, match: str) -> None:
    with pytest.raises(EvaluationError, match=match):
        phillips_roi(**_base(**overrides))


def test_to_frame_to_dict_and_labels() -> None:
    res = phillips_roi(**_base(value_range=(4.0, 6.0), intangibles=["engagement"]))
    frame = res.to_frame()
    assert list(frame.columns) == ["metric", "value", "unit"]
    by = frame.set_index("metric")
    assert by.loc["roi_pct", "value"] == pytest.approx(res.roi_pct)
    assert by.loc["bcr", "value"] == pytest.approx(res.bcr)
    # Never label a BCR as ROI.
    assert "roi" not in by.loc["bcr", "unit"].lower()
    d = res.to_dict()
    assert set(d) == {
        "benefits", "annual_benefits", "costs", "net_benefit", "roi_pct", "bcr", "payback_months",
        "break_even_effect", "roi_interval", "prob_positive", "conservative_roi_pct", "costs_by_category",
        "tornado", "intangibles", "isolation_method", "audit",
    }
    assert d["roi_interval"] == [pytest.approx(res.roi_interval[0]), pytest.approx(res.roi_interval[1])]
    assert d["audit"][0].keys() == {"principle", "action"}
    assert d["costs_by_category"][0]["category"] == "design_development"  # canonical order
    json.dumps(d)
    assert "Phillips ROI" in res.summary() and "<table" in res._repr_html_()


def test_plots_return_axes() -> None:
    res = phillips_roi(**_base())
    ax = res.plot()
    assert len(ax.patches) == len(res.costs_by_category) + 2  # benefits, categories, net
    ax2 = res.plot_tornado()
    assert len(ax2.patches) == len(res.tornado)
    assert ax2.get_xlabel() == "ROI (%)"
    plt.close("all")


# --------------------------------------------------------------------------- #
# fully_loaded_costs
# --------------------------------------------------------------------------- #
def test_fully_loaded_costs_prorate_and_participant_time() -> None:
    costs = pd.DataFrame(
        {
            "program_id": ["p1"] * 4,
            "category": ["overhead", "delivery", "design_development", "delivery"],
            "amount": [10_000.0, 4_000.0, 6_000.0, 1_000.0],
            "prorate_share": [0.1, np.nan, 0.5, 1.0],
            "description": ["shared LMS", "trainer", "shared design", "room"],
        }
    )
    hours = pd.DataFrame({"hours": [8.0, 8.0, 16.0, 8.0], "hourly_cost": [50.0, 40.0, 30.0, np.nan]})
    frame, audit = fully_loaded_costs(costs, participant_hours=hours)
    assert list(frame.columns) == ["category", "amount", "share"]
    assert list(frame["category"]) == ["design_development", "delivery", "participant_time", "overhead"]
    amounts = frame.set_index("category")["amount"]
    assert amounts["design_development"] == pytest.approx(3_000.0)
    assert amounts["delivery"] == pytest.approx(5_000.0)  # NaN share -> 1
    assert amounts["overhead"] == pytest.approx(1_000.0)
    assert amounts["participant_time"] == pytest.approx(8 * 50 + 8 * 40 + 16 * 30)  # 1,200
    assert frame["share"].sum() == pytest.approx(1.0)
    assert frame["share"].iloc[0] == pytest.approx(3_000 / 10_200)
    text = " | ".join(a.action for a in audit)
    assert all(a.principle == "GP10" for a in audit)
    assert "1 row(s) without hourly_cost" in text
    assert "prorate_share applied to 2" in text


def test_existing_participant_time_line_wins() -> None:
    costs = pd.DataFrame({"category": ["participant_time", "delivery"], "amount": [700.0, 300.0]})
    hours = pd.DataFrame({"hours": [10.0], "hourly_cost": [99.0]})
    frame, audit = fully_loaded_costs(costs, participant_hours=hours)
    assert frame.set_index("category")["amount"]["participant_time"] == pytest.approx(700.0)
    assert any("not counted twice" in a.action for a in audit)
    # The fully-loaded frame feeds phillips_roi directly.
    res = phillips_roi(**_base(costs=frame))
    assert res.costs == pytest.approx(1_000.0)


def test_fully_loaded_costs_without_hours_is_flagged_and_validated() -> None:
    costs = pd.DataFrame({"category": ["delivery"], "amount": [500.0]})
    frame, audit = fully_loaded_costs(costs, participant_hours=None)
    assert list(frame["category"]) == ["delivery"]
    assert any("understated" in a.action for a in audit)
    for bad in (
        pd.DataFrame({"category": ["travel"], "amount": [1.0]}),
        pd.DataFrame({"category": ["delivery"], "amount": [-1.0]}),
        pd.DataFrame({"category": ["delivery"], "amount": [1.0], "prorate_share": [1.5]}),
        pd.DataFrame({"program_id": ["a", "b"], "category": ["delivery"] * 2, "amount": [1.0, 1.0]}),
    ):
        with pytest.raises(EvaluationError):
            fully_loaded_costs(bad, participant_hours=None)
    # Raw rows with prorate_share must be loaded first, never passed to phillips_roi.
    with pytest.raises(EvaluationError, match="fully_loaded_costs"):
        phillips_roi(**_base(costs=pd.DataFrame({"category": ["delivery"], "amount": [1.0], "prorate_share": [0.5]})))
    assert set(COST_CATEGORIES) >= set(frame["category"])


# --------------------------------------------------------------------------- #
# adjust_estimates
# --------------------------------------------------------------------------- #
def test_gp6_nonrespondents_count_as_zero_with_t_interval() -> None:
    est = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "improvement": [10.0, 20.0, 15.0, 12.0],
            "attribution": [0.5, 0.8, 0.6, 1.0],
            "confidence": [0.9, 0.5, 0.8, 0.7],
        }
    )
    adj = adjust_estimates(est, participants=10)
    vals = np.array([10 * 0.5 * 0.9, 20 * 0.8 * 0.5, 15 * 0.6 * 0.8, 12 * 1.0 * 0.7] + [0.0] * 6)
    assert adj.n_nonrespondents == 6 and adj.n_respondents == 4
    assert adj.effect == pytest.approx(vals.mean(), rel=1e-12)
    assert adj.std_error == pytest.approx(stats.sem(vals), rel=1e-12)
    lo, hi = stats.t.interval(0.95, df=9, loc=vals.mean(), scale=stats.sem(vals))
    assert adj.ci_low == pytest.approx(lo, rel=1e-9) and adj.ci_high == pytest.approx(hi, rel=1e-9)
    gp6 = next(a.action for a in adj.audit if a.principle == "GP6")
    assert gp6.startswith("6 non-respondent")
    json.dumps(adj.to_dict())


def test_gp8_extreme_claim_excluded() -> None:
    improvements = [10.0, 12.0, 11.0, 9.0, 13.0, 10.0, 500.0]
    est = pd.DataFrame(
        {
            "person_id": list("abcdefg"),
            "improvement": improvements,
            "attribution": [1.0] * 7,
            "confidence": [1.0] * 7,
        }
    )
    adj = adjust_estimates(est, participants=8)
    # Independent fence: statistics.quantiles 'inclusive' = linear interpolation.
    q1, _, q3 = statistics.quantiles(improvements, n=4, method="inclusive")
    fence = q3 + 3 * (q3 - q1)
    assert adj.fence == pytest.approx(fence)
    assert adj.n_excluded == 1
    assert adj.adjusted.loc[adj.adjusted["excluded"], "person_id"].tolist() == ["g"]
    assert adj.total_excluded == pytest.approx(500.0)
    assert adj.total_adjusted == pytest.approx(sum(improvements[:-1]))
    assert adj.effect == pytest.approx(sum(improvements[:-1]) / 8)
    assert any(a.principle == "GP8" and "1 extreme claim" in a.action for a in adj.audit)
    # A moderately high claim below the far-out fence is kept.
    kept = adjust_estimates(est.assign(improvement=improvements[:-1] + [20.0]), participants=8)
    assert kept.n_excluded == 0


def test_adjust_estimates_validation() -> None:
    good = pd.DataFrame({"improvement": [1.0], "attribution": [0.5], "confidence": [0.5]})
    with pytest.raises(EvaluationError, match="participants"):
        adjust_estimates(good, participants=0)
    with pytest.raises(EvaluationError, match="respondents"):
        adjust_estimates(pd.concat([good, good]), participants=1)
    with pytest.raises(EvaluationError, match="confidence"):
        adjust_estimates(good.assign(confidence=[1.2]), participants=3)
    with pytest.raises(EvaluationError, match="metric"):
        adjust_estimates(
            pd.concat([good, good]).assign(metric=["sales", "defects"]), participants=3
        )
    with pytest.raises(EvaluationError, match="improvement"):
        adjust_estimates(good.drop(columns="improvement"), participants=3)


def test_estimates_feed_phillips_roi() -> None:
    est = pd.DataFrame(
        {"improvement": [100.0, 80.0, 120.0], "attribution": [0.5, 0.5, 0.5], "confidence": [0.8, 0.8, 0.8]}
    )
    adj = adjust_estimates(est, participants=5)
    res = phillips_roi(
        **_base(
            effect=adj.effect, std_error=adj.std_error, ci_low=adj.ci_low, ci_high=adj.ci_high,
            n_entities=adj.n_participants, value_per_unit=1.0,
            isolation_method="participant estimates (Phillips)", audit=adj.audit,
        )
    )
    # Σ adjusted = 300 x 0.4 = 120 per month over 5 participants -> 120 x 12 per year.
    assert res.annual_benefits == pytest.approx(120 * 12)
    assert [a.principle for a in res.audit[:3]] == ["GP6", "GP7", "GP8"]
