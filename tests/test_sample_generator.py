"""Tests of the deterministic sample-data generator ``lopsnb.io.sample``.

``data_samples/generate.py`` is a thin script around it (default target
``data_samples/acme``).  Generations are cached per (people, extra) in a
session temp folder to keep the file fast.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lopsnb.io import sample as gen

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "data_samples" / "generate.py"
COMMITTED = ROOT / "data_samples" / "acme"

CONTRACT = {
    "people": ["person_id", "name", "org_unit", "role", "location", "manager_id", "hire_date", "hourly_cost", "email"],
    "enrollments": ["person_id", "program_id", "enrolled_on", "completed_on", "status", "hours"],
    "reactions": ["program_id", "item", "score", "scale_max", "person_id", "responded_on", "comment"],
    "assessments": ["person_id", "program_id", "phase", "score", "max_score", "taken_on"],
    "behaviors": ["person_id", "program_id", "behavior", "value", "observed_on", "observer"],
    "kpis": ["entity_id", "metric", "period", "value"],
    "costs": ["program_id", "category", "amount", "description", "prorate_share"],
    "estimates": ["person_id", "program_id", "metric", "improvement", "attribution", "confidence"],
    "scorecards": ["respondent_id", "group", "scorecard", "category", "score", "period"],
    "requests": ["request_id", "requested_on", "decided_on", "delivered_on", "status", "priority", "business_goal", "program_id",
                 "sla_days"],
}
COST_CATEGORIES = {"needs_assessment", "design_development", "acquisition", "delivery", "materials", "facilities",
                   "participant_time", "evaluation", "overhead", "other"}
PROGRAM_KEYS = {"id", "name", "owner", "business_goal", "launch", "evaluate", "chain", "reaction", "learning", "evaluation",
                "monetization", "intangibles", "privacy"}
SHARE_METRICS = {"win_rate", "turnover_90d", "forecast_accuracy", "shipping_efficiency", "inventory_accuracy", "on_time_delivery_rate"}
SEVEN = {"sales-enablement", "new-hire-onboarding", "inventory-planning", "leadership-development", "safety-compliance",
         "time-management", "ai-assistant-pilot"}
#: The evaluated sample programs: the seven KPI programs, the one-line pilot (synthetic control) and the retention (survival) program.
EVALUATED = SEVEN | {"plant-pilot", "onboarding-retention"}


def _load_script():
    spec = importlib.util.spec_from_file_location("acme_generate", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_script_is_the_package_generator():
    script = _load_script()
    assert script.generate is gen.generate and script.DEFAULT_SEED == gen.DEFAULT_SEED


@pytest.fixture(scope="module")
def make(tmp_path_factory):
    cache: dict[tuple, Path] = {}

    def _make(people: int = 400, seed: int = gen.DEFAULT_SEED, extra: int = 0, tag: str = "") -> Path:
        key = (people, seed, extra, tag)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"acme_{people}_{seed}_{extra}{tag}")
            gen.generate(out, people=people, seed=seed, extra_programs=extra)
            cache[key] = out
        return cache[key]

    return _make


def _files(folder: Path) -> dict[str, bytes]:
    # Hidden folders are not generated data: `lopsnb run` keeps its validated
    # cache in <workspace>/.lopsnb-cache (git-ignored) after `make demo`.
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype={"person_id": str, "manager_id": str, "entity_id": str})


def test_same_seed_gives_identical_bytes(make):
    a, b = make(tag="a"), make(tag="b")
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys()
    assert [k for k in fa if fa[k] != fb[k]] == []


def test_other_seed_changes_data(make):
    a, c = _files(make()), _files(make(seed=7))
    assert a["kpis.csv"] != c["kpis.csv"]
    assert json.loads(c["truth.json"])["seed"] == 7


@pytest.mark.parametrize("people", [400, 2600])
def test_contract_and_integrity(make, people):
    ws = make(people=people)
    t = {name: _read(ws, name) for name in CONTRACT}
    for name, cols in CONTRACT.items():
        assert set(cols) <= set(t[name].columns), name
    p, e, k = t["people"], t["enrollments"], t["kpis"]
    assert len(p) == people
    assert p["person_id"].is_unique and p["email"].is_unique
    assert p["person_id"].str.fullmatch(r"P\d{6}").all()
    assert p["email"].str.endswith("@acme.example").all()
    assert p["manager_id"].dropna().isin(p["person_id"]).all()
    assert (p["hourly_cost"] >= 0).all()
    # referential integrity and uniqueness keys of the contract
    for name in ("enrollments", "reactions", "assessments", "behaviors", "estimates"):
        assert t[name]["person_id"].dropna().isin(p["person_id"]).all(), name
    assert not e.duplicated(["person_id", "program_id"]).any()
    assert not k.duplicated(["entity_id", "metric", "period"]).any()
    assert k["entity_id"].isin(set(p["person_id"]) | set(p["org_unit"])).all()
    prog_files = {f.stem for f in (ws / "programs").glob("*.yml")}
    for name in ("enrollments", "reactions", "assessments", "behaviors", "costs", "estimates"):
        assert set(t[name]["program_id"]) <= prog_files, name
    # dates: completion after enrollment, enrollment after hire, KPI periods are the 24 month starts
    enr = e.merge(p[["person_id", "hire_date"]], on="person_id")
    done = enr["completed_on"].notna()
    assert (enr.loc[done, "completed_on"] >= enr.loc[done, "enrolled_on"]).all()
    assert (enr["enrolled_on"] >= enr["hire_date"]).all()
    assert set(e["status"]) <= {"enrolled", "in_progress", "completed", "dropped"}
    assert (done == (e["status"] == "completed")).all()
    assert (e["hours"] >= 0).all()
    monthly = k[k["metric"] != "internal_promotions"]["period"]
    assert sorted(monthly.unique()) == [str(d) for d in pd.date_range("2024-11-01", "2026-10-01", freq="MS").date]
    # value ranges
    assert (t["costs"]["amount"] >= 0).all() and set(t["costs"]["category"]) <= COST_CATEGORIES
    assert t["costs"]["prorate_share"].between(0, 1).all()
    assert (k["value"] >= 0).all()
    assert k.loc[k["metric"].isin(SHARE_METRICS), "value"].between(0, 1).all()
    assert t["behaviors"]["value"].between(0, 1).all()
    assert set(t["behaviors"]["observer"]) <= {"self", "manager", "peer"}
    a = t["assessments"]
    assert (a["score"] <= a["max_score"]).all() and (a["score"] >= 0).all()
    assert set(a["phase"]) == {"pre", "post", "followup"}
    r = t["reactions"]
    assert (r["score"] <= r["scale_max"]).all() and set(r["scale_max"]) == {5, 10}
    s = t["estimates"]
    assert s["attribution"].between(0, 1).all() and s["confidence"].between(0, 1).all()
    sc = t["scorecards"]
    assert sc["score"].between(1, 5).all() and set(sc["group"]) == {"employee", "leader"}
    assert sc["respondent_id"].isin(p["person_id"]).all()
    assert not sc.duplicated(["respondent_id", "scorecard", "category", "period"]).any()
    rq = t["requests"]
    assert rq["request_id"].is_unique and set(rq["program_id"].dropna()) <= prog_files
    assert set(rq["status"]) <= {"new", "approved", "in_progress", "delivered", "rejected", "cancelled"}
    assert ((rq["status"] == "delivered") == rq["delivered_on"].notna()).all()
    assert (rq["delivered_on"].dropna() >= rq.loc[rq["delivered_on"].notna(), "decided_on"]).all()


def test_program_files_follow_schema(make):
    ws = make(extra=2)
    truth = json.loads((ws / "truth.json").read_text())
    metrics = set(_read(ws, "kpis")["metric"])
    for f in sorted((ws / "programs").glob("*.yml")):
        doc = yaml.safe_load(f.read_text())
        assert doc["id"] == f.stem
        assert set(doc) <= PROGRAM_KEYS, f.name
        ev = doc.get("evaluation")
        if ev:
            # A survival outcome is built from people.termination_date, not from a KPI.
            assert ev["outcome"] in metrics or (ev["design"] == "survival" and ev["outcome"] == "retention")
    assert set(truth["programs"]) == EVALUATED | {"bench-001", "bench-002"}
    try:
        from lopsnb.io.programs import load_program
    except ImportError:  # pragma: no cover - package module not available
        pytest.skip("lopsnb.io.programs not importable")
    for pid in truth["programs"]:
        assert load_program(ws / "programs" / f"{pid}.yml").id == pid


def test_plant_pilot_treats_one_line_with_many_donors(acme):
    """One line took the pilot (all of its people completed); the pilot's KPI covers every line, the donors."""
    p, e, k = acme["people"], acme["enrollments"], acme["kpis"]
    tr = acme["truth"]["programs"]["plant-pilot"]
    done = e[(e["program_id"] == "plant-pilot") & (e["status"] == "completed")].merge(p[["person_id", "org_unit"]])
    assert set(done["org_unit"]) == {tr["treated_unit"]}
    assert len(done) == (p["org_unit"] == tr["treated_unit"]).sum()
    lines = set(k.loc[k["metric"] == tr["outcome"], "entity_id"])
    assert tr["treated_unit"] in lines and len(lines - {tr["treated_unit"]}) == tr["n_donors"] >= 19
    assert lines <= set(p.loc[p["role"] == "Line Supervisor", "org_unit"])


