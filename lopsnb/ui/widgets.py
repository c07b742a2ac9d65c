"""Interactive JupyterLab tools: the program :class:`Explorer` and the pre-launch :class:`Planner`.

Both keep their computation in a plain method (``update()``) that the
controls call through a debounce, so they can be driven and tested without a
browser or a kernel: set control values, call ``update()``, read the
``HTML``/``Image`` widgets' ``value`` or the ``result`` attribute.

The explorer re-evaluates a program with the choices in the controls applied
(:meth:`Explorer.current_program`) and can write them back to the program's
YAML file (:meth:`Explorer.save`) after showing a diff, so that exploration
feeds the batch run.
"""

from __future__ import annotations

import difflib
import html
import io
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError as PydanticValidationError

from lopsnb.errors import LopsnbError, ProgramConfigError
from lopsnb.evaluation.evaluate import ProgramEvaluation, evaluate
from lopsnb.io.problems import pydantic_problems
from lopsnb.io.programs import DESIGNS, WINDOW_DESIGNS, Program, load_program
from lopsnb.io.workspace import Workspace, load_workspace
from lopsnb.report.context import locate_workspace

__all__ = ["Explorer", "Planner", "locate_workspace", "Debouncer"]

#: People columns that identify a person rather than describe one.
_ID_COLUMNS = frozenset({"person_id", "name", "email", "manager_id", "hire_date", "_row"})
_MAX_FILTER_LEVELS = 200
_FREQ = {"month": "MS", "quarter": "QS", "week": "W-MON", "year": "YS"}
_PERIOD = {"month": "M", "quarter": "Q", "week": "W-SUN", "year": "Y"}


