"""Level 4 isolation methods: estimate the program's effect on the outcome.

Every method returns an :class:`Estimate` in outcome units **per entity per
period** (log points when the outcome is log-transformed). The methods work
on an :class:`~lopsnb.evaluation.panel.ImpactPanel`: the entity × period
observations of the outcome with each entity's treatment status, cohort and
window means.

Estimands (treated = participating entities, comparison = eligible
non-participants):

``post_only``
    Difference in mean followup value, treated minus comparison
    (OLS ``followup ~ treated``, HC1 standard errors). Unbiased only if the
    groups would have had equal followup means without the program.
``ancova``
    Coefficient of ``treated`` in OLS ``followup ~ treated + baseline
    [+ covariates]`` (HC1): the followup difference between entities with
    the same baseline value and covariates.
``did``
    Two-way fixed-effects DiD: coefficient of ``treated × post`` in
    ``y_it = α_i + λ_t + β·treated_i·post_t + ε_it`` on all entity-period
    observations of both windows, standard errors clustered by entity with
    the fixest / Stata ``xtreg, fe vce(cluster entity)`` small-sample factor
    ``G/(G−1)·(N−1)/(N−K)``, K = regressors + period effects + intercept
    (entity effects are nested in the clusters and not counted).
    With cohort-relative windows (staggered adoption) the Callaway–Sant'Anna
    estimator of :mod:`lopsnb.evaluation.staggered` is used instead.
``before_after``
    Participants only: mean of ``followup − baseline`` with a t interval.
    It credits the program with every trend and shock: the weakest design.
``trend``
    Phillips trend-line analysis (interrupted time series): segmented OLS on
    the participants' mean series (or, when a comparison exists, on the
    participants-minus-comparison series), ``y_t = a + b·t + δ·post_t +
    γ·(t − t_0)·post_t``; the effect is the mean over followup periods of
    actual minus the projected pre-trend, ``δ + γ·mean(t − t_0)``, with
    Newey–West (HAC) standard errors.
``dr_did``, ``ipw_did``, ``reg_did``, ``weighting``
    Covariate-adjusted ATTs (doubly robust, IPW and outcome-regression DiD
    of Sant'Anna & Zhao 2020, and AIPW weighting): see
    :mod:`lopsnb.evaluation.drdid` and
    :mod:`lopsnb.evaluation.covariate_designs`.
``survival``
    Time-to-event outcomes (retention, time to competency): Kaplan–Meier
    difference at the horizon, Cox hazard ratio and RMST difference; see
    :mod:`lopsnb.evaluation.survival`.
``estimates``
    Phillips participant estimates: mean over participants of improvement ×
    attribution × confidence, non-respondents counted as zero (GP6), extreme
    claims excluded (GP8); see :func:`lopsnb.evaluation.roi.adjust_estimates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
# The module, not statsmodels.api: the api imports every statsmodels
# sub-package (time series, graphics, datasets...), ~0.3 s per kernel start.
from statsmodels.regression.linear_model import OLS
from scipy import stats

from lopsnb._result import jsonable
from lopsnb.errors import InsufficientDataError
from lopsnb.evaluation.degenerate import (
    check_interval,
    outcome_magnitude,
    outcome_scale,
    require_finite,
    require_variation,
    require_within_variation,
)

__all__ = [
    "Estimate",
    "METHOD_LABELS",
    "DESIGN_PHRASES",
    "UNMODELLED_UNCERTAINTY",
    "METHOD_STRENGTH",
    "ASSUMPTIONS",
    "post_only",
    "ancova",
    "twfe_did",
    "before_after",
    "trend_line",
    "twfe",
    "smd",
    "smd_band",
]

Strength = Literal["strong", "moderate", "weak"]

METHOD_LABELS: dict[str, str] = {
    "did": "Difference-in-differences vs comparison group",
    "ancova": "Regression adjustment (ANCOVA) vs comparison group",
    "post_only": "Post-program comparison (no baseline adjustment)",
    "before_after": "Before/after, participants only (weakest design)",
    "trend": "Trend-line projection (interrupted time series)",
    "estimates": "Participant estimates (adjusted for attribution and confidence)",
    "dr_did": "Doubly robust DiD with covariates (Sant'Anna & Zhao 2020)",
    "ipw_did": "Inverse-probability-weighted DiD with covariates",
    "reg_did": "Outcome-regression DiD with covariates",
    "weighting": "Doubly robust weighting on pre-program covariates (AIPW)",
    "synthetic_control": "Synthetic control (weighted donor units)",
    "sdid": "Synthetic difference-in-differences",
    "survival": "Survival analysis: Kaplan-Meier difference at the horizon vs comparison group",
}

#: Each design in a business reader's words (evidence reasons, executive summary, index).
DESIGN_PHRASES: dict[str, str] = {
    "did": "difference-in-differences against a comparison group",
    "ancova": "a comparison with similar non-participants, adjusted for where they started",
    "post_only": "a comparison with non-participants after the program only",
    "before_after": "participants before and after the program, with no comparison group",
    "trend": "a projection of the pre-program trend",
    "estimates": "participants' own estimates of the improvement",
    "dr_did": "difference-in-differences against a comparison group weighted to match the participants",
    "ipw_did": "difference-in-differences against a comparison group weighted to match the participants",
    "reg_did": "difference-in-differences against a comparison group, adjusted for background differences",
    "weighting": "a comparison with non-participants weighted to match the participants",
    "synthetic_control": "a synthetic comparison built from similar units",
    "sdid": "a synthetic comparison built from similar units (synthetic difference-in-differences)",
    "survival": "a comparison of time to the event (leaving, or reaching the threshold) with similar people who did not take part",
}

#: Designs whose intervals leave out their main source of doubt, so a
#: probability such as P(ROI > 0) is not modelled: what it rests on instead.
UNMODELLED_UNCERTAINTY: dict[str, str] = {
    "estimates": "participants' own estimates, whose bias is not modelled",
    "before_after": "a before/after change that other influences may explain",
}

#: Design strength before any diagnostic is considered.
METHOD_STRENGTH: dict[str, Strength] = {
    "did": "strong",
    "ancova": "strong",
    "post_only": "moderate",
    "trend": "moderate",
    "before_after": "weak",
    "estimates": "weak",
    "dr_did": "strong",
    "ipw_did": "strong",
    "reg_did": "strong",
    # Selection on observables only, without a pre-period panel.
    "weighting": "moderate",
    # Few treated units: the grade is capped by lopsnb.evaluation.evidence (one unit: moderate).
    "synthetic_control": "strong",
    "sdid": "strong",
    # A comparison without adjustment for who chose to take part (as post_only); covariates enter the Cox model only.
    "survival": "moderate",
}

ASSUMPTIONS: dict[str, tuple[str, ...]] = {
    "did": (
        "Parallel trends: without the program, participants' outcome would have moved like the comparison group's.",
        "No anticipation: the outcome did not change before completion because of the program.",
        "No spill-over from participants to the comparison group.",
    ),
    "did_staggered": (
        "Parallel trends between each completion cohort and its comparison group (never- or not-yet-treated).",
        "No anticipation before each cohort's completion period.",
        "No spill-over; effects may differ by cohort and over time (handled by the group-time estimator).",
    ),
    "ancova": (
        "No unmeasured differences between groups once baseline outcome and covariates are held equal.",
        "A linear relation between baseline and followup outcome.",
    ),
    "post_only": ("Participants and comparison would have had the same followup outcome without the program (no selection).",),
    "before_after": (
        "Nothing but the program changed the outcome between the windows (no trend, seasonality or other initiative).",
    ),
    "trend": (
        "The pre-program trend would have continued unchanged through the followup window.",
        "No other event changed the outcome at the launch.",
    ),
    "dr_did": (
        "Parallel trends given the covariates: participants' outcome would have changed like that of comparison entities with the same covariates.",
        "Overlap: every participant has comparable non-participants (propensity score below 1).",
        "Either the propensity score model or the outcome model is right (doubly robust); no anticipation; no spill-over.",
    ),
    "ipw_did": (
        "Parallel trends given the covariates.",
        "The logistic propensity score model is right, and overlap holds.",
    ),
    "reg_did": (
        "Parallel trends given the covariates.",
        "The comparison group's outcome change is linear in the covariates.",
    ),
    "weighting": (
        "No unmeasured confounding: given the pre-program covariates (and baseline outcome), participation is as good as random.",
        "Overlap: every participant has comparable non-participants.",
        "Either the propensity score model or the outcome model is right (doubly robust).",
    ),
    "estimates": (
        "Participants can judge their improvement, the program's share of it and their confidence.",
        "Non-respondents improved by zero (GP6); extreme claims are excluded (GP8).",
    ),
    "synthetic_control": (
        "Without the program the participating unit would have followed its synthetic unit (the weighted donors that track its baseline path).",
        "No donor unit was affected by the program or by another shock specific to it in the followup window.",
        "The placebo p-value treats every unit as equally likely to have been the treated one.",
    ),
    "sdid": (
        "Parallel trends between the participating units and the weighted donors over the weighted baseline periods.",
        "No anticipation and no spill-over onto the donor units.",
    ),
    "survival": (
        "Participants and comparison people would have had the same retention (or time to the event) without the program (no selection).",
        "Participation is fixed at the origin (no one joins the participants by surviving long enough to enrol).",
        "Censoring (still employed at the as-of date, no more data) is unrelated to the risk of the event.",
    ),
}


@dataclass(kw_only=True, frozen=True)
class Estimate:
    """An isolated effect estimate.

    Attributes
    ----------
    method : str
        Method key (``did``, ``ancova``, ``post_only``, ``before_after``,
        ``trend``, ``estimates``).
    estimate : float
        Effect in outcome units per entity per period (log points when
        ``transform == "log"``).
    std_error, ci_low, ci_high, p_value : float
        Standard error, 95% interval and two-sided p-value (H0: no effect).
    n_treated, n_comparison : int
        Entities used on each side (periods for ``trend``'s series are in
        ``details``).
    strength : {"strong", "moderate", "weak"}
        Strength of the design before diagnostics.
    assumptions : tuple of str
        What must hold for the estimate to be the program's effect.
    transform : {"none", "log"}
    details : dict
        Method-specific extras (degrees of freedom, covariance type, ...).
    """

    method: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_comparison: int
    strength: Strength
    assumptions: tuple[str, ...]
    transform: Literal["none", "log"] = "none"
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Plain-language name of the method."""
        return METHOD_LABELS.get(self.method, self.method)

    @property
    def pct(self) -> tuple[float, float, float]:
        """Effect and CI as % change (log outcomes only; NaN otherwise)."""
        if self.transform != "log":
            return (np.nan, np.nan, np.nan)
        return tuple(float(np.expm1(v) * 100) for v in (self.estimate, self.ci_low, self.ci_high))  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields (the ``results.estimates.<method>`` entry)."""
        pct, pct_lo, pct_hi = self.pct
        return jsonable(
            {
                "method": self.method,
                "label": self.label,
                "estimate": self.estimate,
                "std_error": self.std_error,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "p_value": self.p_value,
                "n_treated": self.n_treated,
                "n_comparison": self.n_comparison,
                "pct_effect": pct,
                "pct_ci_low": pct_lo,
                "pct_ci_high": pct_hi,
                "strength": self.strength,
                "transform": self.transform,
                "assumptions": list(self.assumptions),
                "details": self.details,
            }
        )


def _from_normal(method: str, est: float, se: float, n_t: int, n_c: int, *, df: float | None = None, magnitude: float | None = None,
                 **kw: Any) -> Estimate:
    """Build an Estimate with a t (df given) or normal interval.

    Raises :class:`~lopsnb.evaluation.degenerate.NotEstimableError` when the
    estimate, its standard error or an interval bound overflows, or the
    standard error is 0 (no interval of zero width is ever reported).
    """
    check_interval(method, est, se, magnitude=magnitude)
    if not (np.isfinite(est) and np.isfinite(se) and se >= 0) or (df is not None and not df > 0):
        # An estimate without a usable standard error is not reportable:
        # NaN compares False with 0 and would otherwise yield p = 0.
        raise InsufficientDataError(f"{method}: the standard error is undefined (too few observations for the model)")
    dist = stats.t(df) if df is not None and np.isfinite(df) else stats.norm()
    q = float(dist.ppf(0.975))
    check_interval(method, est, se, (est - q * se, est + q * se))
    p = float(2 * dist.sf(abs(est / se)))
    return Estimate(
        method=method,
        estimate=float(est),
        std_error=float(se),
        ci_low=float(est - q * se),
        ci_high=float(est + q * se),
        p_value=p,
        n_treated=int(n_t),
        n_comparison=int(n_c),
        strength=METHOD_STRENGTH[method] if method in METHOD_STRENGTH else "weak",
        assumptions=kw.pop("assumptions", ASSUMPTIONS.get(method, ())),
        transform=kw.pop("transform", "none"),
        details=dict(kw.pop("details", {}), **({"df": df} if df is not None else {})),
    )


def _require(n_treated: int, n_comparison: int | None, method: str, *, min_treated: int = 2, min_comparison: int = 2) -> None:
    if n_treated < min_treated:
        raise InsufficientDataError(f"{method}: {n_treated} participating entities with the data it needs (need at least {min_treated})")
    if n_comparison is not None and n_comparison < min_comparison:
        raise InsufficientDataError(
            f"{method}: {n_comparison} comparison entities with the data it needs (need at least {min_comparison}); "
            "check evaluation.comparison in the program file"
        )


def _ols_treated(y: np.ndarray, X: np.ndarray, method: str, n_t: int, n_c: int, *, scale: float = 1.0, **kw: Any) -> Estimate:
    # ``y`` (and outcome-scale regressors) arrive divided by ``scale``, a power
    # of two (exact), so that squared residuals of huge KPIs do not overflow.
    require_variation(method, y)
    rank = np.linalg.matrix_rank(X)
    if rank == np.linalg.matrix_rank(np.delete(X, 1, axis=1)):
        # treated lies in the span of the covariates (e.g. every participant in
        # one category): OLS would return an arbitrary pinv split of the effect.
        raise InsufficientDataError(f"{method}: the effect is not identified: the covariates determine who participated (drop or coarsen them)")
    if len(y) - rank < 1:
        raise InsufficientDataError(f"{method}: {len(y)} entities for {rank} parameters leave no residual degrees of freedom")
    fit = OLS(y, X).fit(cov_type="HC1")
    est, se = float(fit.params[1]) * scale, float(fit.bse[1]) * scale
    # HC1 with the residual degrees of freedom: t rather than normal
    # quantiles, as small comparison groups are common in L&D data.
    return _from_normal(method, est, se, n_t, n_c, df=float(fit.df_resid), magnitude=outcome_magnitude(y) * scale, details={"cov_type": "HC1", "r_squared": float(fit.rsquared)}, **kw)


def post_only(entities: pd.DataFrame, *, transform: Literal["none", "log"] = "none") -> Estimate:
    """Followup difference, treated minus comparison (OLS, HC1).

    Parameters
    ----------
    entities : DataFrame
        One row per entity with columns ``treated`` (bool) and ``followup``
        (mean outcome in the followup window; NaN entities are dropped).
    """
    data = entities.dropna(subset=["followup"])
    n_t, n_c = int(data["treated"].sum()), int((~data["treated"]).sum())
    _require(n_t, n_c, "post_only")
    X = np.column_stack([np.ones(len(data)), data["treated"].to_numpy(float)])
    y = data["followup"].to_numpy(float)
    require_finite("post_only", y, "the followup outcome")
    s = outcome_scale(y)
    return _ols_treated(y / s, X, "post_only", n_t, n_c, scale=s, transform=transform)


def covariate_matrix(entities: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric design columns for ``covariates``: numbers as is, text one-hot (first level dropped)."""
    parts = []
    for cov in covariates:
        col = entities[cov]
        if pd.api.types.is_numeric_dtype(col):
            parts.append(col.astype(float).rename(cov))
        else:
            parts.append(pd.get_dummies(col.astype("str"), prefix=cov, drop_first=True, dtype=float))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=entities.index)


