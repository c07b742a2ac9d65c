"""evaluate() with one treated org unit: the synthetic_control and sdid designs end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import WorkspaceFactory, small_tables

from lopsnb.evaluation import evaluate
from lopsnb.evaluation.evidence import grade_evidence
from lopsnb.evaluation.methods import Estimate

TRUE_EFFECT = 6.0

PILOT_YML = """\
id: demo
name: Plant pilot
owner: Operations
business_goal: Raise output per plant
launch: 2026-01-05
chain:
  business_metric: {metric: output, direction: increase, unit: units per month}
evaluation:
  entity: org_unit
  baseline: {start: 2025-01-01, end: 2025-12-31}
  followup: {start: 2026-02-01, end: 2026-07-31}
  design: synthetic_control
  also: [sdid, did]
monetization: {value_per_unit: 100.0, periods_per_year: 12}
"""


def _pilot_tables(seed: int = 3) -> dict[str, pd.DataFrame]:
    """24 plants of 2 people each; plant U07 takes the program in January 2026 (true effect +6)."""
    rng = np.random.default_rng(seed)
    base = small_tables()
    units = [f"U{i:02d}" for i in range(24)]
    people = pd.concat([base["people"].iloc[[0]].assign(person_id=f"P{u}{k}", org_unit=u, manager_id="", email=f"{u}{k}@acme.example") for u in units for k in range(2)], ignore_index=True)
    enrollments = pd.DataFrame({"person_id": ["PU070", "PU071"], "program_id": ["demo"] * 2, "enrolled_on": ["2026-01-05"] * 2,
                                "completed_on": ["2026-01-20"] * 2, "status": ["completed"] * 2, "hours": [8, 8]})
    months = pd.date_range("2025-01-01", "2026-07-01", freq="MS")
    trend = np.linspace(0, 9, len(months)) + 3 * np.sin(np.arange(len(months)) / 2)
    rows = []
    for i, u in enumerate(units):
        level, slope = 100 + 2 * i, 0.5 * ((i % 5) - 2)
        for t, m in enumerate(months):
            y = level + slope * t / 6 + trend[t] + rng.normal(0, 0.5) + (TRUE_EFFECT if u == "U07" and m >= pd.Timestamp("2026-02-01") else 0)
            rows.append({"entity_id": u, "metric": "output", "period": m.date().isoformat(), "value": y})
    return {"people": people, "enrollments": enrollments, "kpis": pd.DataFrame(rows), "assessments": None,
            "costs": base["costs"]}


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory):
    import textwrap

    root = tmp_path_factory.mktemp("pilot")
    (root / "programs").mkdir()
    for name, frame in _pilot_tables().items():
        if frame is not None:
            frame.to_csv(root / f"{name}.csv", index=False)
    (root / "programs" / "demo.yml").write_text(textwrap.dedent(PILOT_YML), encoding="utf-8")
    return evaluate(root, "demo")


def test_synthetic_control_recovers_the_effect(pilot) -> None:
    sc = pilot.impact.estimates["synthetic_control"]
    assert sc.n_treated == 1 and sc.n_comparison == 23
    assert sc.ci_low <= TRUE_EFFECT <= sc.ci_high
    assert abs(sc.estimate - TRUE_EFFECT) < 1.5
    assert sc.details["p_value"] == sc.p_value == pytest.approx(1 / 24)
    assert sum(w["weight"] for w in sc.details["weights"]) == pytest.approx(1.0)
    assert {"dropped_donor", "estimate", "pre_rmspe"} <= set(sc.details["loo"][0])


def test_sdid_recovers_the_effect(pilot) -> None:
    sd = pilot.impact.estimates["sdid"]
    assert sd.details["vcov_method"] == "placebo"
    assert sd.ci_low <= TRUE_EFFECT <= sd.ci_high


def test_did_refusal_points_to_the_pilot_designs(pilot) -> None:
    assert "did" not in pilot.impact.estimates
    assert "use design synthetic_control or sdid" in pilot.impact.failures["did"]


def test_one_unit_is_at_most_moderate_and_reasons_cite_the_placebo_p(pilot) -> None:
    assert pilot.evidence.grade == "moderate"
    text = " ".join(pilot.evidence.reasons)
    assert "One participating unit" in text and "permutation p-value is 0.042" in text and "Baseline fit" in text


def test_results_json_and_roi(pilot) -> None:
    doc = json.loads(json.dumps(pilot.to_dict()))
    est = doc["results"]["estimates"]
    assert set(est) >= {"synthetic_control", "sdid"}
    assert est["synthetic_control"]["details"]["rmspe"] > 0
    assert doc["roi"]["available"], doc["roi"]
    assert "synthetic_control" in doc["roi"]["isolation_method"]


def _est(**kw) -> Estimate:
    base = dict(method="synthetic_control", estimate=5.0, std_error=1.0, ci_low=3.0, ci_high=7.0, p_value=0.03, n_treated=1, n_comparison=30,
                strength="strong", assumptions=(), details={"rmspe": 1.0, "fit_ratio": 0.1})
    base.update(kw)
    return Estimate(**base)


@pytest.mark.parametrize(
    ("kw", "grade", "phrase"),
    [
        ({}, "moderate", "One participating unit"),
        ({"details": {"rmspe": 9.0, "fit_ratio": 0.9}}, "weak", "Poor baseline fit"),
        ({"p_value": 0.3}, "weak", "not distinguishable"),
        ({"n_comparison": 6}, "insufficient", "donor units"),
        ({"ci_low": float("nan"), "ci_high": float("nan"), "details": {"rmspe": 1.0, "fit_ratio": 0.1, "interval_reason": "5 placebo donors"}}, "weak", "5 placebo donors"),
        ({"n_treated": 40}, "strong", "weighted donor units"),
    ],
)
def test_pilot_grading_rules(kw, grade, phrase) -> None:
    g = grade_evidence(_est(**kw), design="synthetic_control", baseline_smd=None, pre_trend_p=None, participants=kw.get("n_treated", 1),
                       with_outcome=kw.get("n_treated", 1), break_even_effect=None)
    assert g.grade == grade, g.reasons
    assert phrase in " ".join(g.reasons)


def test_every_emitted_key_is_documented(pilot) -> None:
    import importlib.util
    from pathlib import Path

    # The schema-doc helpers of test_evaluate (one parser of docs/results-schema.md).
    spec = importlib.util.spec_from_file_location("_schema_helpers", Path(__file__).with_name("test_evaluate.py"))
    helpers = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(helpers)  # type: ignore[union-attr]
    always, conditional = helpers._doc_paths()
    undocumented = sorted(p for p in helpers._flatten(json.loads(json.dumps(pilot.to_dict()))) if p not in always | conditional)
    assert not undocumented, undocumented


def test_sdid_for_people(make_workspace: WorkspaceFactory) -> None:
    # conftest's small workspace: revenue = 100 + i + month (+ noise here), +10 for the
    # 3 participants in the followup months; parallel paths, so SDID recovers about 10.
    from conftest import PROGRAM_YML

    kpis = small_tables()["kpis"]
    kpis["value"] = kpis["value"] + np.random.default_rng(0).normal(0, 0.3, len(kpis))
    root = make_workspace(program=PROGRAM_YML.replace("design: did", "design: sdid"), kpis=kpis)
    ev = evaluate(root, "demo")
    assert "sdid" in ev.impact.estimates, ev.impact.failures
    sd = ev.impact.estimates["sdid"]
    assert sd.n_treated == 3 and sd.details["vcov_method"] == "jackknife"
    assert sd.estimate == pytest.approx(10.0, abs=1.0)
    # 6 donors only: no claim is graded.
    assert ev.evidence.grade == "insufficient" and "donor units" in ev.evidence.reasons[0]


def test_sdid_noise_free_data_has_no_jackknife(make_workspace: WorkspaceFactory) -> None:
    # Exactly parallel, noise-free paths: σ̂ = 0, one donor takes all the weight and the
    # fixed-weight jackknife is undefined (R synthdid returns NA): a stated failure, not a crash.
    from conftest import PROGRAM_YML

    ev = evaluate(make_workspace(program=PROGRAM_YML.replace("design: did", "design: sdid")), "demo")
    assert "jackknife" in ev.impact.failures["sdid"]
