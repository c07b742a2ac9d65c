"""The report of a time-to-event program (design survival): the figure, the HTML section and the notebook cell.

The sample workspace's ``onboarding-retention`` program is evaluated once per module.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from conftest import SAMPLE  # noqa: E402
from lopsnb import evaluate, load_workspace  # noqa: E402
from lopsnb.evaluation.evaluate import ProgramEvaluation  # noqa: E402
from lopsnb.report import plots  # noqa: E402
from lopsnb.report import sections as S  # noqa: E402

PID = "onboarding-retention"


@pytest.fixture(scope="module")
def ws():
    return load_workspace(SAMPLE)


@pytest.fixture(scope="module")
def ev(ws) -> ProgramEvaluation:
    return evaluate(ws, PID)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_section_states_shares_difference_hazard_ratio_and_rmst(ev: ProgramEvaluation) -> None:
    sv, e = ev.impact.survival, ev.impact.primary  # type: ignore[union-attr]
    text = _text(S.survival_section(ev))
    assert f"Retention at 90 days: participants {sv.survival_treated * 100:.0f}%" in text
    assert f"Retention at 90 days: comparison {sv.survival_comparison * 100:.0f}%" in text
    assert f"{e.estimate * 100:+.1f} pts (95% CI {e.ci_low * 100:+.1f} pts to {e.ci_high * 100:+.1f} pts)" in text
    assert "Hazard ratio within 90 days" in text and S.fmt(sv.hazard_ratio) in text and S.fmt(sv.hazard_ratio_ci_high) in text
    assert "Restricted mean time to 90 days" in text and "Grambsch" in text
    assert "censored at 2026-10-31" in text


def test_effect_tile_is_in_percentage_points(ev: ProgramEvaluation) -> None:
    e = ev.impact.primary  # type: ignore[union-attr]
    text = _text(S.tiles(ev))
    assert f"Effect on retention at 90 days {e.estimate * 100:+.1f} pts" in text


def test_summary_speaks_of_retention_not_of_a_monthly_kpi(ev: ProgramEvaluation) -> None:
    text = _text(S.executive_summary(ev))
    assert "still employed 90 days after hire" in text
    assert " a month" not in text.split("ROI")[0]
    assert "Break-even retention difference at 90 days" in _text(S.roi_summary(ev))


def test_section_is_empty_for_other_designs(ws) -> None:
    assert S.survival_section(evaluate(ws, "ai-assistant-pilot", robust_did=False)) == ""


def test_figure_marks_the_horizon_and_lists_numbers_at_risk(ev: ProgramEvaluation) -> None:
    sv = ev.impact.survival  # type: ignore[union-attr]
    ax = ev.impact.plot_survival()  # type: ignore[union-attr]
    verticals = [ln for ln in ax.get_lines() if len(set(ln.get_xdata())) == 1]
    assert any(float(ln.get_xdata()[0]) == 90 for ln in verticals)
    assert ax.get_title().startswith(f"Hazard ratio {sv.hazard_ratio:.2f}")
    texts = [t.get_text() for t in ax.texts]
    assert "At risk" in texts and "horizon 90 days" in texts
    at0 = sv.at_risk[sv.at_risk["time"] == 0].set_index("group")["at_risk"]
    assert str(int(at0["participants"])) in texts and str(int(at0["comparison"])) in texts
    labels = {ln.get_label() for ln in ax.get_lines()}
    assert {"Participants", "Comparison"} <= labels


def test_figure_without_curves_says_so() -> None:
    ax = plots.plot_survival({"curves": [], "horizon_days": 90})
    assert [t.get_text() for t in ax.texts] == ["No survival curve"]


def test_notebook_renders_the_survival_program(tmp_path: Path, ev: ProgramEvaluation) -> None:
    from lopsnb.runner import run_batch

    ws = tmp_path / "acme"
    shutil.copytree(SAMPLE, ws, ignore=shutil.ignore_patterns(".lopsnb-cache"))
    result = run_batch(ws, programs=[PID], out=tmp_path / "out", workers=1, progress=False)
    assert {o.program_id: o.status for o in result.programs} == {PID: "ok"}
    html = (tmp_path / "out" / PID / "report.html").read_text(encoding="utf-8")
    assert "Time to leaving" in html and "Hazard ratio within 90 days" in html and "Traceback" not in html
    res = json.loads((tmp_path / "out" / PID / "results.json").read_text())
    assert res["results"]["survival"]["hazard_ratio"] == pytest.approx(ev.impact.survival.hazard_ratio, rel=1e-9)  # type: ignore[union-attr]
