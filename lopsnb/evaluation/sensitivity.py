"""How sure are we? Sensitivity of the isolated effect to its identifying assumption.

Three families of figures, collected in ``results.sensitivity``:

Regression designs (``ancova``, ``post_only``, ``weighting``)
    Cinelli, C. & Hazlett, C. (2020), "Making sense of sensitivity:
    extending omitted variable bias", *JRSS B* 82(1), 39-67 — the
    formulas of the R package ``sensemakr``. From the **classical** OLS
    t-statistic ``t`` of ``treated`` and the residual degrees of freedom
    ``dof`` of the outcome regression (ANCOVA reports HC1 intervals, but the
    robustness value is defined from the classical t, as in sensemakr):

    * ``partial_r2`` = ``t² / (t² + dof)``: share of the outcome's residual
      variance explained by treatment — an unobserved confounder explaining
      all of the outcome's residual variance would need at least this much
      association with treatment to explain the effect away;
    * ``robustness_value`` (q = 1): the partial R² that a confounder would need
      with *both* treatment and outcome to bring the estimate to zero;
    * ``robustness_value_alpha`` (q = 1, α = 0.05): the same, to make the 95%
      interval include zero;
    * ``bounds``: for each observed covariate (a text covariate's dummies as
      one group; the baseline outcome for ANCOVA), a confounder ``kd`` = 1, 2,
      3 times as strongly related to treatment and outcome as that covariate
      (``ovb_partial_r2_bound``) and the estimate, standard error and
      interval it would leave (``reduce = TRUE``: the bias shrinks the effect
      towards zero).

    For ``weighting`` the regression is the outcome regression on the same
    covariates (and the baseline outcome when present), unweighted.

DiD and staggered event studies
    Rambachan, A. & Roth, J. (2023), "A more credible approach to parallel
    trends", *Review of Economic Studies* 90(5), 2555-2591: relative-magnitudes
    restriction Δ^RM(M̄) — each post-period change of the parallel-trends
    violation is at most M̄ times the largest change between consecutive
    pre-periods. Robust 95% intervals by the conditional least-favourable
    hybrid test (``method = "C-LF"``, α = 0.05) from ``moderndid`` (a port of
    the authors' R package ``HonestDiD``, checked against its published
    example in the tests) over the grid ``MBAR_GRID``, for the first
    post-period effect (HonestDiD's default ``l_vec``) or the average of the
    post-period effects. ``breakdown_mbar`` is the largest grid M̄ up to which
    every interval excludes zero (``None`` when even M̄ = 0 does not).

    The event study used: for the TWFE ``did`` design lopsnb's panel event
    study (treated × period dummies on entity and period fixed effects,
    reference = last baseline period, standard errors clustered by entity, as
    ``results.event_study``); for staggered adoption a Callaway–Sant'Anna
    dynamic aggregation with a **universal** base period (``g - 1`` for every
    cell; :func:`universal_event_study`). Δ^RM needs at least one pre-period
    coefficient, and HonestDiD's implementation two (at least 3 baseline
    periods); with fewer (common with few, long periods) ``honest_did`` is
    ``None`` with the reason (the pre-trend power needs only 2). Periods are
    taken as consecutive: with a gap between the windows the first followup
    period counts as the period right after the reference.

    ``pretrend_power`` (Roth, J. 2022, "Pretest with caution: event-study
    estimates after testing for parallel trends", *AER: Insights* 4(3),
    305-322; R package ``pretrends``): the slopes of a linear violation
    ``δ_t = slope × (t − reference)`` that the usual pre-test (reject when any
    pre-period coefficient is individually significant at 5%) detects with
    50% and 80% probability, and the bias such a trend would put on the first
    post-period effect.

Money
    ``break_even_bias``: the bias of the estimate (outcome units per entity
    per period, and % of the effect) that — subtracted from the estimate and
    its interval — makes the conservative (GP4) ROI zero, from
    :func:`lopsnb.evaluation.roi.break_even_effect`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.regression.linear_model import OLS

from lopsnb._memo import digest, memoized
from lopsnb._result import jsonable
from lopsnb._version import __version__
from lopsnb.errors import EvaluationError, InsufficientDataError
from lopsnb.evaluation.methods import Estimate, covariate_matrix, twfe
from lopsnb.evaluation.roi import RoiResult, break_even_effect

__all__ = [
    "MBAR_GRID",
    "RV_ALPHA_STRONG",
    "BREAKDOWN_STRONG",
    "HONEST_MAX_WORK",
    "Sensitivity",
    "partial_r2",
    "robustness_value",
    "ovb_partial_r2_bound",
    "adjusted_effect",
    "regression_sensitivity",
    "honest_did",
    "rejection_probability",
    "slope_for_power",
    "pretrend_power",
    "twfe_event_study",
    "universal_event_study",
    "break_even_bias",
    "sensitivity_for",
]

#: M̄ values of the relative-magnitudes grid (0 = exact parallel trends after treatment).
MBAR_GRID: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
#: Evidence rule: *strong* for a regression design needs RV(q=1, α=0.05) at least this.
RV_ALPHA_STRONG = 0.05
#: Evidence rule: *strong* for a DiD design needs a breakdown M̄ at least this.
BREAKDOWN_STRONG = 1.0
#: Runtime guard of the default Rambachan–Roth computation: ``2 (n_pre − 1) × n_post`` (polyhedra of Δ^RM times
#: post-period coefficients) above this is skipped with a note (the sample's 5 pre / 6 post = 48 takes about
#: a minute on a loaded 2-core machine; 15 pre / 14 post several minutes, beyond a report cell's time limit).
HONEST_MAX_WORK = 60

REGRESSION_DESIGNS = frozenset({"ancova", "post_only", "weighting"})


@dataclass(kw_only=True)
class Sensitivity:
    """The ``results.sensitivity`` section: how wrong the assumption must be to erase the effect.

    Attributes
    ----------
    design : str
        Primary design the figures refer to.
    regression : dict or None
        Cinelli–Hazlett figures (regression designs), see :func:`regression_sensitivity`.
    honest_did : dict or None
        Rambachan–Roth grid and breakdown M̄ (DiD designs), see :func:`honest_did`.
    pretrend_power : dict or None
        Roth (2022) slopes for 50% / 80% pre-test power, see :func:`pretrend_power`.
    break_even_bias : dict or None
        Bias that turns the conservative ROI negative, see :func:`break_even_bias`.
    notes : list of str
        Why a figure is missing, and conventions that matter to the reader.
    """

    design: str
    regression: dict[str, Any] | None = None
    honest_did: dict[str, Any] | None = None
    pretrend_power: dict[str, Any] | None = None
    break_even_bias: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable figures (the ``results.sensitivity`` entry)."""
        return jsonable(
            {
                "design": self.design,
                "regression": self.regression,
                "honest_did": self.honest_did,
                "pretrend_power": self.pretrend_power,
                "break_even_bias": self.break_even_bias,
                "notes": list(self.notes),
            }
        )


