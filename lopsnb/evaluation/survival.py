"""Time-to-event outcomes: retention and time to competency (``design: survival``).

The outcome is the time from an origin to an event, right-censored:

``outcome: retention``
    Event = termination (``people.termination_date``). People still employed
    are censored at the data's as-of date (``evaluation.as_of``, else the
    latest date in the data: KPI period, hire or termination date).
    Retention at day *t* is the Kaplan–Meier survival ``S(t)``.
``event: {metric: M, reaches: x}`` (time to competency)
    Event = the first KPI period (at or after the origin's period) in which
    ``M`` reaches ``x`` (``>= x`` when ``M``'s direction is *increase*,
    ``<= x`` for *decrease*); its time is the start of that period minus the
    origin (at least 0). People who never reach it are censored at their
    last observed period of ``M`` (or at termination, whichever is first:
    leaving is treated as censoring, not as a competing risk).

Origin (``evaluation.origin``): ``hire_date`` (onboarding: participation is
decided at hire, so both groups start at their hire date; comparison people
hired before the first or after the last participant's hire date are left
out, so both groups are hired in the same period) or ``treatment``
(the participant's completion date, else enrollment date, else launch). With
``treatment`` each comparison person's origin is the **median treatment date
of the participants**; comparison people not yet hired or already gone then
are left out (a comparison person must be at risk at the origin, as a
participant was at completion).

Estimands at the horizon ``h = evaluation.horizon_days`` (participants
minus comparison):

* ``estimate`` — retention: ``S1(h) − S0(h)``, the difference in the share
  still employed ``h`` days after the origin; time to competency:
  ``(1 − S1(h)) − (1 − S0(h))``, the difference in the share competent by
  ``h``. Both are *higher is better*. Standard error
  ``sqrt(Var_G S1(h) + Var_G S0(h))`` with Greenwood's variance (the two
  groups are independent), normal 95% interval.
* ``rmst_difference`` — restricted mean survival time to ``h`` (area under
  the KM curve on ``[0, h]``), participants minus comparison, in days:
  retention — extra days employed in the first ``h`` days; competency —
  days *not yet competent* in the first ``h`` days (negative = sooner).
  Variance of each RMST by Klein & Moeschberger (2003, §4.5):
  ``Σ_{t_i ≤ h} A_i² d_i / (Y_i (Y_i − d_i))``, ``A_i = ∫_{t_i}^h S(u) du``.
* ``hazard_ratio`` — Cox proportional-hazards model (statsmodels ``PHReg``,
  **Efron** ties) of ``participant [+ covariates]`` on follow-up censored at
  ``h``; Wald 95% interval ``exp(β ± 1.96 SE)``. Retention: HR < 1 means
  participants leave less; competency: HR > 1 means they reach it sooner.
* Proportional-hazards check — the Grambsch–Therneau score test of the
  participant coefficient on scaled Schoenfeld residuals against
  ``1 − KM(t)`` (1 df; lifelines ``proportional_hazard_test(...,
  time_transform="km")``, R ``cox.zph(transform="km")`` before survival 3.0).
  Its failure makes the HR an average over the horizon; the KM difference
  (the primary estimate) does not assume proportional hazards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import SurvfuncRight

from lopsnb._result import jsonable
from lopsnb.errors import InsufficientDataError
from lopsnb.evaluation.methods import ASSUMPTIONS, METHOD_STRENGTH, Estimate, covariate_matrix
from lopsnb.evaluation.panel import _comparison, _participants, period_index
from lopsnb.io.programs import Program
from lopsnb.io.workspace import Workspace

__all__ = [
    "SURVIVAL_DESIGNS",
    "SurvivalData",
    "SurvivalResult",
    "km_curve",
    "survival_at",
    "rmst",
    "cox_hazard_ratio",
    "ph_test",
    "survival_data",
    "survival_analysis",
    "survival_estimate",
]

SURVIVAL_DESIGNS = frozenset({"survival"})
Z95 = float(stats.norm.ppf(0.975))
#: With origin hire_date, an enrollment later than this after hire means participation was not decided at hire.
LATE_ENROLMENT_DAYS = 30


@dataclass(kw_only=True)
class SurvivalData:
    """One row per person: the follow-up the survival design analyses.

    Attributes
    ----------
    frame : DataFrame
        Index ``entity_id``; columns ``treated`` (bool), ``origin`` (date),
        ``time`` (days from the origin to the event or censoring, >= 0),
        ``event`` (bool) and the covariates.
    kind : {"retention", "event"}
    event_label : str
        What the event is, in words (``termination`` or ``M reaches x``).
    as_of : Timestamp
        The censoring date of people without an event.
    attrition : dict
        ``participants``, ``with_outcome`` (participants analysed), ``comparison``.
    notes : list of str
        Exclusions and their counts.
    late_enrolled : int
        ``origin: hire_date`` only: participants who enrolled more than
        ``LATE_ENROLMENT_DAYS`` after their hire date. They had to stay
        employed until they enrolled (immortal time), which flatters the
        participants' retention.
    """

    frame: pd.DataFrame
    kind: Literal["retention", "event"]
    event_label: str
    as_of: pd.Timestamp
    attrition: dict[str, int]
    notes: list[str] = field(default_factory=list)
    late_enrolled: int = 0


@dataclass(kw_only=True)
class SurvivalResult:
    """The survival analysis of one program (``results.survival``).

    Attributes
    ----------
    curves : DataFrame
        ``group, time, survival, ci_low, ci_high, at_risk``: the KM step
        points of each group (time 0 first), pointwise 95% log(−log)
        interval; points with fewer than ``min_group_size`` people at risk
        are left out (privacy, and too few to read).
    at_risk : DataFrame
        ``group, time, at_risk`` at the ticks of the chart (0 to the longest
        follow-up, at least the horizon, at most ``CHART_HORIZONS`` horizons);
        counts below ``min_group_size`` are None.
    horizon_days : int
    survival_treated, survival_comparison : float
        KM survival at the horizon (share not yet had the event).
    hazard_ratio, hazard_ratio_ci_low, hazard_ratio_ci_high, hazard_ratio_p : float
    rmst_treated, rmst_comparison, rmst_difference, rmst_std_error, rmst_ci_low, rmst_ci_high : float
        Restricted mean survival time to the horizon, days.
    ph_test : dict
        ``statistic, df, p_value, transform, variable``.
    late_enrolled : int
        See :class:`SurvivalData`.
    """

    kind: str
    event_label: str
    origin: str
    horizon_days: int
    as_of: Any
    curves: pd.DataFrame
    at_risk: pd.DataFrame
    survival_treated: float
    survival_comparison: float
    hazard_ratio: float
    hazard_ratio_ci_low: float
    hazard_ratio_ci_high: float
    hazard_ratio_p: float
    covariates: list[str]
    ties: str
    ph_test: dict[str, Any]
    rmst_treated: float
    rmst_comparison: float
    rmst_difference: float
    rmst_std_error: float
    rmst_ci_low: float
    rmst_ci_high: float
    n_events_treated: int
    n_events_comparison: int
    followed_to_horizon: dict[str, float]
    late_enrolled: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``results.survival`` section (documented in docs/results-schema.md)."""
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


