"""Headless tests of the Explorer and Planner widgets: set controls, read outputs and the YAML."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import yaml

from lopsnb.evaluation.evaluate import evaluate
from lopsnb.io.programs import load_program
from lopsnb.io.workspace import Workspace, load_workspace
from lopsnb.evaluation.plan import forecast_roi, kpi_variance
from lopsnb.ui.widgets import Explorer, Planner, locate_workspace

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data_samples" / "acme"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A private copy of the sample workspace (tests write program files)."""
    folder = tmp_path_factory.mktemp("ws") / "acme"
    shutil.copytree(SAMPLE, folder)
    return load_workspace(folder)


def _lite(program):  # the explorer leaves performance metrics to the batch report
    return program.model_copy(update={"chain": program.chain.model_copy(update={"performance_metrics": ()})})


def test_untouched_explorer_shows_the_saved_program(ws: Workspace) -> None:
    ex = Explorer(ws, "sales-enablement", debounce=0)
    assert ex.error is None and ex.result is not None
    assert ex.current_program() == ws.program("sales-enablement")
    assert ex.diff() == ""
    ref = evaluate(ws, "sales-enablement").to_dict()
    assert f"Evidence grade: {ref['evidence']['grade']}" in ex.grade.value
    assert f"ROI {ref['roi']['roi_pct']:,.0f}%" in ex.roi.value
    for method in ("did", "ancova", "post_only", "before_after"):
        assert f"<td>{method}</td>" in ex.estimates.value
    assert "baseline revenue_per_rep" in ex.balance.value and "tenure_years" in ex.balance.value
    assert ex.chart.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "update took" in ex.status.value
    # Measured and shown, not bounded: wall time on a shared machine proves nothing (benchmarks/ times it).
    assert ex.last_update_seconds is not None and ex.last_update_seconds > 0
    # catalog courses are not offered
    assert all(ws.programs[pid].evaluate for _, pid in ex.program.options)


def test_controls_drive_the_evaluation(ws: Workspace) -> None:
    ex = Explorer(ws, "sales-enablement", debounce=0)
    before = ex.n_updates
    ex.design.value = "ancova"
    assert ex.n_updates == before + 1  # the observer ran update()
    assert ex.result.impact.primary_method == "ancova"
    base = ws.program("sales-enablement")
    ev = base.evaluation.model_copy(update={"design": "ancova", "also": ("post_only", "before_after")})
    ref = evaluate(ws, base.id, program=_lite(base.model_copy(update={"evaluation": ev})))
    assert ex.result.impact.primary.estimate == pytest.approx(ref.impact.primary.estimate, abs=1e-9)
    assert ex.result.evidence.grade == ref.evidence.grade

    # a second filter column: only Account Executives in two locations
    ex.comparison_column.value = "location"
    ex.comparison_values.value = ("Atlanta", "Chicago")
    comp = {"role": ("Account Executive",), "location": ("Atlanta", "Chicago")}
    assert ex.current_program().evaluation.comparison == comp
    ev2 = ev.model_copy(update={"comparison": comp})
    ref2 = evaluate(ws, base.id, program=_lite(base.model_copy(update={"evaluation": ev2})))
    assert ex.result.impact.primary.n_comparison == ref2.impact.primary.n_comparison < ref.impact.primary.n_comparison
    ex.comparison_column.value = "role"  # switching columns shows that column's choice
    assert ex.comparison_values.value == ("Account Executive",)

    ex.covariates.value = ("tenure_years", "performance_rating")
    assert "performance_rating" in ex.balance.value

    ex.outcome.value = "win_rate"
    assert ex.result.impact.outcome == "win_rate" and ex.error is None


