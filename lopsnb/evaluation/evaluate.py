"""``evaluate(workspace, program_id)``: the chain of evidence of one program."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from lopsnb import __version__
from lopsnb._result import ResultMixin, jsonable
from lopsnb.errors import EvaluationError, InsufficientDataError
from lopsnb.evaluation.evidence import COMPARISON_DESIGNS, EvidenceGrade, grade_evidence
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
    ASSUMPTIONS,
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
from lopsnb.evaluation.panel import ImpactPanel, build_panel
from lopsnb.evaluation.pilot import PILOT_DESIGNS, pilot_estimate, single_unit_hint
from lopsnb.evaluation.roi import AuditEntry, RoiResult, adjust_estimates, fully_loaded_costs, phillips_roi
from lopsnb.evaluation.staggered import StaggeredDiD, callaway_santanna
from lopsnb.io.programs import Program
from lopsnb.io.workspace import Workspace, load_workspace

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["ImpactResult", "ProgramEvaluation", "evaluate"]

SCHEMA_VERSION = 1


@dataclass
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
                "attrition": self.attrition,
                "series": self.series,
                "notes": self.notes,
            }
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Participants vs comparison over time, launch marked."""
        from lopsnb.report.plots import plot_trend

        return plot_trend(self.series, launch=self.launch, unit=self.unit, outcome=self.outcome, ax=ax)


@dataclass
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
    impact: ImpactResult | None
    impact_error: str | None
    evidence: EvidenceGrade
    roi: RoiResult | None
    roi_reason: str | None
    chain: pd.DataFrame
    audit: list[AuditEntry]
    data_as_of: Any = None
    workspace_name: str | None = None
    performance: dict[str, Estimate] = field(default_factory=dict)

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
        if self.roi is not None:
            roi = {"available": True, "reason": None, **self.roi.to_dict()}
        else:
            roi = {"available": False, "reason": self.roi_reason}
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
                "results": self.impact.to_dict() if self.impact is not None else {"error": self.impact_error},
                "performance": {m: e.to_dict() for m, e in self.performance.items()},
                "evidence": self.evidence.to_dict(),
                "roi": roi,
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
        if self.impact is not None:
            lines += ["Isolated effect on " + self.program.outcome, self.impact.to_frame().to_string(index=False), ""]
        else:
            lines += [f"Level 4 not estimated: {self.impact_error}", ""]
        lines.append(f"Evidence: {self.evidence.grade.upper()}")
        lines += [f"  - {r}" for r in self.evidence.reasons]
        if self.roi is not None:
            r = self.roi
            lines.append(
                f"ROI: {_fmt(r.roi_pct, '%')} (95% interval {_fmt(r.roi_interval[0] if r.roi_interval else None, '%')} .. "
                f"{_fmt(r.roi_interval[1] if r.roi_interval else None, '%')}; conservative {_fmt(r.conservative_roi_pct, '%')}), "
                f"BCR {_fmt(r.bcr, '')}, isolation: {r.isolation_method}"
            )
        else:
            lines.append(f"ROI not computed: {self.roi_reason}")
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
            + (self.roi._repr_html_() if self.roi is not None else f"<p>ROI not computed: {html.escape(str(self.roi_reason))}</p>")
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """The chain-of-evidence figure."""
        from lopsnb.report.plots import plot_chain

        return plot_chain(self.chain, ax=ax)


def _fmt(v: float | None, unit: str) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:,.1f}{unit}"


# --------------------------------------------------------------------------- impact


