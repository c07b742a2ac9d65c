"""Tests of lopsnb.evaluation.evaluate: the sample workspace against its truth, results.json, edge cases.

``data_samples/acme/truth.json`` holds the true effect of every sample program
(simulated potential outcomes, see ``data_samples/generate.py``): the primary
estimate's 95% interval must cover it. The workspace is loaded once per module
and each program evaluated once (cached).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from conftest import PROGRAM_YML, small_tables  # noqa: E402

from lopsnb.evaluation import ImpactResult, ProgramEvaluation, evaluate  # noqa: E402
from lopsnb.io.workspace import Workspace, load_workspace  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data_samples" / "acme"
TRUTH: dict[str, dict[str, Any]] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))["programs"]
SCHEMA_DOC = ROOT / "docs" / "results-schema.md"


@pytest.fixture(scope="module")
def sample_ws() -> Workspace:
    return load_workspace(SAMPLE)


@pytest.fixture(scope="module")
def evaluated(sample_ws: Workspace) -> Callable[[str], ProgramEvaluation]:
    cache: dict[str, ProgramEvaluation] = {}

    def get(pid: str) -> ProgramEvaluation:
        if pid not in cache:
            cache[pid] = evaluate(sample_ws, pid)
        return cache[pid]

    return get


@pytest.fixture(scope="module")
def as_dict(evaluated: Callable[[str], ProgramEvaluation]) -> Callable[[str], dict[str, Any]]:
    cache: dict[str, dict[str, Any]] = {}

    def get(pid: str) -> dict[str, Any]:
        if pid not in cache:
            cache[pid] = evaluated(pid).to_dict()
        return cache[pid]

    return get


# --------------------------------------------------------------------------- truth recovery


@pytest.mark.parametrize("pid", sorted(TRUTH))
def test_primary_interval_covers_the_true_effect(pid: str, evaluated: Callable[[str], ProgramEvaluation]) -> None:
    ev = evaluated(pid)
    assert ev.impact
    primary = ev.impact.primary
    assert primary is not None, ev.impact.failures
    assert primary.method == TRUTH[pid]["design"] == ev.impact.primary_method
    truth = TRUTH[pid]["true_effect"]
    assert primary.ci_low <= truth <= primary.ci_high, (pid, primary.ci_low, primary.estimate, primary.ci_high, truth)


def test_time_management_finds_no_effect_and_no_sure_return(evaluated: Callable[[str], ProgramEvaluation]) -> None:
    ev = evaluated("time-management")
    p = ev.impact.primary  # type: ignore[union-attr]
    assert p is not None and p.ci_low <= 0.0 <= p.ci_high
    roi = ev.roi
    assert roi
    assert (roi.roi_pct is not None and roi.roi_pct < 0) or (roi.roi_interval is not None and roi.roi_interval[0] < 0)


def test_safety_trend_beats_naive_before_after(evaluated: Callable[[str], ProgramEvaluation]) -> None:
    ev = evaluated("safety-compliance")
    est = ev.impact.estimates  # type: ignore[union-attr]
    truth = TRUTH["safety-compliance"]["true_effect"]
    assert abs(est["trend"].estimate - truth) < abs(est["before_after"].estimate - truth)
    # the naive estimate is the one truth.json documents
    assert est["before_after"].estimate == pytest.approx(TRUTH["safety-compliance"]["naive_before_after"], abs=1e-3)


def test_ai_pilot_is_insufficient(evaluated: Callable[[str], ProgramEvaluation]) -> None:
    ev = evaluated("ai-assistant-pilot")
    assert ev.evidence.grade == "insufficient"
    assert any("participating entities" in r for r in ev.evidence.reasons)


def test_plant_pilot_is_a_one_line_synthetic_control(evaluated: Callable[[str], ProgramEvaluation]) -> None:
    ev = evaluated("plant-pilot")
    est = ev.impact.estimates  # type: ignore[union-attr]
    sc, truth = est["synthetic_control"], TRUTH["plant-pilot"]
    assert (sc.n_treated, sc.n_comparison) == (1, truth["n_donors"])
    assert {w["treated_unit"] for w in sc.details["weights"]} == {truth["treated_unit"]}
    # the sdid cross-check covers the truth too; did refuses one unit and points to the pilot designs
    assert est["sdid"].ci_low <= truth["true_effect"] <= est["sdid"].ci_high
    assert "synthetic_control or sdid" in ev.impact.failures["did"]  # type: ignore[union-attr]
    assert ev.evidence.grade == "moderate"
    assert any("One participating unit" in r for r in ev.evidence.reasons)


@pytest.mark.parametrize("pid", sorted(TRUTH))
def test_no_strong_grade_with_imbalance_or_few_participants(pid: str, as_dict: Callable[[str], dict[str, Any]]) -> None:
    d = as_dict(pid)
    res = d["results"]
    smd = res["balance"]["baseline_smd"]
    primary = res["estimates"].get(res["primary_method"])
    # The pilot designs need 10 donors instead of 10 participating units (evidence.py).
    pilot = res["primary_method"] in ("synthetic_control", "sdid")
    few = primary is None or (primary["n_comparison"] if pilot else primary["n_treated"]) < 10
    imbalanced = smd is not None and abs(smd) > 0.25
    if few or imbalanced:
        assert d["evidence"]["grade"] != "strong"
    if few:
        assert d["evidence"]["grade"] == "insufficient"


# --------------------------------------------------------------------------- results.json


REQUIRED_ESTIMATE_KEYS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "n_treated", "n_comparison")
REQUIRED_ROI_KEYS = ("benefits", "costs", "roi_pct", "bcr", "payback_months", "roi_interval", "prob_positive", "conservative_roi_pct")


@pytest.mark.parametrize("pid", sorted(TRUTH))
def test_to_dict_is_strict_json_with_required_keys(pid: str, as_dict: Callable[[str], dict[str, Any]]) -> None:
    d = as_dict(pid)
    text = json.dumps(d, allow_nan=False)  # raises on NaN / inf / numpy types
    assert json.loads(text) == d
    assert d["schema_version"] == 1
    for m, e in d["results"]["estimates"].items():
        assert e["method"] == m
        for k in REQUIRED_ESTIMATE_KEYS:
            assert k in e, (m, k)
    assert "baseline_smd" in d["results"]["balance"]
    assert d["evidence"]["grade"] in ("strong", "moderate", "weak", "insufficient")
    assert d["decision"]["action"] in ("scale", "sustain", "fix", "retire") and d["decision"]["reason"]
    if d["evidence"]["grade"] == "insufficient":
        # No ROI figure on insufficient evidence: "not claimed" with the reason.
        assert d["roi"] == {"available": False, "reason": d["roi"]["reason"]} and d["roi"]["reason"].startswith("not claimed")
        assert d["decision"]["action"] == "fix"
        return
    assert d["roi"]["available"] is True
    for k in REQUIRED_ROI_KEYS:
        assert k in d["roi"], k
    assert len(d["roi"]["roi_interval"]) == 2
    assert isinstance(d["audit"], list) and all(set(a) == {"principle", "action"} for a in d["audit"])


def test_to_dict_is_deterministic(sample_ws: Workspace, as_dict: Callable[[str], dict[str, Any]]) -> None:
    first = json.dumps(as_dict("sales-enablement"), allow_nan=False, sort_keys=True)
    again = json.dumps(evaluate(sample_ws, "sales-enablement").to_dict(), allow_nan=False, sort_keys=True)
    assert first == again


# --- every key of the documented schema exists, every emitted key is documented


def _doc_paths() -> tuple[set[str], set[str]]:
    """(always-present paths, conditional paths) from the key tables of docs/results-schema.md."""
    always: set[str] = set()
    conditional: set[str] = set()
    for line in SCHEMA_DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*`([^`]+)`\s*\|", line)
        if not m:
            continue
        (conditional if "*conditional*" in line else always).add(m.group(1))
    return always, conditional


def _flatten(value: Any, path: str = "") -> set[str]:
    """Normalised key paths: estimate/performance names → <method>/<metric>, list items → []."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if path in ("results.estimates", "performance"):
                k = "<method>" if path == "results.estimates" else "<metric>"
            elif path == "results.staggered.aggregations":
                k = "<type>"
            elif path in ("results.failures",):
                k = "<method>"
            p = f"{path}.{k}" if path else k
            out.add(p)
            out |= _flatten(v, p)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for v in value:
            out |= _flatten(v, path + "[]")
    return out