def test_windows_and_invalid_choices_give_messages(ws: Workspace) -> None:
    ex = Explorer(ws, "sales-enablement", debounce=0)
    opts = [v for _, v in ex.baseline.options]
    ex.baseline.value = (pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01"))
    prog = ex.current_program()
    assert (str(prog.evaluation.baseline.start), str(prog.evaluation.baseline.end)) == ("2025-10-01", "2026-01-31")
    assert ex.error is None
    # a baseline running into the followup window is reported, never raised
    ex.baseline.value = (opts[0], pd.Timestamp("2026-05-01"))
    assert ex.result is None and "must end before" in ex.error
    assert "must end before" in ex.status.value and "Traceback" not in ex.status.value
    ex.save_button.click()
    assert "must end before" in ex.diff_view.value
    ex.baseline.value = ex._initial["baseline"]
    assert ex.error is None and ex.diff() == ""


def test_relative_windows_and_program_switch(ws: Workspace) -> None:
    ex = Explorer(ws, "ai-assistant-pilot", debounce=0)
    ex.program.value = "new-hire-onboarding"
    assert ex.outcome.value == "time_to_productivity_days"
    assert ex.baseline_offset.layout.display == "" and ex.baseline.layout.display == "none"
    assert ex.diff() == "" and ex.error is None
    ex.followup_offset.value = (1, 5)
    assert ex.current_program().evaluation.followup.offset == (1, 5)
    assert ex.result is not None


def test_diff_then_save_writes_validated_yaml(ws: Workspace) -> None:
    ex = Explorer(ws, "time-management", debounce=0, auto_update=False)
    path = ex.program_path()
    original = path.read_text(encoding="utf-8")
    ex.transform.value = "log"
    text = ex.diff()
    assert text.startswith("# Saving rewrites time-management.yml") and "comment line(s) will be lost" in text
    assert "+  transform: log" in text
    assert ex.save(confirm=False) == text and path.read_text(encoding="utf-8") == original  # preview writes nothing

    ex.save_button.click()  # first click: the diff and a confirm button
    assert "transform: log" in ex.diff_view.value and ex.confirm_button.layout.display == ""
    assert path.read_text(encoding="utf-8") == original
    ex.confirm_button.click()
    assert "Saved" in ex.diff_view.value and ex.confirm_button.layout.display == "none"
    saved = load_program(path)
    assert saved.evaluation.transform == "log"
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["evaluation"]["transform"] == "log"
    assert not list(path.parent.glob(".lopsnb-save-*"))  # temporary folder removed
    assert load_workspace(ws.path).program("time-management") == saved  # the batch sees it
    assert ex.diff() == ""  # the explorer now starts from the saved program


class _ManualTimer:
    """A stand-in for threading.Timer that fires only when the test says so."""

    made: list[_ManualTimer] = []

    def __init__(self, delay: float, func) -> None:  # noqa: ANN001 - any callable
        self.delay, self.func, self.daemon = delay, func, False
        self.started = self.cancelled = self.fired = False
        _ManualTimer.made.append(self)

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def is_alive(self) -> bool:
        return self.started and not (self.cancelled or self.fired)

    def fire(self) -> None:
        if self.is_alive():
            self.fired = True
            self.func()


def test_debounce_coalesces_changes(ws: Workspace) -> None:
    # Order and coalescing, not wall time: the timer is fired by hand.
    from lopsnb.ui.widgets import Debouncer

    ex = Explorer(ws, "ai-assistant-pilot", debounce=1.0)
    ex._debouncer.cancel()
    _ManualTimer.made.clear()
    ex._debouncer = Debouncer(ex.update, 1.0, timer=_ManualTimer)
    n0 = ex.n_updates
    ex.design.value = "ancova"
    ex.also.value = ("did",)
    ex.transform.value = "log"
    assert ex.n_updates == n0  # nothing ran yet
    timers = list(_ManualTimer.made)
    assert len(timers) >= 3 and all(t.delay == 1.0 for t in timers)
    assert all(t.cancelled for t in timers[:-1]) and timers[-1].is_alive() and ex._debouncer.pending
    for t in timers[:-1]:
        t.fire()  # a cancelled timer firing late does nothing
    assert ex.n_updates == n0
    timers[-1].fire()
    assert ex.n_updates == n0 + 1 and not ex._debouncer.pending
    assert ex.result.impact.primary_method == "ancova" and ex.result.impact.transform == "log"


def test_planner_headless(ws: Workspace) -> None:
    pl = Planner(ws, "sales-enablement", debounce=0)
    assert pl.error is None
    pl.effect.value = 900.0
    pl.effect_sd.value = 300.0
    expected = forecast_roi(audience=pl.audience.value, cost=pl.cost.value, value_per_unit=0.25, effect=900.0, effect_sd=300.0)
    pd.testing.assert_frame_equal(pl.forecast, expected)
    kv = kpi_variance(ws, "revenue_per_rep", entity="person", frequency="month")
    assert pl.variance.sd == pytest.approx(kv.sd)
    assert "Minimum detectable effect" in pl.power_view.value and pl.mde > 0
    assert pl.chart.value[:4] == b"\x89PNG"
    pl.entity.value = "org_unit"  # no org-unit rows for this KPI: a message, not a traceback
    assert pl.error == "metric 'revenue_per_rep' has no org_unit KPI rows in the chosen range"
    assert "no org_unit KPI rows" in pl.status.value and "Traceback" not in pl.status.value


def test_locate_workspace_from_other_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT / "notebooks" if (ROOT / "notebooks").is_dir() else ROOT)
    assert locate_workspace("../data_samples/acme") == SAMPLE.resolve()
    monkeypatch.chdir(ROOT)
    assert locate_workspace("../data_samples/acme") == SAMPLE.resolve()
    monkeypatch.chdir(tmp_path)  # outside the repository: never looked up where lopsnb is installed
    with pytest.raises(FileNotFoundError, match="lopsnb demo"):
        locate_workspace("../data_samples/acme")
    assert locate_workspace(SAMPLE) == SAMPLE.resolve()
    with pytest.raises(FileNotFoundError):
        locate_workspace("no/such/workspace")
