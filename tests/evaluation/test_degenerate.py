"""Degenerate evaluation inputs: constant KPIs, values near the float limit, overflowing costs.

Each case must end in a named "not estimable because ..." failure (and no ROI),
never in a zero-width interval, an infinite figure or a traceback. The
workspace is a noisy 40-person panel whose ordinary evaluation is estimable,
so every failure below is caused by the degenerate input alone.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

from lopsnb.evaluation import ProgramEvaluation, evaluate  # noqa: E402
from lopsnb.evaluation.degenerate import NotEstimableError, check_interval, outcome_scale, require_within_variation  # noqa: E402
from lopsnb.evaluation.methods import ancova, before_after, post_only, trend_line, twfe_did  # noqa: E402
from lopsnb.evaluation.roi import phillips_roi  # noqa: E402

MONTHS = [f"2026-{m:02d}-01" for m in range(1, 8)]
N_PEOPLE, N_TREATED = 40, 20
DESIGNS = ("did", "ancova", "post_only", "before_after", "trend", "estimates")

PROGRAM = """\
id: demo
name: Demo Program
launch: 2026-04-01
chain:
  business_metric: {metric: revenue, direction: increase, unit: USD per month}
evaluation:
  entity: person
  baseline: {start: 2026-01-01, end: 2026-03-31}
  followup: {start: 2026-05-01, end: 2026-07-31}
  design: did
  also: [ancova, post_only, before_after, trend, estimates]
  comparison: {role: [Rep]}