def _resolve(d: dict[str, Any], path: str) -> bool:
    """Whether ``path`` (with <method>, <metric> and [] wildcards) exists in ``d``."""
    nodes: list[Any] = [d]
    for part in re.split(r"\.(?![^<]*>)", path):
        is_list = part.endswith("[]")
        key = part[:-2] if is_list else part
        nxt: list[Any] = []
        for n in nodes:
            if not isinstance(n, dict):
                return False
            if key.startswith("<"):
                nxt.extend(n.values())
            elif key in n:
                nxt.append(n[key])
            else:
                return False
        if is_list:
            nxt = [item for lst in nxt if isinstance(lst, list) for item in lst]
        nodes = nxt
    return True


def test_schema_doc_keys_exist_in_to_dict(as_dict: Callable[[str], dict[str, Any]]) -> None:
    always, _ = _doc_paths()
    assert len(always) > 100  # the doc really lists the keys
    for must in ("results.estimates.<method>.estimate", "results.balance.baseline_smd", "evidence.grade", "roi.roi_interval", "audit"):
        assert must in always
    d = as_dict("sales-enablement")
    missing = sorted(p for p in always if not _resolve(d, p))
    assert not missing, missing


@pytest.mark.parametrize("pid", sorted(TRUTH))
def test_every_emitted_key_is_documented(pid: str, as_dict: Callable[[str], dict[str, Any]]) -> None:
    always, conditional = _doc_paths()
    documented = always | conditional
    undocumented = sorted(p for p in _flatten(as_dict(pid)) if p not in documented)
    assert not undocumented, undocumented


