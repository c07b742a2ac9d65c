"""Planning maths (lopsnb.evaluation.plan): checked against statsmodels, closed forms, simulation and hand arithmetic."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestIndPower

from lopsnb.errors import EvaluationError, InsufficientDataError
from lopsnb.evaluation.roi import phillips_roi
from lopsnb.io.workspace import Workspace
from lopsnb.evaluation.plan import (
    break_even_effect,
    design_variance_factor,
    forecast_roi,
    kpi_variance,
    minimum_detectable_effect,
    power,
    required_participants,
)

matplotlib.use("Agg")


# --------------------------------------------------------------------------- post_only vs statsmodels
@pytest.mark.parametrize(("n_t", "n_c", "sd", "alpha", "target"), [(50, 50, 1.0, 0.05, 0.8), (20, 45, 3.5, 0.05, 0.9), (8, 12, 0.4, 0.1, 0.7)])
def test_post_only_matches_statsmodels(n_t: int, n_c: int, sd: float, alpha: float, target: float) -> None:
    solver = TTestIndPower()
    d = solver.solve_power(nobs1=n_t, ratio=n_c / n_t, alpha=alpha, power=target, alternative="two-sided")
    mde = minimum_detectable_effect(n_treated=n_t, n_comparison=n_c, sd=sd, alpha=alpha, power=target, design="post_only")
    assert mde == pytest.approx(d * sd, rel=1e-4)  # the brief asks for 1%; both solve the same noncentral t
    for effect in (0.2 * sd, 0.5 * sd, mde):
        expected = solver.power(effect / sd, nobs1=n_t, ratio=n_c / n_t, alpha=alpha, alternative="two-sided")
        got = power(effect=effect, n_treated=n_t, n_comparison=n_c, sd=sd, alpha=alpha, design="post_only")
        assert got == pytest.approx(expected, rel=1e-6)


def test_power_of_mde_is_target_and_increases_with_n() -> None:
    kw = {"sd": 2.0, "design": "did", "pre_periods": 3, "post_periods": 3, "rho": 0.5, "ar1": 0.4}
    mde = minimum_detectable_effect(n_treated=40, n_comparison=60, power=0.85, **kw)
    assert power(effect=mde, n_treated=40, n_comparison=60, **kw) == pytest.approx(0.85, abs=1e-9)
    assert power(effect=mde, n_treated=80, n_comparison=120, **kw) > 0.85


# --------------------------------------------------------------------------- McKenzie (2012) closed forms
@pytest.mark.parametrize(("m", "r", "rho"), [(1, 1, 0.5), (3, 2, 0.3), (6, 6, 0.8), (2, 5, 0.0)])
def test_constant_correlation_matches_mckenzie(m: int, r: int, rho: float) -> None:
    # McKenzie (2012), J. Dev. Econ. 99(2), section 3: variance factors of POST, DIFF and ANCOVA
    # with m baseline and r followup rounds and constant autocorrelation rho.
    post = (1 + (r - 1) * rho) / r
    diff = (1 + (m - 1) * rho) / m + (1 + (r - 1) * rho) / r - 2 * rho
    anc = (1 + (r - 1) * rho) / r - m * rho**2 / (1 + (m - 1) * rho)
    kw = {"pre_periods": m, "post_periods": r, "rho": rho}
    assert design_variance_factor("post_only", **kw) == pytest.approx(post, abs=1e-12)
    assert design_variance_factor("did", **kw) == pytest.approx(diff, abs=1e-12)
    assert design_variance_factor("ancova", **kw) == pytest.approx(anc, abs=1e-12)
    # One pre and one post period: Frison & Pocock's 2(1-rho) and (1-rho^2).
    if m == r == 1:
        assert diff == pytest.approx(2 * (1 - rho)) and anc == pytest.approx(1 - rho**2)


def test_r2_baseline_scales_ancova_variance() -> None:
    assert design_variance_factor("ancova", r2_baseline=0.64) == pytest.approx(0.36)
    se_ratio = minimum_detectable_effect(n_treated=500, n_comparison=500, sd=1, design="ancova", r2_baseline=0.75) / \
        minimum_detectable_effect(n_treated=500, n_comparison=500, sd=1, design="post_only")
    assert se_ratio == pytest.approx(0.5, rel=2e-3)  # sd·sqrt(1-r²); df differ by one


# --------------------------------------------------------------------------- Monte Carlo (AR(1) panel)
def _simulate(design: str, *, n: int, m: int, r: int, gap: int, icc: float, ar1: float, sd: float, effect: float,
              reps: int, seed: int) -> float:
    """Empirical power of the two-sided 5% test on an entity-effect + AR(1) panel."""
    rng = np.random.default_rng(seed)
    T = m + gap + r
    sd_a, sd_e = sd * math.sqrt(icc), sd * math.sqrt(1 - icc)
    alpha_i = rng.normal(0, sd_a, size=(reps, 2 * n, 1))
    e = np.empty((reps, 2 * n, T))
    e[..., 0] = rng.normal(0, 1, size=(reps, 2 * n))
    for t in range(1, T):
        e[..., t] = ar1 * e[..., t - 1] + math.sqrt(1 - ar1**2) * rng.normal(0, 1, size=(reps, 2 * n))
    y = alpha_i + sd_e * e
    treated = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    y[:, treated, m + gap:] += effect
    pre, post = y[..., :m].mean(axis=2), y[..., m + gap:].mean(axis=2)
    hits = 0
    if design == "did":
        res = stats.ttest_ind((post - pre)[:, treated], (post - pre)[:, ~treated], axis=1)
        hits = int((res.pvalue < 0.05).sum())
    else:  # ancova: OLS of post on treated and pre, classical SE
        for k in range(reps):
            X = np.column_stack([np.ones(2 * n), treated.astype(float), pre[k]])
            beta, rss, *_ = np.linalg.lstsq(X, post[k], rcond=None)
            sigma2 = rss[0] / (2 * n - 3)
            se = math.sqrt(sigma2 * np.linalg.inv(X.T @ X)[1, 1])
            hits += int(2 * stats.t.sf(abs(beta[1] / se), 2 * n - 3) < 0.05)
    return hits / reps


@pytest.mark.parametrize("design", ["did", "ancova"])
def test_serially_correlated_formula_matches_simulation(design: str) -> None:
    cfg = {"m": 4, "r": 4, "gap": 1, "icc": 0.4, "ar1": 0.6, "sd": 2.0}
    n = 40
    kw = {"sd": cfg["sd"], "design": design, "pre_periods": cfg["m"], "post_periods": cfg["r"], "gap_periods": cfg["gap"],
          "rho": cfg["icc"], "ar1": cfg["ar1"]}
    effect = minimum_detectable_effect(n_treated=n, n_comparison=n, power=0.6, **kw)
    empirical = _simulate(design, n=n, effect=effect, reps=400, seed=7, **cfg)
    assert empirical == pytest.approx(0.6, abs=0.07)
    # The test can fail: ignoring the serial correlation gets the power wrong by far more.
    naive = power(effect=effect, n_treated=n, n_comparison=n, sd=cfg["sd"], design=design, pre_periods=cfg["m"],
                  post_periods=cfg["r"], rho=cfg["icc"])
    assert abs(naive - empirical) > 0.07


def test_required_participants_is_smallest_sufficient_n() -> None:
    kw = {"sd": 3.0, "design": "did", "pre_periods": 6, "post_periods": 6, "rho": 0.6, "ar1": 0.3}
    n = required_participants(effect=0.8, comparison_ratio=2.0, power=0.8, **kw)
    assert n is not None and n > 2
    assert power(effect=0.8, n_treated=n, n_comparison=math.ceil(2 * n), **kw) >= 0.8
    assert power(effect=0.8, n_treated=n - 1, n_comparison=math.ceil(2 * (n - 1)), **kw) < 0.8
    assert required_participants(effect=0.0, max_n=1000, **kw) is None


# --------------------------------------------------------------------------- forecast arithmetic by hand
def test_forecast_by_hand() -> None:
    f = forecast_roi(audience=100, cost=50_000, value_per_unit=0.25, effect=200, effect_range=(100, 300))
    exp = f.set_index("scenario").loc["expected"]
    # 200 units × 0.25 × 12 months × 100 people = 60,000 a year; ROI (60k-50k)/50k = 20%; payback 50k/(60k/12) = 10 months.
    assert exp["annual_benefits"] == pytest.approx(60_000)
    assert exp["roi_pct"] == pytest.approx(20.0)
    assert exp["bcr"] == pytest.approx(1.2)
    assert exp["payback_months"] == pytest.approx(10.0)
    pess = f.set_index("scenario").loc["pessimistic"]
    assert pess["benefits"] == pytest.approx(30_000) and pess["roi_pct"] == pytest.approx(-40.0)
    assert f["scenario"].tolist() == ["pessimistic", "expected", "optimistic"]


def test_forecast_sd_decrease_and_value_range() -> None:
    # A decrease outcome: -2 incidents is the gain; the optimistic effect is more negative.
    f = forecast_roi(audience=10, cost=10_000, value_per_unit=100, value_range=(80, 150), effect=-2, effect_sd=1,
                     periods_per_year=12, horizon_years=2, direction="decrease").set_index("scenario")
    z = stats.norm.ppf(0.9)
    assert f.loc["pessimistic", "effect"] == pytest.approx(-2 + z)
    assert f.loc["optimistic", "effect"] == pytest.approx(-2 - z)
    assert f.loc["pessimistic", "value_per_unit"] == 80 and f.loc["optimistic", "value_per_unit"] == 150
    # (2 - z) × 80 × 12 × 10 × 2 years
    assert f.loc["pessimistic", "benefits"] == pytest.approx((2 - z) * 80 * 12 * 10 * 2)
    assert f.loc["expected", "roi_pct"] == pytest.approx((2 * 100 * 12 * 10 * 2 - 10_000) / 10_000 * 100)


def test_break_even_matches_phillips_roi() -> None:
    costs = pd.DataFrame({"category": ["delivery", "participant_time"], "amount": [30_000.0, 12_000.0]})
    roi = phillips_roi(effect=1.0, std_error=0.5, ci_low=0.0, ci_high=2.0, direction="decrease", value_per_unit=40,
                       periods_per_year=4, horizon_years=1.5, n_entities=70, costs=costs, isolation_method="did")
    be = break_even_effect(audience=70, cost=42_000, value_per_unit=40, periods_per_year=4, horizon_years=1.5, direction="decrease")
    assert be == pytest.approx(roi.break_even_effect)
    f = forecast_roi(audience=70, cost=42_000, value_per_unit=40, periods_per_year=4, horizon_years=1.5, direction="decrease",
                     effect=be, effect_sd=0.1)
    assert f.set_index("scenario").loc["expected", "roi_pct"] == pytest.approx(0.0, abs=1e-9)
    target = break_even_effect(audience=70, cost=42_000, value_per_unit=40, periods_per_year=4, horizon_years=1.5,
                               direction="decrease", target_roi_pct=50)
    assert target == pytest.approx(1.5 * be)
    assert break_even_effect(audience=70, cost=1, value_per_unit=0) is None


@pytest.mark.parametrize("bad", [
    {"design": "trend"}, {"alpha": 1.5}, {"n_treated": 0}, {"rho": 1.5}, {"power": 0.01},
])
def test_bad_inputs_raise(bad: dict) -> None:
    kw = {"n_treated": 10, "n_comparison": 10, "sd": 1.0, **bad}
    with pytest.raises(EvaluationError):
        minimum_detectable_effect(**kw)


def test_forecast_needs_exactly_one_uncertainty() -> None:
    with pytest.raises(EvaluationError, match="exactly one"):
        forecast_roi(audience=1, cost=1, value_per_unit=1, effect=1)
    with pytest.raises(EvaluationError, match="direction"):
        forecast_roi(audience=1, cost=1, value_per_unit=1, effect=1, effect_sd=1, direction="up")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- KPI variance
def _panel_workspace(*, n: int, T: int, icc: float, ar1: float, sd: float, seed: int) -> Workspace:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, sd * math.sqrt(icc), size=(n, 1))
    e = np.empty((n, T))
    e[:, 0] = rng.normal(size=n)
    for t in range(1, T):
        e[:, t] = ar1 * e[:, t - 1] + math.sqrt(1 - ar1**2) * rng.normal(size=n)
    shocks = rng.normal(0, 5.0, size=(1, T))  # common period shocks: must not inflate sd
    y = 50 + a + shocks + sd * math.sqrt(1 - icc) * e
    periods = pd.date_range("2024-01-01", periods=T, freq="MS")
    ids = [f"P{i:04d}" for i in range(n)]
    kpis = pd.DataFrame({"entity_id": np.repeat(ids, T), "metric": "m", "period": np.tile(periods, n), "value": y.ravel()})
    kpis = pd.concat([kpis, pd.DataFrame({"entity_id": ["unitA"] * 3, "metric": "m", "period": periods[:3], "value": [1.0, 2, 3]})])
    people = pd.DataFrame({"person_id": ids, "org_unit": "unitA"})
    return Workspace(Path("."), {"kpis": kpis, "people": people}, {})


def test_kpi_variance_recovers_simulated_components() -> None:
    ws = _panel_workspace(n=400, T=24, icc=0.4, ar1=0.5, sd=2.0, seed=3)
    kv = kpi_variance(ws, "m", entity="person")
    assert kv.n_entities == 400 and kv.n_periods == 24
    assert kv.sd == pytest.approx(2.0, rel=0.05)
    assert kv.icc == pytest.approx(0.4, abs=0.06)
    assert kv.ar1 == pytest.approx(0.5, abs=0.06)
    assert kv.sd_between**2 + kv.sd_within**2 == pytest.approx(kv.sd**2)
    # lag-1 correlation of period-demeaned values, recomputed directly with pandas
    k = ws.tables["kpis"]
    k = k[k["entity_id"].str.startswith("P")].copy()
    k["dev"] = k["value"] - k.groupby("period")["value"].transform("mean")
    k = k.sort_values(["entity_id", "period"])
    k["lag"] = k.groupby("entity_id")["dev"].shift(1)
    assert kv.lag1 == pytest.approx(k[["dev", "lag"]].dropna().corr().iloc[0, 1], abs=1e-12)
    assert len(kv.to_frame()) == 9
    kv.plot()


def test_kpi_variance_filters_and_errors() -> None:
    ws = _panel_workspace(n=20, T=6, icc=0.5, ar1=0.2, sd=1.0, seed=1)
    assert kpi_variance(ws, "m", entity="person", entities=[f"P{i:04d}" for i in range(5)]).n_entities == 5
    with pytest.raises(InsufficientDataError):
        kpi_variance(ws, "m", entity="org_unit")  # one unit only
    with pytest.raises(InsufficientDataError):
        kpi_variance(ws, "nope")


# --------------------------------------------------------------------------- portfolio helpers on the sample workspace
def test_portfolio_views_on_sample(sample_ws: Workspace) -> None:
    from lopsnb.evaluation.plan import evaluate_all, program_spend, spend_by_evidence
    from lopsnb.report.figures import plot_cost_benefit, plot_roi_vs_evidence
    from lopsnb.report.portfolio import portfolio_table

    results, statuses = evaluate_all(sample_ws)
    assert set(results) == {p for p, prog in sample_ws.programs.items() if prog.evaluate}
    assert all(s["status"] == "ok" for s in statuses.values())
    spend = program_spend(sample_ws)
    assert len(spend) == len(sample_ws.programs)
    frame = portfolio_table(results, statuses, spend)
    # spend equals the evaluation's fully-loaded costs wherever ROI reports them
    have = frame[frame["costs"].notna()]
    assert np.allclose(have["spend"], have["costs"])
    by_grade = spend_by_evidence(frame, spend)
    assert by_grade["share"].sum() == pytest.approx(1.0)
    assert by_grade["spend"].sum() == pytest.approx(spend["costs"].sum())
    assert "not evaluated" in set(by_grade["evidence_grade"])
    plot_roi_vs_evidence(frame)
    plot_cost_benefit(frame)


@pytest.fixture(scope="module")
def sample_ws() -> Workspace:
    from lopsnb.io.workspace import load_workspace

    return load_workspace(Path(__file__).resolve().parents[2] / "data_samples" / "acme")