def ancova(entities: pd.DataFrame, *, covariates: Sequence[str] = (), transform: Literal["none", "log"] = "none") -> Estimate:
    """Regression adjustment: ``followup ~ treated + baseline [+ covariates]`` (OLS, HC1).

    Entities missing the baseline, the followup or a covariate are dropped
    (counted in ``details["n_dropped"]``).
    """
    data = entities.dropna(subset=["followup", "baseline", *covariates])
    n_dropped = len(entities) - len(data)
    n_t, n_c = int(data["treated"].sum()), int((~data["treated"]).sum())
    _require(n_t, n_c, "ancova")
    cov = covariate_matrix(data, covariates)
    cov = cov.loc[:, cov.std(ddof=0) > 0] if len(cov.columns) else cov
    y, base = data["followup"].to_numpy(float), data["baseline"].to_numpy(float)
    require_finite("ancova", np.concatenate([y, base]), "the baseline or followup outcome")
    s = outcome_scale(y, base)
    X = np.column_stack([np.ones(len(data)), data["treated"].to_numpy(float), base / s, cov.to_numpy(float)])
    est = _ols_treated(y / s, X, "ancova", n_t, n_c, scale=s, transform=transform)
    est.details.update({"n_dropped": n_dropped, "covariates": list(covariates)})
    return est


