"""Tests of lopsnb.evaluation.survival (design survival): estimators against references, data rules, config, grading.

References
----------
* Rossi, Berk & Lenihan (1980) recidivism data (``tests/data/rossi.csv``, the
  copy lifelines ships as ``lifelines.datasets.load_rossi``; R ``carData::Rossi``).
  Fox & Weisberg, "Cox Proportional-Hazards Regression for Survival Data in R"
  (appendix to *An R Companion to Applied Regression*, 2nd ed., 2011), fit
  ``coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio)``
  (Efron ties) and report for ``fin``: coef −0.3794, exp(coef) 0.684, se 0.1914,
  p 0.048; for ``age`` −0.0574 (se 0.0220) and ``prio`` 0.0915 (se 0.0286).
* lifelines ``KaplanMeierFitter``, ``CoxPHFitter``, ``proportional_hazard_test``
  and ``restricted_mean_survival_time`` on the same data (stored output below; also live when lifelines
  is installed — it is not a dependency, as it pins pandas < 3).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lopsnb.errors import InsufficientDataError, ProgramConfigError
from lopsnb.evaluation import evaluate
from lopsnb.evaluation.evidence import grade_evidence
from lopsnb.evaluation.methods import Estimate
from lopsnb.evaluation.survival import cox_hazard_ratio, km_curve, rmst, survival_at
from lopsnb.io.programs import Program, load_program

ROSSI = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "rossi.csv")
COVS = ["age", "race", "wexp", "mar", "paro", "prio"]


def _rossi_frame() -> pd.DataFrame:
    return ROSSI.rename(columns={"week": "time"}).assign(event=ROSSI["arrest"].astype(bool), treated=ROSSI["fin"].astype(bool))


# --------------------------------------------------------------------------- estimators vs published values and hand formulas


def test_cox_reproduces_the_published_rossi_model() -> None:
    # Fox & Weisberg (2011), appendix "Cox Proportional-Hazards Regression for Survival Data in R", Efron ties.
    r = cox_hazard_ratio(_rossi_frame(), COVS)
    assert r["coef"] == pytest.approx(-0.3794, abs=5e-4)
    assert r["hazard_ratio"] == pytest.approx(0.684, abs=5e-4)
    assert r["std_error"] == pytest.approx(0.1914, abs=5e-4)
    assert r["p_value"] == pytest.approx(0.048, abs=1e-3)
    assert r["ci_low"] == pytest.approx(np.exp(-0.3794 - 1.959964 * 0.1914), abs=2e-3)
    assert r["design_columns"] == ["participant", *COVS]


def test_km_matches_a_hand_written_product_limit_with_greenwood_variance() -> None:
    t = np.array([3, 5, 5, 8, 10, 12, 12, 15, 20, 22], float)
    e = np.array([1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)
    curve = km_curve(t, e)
    s, gw = 1.0, 0.0
    for tt in sorted(set(t[e])):
        n, d = (t >= tt).sum(), ((t == tt) & e).sum()
        s *= 1 - d / n
        gw += d / (n * (n - d))
        row = curve[curve["time"] == tt].iloc[0]
        assert row["survival"] == pytest.approx(s) and row["std_error"] == pytest.approx(s * np.sqrt(gw))
        assert row["at_risk"] == n and row["events"] == d
    assert curve.iloc[0].to_dict() == {"time": 0.0, "survival": 1.0, "std_error": 0.0, "ci_low": 1.0, "ci_high": 1.0, "at_risk": 10, "events": 0}
    assert survival_at(curve, 11.9)[0] == pytest.approx(curve.loc[curve["time"] == 8, "survival"].iloc[0])


def test_rmst_without_censoring_is_the_mean_of_the_truncated_times() -> None:
    rng = np.random.default_rng(3)
    t = rng.exponential(100, 200)
    area, var = rmst(t, np.ones(200, bool), 80)
    x = np.minimum(t, 80)
    # Without censoring the Klein-Moeschberger variance is the plug-in variance of min(T, h) over n.
    assert area == pytest.approx(x.mean(), rel=1e-12) and var == pytest.approx(x.var() / 200, rel=1e-10)


def test_rmst_standard_error_agrees_with_a_bootstrap() -> None:
    rng = np.random.default_rng(7)
    n = 300
    T, C = rng.exponential(60, n), rng.uniform(0, 150, n)
    t, e = np.minimum(T, C), T <= C
    _, var = rmst(t, e, 90)
    boots = []
    for _ in range(400):
        i = rng.integers(0, n, n)
        boots.append(rmst(t[i], e[i], 90)[0])
    assert np.sqrt(var) == pytest.approx(np.std(boots, ddof=1), rel=0.15)


# --------------------------------------------------------------------------- against lifelines on the same data


def _simulated_cox_frame() -> pd.DataFrame:
    """Weibull event times with a treatment and a covariate, uniform censoring (no tied times)."""
    rng = np.random.default_rng(11)
    n = 300
    g, z = rng.random(n) < 0.5, rng.normal(size=n)
    T = rng.weibull(1.5, n) * np.exp(-0.5 * g - 0.3 * z) * 100
    C = rng.uniform(0, 200, n)
    return pd.DataFrame({"time": np.minimum(T, C), "event": T <= C, "treated": g, "z": z})


def test_km_and_rmst_match_lifelines() -> None:
    lifelines = pytest.importorskip("lifelines")
    from lifelines.utils import restricted_mean_survival_time

    kmf = lifelines.KaplanMeierFitter().fit(ROSSI["week"], ROSSI["arrest"])
    curve = km_curve(ROSSI["week"].to_numpy(float), ROSSI["arrest"].to_numpy(bool))
    ref = kmf.survival_function_["KM_estimate"].reindex(curve["time"])
    ci = kmf.confidence_interval_.reindex(curve["time"])
    np.testing.assert_allclose(curve["survival"], ref.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(curve["ci_low"], ci.iloc[:, 0].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(curve["ci_high"], ci.iloc[:, 1].to_numpy(), rtol=1e-9)
    for h in (20.0, 40.0, 52.0):
        assert rmst(ROSSI["week"].to_numpy(float), ROSSI["arrest"].to_numpy(bool), h)[0] == pytest.approx(
            restricted_mean_survival_time(kmf, h), rel=1e-6)


def test_cox_and_ph_test_match_lifelines() -> None:
    lifelines = pytest.importorskip("lifelines")
    from lifelines.statistics import proportional_hazard_test

    df = _simulated_cox_frame()
    ref_df = df.assign(treated=df["treated"].astype(float), event=df["event"].astype(int))
    cph = lifelines.CoxPHFitter().fit(ref_df, "time", "event")
    ours = cox_hazard_ratio(df, ["z"])
    assert ours["coef"] == pytest.approx(cph.params_["treated"], rel=1e-5)
    assert ours["std_error"] == pytest.approx(cph.standard_errors_["treated"], rel=1e-5)
    ref = proportional_hazard_test(cph, ref_df, time_transform="km").summary.loc["treated"]
    # No tied times: the Grambsch-Therneau statistic is the same to rounding.
    assert ours["ph_test"]["statistic"] == pytest.approx(ref["test_statistic"], rel=1e-4)
    # Rossi (weeks, many ties): Schoenfeld residuals differ slightly with ties.
    rossi = cox_hazard_ratio(_rossi_frame(), COVS)
    rc = lifelines.CoxPHFitter().fit(ROSSI, "week", "arrest")
    assert rossi["ph_test"]["statistic"] == pytest.approx(proportional_hazard_test(rc, ROSSI, time_transform="km").summary.loc["fin", "test_statistic"], rel=0.05)


# Stored lifelines 0.30.3 output on the same data, so the comparison runs without lifelines installed
# (lifelines pins pandas < 3, which lopsnb's environment cannot take). Produced with:
#   kmf = lifelines.KaplanMeierFitter().fit(rossi["week"], rossi["arrest"])
#   kmf.survival_function_at_times(t); kmf.confidence_interval_.loc[t]
#   lifelines.utils.restricted_mean_survival_time(kmf, h)
#   cph = lifelines.CoxPHFitter().fit(ref_df, "time", "event")  # the simulated frame of the test above
#   lifelines.statistics.proportional_hazard_test(cph, ref_df, time_transform="km")
LIFELINES_KM = {  # week: (survival, ci_low, ci_high), log(-log) Greenwood interval
    10: (0.9652777777777775, 0.9430645979599901, 0.9789209970666007),
    20: (0.9074074074074068, 0.8759221434338968, 0.9312168840876465),
    30: (0.8611111111111105, 0.8247865403695618, 0.8904078160671426),
    40: (0.8032407407407405, 0.762528331317315, 0.8377250903287208),
    52: (0.7361111111111108, 0.6918597157964872, 0.7750631833746743),
}
LIFELINES_RMST = {20.0: 19.310185185185176, 40.0: 36.5486111111111, 52.0: 45.85416666666665}
LIFELINES_COX = {"coef": 0.6270407109623836, "std_error": 0.1501990678246929, "ph_statistic": 0.04625920394083165}
LIFELINES_ROSSI_PH_FIN = 0.019130026636667647


def test_km_and_rmst_equal_stored_lifelines_output() -> None:
    curve = km_curve(ROSSI["week"].to_numpy(float), ROSSI["arrest"].to_numpy(bool)).set_index("time")
    for week, (s_ref, lo_ref, hi_ref) in LIFELINES_KM.items():
        row = curve.loc[curve.index[curve.index <= week].max()]  # step function: the last event time at or before
        assert (row["survival"], row["ci_low"], row["ci_high"]) == pytest.approx((s_ref, lo_ref, hi_ref), rel=1e-9)
    for h, ref in LIFELINES_RMST.items():
        assert rmst(ROSSI["week"].to_numpy(float), ROSSI["arrest"].to_numpy(bool), h)[0] == pytest.approx(ref, rel=1e-6)


def test_cox_and_ph_test_equal_stored_lifelines_output() -> None:
    df = _simulated_cox_frame()
    ours = cox_hazard_ratio(df, ["z"])
    assert ours["coef"] == pytest.approx(LIFELINES_COX["coef"], rel=1e-5)
    assert ours["std_error"] == pytest.approx(LIFELINES_COX["std_error"], rel=1e-5)
    assert ours["ph_test"]["statistic"] == pytest.approx(LIFELINES_COX["ph_statistic"], rel=1e-4)
    rossi = cox_hazard_ratio(_rossi_frame(), COVS)
    assert rossi["ph_test"]["statistic"] == pytest.approx(LIFELINES_ROSSI_PH_FIN, rel=0.05)  # ties: Schoenfeld residuals differ slightly


# --------------------------------------------------------------------------- the design on a workspace


SURVIVAL_YML = """\
id: demo
name: Mentoring
launch: 2025-01-01
chain:
  business_metric: {metric: retention, direction: increase, unit: share}
