"""The covariate-adjusted designs through ``evaluate`` on the sample workspace.

The estimates are re-computed from the panel's entity table with the
independent ``moderndid`` port of DRDID (``drdid_panel``,
``drdid_imp_panel``, ``std_ipw_did_panel``, ``reg_did_panel``) and, for the
staggered design, ``moderndid.att_gt(xformla=..., est_method="dr")``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lopsnb.evaluation.evaluate import evaluate
from lopsnb.evaluation.panel import build_panel
from lopsnb.io.programs import Evaluation, Program
from lopsnb.io.workspace import Workspace, load_workspace

md = pytest.importorskip("moderndid")

SAMPLE = Path(__file__).resolve().parents[2] / "data_samples" / "acme"


@pytest.fixture(scope="module")
def ws() -> Workspace:
    return load_workspace(SAMPLE)


def _program(ws: Workspace, pid: str, **changes: Any) -> Program:
    prog = ws.program(pid)
    ev = Evaluation.model_validate({**prog.evaluation.model_dump(), **changes})
    return prog.model_copy(update={"evaluation": ev})


@pytest.fixture(scope="module")
def dr_eval(ws: Workspace):
    prog = _program(ws, "sales-enablement", design="dr_did", also=("ipw_did", "reg_did", "weighting", "did"))
    return prog, evaluate(ws, "sales-enablement", program=prog)


def _entity_inputs(ws: Workspace, prog: Program) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ents = build_panel(ws, prog).entities.dropna(subset=["baseline", "followup", "tenure_years"])
    x = np.column_stack([np.ones(len(ents)), ents["tenure_years"].to_numpy(float)])
    return ents["followup"].to_numpy(float), ents["baseline"].to_numpy(float), ents["treated"].to_numpy(float), x


def test_dr_designs_match_moderndid(ws: Workspace, dr_eval) -> None:
    prog, ev = dr_eval
    y1, y0, d, x = _entity_inputs(ws, prog)
    est = ev.impact.estimates
    for method, ref in (("dr_did", md.drdid_panel), ("ipw_did", md.std_ipw_did_panel), ("reg_did", md.reg_did_panel)):
        other = ref(y1, y0, d, x)
        assert est[method].estimate == pytest.approx(other.att, rel=1e-6), method
        assert est[method].std_error == pytest.approx(other.se, rel=1e-6), method
        assert est[method].details["covariates"] == ["tenure_years"]
        assert est[method].n_treated == int(d.sum()) and est[method].n_comparison == int((1 - d).sum())
    # weighting: AIPW on the followup level with the baseline outcome as a covariate.
    other = md.drdid_panel(y1, np.zeros_like(y1), d, np.column_stack([x, y0]))
    assert est["weighting"].estimate == pytest.approx(other.att, rel=1e-6)
    assert est["weighting"].details["design_columns"] == ["tenure_years", "baseline revenue_per_rep"]
    assert est["did"].details["covariates"] == []  # TWFE did says it used none
    assert est["dr_did"].details["estimator"] == "traditional"


def test_dr_did_improved_is_configurable(ws: Workspace) -> None:
    prog = _program(ws, "sales-enablement", design="dr_did", also=(), dr_estimator="improved")
    ev = evaluate(ws, "sales-enablement", program=prog)
    y1, y0, d, x = _entity_inputs(ws, prog)
    assert ev.impact.primary.details["estimator"] == "improved"
    assert ev.impact.primary.estimate == pytest.approx(md.drdid_imp_panel(y1, y0, d, x).att, rel=1e-6)


def test_overlap_and_weighted_balance_in_results(dr_eval) -> None:
    _, ev = dr_eval
    d = ev.to_dict()
    json.dumps(d, allow_nan=False)
    ov = d["results"]["overlap"]
    assert ov["method"] == "dr_did" and "0.995" in ov["trim_rule"]
    assert sum(ov["histogram"]["treated"]) == ev.impact.primary.n_treated
    bal = d["results"]["balance_weighted"]
    assert [r["variable"] for r in bal] == ["tenure_years"]
    assert abs(bal[0]["smd_weighted"]) <= abs(bal[0]["smd"]) + 1e-12


def test_weighting_is_graded_at_most_moderate(ws: Workspace) -> None:
    prog = _program(ws, "sales-enablement", design="weighting", also=())
    ev = evaluate(ws, "sales-enablement", program=prog)
    assert ev.impact.primary is not None and ev.impact.primary.strength == "moderate"
    assert ev.evidence.grade in ("moderate", "weak", "insufficient")
    assert any("background variables capture" in r for r in ev.evidence.reasons)


def test_weighting_without_baseline_window(ws: Workspace) -> None:
    prog = _program(ws, "sales-enablement", design="weighting", also=(), baseline=None)
    ev = evaluate(ws, "sales-enablement", program=prog)
    e = ev.impact.primary
    assert e is not None and e.details["design_columns"] == ["tenure_years"]


def test_staggered_with_covariates_is_doubly_robust_and_says_so(ws: Workspace) -> None:
    prog = _program(ws, "new-hire-onboarding", covariates=("tenure_years",), control_group="not_yet_treated")
    ev = evaluate(ws, "new-hire-onboarding", program=prog)
    e = ev.impact.primary
    assert e.details["covariates"] == ["tenure_years"] and e.details["covariate_adjustment"].startswith("doubly robust")
    assert e.details["control_group"] == "not_yet_treated" and e.details["control_group_rule"] == "set in evaluation.control_group"
    st = ev.to_dict()["results"]["staggered"]
    assert set(st["aggregations"]) == {"simple", "dynamic", "group", "calendar"}
    # Independent: moderndid att_gt on the same panel (org-unit covariate = mean tenure).
    panel = build_panel(ws, prog)
    obs = panel.obs.join(panel.entities[["tenure_years"]], on="entity_id")
    obs = obs.assign(g=obs["cohort"].where(obs["treated"]).fillna(0).astype(int), id=pd.factorize(obs["entity_id"])[0] + 1)
    ref = md.att_gt(obs[["id", "pidx", "value", "g", "tenure_years"]], yname="value", tname="pidx", idname="id", gname="g",
                    xformla="~tenure_years", est_method="dr", boot=False, cband=False, control_group="notyettreated")
    gt = ev.impact.staggered.group_time.sort_values(["cohort", "period"])
    np.testing.assert_allclose(gt["estimate"], np.asarray(ref.att_gt), atol=1e-8)
    agg = md.aggte(ref, type="group", boot=False, cband=False)
    assert st["aggregations"]["group"]["overall"]["estimate"] == pytest.approx(agg.overall_att, abs=1e-8)


def test_staggered_default_control_group_is_stated(ws: Workspace) -> None:
    ev = evaluate(ws, "new-hire-onboarding")
    e = ev.impact.primary
    assert e.details["control_group_rule"].startswith("automatic") and e.details["covariates"] == []
    assert e.details["covariate_adjustment"].startswith("none")


def test_program_rejects_offsets_for_dr_did_and_weighting_without_followup() -> None:
    with pytest.raises(ValueError, match="date windows"):
        Evaluation(design="dr_did", baseline={"offset": [-3, -1]}, followup={"offset": [0, 2]})
    with pytest.raises(ValueError, match="followup"):
        Evaluation(design="weighting")


def test_universal_base_period_event_study_for_sensitivity(ws: Workspace) -> None:
    from lopsnb.evaluation.covariate_designs import staggered_estimate

    panel = build_panel(ws, ws.program("new-hire-onboarding"))
    _, varying = staggered_estimate(panel)
    _, universal = staggered_estimate(panel, base_period="universal")
    es = universal.event_study.set_index("relative_period")
    assert universal.base_period == "universal" and es.loc[-1, "estimate"] == 0.0
    assert universal.event_vcov.shape == (len(es), len(es))
    # Post-treatment cells do not depend on the base-period choice.
    post_v = varying.event_study.query("relative_period >= 0")["estimate"].to_numpy()
    np.testing.assert_allclose(es.loc[es.index >= 0, "estimate"].to_numpy(), post_v, atol=1e-12)
    assert universal.estimate == pytest.approx(varying.estimate, abs=1e-12)


def test_report_overlap_section(ws: Workspace, dr_eval) -> None:
    from lopsnb.report.sections import overlap_section

    _, ev = dr_eval
    html = overlap_section(ev)
    assert "0.995" in html and "Balance after weighting" in html and "tenure_years" in html
    assert overlap_section(evaluate(ws, "sales-enablement")) == ""  # did only: no weighting design
    strict = ev.program.model_copy(update={"privacy": ev.program.privacy.model_copy(update={"min_group_size": 10_000})})
    hidden = overlap_section(ev.__class__(**{**ev.__dict__, "program": strict}))
    assert "suppressed" in hidden and "7.06" not in hidden
