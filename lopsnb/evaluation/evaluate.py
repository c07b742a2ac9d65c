"""``evaluate(workspace, program_id)``: the chain of evidence of one program."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from lopsnb.fmt import interval, number, pvalue
from lopsnb._version import __version__
from lopsnb._result import NotEstimated, ResultMixin, jsonable
from lopsnb.errors import EvaluationError, InsufficientDataError
from lopsnb.evaluation.costs import program_costs
from lopsnb.evaluation.degenerate import (
    money_text,
    outcome_scale,
    require_adjusted_variation,
)
from lopsnb.evaluation.checks import design_coverage
from lopsnb.evaluation.decision import Decision, decide, withhold_roi
from lopsnb.evaluation.evidence import COMPARISON_DESIGNS, EvidenceGrade, grade_evidence
from lopsnb.evaluation.guard import numerical_failures
from lopsnb.evaluation.levels import (
    BehaviorResult,
    InputsResult,
    LearningResult,
    ReactionResult,
    behavior_summary,
    inputs_summary,
    learning_summary,
    reaction_summary,
)
from lopsnb.evaluation.methods import (
    Estimate,
    _from_normal,
    ancova,
    before_after,
    covariate_matrix,
    post_only,
    smd,
    smd_band,
    trend_line,
    twfe,
    twfe_did,
)
from lopsnb.evaluation.covariate_designs import COVARIATE_DESIGNS, covariate_estimate, staggered_estimate
from lopsnb.evaluation.panel import FREQUENCIES, ImpactPanel, build_panel, period_gaps
from lopsnb.evaluation.pilot import PILOT_DESIGNS, pilot_estimate, single_unit_hint
from lopsnb.evaluation.roi import AuditEntry, RoiResult, adjust_estimates, costs_complete, phillips_roi
from lopsnb.evaluation.privacy import suppress_series
from lopsnb.evaluation.sensitivity import Sensitivity, sensitivity_for
from lopsnb.evaluation.staggered import StaggeredDiD
from lopsnb.evaluation.survival import SURVIVAL_DESIGNS, SurvivalResult, survival_estimate
from lopsnb.io.programs import Program
from lopsnb.io.rules import active_enrollments
from lopsnb.io.workspace import Workspace, load_workspace

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["ImpactResult", "ProgramEvaluation", "evaluate", "monetized_estimate"]

SCHEMA_VERSION = 1


@dataclass(kw_only=True)
class ImpactResult(ResultMixin):
    """Level 4: the program's isolated effect on its outcome, by every method asked for.

    Attributes
    ----------
    estimates : dict of str to Estimate
        Successful estimates by method, primary first.
    failures : dict of str to str
        Methods that could not be estimated and why.
    primary_method : str
    balance : DataFrame
        ``variable, mean_treated, mean_comparison, smd, band`` (baseline outcome
        first, then covariates).
    pre_trend : dict or None
        Joint placebo test of the pre-period effects (``statistic, df, p_value``).
    event_study : DataFrame or None
        ``relative_period, estimate, std_error, ci_low, ci_high, kind``.
    series : DataFrame
        Mean outcome per period and group (``period, group, mean, n``).
    attrition : dict
    notes : list of str
    staggered : StaggeredDiD or None
        The Callaway–Sant'Anna result of a staggered did (group-time ATTs,
        event study with ``event_vcov``, ``aggregations``).
    overlap : dict or None
        Propensity-score overlap of the first weighting design that ran
        (dr_did, ipw_did, weighting); see ``drdid.overlap_summary``.
    balance_weighted : DataFrame or None
        Covariate balance after weighting (``drdid.weighted_balance``).
    """

    outcome: str
    unit: str | None
    direction: str
    entity: str
    transform: str
    primary_method: str
    estimates: dict[str, Estimate]
    failures: dict[str, str]
    balance: pd.DataFrame
    pre_trend: dict[str, float] | None
    event_study: pd.DataFrame | None
    series: pd.DataFrame
    attrition: dict[str, int]
    notes: list[str] = field(default_factory=list)
    staggered: StaggeredDiD | None = None
    launch: Any = None
    #: Propensity-score overlap of the first weighting design run (dr_did, ipw_did, weighting).
    overlap: dict[str, Any] | None = None
    #: Covariate balance after weighting (DataFrame) of that design.
    balance_weighted: pd.DataFrame | None = None
    sensitivity: Sensitivity | None = None
    #: Kaplan–Meier curves, hazard ratio and RMST of a time-to-event outcome (design survival).
    survival: SurvivalResult | None = None
    title = "Level 4 — business results (isolated effect)"

    @property
    def primary(self) -> Estimate | None:
        """The primary design's estimate (None when it failed)."""
        return self.estimates.get(self.primary_method)

    def to_frame(self) -> pd.DataFrame:
        """One row per method: method, label, estimate, std_error, ci_low, ci_high, p_value, n_treated, n_comparison, strength, primary."""
        rows = []
        for m, e in self.estimates.items():
            rows.append(
                {
                    "method": m,
                    "label": e.label,
                    "estimate": e.estimate,
                    "std_error": e.std_error,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "p_value": e.p_value,
                    "n_treated": e.n_treated,
                    "n_comparison": e.n_comparison,
                    "strength": e.strength,
                    "primary": m == self.primary_method,
                }
            )
        # Explicit columns: with every method failed the frame is empty but
        # still has the documented columns (callers filter on them).
        cols = ["method", "label", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n_treated", "n_comparison", "strength", "primary"]
        return pd.DataFrame(rows, columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """The ``results`` section of ``results.json``."""
        baseline = self.balance[self.balance["variable"] == "baseline " + self.outcome]
        return jsonable(
            {
                "outcome": self.outcome,
                "unit": self.unit,
                "direction": self.direction,
                "entity": self.entity,
                "transform": self.transform,
                "primary_method": self.primary_method,
                "estimates": {m: e.to_dict() for m, e in self.estimates.items()},
                "failures": self.failures,
                "balance": {
                    "baseline_smd": float(baseline["smd"].iloc[0]) if len(baseline) else None,
                    "rows": self.balance,
                },
                "pre_trend": self.pre_trend,
                "event_study": self.event_study,
                "overlap": self.overlap,
                "balance_weighted": self.balance_weighted,
                "staggered": _staggered_dict(self.staggered),
                "attrition": self.attrition,
                "series": self.series,
                "notes": self.notes,
                "sensitivity": self.sensitivity.to_dict() if self.sensitivity is not None else None,
                "survival": self.survival.to_dict() if self.survival is not None else None,
            }
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Participants vs comparison over time, launch marked."""
        from lopsnb.report.plots import plot_trend

        return plot_trend(self.series, launch=self.launch, unit=self.unit, outcome=self.outcome, ax=ax)

    def plot_survival(self, ax: Axes | None = None) -> Axes:
        """Kaplan–Meier curves by group with the horizon marked and the numbers at risk below (design survival)."""
        from lopsnb.report.plots import plot_survival

        if self.survival is None:
            raise EvaluationError("no survival result: the program's design is not survival")
        return plot_survival(self.survival.to_dict(), ax=ax)


@dataclass(kw_only=True)
class ProgramEvaluation(ResultMixin):
    """The full chain of evidence of one program (Levels 0–5).

    Use ``to_dict()`` for the JSON document reports carry (documented in
    ``docs/results-schema.md``), ``to_frame()`` for the tidy chain of
    evidence, ``summary()`` for text and ``plot()`` for the chain figure.
    """

    program: Program
    inputs: InputsResult
    reaction: ReactionResult
    learning: LearningResult
    behavior: BehaviorResult
    impact: ImpactResult | NotEstimated
    evidence: EvidenceGrade
    roi: RoiResult | NotEstimated
    chain: pd.DataFrame
    audit: list[AuditEntry]
    data_as_of: Any = None
    workspace_name: str | None = None
    performance: dict[str, Estimate] = field(default_factory=dict)
    decision: Decision | None = None

    @property
    def impact_error(self) -> str | None:
        """Why there is no isolated effect (None when there is one)."""
        return self.impact.reason if isinstance(self.impact, NotEstimated) else None

    @property
    def roi_reason(self) -> str | None:
        """Why no ROI is shown (None when there is one)."""
        return self.roi.reason if isinstance(self.roi, NotEstimated) else None

    @property
    def title(self) -> str:  # type: ignore[override]
        return f"{self.program.name} — chain of evidence"

    def to_frame(self) -> pd.DataFrame:
        """The chain of evidence: level, measure, value, change, unit, status."""
        return self.chain.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable evaluation (the content of ``results.json``)."""
        p = self.program
        roi: dict[str, Any]
        if isinstance(self.roi, NotEstimated):
            roi = {"available": False, "reason": self.roi.reason}
        else:
            roi = {"available": True, "reason": None, **self.roi.to_dict()}
        return jsonable(
            {
                "schema_version": SCHEMA_VERSION,
                "lopsnb_version": __version__,
                "program": {
                    "id": p.id,
                    "name": p.name,
                    "owner": p.owner,
                    "business_goal": p.business_goal,
                    "launch": p.launch,
                    "outcome": p.outcome,
                    "unit": self._unit(),
                    "direction": p.direction,
                    "entity": p.evaluation.entity,
                    "design": p.evaluation.design,
                    "designs": list(p.designs),
                    "chain": p.chain.model_dump(mode="json"),
                    "intangibles": list(p.intangibles),
                    "min_group_size": p.privacy.min_group_size,
                    "currency": p.monetization.currency if p.monetization else None,
                },
                "data": {"data_as_of": self.data_as_of, "workspace": self.workspace_name},
                "inputs": self.inputs.to_dict(),
                "reaction": self.reaction.to_dict(),
                "learning": self.learning.to_dict(),
                "behavior": self.behavior.to_dict(),
                "results": self.impact.to_dict() if self.impact else {"error": self.impact_error},
                "performance": {m: e.to_dict() for m, e in self.performance.items()},
                "evidence": self.evidence.to_dict(),
                "roi": roi,
                "decision": self.decision.to_dict() if self.decision is not None else None,
                "chain": self.chain,
                "audit": [a.to_dict() for a in self.audit],
            }
        )

    def _unit(self) -> str | None:
        p = self.program
        if p.outcome == p.chain.business_metric.metric:
            return p.chain.business_metric.unit
        return next((m.unit for m in p.chain.performance_metrics if m.metric == p.outcome), None)

    def summary(self) -> str:
        """Plain-text chain of evidence, estimates, grade and ROI."""
        lines = [self.title, "=" * len(self.title), self.chain.to_string(index=False), ""]
        if self.impact:
            lines += ["Isolated effect on " + self.program.outcome, self.impact.to_frame().to_string(index=False), ""]
        else:
            lines += [f"Level 4 not estimated: {self.impact_error}", ""]
        lines.append(f"Evidence: {self.evidence.grade.upper()}")
        lines += [f"  - {r}" for r in self.evidence.reasons]
        if self.roi:
            r = self.roi
            lines.append(
                f"ROI: {_fmt(r.roi_pct, '%')} (95% interval {_fmt(r.roi_interval[0] if r.roi_interval else None, '%')} .. "
                f"{_fmt(r.roi_interval[1] if r.roi_interval else None, '%')}; conservative {_fmt(r.conservative_roi_pct, '%')}), "
                f"BCR {_fmt(r.bcr, '')}, isolation: {r.isolation_method}"
            )
        else:
            lines.append(f"ROI not computed: {self.roi_reason}")
        if self.decision is not None:
            lines.append(f"Decision: {self.decision.action.upper()} — {self.decision.reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        grade = html.escape(self.evidence.grade)
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in self.evidence.reasons)
        impact = self.impact.to_frame().to_html(index=False, float_format=lambda v: f"{v:,.4g}") if self.impact else (
            f"<p>Level 4 not estimated: {html.escape(str(self.impact_error))}</p>"
        )
        return (
            f"<h3>{html.escape(self.title)}</h3>{self.chain.to_html(index=False, na_rep='–')}"
            f"<h4>Isolated effect</h4>{impact}<h4>Evidence: {grade}</h4><ul>{reasons}</ul>"
            + (self.roi._repr_html_() if self.roi else f"<p>ROI not computed: {html.escape(str(self.roi_reason))}</p>")
            + (f"<p><strong>Decision: {html.escape(self.decision.action)}</strong> — {html.escape(self.decision.reason)}</p>" if self.decision else "")
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """The chain-of-evidence figure."""
        from lopsnb.report.plots import plot_chain

        return plot_chain(self.chain, ax=ax, program=self.program)


def _fmt(v: float | None, unit: str) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:,.1f}{unit}"


# --------------------------------------------------------------------------- impact


def _staggered_dict(res: StaggeredDiD | None) -> dict[str, Any] | None:
    """``results.staggered``: how the group-time ATTs were formed and their did::aggte aggregations."""
    if res is None:
        return None
    return {"control_group": res.control_group, "covariates": list(res.covariates), "base_period": res.base_period,
            "covariate_adjustment": res.diagnostics.get("covariate_adjustment"), "aggregations": res.aggregations}


def _staggered(panel: ImpactPanel) -> tuple[Estimate, StaggeredDiD]:
    ev = panel.program.evaluation
    gaps = period_gaps(panel.obs["period"], ev.frequency, metric=panel.program.outcome)
    if gaps is not None:
        raise InsufficientDataError(f"did (staggered cohorts): {gaps}")
    return staggered_estimate(panel)


def _event_study_twfe(panel: ImpactPanel) -> tuple[pd.DataFrame | None, dict[str, float] | None]:
    """Event-study TWFE on both windows: treated × period dummies, reference = last baseline period."""
    obs = panel.obs.dropna(subset=["window"])
    base_periods = sorted(obs.loc[obs["window"] == "baseline", "pidx"].unique())
    periods = sorted(obs["pidx"].unique())
    if len(base_periods) < 2 or panel.n_comparison < 2 or panel.n_treated < 2:
        return None, None
    ref = base_periods[-1]
    cols = []
    data = obs.copy()
    for p in periods:
        if p == ref:
            continue
        name = f"tp_{p}"
        data[name] = ((data["pidx"] == p) & data["treated"]).astype(float)
        cols.append((p, name))
    # Huge KPIs are scaled by a power of two (exact) so squares do not overflow.
    k = outcome_scale(data["value"])
    params, cov, info = twfe(data.assign(value=data["value"] / k), [c for _, c in cols])
    params, cov = params * k, cov * k * k
    q = stats.t(info["df_resid"]).ppf(0.975)
    rows = []
    periods_map = data.groupby("pidx")["period"].first()
    for i, (p, _) in enumerate(cols):
        # A degenerate period (no variation left after the fixed effects) has
        # no usable variance: report NaN rather than the root of a negative.
        se = float(np.sqrt(cov[i, i])) if cov[i, i] > 0 else float("nan")
        rows.append(
            {
                # The reference (last baseline) period is -1; the first followup-side period 0.
                "relative_period": int(p - ref - 1),
                "period": periods_map[p],
                "estimate": float(params[i]),
                "std_error": se,
                "ci_low": float(params[i] - q * se),
                "ci_high": float(params[i] + q * se),
                "kind": "placebo" if p < ref else "effect",
            }
        )
    es = pd.DataFrame(rows)
    pre_idx = [i for i, (p, _) in enumerate(cols) if p < ref]
    pre: dict[str, float] | None = None
    if pre_idx:
        b = params[pre_idx]
        v = cov[np.ix_(pre_idx, pre_idx)]
        stat = float(b @ np.linalg.pinv(v) @ b)
        pre = {"statistic": stat, "df": len(pre_idx), "p_value": float(stats.chi2.sf(stat, len(pre_idx))), "test": "joint Wald, placebo periods"}
    return es, pre


def _trend(panel: ImpactPanel) -> Estimate:
    obs = panel.obs.dropna(subset=["window"])
    if panel.relative:
        raise InsufficientDataError("trend: needs absolute (date) windows")
    k = outcome_scale(obs["value"])  # a power of two: exact, keeps sums of huge KPIs finite
    obs = obs.assign(value=obs["value"] / k)
    treated = obs[obs["treated"]].groupby("pidx").agg(y=("value", "mean"), post=("post", "first"))
    n_c = panel.n_comparison
    if n_c >= 2:
        comp = obs[~obs["treated"]].groupby("pidx")["value"].mean()
        treated = treated.assign(y=treated["y"] - comp.reindex(treated.index)).dropna(subset=["y"])
    treated["y"] *= k
    return trend_line(treated.reset_index(), n_treated=panel.n_treated, n_comparison=n_c if n_c >= 2 else 0, transform=panel.program.evaluation.transform)


def _estimates_method(ws: Workspace, program: Program, participants: int) -> tuple[Estimate, list[AuditEntry]]:
    est = ws.table("estimates")
    est = est[(est["program_id"] == program.id) & (est["metric"] == program.outcome)]
    if est.empty:
        raise InsufficientDataError(f"estimates: no participant estimates for metric {program.outcome!r} in the estimates table")
    adj = adjust_estimates(est.drop(columns=["_row"], errors="ignore"), participants=participants)
    require_adjusted_variation(adj)
    e = _from_normal(
        "estimates", adj.effect, adj.std_error, participants, 0, df=float(participants - 1),
        details={"n_respondents": adj.n_respondents, "n_nonrespondents": adj.n_nonrespondents, "n_excluded": adj.n_excluded,
                 "fence": adj.fence, "total_adjusted": adj.total_adjusted},
    )
    return e, list(adj.audit)


def _balance(panel: ImpactPanel) -> pd.DataFrame:
    ents = panel.entities
    rows = []
    if panel.n_comparison and panel.n_treated:
        t, c = ents[ents["treated"]], ents[~ents["treated"]]
        rows.append(("baseline " + panel.program.outcome, t["baseline"], c["baseline"]))
        covs = covariate_matrix(ents, [cv for cv in panel.program.evaluation.covariates if cv in ents.columns])
        for col in covs.columns:
            rows.append((col, covs.loc[t.index, col], covs.loc[c.index, col]))
    out = [
        {"variable": name, "mean_treated": float(a.mean()), "mean_comparison": float(b.mean()), "smd": smd(a, b), "band": smd_band(smd(a, b))}
        for name, a, b in rows
    ]
    return pd.DataFrame(out, columns=["variable", "mean_treated", "mean_comparison", "smd", "band"])


@numerical_failures
def _run_method(method: str, panel: ImpactPanel, ws: Workspace, program: Program, participants: int) -> tuple[Estimate, Any]:
    tr = program.evaluation.transform
    if method == "did":
        if panel.relative:
            return _staggered(panel)
        return twfe_did(panel.obs.dropna(subset=["window"]), transform=tr), None
    if method == "ancova":
        if panel.relative:
            raise InsufficientDataError("ancova: needs absolute (date) windows shared by both groups")
        return ancova(panel.entities, covariates=[c for c in program.evaluation.covariates if c in panel.entities.columns], transform=tr), None
    if method == "post_only":
        if panel.relative:
            raise InsufficientDataError("post_only: needs absolute (date) windows shared by both groups")
        return post_only(panel.entities, transform=tr), None
    if method in COVARIATE_DESIGNS:
        return covariate_estimate(panel, method)
    if method == "before_after":
        return before_after(panel.entities, transform=tr), None
    if method == "trend":
        return _trend(panel), None
    if method == "estimates":
        return _estimates_method(ws, program, participants)
    if method in PILOT_DESIGNS:
        return pilot_estimate(method, panel), None
    raise EvaluationError(f"unknown method {method!r}")  # pragma: no cover - Literal-checked in the program schema


def _survival_impact(ws: Workspace, program: Program) -> ImpactResult | NotEstimated:
    """Level 4 of a time-to-event outcome (design survival): no KPI panel, one estimate and its survival result."""
    estimates: dict[str, Estimate] = {}
    failures: dict[str, str] = {}
    survival, attrition, notes, balance = None, {"participants": _count_participants(ws, program)}, [], None
    try:
        est, survival, data = survival_estimate(ws, program)
        est.details.setdefault("covariates", [])
        estimates["survival"] = est
        attrition, notes = data.attrition, list(data.notes)
        balance = _covariate_balance(data.frame, list(program.evaluation.covariates))
    except EvaluationError as exc:
        failures["survival"] = str(exc)
    empty_balance = pd.DataFrame(columns=["variable", "mean_treated", "mean_comparison", "smd", "band"])
    return ImpactResult(
        outcome=program.outcome, unit="share" if program.evaluation.event is None else "share reaching the event", direction=program.direction,
        entity=program.evaluation.entity, transform="none", primary_method="survival", estimates=estimates, failures=failures,
        balance=balance if balance is not None else empty_balance, pre_trend=None, event_study=None,
        series=pd.DataFrame(columns=["period", "group", "mean", "n"]), attrition=attrition, notes=notes, launch=program.launch, survival=survival,
    )


def _covariate_balance(frame: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """SMD of each covariate between the groups (rows as :func:`_balance`, without a baseline outcome)."""
    covs = covariate_matrix(frame, [c for c in covariates if c in frame.columns])
    t, c = frame["treated"].to_numpy(bool), ~frame["treated"].to_numpy(bool)
    rows = [{"variable": col, "mean_treated": float(covs.loc[t, col].mean()), "mean_comparison": float(covs.loc[c, col].mean()),
             "smd": smd(covs.loc[t, col], covs.loc[c, col]), "band": smd_band(smd(covs.loc[t, col], covs.loc[c, col]))} for col in covs.columns]
    return pd.DataFrame(rows, columns=["variable", "mean_treated", "mean_comparison", "smd", "band"])


def _impact(ws: Workspace, program: Program, audit: list[AuditEntry]) -> tuple[ImpactResult | NotEstimated, ImpactPanel | None]:
    designs = program.designs
    if program.evaluation.design in SURVIVAL_DESIGNS:
        return _survival_impact(ws, program), None
    needs_panel = any(d != "estimates" for d in designs)
    panel: ImpactPanel | None = None
    if needs_panel:
        try:
            panel = build_panel(ws, program)
        except EvaluationError as exc:
            return NotEstimated(reason=str(exc)), None
    participants = panel.attrition["participants"] if panel is not None else _count_participants(ws, program)
    estimates: dict[str, Estimate] = {}
    failures: dict[str, str] = {}
    staggered = None
    weighting: dict[str, Any] = {}
    for d in designs:
        try:
            if d != "estimates" and panel is None:  # pragma: no cover - guarded above
                continue
            est, extra = _run_method(d, panel, ws, program, participants)  # type: ignore[arg-type]
            estimates[d] = est
            if d == "did" and isinstance(extra, StaggeredDiD):
                staggered = extra
            if d in COVARIATE_DESIGNS and not weighting and extra["overlap"] is not None:
                weighting = extra
            # Every estimate says which covariates it used (none for most designs).
            est.details.setdefault("covariates", [])
            if d == "estimates":
                audit.extend(extra)
        except EvaluationError as exc:  # numerical failures included (see lopsnb.evaluation.guard)
            # Name the real cause (and its fix): the window rule removed participants, or one treated unit.
            cause = panel.window_note if panel is not None and "participating" in str(exc) else None
            failures[d] = single_unit_hint(d, str(exc), panel) + (f" — {cause}" if cause else "")
    if panel is None:
        attrition = {"participants": participants}
        balance = pd.DataFrame(columns=["variable", "mean_treated", "mean_comparison", "smd", "band"])
        series = pd.DataFrame(columns=["period", "group", "mean", "n"])
        notes: list[str] = []
    else:
        attrition, balance, series, notes = panel.attrition, _balance(panel), panel.series(), list(panel.notes)
    # Rows left out by identity matching (workspace.yml unmatched: drop) are part of the coverage.
    notes += ws.identity_notes(program.id)
    # Privacy at the result boundary: no caller of the result sees a small group's mean.
    series = suppress_series(series, program.privacy.min_group_size)
    event_study, pre_trend = None, None
    if staggered is not None:
        event_study = staggered.event_study[["relative_period", "estimate", "std_error", "ci_low", "ci_high", "kind"]]
        pt = staggered.pre_trend_test()
        pre_trend = {"statistic": pt["statistic"], "df": pt["df"], "p_value": pt["p_value"], "test": "joint Wald, CS placebo ATT(e), e < 0"}
    elif panel is not None and "did" in estimates:
        event_study, pre_trend = _event_study_twfe(panel)
    unit = program.chain.business_metric.unit if program.outcome == program.chain.business_metric.metric else None
    result = ImpactResult(
        outcome=program.outcome, unit=unit, direction=program.direction, entity=program.evaluation.entity, transform=program.evaluation.transform,
        primary_method=program.evaluation.design, estimates=estimates, failures=failures, balance=balance, pre_trend=pre_trend, event_study=event_study, series=series, attrition=attrition, notes=notes, staggered=staggered, launch=program.launch,
        overlap=weighting.get("overlap"), balance_weighted=weighting.get("balance_weighted"),
    )
    return result, panel


def _baseline_smd(impact: ImpactResult | NotEstimated) -> float | None:
    """The raw baseline-outcome SMD (infinite when both groups are constant at different levels)."""
    if not impact:
        return None
    rows = impact.balance[impact.balance["variable"] == "baseline " + impact.outcome]
    return float(rows["smd"].iloc[0]) if len(rows) else None


def _covariate_smd(impact: ImpactResult | NotEstimated) -> dict[str, float]:
    """SMD of each covariate (balance rows other than the baseline outcome)."""
    if not impact:
        return {}
    rows = impact.balance[impact.balance["variable"] != "baseline " + impact.outcome]
    return {str(r.variable): float(r.smd) for r in rows.itertuples()}


def _adjusted(impact: ImpactResult) -> Estimate | None:
    """A covariate-adjusted estimate to confirm the primary one: the primary itself when it used covariates, else ancova / dr_did."""
    primary = impact.primary
    if primary is not None and primary.details.get("covariates"):
        return primary
    return next((impact.estimates[m] for m in ("ancova", "dr_did", "weighting") if m in impact.estimates), None)


def _count_participants(ws: Workspace, program: Program) -> int:
    return int(active_enrollments(ws.table("enrollments"), program.id)["person_id"].nunique())


# --------------------------------------------------------------------------- ROI and chain


def _costs(ws: Workspace, program: Program) -> tuple[pd.DataFrame, list[AuditEntry], float, str | None]:
    costs = program_costs(ws, program.id)
    raw = ws.table("costs")
    incomplete = costs_complete(raw[raw["program_id"] == program.id][["category", "amount", "prorate_share", "description"]])
    audit = list(costs.audit)
    if incomplete is not None:
        # "Fully loaded" would be false: say what is missing instead (GP10).
        audit = [AuditEntry("GP10", f"costs incomplete: total {money_text(costs.total)} from participant time only; {incomplete}; ROI not reported")
                 if a.action.startswith("costs fully loaded") else a for a in audit]
    return costs.by_category, audit, costs.total, incomplete


def _roi(program: Program, impact: ImpactResult | NotEstimated, panel: ImpactPanel | None, costs: pd.DataFrame, audit: list[AuditEntry]) -> RoiResult | NotEstimated:
    m = program.monetization
    if m is None:
        return NotEstimated(reason="the program file has no monetization section (value per unit of outcome)")
    primary = impact.primary if impact else None
    if primary is None:
        why = (impact.failures.get(program.evaluation.design) if impact else None) or "no isolated effect"
        return NotEstimated(reason=f"no isolated effect from the primary design ({why}); ROI is never reported without isolation (GP5)")
    if not (np.isfinite(primary.ci_low) and np.isfinite(primary.ci_high) and primary.ci_low <= primary.estimate <= primary.ci_high):
        why = primary.details.get("interval_reason") or "the primary estimate has no usable 95% interval"
        return NotEstimated(reason=f"no interval for the isolated effect ({why}); ROI is never reported without one")
    if program.evaluation.design in SURVIVAL_DESIGNS:
        return _survival_roi(program, impact, costs, audit)  # type: ignore[arg-type]
    n_entities = primary.n_treated
    per_year = FREQUENCIES[program.evaluation.frequency]
    if m.periods_per_year != per_year:  # benefits scale with it: a monthly default on annual data is 12x too high
        audit.append(AuditEntry("GP4", f"monetization.periods_per_year {m.periods_per_year:g} differs from the {per_year} "
                                       f"periods per year of evaluation.frequency {program.evaluation.frequency!r}: check it"))
    if program.evaluation.design != "estimates" and panel is not None:
        units = panel.attrition.get("participating_units", panel.attrition["participants"])
        missing = units - n_entities
        if missing > 0:
            audit.append(AuditEntry("GP6", f"{missing} participating entities without usable outcome data counted as zero benefit"))
    baseline_level = None
    if program.evaluation.transform == "log" and panel is not None:
        tr = panel.entities[panel.entities["treated"]]
        baseline_level = float(np.exp(tr["baseline"]).mean())
    roi = phillips_roi(
        effect=primary.estimate,
        std_error=primary.std_error,
        ci_low=primary.ci_low,
        ci_high=primary.ci_high,
        direction=program.direction,
        value_per_unit=m.value_per_unit,
        periods_per_year=m.periods_per_year,
        horizon_years=m.horizon_years,
        n_entities=n_entities,
        costs=costs,
        isolation_method=f"{primary.label} ({primary.method})",
        value_range=tuple(m.value_range) if m.value_range else None,
        transform=program.evaluation.transform,
        baseline_level=baseline_level,
        intangibles=program.intangibles,
        audit=audit,
    )
    return roi


def monetized_estimate(impact: ImpactResult | NotEstimated, program: Program) -> Estimate | None:
    """The estimate the ROI converts to money: the primary one, or for time to an event the days sooner.

    Design survival with ``event:`` (time to competency) is monetized per day
    sooner: the comparison's minus the participants' restricted mean time not
    yet at the event within the horizon (``−rmst_difference``), with its
    interval. Every other design (retention included) monetizes the primary estimate.
    """
    primary = impact.primary if impact else None
    surv = impact.survival if impact else None
    if primary is None or surv is None or surv.kind == "retention":
        return primary
    return Estimate(method="survival", estimate=-surv.rmst_difference, std_error=surv.rmst_std_error, ci_low=-surv.rmst_ci_high,
                    ci_high=-surv.rmst_ci_low, p_value=float(2 * stats.norm.sf(abs(surv.rmst_difference / surv.rmst_std_error))),
                    n_treated=primary.n_treated, n_comparison=primary.n_comparison, strength=primary.strength, assumptions=primary.assumptions,
                    details={"unit": "days sooner to the event within the horizon", "horizon_days": surv.horizon_days})


def _survival_roi(program: Program, impact: ImpactResult, costs: pd.DataFrame, audit: list[AuditEntry]) -> RoiResult:
    """Phillips ROI of a time-to-event outcome: value per retained employee, or per day sooner, once per participant."""
    m = program.monetization
    est = monetized_estimate(impact, program)
    surv = impact.survival
    assert m is not None and est is not None and surv is not None  # guarded by _roi
    if surv.kind == "retention":
        what = f"retention difference at {surv.horizon_days} days × participants × value per retained employee (replacement cost)"
    else:
        what = f"days sooner to {surv.event_label} within {surv.horizon_days} days (RMST difference) × participants × value per day"
    audit.append(AuditEntry("GP4", f"survival benefits = {what}, counted once (no periods per year)"))
    return phillips_roi(
        effect=est.estimate, std_error=est.std_error, ci_low=est.ci_low, ci_high=est.ci_high, direction="increase",
        value_per_unit=m.value_per_unit, periods_per_year=1, horizon_years=1, n_entities=est.n_treated, costs=costs,
        isolation_method=f"{est.label} (survival)", value_range=tuple(m.value_range) if m.value_range else None,
        intangibles=program.intangibles, audit=audit,
    )


def _roi_or_not(program: Program, impact: ImpactResult | NotEstimated, panel: ImpactPanel | None, costs: pd.DataFrame,
                   audit: list[AuditEntry]) -> RoiResult | NotEstimated:
    """:func:`_roi`, with an ROI that cannot be computed (e.g. costs or benefits that overflow) as its reason."""
    try:
        return _roi(program, impact, panel, costs, audit)
    except EvaluationError as exc:
        return NotEstimated(reason=str(exc))


def _chain(program: Program, inputs: InputsResult, reaction: ReactionResult, learning: LearningResult,
           behavior: BehaviorResult, impact: ImpactResult | NotEstimated, performance: dict[str, Estimate],
           perf_errors: dict[str, str], roi: RoiResult | NotEstimated) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    currency = program.monetization.currency if program.monetization else None

    def add(level: str, measure: str, value: Any, change: Any, unit: str | None, status: str, note: str = "") -> None:
        rows.append({"level": level, "measure": measure, "value": value, "change": change, "unit": unit, "status": status, "note": note})

    add("0 Inputs", "Participants", inputs.participants if inputs.measured else None, None, "people", "measured" if inputs.measured else "not measured")
    add("0 Inputs", "Completion rate", inputs.completion_rate * 100 if inputs.measured else None, None, "%", "measured" if inputs.measured else "not measured")
    if reaction.measured:
        items = reaction.items[~reaction.items["suppressed"].astype(bool)] if len(reaction.items) else reaction.items
        scale5 = items[items["scale_max"] != 10] if len(items) else items
        mean = float((scale5["mean"] / scale5["scale_max"] * 5).mean()) if len(scale5) else None
        add("1 Reaction", "Mean rating (out of 5)", mean, None, "points", "measured" if mean is not None else "suppressed (small group)")
        nps = reaction.to_dict().get("nps")
        if nps is not None:
            add("1 Reaction", "Net promoter score", nps, None, "NPS", "measured")
    else:
        add("1 Reaction", "Reaction survey", None, None, None, "not measured", "no reaction data: satisfaction and relevance unknown")
    if learning.measured and learning.enough_paired and not learning.suppressed:
        add("2 Learning", "Test score gain (pre → post)", learning.mean_post, learning.mean_gain, "points", "measured",
            f"gain of {number(learning.cohen_dz, sig=2)} standard deviations of the individual gains (d_z), {pvalue(learning.t_pvalue)}")
    else:
        add("2 Learning", "Test score gain", None, None, None, "not measured" if not learning.measured else "insufficient data",
            "no paired pre/post scores: learning not shown")
    if behavior.measured and len(behavior.rates):
        rates = behavior.rates[~behavior.rates["suppressed"].astype(bool)]
        share = rates["share_applying"].dropna()
        val = float(share.mean() * 100) if len(share) else (float(rates["mean"].mean()) if len(rates) else None)
        add("3 Behavior", "Applying on the job" if len(share) else "Behavior rating", val, None, "%" if len(share) else "rating",
            "measured" if val is not None else "suppressed (small group)")
    else:
        add("3 Behavior", "On-the-job application", None, None, None, "not measured", "no behavior data: transfer to the job unknown")
    for pm in program.chain.performance_metrics:
        e = performance.get(pm.metric)
        if e is not None:
            add("4 Performance", pm.metric, None, e.estimate, pm.unit, "measured", f"{e.label}: 95% interval {interval(e.ci_low, e.ci_high, program.metric_label(pm.metric).rate_unit, currency=currency)}")
        else:
            add("4 Performance", pm.metric, None, None, pm.unit, "not measured", perf_errors.get(pm.metric, "no data"))
    bm = program.chain.business_metric
    primary = impact.primary if impact else None
    if primary is not None:
        effect_unit = "log points" if program.evaluation.transform == "log" else program.metric_label().rate_unit
        add("4 Business", program.outcome, None, primary.estimate, bm.unit if program.outcome == bm.metric else None, "measured",
            f"{primary.label}: 95% interval {interval(primary.ci_low, primary.ci_high, effect_unit, currency=currency)}")
    else:
        add("4 Business", program.outcome, None, None, bm.unit, "not measured", "no isolated effect")
    if isinstance(roi, NotEstimated):
        add("5 ROI", "ROI", None, None, "%", roi.status, roi.reason)
    elif roi.roi_pct is not None:
        add("5 ROI", "ROI", roi.roi_pct, None, "%", "measured", f"benefit–cost ratio {number(roi.bcr)}" if roi.bcr is not None else "")
    else:
        add("5 ROI", "ROI", None, None, "%", "not measured", "ROI undefined (zero cost)")
    return pd.DataFrame(rows)


def _performance(ws: Workspace, program: Program) -> tuple[dict[str, Estimate], dict[str, str]]:
    """Effect on each performance metric with the primary comparison design (before/after otherwise)."""
    out: dict[str, Estimate] = {}
    errors: dict[str, str] = {}
    design = program.evaluation.design if program.evaluation.design in COMPARISON_DESIGNS else "before_after"
    if program.evaluation.baseline is None:
        return out, {pm.metric: "no evaluation windows" for pm in program.chain.performance_metrics}
    for pm in program.chain.performance_metrics:
        try:
            panel = build_panel(ws, program, metric=pm.metric)
            out[pm.metric], _ = _run_method(design, panel, ws, program, panel.attrition["participants"])
            out[pm.metric].details.setdefault("covariates", [])
        except ValueError as exc:  # EvaluationError, or a numerical failure while building the panel
            errors[pm.metric] = str(exc)
    return out, errors


def evaluate(workspace: Workspace | str | Path, program_id: str, *, program: Program | None = None, robust_did: bool = True) -> ProgramEvaluation:
    """Evaluate one program: Levels 0–3, the isolated Level-4 effect, evidence grade and Phillips ROI.

    Parameters
    ----------
    workspace : Workspace or path
        A loaded workspace or its folder.
    program_id : str
        The program to evaluate.
    program : Program, optional
        A modified program definition (e.g. from the explorer) used instead
        of the one in the workspace.
    robust_did : bool
        Compute the Rambachan–Roth robust intervals of DiD designs
        (``results.sensitivity.honest_did``; on by default, seconds to about a
        minute per program with many pre-periods, docs/performance.md). False
        skips them (the explorer, which re-evaluates on every change).

    Returns
    -------
    ProgramEvaluation
        Never raises for missing levels: a level without data is "not
        measured" and a failing method is listed in ``impact.failures``.
    """
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace)
    prog = program or ws.program(program_id)
    mgs = prog.privacy.min_group_size
    enr = ws.table("enrollments")
    enr = enr[enr["program_id"] == program_id]

    def rows(table: str) -> pd.DataFrame:
        t = ws.table(table)
        return t[t["program_id"] == program_id]

    costs, audit, total_cost, costs_note = _costs(ws, prog)
    # An overflowing total (inf) is no cost per participant; _roi_or_not names the reason.
    inputs = inputs_summary(enr, people=ws.table("people"), total_cost=total_cost if 0 < total_cost < np.inf else None)
    reaction = reaction_summary(
        rows("reactions"), completers=inputs.completions, relevance_items=prog.reaction.relevance_items,
        engagement_items=prog.reaction.engagement_items, min_group_size=mgs, include_comments=prog.privacy.include_comments,
        people=ws.table("people"),
    )
    learning = learning_summary(rows("assessments"), pass_mark=prog.learning.pass_mark, min_group_size=mgs)
    behavior = behavior_summary(rows("behaviors"), launch=prog.launch, min_group_size=mgs)
    measured = [name for name, r in (("reaction", reaction), ("learning", learning), ("behavior", behavior)) if r.measured]
    missing = [name for name in ("reaction", "learning", "behavior") if name not in measured]
    audit.insert(0, AuditEntry("GP1", f"Lower levels collected: {', '.join(measured) or 'none'}" + (f"; not measured: {', '.join(missing)}" if missing else "")))
    impact, panel = _impact(ws, prog, audit)
    performance, perf_errors = _performance(ws, prog)
    roi = _roi_or_not(prog, impact, panel, costs, audit)
    survival = prog.evaluation.design in SURVIVAL_DESIGNS
    if impact and survival:
        impact.sensitivity = Sensitivity(design="survival", notes=["Sensitivity analyses are not computed for survival designs: "
                                                                   "see the hazard-ratio check and the covariate balance."])
    elif impact:
        impact.sensitivity = sensitivity_for(prog, impact, panel, roi or None, robust_did=robust_did)
    participants = panel.attrition.get("participating_units", panel.attrition["participants"]) if panel is not None else inputs.participants
    # Coverage counts only the data the primary design uses (followup only for post_only).
    with_outcome = design_coverage(panel, prog.evaluation.design) if panel is not None else participants
    if impact and survival:
        participants = impact.attrition.get("participants", participants)
        with_outcome = impact.attrition.get("with_outcome", 0)
    evidence = grade_evidence(
        impact.primary if impact else None,
        design=prog.evaluation.design,
        baseline_smd=_baseline_smd(impact),
        covariate_smd=_covariate_smd(impact),
        adjusted=_adjusted(impact) if impact and prog.evaluation.covariates else None,
        pre_trend_p=(impact.pre_trend or {}).get("p_value") if impact and prog.evaluation.design == "did" else None,
        participants=participants,
        with_outcome=with_outcome,
        break_even_effect=roi.break_even_effect if roi else None,
        primary_error=(impact.failures.get(prog.evaluation.design) if impact else impact.reason),
        sensitivity=impact.sensitivity.to_dict() if impact and impact.sensitivity is not None else None,
        survival=impact.survival.to_dict() if impact and impact.survival is not None else None,
        monetized=monetized_estimate(impact, prog) if survival else None,
        entity=prog.evaluation.entity,
    )
    computed = roi
    roi = withhold_roi(roi, evidence=evidence, costs_note=costs_note)
    # A withheld ROI leaves no figure in the audit log either (its entries quote the ROI).
    final_audit = list(roi.audit) if roi else audit + (
        [AuditEntry("GP4", f"ROI {roi.reason}")] if computed else [])
    decision = decide(evidence=evidence, roi=roi, primary=monetized_estimate(impact, prog),
                      direction=prog.direction, transform=prog.evaluation.transform, unit=impact.unit if impact else None)
    chain = _chain(prog, inputs, reaction, learning, behavior, impact, performance, perf_errors, roi)
    return ProgramEvaluation(program=prog, inputs=inputs, reaction=reaction, learning=learning, behavior=behavior, impact=impact, evidence=evidence, roi=roi, chain=chain,
                             audit=final_audit, data_as_of=ws.data_as_of, workspace_name=ws.name or ws.path.name, performance=performance, decision=decision)