# --------------------------------------------------------------------------- ROI arithmetic


@pytest.mark.parametrize("pid", sorted(TRUTH))
def test_roi_arithmetic(pid: str, evaluated: Callable[[str], ProgramEvaluation], as_dict: Callable[[str], dict[str, Any]]) -> None:
    ev = evaluated(pid)
    roi, primary, m = ev.roi, ev.impact.primary, ev.program.monetization  # type: ignore[union-attr]
    if ev.evidence.grade == "insufficient":
        roi_row = ev.chain.set_index("level").loc["5 ROI"]
        assert not roi and roi.withheld and roi_row["status"] == "not claimed" and pd.isna(roi_row["value"])
        assert not any("ROI" in a.action and "%" in a.action for a in ev.audit)  # no figure in the audit log either
        return
    assert roi and primary is not None and m is not None
    assert ev.program.evaluation.transform == "none"
    sign = 1.0 if ev.program.direction == "increase" else -1.0
    # A survival outcome (a retained employee) is valued once per participant, not per period and year.
    per, years = (1.0, 1.0) if ev.program.evaluation.design == "survival" else (m.periods_per_year, m.horizon_years)
    expected = sign * primary.estimate * m.value_per_unit * per * primary.n_treated * years
    assert roi.benefits == pytest.approx(expected, rel=1e-12)
    assert roi.annual_benefits == pytest.approx(expected / years, rel=1e-12)
    assert roi.costs == pytest.approx(float(roi.costs_by_category["amount"].sum()), rel=1e-12)
    assert roi.costs > 0
    assert roi.net_benefit == pytest.approx(roi.benefits - roi.costs, rel=1e-12, abs=1e-6)
    assert roi.roi_pct == pytest.approx((roi.benefits - roi.costs) / roi.costs * 100, rel=1e-12)
    assert roi.bcr == pytest.approx(roi.benefits / roi.costs, rel=1e-12)
    if roi.annual_benefits > 0:
        assert roi.payback_months == pytest.approx(roi.costs / (roi.annual_benefits / 12), rel=1e-12)
    else:
        assert roi.payback_months is None
    # break-even: the effect at which benefits equal costs
    assert roi.break_even_effect == pytest.approx(sign * roi.costs / (m.value_per_unit * per * primary.n_treated * years), rel=1e-12)
    # the JSON carries the same figures (rounded to 12 significant digits)
    r = as_dict(pid)["roi"]
    for k in ("benefits", "costs", "roi_pct", "bcr"):
        assert r[k] == pytest.approx(getattr(roi, k), rel=1e-11)
    lo, hi = r["roi_interval"]
    assert lo <= hi and 0.0 <= r["prob_positive"] <= 1.0
    assert r["conservative_roi_pct"] <= r["roi_pct"] + 1e-9