def test_plant_pilot_truth_by_a_plain_did_on_its_plant(acme):
    """Independent check of the planted +3: the pilot line against the other lines of its plant (they share its shocks)."""
    k, tr = acme["kpis"], acme["truth"]["programs"]["plant-pilot"]
    k = k[k["metric"] == tr["outcome"]]
    plant = tr["treated_unit"].split("-")[0]
    peers = {u for u in k["entity_id"] if u.startswith(plant + "-")} - {tr["treated_unit"]}
    est, _ = _did(k, tr["outcome"], {tr["treated_unit"]}, peers, ("2024-11-01", "2025-12-31"), ("2026-03-01", "2026-10-31"))
    assert abs(est - tr["true_effect"]) < 1.0


def test_extra_programs_leave_base_data_unchanged(make):
    base, extra = _files(make()), _files(make(extra=2))
    assert base["people.csv"] == extra["people.csv"]
    assert base["programs/sales-enablement.yml"] == extra["programs/sales-enablement.yml"]


def test_too_few_people_is_rejected():
    with pytest.raises(ValueError, match="at least"):
        gen.generate("/nonexistent-never-written", people=10)


def test_committed_workspace_is_a_fresh_default_generation(make):
    assert COMMITTED.is_dir(), "run: python data_samples/generate.py"
    fresh = make(people=gen.DEFAULT_PEOPLE)
    committed, new = _files(COMMITTED), _files(fresh)
    assert committed.keys() == new.keys()
    assert [k for k in new if committed[k] != new[k]] == []
    # A size budget for the repository (and for `lopsnb demo`, which writes it): 9 evaluated programs fit in 6.5 MB.
    assert sum(len(v) for v in committed.values()) < 6_500_000