# --------------------------------------------------------------------------- Cinelli & Hazlett


def partial_r2(t_statistic: float, dof: float) -> float:
    """Partial R² of a regressor from its t-statistic: ``t² / (t² + dof)``."""
    return float(t_statistic**2 / (t_statistic**2 + dof))


def robustness_value(t_statistic: float, dof: float, *, q: float = 1.0, alpha: float | None = None) -> float:
    """Cinelli & Hazlett (2020) robustness value RV_q (α None) or RV_{q,α}, as a fraction.

    Follows ``sensemakr::robustness_value``: ``f_q = q|t|/sqrt(dof)``; with α,
    ``f_q`` is reduced by ``f* = |t_{α/2, dof−1}| / sqrt(dof−1)``;
    ``RV = ½(sqrt(f⁴ + 4f²) − f²)`` when the bound binds, the extreme
    robustness value ``(f_q² − f*²)/(1 + f_q²)`` when ``f_q > 1/f*``, and 0
    when ``f_q <= f*``.
    """
    if not dof > 1:
        raise InsufficientDataError(f"robustness value: {dof} residual degrees of freedom (need more than 1)")
    fq = q * abs(t_statistic) / np.sqrt(dof)
    f_crit = abs(stats.t.ppf(alpha / 2, dof - 1)) / np.sqrt(dof - 1) if alpha is not None else 0.0
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    if alpha is not None and fq > 1 / f_crit:
        return float((fq**2 - f_crit**2) / (1 + fq**2))
    # Stable form of 0.5 (sqrt(f^4 + 4 f^2) - f^2), as sensemakr.
    return float(2 / (1 + np.sqrt(1 + 4 / fqa**2)))


def ovb_partial_r2_bound(r2dxj_x: float, r2yxj_dx: float, *, kd: float = 1.0, ky: float | None = None) -> tuple[float, float] | None:
    """Partial R² of a confounder ``kd`` (``ky``) times as strong as a benchmark covariate.

    Cinelli & Hazlett (2020), Section 6.1 (``sensemakr::ovb_partial_r2_bound``).

    Parameters
    ----------
    r2dxj_x : float
        Partial R² of the benchmark with treatment, given the other covariates.
    r2yxj_dx : float
        Partial R² of the benchmark with the outcome, given treatment and the
        other covariates.

    Returns
    -------
    (r2dz_x, r2yz_dx) or None
        Bounds on the confounder's partial R² with treatment and outcome;
        None when ``kd`` is impossible (the implied R² reaches 1).
    """
    ky = kd if ky is None else ky
    r2dz_x = kd * r2dxj_x / (1 - r2dxj_x)
    if r2dz_x >= 1:
        return None
    r2zxj_xd = kd * r2dxj_x**2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    if r2zxj_xd >= 1:
        return None
    r2yz_dx = ((np.sqrt(ky) + np.sqrt(r2zxj_xd)) / np.sqrt(1 - r2zxj_xd)) ** 2 * (r2yxj_dx / (1 - r2yxj_dx))
    return float(r2dz_x), float(min(r2yz_dx, 1.0))