# --------------------------------------------------------------------------- edge cases on tiny workspaces


def test_levels_without_data_are_not_measured(make_workspace: Callable[..., Path]) -> None:
    ws = make_workspace(reactions=None, behaviors=None, assessments=None)
    ev = evaluate(ws, "demo")
    chain = ev.chain.set_index("level")
    assert chain.loc["1 Reaction", "status"] == "not measured"
    assert chain.loc["3 Behavior", "status"] == "not measured"
    assert chain.loc["2 Learning", "status"] == "not measured"
    assert not ev.reaction.measured and not ev.behavior.measured
    d = ev.to_dict()
    json.dumps(d, allow_nan=False)
    assert "not measured: reaction, learning, behavior" in d["audit"][0]["action"]


def test_program_without_monetization_has_no_roi(make_workspace: Callable[..., Path]) -> None:

    ws = make_workspace(program=PROGRAM_YML.split("monetization:")[0])
    ev = evaluate(ws, "demo")
    d = ev.to_dict()
    assert not ev.roi
    assert d["roi"]["available"] is False
    assert "monetization" in d["roi"]["reason"]
    assert ev.chain.set_index("level").loc["5 ROI", "status"] == "not measured"
    json.dumps(d, allow_nan=False)


def test_empty_comparison_group_is_a_failure_not_an_exception(make_workspace: Callable[..., Path]) -> None:

    ws = make_workspace(program=PROGRAM_YML.replace("role: [Rep]", "role: [Astronaut]"))
    ev = evaluate(ws, "demo")
    d = ev.to_dict()
    assert "did" in d["results"]["failures"] and "did" not in d["results"]["estimates"]
    assert "comparison" in d["results"]["failures"]["did"]
    assert d["evidence"]["grade"] == "insufficient"
    assert d["roi"]["available"] is False and "isolat" in d["roi"]["reason"]
    assert d["results"]["balance"]["baseline_smd"] is None
    json.dumps(d, allow_nan=False)


def test_followup_without_data_is_a_failure_not_a_zero_effect(make_workspace: Callable[..., Path]) -> None:
    # Regression test: the KPIs end in May; a followup window after that used to
    # give a did estimate of exactly 0 with SE 0 and an ROI of -100 %.
    prog = PROGRAM_YML.replace("followup: {start: 2026-04-01, end: 2026-05-31}", "followup: {start: 2026-07-01, end: 2026-09-30}")
    ev = evaluate(make_workspace(program=prog), "demo")
    d = ev.to_dict()
    assert "did" in d["results"]["failures"] and d["results"]["estimates"] == {}
    assert d["evidence"]["grade"] == "insufficient"
    assert d["roi"]["available"] is False
    assert list(ev.impact.to_frame().columns)[:3] == ["method", "label", "estimate"]  # type: ignore[union-attr]
    assert "Evidence: INSUFFICIENT" in ev.summary()