def _demean_two_way(values: np.ndarray, ent: np.ndarray, per: np.ndarray, n_ent: int, n_per: int, *, tol: float = 1e-13, max_iter: int = 10_000) -> np.ndarray:
    """Residualise columns on entity and period dummies by alternating projections.

    Exact in one pass for balanced panels; for unbalanced panels the
    iteration converges to the same projection the dummy regression makes.
    """
    out = values.astype(float).copy()
    cnt_e = np.bincount(ent, minlength=n_ent).astype(float)
    cnt_p = np.bincount(per, minlength=n_per).astype(float)
    for _ in range(max_iter):
        prev = out.copy()
        for idx, cnt, n in ((ent, cnt_e, n_ent), (per, cnt_p, n_per)):
            sums = np.zeros((n, out.shape[1]))
            np.add.at(sums, idx, out)
            out -= (sums / np.maximum(cnt, 1)[:, None])[idx]
        if np.max(np.abs(out - prev)) < tol * max(1.0, np.max(np.abs(out))):
            break
    return out


def twfe(obs: pd.DataFrame, regressors: Sequence[str], *, outcome: str = "value") -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Two-way fixed-effects OLS with standard errors clustered by entity.

    Parameters
    ----------
    obs : DataFrame
        Entity-period observations with columns ``entity_id``, ``pidx``
        (integer period), ``outcome`` and the ``regressors``.

    Returns
    -------
    params, cov : ndarray
        Coefficients of ``regressors`` and their CRV1 covariance clustered by
        entity, with the small-sample factor ``G/(G−1)·(N−1)/(N−K)`` of
        fixest (``ssc(fixef.K = "nested")``) and Stata ``xtreg, fe
        vce(cluster entity)``: ``K = len(regressors) + n_periods`` (the
        regressors, the period effects and the intercept); the entity
        effects, nested in the clusters, are not counted. Equal to
        ``pyfixest.feols("y ~ x | entity + period", vcov={"CRV1": "entity"})``.
    info : dict
        ``n_obs``, ``n_clusters``, ``df_resid``.
    """
    ent_codes, ent_uni = pd.factorize(obs["entity_id"], sort=True)
    per_codes, per_uni = pd.factorize(obs["pidx"], sort=True)
    n_ent, n_per = len(ent_uni), len(per_uni)
    cols = np.column_stack([obs[outcome].to_numpy(float)] + [obs[r].to_numpy(float) for r in regressors])
    dm = _demean_two_way(cols, ent_codes, per_codes, n_ent, n_per)
    y, X = dm[:, 0], dm[:, 1:]
    xtx_inv = np.linalg.pinv(X.T @ X)
    params = xtx_inv @ X.T @ y
    resid = y - X @ params
    scores = np.zeros((n_ent, X.shape[1]))
    np.add.at(scores, ent_codes, X * resid[:, None])
    meat = scores.T @ scores
    # fixest / Stata ``xtreg, fe vce(cluster)``: the entity effects are
    # nested in the entity clusters, so they are not counted in K (counting
    # them inflates a 2-period SE by about sqrt(2)); the period effects and
    # the intercept are.
    n, k = len(y), X.shape[1] + n_per
    g = n_ent
    factor = g / (g - 1) * (n - 1) / (n - k) if g > 1 and n > k else np.nan
    cov = xtx_inv @ meat @ xtx_inv * factor
    return params, cov, {"n_obs": n, "n_clusters": g, "df_resid": g - 1, "k": k}


def twfe_did(obs: pd.DataFrame, *, transform: Literal["none", "log"] = "none") -> Estimate:
    """Two-way fixed-effects DiD on observations of both windows.

    Parameters
    ----------
    obs : DataFrame
        Columns ``entity_id``, ``pidx``, ``value``, ``treated`` (bool) and
        ``post`` (bool: the observation is in the followup window).

    ``n_treated`` / ``n_comparison`` count the entities observed in both
    windows (the ones that identify the effect); at least 2 of each are needed.
    """
    data = obs.assign(treated_post=(obs["treated"] & obs["post"]).astype(float))
    by_ent = data.groupby("entity_id")
    ents = by_ent["treated"].first().astype(bool)
    # Only entities observed in both windows identify β; counting the others
    # would let a panel without any followup data pass as a precise zero
    # effect (treated × post is all zero) and inflate n for the ROI.
    both = by_ent["post"].any() & ~by_ent["post"].all()
    n_t, n_c = int((ents & both).sum()), int((~ents & both).sum())
    _require(n_t, n_c, "did")
    require_finite("did", data["value"], "the outcome")
    require_within_variation("did", data["value"], data["entity_id"])
    s = outcome_scale(data["value"])
    params, cov, info = twfe(data.assign(value=data["value"] / s), ["treated_post"])
    params, se = params * s, float(np.sqrt(cov[0, 0])) * s
    # Inference with G-1 degrees of freedom, as for cluster-robust t tests.
    return _from_normal(
        "did", float(params[0]), se, n_t, n_c, df=float(info["df_resid"]), transform=transform, magnitude=outcome_magnitude(data["value"]),
        details={"cov_type": "cluster(entity)", "n_obs": info["n_obs"], "n_clusters": info["n_clusters"]},
    )


def before_after(entities: pd.DataFrame, *, transform: Literal["none", "log"] = "none") -> Estimate:
    """Participants' mean change, followup minus baseline, with a paired t interval."""
    data = entities[entities["treated"]].dropna(subset=["baseline", "followup"])
    n_t = len(data)
    _require(n_t, None, "before_after")
    post, pre = data["followup"].to_numpy(float), data["baseline"].to_numpy(float)
    require_finite("before_after", np.concatenate([post, pre]), "the baseline or followup outcome")
    s = outcome_scale(post, pre)
    diff = post / s - pre / s
    require_variation("before_after", diff, "every participant's change (followup minus baseline)")
    se = float(diff.std(ddof=1) / np.sqrt(n_t)) * s
    return _from_normal("before_after", float(diff.mean()) * s, se, n_t, 0, df=float(n_t - 1), transform=transform, magnitude=outcome_magnitude(post, pre),
                        details={"paired_t": True})