# ---- the planted truth is recoverable by plain, independent computations on the committed data ----


@pytest.fixture(scope="module")
def acme():
    t = {name: _read(COMMITTED, name) for name in ("people", "enrollments", "kpis", "estimates")}
    t["truth"] = json.loads((COMMITTED / "truth.json").read_text())
    return t


def test_truth_lists_the_evaluated_programs(acme):
    tr = acme["truth"]
    assert set(tr["programs"]) == EVALUATED
    assert tr["kpi_periods"] == ["2024-11-01", "2026-10-01"]
    for pid, d in tr["programs"].items():
        assert {"entity", "outcome", "design", "true_effect", "true_effect_pct", "n_participants", "performance_metrics", "notes"} <= set(d)
    p = tr["programs"]
    assert p["sales-enablement"]["true_effect"] == pytest.approx(1240)
    assert p["new-hire-onboarding"]["true_effect"] == pytest.approx(-25)
    assert p["inventory-planning"]["true_effect"] == pytest.approx(-3.5)
    assert p["safety-compliance"]["true_effect"] == pytest.approx(-0.6)
    assert p["leadership-development"]["true_effect"] == pytest.approx(0.3)
    assert p["time-management"]["true_effect"] == 0
    assert p["ai-assistant-pilot"]["n_participants"] == 6
    assert p["plant-pilot"]["true_effect"] == pytest.approx(3.0) and p["plant-pilot"]["n_participants"] == 1


