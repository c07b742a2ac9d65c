"""L&D operations metrics, grouped under the four parts of the L&D business model.

Input is the optional ``requests`` table (the L&D intake log), plus — when
available — program costs, each program's evidence grade, enrollments and
the culture scorecards.

Parts and metrics (every definition is an estimand over the rows given)
------------------------------------------------------------------------
**Business alignment**
  * ``goal_share`` — share of all requests with a non-blank
    ``business_goal`` (Wilson 95 % CI, n = requests).
  * ``delivered_goal_share`` — the same share among delivered requests.

**Operational efficiency**
  * ``cycle_time_median`` — median days from ``requested_on`` to
    ``delivered_on`` over delivered requests with a delivery date; ``low`` and
    ``high`` are the quartiles (IQR, linear interpolation as in
    ``numpy.quantile``).
  * ``decision_time_median`` — median days from ``requested_on`` to
    ``decided_on`` where decided (IQR as above).
  * ``sla_adherence`` — share of delivered requests (with a delivery date and
    an ``sla_days``) whose cycle time is ``<= sla_days`` (Wilson 95 % CI).
  * ``open_backlog`` — requests open at ``as_of`` (see *Backlog*).

**Customer (business) value**
  * ``strong_evidence_spend_share`` — Σ spend on programs graded *strong* /
    Σ spend on all programs, spend = Σ ``amount × prorate_share`` of the
    costs table (blank share = 1).  A program without a grade counts as
    *not evaluated*.  This is a ratio of totals, not a sample: no interval.
  * ``evaluated_spend_share`` — the share of spend on programs with any grade.

**Consumer (employee) experience**
  * ``experience_index`` — the employee group's Employee Learning Experience
    index in the latest scorecard quarter (t 95 % CI; see
    :mod:`lopsnb.evaluation.culture`), when scorecards are given and not suppressed.
  * ``completion_rate`` — completed / (completed + dropped) enrollments
    (enrollments still open are excluded; Wilson 95 % CI).

Backlog
-------
A request is *open* at time ``t`` when ``requested_on <= t`` and it has not
closed by ``t``.  It closes on ``delivered_on`` (status *delivered*) or on
``decided_on`` (status *rejected* or *cancelled*; the contract has no
cancellation date, so a cancellation is dated by its last decision).
Requests with status *new*, *approved* or *in_progress* are still open at
``as_of``.  A closed request without its closing date cannot be placed in
time and is left out of the backlog (counted in ``undated_closed``).  The
backlog series has one point per month end from the first request's month to
``as_of`` (the last point is ``as_of`` itself when it is not a month end).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
import pandas as pd

from lopsnb._result import ResultMixin, jsonable
from lopsnb.errors import EvaluationError, LopsnbError
from lopsnb.evaluation.levels import wilson_ci
from lopsnb.report.plots import PALETTE, literal, new_ax

if TYPE_CHECKING:  # pragma: no cover
    from lopsnb.evaluation.culture import ScorecardResult
    from lopsnb.io.workspace import Workspace

__all__ = [
    "PARTS",
    "PART_LABELS",
    "OPEN_STATUSES",
    "GRADE_CLASSES",
    "OperationsResult",
    "operations_summary",
    "program_evidence_grades",
    "program_spend",
]

Part = Literal["business_alignment", "operational_efficiency", "business_value", "employee_experience"]
PARTS: tuple[str, ...] = get_args(Part)
PART_LABELS: dict[str, str] = {
    "business_alignment": "Business alignment",
    "operational_efficiency": "Operational efficiency",
    "business_value": "Customer (business) value",
    "employee_experience": "Consumer (employee) experience",
}
OPEN_STATUSES: tuple[str, ...] = ("new", "approved", "in_progress")
#: Evidence grades of lopsnb.evaluation plus the class of programs without one.
GRADE_CLASSES: tuple[str, ...] = ("strong", "moderate", "weak", "insufficient", "not evaluated")
PlotKind = Literal["backlog", "cycle", "spend"]
#: Usual priority words, most urgent first (others follow alphabetically).
_PRIORITY_ORDER: tuple[str, ...] = ("critical", "urgent", "high", "medium", "low")

_METRIC_COLS = ["part", "metric", "label", "value", "low", "high", "interval", "n", "unit", "note"]
_BACKLOG_COLS = ["month_end", "received", "delivered", "closed", "open"]
_CYCLE_COLS = ["priority", "delivered", "median_days", "q1_days", "q3_days", "mean_days", "sla_n", "sla_met", "sla_share",
               "sla_ci_low", "sla_ci_high"]
_SPEND_COLS = ["grade", "programs", "spend", "share"]


@dataclass(eq=False)
class OperationsResult(ResultMixin):
    """L&D operations scorecard.

    Attributes
    ----------
    measured : bool
        False when the requests table is empty (the request-based metrics are
        then NaN; spend and experience metrics are still computed).
    metrics : DataFrame
        One row per metric: ``part`` (see :data:`PARTS`), ``metric``,
        ``label``, ``value``, ``low``/``high`` (the interval named in
        ``interval``: ``95% Wilson CI``, ``95% t CI`` or ``IQR``), ``n`` (rows
        the metric is computed on), ``unit`` (``share``, ``days``,
        ``requests``, ``points``), ``note``.
    backlog : DataFrame
        ``month_end``, ``received``, ``delivered``, ``closed`` (delivered,
        rejected or cancelled in the month), ``open`` (at the month end).
    cycle : DataFrame
        Cycle time and SLA adherence by ``priority`` (plus ``all``):
        ``delivered``, ``median_days``, ``q1_days``, ``q3_days``,
        ``mean_days``, ``sla_n``, ``sla_met``, ``sla_share``, ``sla_ci_low``,
        ``sla_ci_high``.
    spend : DataFrame
        Spend by evidence grade: ``grade``, ``programs``, ``spend``, ``share``.
    as_of : Timestamp or None
        Reference date of the backlog.
    undated_closed : int
        Closed requests left out of the backlog for lack of a closing date.
    """

    measured: bool
    metrics: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_METRIC_COLS))
    backlog: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_BACKLOG_COLS))
    cycle: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_CYCLE_COLS))
    spend: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_SPEND_COLS))
    as_of: pd.Timestamp | None = None
    requests: int = 0
    undated_closed: int = 0

    title: str = "L&D operations"

    def to_frame(self) -> pd.DataFrame:
        """The metrics frame (see ``metrics``)."""
        return self.metrics.copy()

    def metric(self, name: str) -> float:
        """Value of metric ``name`` (KeyError naming the known metrics)."""
        row = self.metrics[self.metrics["metric"] == name]
        if row.empty:
            raise KeyError(f"no metric {name!r}; metrics: {', '.join(self.metrics['metric'])}")
        return float(row["value"].iloc[0])

    def headline(self) -> dict[str, Any]:
        """Scalar headline numbers by part and metric (JSON-safe)."""
        out: dict[str, Any] = {"measured": self.measured, "as_of": self.as_of, "requests": self.requests,
                               "undated_closed": self.undated_closed}
        for part in PARTS:
            rows = self.metrics[self.metrics["part"] == part]
            out[part] = {r["metric"]: {"value": r["value"], "low": r["low"], "high": r["high"], "interval": r["interval"],
                                       "n": r["n"], "unit": r["unit"]} for _, r in rows.iterrows()}
        out["spend_by_grade"] = {r["grade"]: {"programs": r["programs"], "spend": r["spend"], "share": r["share"]}
                                 for _, r in self.spend.iterrows()}
        return jsonable(out)

    def to_dict(self) -> dict[str, Any]:
        """Headline numbers plus metric rows, backlog, cycle and spend tables."""
        out = self.headline()
        out.update({"title": self.title, "rows": self.metrics, "backlog": self.backlog, "cycle": self.cycle, "spend": self.spend})
        return jsonable(out)

    def plot(self, ax: Any = None, *, kind: PlotKind = "backlog") -> Any:
        """Backlog over time (``kind="backlog"``), cycle time by priority (``"cycle"``) or spend by evidence grade (``"spend"``)."""
        if kind not in get_args(PlotKind):
            raise EvaluationError(f"kind must be one of {', '.join(get_args(PlotKind))}; got {kind!r}")
        ax = new_ax(ax)
        empty = {"backlog": self.backlog, "cycle": self.cycle, "spend": self.spend}[kind]
        if empty is None or len(empty) == 0 or (kind == "spend" and float(self.spend["spend"].sum()) == 0):
            ax.text(0.5, 0.5, "Not measured", ha="center", va="center", transform=ax.transAxes, color=PALETTE["neutral"])
            ax.set_axis_off()
            return ax
        if kind == "backlog":
            b = self.backlog
            x = pd.to_datetime(b["month_end"])
            ax.bar(x - pd.Timedelta(days=7), b["received"], width=12, color=PALETTE["comparison"], label="Received in month")
            ax.bar(x + pd.Timedelta(days=7), b["delivered"], width=12, color=PALETTE["positive"], label="Delivered in month")
            ax.plot(x, b["open"], marker="o", color=PALETTE["participants"], label="Open at month end")
            ax.set_ylabel("Requests")
            ax.legend(frameon=False, fontsize=8, loc="upper left")
        elif kind == "cycle":
            c = self.cycle[self.cycle["priority"] != "all"]
            y = np.arange(len(c))
            ax.barh(y, c["q3_days"] - c["q1_days"], left=c["q1_days"], color="#dbe7f0", height=0.5, label="Middle half (IQR)")
            ax.plot(c["median_days"], y, "o", color=PALETTE["participants"], label="Median")
            ax.set_yticks(y, [literal(f"{p} (n={n})") for p, n in zip(c["priority"], c["delivered"], strict=True)], fontsize=8)
            ax.set_xlabel("Days from request to delivery")
            ax.legend(frameon=False, fontsize=8, loc="lower right")
        else:
            s = self.spend
            colors = [PALETTE["positive"] if g == "strong" else PALETTE["comparison"] if g == "not evaluated" else PALETTE["participants"]
                      for g in s["grade"]]
            ax.barh(s["grade"][::-1], s["spend"][::-1], color=colors[::-1])
            for yi, (sp, sh) in enumerate(zip(s["spend"][::-1], s["share"][::-1], strict=True)):
                ax.text(sp, yi, f"  {sh:.0%}", va="center", fontsize=8)
            ax.set_xlabel("Program spend (cost lines × prorate share)")
        ax.spines[["top", "right"]].set_visible(False)
        return ax


def program_spend(costs: pd.DataFrame | None) -> pd.Series:
    """Spend per program: Σ ``amount × prorate_share`` (blank share = 1), indexed by program_id."""
    if costs is None or len(costs) == 0:
        return pd.Series(dtype="float64", name="spend")
    share = pd.to_numeric(costs["prorate_share"], errors="coerce").fillna(1.0) if "prorate_share" in costs else 1.0
    amount = pd.to_numeric(costs["amount"], errors="coerce").fillna(0.0) * share
    return amount.groupby(costs["program_id"].astype("str")).sum().rename("spend")


def program_evidence_grades(ws: Workspace) -> dict[str, str]:
    """Evidence grade of every program of a workspace.

    Programs with ``evaluate: false`` and programs whose file is invalid are
    ``"not evaluated"``; the others get ``evaluate(ws, pid).evidence.grade``
    (``"insufficient"`` when the evaluation itself fails).
    """
    from lopsnb.evaluation import evaluate

    grades: dict[str, str] = {}
    for pid, prog in sorted(ws.programs.items()):
        if not prog.evaluate:
            grades[pid] = "not evaluated"
            continue
        try:
            grades[pid] = str(evaluate(ws, pid).evidence.grade)
        except LopsnbError:
            grades[pid] = "insufficient"
    for pid in ws.program_errors:
        grades[pid] = "not evaluated"
    return grades


def _share_row(part: str, metric: str, label: str, hits: int, n: int, note: str = "") -> dict[str, Any]:
    lo, hi = wilson_ci(hits, n)
    return {"part": part, "metric": metric, "label": label, "value": hits / n if n else math.nan, "low": lo, "high": hi,
            "interval": "95% Wilson CI", "n": n, "unit": "share", "note": note}


def _median_row(part: str, metric: str, label: str, days: pd.Series, note: str = "") -> dict[str, Any]:
    d = days.dropna().to_numpy(dtype=float)
    if d.size == 0:
        med = q1 = q3 = math.nan
    else:
        q1, med, q3 = (float(v) for v in np.quantile(d, [0.25, 0.5, 0.75]))
    return {"part": part, "metric": metric, "label": label, "value": med, "low": q1, "high": q3, "interval": "IQR",
            "n": int(d.size), "unit": "days", "note": note}


def _check_grades(grades: Mapping[str, str]) -> None:
    bad = {k: v for k, v in grades.items() if v not in GRADE_CLASSES}
    if bad:
        raise EvaluationError(f"evidence grades must be one of {', '.join(GRADE_CLASSES)}; got {bad}")


def operations_summary(
    requests: pd.DataFrame | None,
    *,
    costs: pd.DataFrame | None = None,
    evidence_grades: Mapping[str, str] | None = None,
    enrollments: pd.DataFrame | None = None,
    experience: ScorecardResult | None = None,
    as_of: Any = None,
) -> OperationsResult:
    """Compute the L&D operations metrics (definitions in the module docstring).

    Parameters
    ----------
    requests : DataFrame or None
        The canonical ``requests`` table (dates as datetime64).
    costs : DataFrame, optional
        The canonical ``costs`` table; without it the spend metrics are NaN.
    evidence_grades : mapping of str to str, optional
        ``{program_id: grade}`` with grades from :data:`GRADE_CLASSES`
        (see :func:`program_evidence_grades`); programs absent from the
        mapping are "not evaluated".
    enrollments : DataFrame, optional
        The canonical ``enrollments`` table, for the completion rate.
    experience : ScorecardResult, optional
        Culture scorecards, for the employee experience index.
    as_of : date-like, optional
        End of the backlog series; default the latest date in the requests.

    Returns
    -------
    OperationsResult
    """
    grades = dict(evidence_grades or {})
    _check_grades(grades)
    req = requests if requests is not None else pd.DataFrame()
    measured = len(req) > 0
    rows: list[dict[str, Any]] = []
    backlog = pd.DataFrame(columns=_BACKLOG_COLS)
    cycle = pd.DataFrame(columns=_CYCLE_COLS)
    undated = 0
    as_of_ts: pd.Timestamp | None = pd.Timestamp(as_of) if as_of is not None else None

    if measured:
        status = req["status"].astype("str")
        requested = pd.to_datetime(req["requested_on"])
        decided = pd.to_datetime(req["decided_on"])
        delivered_on = pd.to_datetime(req["delivered_on"])
        has_goal = req["business_goal"].fillna("").astype("str").str.strip() != ""
        is_delivered = status == "delivered"
        dated = is_delivered & delivered_on.notna()
        cycle_days = (delivered_on - requested).dt.days.where(dated).astype("float64")
        sla = pd.to_numeric(req["sla_days"], errors="coerce")
        with_sla = dated & sla.notna()
        met = with_sla & (cycle_days <= sla)
        if as_of_ts is None:
            as_of_ts = pd.concat([requested, decided, delivered_on]).max()

        rows.append(_share_row("business_alignment", "goal_share", "Requests tied to a business goal", int(has_goal.sum()), len(req)))
        rows.append(_share_row("business_alignment", "delivered_goal_share", "Delivered requests tied to a business goal",
                               int((has_goal & is_delivered).sum()), int(is_delivered.sum())))
        undated_delivered = int((is_delivered & delivered_on.isna()).sum())
        rows.append(_median_row("operational_efficiency", "cycle_time_median", "Days from request to delivery (median)", cycle_days,
                                note=f"{undated_delivered} delivered request(s) without delivered_on left out" if undated_delivered else ""))
        rows.append(_median_row("operational_efficiency", "decision_time_median", "Days from request to decision (median)",
                                (decided - requested).dt.days.astype("float64")))
        no_sla = int((dated & sla.isna()).sum())
        rows.append(_share_row("operational_efficiency", "sla_adherence", "Delivered within the agreed SLA", int(met.sum()), int(with_sla.sum()),
                               note=f"{no_sla} delivered request(s) without sla_days left out" if no_sla else ""))

        close = pd.Series(pd.NaT, index=req.index, dtype="datetime64[ns]")
        close = close.where(~is_delivered, delivered_on)
        close = close.where(~status.isin(["rejected", "cancelled"]), decided)
        is_open = status.isin(OPEN_STATUSES)
        undated_mask = ~is_open & close.isna()
        undated = int(undated_mask.sum())
        backlog = _backlog(requested, ~undated_mask, close, delivered_on.where(dated), close.where(~is_open), as_of_ts)
        open_now = int(((requested <= as_of_ts) & ~undated_mask & (close.isna() | (close > as_of_ts))).sum())
        rows.append({"part": "operational_efficiency", "metric": "open_backlog", "label": f"Open requests on {as_of_ts:%Y-%m-%d}",
                     "value": float(open_now), "low": math.nan, "high": math.nan, "interval": "", "n": len(req), "unit": "requests",
                     "note": f"{undated} closed request(s) without a closing date left out" if undated else ""})
        cycle = _cycle_table(req["priority"], cycle_days, dated, with_sla, met)
    else:
        for part, metric, label, unit in (
            ("business_alignment", "goal_share", "Requests tied to a business goal", "share"),
            ("business_alignment", "delivered_goal_share", "Delivered requests tied to a business goal", "share"),
            ("operational_efficiency", "cycle_time_median", "Days from request to delivery (median)", "days"),
            ("operational_efficiency", "decision_time_median", "Days from request to decision (median)", "days"),
            ("operational_efficiency", "sla_adherence", "Delivered within the agreed SLA", "share"),
            ("operational_efficiency", "open_backlog", "Open requests", "requests"),
        ):
            rows.append({"part": part, "metric": metric, "label": label, "value": math.nan, "low": math.nan, "high": math.nan,
                         "interval": "", "n": 0, "unit": unit, "note": "not measured (no requests table)"})

    spend_by_program = program_spend(costs)
    spend = _spend_table(spend_by_program, grades)
    total = float(spend_by_program.sum())
    strong = float(spend.loc[spend["grade"] == "strong", "spend"].sum())
    evaluated = float(spend.loc[~spend["grade"].isin(["not evaluated"]), "spend"].sum())
    no_spend = "not measured (no costs)" if total == 0 else ""
    for metric, label, num in (("strong_evidence_spend_share", "Spend on programs with strong evidence", strong),
                               ("evaluated_spend_share", "Spend on programs with an evidence grade", evaluated)):
        rows.append({"part": "business_value", "metric": metric, "label": label, "value": num / total if total else math.nan,
                     "low": math.nan, "high": math.nan, "interval": "", "n": int((spend_by_program > 0).sum()), "unit": "share",
                     "note": no_spend})

    rows.append(_experience_row(experience))
    rows.append(_completion_row(enrollments))
    metrics = pd.DataFrame(rows, columns=_METRIC_COLS)
    metrics["n"] = metrics["n"].astype("int64")
    return OperationsResult(measured, metrics, backlog, cycle, spend, as_of_ts, len(req), undated)


def _backlog(requested: pd.Series, placed: pd.Series, close: pd.Series, delivered: pd.Series, closed_on: pd.Series,
             as_of: pd.Timestamp) -> pd.DataFrame:
    """Monthly flow and month-end stock; ``placed`` marks requests whose open interval is known."""
    start = requested.min()
    if pd.isna(start) or pd.isna(as_of):
        return pd.DataFrame(columns=_BACKLOG_COLS)
    ends = list(pd.date_range(start.to_period("M").to_timestamp(how="end").normalize(), as_of, freq="ME"))
    if not ends or ends[-1] < as_of.normalize():
        ends.append(as_of.normalize())
    out = []
    for end in ends:
        month = end.to_period("M")
        out.append({
            "month_end": end,
            "received": int((requested.dt.to_period("M") == month).sum()),
            "delivered": int((delivered.dt.to_period("M") == month).sum()),
            "closed": int((closed_on.dt.to_period("M") == month).sum()),
            "open": int((placed & (requested <= end) & (close.isna() | (close > end))).sum()),
        })
    return pd.DataFrame(out, columns=_BACKLOG_COLS)


def _cycle_table(priority: pd.Series, days: pd.Series, dated: pd.Series, with_sla: pd.Series, met: pd.Series) -> pd.DataFrame:
    prio = priority.fillna("(blank)").astype("str")
    rows = []
    seen = set(prio[dated].unique())
    order = [p for p in _PRIORITY_ORDER if p in seen] + sorted(seen - set(_PRIORITY_ORDER))
    for name in [*order, "all"]:
        sel = dated if name == "all" else dated & (prio == name)
        d = days[sel].to_numpy(dtype=float)
        q1, med, q3 = (float(v) for v in np.quantile(d, [0.25, 0.5, 0.75])) if d.size else (math.nan,) * 3
        n_sla = int((with_sla & sel).sum())
        hits = int((met & sel).sum())
        lo, hi = wilson_ci(hits, n_sla)
        rows.append({"priority": name, "delivered": int(d.size), "median_days": med, "q1_days": q1, "q3_days": q3,
                     "mean_days": float(d.mean()) if d.size else math.nan, "sla_n": n_sla, "sla_met": hits,
                     "sla_share": hits / n_sla if n_sla else math.nan, "sla_ci_low": lo, "sla_ci_high": hi})
    return pd.DataFrame(rows, columns=_CYCLE_COLS)


def _spend_table(spend_by_program: pd.Series, grades: Mapping[str, str]) -> pd.DataFrame:
    grade = pd.Series({pid: grades.get(pid, "not evaluated") for pid in spend_by_program.index}, dtype="object")
    total = float(spend_by_program.sum())
    rows = []
    for g in GRADE_CLASSES:
        sel = grade[grade == g].index
        amount = float(spend_by_program.reindex(sel).sum())
        rows.append({"grade": g, "programs": int((spend_by_program.reindex(sel) > 0).sum()), "spend": amount,
                     "share": amount / total if total else math.nan})
    return pd.DataFrame(rows, columns=_SPEND_COLS)


def _experience_row(experience: ScorecardResult | None) -> dict[str, Any]:
    row = {"part": "employee_experience", "metric": "experience_index", "label": "Employee Learning Experience index (employees)",
           "value": math.nan, "low": math.nan, "high": math.nan, "interval": "95% t CI", "n": 0, "unit": "points (1-5)",
           "note": "not measured (no scorecards)"}
    if experience is None or not experience.measured:
        return row
    idx = experience.index
    sel = idx[(idx["scorecard"] == "experience") & (idx["group"] == "employee") & (idx["period"] == experience.period)]
    if sel.empty:
        return row
    r = sel.iloc[0]
    row.update({"n": int(r["n"]), "note": f"quarter {experience.period}"})
    if bool(r["suppressed"]):
        row["note"] = f"suppressed (fewer than {experience.min_group_size} respondents in {experience.period})"
    else:
        row.update({"value": float(r["mean"]), "low": float(r["ci_low"]), "high": float(r["ci_high"])})
    return row


def _completion_row(enrollments: pd.DataFrame | None) -> dict[str, Any]:
    if enrollments is None or len(enrollments) == 0:
        return {"part": "employee_experience", "metric": "completion_rate", "label": "Finished enrollments that were completed",
                "value": math.nan, "low": math.nan, "high": math.nan, "interval": "95% Wilson CI", "n": 0, "unit": "share",
                "note": "not measured (no enrollments)"}
    status = enrollments["status"].astype("str")
    done, dropped = int((status == "completed").sum()), int((status == "dropped").sum())
    return _share_row("employee_experience", "completion_rate", "Finished enrollments that were completed", done, done + dropped,
                      note="completed / (completed + dropped)")
