"""Pre-launch planning (Phillips ROI forecasting, power) and portfolio views.

Planning answers three questions before a program is launched:

1. **What ROI can we expect?** :func:`forecast_roi` turns a planned audience,
   a cost estimate, a unit value and an assumed effect into a pessimistic /
   expected / optimistic scenario table (Phillips' *ROI forecasting*, the
   same arithmetic as :func:`lopsnb.evaluation.roi.phillips_roi`).
2. **What effect must the program have to pay back?**
   :func:`break_even_effect`.
3. **Could the evaluation design detect it?** :func:`minimum_detectable_effect`
   and :func:`power` for a post-only comparison, ANCOVA or
   difference-in-differences with several serially correlated periods, using
   the KPI's history in the workspace (:func:`kpi_variance`).

The portfolio helpers at the end (:func:`evaluate_all`,
:func:`program_spend`, :func:`spend_by_evidence`) back
``notebooks/portfolio.ipynb``; the recommendation is the decision each
evaluation recorded (:mod:`lopsnb.evaluation.decision`), read, not repeated;
the table (:func:`lopsnb.report.portfolio.portfolio_table`) and the two
portfolio charts (:mod:`lopsnb.report.figures`) are report-stage code.

Effects are always *outcome units per entity per period* and
direction-signed like everywhere in lopsnb: for a ``decrease`` outcome a
negative effect is a gain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from lopsnb._result import ResultMixin
from lopsnb.errors import EvaluationError, InsufficientDataError
from lopsnb.evaluation.costs import program_costs
from lopsnb.evaluation.panel import period_index
from lopsnb.evaluation.roi import annual_benefits, break_even_gain
from lopsnb.evaluation.roi import bcr as _bcr
from lopsnb.evaluation.roi import payback_months as _payback
from lopsnb.evaluation.roi import roi_pct as _roi_pct
from lopsnb.io.rules import participant_counts
from lopsnb.options import Direction, PlanDesign, choices, validate_option

if TYPE_CHECKING:  # pragma: no cover
    from lopsnb.io.workspace import Workspace

__all__ = [
    "PlanDesign",
    "PLAN_DESIGNS",
    "KpiVariance",
    "forecast_roi",
    "break_even_effect",
    "kpi_variance",
    "design_variance_factor",
    "minimum_detectable_effect",
    "power",
    "required_participants",
    "evaluate_all",
    "program_spend",
    "spend_by_evidence",
]

PLAN_DESIGNS: tuple[str, ...] = choices(PlanDesign)
SCENARIOS: tuple[str, ...] = ("pessimistic", "expected", "optimistic")
#: z of the 10th / 90th percentile: the pessimistic / optimistic effect when
#: the effect belief is given as a standard deviation.
Z_SCENARIO = float(stats.norm.ppf(0.9))


# --------------------------------------------------------------------------- validation helpers
def _num(value: Any, name: str, *, low: float | None = None, strict_low: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise EvaluationError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise EvaluationError(f"{name} must be finite, got {value!r}")
    if low is not None and (v <= low if strict_low else v < low):
        raise EvaluationError(f"{name} must be {'>' if strict_low else '>='} {low:g}, got {v:g}")
    return v


def _int(value: Any, name: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        raise EvaluationError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _direction(direction: str) -> float:
    validate_option("direction", direction, Direction)
    return 1.0 if direction == "increase" else -1.0


def _design(design: str) -> str:
    validate_option("design", design, PlanDesign)
    return design


# --------------------------------------------------------------------------- ROI forecast
def break_even_effect(
    *,
    audience: int,
    cost: float,
    value_per_unit: float,
    periods_per_year: float = 12,
    horizon_years: float = 1,
    direction: Direction = "increase",
    target_roi_pct: float = 0.0,
) -> float | None:
    """Effect per entity per period at which the forecast ROI equals ``target_roi_pct``.

    ``effect = s × cost × (1 + target/100) / (value_per_unit × periods_per_year
    × audience × horizon_years)`` with ``s = +1`` for an ``increase`` outcome
    and ``-1`` for ``decrease``; with the default target 0 this is the
    break-even effect of :func:`lopsnb.evaluation.roi.phillips_roi`.

    Returns
    -------
    float or None
        None when the monetisation factor is 0 (no effect can pay back).
    """
    sign = _direction(direction)
    n = _int(audience, "audience", low=0)
    c = _num(cost, "cost", low=0)
    v = _num(value_per_unit, "value_per_unit", low=0)
    ppy = _num(periods_per_year, "periods_per_year", low=0, strict_low=True)
    h = _num(horizon_years, "horizon_years", low=0, strict_low=True)
    target = _num(target_roi_pct, "target_roi_pct", low=-100)
    gain = break_even_gain(c, v, ppy, n, h, target_roi_pct=target)
    return None if gain is None else sign * gain


def forecast_roi(
    *,
    audience: int,
    cost: float,
    value_per_unit: float,
    effect: float,
    effect_sd: float | None = None,
    effect_range: tuple[float, float] | None = None,
    value_range: tuple[float, float] | None = None,
    periods_per_year: float = 12,
    horizon_years: float = 1,
    direction: Direction = "increase",
) -> pd.DataFrame:
    """Forecast the Phillips ROI of a planned program in three scenarios.

    Parameters
    ----------
    audience : int
        Entities (people or units) expected to complete the program.
    cost : float
        Fully-loaded cost estimate (all categories incl. participant time).
    value_per_unit : float
        Money per outcome unit, per entity, per period.
    effect : float
        Expected effect per entity per period (outcome units, direction-signed).
    effect_sd : float, optional
        Standard deviation of the belief about the effect: the pessimistic and
        optimistic effects are its 10th and 90th percentiles,
        ``effect ∓ 1.2816 × effect_sd`` (in the favourable direction).
    effect_range : (float, float), optional
        Explicit pessimistic and optimistic effects (either order); give this
        or ``effect_sd``.
    value_range : (float, float), optional
        Unit value range; the pessimistic scenario takes the end least
        favourable to the program, the optimistic the most favourable.
    periods_per_year, horizon_years : float
        Outcome periods per year and years of benefits (GP9: 1 for short-term).
    direction : {"increase", "decrease"}
        Desired direction of the outcome.

    Returns
    -------
    DataFrame
        One row per scenario (``pessimistic``, ``expected``, ``optimistic``):
        ``scenario``, ``effect``, ``value_per_unit``, ``annual_benefits``
        (``s × effect × value × periods_per_year × audience``), ``benefits``
        (annual × horizon), ``costs``, ``net_benefit``, ``roi_pct``
        (net / costs × 100; NaN at zero cost), ``bcr`` (benefits / costs) and
        ``payback_months`` (costs / (annual benefits / 12); NaN when benefits
        are not positive).
    """
    sign = _direction(direction)
    n = _int(audience, "audience", low=0)
    c = _num(cost, "cost", low=0)
    v = _num(value_per_unit, "value_per_unit", low=0)
    eff = _num(effect, "effect")
    ppy = _num(periods_per_year, "periods_per_year", low=0, strict_low=True)
    h = _num(horizon_years, "horizon_years", low=0, strict_low=True)
    if (effect_sd is None) == (effect_range is None):
        raise EvaluationError("give exactly one of effect_sd (belief SD of the effect) or effect_range (pessimistic, optimistic)")
    if effect_sd is not None:
        sd = _num(effect_sd, "effect_sd", low=0)
        bad, good = eff - sign * Z_SCENARIO * sd, eff + sign * Z_SCENARIO * sd
    else:
        if len(effect_range) != 2:  # type: ignore[arg-type]
            raise EvaluationError(f"effect_range must be (low, high), got {effect_range!r}")
        a, b = (_num(x, "effect_range") for x in effect_range)  # type: ignore[union-attr]
        bad, good = (a, b) if sign * a <= sign * b else (b, a)
    if value_range is not None:
        if len(value_range) != 2:
            raise EvaluationError(f"value_range must be (low, high), got {value_range!r}")
        v_lo, v_hi = sorted(_num(x, "value_range", low=0) for x in value_range)
        if not v_lo <= v <= v_hi:
            raise EvaluationError(f"value_range {list(value_range)} must contain value_per_unit {v:g}")
    else:
        v_lo = v_hi = v
    rows = []
    for name, e in zip(SCENARIOS, (bad, eff, good), strict=True):
        gain = sign * e
        # The least favourable unit value depends on whether the gain is a loss.
        if name == "pessimistic":
            value = v_lo if gain >= 0 else v_hi
        elif name == "optimistic":
            value = v_hi if gain >= 0 else v_lo
        else:
            value = v
        annual = annual_benefits(gain, value, ppy, n)
        benefits = annual * h
        r, b, p = _roi_pct(benefits, c), _bcr(benefits, c), (_payback(annual, c) if c > 0 else None)
        rows.append({
            "scenario": name, "effect": e, "value_per_unit": value, "annual_benefits": annual, "benefits": benefits,
            "costs": c, "net_benefit": benefits - c,
            "roi_pct": np.nan if r is None else r, "bcr": np.nan if b is None else b, "payback_months": np.nan if p is None else p,
        })
    out = pd.DataFrame(rows)
    out["scenario"] = out["scenario"].astype("str")
    return out


# --------------------------------------------------------------------------- KPI variance
@dataclass(kw_only=True, eq=False)
class KpiVariance(ResultMixin):
    """Variance components of a KPI's history, the inputs of a power calculation.

    The model is ``y_it = μ_t + α_i + e_it`` with ``μ_t`` a common period mean
    (removed: a concurrent comparison group cancels it), ``α_i`` a permanent
    entity level (variance ``sd_between²``) and ``e_it`` an AR(1) transient
    deviation (variance ``sd_within²``, lag-1 autocorrelation ``ar1``). The
    correlation of two observations of an entity ``k`` periods apart is then
    ``icc + (1 - icc) × ar1^k``.

    Attributes
    ----------
    sd : float
        SD of one entity-period value around its period mean
        (``sqrt(sd_between² + sd_within²)``): the ``sd`` of
        :func:`minimum_detectable_effect`.
    sd_between, sd_within : float
        ``sd × sqrt(icc)`` and ``sd × sqrt(1 - icc)``.
    icc : float
        Share of the variance that is permanent between entities (the ``rho``
        of :func:`minimum_detectable_effect`).
    ar1 : float
        Lag-1 autocorrelation of the transient part (the ``ar1`` argument).
    lag1 : float
        Raw lag-1 correlation of period-demeaned values (``icc + (1-icc)·ar1``).
    autocorrelation : DataFrame
        ``lag``, ``corr`` (pooled Pearson correlation of period-demeaned
        values ``lag`` periods apart), ``fitted``, ``n_pairs``.

    Notes
    -----
    ``icc`` and ``ar1`` are fitted by weighted least squares of the pooled
    correlations at lags 1..min(12, T-1) on ``icc + (1-icc)·ar1^k`` (weights:
    pairs). Fitting the autocorrelation function avoids the downward
    (Nickell) bias of autocorrelations of entity-demeaned residuals in short
    panels.
    """

    metric: str
    entity: str
    frequency: str
    n_entities: int
    n_periods: int
    n_obs: int
    mean: float
    sd: float
    sd_between: float
    sd_within: float
    icc: float
    ar1: float
    lag1: float
    autocorrelation: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    title: ClassVar[str] = "KPI variance components"

    def to_frame(self) -> pd.DataFrame:
        """Tidy ``statistic``, ``value``, ``meaning`` rows."""
        rows = [
            ("n_entities", self.n_entities, "entities with data"),
            ("n_periods", self.n_periods, f"{self.frequency}s with data"),
            ("mean", self.mean, f"mean {self.metric}"),
            ("sd", self.sd, "SD of one entity-period value around its period mean"),
            ("sd_between", self.sd_between, "SD of permanent entity levels"),
            ("sd_within", self.sd_within, "SD of transient deviations"),
            ("icc", self.icc, "share of variance between entities (rho)"),
            ("ar1", self.ar1, "lag-1 autocorrelation of transient deviations"),
            ("lag1", self.lag1, "raw lag-1 correlation"),
        ]
        return pd.DataFrame({
            "statistic": pd.Series([r[0] for r in rows], dtype="str"),
            "value": [float(r[1]) for r in rows],
            "meaning": pd.Series([r[2] for r in rows], dtype="str"),
        })

    def plot(self, ax: Any = None) -> Any:
        """Empirical vs fitted autocorrelation by lag; returns the Axes."""
        from lopsnb.report.figures import draw_kpi_variance

        return draw_kpi_variance(self, ax)


def kpi_variance(
    ws: Workspace,
    metric: str,
    *,
    entity: Literal["person", "org_unit", "any"] = "any",
    frequency: Literal["month", "quarter", "week", "year"] = "month",
    entities: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    max_lag: int = 12,
) -> KpiVariance:
    """Estimate the variance components of ``metric`` from the workspace's KPI history.

    Parameters
    ----------
    ws : Workspace
    metric : str
        A metric of the ``kpis`` table.
    entity : {"any", "person", "org_unit"}
        Keep only entity ids that are people (``person``) or org units of the
        people table (``org_unit``).
    frequency : {"month", "quarter", "week", "year"}
        Period spacing (values in the same period are averaged per entity).
    entities : sequence of str, optional
        Restrict to these entity ids (e.g. the eligible audience).
    start, end : date-like, optional
        Use only periods in ``[start, end]`` (e.g. before any training).

    Returns
    -------
    KpiVariance

    Raises
    ------
    InsufficientDataError
        Fewer than 2 entities or 2 periods with data.
    """
    if entity not in ("any", "person", "org_unit"):
        raise EvaluationError(f"entity must be 'any', 'person' or 'org_unit', got {entity!r}")
    if frequency not in ("month", "quarter", "week", "year"):
        raise EvaluationError(f"frequency must be week, month, quarter or year, got {frequency!r}")
    k = ws.table("kpis")
    k = k[(k["metric"] == metric) & k["value"].notna()]
    if entity == "person":
        k = k[k["entity_id"].isin(ws.table("people")["person_id"])]
    elif entity == "org_unit":
        k = k[k["entity_id"].isin(ws.table("people")["org_unit"].dropna())]
    if entities is not None:
        k = k[k["entity_id"].isin(list(entities))]
    if start is not None:
        k = k[k["period"] >= pd.Timestamp(start)]
    if end is not None:
        k = k[k["period"] <= pd.Timestamp(end)]
    if k.empty:
        raise InsufficientDataError(f"metric {metric!r} has no {entity if entity != 'any' else ''} KPI rows in the chosen range".replace("  ", " "))
    frame = pd.DataFrame({
        "entity_id": k["entity_id"].astype("str").to_numpy(),
        "pidx": period_index(k["period"], frequency).to_numpy(dtype="int64"),
        "value": k["value"].to_numpy(dtype="float64"),
    }).groupby(["entity_id", "pidx"], as_index=False)["value"].mean()
    n_ent, periods = frame["entity_id"].nunique(), np.sort(frame["pidx"].unique())
    if n_ent < 2 or len(periods) < 2:
        raise InsufficientDataError(f"metric {metric!r}: need at least 2 entities and 2 periods, found {n_ent} and {len(periods)}")
    # Common period shocks cancel against a concurrent comparison group.
    frame["dev"] = frame["value"] - frame.groupby("pidx")["value"].transform("mean")
    wide = frame.pivot(index="entity_id", columns="pidx", values="dev").reindex(columns=range(int(periods[0]), int(periods[-1]) + 1))
    y = wide.to_numpy(dtype="float64")
    # One degree of freedom is spent on each period mean.
    sd = float(np.sqrt(np.sum(frame["dev"].to_numpy() ** 2) / max(len(frame) - len(periods), 1)))
    rows = []
    for lag in range(1, min(max_lag, y.shape[1] - 1) + 1):
        a, b = y[:, lag:].ravel(), y[:, :-lag].ravel()
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() >= 3 and np.std(a[ok]) > 0 and np.std(b[ok]) > 0:
            rows.append({"lag": lag, "corr": float(np.corrcoef(a[ok], b[ok])[0, 1]), "n_pairs": int(ok.sum())})
    ac = pd.DataFrame(rows, columns=["lag", "corr", "n_pairs"])
    notes: list[str] = []
    if len(ac) >= 2:
        lags, corr, w = ac["lag"].to_numpy(float), ac["corr"].to_numpy(float), np.sqrt(ac["n_pairs"].to_numpy(float))

        def resid(p: np.ndarray) -> np.ndarray:
            return w * (p[0] + (1 - p[0]) * p[1] ** lags - corr)

        start_icc = float(np.clip(corr[-1], 0, 0.95))
        fit = optimize.least_squares(resid, x0=[start_icc, 0.3], bounds=([0.0, -0.95], [1.0, 0.99]))
        icc, ar1 = float(fit.x[0]), float(fit.x[1])
    elif len(ac) == 1:
        icc, ar1 = float(np.clip(ac["corr"].iloc[0], 0, 1)), 0.0
        notes.append("only one lag available: the correlation is taken as constant (ar1 = 0)")
    else:
        icc, ar1 = 0.0, 0.0
        notes.append("no pairs of periods: correlations unknown, taken as 0")
    ac["fitted"] = icc + (1 - icc) * ar1 ** ac["lag"].astype(float)
    return KpiVariance(
        metric=metric, entity=entity, frequency=frequency, n_entities=int(n_ent), n_periods=int(len(periods)), n_obs=int(len(frame)),
        mean=float(frame["value"].mean()), sd=sd, sd_between=sd * math.sqrt(icc), sd_within=sd * math.sqrt(1 - icc),
        icc=icc, ar1=ar1, lag1=float(ac["corr"].iloc[0]) if len(ac) else float("nan"), autocorrelation=ac, notes=notes,
    )


# --------------------------------------------------------------------------- power and MDE
def design_variance_factor(
    design: PlanDesign,
    *,
    pre_periods: int = 1,
    post_periods: int = 1,
    rho: float = 0.0,
    ar1: float | None = None,
    gap_periods: int = 0,
    r2_baseline: float | None = None,
) -> float:
    """Variance of one entity's outcome contrast in units of ``sd²``.

    The correlation of two periods ``k`` apart is ``rho + (1 - rho) × ar1^k``
    (``ar1`` None or 0: the constant correlation ``rho`` of McKenzie 2012).
    With ``P``/``F`` the means over the ``pre_periods`` baseline and
    ``post_periods`` followup periods (``gap_periods`` apart):

    * ``post_only``: ``Var(F)``
    * ``did``: ``Var(F - P) = Var(F) + Var(P) - 2 Cov(F, P)``
    * ``ancova``: ``Var(F | P) = Var(F) - Cov(F, P)² / Var(P)``, or
      ``Var(F) × (1 - r2_baseline)`` when the R² of the followup on baseline
      and covariates is given.

    With constant correlation these are McKenzie's (2012, *J. Dev. Econ.*
    99(2):210-221, "Beyond baseline and follow-up") POST, DIFF and ANCOVA
    factors ``(1+(r-1)ρ)/r``, ``(1+(m-1)ρ)/m + (1+(r-1)ρ)/r - 2ρ`` and
    ``(1+(r-1)ρ)/r - mρ²/(1+(m-1)ρ)``, the multi-period generalisation of
    Frison & Pocock (1992, *Stat. Med.* 11(13):1685-1704).
    """
    _design(design)
    m = _int(pre_periods, "pre_periods", low=1)
    r = _int(post_periods, "post_periods", low=1)
    g = _int(gap_periods, "gap_periods", low=0)
    rho_ = _num(rho, "rho", low=-1)
    if rho_ > 1:
        raise EvaluationError(f"rho must be in [-1, 1], got {rho_}")
    phi = 0.0 if ar1 is None else _num(ar1, "ar1", low=-1)
    if phi >= 1:
        raise EvaluationError(f"ar1 must be in (-1, 1), got {phi}")
    times = np.concatenate([np.arange(m), m + g + np.arange(r)])
    lag = np.abs(times[:, None] - times[None, :])
    corr = np.where(lag == 0, 1.0, rho_ + (1 - rho_) * phi ** lag)
    v_pre = float(corr[:m, :m].mean())
    v_post = float(corr[m:, m:].mean())
    cov = float(corr[:m, m:].mean())
    if design == "post_only":
        return v_post
    if design == "did":
        return max(v_pre + v_post - 2 * cov, 0.0)
    if r2_baseline is not None:
        r2 = _num(r2_baseline, "r2_baseline", low=0)
        if r2 >= 1:
            raise EvaluationError(f"r2_baseline must be in [0, 1), got {r2}")
        return v_post * (1 - r2)
    return max(v_post - cov**2 / v_pre, 0.0)


def _se_df(design: str, n_treated: int, n_comparison: int, sd: float, factor: float, n_covariates: int) -> tuple[float, int]:
    se = sd * math.sqrt(factor * (1 / n_treated + 1 / n_comparison))
    # Two group means (and the baseline slope and covariates for ANCOVA) are estimated.
    df = n_treated + n_comparison - 2 - (1 + n_covariates if design == "ancova" else 0)
    if df < 1:
        raise EvaluationError(f"too few entities for {design}: {n_treated} treated + {n_comparison} comparison")
    return se, df


def _power_nct(delta: float, se: float, df: int, alpha: float) -> float:
    if se == 0:
        return 1.0 if delta != 0 else alpha
    nc = abs(delta) / se
    crit = stats.t.ppf(1 - alpha / 2, df)
    upper = float(stats.nct.sf(crit, df, nc))
    lower = float(stats.nct.cdf(-crit, df, nc))
    # scipy's nct underflows to NaN far in the wrong-sign tail, where the
    # probability is below P(T < crit), itself negligible there.
    if not np.isfinite(lower):
        lower = 0.0
    if not np.isfinite(upper):
        upper = 1.0 if nc > crit else 0.0
    return min(upper + lower, 1.0)


def _check_common(alpha: float, n_treated: int, n_comparison: int, sd: float) -> tuple[float, int, int, float]:
    a = _num(alpha, "alpha", low=0, strict_low=True)
    if a >= 1:
        raise EvaluationError(f"alpha must be in (0, 1), got {a}")
    return a, _int(n_treated, "n_treated", low=1), _int(n_comparison, "n_comparison", low=1), _num(sd, "sd", low=0)


def power(
    *,
    effect: float,
    n_treated: int,
    n_comparison: int,
    sd: float,
    alpha: float = 0.05,
    design: PlanDesign = "did",
    pre_periods: int = 1,
    post_periods: int = 1,
    rho: float = 0.0,
    ar1: float | None = None,
    gap_periods: int = 0,
    r2_baseline: float | None = None,
    n_covariates: int = 0,
) -> float:
    """Probability that a two-sided level-``alpha`` test detects ``effect``.

    The estimator is the difference between groups in each entity's contrast
    (:func:`design_variance_factor`), ``SE = sd × sqrt(factor × (1/n_t +
    1/n_c))``; power uses the noncentral t distribution with
    ``df = n_t + n_c - 2`` (``- 1 - n_covariates`` for ANCOVA), as
    ``statsmodels.stats.power.TTestIndPower`` does.

    Parameters
    ----------
    effect : float
        True effect per entity per period (outcome units; sign irrelevant).
    n_treated, n_comparison : int
        Participating and comparison entities with data.
    sd : float
        SD of one entity-period value (:attr:`KpiVariance.sd`).
    rho, ar1, pre_periods, post_periods, gap_periods, r2_baseline
        See :func:`design_variance_factor`.
    """
    a, nt, nc, s = _check_common(alpha, n_treated, n_comparison, sd)
    factor = design_variance_factor(design, pre_periods=pre_periods, post_periods=post_periods, rho=rho, ar1=ar1,
                                    gap_periods=gap_periods, r2_baseline=r2_baseline)
    se, df = _se_df(design, nt, nc, s, factor, _int(n_covariates, "n_covariates", low=0))
    return _power_nct(_num(effect, "effect"), se, df, a)


_power_of = power  # ``power`` is also an argument name below


def minimum_detectable_effect(
    *,
    n_treated: int,
    n_comparison: int,
    sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    design: PlanDesign = "did",
    pre_periods: int = 1,
    post_periods: int = 1,
    rho: float = 0.0,
    ar1: float | None = None,
    gap_periods: int = 0,
    r2_baseline: float | None = None,
    n_covariates: int = 0,
) -> float:
    """Smallest true effect detected with probability ``power`` (two-sided test at ``alpha``).

    Solves :func:`power` ``= power`` for the effect (outcome units per entity
    per period, positive). For large samples this is the familiar
    ``(z_{1-α/2} + z_{power}) × SE``; the noncentral t keeps it exact for
    small groups. See :func:`design_variance_factor` for the designs.
    """
    a, nt, nc, s = _check_common(alpha, n_treated, n_comparison, sd)
    target = _num(power, "power", low=0, strict_low=True)
    if not a < target < 1:
        raise EvaluationError(f"power must be in (alpha, 1), got {target}")
    factor = design_variance_factor(design, pre_periods=pre_periods, post_periods=post_periods, rho=rho, ar1=ar1,
                                    gap_periods=gap_periods, r2_baseline=r2_baseline)
    se, df = _se_df(design, nt, nc, s, factor, _int(n_covariates, "n_covariates", low=0))
    if se == 0:
        return 0.0
    hi = se * (stats.norm.ppf(1 - a / 2) + stats.norm.ppf(target) + 2)
    while _power_nct(hi, se, df, a) < target:
        hi *= 2
    return float(optimize.brentq(lambda d: _power_nct(d, se, df, a) - target, 0.0, hi, xtol=1e-12 * max(se, 1e-300), rtol=1e-12))


def required_participants(
    *,
    effect: float,
    sd: float,
    comparison_ratio: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    design: PlanDesign = "did",
    pre_periods: int = 1,
    post_periods: int = 1,
    rho: float = 0.0,
    ar1: float | None = None,
    gap_periods: int = 0,
    r2_baseline: float | None = None,
    max_n: int = 1_000_000,
) -> int | None:
    """Smallest number of participants detecting ``effect`` with probability ``power``.

    The comparison group has ``ceil(comparison_ratio × n_treated)`` entities.
    Returns None when even ``max_n`` participants are not enough (effect 0).
    """
    ratio = _num(comparison_ratio, "comparison_ratio", low=0, strict_low=True)
    target = _num(power, "power", low=0, strict_low=True)
    kw = {"sd": sd, "alpha": alpha, "design": design, "pre_periods": pre_periods, "post_periods": post_periods, "rho": rho,
          "ar1": ar1, "gap_periods": gap_periods, "r2_baseline": r2_baseline}

    def pw(n: int) -> float:
        return _power_of(effect=effect, n_treated=n, n_comparison=max(math.ceil(ratio * n), 1), **kw)

    lo = 2
    if pw(lo) >= target:
        return lo
    if pw(max_n) < target:
        return None
    hi = max_n
    while hi - lo > 1:  # power increases in n: bisection on integers
        mid = (lo + hi) // 2
        if pw(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------- portfolio
def evaluate_all(ws: Workspace, *, program_ids: Sequence[str] | None = None) -> tuple[dict[str, dict[str, Any] | None], dict[str, dict[str, Any]]]:
    """Evaluate every evaluated program (``evaluate: true``) of a workspace.

    Returns
    -------
    results : dict of program id to ``ProgramEvaluation.to_dict()`` (None on failure)
    statuses : dict of program id to ``{"status": "ok"|"failed", "error", "program_name"}``
        The shapes :func:`lopsnb.report.portfolio.portfolio_frame` takes.
    """
    from lopsnb.evaluation.every import evaluate_every

    results: dict[str, dict[str, Any] | None] = {}
    statuses: dict[str, dict[str, Any]] = {}
    for pid, outcome in evaluate_every(ws, program_ids=program_ids).items():
        results[pid] = outcome.evaluation.to_dict() if outcome.evaluation is not None else None
        if outcome.error is None:
            statuses[pid] = {"status": "ok", "error": None, "program_name": outcome.name}
        else:
            error = str(outcome.error) if outcome.invalid_file else f"{type(outcome.error).__name__}: {outcome.error}"
            statuses[pid] = {"status": "failed", "error": error, "program_name": outcome.name}
    return results, statuses


def program_spend(ws: Workspace) -> pd.DataFrame:
    """Fully-loaded spend of every program, evaluated or catalog.

    Returns
    -------
    DataFrame
        ``program_id``, ``name``, ``evaluated`` (bool), ``participants``
        (people enrolled, not dropped), ``costs`` (Σ costs × prorate_share
        plus participant time, as in the evaluation: GP10).
    """
    counts = participant_counts(ws.table("enrollments"))
    rows = []
    for pid, prog in sorted(ws.programs.items()):
        rows.append({"program_id": pid, "name": prog.name, "evaluated": bool(prog.evaluate),
                     "participants": int(counts.get(pid, 0)), "costs": program_costs(ws, pid).total})
    return pd.DataFrame(rows, columns=["program_id", "name", "evaluated", "participants", "costs"])


def spend_by_evidence(frame: pd.DataFrame, spend: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of spend by evidence grade.

    Parameters
    ----------
    frame : DataFrame
        :func:`portfolio_table` output (``program_id``, ``evidence_grade``, ``spend``).
    spend : DataFrame, optional
        :func:`program_spend` output: catalog courses (not evaluated) are added
        as grade ``not evaluated``.

    Returns
    -------
    DataFrame
        ``evidence_grade`` (strong, moderate, weak, insufficient, not
        evaluated; only those present), ``programs``, ``spend``, ``share``
        (of total spend).
    """
    parts = frame[["program_id", "evidence_grade", "spend"]].copy()
    parts["evidence_grade"] = parts["evidence_grade"].fillna("insufficient").astype("str")
    if spend is not None:
        extra = spend[~spend["program_id"].isin(parts["program_id"])]
        parts = pd.concat([parts, pd.DataFrame({"program_id": extra["program_id"], "evidence_grade": "not evaluated",
                                                "spend": extra["costs"]})], ignore_index=True)
    order = ["strong", "moderate", "weak", "insufficient", "not evaluated"]
    out = parts.groupby("evidence_grade").agg(programs=("program_id", "count"), spend=("spend", "sum")).reindex(order).dropna(subset=["programs"])
    total = float(out["spend"].sum())
    out["share"] = out["spend"] / total if total > 0 else np.nan
    out["programs"] = out["programs"].astype("int64")
    return out.reset_index()