def _did(k, metric, part, comp, baseline, followup):
    k = k[k["metric"] == metric]
    mb = k[k["period"].between(*baseline)].groupby("entity_id")["value"].mean()
    mf = k[k["period"].between(*followup)].groupby("entity_id")["value"].mean()
    d = (mf - mb).dropna()
    dt, dc = d[d.index.isin(part)], d[d.index.isin(comp)]
    return dt.mean() - dc.mean(), float(np.sqrt(dt.var() / len(dt) + dc.var() / len(dc)))


@pytest.mark.parametrize(
    ("pid", "roles", "baseline", "followup"),
    [
        ("sales-enablement", ["Account Executive"], ("2025-09-01", "2026-02-28"), ("2026-04-01", "2026-09-30")),
        ("time-management", ["Coordinator", "Specialist", "Administrator"], ("2025-07-01", "2025-12-31"), ("2026-03-01", "2026-08-31")),
    ],
)
def test_person_did_recovers_truth(acme, pid, roles, baseline, followup):
    p, e = acme["people"], acme["enrollments"]
    part = set(e[(e["program_id"] == pid) & (e["status"] != "dropped")]["person_id"])
    comp = set(p[p["role"].isin(roles)]["person_id"]) - part
    tr = acme["truth"]["programs"][pid]
    est, se = _did(acme["kpis"], tr["outcome"], part, comp, baseline, followup)
    assert len(part) == tr["n_participants"]
    assert abs(est - tr["true_effect"]) < 2.5 * se


def test_unit_did_and_staggered_cohorts(acme):
    p, e, k = acme["people"], acme["enrollments"], acme["kpis"]
    # inventory-planning: lines where >= half of the people completed
    done = e[(e["program_id"] == "inventory-planning") & (e["status"] == "completed")].merge(p[["person_id", "org_unit"]])
    share = done.groupby("org_unit").size() / p["org_unit"].value_counts()
    part = set(share[share >= 0.5].index)
    lines = set(k[k["metric"] == "days_on_hand"]["entity_id"])
    tr = acme["truth"]["programs"]["inventory-planning"]
    est, se = _did(k, "days_on_hand", part, lines - part, ("2025-08-01", "2026-01-31"), ("2026-03-01", "2026-08-31"))
    assert len(part) == tr["n_participants"] and abs(est - tr["true_effect"]) < 2.5 * se
    # new-hire-onboarding: the completed share crosses 0.2 in the rollout month; pooled cohort DiD vs never-treated
    done = e[(e["program_id"] == "new-hire-onboarding") & (e["status"] == "completed")].merge(p[["person_id", "org_unit"]])
    size = p["org_unit"].value_counts()
    cross = {}
    for unit, g in done.groupby("org_unit"):
        dates = np.sort(g["completed_on"].to_numpy())
        cross[unit] = dates[int(np.ceil(0.2 * size[unit])) - 1][:7]
    tr = acme["truth"]["programs"]["new-hire-onboarding"]
    assert pd.Series(cross).value_counts().sort_index().to_dict() == tr["cohorts"]
    ttp = k[k["metric"] == "time_to_productivity_days"].copy()
    never = set(ttp["entity_id"]) - set(cross)
    ttp["ym"] = pd.PeriodIndex(ttp["period"], freq="M")
    diffs = []
    for cohort in sorted(set(cross.values())):
        c = pd.Period(cohort, freq="M")
        rel = (ttp["ym"] - c).map(lambda x: x.n)
        units = [u for u, v in cross.items() if v == cohort]
        m = lambda us, lo, hi: ttp[rel.between(lo, hi) & ttp["entity_id"].isin(us)].groupby("entity_id")["value"].mean()  # noqa: E731
        diffs.append((m(units, 0, 5) - m(units, -6, -1)).mean() - (m(never, 0, 5) - m(never, -6, -1)).mean())
    assert abs(np.mean(diffs) - tr["true_effect"]) < 2.5