def adjusted_effect(estimate: float, se: float, dof: float, r2dz_x: float, r2yz_dx: float, *, alpha: float = 0.05) -> dict[str, float]:
    """Estimate, SE, t and interval after removing a confounder's bias towards zero (``reduce = TRUE``)."""
    bias = np.sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x)) * se * np.sqrt(dof)
    adj = float(np.sign(estimate) * (abs(estimate) - bias))
    adj_se = float(np.sqrt((1 - r2yz_dx) / (1 - r2dz_x)) * se * np.sqrt(dof / (dof - 1)))
    q = float(stats.t.ppf(1 - alpha / 2, dof))  # sensemakr: t quantile with dof, SE with dof − 1
    return {"adjusted_estimate": adj, "adjusted_se": adj_se, "adjusted_t": adj / adj_se if adj_se > 0 else float("nan"),
            "adjusted_ci_low": adj - q * adj_se, "adjusted_ci_high": adj + q * adj_se}


def _ols_t(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Classical OLS by QR: coefficients, t-statistics, residual dof and residual sum of squares."""
    q, r = np.linalg.qr(X)
    beta = np.linalg.solve(r, q.T @ y)
    resid = y - X @ beta
    dof = float(X.shape[0] - X.shape[1])
    ssr = float(resid @ resid)
    r_inv = np.linalg.solve(r, np.eye(r.shape[0]))
    se = np.sqrt(ssr / dof * np.sum(r_inv**2, axis=1))
    return beta, beta / se, dof, ssr


def _partial_r2_of(y: np.ndarray, X: np.ndarray, cols: Sequence[int], t_values: np.ndarray, dof: float, ssr: float) -> float:
    """Partial R² of columns ``cols`` of X with y given the others: from the t-statistic (one column) or the RSS (a group)."""
    if len(cols) == 1:
        return partial_r2(float(t_values[cols[0]]), dof)
    restricted = _ols_t(y, np.delete(X, list(cols), axis=1))[3]
    return float(1 - ssr / restricted)


def regression_sensitivity(y: np.ndarray, X: np.ndarray, *, treatment: int = 1, benchmarks: Mapping[str, Sequence[int]] | None = None,
                           kd: Sequence[float] = (1, 2, 3), alpha: float = 0.05) -> dict[str, Any]:
    """Cinelli–Hazlett sensitivity of the coefficient of column ``treatment`` in OLS ``y ~ X``.

    Parameters
    ----------
    y, X : ndarray
        Outcome and design matrix (with the intercept column).
    treatment : int
        Column of X holding the treatment indicator.
    benchmarks : mapping of str to column indices
        Observed covariates to benchmark a confounder against (several
        columns = one group, e.g. a text covariate's dummies).
    kd : sequence of float
        Multiples of each benchmark's strength (``ky = kd``).

    Returns
    -------
    dict
        ``estimate, std_error_classical, t_statistic, dof, partial_r2,
        robustness_value, robustness_value_alpha, q, alpha, bounds`` (list of
        ``benchmark, kd, r2dz_x, r2yz_dx, adjusted_*, explains_away``).
    """
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise InsufficientDataError("sensitivity: the outcome regression has collinear columns")
    fit = OLS(y, X).fit()
    est, se, t, dof = float(fit.params[treatment]), float(fit.bse[treatment]), float(fit.tvalues[treatment]), float(fit.df_resid)
    out: dict[str, Any] = {
        "estimate": est, "std_error_classical": se, "t_statistic": t, "dof": dof, "q": 1.0, "alpha": alpha,
        "partial_r2": partial_r2(t, dof),
        "robustness_value": robustness_value(t, dof),
        "robustness_value_alpha": robustness_value(t, dof, alpha=alpha),
        "bounds": [],
    }
    d = X[:, treatment]
    X_d = np.delete(X, treatment, axis=1)
    _, t_y, dof_y, ssr_y = _ols_t(y, X)
    _, t_d, dof_d, ssr_d = _ols_t(d, X_d) if benchmarks else (None, None, 0.0, 0.0)
    for name, cols in (benchmarks or {}).items():
        # Column positions in X without the treatment column (for D ~ X).
        cols_d = [c - (c > treatment) for c in cols]
        r2dxj = _partial_r2_of(d, X_d, cols_d, t_d, dof_d, ssr_d)  # type: ignore[arg-type]
        r2yxj = _partial_r2_of(y, X, cols, t_y, dof_y, ssr_y)
        for k in kd:
            bound = ovb_partial_r2_bound(r2dxj, r2yxj, kd=k)
            row: dict[str, Any] = {"benchmark": name, "kd": float(k), "r2dxj_x": r2dxj, "r2yxj_dx": r2yxj}
            if bound is None:
                row.update({"r2dz_x": None, "r2yz_dx": None, "possible": False, "capped": False, "explains_away": None})
            else:
                adj = adjusted_effect(est, se, dof, *bound, alpha=alpha)
                # capped: the implied R² with the outcome reached 1 (sensemakr sets it to 1 and warns); the
                # adjusted SE is then 0 and the interval degenerate.
                row.update({"r2dz_x": bound[0], "r2yz_dx": bound[1], "possible": True, "capped": bound[1] >= 1, **adj,
                            "explains_away": bool(adj["adjusted_ci_low"] <= 0 <= adj["adjusted_ci_high"])})
            out["bounds"].append(row)
    return out


def _regression_design(entities: pd.DataFrame, design: str, covariates: Sequence[str]) -> tuple[np.ndarray, np.ndarray, dict[str, list[int]]]:
    """The outcome regression of a design (same rows and columns as :mod:`~lopsnb.evaluation.methods`) and its benchmarks."""
    use_baseline = design == "ancova" or (design == "weighting" and entities["baseline"].notna().any())
    covs = list(covariates) if design != "post_only" else []
    need = ["followup", *(["baseline"] if use_baseline else []), *covs]
    data = entities.dropna(subset=need)
    cov = covariate_matrix(data, covs)
    cov = cov.loc[:, cov.std(ddof=0) > 0] if len(cov.columns) else cov
    parts = [np.ones(len(data)), data["treated"].to_numpy(float)]
    benchmarks: dict[str, list[int]] = {}
    if use_baseline:
        benchmarks["baseline outcome"] = [len(parts)]
        parts.append(data["baseline"].to_numpy(float))
    for name in covs:
        idx = [i for i, c in enumerate(cov.columns) if c == name or str(c).startswith(f"{name}_")]
        if idx:
            benchmarks[name] = [len(parts) + i for i in idx]
    X = np.column_stack(parts + ([cov.to_numpy(float)] if len(cov.columns) else []))
    return data["followup"].to_numpy(float), X, benchmarks


# --------------------------------------------------------------------------- Rambachan & Roth


def honest_did(beta: np.ndarray, sigma: np.ndarray, *, n_pre: int, n_post: int, mbar: Sequence[float] = MBAR_GRID,
               target: Literal["first", "average"] = "first", alpha: float = 0.05, grid_points: int = 1000) -> dict[str, Any]:
    """Rambachan–Roth relative-magnitudes robust intervals over a grid of M̄ (C-LF hybrid).

    Parameters
    ----------
    beta, sigma : ndarray
        Event-study coefficients (pre-periods first, oldest first, reference
        period omitted; then post-periods) and their covariance.
    n_pre, n_post : int
        Number of pre- and post-period coefficients (``n_pre >= 2``, as
        HonestDiD's relative magnitudes).
    mbar : sequence of float
        Grid of M̄ (ascending).
    target : {"first", "average"}
        First post-period effect (HonestDiD's default ``l_vec``) or the
        average of the post-period effects (``l_vec = 1/n_post``).
    grid_points : int
        Points of the test-inversion grid (HonestDiD's default 1000); the
        interval ends are exact up to about ``40 SE / grid_points``.

    Returns
    -------
    dict
        ``grid`` (rows ``mbar, ci_low, ci_high``), ``breakdown_mbar``,
        ``target``, ``method`` ("C-LF"), ``alpha``, ``n_pre``, ``n_post``,
        ``estimate`` (``l_vec'beta_post``) and ``original_ci``.
    """
    beta = np.asarray(beta, dtype=float).ravel()
    sigma = np.asarray(sigma, dtype=float)
    if n_pre < 2 or n_post < 1 or beta.size != n_pre + n_post or sigma.shape != (beta.size, beta.size):
        # HonestDiD / moderndid: Δ^RM bounds post-period changes by pre-period *changes*, so it needs 2 pre coefficients.
        raise InsufficientDataError(
            f"honest_did: needs at least 2 pre-period coefficients (3 baseline periods) and 1 post-period one with a matching covariance; "
            f"found {n_pre} pre, {n_post} post, {beta.size} coefficients, covariance {sigma.shape}"
        )
    if not np.all(np.isfinite(sigma)) or np.any(np.diag(sigma) <= 0):
        raise InsufficientDataError("honest_did: the event-study covariance has undefined or zero variances")
    l_vec = np.zeros(n_post)
    if target == "first":
        l_vec[0] = 1.0
    else:
        l_vec[:] = 1.0 / n_post
    mbars = [float(m) for m in mbar]

    def compute() -> pd.DataFrame:
        # Imported here: moderndid loads polars/pyarrow (seconds), needed only for DiD sensitivity.
        from moderndid import create_sensitivity_results_rm

        from lopsnb.evaluation.honest_fast import fast_lf_cv

        # fast_lf_cv: the same least-favourable critical value as one LP instead of 1000 (honest_fast).
        with fast_lf_cv():
            res = create_sensitivity_results_rm(betahat=beta, sigma=sigma, num_pre_periods=n_pre, num_post_periods=n_post,
                                                m_bar_vec=mbars, l_vec=l_vec, alpha=alpha, grid_points=grid_points, method="C-LF")
        return res.to_pandas() if hasattr(res, "to_pandas") else pd.DataFrame(res)

    # In a batch the operations page evaluates every program again: the same
    # inputs (to the bit) give the stored intervals instead (lopsnb._memo).
    key = digest([__version__, beta.tobytes(), sigma.tobytes(), repr(sigma.shape), repr((n_pre, n_post, mbars, l_vec.tolist(), alpha, grid_points))])
    frame = memoized("honest", key, compute)
    grid = pd.DataFrame({"mbar": frame["Mbar"].astype(float), "ci_low": frame["lb"].astype(float), "ci_high": frame["ub"].astype(float)})
    grid = grid.sort_values("mbar").reset_index(drop=True)
    est = float(l_vec @ beta[n_pre:])
    se = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return {"grid": grid, "breakdown_mbar": _breakdown(grid), "target": target, "method": "C-LF", "alpha": alpha,
            "n_pre": n_pre, "n_post": n_post, "estimate": est, "original_ci": [est - z * se, est + z * se]}


def _breakdown(grid: pd.DataFrame) -> float | None:
    """Largest M̄ up to which every interval excludes zero; None when the first (smallest) does not."""
    best = None
    for row in grid.itertuples():
        if row.ci_low > 0 or row.ci_high < 0:
            best = float(row.mbar)
        else:
            break
    return best


def rejection_probability(beta_pre: np.ndarray, sigma_pre: np.ndarray, *, alpha: float = 0.05) -> float:
    """Probability that some pre-period coefficient is individually significant (``pretrends::rejectionProbability_NIS``)."""
    beta_pre = np.asarray(beta_pre, dtype=float).ravel()
    sigma_pre = np.atleast_2d(np.asarray(sigma_pre, dtype=float))
    ub = np.sqrt(np.diag(sigma_pre)) * stats.norm.ppf(1 - alpha / 2)
    if beta_pre.size == 1:
        sd = float(np.sqrt(sigma_pre[0, 0]))
        accept = stats.norm.cdf(ub[0], beta_pre[0], sd) - stats.norm.cdf(-ub[0], beta_pre[0], sd)
    else:
        # Genz's quasi-Monte Carlo integration; fixed seed and tight tolerance so the root below is reproducible.
        mvn = stats.multivariate_normal(mean=beta_pre, cov=sigma_pre, allow_singular=True, abseps=1e-5, releps=0,
                                        maxpts=10_000 * beta_pre.size, seed=np.random.default_rng(0))
        accept = mvn.cdf(ub, lower_limit=-ub)
    return float(1 - accept)


def slope_for_power(sigma_pre: np.ndarray, relative_periods: Sequence[float], *, power: float = 0.5, alpha: float = 0.05) -> float:
    """Slope of a linear violation ``slope × relative_period`` the pre-test detects with probability ``power``.

    As ``pretrends::slope_for_power``: root of ``power(slope) − target`` on
    ``[0, 8 max SE]``; a magnitude (always positive).
    """
    sigma_pre = np.atleast_2d(np.asarray(sigma_pre, dtype=float))
    rel = np.asarray(relative_periods, dtype=float)
    upper = 8 * float(np.sqrt(np.diag(sigma_pre)).max())

    def gap(slope: float) -> float:
        return rejection_probability(rel * slope, sigma_pre, alpha=alpha) - power

    while gap(upper) < 0:  # very flat relative periods: widen until the pre-test has the power
        upper *= 2
    return float(optimize.brentq(gap, 0.0, upper, xtol=1e-9 * upper))


def pretrend_power(beta: np.ndarray, sigma: np.ndarray, relative_periods: Sequence[int], *, alpha: float = 0.05) -> dict[str, Any]:
    """Roth (2022) power of the pre-test against linear violations of parallel trends.

    Parameters
    ----------
    beta, sigma : ndarray
        Event-study coefficients and covariance (reference period omitted).
    relative_periods : sequence of int
        Period of each coefficient relative to the reference period
        (negative = pre-period, 1 = first period after the reference).

    Returns
    -------
    dict
        ``slope_50``, ``slope_80`` (outcome units per period), ``bias_first_post_50`` /
        ``_80`` (the trend's bias on the first post-period coefficient,
        ``slope × its relative period``), ``n_pre``, ``test``.
    """
    rel = np.asarray(relative_periods, dtype=float)
    pre = rel < 0
    if not pre.any():
        raise InsufficientDataError("pretrend_power: no pre-period coefficient (needs at least 2 baseline periods)")
    sigma_pre = np.asarray(sigma, dtype=float)[np.ix_(pre, pre)]
    post = np.flatnonzero(~pre)
    first = int(post[np.argmin(rel[post])]) if post.size else None
    first_post = float(rel[first]) if first is not None else float("nan")
    out: dict[str, Any] = {"n_pre": int(pre.sum()), "alpha": alpha,
                           "test": "any pre-period coefficient significant at the 5% level (Roth 2022)"}
    for p in (50, 80):
        slope = slope_for_power(sigma_pre, rel[pre], power=p / 100, alpha=alpha)
        out[f"slope_{p}"] = slope
        out[f"bias_first_post_{p}"] = slope * first_post
    if first is not None:
        est, se = float(np.ravel(beta)[first]), float(np.sqrt(np.asarray(sigma, dtype=float)[first, first]))
        margin = abs(est) - stats.norm.ppf(1 - alpha / 2) * se
        out.update({"first_post_estimate": est, "first_post_std_error": se,
                    # The trend the pre-test detects 80% of the time, extrapolated to the first post period,
                    # is smaller than the distance of the interval from zero: it would not explain the effect away.
                    "survives_80": bool(margin > out["bias_first_post_80"])})
    return out


def twfe_event_study(obs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lopsnb's panel event study with its covariance (same specification as ``results.event_study``).

    Treated × period dummies for every period of both windows except the last
    baseline period (reference), entity and period fixed effects, standard
    errors clustered by entity (:func:`lopsnb.evaluation.methods.twfe`).

    Returns
    -------
    relative_periods, beta, sigma : ndarray
        Periods relative to the reference (..., -2, -1 for pre-periods; 1, 2,
        ... counted in event-study positions for the followup periods),
        coefficients and clustered covariance.
    """
    data = obs.dropna(subset=["window"])
    base = sorted(data.loc[data["window"] == "baseline", "pidx"].unique())
    follow = sorted(data.loc[data["window"] != "baseline", "pidx"].unique())
    if len(base) < 2:
        raise InsufficientDataError(f"honest_did: {len(base)} baseline period(s); relative magnitudes need at least 2 (one pre-period coefficient)")
    if not follow:
        raise InsufficientDataError("honest_did: no followup period")
    ref = base[-1]
    periods = base[:-1] + follow
    data = data.copy()
    names = []
    for p in periods:
        names.append(f"tp_{p}")
        data[names[-1]] = ((data["pidx"] == p) & data["treated"]).astype(float)
    params, cov, _ = twfe(data, names)
    rel = np.array([i - (len(base) - 1) for i in range(len(base) - 1)] + list(range(1, len(follow) + 1)), dtype=float)
    return rel, np.asarray(params, dtype=float), np.asarray(cov, dtype=float)


def universal_event_study(panel: pd.DataFrame, *, entity: str = "entity_id", period: str = "pidx", outcome: str = "value",
                          cohort: str = "cohort", control_group: str = "never_treated") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Callaway–Sant'Anna dynamic aggregation ATT(e) with a universal base period.

    Every ATT(g, t) compares ``Y_t − Y_{g−1}`` of cohort g with its comparison
    group (never treated, or not yet treated in ``t`` and ``g − 1``), so the
    pre-period ATT(e), ``e <= −2``, are long differences to the same base as
    the effects (``did::att_gt(base_period = "universal")``), as relative
    magnitudes require; e = −1 is the reference (0 by construction, omitted).
    ATT(e) averages the cells by cohort size with the weights' influence
    function, as :func:`lopsnb.evaluation.staggered.callaway_santanna`.

    Returns
    -------
    relative_periods, beta, sigma : ndarray
        Event times relative to the reference (e + 1: pre-periods negative,
        e = 0 → 1), ATT(e) and their influence-function covariance.
    """
    from lopsnb.evaluation.staggered import callaway_santanna

    res = callaway_santanna(panel, entity=entity, period=period, outcome=outcome, cohort=cohort,
                            control_group=control_group, base_period="universal")  # type: ignore[arg-type]
    return _event_arrays(res)


def _event_arrays(res: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event times (shifted so e = -1 is 0 and e = 0 is 1), ATT(e) and covariance, without the reference row."""
    es = res.event_study
    keep = (es["kind"] != "reference").to_numpy()
    if not keep.any():
        raise InsufficientDataError("universal event study: no cohort with a comparison group")
    events = es["relative_period"].to_numpy(dtype=float)[keep]
    beta = es["estimate"].to_numpy(dtype=float)[keep]
    sigma = np.asarray(res.event_vcov, dtype=float)[np.ix_(keep, keep)]
    # Shift so the reference (e = -1) is 0 and the first effect (e = 0) is 1, as the TWFE event study.
    return events + 1, beta, sigma


# --------------------------------------------------------------------------- money


def break_even_bias(primary: Estimate, roi: RoiResult, *, value_per_unit: float, periods_per_year: float, horizon_years: float,
                    direction: Literal["increase", "decrease"], value_range: Sequence[float] | None = None) -> dict[str, Any]:
    """Bias of the estimate that would turn the conservative (GP4) ROI to zero.

    The conservative ROI values the effect at its least favourable interval
    bound (``ci_low`` for an ``increase`` outcome, ``ci_high`` for a
    ``decrease``) at the least favourable unit value. If the estimate (and its
    interval) overstated the effect by ``b``, the conservative ROI would be
    zero at ``b = bound − break_even_effect(cost, least favourable value)``.

    Returns
    -------
    dict
        ``bias`` (outcome units per entity per period, direction-signed: the
        amount by which the estimate would have to be too favourable; <= 0
        when the conservative ROI is already negative), ``pct_of_effect``
        (``|bias| / |estimate| × 100``), ``bias_point`` (the same for the
        point ROI), ``bound``, ``break_even_effect``.
    """
    if primary.transform != "none":
        raise EvaluationError("break_even_bias: only for outcomes in units (transform: none); log outcomes are not converted")
    sign = 1.0 if direction == "increase" else -1.0
    bound = primary.ci_low if direction == "increase" else primary.ci_high
    value = value_per_unit
    if value_range is not None:
        # As phillips_roi: the low unit value is least favourable for a gain, the high one for a loss.
        value = float(value_range[0]) if sign * bound >= 0 else float(value_range[1])
    kw = {"periods_per_year": periods_per_year, "n_entities": primary.n_treated, "horizon_years": horizon_years, "direction": direction}
    be_cons = break_even_effect(roi.costs, value_per_unit=value, **kw)
    be_point = break_even_effect(roi.costs, value_per_unit=value_per_unit, **kw)
    if be_cons is None or be_point is None:
        raise InsufficientDataError("break_even_bias: the monetisation factor is 0 (no effect pays back the costs)")
    bias = sign * (bound - be_cons)
    bias_point = sign * (primary.estimate - be_point)
    pct = abs(bias) / abs(primary.estimate) * 100 if primary.estimate != 0 else float("nan")
    return {"bias": bias, "pct_of_effect": pct if bias > 0 else 0.0, "bias_point": bias_point,
            "pct_of_effect_point": abs(bias_point) / abs(primary.estimate) * 100 if primary.estimate != 0 and bias_point > 0 else 0.0,
            "bound": bound, "break_even_effect": be_cons, "conservative_roi_negative_already": bool(bias <= 0)}


# --------------------------------------------------------------------------- orchestration


def _did_event_study(panel: Any, impact: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if impact.staggered is not None:
        from lopsnb.evaluation.covariate_designs import staggered_estimate

        # The same comparison group and covariates as the primary estimate, with a universal base period.
        est, res = staggered_estimate(panel, base_period="universal")
        control = est.details["control_group"]
        rel, beta, sigma = _event_arrays(res)
        return rel, beta, sigma, f"Callaway-Sant'Anna event study, universal base period, {control.replace('_', ' ')} comparison"
    rel, beta, sigma = twfe_event_study(panel.obs)
    return rel, beta, sigma, "TWFE event study, reference = last baseline period, clustered by entity"


def _within_honest_budget(beta: np.ndarray, sigma: np.ndarray, n_pre: int,
                          n_post: int) -> tuple[np.ndarray, np.ndarray, int, int, str | None]:
    """Event-study coefficients the default Rambachan–Roth run uses, within ``HONEST_MAX_WORK``.

    The target is the first post-period effect. Under Δ^RM the later
    post-period effects τ_t are unrestricted, so their coefficients do not
    narrow the identified set of τ_1; they enter only through their
    correlation with the others. Keeping the first two post-period
    coefficients (moderndid 0.2's single-post-period branch fails, so not one)
    leaves the intervals unchanged to the test-inversion grid's resolution
    (checked on a 4-pre / 4-post example: every bound within 4e-4 of the
    full run, one grid step). If the work is still above the guard, the oldest
    pre-period coefficients are dropped: the bound then rests on the changes
    between the most recent baseline periods only, which the note says.

    Returns
    -------
    tuple
        ``beta, sigma, n_pre, n_post`` to use and the note describing the
        reduction (None when nothing was dropped).
    """
    def work(pre: int, post: int) -> int:
        return 2 * (pre - 1) * post

    if work(n_pre, n_post) <= HONEST_MAX_WORK:
        return beta, sigma, n_pre, n_post, None
    post_used = min(n_post, 2)
    pre_used = n_pre
    if work(pre_used, post_used) > HONEST_MAX_WORK:
        pre_used = max(2, HONEST_MAX_WORK // (2 * post_used) + 1)
    keep = np.r_[np.arange(n_pre - pre_used, n_pre), np.arange(n_pre, n_pre + post_used)]
    parts = []
    if post_used < n_post:
        parts.append(f"the first {post_used} of {n_post} post-period coefficients (the later ones do not restrict "
                     "the first post-period effect under relative magnitudes)")
    if pre_used < n_pre:
        parts.append(f"the most recent {pre_used} of {n_pre} pre-period coefficients (M̄ is then relative to the largest "
                     "change between those baseline periods only)")
    note = (f"Rambachan-Roth robust intervals use {' and '.join(parts)}: the full event study "
            f"(2 x (pre - 1) x post = {work(n_pre, n_post)} > HONEST_MAX_WORK = {HONEST_MAX_WORK}) would take minutes; "
            "call lopsnb.evaluation.sensitivity.honest_did on the full event study to compute it.")
    return beta[keep], sigma[np.ix_(keep, keep)], pre_used, post_used, note


def _did_sensitivity(out: Sensitivity, panel: Any, impact: Any, grid_points: int, robust_did: bool) -> None:
    try:
        rel, beta, sigma, label = _did_event_study(panel, impact)
        pre = rel < 0
        if not pre.any():
            raise InsufficientDataError("honest_did: no pre-period coefficient (needs at least 2 periods before completion)")
        out.pretrend_power = dict(pretrend_power(beta, sigma, rel), event_study=label)
        if not robust_did:
            out.notes.append("Rambachan-Roth robust intervals not computed (robust_did=False).")
            return
        n_pre, n_post = int(pre.sum()), int((~pre).sum())
        beta, sigma, n_pre, n_post, reduced = _within_honest_budget(beta, sigma, n_pre, n_post)
        if reduced:
            out.notes.append(reduced)
        hd = honest_did(beta, sigma, n_pre=n_pre, n_post=n_post, grid_points=grid_points)
        hd["event_study"] = label
        hd["reduced"] = reduced
        out.honest_did = hd
    except (InsufficientDataError, EvaluationError, np.linalg.LinAlgError, ValueError) as exc:
        out.notes.append(f"Parallel-trends sensitivity not computed: {exc}")


def sensitivity_for(program: Any, impact: Any, panel: Any, roi: RoiResult | None, *, robust_did: bool = True,
                    grid_points: int = 1000) -> Sensitivity:
    """Sensitivity figures of a program's primary estimate (what ``evaluate`` stores in ``results.sensitivity``).

    Parameters
    ----------
    program : Program
    impact : ImpactResult
    panel : ImpactPanel or None
    roi : RoiResult or None
    robust_did : bool
        Compute the Rambachan–Roth intervals (:func:`honest_did`) for DiD
        designs (default). The C-LF test inversion solves hundreds of linear
        programs per M̄ and polyhedron of Δ^RM (seconds, up to about a minute
        with many pre- and post-periods); the pre-trend power is always
        computed.
    grid_points : int
        Test-inversion grid of :func:`honest_did`.
    """
    design = program.evaluation.design
    out = Sensitivity(design=design)
    primary = impact.primary if impact else None
    if primary is None or panel is None:
        out.notes.append("No primary estimate: nothing to assess.")
        return out
    if design in REGRESSION_DESIGNS:
        try:
            y, X, bench = _regression_design(panel.entities, design, program.evaluation.covariates)
            out.regression = regression_sensitivity(y, X, benchmarks=bench)
            if design == "ancova":
                out.notes.append("Robustness values use the classical OLS t-statistic (as sensemakr); the ANCOVA interval uses HC1 standard errors.")
            if design == "weighting":
                out.notes.append("Robustness values are those of the unweighted outcome regression on the same covariates.")
        except (InsufficientDataError, EvaluationError, np.linalg.LinAlgError, ValueError) as exc:
            out.notes.append(f"Omitted-variable sensitivity not computed: {exc}")
    elif design == "did":
        _did_sensitivity(out, panel, impact, grid_points, robust_did)
    m = program.monetization
    if roi is not None and m is not None and roi.costs > 0:
        try:
            out.break_even_bias = break_even_bias(primary, roi, value_per_unit=m.value_per_unit, periods_per_year=m.periods_per_year,
                                                  horizon_years=m.horizon_years, direction=program.direction,
                                                  value_range=tuple(m.value_range) if m.value_range else None)
        except (InsufficientDataError, EvaluationError) as exc:
            out.notes.append(f"Break-even bias not computed: {exc}")
    return out