monetization: {value_per_unit: 1.0, periods_per_year: 12}
"""

STAGGERED = PROGRAM.replace("baseline: {start: 2026-01-01, end: 2026-03-31}", "baseline: {offset: [-2, -1]}").replace(
    "followup: {start: 2026-05-01, end: 2026-07-31}", "followup: {offset: [0, 1]}").replace(
    "  also: [ancova, post_only, before_after, trend, estimates]\n", "")


def _tables(*, staggered: bool = False) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(20261202)
    ids = [f"E{i:03d}" for i in range(N_PEOPLE)]
    people = pd.DataFrame({"person_id": ids, "name": [f"Person {i}" for i in range(N_PEOPLE)], "org_unit": ["east", "west"] * (N_PEOPLE // 2),
                           "role": ["Rep"] * N_PEOPLE, "hourly_cost": [50.0] * N_PEOPLE})
    completed = [("2026-04-05" if not staggered or i % 2 else "2026-05-05") for i in range(N_TREATED)]
    enrollments = pd.DataFrame({"person_id": ids[:N_TREATED], "program_id": "demo", "enrolled_on": "2026-03-01",
                                "completed_on": completed, "status": "completed", "hours": 4.0})
    rows = []
    for i, pid in enumerate(ids):
        level = 100 + rng.normal(0, 5)
        for m, month in enumerate(MONTHS):
            start = 4 if not staggered or i % 2 or i >= N_TREATED else 5
            lift = 8.0 if i < N_TREATED and m >= start else 0.0
            rows.append({"entity_id": pid, "metric": "revenue", "period": month, "value": level + 1.5 * m + lift + rng.normal(0, 3)})
    estimates = pd.DataFrame({"person_id": ids[:N_TREATED], "program_id": "demo", "metric": "revenue",
                              "improvement": rng.uniform(2, 12, N_TREATED), "attribution": 0.6, "confidence": 0.8})
    costs = pd.DataFrame({"program_id": ["demo", "demo"], "category": ["delivery", "materials"], "amount": [1000.0, 200.0]})
    return {"people": people, "enrollments": enrollments, "kpis": pd.DataFrame(rows), "estimates": estimates, "costs": costs}


def _workspace(root: Path, program: str = PROGRAM, *, staggered: bool = False,
               edit: Callable[[dict[str, pd.DataFrame]], None] | None = None) -> Path:
    tables = _tables(staggered=staggered)
    if edit is not None:
        edit(tables)
    (root / "programs").mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_csv(root / f"{name}.csv", index=False)
    (root / "programs" / "demo.yml").write_text(program, encoding="utf-8")
    return root


def _evaluate(tmp_path: Path, edit: Callable[[dict[str, pd.DataFrame]], None] | None = None, **kw: object) -> ProgramEvaluation:
    return evaluate(_workspace(tmp_path / "ws", edit=edit, **kw), "demo")  # type: ignore[arg-type]


def _no_zero_width_interval(ev: ProgramEvaluation) -> None:
    assert ev.impact
    for method, e in ev.impact.estimates.items():
        assert all(math.isfinite(v) for v in (e.estimate, e.std_error, e.ci_low, e.ci_high)), method
        assert e.std_error > 0 and e.ci_high > e.ci_low, (method, e)


def _constant(t: dict[str, pd.DataFrame]) -> None:
    t["kpis"]["value"] = 250.0


def _entity_constant(t: dict[str, pd.DataFrame]) -> None:
    # Differs between people, never changes over time: no within-person variation.
    t["kpis"]["value"] = 100.0 + t["kpis"]["entity_id"].str[1:].astype(float)


def _same_estimates(t: dict[str, pd.DataFrame]) -> None:
    t["estimates"]["improvement"] = 5.0


# --------------------------------------------------------------------------- the control case


def test_ordinary_workspace_is_estimable_by_every_method(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path)
    assert ev.impact and set(ev.impact.estimates) == set(DESIGNS), ev.impact.failures
    _no_zero_width_interval(ev)
    assert ev.evidence.grade in ("strong", "moderate") and ev.roi


# --------------------------------------------------------------------------- constant KPIs


def test_constant_kpi_is_not_estimable_by_any_panel_method(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, _constant)
    assert ev.impact
    for method in ("did", "ancova", "post_only", "trend"):
        assert ev.impact.failures[method] == (
            f"{method}: not estimable because the outcome is constant (every value is 250): with zero variance the standard error "
            "is 0 and an interval of zero width would claim certainty the data do not give"
        ) or (method == "trend" and "not estimable because the mean outcome series is constant" in ev.impact.failures[method])
    assert "before_after: not estimable because every participant's change (followup minus baseline) is constant (every value is 0)" in (
        ev.impact.failures["before_after"])
    assert set(ev.impact.estimates) == {"estimates"}  # participant estimates do not use the KPI
    d = ev.to_dict()
    assert d["evidence"]["grade"] == "insufficient"
    assert "not estimable because the outcome is constant" in d["evidence"]["reasons"][0]
    assert d["roi"]["available"] is False and "not estimable because the outcome is constant" in d["roi"]["reason"]
    assert "not estimable because" in ev.summary()


def test_kpi_constant_within_each_person_is_not_estimable_by_did(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, _entity_constant)
    assert ev.impact
    assert ev.impact.failures["did"].startswith("did: not estimable because the outcome does not change over time within any entity")
    # ANCOVA fits followup = baseline exactly: effect and SE both 0 up to rounding
    assert ev.impact.failures["ancova"].startswith("ancova: not estimable because the standard error is 0")
    assert "before_after" in ev.impact.failures and "trend" in ev.impact.failures
    _no_zero_width_interval(ev)
    assert ev.evidence.grade == "insufficient" and not ev.roi


def test_staggered_did_on_a_constant_kpi_is_not_estimable(tmp_path: Path) -> None:
    ok = evaluate(_workspace(tmp_path / "a", STAGGERED, staggered=True), "demo")
    assert ok.impact and "did" in ok.impact.estimates, ok.impact.failures  # the control case
    for name, edit, reason in (("b", _constant, "the outcome is constant"), ("c", _entity_constant, "does not change over time within any entity")):
        ev = evaluate(_workspace(tmp_path / name, STAGGERED, staggered=True, edit=edit), "demo")
        assert ev.impact and ev.impact.estimates == {}
        assert ev.impact.failures["did"].startswith("did: not estimable because") and reason in ev.impact.failures["did"]
        assert ev.evidence.grade == "insufficient" and not ev.roi


def test_identical_participant_estimates_are_not_estimable(tmp_path: Path) -> None:
    # every participant claims the same adjusted improvement: its standard error is 0
    ev = _evaluate(tmp_path, _same_estimates)
    assert ev.impact
    assert ev.impact.failures["estimates"].startswith(
        "estimates: not estimable because every participant's adjusted improvement (improvement x attribution x confidence) is constant")
    assert "did" in ev.impact.estimates


# --------------------------------------------------------------------------- values near the float limit


def test_huge_kpis_are_scaled_exactly_or_named(tmp_path: Path) -> None:
    """KPIs times 2**1016 (~1e307): squares overflow, so the methods scale them exactly by a power of two."""
    factor = 2.0**1016  # values ~1e307: the benefits (x 12 months x 20 people) exceed the float range

    def huge(t: dict[str, pd.DataFrame]) -> None:
        t["kpis"]["value"] *= factor

    ev, ref = _evaluate(tmp_path / "h", huge), _evaluate(tmp_path / "r")
    assert ev.impact and ref.impact
    for method in ("did", "ancova", "post_only", "before_after", "trend"):
        e, r = ev.impact.estimates[method], ref.impact.estimates[method]
        # power-of-two scaling is exact: the same numbers, times the factor
        assert e.estimate / factor == pytest.approx(r.estimate, rel=1e-12), method
        assert e.std_error / factor == pytest.approx(r.std_error, rel=1e-12), method
        assert e.p_value == pytest.approx(r.p_value, rel=1e-9), method
    # and the money no longer fits in a float: the ROI says so instead of "inf"
    assert not ev.roi and ev.roi_reason is not None
    assert ev.roi_reason.startswith("ROI: not estimable because the monetary benefits overflows")


def test_kpis_at_1e308_are_estimated_exactly_and_the_money_overflow_is_named(tmp_path: Path) -> None:
    """KPIs of 1e308 and 1.7e308: window means and squares would overflow; the effect itself fits in a float."""
    def edge(t: dict[str, pd.DataFrame]) -> None:
        t["kpis"]["value"] = np.where(t["kpis"]["value"] > 105, 1.7e308, 1e308)

    def small(t: dict[str, pd.DataFrame]) -> None:
        edge(t)
        t["kpis"]["value"] *= 2.0**-1000

    ev, ref = _evaluate(tmp_path / "e", edge), _evaluate(tmp_path / "s", small)
    assert ev.impact and ref.impact
    assert ev.impact.failures == {} and set(ev.impact.estimates) == set(ref.impact.estimates) == set(DESIGNS)
    _no_zero_width_interval(ev)
    for method in ("did", "ancova", "post_only", "before_after", "trend"):
        e, r = ev.impact.estimates[method], ref.impact.estimates[method]
        # ANCOVA's baseline column is rescaled against the intercept: equal to rounding, not bit for bit
        assert e.estimate * 2.0**-1000 == pytest.approx(r.estimate, rel=1e-8), method
        assert (e.ci_low * 2.0**-1000, e.ci_high * 2.0**-1000) == pytest.approx((r.ci_low, r.ci_high), rel=1e-8), method
    d = ev.to_dict()
    assert d["roi"] == {"available": False, "reason": "ROI: not estimable because the monetary benefits overflows (amounts too large for "
                        "floating-point arithmetic; express them in larger units, e.g. thousands)"}
    assert ref.roi and ref.roi.roi_pct is not None  # the same program at ordinary magnitudes has an ROI
    json.dumps(d, allow_nan=False)


def test_did_matches_statsmodels_on_huge_values() -> None:
    """The scaled TWFE equals the dummy regression run by statsmodels on data / 2**1000 (independent implementation).

    statsmodels counts every entity dummy in the small-sample factor; lopsnb follows fixest /
    Stata ``xtreg, fe vce(cluster)``, where entity effects nested in the clusters are not
    counted, so its SE is statsmodels' times sqrt((N - K_dummies) / (N - K_fixest)).
    """
    t = _tables()
    kpis = t["kpis"]
    obs = kpis.assign(pidx=pd.factorize(kpis["period"], sort=True)[0], treated=kpis["entity_id"].str[1:].astype(int) < N_TREATED)
    obs = obs[obs["pidx"] != 3].assign(post=obs["pidx"] >= 4)
    factor = 2.0**1000
    est = twfe_did(obs.assign(value=obs["value"] * factor))
    fit = smf.ols("value ~ tp + C(entity_id) + C(pidx)", data=obs.assign(tp=(obs["treated"] & obs["post"]).astype(float))).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(obs["entity_id"])[0]})
    n, k_dummies = len(obs), len(fit.params)
    k_fixest = k_dummies - (obs["entity_id"].nunique() - 1)
    assert est.estimate / factor == pytest.approx(fit.params["tp"], rel=1e-9)
    assert est.std_error / factor == pytest.approx(fit.bse["tp"] * np.sqrt((n - k_dummies) / (n - k_fixest)), rel=1e-9)


# --------------------------------------------------------------------------- costs


@pytest.mark.parametrize(("amounts", "hours"), [([1e308, 1e308], 4.0), ([1000.0, 200.0], 1e307)])
def test_overflowing_costs_leave_roi_not_available_with_the_reason(tmp_path: Path, amounts: list[float], hours: float) -> None:
    def edit(t: dict[str, pd.DataFrame]) -> None:
        t["costs"]["amount"] = amounts
        t["enrollments"]["hours"] = hours

    ev = _evaluate(tmp_path, edit)
    assert ev.impact and "did" in ev.impact.estimates  # the effect itself is fine
    assert not ev.roi
    assert ev.roi_reason == ("ROI: not estimable because the fully-loaded costs total overflows (amounts too large for floating-point "
                             "arithmetic; express them in larger units, e.g. thousands)")
    d = ev.to_dict()
    assert d["roi"] == {"available": False, "reason": ev.roi_reason}
    assert d["inputs"]["cost_per_participant"] is None and ev.inputs.total_cost is None
    chain = ev.chain.set_index("level")
    assert chain.loc["5 ROI", "status"] == "not measured" and "not estimable" in chain.loc["5 ROI", "note"]
    assert "inf" not in ev.summary().split("ROI not computed:")[0]
    assert not [a.action for a in ev.audit if re.search(r"\binf\b|\bnan\b", a.action)]
    assert any("costs fully loaded: total too large to represent (overflow)" in a.action for a in ev.audit)


def _roi_kw(**kw: object) -> dict[str, object]:
    base: dict[str, object] = dict(effect=2.0, std_error=0.5, ci_low=1.0, ci_high=3.0, direction="increase", value_per_unit=10.0,
                                   periods_per_year=12, horizon_years=1, n_entities=20, isolation_method="did",
                                   costs=pd.DataFrame({"category": ["delivery"], "amount": [1000.0]}))
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("kw", "what"),
    [
        ({"costs": pd.DataFrame({"category": ["delivery", "materials"], "amount": [1.5e308, 1.5e308]})}, "the fully-loaded costs total"),
        ({"value_per_unit": 1e306}, "the monetary benefits"),
        ({"costs": pd.DataFrame({"category": ["delivery"], "amount": [1e-300]}), "value_per_unit": 1e10}, "the ROI"),
        ({"std_error": 1e306, "ci_low": -2e306, "ci_high": 2e306}, "the Monte Carlo ROI interval (a draw)"),
    ],
)
def test_phillips_roi_names_each_overflow(kw: dict[str, object], what: str) -> None:
    with pytest.raises(NotEstimableError, match="^" + re.escape(f"ROI: not estimable because {what} overflows")):
        phillips_roi(**_roi_kw(**kw))  # type: ignore[arg-type]
    assert phillips_roi(**_roi_kw()).roi_pct == pytest.approx((2.0 * 10 * 12 * 20 - 1000) / 1000 * 100)


# --------------------------------------------------------------------------- unit level


def _entities(followup: list[float], baseline: list[float], treated: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"followup": followup, "baseline": baseline, "treated": treated})


def test_methods_refuse_constant_data_directly() -> None:
    ents = _entities([5.0] * 6, [3.0, 4.0, 5.0, 3.0, 4.0, 5.0], [True] * 3 + [False] * 3)
    for fn in (post_only, ancova):
        with pytest.raises(NotEstimableError, match="not estimable because the outcome is constant"):
            fn(ents)
    with pytest.raises(NotEstimableError, match="every participant's change"):
        before_after(_entities([5.0, 6.0, 7.0], [4.0, 5.0, 6.0], [True] * 3))
    series = pd.DataFrame({"pidx": range(6), "y": [3.0] * 6, "post": [False] * 3 + [True] * 3})
    with pytest.raises(NotEstimableError, match="mean outcome series is constant"):
        trend_line(series, n_treated=5)


def test_helpers() -> None:
    assert outcome_scale([1.0, -3e5]) == 1.0
    s = outcome_scale([1e308, -2.0])
    assert math.log2(s).is_integer() and 1 <= 1e308 / s < 2
    with pytest.raises(NotEstimableError, match="standard error is 0"):
        check_interval("x", 1.0, 0.0)
    with pytest.raises(NotEstimableError, match="standard error is 0"):
        check_interval("x", 1e-14, 1e-15, magnitude=100.0)  # a [0, 0] interval up to rounding
    check_interval("x", 10.0, 1e-15, magnitude=100.0)  # an exact fit with a real effect keeps its estimate
    with pytest.raises(NotEstimableError, match="infinite"):
        check_interval("x", 1.0, 0.5, (float("-inf"), 2.0))
    require_within_variation("did", [1.0, 2.0, 1.0, 1.0], ["a", "a", "b", "b"])  # a varies: fine
    with pytest.raises(NotEstimableError, match="within any entity"):
        require_within_variation("did", [1.0, 1.0, 2.0, 2.0], ["a", "a", "b", "b"])