def _staggered(panel: ImpactPanel) -> tuple[Estimate, StaggeredDiD]:
    ev = panel.program.evaluation
    obs = panel.obs
    never = panel.entities["cohort"].isna().sum()
    control = "never_treated" if never >= 2 else "not_yet_treated"
    res = callaway_santanna(
        obs.assign(cohort=obs["cohort"].where(obs["treated"])),
        entity="entity_id",
        period="pidx",
        outcome="value",
        cohort="cohort",
        control_group=control,
        window=tuple(ev.followup.offset),  # type: ignore[union-attr, arg-type]
    )
    est = Estimate(
        "did",
        float(res.estimate),
        float(res.std_error),
        float(res.ci_low),
        float(res.ci_high),
        float(res.p_value),
        int(res.n_treated),
        int(res.n_comparison),
        "strong",
        ASSUMPTIONS["did_staggered"],
        ev.transform,
        {"estimator": "Callaway-Sant'Anna group-time ATT", "control_group": control, "window": list(ev.followup.offset), "n_cohorts": int(res.n_cohorts)},  # type: ignore[union-attr]
    )
    return est, res


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
    params, cov, info = twfe(data, [c for _, c in cols])
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
    treated = obs[obs["treated"]].groupby("pidx").agg(y=("value", "mean"), post=("post", "first"))
    n_c = panel.n_comparison
    if n_c >= 2:
        comp = obs[~obs["treated"]].groupby("pidx")["value"].mean()
        treated = treated.assign(y=treated["y"] - comp.reindex(treated.index)).dropna(subset=["y"])
    return trend_line(treated.reset_index(), n_treated=panel.n_treated, n_comparison=n_c if n_c >= 2 else 0, transform=panel.program.evaluation.transform)


def _estimates_method(ws: Workspace, program: Program, participants: int) -> tuple[Estimate, list[AuditEntry]]:
    est = ws.table("estimates")
    est = est[(est["program_id"] == program.id) & (est["metric"] == program.outcome)]
    if est.empty:
        raise InsufficientDataError(f"estimates: no participant estimates for metric {program.outcome!r} in the estimates table")
    adj = adjust_estimates(est.drop(columns=["_row"], errors="ignore"), participants=participants)
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
    if method == "before_after":
        return before_after(panel.entities, transform=tr), None
    if method == "trend":
        return _trend(panel), None
    if method == "estimates":
        return _estimates_method(ws, program, participants)
    if method in PILOT_DESIGNS:
        return pilot_estimate(method, panel), None
    raise EvaluationError(f"unknown method {method!r}")  # pragma: no cover - Literal-checked in the program schema


def _impact(ws: Workspace, program: Program, audit: list[AuditEntry]) -> tuple[ImpactResult | None, str | None, ImpactPanel | None]:
    designs = program.designs
    needs_panel = any(d != "estimates" for d in designs)
    panel: ImpactPanel | None = None
    if needs_panel:
        try:
            panel = build_panel(ws, program)
        except EvaluationError as exc:
            return None, str(exc), None
    participants = panel.attrition["participants"] if panel is not None else _count_participants(ws, program)
    estimates: dict[str, Estimate] = {}
    failures: dict[str, str] = {}
    staggered = None
    for d in designs:
        try:
            if d != "estimates" and panel is None:  # pragma: no cover - guarded above
                continue
            est, extra = _run_method(d, panel, ws, program, participants)  # type: ignore[arg-type]
            estimates[d] = est
            if d == "did" and isinstance(extra, StaggeredDiD):
                staggered = extra
            if d == "estimates":
                audit.extend(extra)
        except (InsufficientDataError, EvaluationError, np.linalg.LinAlgError, ValueError) as exc:
            failures[d] = single_unit_hint(d, str(exc), panel)
    if panel is None:
        attrition = {"participants": participants}
        balance = pd.DataFrame(columns=["variable", "mean_treated", "mean_comparison", "smd", "band"])
        series = pd.DataFrame(columns=["period", "group", "mean", "n"])
        notes: list[str] = []
    else:
        attrition, balance, series, notes = panel.attrition, _balance(panel), panel.series(), list(panel.notes)
    event_study, pre_trend = None, None
    if staggered is not None:
        event_study = staggered.event_study[["relative_period", "estimate", "std_error", "ci_low", "ci_high", "kind"]]
        pt = staggered.pre_trend_test()
        pre_trend = {"statistic": pt["statistic"], "df": pt["df"], "p_value": pt["p_value"], "test": "joint Wald, CS placebo ATT(e), e < 0"}
    elif panel is not None and "did" in estimates:
        event_study, pre_trend = _event_study_twfe(panel)
    unit = program.chain.business_metric.unit if program.outcome == program.chain.business_metric.metric else None
    result = ImpactResult(
        program.outcome, unit, program.direction, program.evaluation.entity, program.evaluation.transform,
        program.evaluation.design, estimates, failures, balance, pre_trend, event_study, series, attrition, notes, staggered, program.launch,
    )
    return result, None, panel


