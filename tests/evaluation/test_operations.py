"""Tests of lopsnb.evaluation.operations on a hand-made request log with known answers, the loader and the notebook."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from lopsnb.evaluation.culture import scorecard_summary
from lopsnb.errors import EvaluationError, ValidationError
from conftest import execute_page
from lopsnb.io.workspace import load_workspace
from lopsnb.evaluation.operations import PARTS, operations_summary, program_evidence_grades, recorded_spend

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data_samples" / "acme"
NOTEBOOK = ROOT / "notebooks" / "operations.ipynb"
NaT = None  # a blank date

# id, requested, decided, delivered, status, priority, goal, program, sla
LOG = [
    ("R1", "2026-01-05", "2026-01-10", "2026-02-04", "delivered", "high", "Grow revenue", "demo", 30),    # 30 d, met
    ("R2", "2026-01-10", "2026-01-12", "2026-03-01", "delivered", "medium", "", None, 40),             # 50 d, missed
    ("R3", "2026-01-20", "2026-01-25", "2026-02-09", "delivered", "high", "Grow revenue", None, None),  # 20 d, no SLA
    ("R4", "2026-02-01", "2026-02-03", NaT, "rejected", "low", None, None, None),                      # closes 02-03
    ("R5", "2026-02-10", NaT, NaT, "new", "low", "Cut churn", None, None),                             # open
    ("R6", "2026-02-15", "2026-02-20", NaT, "in_progress", "high", "Grow revenue", "demo", 60),       # open
    ("R7", "2026-03-01", NaT, NaT, "cancelled", "low", None, None, None),                              # undated closure
    ("R8", "2026-03-05", "2026-03-06", "2026-03-25", "delivered", "medium", "Cut churn", None, 30),     # 20 d, met
]


def _log() -> pd.DataFrame:
    df = pd.DataFrame(LOG, columns=["request_id", "requested_on", "decided_on", "delivered_on", "status", "priority",
                                    "business_goal", "program_id", "sla_days"])
    for c in ("requested_on", "decided_on", "delivered_on"):
        df[c] = pd.to_datetime(df[c])
    df["sla_days"] = df["sla_days"].astype("float64")
    return df


COSTS = pd.DataFrame({
    "program_id": ["demo", "demo", "other", "catalog"],
    "category": ["delivery", "materials", "delivery", "acquisition"],
    "amount": [1000.0, 200.0, 1000.0, 300.0],
    "prorate_share": [1.0, np.nan, 0.5, 1.0],
})


@pytest.fixture(scope="module")
def result():
    enr = pd.DataFrame({"status": ["completed"] * 3 + ["dropped", "in_progress"]})
    sc = pd.DataFrame({"respondent_id": [f"E{i}" for i in range(6)], "group": "employee", "scorecard": "experience",
                       "category": "access_to_learning", "score": [3.0, 4, 4, 5, 2, 3], "period": pd.Timestamp("2026-02-01")})
    return operations_summary(_log(), costs=COSTS, evidence_grades={"demo": "strong", "other": "weak"}, enrollments=enr,
                              experience=scorecard_summary(sc), as_of="2026-03-31")


def test_alignment_shares_with_wilson_ci(result):
    m = result.metrics.set_index("metric")
    assert m.at["goal_share", "value"] == pytest.approx(5 / 8) and m.at["goal_share", "n"] == 8
    assert (m.at["goal_share", "low"], m.at["goal_share", "high"]) == pytest.approx(proportion_confint(5, 8, method="wilson"), abs=1e-9)
    assert m.at["delivered_goal_share", "value"] == pytest.approx(3 / 4)
    assert set(result.metrics["part"]) == set(PARTS)


def test_cycle_time_median_iqr_and_decision_time(result):
    m = result.metrics.set_index("metric")
    days = [30, 50, 20, 20]
    assert m.at["cycle_time_median", "value"] == 25
    assert (m.at["cycle_time_median", "low"], m.at["cycle_time_median", "high"]) == (20, 35)
    assert tuple(np.quantile(days, [0.25, 0.75])) == (20, 35)
    assert m.at["decision_time_median", "value"] == 3.5 and m.at["decision_time_median", "n"] == 6
    c = result.cycle.set_index("priority")
    assert list(result.cycle["priority"]) == ["high", "medium", "all"]
    assert c.at["high", "median_days"] == 25 and c.at["medium", "median_days"] == 35


def test_sla_adherence(result):
    m = result.metrics.set_index("metric")
    assert m.at["sla_adherence", "value"] == pytest.approx(2 / 3) and m.at["sla_adherence", "n"] == 3
    assert (m.at["sla_adherence", "low"], m.at["sla_adherence", "high"]) == pytest.approx(proportion_confint(2, 3, method="wilson"), abs=1e-9)
    c = result.cycle.set_index("priority")
    assert (c.at["high", "sla_n"], c.at["high", "sla_met"], c.at["medium", "sla_met"]) == (1, 1, 1)


def test_backlog_at_month_ends(result):
    b = result.backlog
    assert [str(d.date()) for d in b["month_end"]] == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert b["received"].tolist() == [3, 3, 2]
    assert b["delivered"].tolist() == [0, 2, 2]
    assert b["closed"].tolist() == [0, 3, 2]
    assert b["open"].tolist() == [3, 3, 2]
    assert result.undated_closed == 1 and result.metric("open_backlog") == 2


def test_backlog_ends_at_as_of_mid_month():
    b = operations_summary(_log(), as_of="2026-02-12").backlog
    assert [str(d.date()) for d in b["month_end"]] == ["2026-01-31", "2026-02-12"]
    # requested by 02-12: R1..R5; closed by then: R1 (02-04), R3 (02-09), R4 (02-03) -> open: R2, R5
    assert b["open"].tolist() == [3, 2]


def test_spend_by_evidence_grade(result):
    s = result.spend.set_index("grade")
    assert s.at["strong", "spend"] == 1200 and s.at["weak", "spend"] == 500 and s.at["not evaluated", "spend"] == 300
    assert s["share"].sum() == pytest.approx(1.0)
    assert result.metric("strong_evidence_spend_share") == pytest.approx(0.6)
    assert result.metric("evaluated_spend_share") == pytest.approx(0.85)
    assert recorded_spend(COSTS).to_dict() == {"catalog": 300.0, "demo": 1200.0, "other": 500.0}


def test_employee_experience_metrics(result):
    m = result.metrics.set_index("metric")
    assert m.at["experience_index", "value"] == pytest.approx(np.mean([3, 4, 4, 5, 2, 3]))
    assert m.at["completion_rate", "value"] == pytest.approx(3 / 4) and m.at["completion_rate", "n"] == 4


def test_headline_is_json_and_plots_return_axes(result):
    import matplotlib.pyplot as plt

    h = json.loads(json.dumps(result.to_dict()))
    assert h["business_alignment"]["goal_share"]["value"] == pytest.approx(0.625)
    assert h["as_of"] == "2026-03-31"
    for kind in ("backlog", "cycle", "spend"):
        fig, ax = plt.subplots()
        assert result.plot(ax=ax, kind=kind) is ax
    with pytest.raises(EvaluationError):
        result.plot(kind="pie")
    plt.close("all")


def test_not_measured_and_bad_grades():
    res = operations_summary(None)
    assert not res.measured and res.metrics["value"].isna().all() and len(res.backlog) == 0
    assert hasattr(res.plot(kind="backlog"), "figure")
    with pytest.raises(EvaluationError, match="grades"):
        operations_summary(_log(), evidence_grades={"demo": "excellent"})


# ---- loader: the requests table in a workspace ----

def _req_csv(**over) -> pd.DataFrame:
    df = pd.DataFrame({
        "request_id": ["R1", "R2", "R3"], "requested_on": ["2026-01-05"] * 3, "decided_on": ["2026-01-10", "", ""],
        "delivered_on": ["2026-02-01", "", ""], "status": ["delivered", "new", "rejected"], "priority": ["high", "low", ""],
        "business_goal": ["Grow", "", ""], "program_id": ["demo", "", ""], "sla_days": [30, "", ""],
    })
    for k, v in over.items():
        df[k] = v
    return df


def test_loader_reads_requests_with_blank_program(make_workspace):
    ws = load_workspace(make_workspace(requests=_req_csv()))
    r = ws.table("requests")
    assert ws.has("requests") and r["program_id"].isna().sum() == 2 and r["requested_on"].dtype.kind == "M"


@pytest.mark.parametrize(
    ("column", "values", "found"),
    [("status", ["delivered", "done", "rejected"], "'done'"),
     ("program_id", ["demo", "ghost", ""], "'ghost'"),
     ("delivered_on", ["2026-02-01", "2025-12-01", ""], "delivered_on=2025-12-01")],
)
def test_loader_rejects_bad_requests(make_workspace, column, values, found):
    with pytest.raises(ValidationError) as err:
        load_workspace(make_workspace(requests=_req_csv(**{column: values})))
    p = [p for p in err.value.problems if p.column == column][0]
    assert p.file.endswith("requests.csv") and p.row == 3 and found in p.found


# ---- the sample workspace and the notebook ----

def test_sample_operations():
    ws = load_workspace(SAMPLE)
    grades = program_evidence_grades(ws)
    assert grades["elearn-excel"] == "not evaluated" and grades["sales-enablement"] == "strong"
    res = operations_summary(ws.table("requests"), costs=ws.table("costs"), evidence_grades=grades)
    assert res.requests == 160 and 0 < res.metric("goal_share") < 1 and 0 < res.metric("strong_evidence_spend_share") < 1
    assert not math.isnan(res.metric("sla_adherence"))



def test_notebook_runs_with_papermill_parameters_and_renders(tmp_path):
    data, executed_text, body = execute_page(NOTEBOOK, tmp_path)
    assert data["page"] == "operations" and data["requests"] == 160
    assert set(PARTS) <= set(data) and data["evidence_grades"]["sales-enablement"] == "strong"
    for heading in ("Business alignment", "Operational efficiency", "Customer (business) value", "Consumer (employee) experience"):
        assert heading in body
    assert "@acme.example" not in executed_text