# --------------------------------------------------------------------------- estimators


def km_curve(time: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Kaplan–Meier estimate (statsmodels ``SurvfuncRight``) with Greenwood standard errors.

    Returns
    -------
    DataFrame
        ``time, survival, std_error, ci_low, ci_high, at_risk, events``: one
        row per event time, preceded by time 0 (survival 1). The interval is
        the pointwise log(−log) ("exponential Greenwood") 95% interval of
        lifelines and R ``survfit(conf.type="log-log")``.
    """
    time, event = np.asarray(time, float), np.asarray(event, bool)
    n = len(time)
    head = pd.DataFrame({"time": [0.0], "survival": [1.0], "std_error": [0.0], "ci_low": [1.0], "ci_high": [1.0], "at_risk": [n], "events": [0]})
    if not event.any():
        return head
    sf = SurvfuncRight(time, event.astype(float))
    s, se = np.asarray(sf.surv_prob, float), np.asarray(sf.surv_prob_se, float)
    # Once everyone left at risk has had the event, S = 0 is known exactly (Greenwood's 0 · ∞ term).
    se = np.where(s == 0, 0.0, se)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Var(log(-log S)) = Greenwood / (S log S)^2 (delta method).
        v = se / (s * np.log(s))
        lo = np.where((s > 0) & (s < 1), s ** np.exp(-Z95 * v), np.where(s >= 1, 1.0, 0.0))
        hi = np.where((s > 0) & (s < 1), s ** np.exp(Z95 * v), np.where(s >= 1, 1.0, 0.0))
    body = pd.DataFrame({"time": np.asarray(sf.surv_times, float), "survival": s, "std_error": se, "ci_low": np.minimum(lo, hi),
                         "ci_high": np.maximum(lo, hi), "at_risk": np.asarray(sf.n_risk, int), "events": np.asarray(sf.n_events, int)})
    # An event at time 0 gives a drop at 0: the (0, 1) row stays first so the curve starts at 1.
    return pd.concat([head, body], ignore_index=True)


def survival_at(curve: pd.DataFrame, t: float) -> tuple[float, float]:
    """KM survival and its Greenwood variance at time ``t`` (the last step at or before ``t``)."""
    rows = curve[curve["time"] <= t]
    last = rows.iloc[-1]
    return float(last["survival"]), float(last["std_error"]) ** 2


def rmst(time: np.ndarray, event: np.ndarray, horizon: float) -> tuple[float, float]:
    """Restricted mean survival time to ``horizon`` and its variance.

    The area under the KM step function on ``[0, horizon]``; variance by
    Klein & Moeschberger (2003, §4.5), ``Σ_{t_i ≤ h} A_i² d_i / (Y_i (Y_i − d_i))``
    with ``A_i`` the area from ``t_i`` to ``h`` (the formula of R
    ``survRM2::rmst2``; a term with ``Y_i = d_i`` has ``A_i = 0``).
    """
    curve = km_curve(time, event)
    c = curve[curve["time"] <= horizon]
    t = np.append(c["time"].to_numpy(float), horizon)
    s = c["survival"].to_numpy(float)
    pieces = s * np.diff(t)
    area = float(pieces.sum())
    # A_i: area from the i-th step to the horizon (reverse cumulative sum).
    tail = np.cumsum(pieces[::-1])[::-1]
    d, y = c["events"].to_numpy(float), c["at_risk"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where((d > 0) & (y > d), tail**2 * d / (y * (y - d)), 0.0)
    return area, float(terms.sum())


def _exog(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    cov = covariate_matrix(frame, covariates)
    cov = cov.loc[:, cov.std(ddof=0) > 0] if len(cov.columns) else cov
    return pd.concat([frame["treated"].astype(float).rename("participant"), cov], axis=1)


def cox_hazard_ratio(frame: pd.DataFrame, covariates: Sequence[str] = (), *, horizon: float | None = None) -> dict[str, Any]:
    """Cox PH model ``participant [+ covariates]`` (statsmodels ``PHReg``, Efron ties).

    Parameters
    ----------
    frame : DataFrame
        ``time``, ``event``, ``treated`` and the covariate columns.
    horizon : float, optional
        Follow-up is censored here (the hazard ratio over ``[0, horizon]``).

    Returns
    -------
    dict
        ``hazard_ratio``, ``ci_low``, ``ci_high``, ``p_value``, ``coef``,
        ``std_error``, ``design_columns``, ``ph_test`` (see :func:`ph_test`).
    """
    data = frame.dropna(subset=list(covariates))
    time, event = data["time"].to_numpy(float), data["event"].to_numpy(bool)
    if horizon is not None:
        event = event & (time <= horizon)
        time = np.minimum(time, horizon)
    if event.sum() < 2:
        raise InsufficientDataError(f"survival: {int(event.sum())} events within the horizon (the Cox model needs at least 2)")
    X = _exog(data, covariates)
    fit = PHReg(time, X.to_numpy(float), status=event.astype(float), ties="efron").fit(disp=0)
    b, se = float(fit.params[0]), float(fit.bse[0])
    if not (np.isfinite(b) and np.isfinite(se) and se > 0):
        raise InsufficientDataError("survival: the Cox hazard ratio is not estimable (no events in one group within the horizon)")
    return {
        "hazard_ratio": float(np.exp(b)), "ci_low": float(np.exp(b - Z95 * se)), "ci_high": float(np.exp(b + Z95 * se)),
        "p_value": float(2 * stats.norm.sf(abs(b / se))), "coef": b, "std_error": se, "design_columns": list(X.columns),
        "ph_test": ph_test(fit, time, event),
    }


def ph_test(fit: Any, time: np.ndarray, event: np.ndarray, *, column: int = 0) -> dict[str, Any]:
    """Grambsch–Therneau test of proportional hazards for one Cox coefficient.

    ``T = (Σ_k (g_k − ḡ) r_k)² / (d · V_jj · Σ_k (g_k − ḡ)²)`` over the ``d``
    event times, ``r_k = d · (V s_k)_j`` the scaled Schoenfeld residual,
    ``g_k = 1 − KM(t_k)``; χ² with 1 df. The same statistic as lifelines
    ``proportional_hazard_test(time_transform="km")``.
    """
    sch = np.asarray(fit.schoenfeld_residuals, float)
    rows = event & np.all(np.isfinite(sch), axis=1)
    d = int(event.sum())
    V = np.asarray(fit.cov_params(), float)
    scaled = d * sch[rows] @ V
    curve = km_curve(time, event)
    steps = curve["time"].to_numpy(float)
    idx = np.searchsorted(steps, time[rows], side="right") - 1
    g = 1.0 - curve["survival"].to_numpy(float)[idx]
    gc = g - g.mean()
    denom = d * V[column, column] * float(gc @ gc)
    stat = float((gc @ scaled[:, column]) ** 2 / denom) if denom > 0 else float("nan")
    return {"statistic": stat, "df": 1, "p_value": float(stats.chi2.sf(stat, 1)) if np.isfinite(stat) else None,
            "transform": "km", "variable": "participant", "test": "Grambsch-Therneau, scaled Schoenfeld residuals"}


# --------------------------------------------------------------------------- data


def _as_of(ws: Workspace, program: Program, people: pd.DataFrame) -> pd.Timestamp:
    """The censoring date: ``evaluation.as_of``, else the latest date in the data (KPI period, hire or termination)."""
    if program.evaluation.as_of is not None:
        return pd.Timestamp(program.evaluation.as_of)
    dates = [ws.data_as_of] + [people[c].max() for c in ("hire_date", "termination_date") if c in people]
    dates = [pd.Timestamp(d) for d in dates if d is not None and not pd.isna(d)]
    if not dates:
        raise InsufficientDataError("survival: no date in the data to censor at; set evaluation.as_of")
    return max(dates)


def _origins(program: Program, people: pd.DataFrame, parts: pd.DataFrame, comparison: set[str], notes: list[str]) -> pd.DataFrame:
    """Origin date and group of every participant and comparison person (people without one are left out, counted)."""
    ids = list(parts["entity_id"]) + sorted(comparison)
    out = pd.DataFrame({"treated": [True] * len(parts) + [False] * len(comparison)}, index=pd.Index(ids, name="entity_id"))
    if program.evaluation.origin == "hire_date":
        out["origin"] = pd.to_datetime(people["hire_date"].reindex(out.index))
        first, last = out.loc[out["treated"], "origin"].min(), out.loc[out["treated"], "origin"].max()
        # Comparison people hired outside the participants' hiring period would compare cohorts, not the program.
        outside = ~out["treated"] & ((out["origin"] < first) | (out["origin"] > last)).fillna(False).astype(bool)
        if outside.any():
            notes.append(f"{int(outside.sum())} comparison people hired outside the participants' hiring period "
                         f"({pd.Timestamp(first).date()} to {pd.Timestamp(last).date()}) left out")
        out = out[~outside]
    else:
        treat = pd.to_datetime(parts.set_index("entity_id")["treat_date"])
        median = treat.dropna().sort_values().iloc[(treat.notna().sum() - 1) // 2] if treat.notna().any() else pd.NaT
        out["origin"] = treat.reindex(out.index).where(out["treated"], median)
        hire, term = people["hire_date"].reindex(out.index), people["termination_date"].reindex(out.index)
        # A comparison person must be employed at the matched origin, as a participant was at completion.
        gone = ~out["treated"] & ((hire > out["origin"]) | (term < out["origin"])).fillna(False).astype(bool)
        if gone.any():
            notes.append(f"{int(gone.sum())} comparison people not employed at the matched origin {pd.Timestamp(median).date()} left out")
        out = out[~gone]
    missing = out["origin"].isna()
    if missing.any():
        notes.append(f"{int((missing & out['treated']).sum())} participant(s) and {int((missing & ~out['treated']).sum())} comparison people without an origin date ({program.evaluation.origin}) left out")
    return out[~missing]


def _event_times(ws: Workspace, program: Program, frame: pd.DataFrame, people: pd.DataFrame, as_of: pd.Timestamp) -> tuple[pd.Series, pd.Series, str]:
    """Event indicator and the date of the event or of censoring, per person."""
    term = pd.to_datetime(people["termination_date"].reindex(frame.index))
    term = term.where(term <= as_of)  # a termination after the as-of date is not yet known
    ev = program.evaluation.event
    if ev is None:
        return term.notna(), term.fillna(as_of), "termination"
    kpis = ws.table("kpis")
    k = kpis[(kpis["metric"] == ev.metric) & kpis["entity_id"].isin(frame.index)].dropna(subset=["value"])
    k = k[k["period"] <= as_of]
    decrease = _metric_direction(program, ev.metric) == "decrease"
    freq = program.evaluation.frequency
    k = k.assign(pidx=period_index(k["period"], freq).astype("int64"))
    opidx = period_index(frame["origin"], freq).astype("int64")
    k = k[k["pidx"] >= opidx.reindex(k["entity_id"]).to_numpy()]
    reached = k[(k["value"] <= ev.reaches) if decrease else (k["value"] >= ev.reaches)]
    first = reached.groupby("entity_id")["period"].min().reindex(frame.index)
    last = k.groupby("entity_id")["period"].max().reindex(frame.index)
    # Leaving before reaching the threshold ends follow-up (censoring at termination).
    first = first.where(~(term < first).fillna(False).astype(bool))
    stop = pd.concat([last, term], axis=1).min(axis=1).fillna(frame["origin"])
    label = f"{ev.metric} {'<=' if decrease else '>='} {ev.reaches:g}"
    return first.notna(), first.fillna(stop), label


def _metric_direction(program: Program, metric: str) -> str:
    for m in (program.chain.business_metric, *program.chain.performance_metrics):
        if m.metric == metric:
            return m.direction
    return "increase"


def survival_data(ws: Workspace, program: Program) -> SurvivalData:
    """Follow-up of the participants and the comparison people of ``program`` (rules in the module docstring).

    Raises
    ------
    InsufficientDataError
        When fewer than 2 people of either group have a usable origin.
    """
    parts, attrition, notes, enrolled = _participants(ws, program)
    comparison = _comparison(ws, program, enrolled)
    people = ws.table("people").set_index("person_id")
    as_of = _as_of(ws, program, people.reset_index())
    frame = _origins(program, people, parts, comparison, notes)
    late = frame["origin"] > as_of
    if late.any():
        notes.append(f"{int(late.sum())} people whose origin is after the as-of date {as_of.date()} left out")
        frame = frame[~late]
    event, stop, label = _event_times(ws, program, frame, people, as_of)
    frame = frame.assign(event=event.astype(bool), time=(pd.to_datetime(stop) - pd.to_datetime(frame["origin"])).dt.days.clip(lower=0).astype(float))
    # A KPI threshold met in the origin's own period is an event at day 0; a termination before the origin is an error of the group.
    before = frame["event"] & (pd.to_datetime(stop) < pd.to_datetime(frame["origin"])) & (program.evaluation.event is None)
    if before.any():
        # Only possible with origin: treatment (termination before completion), or a KPI before the origin's period.
        notes.append(f"{int(before.sum())} people whose event came before their origin left out")
        frame = frame[~before]
    covs = [c for c in program.evaluation.covariates if c in people.columns]
    frame = frame.join(people[covs]) if covs else frame
    n_t, n_c = int(frame["treated"].sum()), int((~frame["treated"]).sum())
    if n_t < 2 or n_c < 2:
        raise InsufficientDataError(f"survival: {n_t} participants and {n_c} comparison people with an origin date (need at least 2 of each)"
                                    + ("; check evaluation.comparison in the program file" if n_c < 2 else ""))
    attrition.update({"with_outcome": n_t, "comparison": n_c})
    late = _late_enrolled(ws, program, frame)
    if late:
        notes.append(f"{late} participant(s) enrolled more than {LATE_ENROLMENT_DAYS} days after hire: they had to stay employed to enrol "
                     "(immortal time), so their retention is flattered; use origin: treatment for programs taken later")
    return SurvivalData(frame=frame, kind="retention" if program.evaluation.event is None else "event", event_label=label, as_of=as_of,
                        attrition=attrition, notes=notes, late_enrolled=late)


def _late_enrolled(ws: Workspace, program: Program, frame: pd.DataFrame) -> int:
    """Participants (origin hire_date) whose first enrollment came more than LATE_ENROLMENT_DAYS after their origin."""
    if program.evaluation.origin != "hire_date":
        return 0
    enr = ws.table("enrollments")
    enr = enr[(enr["program_id"] == program.id) & enr["person_id"].isin(frame.index[frame["treated"]])]
    first = pd.to_datetime(enr.groupby("person_id")["enrolled_on"].min())
    gap = (first - pd.to_datetime(frame["origin"].reindex(first.index))).dt.days
    return int((gap > LATE_ENROLMENT_DAYS).sum())


# --------------------------------------------------------------------------- analysis


#: The chart (and its numbers at risk) runs to this multiple of the horizon at most.
CHART_HORIZONS = 4


def _ticks(frame: pd.DataFrame, horizon: int) -> np.ndarray:
    """Chart ticks from 0 to the chart's end (the longest follow-up, at least the horizon, at most 4 horizons): round steps."""
    end = float(min(max(frame["time"].max(), horizon), CHART_HORIZONS * horizon))
    for step in (7, 14, 15, 30, 45, 60, 90, 180, 365, 730):
        if end / step <= 8:
            return np.arange(0, end + 1, step, dtype=float)
    return np.linspace(0, end, 6)


def _group_curve(group: str, frame: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    curve = km_curve(frame["time"].to_numpy(float), frame["event"].to_numpy(bool))
    # Points resting on fewer than min_group_size people at risk would show individual departures.
    return curve[curve["at_risk"] >= min_group_size].assign(group=group)[["group", "time", "survival", "ci_low", "ci_high", "at_risk"]]


def _at_risk(frame: pd.DataFrame, ticks: np.ndarray, min_group_size: int) -> pd.DataFrame:
    rows = []
    for group, sub in (("participants", frame[frame["treated"]]), ("comparison", frame[~frame["treated"]])):
        for t in ticks:
            n = int((sub["time"] >= t).sum())
            rows.append({"group": group, "time": float(t), "at_risk": n if n >= min_group_size else None})
    return pd.DataFrame(rows, columns=["group", "time", "at_risk"])


def _at_horizon(frame: pd.DataFrame, horizon: int, group: str) -> tuple[float, float]:
    curve = km_curve(frame["time"].to_numpy(float), frame["event"].to_numpy(bool))
    # S(h) is known when someone is followed to h, or when every one had the event before it (S = 0).
    if not (frame["time"] >= horizon).any() and curve["survival"].iloc[-1] > 0:
        longest = frame["time"].max()
        raise InsufficientDataError(f"survival: nobody in the {group} group is followed to the horizon of {horizon} days "
                                    f"(longest follow-up {longest:.0f} days); shorten evaluation.horizon_days or wait for more data")
    return survival_at(curve, horizon)


def survival_analysis(data: SurvivalData, program: Program) -> tuple[Estimate, SurvivalResult]:
    """Kaplan–Meier difference at the horizon, Cox hazard ratio and RMST difference (module docstring).

    Returns
    -------
    Estimate
        ``method="survival"``: the retention (or competency-share) difference
        at the horizon, participants minus comparison, normal 95% interval.
    SurvivalResult
        Curves, numbers at risk, hazard ratio and RMST (``results.survival``).
    """
    ev = program.evaluation
    h = int(ev.horizon_days)  # type: ignore[arg-type]
    f = data.frame
    tr, co = f[f["treated"]], f[~f["treated"]]
    s1, v1 = _at_horizon(tr, h, "participants")
    s0, v0 = _at_horizon(co, h, "comparison")
    sign = 1.0 if data.kind == "retention" else -1.0  # competency: share who reached it = 1 - S
    est, se = sign * (s1 - s0), float(np.sqrt(v1 + v0))
    if not se > 0:
        raise InsufficientDataError("survival: the retention difference has no variance (no events before the horizon in either group)")
    covs = [c for c in ev.covariates if c in f.columns]
    cox = cox_hazard_ratio(f, covs, horizon=h)
    r1, rv1 = rmst(tr["time"].to_numpy(float), tr["event"].to_numpy(bool), h)
    r0, rv0 = rmst(co["time"].to_numpy(float), co["event"].to_numpy(bool), h)
    rse = float(np.sqrt(rv1 + rv0))
    mgs = program.privacy.min_group_size
    curves = pd.concat([_group_curve("participants", tr, mgs), _group_curve("comparison", co, mgs)], ignore_index=True)
    followed = {g: float(((sub["time"] >= h) | (sub["event"] & (sub["time"] <= h))).mean()) for g, sub in (("participants", tr), ("comparison", co))}
    res = SurvivalResult(
        kind=data.kind, event_label=data.event_label, origin=ev.origin, horizon_days=h, as_of=data.as_of, curves=curves,
        at_risk=_at_risk(f, _ticks(f, h), mgs), survival_treated=s1, survival_comparison=s0,
        hazard_ratio=cox["hazard_ratio"], hazard_ratio_ci_low=cox["ci_low"], hazard_ratio_ci_high=cox["ci_high"], hazard_ratio_p=cox["p_value"],
        covariates=covs, ties="efron", ph_test=cox["ph_test"], rmst_treated=r1, rmst_comparison=r0, rmst_difference=r1 - r0,
        rmst_std_error=rse, rmst_ci_low=r1 - r0 - Z95 * rse, rmst_ci_high=r1 - r0 + Z95 * rse,
        n_events_treated=int(tr["event"].sum()), n_events_comparison=int(co["event"].sum()), followed_to_horizon=followed,
        late_enrolled=data.late_enrolled, notes=list(data.notes),
    )
    what = "retention" if data.kind == "retention" else f"share reaching {data.event_label}"
    details = {
        "estimator": f"Kaplan-Meier {what} at {h} days, participants minus comparison (Greenwood variance)",
        "horizon_days": h, "origin": ev.origin, "event": data.event_label, "as_of": str(data.as_of.date()),
        "survival_treated": s1, "survival_comparison": s0, "hazard_ratio": cox["hazard_ratio"], "rmst_difference": r1 - r0,
        "cox_design_columns": cox["design_columns"], "covariates": covs,
    }
    p = float(2 * stats.norm.sf(abs(est / se)))
    estimate = Estimate(method="survival", estimate=est, std_error=se, ci_low=est - Z95 * se, ci_high=est + Z95 * se, p_value=p,
                        n_treated=len(tr), n_comparison=len(co), strength=METHOD_STRENGTH["survival"], assumptions=ASSUMPTIONS["survival"],
                        details=details)
    return estimate, res


def survival_estimate(ws: Workspace, program: Program) -> tuple[Estimate, SurvivalResult, SurvivalData]:
    """:func:`survival_data` then :func:`survival_analysis` for one program."""
    data = survival_data(ws, program)
    est, res = survival_analysis(data, program)
    return est, res, data