def _baseline_smd(impact: ImpactResult | None) -> float | None:
    """The raw baseline-outcome SMD (infinite when both groups are constant at different levels)."""
    if impact is None:
        return None
    rows = impact.balance[impact.balance["variable"] == "baseline " + impact.outcome]
    return float(rows["smd"].iloc[0]) if len(rows) else None


def _covariate_smd(impact: ImpactResult | None) -> dict[str, float]:
    """SMD of each covariate (balance rows other than the baseline outcome)."""
    if impact is None:
        return {}
    rows = impact.balance[impact.balance["variable"] != "baseline " + impact.outcome]
    return {str(r.variable): float(r.smd) for r in rows.itertuples()}


def _count_participants(ws: Workspace, program: Program) -> int:
    enr = ws.table("enrollments")
    enr = enr[(enr["program_id"] == program.id) & (enr["status"].fillna("") != "dropped")]
    return int(enr["person_id"].nunique())


# --------------------------------------------------------------------------- ROI and chain


def _costs(ws: Workspace, program: Program) -> tuple[pd.DataFrame, list[AuditEntry], float]:
    costs = ws.table("costs")
    costs = costs[costs["program_id"] == program.id][["category", "amount", "prorate_share", "description"]]
    enr = ws.table("enrollments")
    enr = enr[enr["program_id"] == program.id]
    hours = enr[["person_id", "hours"]].merge(ws.table("people")[["person_id", "hourly_cost"]], on="person_id", how="left")
    by_cat, audit = fully_loaded_costs(costs, participant_hours=hours[["hours", "hourly_cost"]].fillna({"hours": 0.0}))
    return by_cat, list(audit), float(by_cat["amount"].sum()) if len(by_cat) else 0.0


def _roi(program: Program, impact: ImpactResult | None, panel: ImpactPanel | None, costs: pd.DataFrame, audit: list[AuditEntry]) -> tuple[RoiResult | None, str | None]:
    m = program.monetization
    if m is None:
        return None, "the program file has no monetization section (value per unit of outcome)"
    primary = impact.primary if impact is not None else None
    if primary is None:
        why = (impact.failures.get(program.evaluation.design) if impact is not None else None) or "no isolated effect"
        return None, f"no isolated effect from the primary design ({why}); ROI is never reported without isolation (GP5)"
    if not (np.isfinite(primary.ci_low) and np.isfinite(primary.ci_high) and primary.ci_low <= primary.estimate <= primary.ci_high):
        why = primary.details.get("interval_reason") or "the primary estimate has no usable 95% interval"
        return None, f"no interval for the isolated effect ({why}); ROI is never reported without one"
    n_entities = primary.n_treated
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
    return roi, None