def test_safety_trend_and_estimates(acme):
    import statsmodels.api as sm

    k = acme["kpis"]
    s = k[k["metric"] == "incident_rate"].groupby("period")["value"].mean()
    s = s[(s.index <= "2025-10-31") | (s.index >= "2025-12-01")]
    t = np.array([pd.Period(x, freq="M").ordinal for x in s.index], dtype=float)
    X = sm.add_constant(np.column_stack([t - t[0], (s.index >= "2025-12-01").astype(float)]))
    fit = sm.OLS(s.to_numpy(), X).fit(cov_type="HAC", cov_kwds={"maxlags": 3})
    lo, hi = fit.conf_int()[2]
    tr = acme["truth"]["programs"]["safety-compliance"]
    assert lo <= tr["true_effect"] <= hi
    assert tr["naive_before_after"] < 1.8 * tr["true_effect"]  # before/after also credits the trend
    # leadership: Q3 + 3 IQR drops exactly the extreme claim; conservative mean over all participants ~ truth
    est = acme["estimates"]
    adj = est["improvement"] * est["attribution"] * est["confidence"]
    q1, q3 = adj.quantile([0.25, 0.75])
    keep = adj <= q3 + 3 * (q3 - q1)
    tr = acme["truth"]["programs"]["leadership-development"]
    assert list(est.loc[~keep, "person_id"]) == [tr["extreme_claim_person"]]
    assert adj[keep].sum() / tr["n_participants"] == pytest.approx(tr["true_effect"], abs=0.01)
    assert adj[keep].mean() > 1.15 * tr["true_effect"]  # respondents over-claim


def test_retention_truth_is_recovered_by_a_hand_computed_kaplan_meier(acme):
    """onboarding-retention: product-limit estimate at 90 days from the committed dates, written out by hand."""
    p, e = acme["people"], acme["enrollments"]
    tr = acme["truth"]["programs"]["onboarding-retention"]
    hired, left = pd.to_datetime(p["hire_date"]), pd.to_datetime(p["termination_date"])
    assert (left.dropna() >= hired[left.notna()]).all() and (left.dropna() <= pd.Timestamp("2026-10-31")).all()
    assert (p["termination_reason"].notna() == left.notna()).all()
    part = set(e.loc[(e["program_id"] == "onboarding-retention") & (e["status"] != "dropped"), "person_id"])
    assert len(part) == tr["n_participants"]
    first, last = hired[p["person_id"].isin(part)].min(), hired[p["person_id"].isin(part)].max()
    pool = p[(p["role"] == "Operations Associate") & hired.between(first, last)]
    days = ((left.fillna(pd.Timestamp("2026-10-31")) - hired).dt.days)[pool.index]
    event = left.notna()[pool.index]

    def km90(idx):
        s = 1.0
        for t in sorted(set(days[idx][event[idx]])):
            if t > 90:
                break
            s *= 1 - ((days[idx] == t) & event[idx]).sum() / (days[idx] >= t).sum()
        return s

    treated = pool["person_id"].isin(part)
    s1, s0 = km90(treated[treated].index), km90(treated[~treated].index)
    se = np.sqrt(s1 * (1 - s1) / treated.sum() + s0 * (1 - s0) / (~treated).sum())  # binomial approximation
    assert abs((s1 - s0) - tr["true_effect"]) < 2.5 * se