def test_zero_cost_rows_are_incomplete_costs_not_fully_loaded(make_workspace: Callable[..., Path]) -> None:
    # Zero amounts and zero hours: nothing was costed. The audit must not say "fully loaded".
    t = small_tables()
    ws = make_workspace(costs=t["costs"].assign(amount=0.0), enrollments=t["enrollments"].assign(hours=0.0))
    ev = evaluate(ws, "demo")
    d = ev.to_dict()
    assert d["roi"]["available"] is False and d["decision"]["action"] == "fix"
    actions = [a["action"] for a in d["audit"]]
    assert not any("fully loaded" in a for a in actions)
    assert any(a.startswith("costs incomplete") for a in actions)
    assert ev.chain.set_index("level").loc["5 ROI", "status"] == "not claimed"


def test_tiny_workspace_effect_is_exact(make_workspace: Callable[..., Path]) -> None:
    # conftest KPIs: value = 100 + i + m, plus 10 for participants P00-P02 in
    # April-May. Two-way fixed effects absorb i and m exactly, so DiD = 10.
    ev = evaluate(make_workspace(), "demo")
    did = ev.impact.estimates["did"]  # type: ignore[union-attr]
    assert did.estimate == pytest.approx(10.0, abs=1e-9)
    assert (did.n_treated, did.n_comparison) == (3, 6)  # P03 dropped: excluded from both groups


# --------------------------------------------------------------------------- result objects


def test_result_object_views(evaluated: Callable[[str], ProgramEvaluation]) -> None:
    ev = evaluated("sales-enablement")
    impact = ev.impact
    assert isinstance(impact, ImpactResult)
    for obj in (ev, impact, ev.roi):
        assert isinstance(obj.summary(), str) and obj.summary().strip()
        h = obj._repr_html_()
        assert isinstance(h, str) and h.lstrip().startswith("<")
        assert isinstance(obj.to_frame(), pd.DataFrame) and len(obj.to_frame())
        ax = obj.plot()
        assert isinstance(ax, Axes)
        plt.close(ax.figure)
    fig, given = plt.subplots()
    assert ev.plot(ax=given) is given
    plt.close(fig)
    assert "Evidence: STRONG" in ev.summary()
    assert set(impact.to_frame()["method"]) == {"did", "ancova", "post_only", "before_after"}
    assert impact.to_frame().loc[lambda f: f["primary"], "method"].tolist() == ["did"]


def test_html_escapes_user_text(make_workspace: Callable[..., Path]) -> None:

    ws = make_workspace(program=PROGRAM_YML.replace("name: Demo Program", 'name: "<script>x</script>"'))
    ev = evaluate(ws, "demo")
    h = ev._repr_html_()
    assert "<script>" not in h and "&lt;script&gt;" in h
    assert math.isfinite(ev.impact.primary.estimate)  # type: ignore[union-attr]


def test_log_transform_reports_percent_effects(sample_ws: Workspace) -> None:
    """On log outcomes the effect reads as % change; it must agree with the additive truth.

    truth.json records sales-enablement's effect both in USD and as a % of the
    participants' baseline mean; the log-model's % effect must cover the latter,
    and ROI must convert the % back to money at the participants' baseline level.
    """
    truth = json.loads((SAMPLE / "truth.json").read_text())["programs"]["sales-enablement"]
    prog = sample_ws.program("sales-enablement")
    logged = prog.model_copy(update={"evaluation": prog.evaluation.model_copy(update={"transform": "log"})})
    ev = evaluate(sample_ws, "sales-enablement", program=logged)
    did = ev.to_dict()["results"]["estimates"]["did"]
    assert did["transform"] == "log"
    assert did["pct_effect"] == pytest.approx(math.expm1(did["estimate"]) * 100)
    assert did["pct_ci_low"] <= truth["true_effect_pct"] <= did["pct_ci_high"]
    additive = evaluate(sample_ws, "sales-enablement").roi
    assert ev.roi and additive is not None
    # Same program, two scales: the money benefits agree within the intervals' precision (±15%).
    assert ev.roi.benefits == pytest.approx(additive.benefits, rel=0.15)