def newey_west_lags(n: int) -> int:
    """Newey & West (1994) rule of thumb ``floor(4 (n/100)^(2/9))``, at least 1."""
    return max(1, int(np.floor(4 * (n / 100) ** (2 / 9))))


def trend_line(series: pd.DataFrame, *, n_treated: int, n_comparison: int = 0, transform: Literal["none", "log"] = "none") -> Estimate:
    """Segmented-regression (interrupted time series) effect on a mean series.

    Parameters
    ----------
    series : DataFrame
        One row per period with columns ``pidx`` (integer period), ``y``
        (the series) and ``post`` (bool; periods in neither window must be
        removed beforehand). At least 3 pre and 2 post periods.
    """
    s = series.sort_values("pidx")
    pre, post = s[~s["post"]], s[s["post"]]
    if len(pre) < 3 or len(post) < 2:
        raise InsufficientDataError(f"trend: {len(pre)} baseline and {len(post)} followup periods in the series (need at least 3 and 2)")
    _require(n_treated, None, "trend", min_treated=1)
    t0 = float(post["pidx"].min())
    t = s["pidx"].to_numpy(float)
    is_post = s["post"].to_numpy(float)
    X = np.column_stack([np.ones(len(s)), t, is_post, (t - t0) * is_post])
    lags = newey_west_lags(len(s))
    y = s["y"].to_numpy(float)
    require_finite("trend", y, "the mean outcome series")
    require_variation("trend", y, "the mean outcome series")
    k = outcome_scale(y)
    fit = OLS(y / k, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True})
    w = np.array([0.0, 0.0, 1.0, float((post["pidx"] - t0).mean())])
    est = float(w @ fit.params) * k
    se = float(np.sqrt(w @ fit.cov_params() @ w)) * k
    return _from_normal(
        "trend", est, se, n_treated, n_comparison, df=float(fit.df_resid), transform=transform, magnitude=outcome_magnitude(y),
        details={"cov_type": f"HAC(Newey-West, {lags} lags)", "n_pre_periods": len(pre), "n_post_periods": len(post),
                 "pre_slope": float(fit.params[1]) * k, "series": "participants minus comparison" if n_comparison else "participants"},
    )


def smd(treated: pd.Series, comparison: pd.Series) -> float:
    """Standardized mean difference ``(m_t − m_c) / sqrt((v_t + v_c) / 2)`` (sample variances)."""
    t, c = treated.dropna().astype(float), comparison.dropna().astype(float)
    if len(t) < 2 or len(c) < 2:
        return float("nan")
    pooled = np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
    if pooled == 0:
        return 0.0 if t.mean() == c.mean() else float("inf")
    return float((t.mean() - c.mean()) / pooled)


def smd_band(value: float) -> str:
    """What Works Clearinghouse band of an absolute SMD.

    ≤ 0.05: "satisfies" (groups equivalent); 0.05–0.25: "needs adjustment"
    (statistical adjustment required); > 0.25: "fails" (too different).
    """
    if not np.isfinite(value):
        return "unknown"
    a = abs(value)
    return "satisfies" if a <= 0.05 else ("needs adjustment" if a <= 0.25 else "fails")