def _chain(program: Program, inputs: InputsResult, reaction: ReactionResult, learning: LearningResult,
           behavior: BehaviorResult, impact: ImpactResult | None, performance: dict[str, Estimate],
           perf_errors: dict[str, str], roi: RoiResult | None, roi_reason: str | None) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []

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
            f"d_z = {learning.cohen_dz:.2f}, p = {learning.t_pvalue:.3g}")
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
            add("4 Performance", pm.metric, None, e.estimate, pm.unit, "measured", f"{e.method}: 95% CI {e.ci_low:,.3g} .. {e.ci_high:,.3g}")
        else:
            add("4 Performance", pm.metric, None, None, pm.unit, "not measured", perf_errors.get(pm.metric, "no data"))
    bm = program.chain.business_metric
    primary = impact.primary if impact is not None else None
    if primary is not None:
        add("4 Business", program.outcome, None, primary.estimate, bm.unit if program.outcome == bm.metric else None, "measured",
            f"{primary.method}: 95% CI {primary.ci_low:,.4g} .. {primary.ci_high:,.4g}")
    else:
        add("4 Business", program.outcome, None, None, bm.unit, "not measured", "no isolated effect")
    if roi is not None and roi.roi_pct is not None:
        add("5 ROI", "ROI", roi.roi_pct, None, "%", "measured", f"BCR {roi.bcr:.2f}" if roi.bcr is not None else "")
    else:
        add("5 ROI", "ROI", None, None, "%", "not measured", roi_reason or "ROI undefined (zero cost)")
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
        except (EvaluationError, np.linalg.LinAlgError, ValueError) as exc:
            errors[pm.metric] = str(exc)
    return out, errors


def evaluate(workspace: Workspace | str | Path, program_id: str, *, program: Program | None = None) -> ProgramEvaluation:
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

    costs, audit, total_cost = _costs(ws, prog)
    inputs = inputs_summary(enr, people=ws.table("people"), total_cost=total_cost if total_cost > 0 else None)
    reaction = reaction_summary(
        rows("reactions"), completers=inputs.completions, relevance_items=prog.reaction.relevance_items,
        engagement_items=prog.reaction.engagement_items, min_group_size=mgs, include_comments=prog.privacy.include_comments,
    )
    learning = learning_summary(rows("assessments"), pass_mark=prog.learning.pass_mark, min_group_size=mgs)
    behavior = behavior_summary(rows("behaviors"), launch=prog.launch, min_group_size=mgs)
    measured = [name for name, r in (("reaction", reaction), ("learning", learning), ("behavior", behavior)) if r.measured]
    missing = [name for name in ("reaction", "learning", "behavior") if name not in measured]
    audit.insert(0, AuditEntry("GP1", f"Lower levels collected: {', '.join(measured) or 'none'}" + (f"; not measured: {', '.join(missing)}" if missing else "")))
    impact, impact_error, panel = _impact(ws, prog, audit)
    performance, perf_errors = _performance(ws, prog)
    roi, roi_reason = _roi(prog, impact, panel, costs, audit)
    participants = panel.attrition.get("participating_units", panel.attrition["participants"]) if panel is not None else inputs.participants
    # Coverage counts participants usable by the window designs (data in both
    # windows), not merely anyone with some outcome observation.
    with_outcome = panel.attrition["with_baseline_and_followup"] if panel is not None else participants
    evidence = grade_evidence(
        impact.primary if impact is not None else None,
        design=prog.evaluation.design,
        baseline_smd=_baseline_smd(impact),
        covariate_smd=_covariate_smd(impact),
        adjusted=impact.estimates.get("ancova") if impact is not None and prog.evaluation.covariates else None,
        pre_trend_p=(impact.pre_trend or {}).get("p_value") if impact is not None and prog.evaluation.design == "did" else None,
        participants=participants,
        with_outcome=with_outcome,
        break_even_effect=roi.break_even_effect if roi is not None else None,
        primary_error=(impact.failures.get(prog.evaluation.design) if impact is not None else impact_error),
    )
    chain = _chain(prog, inputs, reaction, learning, behavior, impact, performance, perf_errors, roi, roi_reason)
    final_audit = list(roi.audit) if roi is not None else audit
    return ProgramEvaluation(prog, inputs, reaction, learning, behavior, impact, impact_error, evidence, roi, roi_reason, chain,
                             final_audit, ws.data_as_of, ws.name or ws.path.name, performance)