class Debouncer:
    """Call ``func`` once, ``delay`` seconds after the last :meth:`trigger` (0: call at once).

    A ``threading.Timer`` is restarted by every trigger, so a burst of control
    changes (dragging a slider) costs one update.
    """

    def __init__(self, func: Callable[[], Any], delay: float, *, timer: Callable[[float, Callable[[], Any]], Any] = threading.Timer) -> None:
        self.func = func
        self.delay = float(delay)
        # ``timer(delay, func)`` -> an object with start/cancel/is_alive and a
        # ``daemon`` attribute; tests pass one they fire by hand (no wall time).
        self._make_timer = timer
        self._timer: Any = None
        self._lock = threading.Lock()

    def trigger(self) -> None:
        """Schedule a call (replacing a pending one)."""
        if self.delay <= 0:
            self.func()
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._make_timer(self.delay, self.func)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        """Drop a pending call."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    @property
    def pending(self) -> bool:
        """Whether a call is scheduled and has not run yet."""
        return self._timer is not None and self._timer.is_alive()


def _message(kind: str, text: str) -> str:
    colors = {"error": "#c0392b", "ok": "#2e8b57", "info": "#5b6770", "warn": "#b7791f"}
    return f'<div style="color:{colors.get(kind, "#333")};white-space:pre-wrap">{html.escape(text)}</div>'


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, ProgramConfigError):
        lines = [f"The choices do not make a valid program ({len(exc.problems)} problem(s)):"]
        lines += [f"  - {p.column or '(program)'}: {p.expected} (found {p.found})" for p in exc.problems]
        return "\n".join(lines)
    if isinstance(exc, LopsnbError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"


def _table_html(frame: pd.DataFrame, empty: str) -> str:
    if frame is None or len(frame) == 0:
        return f"<p><em>{html.escape(empty)}</em></p>"

    def fmt(v: float) -> str:
        return "–" if pd.isna(v) else f"{v:,.4g}"

    return frame.to_html(index=False, escape=True, na_rep="–", float_format=fmt, border=0, classes="lopsnb-table")


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


def _program_error(exc: PydanticValidationError, label: str) -> ProgramConfigError:
    return ProgramConfigError(pydantic_problems(exc, label), summary="invalid choices")


class Explorer:
    """Explore one program's evaluation interactively and save the choices to its YAML.

    Parameters
    ----------
    workspace : Workspace or path
        Loaded once; every update reuses it.
    program_id : str, optional
        The program shown first (default: the first evaluated program).
    debounce : float, default 0.4
        Seconds of quiet after the last control change before updating; 0
        updates synchronously on every change.
    auto_update : bool, default True
        Whether control changes trigger updates at all (tests call
        :meth:`update` directly).

    Attributes
    ----------
    result : ProgramEvaluation or None
        The latest evaluation (None after an error).
    error : str or None
        The latest error message (shown in ``status``).
    last_update_seconds : float or None
        Duration of the latest :meth:`update`.
    program, outcome, design, also, transform, baseline, followup,
    baseline_offset, followup_offset, comparison_column, comparison_values,
    covariates : ipywidgets controls
    chart : ipywidgets.Image
        Trend (participants vs comparison) above a forest plot of every method.
    estimates, balance, grade, roi, status, diff_view : ipywidgets.HTML
    save_button, confirm_button, cancel_button : ipywidgets.Button
    """

    def __init__(self, workspace: Workspace | str | Path, program_id: str | None = None, *, debounce: float = 0.4,
                 auto_update: bool = True) -> None:
        self.ws = workspace if isinstance(workspace, Workspace) else load_workspace(locate_workspace(workspace))
        ids = [pid for pid, p in sorted(self.ws.programs.items()) if p.evaluate]
        if not ids:
            raise LopsnbError(f"workspace {self.ws.path} has no evaluated program (all have evaluate: false)")
        if program_id is not None and program_id not in ids:
            raise LopsnbError(f"program {program_id!r} is not an evaluated program of the workspace; choose one of {', '.join(ids)}")
        self.result: ProgramEvaluation | None = None
        self.error: str | None = None
        self.last_update_seconds: float | None = None
        self.n_updates = 0
        self.auto_update = auto_update
        self._suspend = False
        self._lock = threading.RLock()
        self._debouncer = Debouncer(self.update, debounce)
        self._initial: dict[str, Any] = {}
        self._comparison: dict[str, tuple[str, ...]] = {}
        self._initial_comparison: dict[str, tuple[str, ...]] = {}
        self._period_cache: dict[str, list[tuple[str, pd.Timestamp]]] = {}
        people = self.ws.table("people")
        self._filter_columns = [c for c in people.columns if c not in _ID_COLUMNS and people[c].nunique() <= _MAX_FILTER_LEVELS]
        self._numeric_columns = [c for c in people.columns if c not in _ID_COLUMNS and pd.api.types.is_numeric_dtype(people[c])]
        self._metrics = sorted(self.ws.table("kpis")["metric"].dropna().astype("str").unique())

        style = {"description_width": "110px"}
        wide = w.Layout(width="420px")
        self.program = w.Dropdown(options=[(f"{self.ws.programs[p].name} ({p})", p) for p in ids], value=program_id or ids[0],
                                  description="Program", style=style, layout=wide)
        self.outcome = w.Dropdown(options=self._metrics, description="Outcome", style=style, layout=wide)
        self.design = w.Dropdown(options=list(DESIGNS), description="Primary design", style=style)
        self.also = w.SelectMultiple(options=list(DESIGNS), description="Also (checks)", rows=6, style=style)
        self.transform = w.Dropdown(options=["none", "log"], description="Transform", style=style)
        slider = {"style": style, "continuous_update": False}

        def lay() -> w.Layout:  # one Layout per slider: they are shown and hidden separately
            return w.Layout(width="640px")

        self.baseline = w.SelectionRangeSlider(options=[("-", pd.Timestamp(0))], index=(0, 0), description="Baseline", layout=lay(), **slider)
        self.followup = w.SelectionRangeSlider(options=[("-", pd.Timestamp(0))], index=(0, 0), description="Followup", layout=lay(), **slider)
        self.baseline_offset = w.IntRangeSlider(min=-36, max=36, value=(-6, -1), description="Baseline (rel.)", layout=lay(), **slider)
        self.followup_offset = w.IntRangeSlider(min=-36, max=36, value=(1, 6), description="Followup (rel.)", layout=lay(), **slider)
        self.comparison_column = w.Dropdown(options=self._filter_columns, description="Compare with", style=style)
        self.comparison_values = w.SelectMultiple(options=[], description="… who are", rows=6, style=style, layout=wide)
        self.covariates = w.SelectMultiple(options=[], description="Covariates", rows=6, style=style)

        self.chart = w.Image(format="png", layout=w.Layout(max_width="820px"))
        self.estimates = w.HTML()
        self.balance = w.HTML()
        self.grade = w.HTML()
        self.roi = w.HTML()
        self.status = w.HTML()
        self.diff_view = w.HTML()
        self.save_button = w.Button(description="Save to program file…", icon="save", tooltip="Show the changes to the YAML file first")
        self.confirm_button = w.Button(description="Confirm: write file", button_style="warning", layout=w.Layout(display="none"))
        self.cancel_button = w.Button(description="Cancel", layout=w.Layout(display="none"))
        self.save_button.on_click(lambda _: self._preview_save())
        self.confirm_button.on_click(lambda _: self._confirm_save())
        self.cancel_button.on_click(lambda _: self._hide_save())

        self._load_controls(self.program.value)
        self.program.observe(self._on_program, names="value")
        for ctl in (self.outcome, self.design, self.also, self.transform, self.baseline, self.followup, self.baseline_offset,
                    self.followup_offset, self.covariates):
            ctl.observe(self._on_change, names="value")
        self.comparison_column.observe(self._on_comparison_column, names="value")
        self.comparison_values.observe(self._on_comparison_values, names="value")
        self.widget = self._layout()
        if auto_update:
            self.update()

    # ------------------------------------------------------------------ controls
    def _base(self) -> Program:
        return self.ws.program(self.program.value)

    def _periods(self, frequency: str, program: Program) -> list[tuple[str, pd.Timestamp]]:
        dates = [d for d in (self.ws.table("kpis")["period"].min(), self.ws.table("kpis")["period"].max()) if pd.notna(d)]
        ev = program.evaluation
        for win in (ev.baseline, ev.followup):
            if win is not None and not win.relative:
                dates += [pd.Timestamp(win.start), pd.Timestamp(win.end)]
        if program.launch:
            dates.append(pd.Timestamp(program.launch))
        lo, hi = (min(dates), max(dates)) if dates else (pd.Timestamp("2024-01-01"), pd.Timestamp("2026-12-31"))
        lo, hi = self._floor(lo, frequency), self._floor(hi, frequency)
        starts = pd.date_range(lo, hi, freq=_FREQ[frequency])
        fmt = {"month": "%Y-%m", "quarter": None, "week": "%Y-%m-%d", "year": "%Y"}[frequency]
        return [(f"{d.year}Q{(d.month - 1) // 3 + 1}" if fmt is None else d.strftime(fmt), d) for d in starts]

    @staticmethod
    def _floor(date: Any, frequency: str) -> pd.Timestamp:
        return pd.Timestamp(date).to_period(_PERIOD[frequency]).start_time.normalize()

    @staticmethod
    def _period_end(start: pd.Timestamp, frequency: str) -> pd.Timestamp:
        return start.to_period(_PERIOD[frequency]).end_time.normalize()

    def _nearest(self, options: list[tuple[str, pd.Timestamp]], date: Any, frequency: str) -> pd.Timestamp:
        target = self._floor(date, frequency)
        values = [v for _, v in options]
        return min(values, key=lambda v: abs((v - target).days))

    def _load_controls(self, pid: str) -> None:
        """Set every control from the saved program ``pid`` without triggering updates."""
        prog = self.ws.program(pid)
        ev = prog.evaluation
        self._suspend = True
        try:
            metrics = list(dict.fromkeys([prog.outcome, prog.chain.business_metric.metric,
                                          *(m.metric for m in prog.chain.performance_metrics), *self._metrics]))
            self.outcome.options = metrics
            self.outcome.value = prog.outcome
            self.design.value = ev.design
            self.also.value = tuple(d for d in ev.also if d != ev.design)
            self.transform.value = ev.transform
            options = self._periods(ev.frequency, prog)
            for slider in (self.baseline, self.followup):
                slider.options = options
            launch = pd.Timestamp(prog.launch) if prog.launch else options[len(options) // 2][1]
            step = pd.tseries.frequencies.to_offset(_FREQ[ev.frequency])
            if ev.baseline is not None and not ev.baseline.relative:
                b = (self._nearest(options, ev.baseline.start, ev.frequency), self._nearest(options, ev.baseline.end, ev.frequency))
                f = (self._nearest(options, ev.followup.start, ev.frequency), self._nearest(options, ev.followup.end, ev.frequency))  # type: ignore[union-attr]
            else:
                b = (self._nearest(options, launch - 6 * step, ev.frequency), self._nearest(options, launch - step, ev.frequency))
                f = (self._nearest(options, launch + step, ev.frequency), self._nearest(options, launch + 6 * step, ev.frequency))
            self.baseline.value, self.followup.value = b, f
            if ev.baseline is not None and ev.baseline.relative:
                self.baseline_offset.value = tuple(ev.baseline.offset)  # type: ignore[arg-type]
                self.followup_offset.value = tuple(ev.followup.offset)  # type: ignore[union-attr,arg-type]
            else:
                self.baseline_offset.value, self.followup_offset.value = (-6, -1), (1, 6)
            self._relative = bool(ev.baseline is not None and ev.baseline.relative)
            self.baseline.layout.display = self.followup.layout.display = "none" if self._relative else ""
            self.baseline_offset.layout.display = self.followup_offset.layout.display = "" if self._relative else "none"
            self._comparison = dict(ev.comparison or {})
            self._initial_comparison = dict(self._comparison)
            cols = self._filter_columns if ev.entity == "person" else ["org_unit"] + [c for c in self._filter_columns if c != "org_unit"]
            self.comparison_column.options = cols
            first = next(iter(self._comparison), None)
            self.comparison_column.value = first if first in cols else ("role" if "role" in cols and ev.entity == "person" else cols[0])
            self._fill_comparison_values()
            covs = self._numeric_columns if ev.entity == "org_unit" else [c for c in self._filter_columns if c != "org_unit"]
            covs = list(dict.fromkeys([*covs, *self._numeric_columns, *ev.covariates])) if ev.entity == "person" else list(dict.fromkeys([*covs, *ev.covariates]))
            self.covariates.options = covs
            self.covariates.value = tuple(ev.covariates)
        finally:
            self._suspend = False
        self._initial = self._values()
        self._hide_save()

    def _fill_comparison_values(self) -> None:
        col = self.comparison_column.value
        people = self.ws.table("people")
        levels = sorted(people[col].dropna().astype("str").unique()) if col in people else []
        chosen = list(self._comparison.get(col, ()))
        was = self._suspend
        self._suspend = True
        try:
            self.comparison_values.options = list(dict.fromkeys([*levels, *chosen]))
            self.comparison_values.value = tuple(chosen)
        finally:
            self._suspend = was

    def _values(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value, "design": self.design.value, "also": tuple(self.also.value), "transform": self.transform.value,
            "baseline": tuple(self.baseline.value), "followup": tuple(self.followup.value),
            "baseline_offset": tuple(self.baseline_offset.value), "followup_offset": tuple(self.followup_offset.value),
            "covariates": tuple(self.covariates.value),
        }

    def _on_program(self, change: dict[str, Any]) -> None:
        self._load_controls(change["new"])
        self._on_change(change)

    def _on_comparison_column(self, change: dict[str, Any]) -> None:
        self._fill_comparison_values()

    def _on_comparison_values(self, change: dict[str, Any]) -> None:
        if self._suspend:
            return
        col = self.comparison_column.value
        if change["new"]:
            self._comparison[col] = tuple(change["new"])
        else:
            self._comparison.pop(col, None)
        self._on_change(change)

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._suspend or not self.auto_update:
            return
        self._debouncer.trigger()

    # ------------------------------------------------------------------ the program the controls describe
    def current_program(self) -> Program:
        """The saved program with the control choices applied (validated).

        A control left at its initial value keeps the program's own setting
        exactly (so an untouched explorer describes the saved program).

        Raises
        ------
        ProgramConfigError
            When the choices do not form a valid program (e.g. the baseline
            window overlapping the followup window).
        """
        base = self._base()
        now, init = self._values(), self._initial
        data = base.to_yaml_dict()
        ev = dict(data.get("evaluation") or {})
        freq = base.evaluation.frequency

        def changed(*names: str) -> bool:
            return any(now[n] != init.get(n) for n in names)

        if changed("outcome"):
            ev["outcome"] = now["outcome"]
        if changed("design", "also"):
            ev["design"] = now["design"]
            ev["also"] = [d for d in now["also"] if d != now["design"]]
        if changed("transform"):
            ev["transform"] = now["transform"]
        if changed("covariates"):
            ev["covariates"] = list(now["covariates"])
        if self._comparison != self._initial_comparison:
            if self._comparison:
                ev["comparison"] = {k: list(v) for k, v in self._comparison.items()}
            else:
                ev.pop("comparison", None)
        designs = {ev.get("design", base.evaluation.design), *ev.get("also", base.evaluation.also)}
        needs_windows = bool(designs & WINDOW_DESIGNS) and base.evaluation.baseline is None
        if self._relative:
            if changed("baseline_offset", "followup_offset"):
                ev["baseline"] = {"offset": list(now["baseline_offset"])}
                ev["followup"] = {"offset": list(now["followup_offset"])}
        elif changed("baseline", "followup") or needs_windows:
            b0, b1 = now["baseline"]
            f0, f1 = now["followup"]
            ev["baseline"] = {"start": b0.date().isoformat(), "end": self._period_end(b1, freq).date().isoformat()}
            ev["followup"] = {"start": f0.date().isoformat(), "end": self._period_end(f1, freq).date().isoformat()}
        data["evaluation"] = ev
        try:
            return Program.model_validate(data)
        except PydanticValidationError as exc:
            raise _program_error(exc, f"programs/{base.id}.yml") from None

    # ------------------------------------------------------------------ update
    def update(self) -> ProgramEvaluation | None:
        """Re-evaluate the program with the current choices and refresh every output.

        Never raises: problems are shown in ``status`` (and kept in ``error``).
        """
        with self._lock:
            t0 = time.perf_counter()
            self.n_updates += 1
            try:
                prog = self.current_program()
                # Performance metrics are not shown here and cost a panel each:
                # they are left to the batch report (the effect, grade and ROI
                # do not depend on them).
                lite = prog.model_copy(update={"chain": prog.chain.model_copy(update={"performance_metrics": ()})})
                result = evaluate(self.ws, prog.id, program=lite, robust_did=False)  # robust intervals take too long per update
                self._render(result)
                self.result, self.error = result, None
            except Exception as exc:  # every failure becomes a message, never a traceback
                self.result, self.error = None, _describe_error(exc)
                for out in (self.estimates, self.balance, self.grade, self.roi):
                    out.value = ""
                self.chart.value = b""
            self.last_update_seconds = time.perf_counter() - t0
            if self.error:
                self.status.value = _message("error", self.error)
            else:
                self.status.value = _message("info", self._status_text())
            return self.result

    def _status_text(self) -> str:
        r = self.result
        lines = [f"update took {self.last_update_seconds:.2f} s"]
        if r is not None and r.impact:
            prim = r.impact.primary
            if prim is not None:
                lines[0] = f"{prim.n_treated} participating and {prim.n_comparison or 0} comparison entities in the primary estimate · " + lines[0]
            lines += [f"note: {n}" for n in r.impact.notes]
        return "\n".join(lines)

    def _render(self, r: ProgramEvaluation) -> None:
        from matplotlib.figure import Figure

        from lopsnb.report.plots import plot_forest, plot_trend

        impact = r.impact
        # A fixed layout: constrained layout would double the drawing time.
        fig = Figure(figsize=(9, 6.2))
        ax_trend, ax_forest = fig.subplots(2, 1, height_ratios=[3, 2])
        fig.subplots_adjust(left=0.24, right=0.97, top=0.97, bottom=0.08, hspace=0.3)
        ev = r.program.evaluation
        if impact:
            series = impact.series  # small groups suppressed by evaluate(): not drawn
            windows = None
            if ev.baseline is not None and not ev.baseline.relative:
                windows = {"baseline": (ev.baseline.start, ev.baseline.end), "followup": (ev.followup.start, ev.followup.end)}  # type: ignore[union-attr]
            plot_trend(series, launch=r.program.launch, unit=impact.unit, outcome=impact.outcome, ax=ax_trend, windows=windows)
            est = impact.to_frame()
            be = r.roi.break_even_effect if r.roi and ev.transform == "none" else None
            plot_forest(est, unit=impact.unit, primary=impact.primary_method, ax=ax_forest, break_even=be)
            table = est.drop(columns=["primary"]) if len(est) else est
            if len(table):
                table.insert(0, "", np.where(est["primary"], "primary", ""))
            fails = "".join(f"<li>{html.escape(m)}: {html.escape(why)}</li>" for m, why in impact.failures.items())
            self.estimates.value = (
                f"<h4>Estimates of the effect on {html.escape(impact.outcome)} (per entity per period"
                f"{', ' + html.escape(impact.unit) if impact.unit else ''})</h4>"
                + _table_html(table, "No method could be estimated.")
                + (f"<p>Not estimated:</p><ul>{fails}</ul>" if fails else "")
            )
            self.balance.value = "<h4>Balance at baseline</h4>" + _table_html(impact.balance, "No comparison group: balance not applicable.")
        else:
            plot_trend(None, ax=ax_trend)  # type: ignore[arg-type]
            plot_forest(None, ax=ax_forest)  # type: ignore[arg-type]
            self.estimates.value = _message("warn", f"No isolated effect: {r.impact_error}")
            self.balance.value = ""
        self.chart.value = _png(fig)
        g = r.evidence
        reasons = "".join(f"<li>{html.escape(x)}</li>" for x in g.reasons)
        self.grade.value = f"<h4>Evidence grade: {html.escape(g.grade)}</h4><ul>{reasons}</ul>"
        decision = f"<p><strong>Recommendation: {html.escape(r.decision.action)}</strong> — {html.escape(r.decision.reason)}</p>" if r.decision else ""
        self.roi.value = "<h4>ROI</h4>" + _message("info", self.roi_text(r)) + decision

    @staticmethod
    def roi_text(r: ProgramEvaluation) -> str:
        """One-line Phillips ROI summary of an evaluation (or why there is none)."""
        roi = r.roi
        if not roi:
            return f"ROI not available: {r.roi_reason}"
        if roi.roi_pct is None:
            return "ROI undefined: zero total cost"
        from lopsnb import fmt as F
        from lopsnb.report.words import currency, effect_text

        lo, hi = roi.roi_interval if roi.roi_interval is not None else (None, None)
        cur = currency(r.program)
        text = (f"ROI {F.percent(roi.roi_pct)} (95% interval {F.percent(lo)} to {F.percent(hi)}), BCR {F.number(roi.bcr)}, "
                f"benefits {F.money(roi.benefits, cur)} vs fully-loaded costs {F.money(roi.costs, cur)}")
        horizon = r.program.monetization.horizon_years * 12 if r.program.monetization else None
        text += f", payback {F.payback(roi.payback_months, horizon)}"
        if roi.conservative_roi_pct is not None:
            text += f"; conservative ROI {F.percent(roi.conservative_roi_pct)}"
        if roi.break_even_effect is not None:
            text += f"; break-even effect {effect_text(roi.break_even_effect, r.program)}"
        return text

    # ------------------------------------------------------------------ saving
    def program_path(self) -> Path:
        """The YAML file of the selected program."""
        folder = self.ws.path / "programs"
        for ext in (".yml", ".yaml"):
            if (folder / f"{self.program.value}{ext}").is_file():
                return folder / f"{self.program.value}{ext}"
        return folder / f"{self.program.value}.yml"

    @staticmethod
    def _dump(program: Program) -> str:
        return yaml.safe_dump(program.to_yaml_dict(), sort_keys=False, allow_unicode=True)

    def diff(self) -> str:
        """Unified diff between the saved program and the choices ("" when nothing changed).

        The diff compares the two programs in the form they will be written
        (``yaml.safe_dump`` of ``to_yaml_dict()``); a header says how many
        comment lines the original file has, because writing does not keep them.

        Raises
        ------
        ProgramConfigError
            When the choices do not form a valid program.
        """
        base, new = self._base(), self.current_program()
        if new == base:
            return ""
        path = self.program_path()
        try:
            original = path.read_text(encoding="utf-8")
        except OSError:
            original = ""
        comments = sum(1 for line in original.splitlines() if line.lstrip().startswith("#"))
        header = (f"# Saving rewrites {path.name}: keys in canonical order, defaults omitted"
                  + (f"; its {comments} comment line(s) will be lost.\n" if comments else ".\n"))
        body = difflib.unified_diff(self._dump(base).splitlines(keepends=True), self._dump(new).splitlines(keepends=True),
                                    fromfile=f"{path.name} (saved)", tofile=f"{path.name} (with your choices)")
        return header + "".join(body)

    def save(self, *, confirm: bool = False) -> str:
        """Write the choices to the program's YAML file (only with ``confirm=True``).

        The new text is written to a temporary folder inside ``programs/``,
        re-loaded with :func:`lopsnb.io.programs.load_program` (the batch's own
        validation) and moved over the original with ``os.replace`` (atomic on
        one file system). The workspace's program is updated and the controls
        start from it.

        Returns
        -------
        str
            The diff (:meth:`diff`); "" when there was nothing to change.
        """
        text = self.diff()
        if not confirm or not text:
            return text
        new = self.current_program()
        path = self.program_path()
        tmpdir = Path(tempfile.mkdtemp(prefix=".lopsnb-save-", dir=path.parent))
        try:
            tmp = tmpdir / path.name
            tmp.write_text("# Saved from the lopsnb explorer (earlier comments were not kept).\n" + self._dump(new), encoding="utf-8")
            checked = load_program(tmp)
            if checked != new:
                raise LopsnbError(f"{path.name}: the written file does not read back as the chosen program; not saved")
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        self.ws.programs[new.id] = checked
        self._load_controls(new.id)
        return text

    def _preview_save(self) -> None:
        try:
            text = self.diff()
        except Exception as exc:  # shown, never raised into the UI
            self.diff_view.value = _message("error", _describe_error(exc))
            return
        if not text:
            self.diff_view.value = _message("info", "No changes: the program file already says this.")
            return
        self.diff_view.value = f"<pre style='font-size:12px'>{html.escape(text)}</pre>"
        self.confirm_button.layout.display = ""
        self.cancel_button.layout.display = ""

    def _confirm_save(self) -> None:
        try:
            self.save(confirm=True)
            self.diff_view.value = _message("ok", f"Saved {self.program_path()}. The next batch run uses these choices.")
        except Exception as exc:  # shown, never raised into the UI
            self.diff_view.value = _message("error", "Not saved. " + _describe_error(exc))
        self.confirm_button.layout.display = "none"
        self.cancel_button.layout.display = "none"

    def _hide_save(self) -> None:
        self.confirm_button.layout.display = "none"
        self.cancel_button.layout.display = "none"
        self.diff_view.value = ""

    # ------------------------------------------------------------------ display
    def _layout(self) -> w.Widget:
        controls = w.VBox([
            w.HBox([self.program, self.outcome]),
            w.HBox([self.design, self.transform]),
            self.also,
            self.baseline, self.followup, self.baseline_offset, self.followup_offset,
            w.HBox([w.VBox([self.comparison_column, self.comparison_values]), self.covariates]),
            w.HBox([self.save_button, self.confirm_button, self.cancel_button]),
            self.diff_view,
        ])
        return w.VBox([controls, self.status, self.chart, self.grade, self.roi, self.estimates, self.balance])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


class Planner:
    """Pre-launch ROI forecast and power check as a form (see :mod:`lopsnb.evaluation.plan`).

    Parameters
    ----------
    workspace : Workspace or path
    program_id : str, optional
        A program whose outcome, entity, frequency, unit value, audience and
        costs prefill the form (a similar earlier program, or the program
        being planned).
    debounce : float, default 0.3
    auto_update : bool, default True

    Attributes
    ----------
    forecast : DataFrame or None
        :func:`lopsnb.evaluation.plan.forecast_roi` of the current inputs.
    variance : KpiVariance or None
    mde, power_expected, power_break_even, break_even : float or None
    required_n : int or None
        Participants needed to detect the expected effect (same comparison ratio).
    """

    def __init__(self, workspace: Workspace | str | Path, program_id: str | None = None, *, debounce: float = 0.3,
                 auto_update: bool = True) -> None:
        from lopsnb.evaluation.plan import PLAN_DESIGNS, program_spend

        self.ws = workspace if isinstance(workspace, Workspace) else load_workspace(locate_workspace(workspace))
        self.auto_update = auto_update
        self.error: str | None = None
        self.forecast: pd.DataFrame | None = None
        self.variance: Any = None
        self.mde = self.power_expected = self.power_break_even = self.break_even = None
        self.required_n: int | None = None
        self._variance_cache: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.RLock()
        self._debouncer = Debouncer(self.update, debounce)
        prog = self.ws.program(program_id) if program_id else next((p for _, p in sorted(self.ws.programs.items()) if p.evaluate), None)
        metrics = sorted(self.ws.table("kpis")["metric"].dropna().astype("str").unique())
        audience, cost = 50, 50_000.0
        if prog is not None:
            spend = program_spend(self.ws).set_index("program_id")
            if prog.id in spend.index and spend.loc[prog.id, "participants"] > 0:
                audience, cost = int(spend.loc[prog.id, "participants"]), round(float(spend.loc[prog.id, "costs"]), -2)
        m = prog.monetization if prog is not None else None
        ev = prog.evaluation if prog is not None else None
        style = {"description_width": "170px"}
        self.metric = w.Dropdown(options=metrics, value=prog.outcome if prog is not None and prog.outcome in metrics else metrics[0],
                                 description="Outcome KPI", style=style)
        self.entity = w.Dropdown(options=["person", "org_unit"], value=ev.entity if ev else "person", description="Entity", style=style)
        self.frequency = w.Dropdown(options=["month", "quarter", "week", "year"], value=ev.frequency if ev else "month", description="Period", style=style)
        self.direction = w.Dropdown(options=["increase", "decrease"], value=prog.direction if prog is not None else "increase",
                                    description="Good direction", style=style)
        self.audience = w.BoundedIntText(value=audience, min=1, max=10_000_000, description="Planned participants", style=style)
        self.comparison = w.BoundedIntText(value=audience, min=1, max=10_000_000, description="Comparison entities", style=style)
        self.cost = w.BoundedFloatText(value=cost, min=0, max=1e12, description="Fully-loaded cost", style=style)
        self.value_per_unit = w.BoundedFloatText(value=m.value_per_unit if m else 1.0, min=0, max=1e12, description="Value per unit",
                                                 style=style)
        self.periods_per_year = w.BoundedFloatText(value=m.periods_per_year if m else 12, min=0.01, max=366, description="Periods per year",
                                                   style=style)
        self.horizon_years = w.BoundedFloatText(value=m.horizon_years if m else 1, min=0.1, max=5, description="Benefit years", style=style)
        self.effect = w.FloatText(value=0.0, description="Expected effect", style=style)
        self.effect_sd = w.BoundedFloatText(value=0.0, min=0, max=1e12, description="Effect uncertainty (SD)", style=style)
        self.design = w.Dropdown(options=list(PLAN_DESIGNS), value=ev.design if ev and ev.design in PLAN_DESIGNS else "did",
                                 description="Evaluation design", style=style)
        self.pre_periods = w.IntSlider(value=6, min=1, max=24, description="Baseline periods", style=style)
        self.post_periods = w.IntSlider(value=6, min=1, max=24, description="Followup periods", style=style)
        self.gap_periods = w.IntSlider(value=1, min=0, max=12, description="Gap (training) periods", style=style)
        self.alpha = w.BoundedFloatText(value=0.05, min=0.001, max=0.5, step=0.01, description="Significance level", style=style)
        self.power_target = w.BoundedFloatText(value=0.8, min=0.5, max=0.99, step=0.05, description="Target power", style=style)
        self.summary = w.HTML()
        self.scenarios = w.HTML()
        self.power_view = w.HTML()
        self.chart = w.Image(format="png", layout=w.Layout(max_width="720px"))
        self.status = w.HTML()
        self._default_effect()
        for ctl in self._controls():
            ctl.observe(self._on_change, names="value")
        self.widget = w.VBox([
            w.HBox([w.VBox([self.metric, self.entity, self.frequency, self.direction, self.audience, self.comparison, self.cost,
                            self.value_per_unit, self.periods_per_year]),
                    w.VBox([self.horizon_years, self.effect, self.effect_sd, self.design, self.pre_periods, self.post_periods,
                            self.gap_periods, self.alpha, self.power_target])]),
            self.status, self.summary, self.scenarios, self.power_view, self.chart,
        ])
        if auto_update:
            self.update()

    def _controls(self) -> list[w.Widget]:
        return [self.metric, self.entity, self.frequency, self.direction, self.audience, self.comparison, self.cost, self.value_per_unit,
                self.periods_per_year, self.horizon_years, self.effect, self.effect_sd, self.design, self.pre_periods, self.post_periods,
                self.gap_periods, self.alpha, self.power_target]

    def _default_effect(self) -> None:
        """Start from 1.5 × the break-even effect, ± half of it: an assumption to overwrite."""
        from lopsnb.evaluation.plan import break_even_effect

        be = break_even_effect(audience=self.audience.value, cost=self.cost.value, value_per_unit=self.value_per_unit.value,
                               periods_per_year=self.periods_per_year.value, horizon_years=self.horizon_years.value,
                               direction=self.direction.value)
        if be is not None:
            self.effect.value = float(f"{1.5 * be:.3g}")
            self.effect_sd.value = float(f"{abs(0.5 * be):.3g}")

    def _on_change(self, change: dict[str, Any]) -> None:
        if self.auto_update:
            self._debouncer.trigger()

    def kpi_variance(self) -> Any:
        """:func:`lopsnb.evaluation.plan.kpi_variance` of the chosen KPI (cached per KPI, entity and period)."""
        from lopsnb.evaluation.plan import kpi_variance

        key = (self.metric.value, self.entity.value, self.frequency.value)
        if key not in self._variance_cache:
            self._variance_cache[key] = kpi_variance(self.ws, key[0], entity=key[1], frequency=key[2])  # type: ignore[arg-type]
        return self._variance_cache[key]

    def update(self) -> pd.DataFrame | None:
        """Recompute the forecast and the power check; never raises (errors go to ``status``)."""
        from matplotlib.figure import Figure

        from lopsnb.evaluation.plan import break_even_effect, forecast_roi, minimum_detectable_effect, power, required_participants
        from lopsnb.report.plots import PALETTE, literal

        with self._lock:
            t0 = time.perf_counter()
            try:
                money = {"audience": int(self.audience.value), "cost": float(self.cost.value), "value_per_unit": float(self.value_per_unit.value),
                         "periods_per_year": float(self.periods_per_year.value), "horizon_years": float(self.horizon_years.value),
                         "direction": self.direction.value}
                self.forecast = forecast_roi(effect=float(self.effect.value), effect_sd=float(self.effect_sd.value), **money)
                self.break_even = break_even_effect(**money)
                kv = self.variance = self.kpi_variance()
                design = {"sd": kv.sd, "alpha": float(self.alpha.value), "design": self.design.value, "pre_periods": int(self.pre_periods.value),
                          "post_periods": int(self.post_periods.value), "rho": kv.icc, "ar1": kv.ar1, "gap_periods": int(self.gap_periods.value)}
                n = {"n_treated": int(self.audience.value), "n_comparison": int(self.comparison.value)}
                self.mde = minimum_detectable_effect(power=float(self.power_target.value), **n, **design)
                self.power_expected = power(effect=float(self.effect.value), **n, **design)
                self.power_break_even = power(effect=self.break_even, **n, **design) if self.break_even is not None else None
                self.required_n = required_participants(effect=float(self.effect.value), power=float(self.power_target.value),
                                                        comparison_ratio=int(self.comparison.value) / int(self.audience.value), **design)
                self.error = None
            except Exception as exc:  # every failure becomes a message, never a traceback
                self.error = _describe_error(exc)
                self.status.value = _message("error", self.error)
                return None
            shown = self.forecast.copy()
            self.scenarios.value = "<h4>ROI forecast by scenario</h4>" + _table_html(shown, "")
            kvf = kv.to_frame()
            self.summary.value = (
                "<h4>Break-even and KPI history</h4>"
                + _message("info", self._summary_text())
                + _table_html(kvf, "")
            )
            self.power_view.value = "<h4>Can the evaluation detect it?</h4>" + _message("info", self._power_text())
            effects = np.linspace(0, max(2.5 * self.mde, abs(float(self.effect.value)) * 1.2, 1e-12), 60)
            pw = [power(effect=e, **n, **design) for e in effects]
            fig = Figure(figsize=(7, 3.2), layout="constrained")
            ax = fig.subplots()
            ax.plot(effects, pw, color=PALETTE["participants"])
            ax.axhline(float(self.power_target.value), color=PALETTE["neutral"], linestyle=":", linewidth=1)
            ax.axvline(self.mde, color=PALETTE["participants"], linestyle="--", linewidth=1, label=f"MDE {self.mde:,.3g}")
            if self.break_even is not None:
                ax.axvline(abs(self.break_even), color=PALETTE["highlight"], linewidth=1.5, label=f"break-even {abs(self.break_even):,.3g}")
            ax.axvline(abs(float(self.effect.value)), color=PALETTE["positive"], linewidth=1.5, label="expected effect")
            ax.set_xlabel(literal(f"true effect on {self.metric.value} per entity per period (size)"))
            ax.set_ylabel("power")
            ax.set_ylim(0, 1.02)
            ax.legend(frameon=False, fontsize=8)
            ax.spines[["top", "right"]].set_visible(False)
            self.chart.value = _png(fig)
            self.status.value = _message("info", f"update took {time.perf_counter() - t0:.2f} s")
            return self.forecast

    def _summary_text(self) -> str:
        kv = self.variance
        be = "none (unit value 0)" if self.break_even is None else f"{self.break_even:,.4g}"
        return (f"Break-even effect: {be} {self.metric.value} per entity per period "
                f"(ROI 0% with {self.audience.value:,} participants, cost {self.cost.value:,.0f}).\n"
                f"History of {kv.metric}: SD {kv.sd:,.4g} around the period mean, {kv.icc:.0%} of it permanent between entities, "
                f"transient autocorrelation {kv.ar1:.2f} ({kv.n_entities} entities, {kv.n_periods} periods).")

    def _power_text(self) -> str:
        lines = [f"Minimum detectable effect ({self.design.value}, {self.power_target.value:.0%} power, α = {self.alpha.value:g}): "
                 f"{self.mde:,.4g} per entity per period."]
        lines.append(f"Power to detect the expected effect {self.effect.value:,.4g}: {self.power_expected:.0%}.")
        if self.power_break_even is not None:
            verdict = ("the evaluation can tell a program that pays back from one that does not"
                       if self.mde <= abs(self.break_even) else  # type: ignore[arg-type]
                       "the break-even effect is smaller than the MDE: even a program that pays back may show no significant effect")
            lines.append(f"Power at the break-even effect: {self.power_break_even:.0%} — {verdict}.")
        lines.append("Participants needed for the expected effect: "
                     + (f"{self.required_n:,}" if self.required_n is not None else "more than 1,000,000 (effect too small)") + ".")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