evaluation:
  entity: person
  outcome: retention
  design: survival
  horizon_days: 90
  comparison: {role: [Rep]}
  as_of: 2026-06-30
monetization: {value_per_unit: 10000}
"""


def _cohort(n: int = 240, *, effect: bool = True, seed: int = 1) -> dict[str, pd.DataFrame]:
    """New hires in 2025: every other one mentored; 90-day retention 0.7 without and 0.9 with (constant hazards)."""
    rng = np.random.default_rng(seed)
    hire = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    treated = np.arange(n) % 2 == 0
    lam = np.where(treated & effect, -np.log(0.9), -np.log(0.7)) / 90
    days = np.floor(rng.exponential(1 / lam)).astype(int) + 1
    term = hire + pd.to_timedelta(days, unit="D")
    term = pd.Series(term).where(term <= pd.Timestamp("2026-06-30"))
    ids = [f"P{i:03d}" for i in range(n)]
    people = pd.DataFrame({"person_id": ids, "role": "Rep", "hire_date": hire.strftime("%Y-%m-%d"), "hourly_cost": 30.0,
                           "termination_date": term.dt.strftime("%Y-%m-%d").fillna(""), "skill": rng.normal(size=n)})
    enr = pd.DataFrame({"person_id": [i for i, t in zip(ids, treated, strict=True) if t], "program_id": "demo",
                        "enrolled_on": hire[treated].strftime("%Y-%m-%d"), "completed_on": hire[treated].strftime("%Y-%m-%d"),
                        "status": "completed", "hours": 6.0})
    kpis = pd.DataFrame({"entity_id": ["P000"], "metric": ["other_kpi"], "period": ["2025-01-01"], "value": [1.0]})
    return {"people": people, "enrollments": enr, "kpis": kpis, "assessments": None}


def test_survival_design_recovers_a_planted_retention_effect(make_workspace) -> None:
    tables = _cohort(600)
    ev = evaluate(make_workspace(program=SURVIVAL_YML, **tables), "demo")
    e = ev.impact.primary  # type: ignore[union-attr]
    assert e is not None and e.method == "survival", ev.impact.failures  # type: ignore[union-attr]
    assert e.ci_low <= 0.2 <= e.ci_high and e.ci_low > 0
    # Nobody is censored before 90 days (hired in 2025, as of mid-2026): KM at 90 days is the plain share retained.
    people = tables["people"]
    days = (pd.to_datetime(people["termination_date"]) - pd.to_datetime(people["hire_date"])).dt.days
    kept = days.isna() | (days > 90)
    mentored = people["person_id"].isin(tables["enrollments"]["person_id"])
    hired = pd.to_datetime(people["hire_date"])
    # Comparison: hired within the participants' hiring period.
    same_period = hired.between(hired[mentored].min(), hired[mentored].max())
    assert e.estimate == pytest.approx(kept[mentored].mean() - kept[~mentored & same_period].mean(), rel=1e-12)
    assert e.n_comparison == int((~mentored & same_period).sum())
    sv = ev.impact.survival  # type: ignore[union-attr]
    assert sv.hazard_ratio_ci_low <= np.log(0.9) / np.log(0.7) <= sv.hazard_ratio_ci_high
    assert sv.rmst_difference > 0 and sv.rmst_ci_low <= sv.rmst_difference <= sv.rmst_ci_high
    assert e.std_error == pytest.approx(np.sqrt((e.ci_high - e.ci_low) ** 2) / (2 * 1.959964), rel=1e-6)
    # ROI: retention difference × participants × value per retained employee, once.
    assert ev.roi.benefits == pytest.approx(e.estimate * e.n_treated * 10000, rel=1e-12)  # type: ignore[union-attr]
    d = ev.to_dict()["results"]
    assert d["estimates"]["survival"]["estimate"] == pytest.approx(e.estimate)
    assert {"curves", "hazard_ratio", "hazard_ratio_ci_low", "hazard_ratio_ci_high", "rmst_difference"} <= set(d["survival"])
    assert ev.evidence.grade in ("moderate", "weak") and ev.evidence.grade != "strong"


def test_no_effect_gives_an_interval_around_zero(make_workspace) -> None:
    ev = evaluate(make_workspace(program=SURVIVAL_YML, **_cohort(400, effect=False, seed=9)), "demo")
    e = ev.impact.primary  # type: ignore[union-attr]
    assert e.ci_low <= 0 <= e.ci_high


def test_curves_hide_points_with_few_at_risk(make_workspace) -> None:
    ev = evaluate(make_workspace(program=SURVIVAL_YML, **_cohort(120)), "demo")
    sv = ev.impact.survival  # type: ignore[union-attr]
    assert (sv.curves["at_risk"] >= ev.program.privacy.min_group_size).all()
    assert sv.at_risk["at_risk"].dropna().ge(5).all()


def test_horizon_beyond_follow_up_is_refused(make_workspace) -> None:
    program = SURVIVAL_YML.replace("horizon_days: 90", "horizon_days: 3000")
    ev = evaluate(make_workspace(program=program, **_cohort(120)), "demo")
    assert not ev.impact.estimates  # type: ignore[union-attr]
    assert "followed to the horizon" in ev.impact.failures["survival"]  # type: ignore[union-attr]
    assert ev.evidence.grade == "insufficient"


def test_time_to_competency_from_a_kpi_threshold(make_workspace) -> None:
    """Event = first month the KPI reaches the threshold; participants get there two months sooner."""
    tables = _cohort(200)
    people = tables["people"].assign(termination_date="")
    treated = set(tables["enrollments"]["person_id"])
    rows = []
    for pid, hire in zip(people["person_id"], pd.to_datetime(people["hire_date"]), strict=True):
        start = hire.to_period("M")
        months = 4 + (int(pid[1:]) % 3) - (2 if pid in treated else 0)
        for k in range(8):
            rows.append({"entity_id": pid, "metric": "units_per_hour", "period": str((start + k).to_timestamp().date()),
                         "value": 40.0 if k >= months else 20.0 + k})
    program = SURVIVAL_YML.replace("outcome: retention", "event: {metric: units_per_hour, reaches: 40}").replace(
        "business_metric: {metric: retention, direction: increase, unit: share}",
        "business_metric: {metric: time_to_competency, direction: decrease, unit: days}\n  performance_metrics:\n    - {metric: units_per_hour, direction: increase}")
    program = program.replace("horizon_days: 90", "horizon_days: 150").replace("as_of: 2026-06-30", "as_of: 2026-12-31")
    ev = evaluate(make_workspace(program=program, people=people, kpis=pd.DataFrame(rows), **{k: v for k, v in tables.items() if k not in ("people", "kpis")}), "demo")
    e, sv = ev.impact.primary, ev.impact.survival  # type: ignore[union-attr]
    assert e is not None, ev.impact.failures  # type: ignore[union-attr]
    assert sv.kind == "event" and sv.event_label == "units_per_hour >= 40"
    assert e.estimate > 0.3 and sv.hazard_ratio > 1 and sv.rmst_difference < -30
    # Monetized per day sooner: -rmst_difference days × participants × value.
    assert ev.roi.benefits == pytest.approx(-sv.rmst_difference * e.n_treated * 10000, rel=1e-12)  # type: ignore[union-attr]


def test_origin_treatment_matches_the_comparison_origin(make_workspace) -> None:
    tables = _cohort(300)
    enr = tables["enrollments"].assign(completed_on="2025-09-01", enrolled_on="2025-08-25")
    program = SURVIVAL_YML.replace("horizon_days: 90", "horizon_days: 90\n  origin: treatment")
    ev = evaluate(make_workspace(program=program, enrollments=enr, **{k: v for k, v in tables.items() if k != "enrollments"}), "demo")
    sv = ev.impact.survival  # type: ignore[union-attr]
    assert sv.origin == "treatment"
    # Everyone hired after the matched origin, or gone before it, is left out (and said so).
    assert any("not employed at the matched origin 2025-09-01" in n for n in sv.notes)
    assert ev.impact.primary.n_comparison < 150  # type: ignore[union-attr]


# --------------------------------------------------------------------------- program configuration


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("  horizon_days: 90\n", ""), "needs horizon_days"),
        (("design: survival", "design: survival\n  also: [did]"), "cannot be combined"),
        (("monetization: {value_per_unit: 10000}", "monetization: {value_per_unit: 10000, periods_per_year: 12}"), "does not apply to design survival"),
        (("outcome: retention", "outcome: retention\n  event: {metric: m, reaches: 1}"), "not both"),
        (("entity: person", "entity: org_unit"), "set entity: person"),
        (("design: survival", "design: did"), "only apply to design survival"),
    ],
)
def test_bad_survival_config_names_the_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    f = tmp_path / "demo.yml"
    f.write_text(textwrap.dedent(SURVIVAL_YML).replace(*change), encoding="utf-8")
    with pytest.raises(ProgramConfigError, match=message) as exc:
        load_program(f)
    assert exc.value.problems[0].file == str(f)


def test_termination_before_hire_is_a_validation_problem(make_workspace) -> None:
    from lopsnb.errors import ValidationError
    from lopsnb.io.workspace import load_workspace

    tables = _cohort(20)
    tables["people"].loc[3, "termination_date"] = "2024-01-01"
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(program=SURVIVAL_YML, **tables))
    p = next(p for p in exc.value.problems if p.column == "termination_date")
    assert p.row == 5 and "on or after hire_date" in p.expected  # header is line 1, row index 3 is line 5


# --------------------------------------------------------------------------- evidence grade


def _est(n_t: int, n_c: int, lo: float = 0.05, hi: float = 0.25) -> Estimate:
    return Estimate(method="survival", estimate=(lo + hi) / 2, std_error=(hi - lo) / 3.92, ci_low=lo, ci_high=hi, p_value=0.01,
                    n_treated=n_t, n_comparison=n_c, strength="moderate", assumptions=())


def _surv(**kw: object) -> dict[str, object]:
    return {"kind": "retention", "horizon_days": 90, "covariates": [], "followed_to_horizon": {"participants": 0.9, "comparison": 0.9},
            "ph_test": {"p_value": 0.5}, **kw}


def _grade(est: Estimate, surv: dict[str, object], covariate_smd: dict[str, float] | None = None) -> tuple[str, list[str]]:
    g = grade_evidence(est, design="survival", baseline_smd=None, pre_trend_p=None, participants=est.n_treated, with_outcome=est.n_treated,
                       break_even_effect=None, covariate_smd=covariate_smd, survival=surv)
    return g.grade, g.reasons


def test_survival_grades_honestly() -> None:
    assert _grade(_est(100, 100), _surv())[0] == "moderate"
    assert _grade(_est(8, 100), _surv())[0] == "insufficient"
    assert _grade(_est(100, 9), _surv())[0] == "insufficient"
    grade, reasons = _grade(_est(100, 100), _surv(), {"skill": 0.4})
    assert grade == "weak" and any("does not adjust" in r for r in reasons)
    assert _grade(_est(100, 100), _surv(covariates=["skill"]), {"skill": 0.4})[0] == "moderate"
    assert _grade(_est(100, 100), _surv(followed_to_horizon={"participants": 0.3, "comparison": 0.9}))[0] == "weak"
    grade, reasons = _grade(_est(100, 100), _surv(ph_test={"p_value": 0.01}))
    assert grade == "moderate" and any("not proportional" in r for r in reasons)
    assert _grade(_est(100, 100, lo=-0.3, hi=0.4), _surv())[1][-1].startswith("Imprecise")


def test_km_interval_is_within_zero_and_one() -> None:
    curve = km_curve(ROSSI["week"].to_numpy(float), ROSSI["arrest"].to_numpy(bool))
    assert ((curve["ci_low"] >= 0) & (curve["ci_low"] <= curve["survival"]) & (curve["survival"] <= curve["ci_high"]) & (curve["ci_high"] <= 1)).all()
    with pytest.raises(InsufficientDataError):
        cox_hazard_ratio(_rossi_frame().assign(event=False), [])


def test_validate_warns_about_too_few_people_to_follow(make_workspace) -> None:
    from lopsnb.evaluation.checks import design_checks
    from lopsnb.io.workspace import load_workspace

    ws = load_workspace(make_workspace(program=SURVIVAL_YML, **_cohort(16)))
    problems = design_checks(ws, ws.program("demo"))
    assert [p.column for p in problems] == ["person_id", "evaluation.comparison"]
    assert problems[0].found == "8 participants to follow"


def test_a_program_slice_keeps_the_event_kpi() -> None:
    from lopsnb.io.cache import program_metrics

    text = SURVIVAL_YML.replace("outcome: retention", "event: {metric: units_per_hour, reaches: 40}")
    assert "units_per_hour" in program_metrics([Program.model_validate(yaml.safe_load(text))])


def test_late_enrolment_from_hire_date_is_flagged_as_immortal_time(make_workspace) -> None:
    tables = _cohort(200)
    enr = tables["enrollments"].copy()
    later = pd.to_datetime(enr["enrolled_on"]) + pd.Timedelta(days=120)
    enr["enrolled_on"] = later.dt.strftime("%Y-%m-%d")
    enr["completed_on"] = enr["enrolled_on"]
    ev = evaluate(make_workspace(program=SURVIVAL_YML, enrollments=enr, **{k: v for k, v in tables.items() if k != "enrollments"}), "demo")
    sv = ev.impact.survival  # type: ignore[union-attr]
    assert sv.late_enrolled == len(enr)
    assert ev.evidence.grade == "weak" and any("immortal time" in r for r in ev.evidence.reasons)
    assert ev.to_dict()["results"]["survival"]["late_enrolled"] == len(enr)
