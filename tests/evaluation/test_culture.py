"""Tests of lopsnb.evaluation.culture: bands, category CIs, Welch gaps, suppression, trend, loader and the notebook."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lopsnb.evaluation.culture import BAND_EDGES, band, scorecard_summary, welch_gap
from lopsnb.errors import EvaluationError, ValidationError
from conftest import execute_page
from lopsnb.io.workspace import load_workspace

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data_samples" / "acme"
NOTEBOOK = ROOT / "notebooks" / "scorecards.ipynb"


def _rows(group: str, scores: list[float], *, category: str = "time_for_learning", scorecard: str = "support",
          period: str = "2026-02-15", prefix: str | None = None) -> pd.DataFrame:
    prefix = prefix or f"{group[0].upper()}{period[:7]}-"
    return pd.DataFrame({
        "respondent_id": [f"{prefix}{i:03d}" for i in range(len(scores))],
        "group": group, "scorecard": scorecard, "category": category,
        "score": [float(s) for s in scores], "period": pd.Timestamp(period),
    })


EMP = [2, 3, 2, 1, 3, 2, 4, 2, 3, 2]
LEAD = [4, 3, 5, 4, 4, 3]


def _cell(res, group: str, category: str = "time_for_learning", frame: str = "categories") -> pd.Series:
    f = getattr(res, frame)
    return f[(f["group"] == group) & (f["category"] == category)].iloc[0]


# ---- bands ----

@pytest.mark.parametrize(
    ("mean", "expected"),
    [(1.0, "needs significant improvement"), (2.4999, "needs significant improvement"), (2.5, "some progress"),
     (3.4999, "some progress"), (3.5, "strong"), (5.0, "strong"), (math.nan, None)],
)
def test_band_edges(mean, expected):
    assert BAND_EDGES == (2.5, 3.5)
    assert band(mean) == expected


# ---- category means, CIs and gaps against scipy ----

def test_category_mean_ci_matches_scipy_t_interval():
    res = scorecard_summary(pd.concat([_rows("employee", EMP), _rows("leader", LEAD)], ignore_index=True))
    emp = _cell(res, "employee")
    lo, hi = stats.t.interval(0.95, len(EMP) - 1, loc=np.mean(EMP), scale=stats.sem(EMP))
    assert emp["n"] == 10 and emp["mean"] == pytest.approx(np.mean(EMP), abs=1e-12)
    assert (emp["ci_low"], emp["ci_high"]) == pytest.approx((lo, hi), abs=1e-9)
    assert emp["band"] == "needs significant improvement"  # 2.4
    both = _cell(res, "all")
    assert both["n"] == 16 and both["mean"] == pytest.approx(np.mean(EMP + LEAD))
    assert _cell(res, "leader")["band"] == "strong"  # 3.83


def test_gap_is_leader_minus_employee_with_welch_ci_as_scipy():
    res = scorecard_summary(pd.concat([_rows("employee", EMP), _rows("leader", LEAD)], ignore_index=True))
    g = res.gaps.iloc[0]
    t = stats.ttest_ind(LEAD, EMP, equal_var=False)
    ci = t.confidence_interval(0.95)
    assert g["gap"] == pytest.approx(np.mean(LEAD) - np.mean(EMP), abs=1e-12)
    assert (g["ci_low"], g["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert g["df"] == pytest.approx(t.df, abs=1e-9)
    assert g["p_value"] == pytest.approx(t.pvalue, abs=1e-9)
    assert not g["suppressed"] and g["n_employee"] == 10 and g["n_leader"] == 6


def test_welch_gap_degenerate_inputs():
    assert all(math.isnan(v) for v in welch_gap([], [1, 2]))
    d, lo, hi, df, p = welch_gap([3.0], [1.0, 2.0])
    assert d == pytest.approx(1.5) and math.isnan(lo) and math.isnan(p)


def test_repeated_answers_in_a_quarter_count_one_respondent():
    a = _rows("employee", [1, 1, 1, 1, 1], period="2026-01-10", prefix="E")
    b = _rows("employee", [3, 3, 3, 3, 3], period="2026-03-10", prefix="E")  # same people, same quarter
    res = scorecard_summary(pd.concat([a, b], ignore_index=True))
    emp = _cell(res, "employee")
    assert emp["n"] == 5 and emp["mean"] == pytest.approx(2.0) and emp["period"] == "2026Q1"


# ---- suppression ----

def test_small_group_is_suppressed_and_so_are_gap_and_complement():
    res = scorecard_summary(pd.concat([_rows("employee", EMP), _rows("leader", [5, 5, 4])], ignore_index=True))
    lead = _cell(res, "leader")
    assert lead["suppressed"] and lead["n"] == 3
    assert all(math.isnan(lead[c]) for c in ("mean", "sd", "ci_low", "ci_high")) and lead["band"] is None
    # all = employees + 3 leaders would reveal the leaders' mean: hidden too
    assert _cell(res, "all")["suppressed"] and math.isnan(_cell(res, "all")["mean"])
    assert not _cell(res, "employee")["suppressed"]
    g = res.gaps.iloc[0]
    assert g["suppressed"] and math.isnan(g["gap"]) and math.isnan(g["leader_mean"]) and math.isnan(g["ci_low"])
    assert res.headline()["largest_gap"] is None
    # a larger threshold hides the employees as well
    res12 = scorecard_summary(pd.concat([_rows("employee", EMP), _rows("leader", LEAD)], ignore_index=True), min_group_size=12)
    assert _cell(res12, "employee")["suppressed"] and _cell(res12, "leader")["suppressed"] and _cell(res12, "all")["suppressed"]


def test_group_without_respondents_is_listed_as_suppressed():
    res = scorecard_summary(_rows("employee", EMP))
    lead = _cell(res, "leader")
    assert lead["n"] == 0 and lead["suppressed"]
    assert not _cell(res, "all")["suppressed"]  # nobody to reveal


def test_respondent_ids_never_appear_in_outputs():
    res = scorecard_summary(pd.concat([_rows("employee", EMP, prefix="SECRET-"), _rows("leader", LEAD, prefix="HIDDEN-")],
                                      ignore_index=True))
    text = json.dumps(res.to_dict()) + res.summary() + res._repr_html_() + res.trend.to_string() + res.actions.to_string()
    assert "SECRET-" not in text and "HIDDEN-" not in text
    assert "respondent_id" not in res.to_frame().columns


# ---- trend and actions ----

def test_trend_across_quarters_and_action_list():
    q1 = pd.concat([_rows("employee", [2] * 6, period="2026-01-15"), _rows("employee", [4] * 6, category="executive_buy_in",
                                                                           period="2026-01-15")])
    q2 = pd.concat([_rows("employee", [3] * 5 + [2], period="2026-04-15"), _rows("employee", [4, 5] * 3, category="executive_buy_in",
                                                                                  period="2026-04-15")])
    res = scorecard_summary(pd.concat([q1, q2], ignore_index=True), n_actions=1)
    assert res.periods == ["2026Q1", "2026Q2"] and res.period == "2026Q2"
    tr = res.trend[(res.trend["group"] == "employee") & (res.trend["category"] == "time_for_learning")]
    assert tr["period"].tolist() == ["2026Q1", "2026Q2"]
    assert tr["mean"].tolist() == pytest.approx([2.0, 17 / 6])
    assert list(res.actions["category"]) == ["time_for_learning"]
    act = res.actions.iloc[0]
    assert act["change"] == pytest.approx(17 / 6 - 2.0) and act["band"] == "some progress" and act["rank"] == 1
    idx = res.index[(res.index["group"] == "employee") & (res.index["period"] == "2026Q2")].iloc[0]
    # index: mean over respondents of each respondent's mean over categories (ids E2026-04-000.. answered both)
    per_resp = (np.array([3] * 5 + [2]) + np.array([4, 5] * 3)) / 2
    assert idx["mean"] == pytest.approx(per_resp.mean()) and idx["n"] == 6
    earlier = scorecard_summary(pd.concat([q1, q2], ignore_index=True), period="2026Q1")
    assert earlier.period == "2026Q1" and set(earlier.categories["period"]) == {"2026Q1"}


# ---- input errors ----

def test_bad_arguments_and_category_of_the_other_scorecard():
    frame = _rows("employee", EMP)
    with pytest.raises(EvaluationError, match="min_group_size"):
        scorecard_summary(frame, min_group_size=0)
    with pytest.raises(EvaluationError, match="period"):
        scorecard_summary(frame, period="1999Q1")
    bad = frame.assign(scorecard="experience")
    with pytest.raises(ValidationError) as err:
        scorecard_summary(bad)
    assert err.value.problems[0].column == "category" and err.value.problems[0].row == 2


def test_empty_table_is_not_measured_and_plots_still_return_axes():
    res = scorecard_summary(pd.DataFrame(columns=["respondent_id", "group", "scorecard", "category", "score", "period"]))
    assert not res.measured and res.to_dict()["measured"] is False
    for ax in (res.plot(), res.plot_gaps(), res.plot_trend()):
        assert hasattr(ax, "figure")
    with pytest.raises(EvaluationError):
        res.plot(scorecard="nope")


def test_plots_on_data_return_axes():
    import matplotlib.pyplot as plt

    res = scorecard_summary(pd.concat([_rows("employee", EMP), _rows("leader", LEAD)], ignore_index=True))
    fig, axes = plt.subplots(1, 3)
    assert res.plot(ax=axes[0], scorecard="support") is axes[0]
    assert res.plot_gaps(ax=axes[1]) is axes[1]
    assert res.plot_trend(ax=axes[2]) is axes[2]
    plt.close("all")


# ---- loader: the scorecards table in a workspace ----

def _sc_frame(**over) -> pd.DataFrame:
    df = pd.DataFrame({
        "respondent_id": ["P00", "P01", "P02"], "group": ["employee", "employee", "leader"],
        "scorecard": ["experience"] * 3, "category": ["access_to_learning"] * 3, "score": [3, 4, 5],
        "period": ["2026-02-15"] * 3,
    })
    for k, v in over.items():
        df[k] = v
    return df


def test_loader_reads_scorecards(make_workspace):
    ws = load_workspace(make_workspace(scorecards=_sc_frame()))
    assert ws.has("scorecards") and ws.table("scorecards")["score"].tolist() == [3.0, 4.0, 5.0]


@pytest.mark.parametrize(
    ("column", "values", "found"),
    [("score", [3, 7, 5], "7"), ("group", ["employee", "boss", "leader"], "'boss'"), ("category", ["access_to_learning", "vibes", "x"], "'vibes'")],
)
def test_loader_rejects_bad_scorecard_values(make_workspace, column, values, found):
    with pytest.raises(ValidationError) as err:
        load_workspace(make_workspace(scorecards=_sc_frame(**{column: values})))
    p = [p for p in err.value.problems if p.column == column][0]
    assert p.file.endswith("scorecards.csv") and p.row == 3 and found in p.found


# ---- the sample workspace and the notebook ----

def test_sample_first_quarter_leaders_are_suppressed():
    res = scorecard_summary(load_workspace(SAMPLE).table("scorecards"))
    assert res.periods == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    first = res.trend[res.trend["period"] == "2025Q4"]
    assert first.loc[first["group"] == "leader", "suppressed"].all() and first.loc[first["group"] == "all", "suppressed"].all()
    assert res.gap_trend.loc[res.gap_trend["period"] == "2025Q4", "suppressed"].all()
    assert not res.categories["suppressed"].any() and len(res.categories) == 14 * 3



def test_notebook_runs_with_papermill_parameters_and_renders(tmp_path):
    data, executed_text, body = execute_page(NOTEBOOK, tmp_path)
    assert data["page"] == "scorecards" and data["period"] == "2026Q3" and data["measured"] is True
    assert set(data["index"]) == {"experience", "support"}
    assert "Where leaders and employees see things differently" in body
    respondents = pd.read_csv(SAMPLE / "scorecards.csv", usecols=["respondent_id"])["respondent_id"].unique()
    assert len(respondents) > 100 and not any(rid in executed_text for rid in respondents)

