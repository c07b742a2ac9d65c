"""Doubly robust and weighting estimators of the ATT (Sant'Anna & Zhao, 2020).

All estimators take one row per entity: the outcome change ``dy`` (followup
minus baseline for panel DiD; the followup level itself for the
cross-sectional ``weighting`` design), the participation indicator ``d``
and a covariate matrix ``x`` **whose first column is the intercept**. They
estimate the average treatment effect on the treated (ATT).

``dr_did`` (``estimator="traditional"``)
    Locally efficient doubly robust DiD of Sant'Anna, P. H. C. & Zhao, J.
    (2020), "Doubly robust difference-in-differences estimators", *Journal of
    Econometrics* 219(1), 101-122, eq. (3.1): logistic propensity score by
    maximum likelihood and a linear outcome regression of ``dy`` on ``x``
    among comparison entities; consistent when either model is right. As R
    ``DRDID::drdid_panel``.
``dr_did`` (``estimator="improved"``)
    Their "further improved" estimator (eq. 3.3 with 3.4): propensity score
    by inverse probability tilting (calibration: the reweighted comparison
    group matches the treated covariate means exactly) and the outcome
    regression by weighted least squares with weights ``p/(1-p)``; the
    estimation of both nuisance models then has no first-order effect on the
    influence function. As ``DRDID::drdid_imp_panel``.
``ipw_did``
    Normalised (Hajek) inverse-probability-weighted DiD of Abadie (2005), as
    ``DRDID::std_ipw_did_panel``.
``reg_did``
    Outcome-regression DiD (Heckman, Ichimura & Todd, 1997), as
    ``DRDID::reg_did_panel``.

Inference: the analytic influence function ``ψ_i`` of each estimator
(including the estimation effect of the nuisance models), ``SE =
sqrt(Σ ψ_i²) / n`` (DRDID's ``sd(ψ)·sqrt(n−1)/n``; ψ has mean zero), normal
interval.

Trimming (DRDID's rule, stated in every result): comparison entities whose
estimated propensity score is ≥ 0.995 are dropped from the weighted
averages (they would get weights ≥ 199); scores are capped at 1 − 10⁻⁶.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from lopsnb.errors import InsufficientDataError

__all__ = [
    "DRFit",
    "DREstimator",
    "TRIM_LEVEL",
    "TRIM_RULE",
    "dr_did",
    "ipw_did",
    "reg_did",
    "logit_pscore",
    "ipt_pscore",
    "overlap_summary",
    "weighted_balance",
]

DREstimator = Literal["traditional", "improved"]
#: Comparison entities with a propensity score at or above this are trimmed.
TRIM_LEVEL = 0.995
TRIM_RULE = "comparison entities with an estimated propensity score of 0.995 or more are dropped (DRDID's rule); scores are capped at 1 - 1e-6"
_PS_CAP = 1 - 1e-6


@dataclass(kw_only=True)
class DRFit:
    """One ATT estimate with its influence function.

    Attributes
    ----------
    method : str
        ``dr_did``, ``ipw_did``, ``reg_did`` (or the caller's name).
    estimator : str
        ``traditional``, ``improved``, ``ipw`` (normalised) or ``regression``.
    estimate, std_error : float
        ATT and its influence-function standard error.
    influence : ndarray
        ψ_i per entity (mean zero); ``std_error = sqrt(Σψ²)/n``.
    pscore : ndarray or None
        Estimated propensity score (None for ``reg_did``).
    weights : ndarray
        Weight of each entity in the comparison mean (treated: 1; comparison:
        ``p/(1−p)``, 0 when trimmed); used for the weighted balance table.
    n_treated, n_comparison, n_trimmed : int
        Treated and comparison entities, and comparison entities trimmed.
    """

    method: str
    estimator: str
    estimate: float
    std_error: float
    influence: np.ndarray
    pscore: np.ndarray | None
    weights: np.ndarray
    n_treated: int
    n_comparison: int
    n_trimmed: int = 0


def _check(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dy, d, x = np.asarray(dy, float), np.asarray(d, float), np.asarray(x, float)
    if x.ndim != 2 or x.shape[0] != dy.shape[0] or d.shape != dy.shape:
        raise ValueError("dy, d and x must have the same number of rows")
    if not (np.isfinite(dy).all() and np.isfinite(x).all()):
        raise InsufficientDataError("doubly robust DiD: missing outcome or covariate values; drop those entities first")
    n_t, n_c = int(d.sum()), int((1 - d).sum())
    if n_t < 2 or n_c < 2:
        raise InsufficientDataError(f"doubly robust DiD: {n_t} participating and {n_c} comparison entities (need at least 2 of each)")
    if n_c <= x.shape[1] or np.linalg.matrix_rank(x[d == 0]) < x.shape[1]:
        raise InsufficientDataError(
            f"doubly robust DiD: the {x.shape[1] - 1} covariate column(s) are collinear or outnumber the {n_c} comparison entities "
            "(drop or coarsen covariates)"
        )
    return dy, d, x


def logit_pscore(d: np.ndarray, x: np.ndarray, *, tol: float = 1e-10, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression of ``d`` on ``x`` by Newton–Raphson.

    Returns
    -------
    ps : ndarray
        Fitted probabilities.
    coef : ndarray
        Coefficients.

    Raises
    ------
    InsufficientDataError
        When the covariates separate the groups (no finite maximum).
    """
    beta = np.zeros(x.shape[1])
    for _ in range(max_iter):
        ps = 1 / (1 + np.exp(-(x @ beta)))
        w = ps * (1 - ps)
        step = np.linalg.lstsq(x.T @ (w[:, None] * x), x.T @ (d - ps), rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < tol * max(1.0, np.max(np.abs(beta))):
            break
    ps = 1 / (1 + np.exp(-(x @ beta)))
    if not np.isfinite(ps).all() or np.max(np.abs(beta)) > 30 or ps.min() < 1e-10 or ps.max() > 1 - 1e-10:
        raise InsufficientDataError("propensity score: the covariates (almost) perfectly predict who participated; there is no overlap to compare")
    return ps, beta


def ipt_pscore(d: np.ndarray, x: np.ndarray, *, tol: float = 1e-12, max_iter: int = 200) -> np.ndarray:
    """Propensity score by inverse probability tilting (Graham, Pinto & Egel 2012; Tan 2019).

    Minimises the strictly convex loss ``mean(−d·x'γ + (1−d)·exp(x'γ))``
    (DRDID's ``loss.ps.cal``), whose first-order condition makes the
    ``exp(x'γ) = p/(1−p)`` weighted comparison covariate sums equal the
    treated ones. Newton steps with step halving, started at the logit fit.
    """
    _, gamma = logit_pscore(d, x)

    def loss(g: np.ndarray) -> float:
        v = x @ g
        return float(np.mean(-d * v + (1 - d) * np.exp(v)))

    for _ in range(max_iter):
        e = np.exp(x @ gamma)
        grad = x.T @ (-d + (1 - d) * e) / len(d)
        hess = x.T @ (((1 - d) * e)[:, None] * x) / len(d)
        step = np.linalg.solve(hess, grad)
        t, cur = 1.0, loss(gamma)
        while loss(gamma - t * step) > cur + 1e-15 * abs(cur) and t > 1e-8:
            t /= 2
        gamma = gamma - t * step
        if np.max(np.abs(t * step)) < tol * max(1.0, np.max(np.abs(gamma))):
            break
    return 1 / (1 + np.exp(-(x @ gamma)))


def _wls(y: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = np.sqrt(w)
    return np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)[0]


def _trim(ps: np.ndarray, d: np.ndarray, trim_level: float) -> tuple[np.ndarray, np.ndarray]:
    ps = np.minimum(ps, _PS_CAP)
    keep = np.where(d == 1, True, ps < trim_level)
    return ps, keep.astype(float)


def dr_did(dy: np.ndarray, d: np.ndarray, x: np.ndarray, *, estimator: DREstimator = "traditional", trim_level: float = TRIM_LEVEL) -> DRFit:
    """Sant'Anna & Zhao (2020) doubly robust ATT (see the module docstring).

    Parameters
    ----------
    dy : array of shape (n,)
        Outcome change per entity (or outcome level for a cross-section).
    d : array of shape (n,)
        1 for participating entities, 0 for comparison entities.
    x : array of shape (n, k)
        Covariates, first column the intercept.
    estimator : {"traditional", "improved"}
    trim_level : float
        Comparison entities with a propensity score ≥ this are dropped.
    """
    dy, d, x = _check(dy, d, x)
    if estimator not in ("traditional", "improved"):
        raise ValueError(f"estimator must be 'traditional' or 'improved'; got {estimator!r}")
    if estimator == "improved":
        return _dr_improved(dy, d, x, trim_level)
    n = len(d)
    ps, _ = logit_pscore(d, x)
    ps, keep = _trim(ps, d, trim_level)
    c = d == 0
    beta = _wls(dy[c], x[c], np.ones(int(c.sum())))
    res = dy - x @ beta
    w_t = keep * d
    w_c = keep * ps * (1 - d) / (1 - ps)
    eta_t = np.mean(w_t * res) / np.mean(w_t)
    eta_c = np.mean(w_c * res) / np.mean(w_c)
    # Influence function (DRDID::drdid_panel): leading terms plus the
    # estimation effects of the OLS (beta) and logit (gamma) coefficients.
    xpx_inv = np.linalg.inv((x * (1 - d)[:, None]).T @ x / n)
    lin_ols = ((1 - d) * res)[:, None] * x @ xpx_inv
    hess_ps = np.linalg.inv(x.T @ ((ps * (1 - ps))[:, None] * x)) * n
    lin_ps = ((d - ps)[:, None] * x) @ hess_ps
    inf_t = (w_t * res - w_t * eta_t - lin_ols @ np.mean(w_t[:, None] * x, axis=0)) / np.mean(w_t)
    m2 = np.mean((w_c * (res - eta_c))[:, None] * x, axis=0)
    inf_c = (w_c * res - w_c * eta_c + lin_ps @ m2 - lin_ols @ np.mean(w_c[:, None] * x, axis=0)) / np.mean(w_c)
    return _fit("dr_did", "traditional", eta_t - eta_c, inf_t - inf_c, ps, w_t + w_c, d, keep)


def _dr_improved(dy: np.ndarray, d: np.ndarray, x: np.ndarray, trim_level: float) -> DRFit:
    ps = ipt_pscore(d, x)
    ps, keep = _trim(ps, d, trim_level)
    c = d == 0
    beta = _wls(dy[c], x[c], (ps / (1 - ps))[c])
    res = dy - x @ beta
    summand = keep * (1 - (1 - d) / (1 - ps)) * res
    att = np.mean(summand) / np.mean(d)
    # Both nuisance fits solve moment conditions that make their estimation
    # effect vanish (Sant'Anna & Zhao 2020, Theorem 3.2): no correction term.
    infl = keep * (summand - d * att) / np.mean(d)
    w = keep * (d + (1 - d) * ps / (1 - ps))
    return _fit("dr_did", "improved", att, infl, ps, w, d, keep)


def ipw_did(dy: np.ndarray, d: np.ndarray, x: np.ndarray, *, trim_level: float = TRIM_LEVEL) -> DRFit:
    """Normalised (Hajek) IPW DiD, as ``DRDID::std_ipw_did_panel``."""
    dy, d, x = _check(dy, d, x)
    n = len(d)
    ps, _ = logit_pscore(d, x)
    ps, keep = _trim(ps, d, trim_level)
    w_t = keep * d
    w_c = keep * ps * (1 - d) / (1 - ps)
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_c * dy) / np.mean(w_c)
    hess_ps = np.linalg.inv(x.T @ ((ps * (1 - ps))[:, None] * x)) * n
    lin_ps = ((d - ps)[:, None] * x) @ hess_ps
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - eta_c))[:, None] * x, axis=0)
    inf_c = (w_c * dy - w_c * eta_c + lin_ps @ m2) / np.mean(w_c)
    return _fit("ipw_did", "ipw", eta_t - eta_c, inf_t - inf_c, ps, w_t + w_c, d, keep)


def reg_did(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> DRFit:
    """Outcome-regression DiD, as ``DRDID::reg_did_panel``."""
    dy, d, x = _check(dy, d, x)
    n = len(d)
    c = d == 0
    beta = _wls(dy[c], x[c], np.ones(int(c.sum())))
    pred = x @ beta
    eta_t = np.mean(d * dy) / np.mean(d)
    eta_c = np.mean(d * pred) / np.mean(d)
    xpx_inv = np.linalg.inv((x * (1 - d)[:, None]).T @ x / n)
    lin_ols = ((1 - d) * (dy - pred))[:, None] * x @ xpx_inv
    inf_t = (d * dy - d * eta_t) / np.mean(d)
    inf_c = (d * pred - d * eta_c + lin_ols @ np.mean(d[:, None] * x, axis=0)) / np.mean(d)
    return _fit("reg_did", "regression", eta_t - eta_c, inf_t - inf_c, None, d.copy(), d, np.ones_like(d))


def _fit(method: str, estimator: str, att: float, infl: np.ndarray, ps: np.ndarray | None, w: np.ndarray, d: np.ndarray, keep: np.ndarray) -> DRFit:
    n = len(d)
    se = float(np.sqrt(np.sum(infl**2)) / n)
    return DRFit(
        method=method, estimator=estimator, estimate=float(att), std_error=se, influence=infl, pscore=ps, weights=w,
        n_treated=int(d.sum()), n_comparison=int((1 - d).sum()), n_trimmed=int(((keep == 0) & (d == 0)).sum()),
    )


_QUANTILES = {"min": 0.0, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}


def overlap_summary(ps: np.ndarray, d: np.ndarray, *, trim_level: float = TRIM_LEVEL, bins: int = 10) -> dict[str, Any]:
    """Propensity-score distribution by group, and the trimming rule with its count.

    Returns
    -------
    dict
        ``trim_rule`` (text), ``trim_level``, ``n_trimmed`` (comparison
        entities dropped), ``quantiles`` (``treated`` / ``comparison``:
        min, p05, p25, p50, p75, p95, max), ``histogram`` (``edges`` of
        ``bins`` equal bins on [0, 1] and the entity ``treated`` /
        ``comparison`` counts per bin), ``n_treated``, ``n_comparison``.
    """
    ps, d = np.minimum(np.asarray(ps, float), _PS_CAP), np.asarray(d, float)
    edges = np.linspace(0, 1, bins + 1)
    groups = {"treated": ps[d == 1], "comparison": ps[d == 0]}
    return {
        "trim_rule": TRIM_RULE,
        "trim_level": trim_level,
        "n_trimmed": int(((d == 0) & (ps >= trim_level)).sum()),
        "n_treated": int((d == 1).sum()),
        "n_comparison": int((d == 0).sum()),
        "quantiles": {g: {k: float(np.quantile(v, q)) for k, q in _QUANTILES.items()} for g, v in groups.items()},
        "histogram": {"edges": edges.tolist(), **{g: np.histogram(v, bins=edges)[0].astype(int).tolist() for g, v in groups.items()}},
    }


def weighted_balance(cov: pd.DataFrame, d: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """Covariate balance before and after weighting the comparison group.

    The weighted SMD is ``(m_t − m_c^w) / sqrt((s_t² + s_c²)/2)`` with the
    comparison mean weighted by ``weights`` and the **unweighted** pooled
    standard deviation in the denominator (Austin & Stuart 2015), so the raw
    and weighted SMD are on the same scale.

    Returns
    -------
    DataFrame
        ``variable, mean_treated, mean_comparison, mean_comparison_weighted,
        smd, smd_weighted, band_weighted``.
    """
    from lopsnb.evaluation.methods import smd_band

    d = np.asarray(d, float)
    t, c = d == 1, d == 0
    wc = np.asarray(weights, float)[c]
    rows = []
    for col in cov.columns:
        v = cov[col].to_numpy(float)
        sd = np.sqrt((np.var(v[t], ddof=1) + np.var(v[c], ddof=1)) / 2) if t.sum() > 1 and c.sum() > 1 else np.nan
        mt, mc = float(v[t].mean()), float(v[c].mean())
        mcw = float(np.sum(wc * v[c]) / np.sum(wc)) if wc.sum() > 0 else np.nan
        raw = (mt - mc) / sd if sd and np.isfinite(sd) else (0.0 if mt == mc else np.nan)
        wtd = (mt - mcw) / sd if sd and np.isfinite(sd) else (0.0 if mt == mcw else np.nan)
        rows.append({"variable": str(col), "mean_treated": mt, "mean_comparison": mc, "mean_comparison_weighted": mcw,
                     "smd": float(raw), "smd_weighted": float(wtd), "band_weighted": smd_band(float(wtd))})
    cols = ["variable", "mean_treated", "mean_comparison", "mean_comparison_weighted", "smd", "smd_weighted", "band_weighted"]
    return pd.DataFrame(rows, columns=cols)


def design_matrix(cov: pd.DataFrame) -> np.ndarray:
    """Intercept followed by the covariate columns (constant columns dropped)."""
    cols = cov.loc[:, cov.std(ddof=0) > 0] if len(cov.columns) else cov
    return np.column_stack([np.ones(len(cov)), cols.to_numpy(float)])


def covariate_names(cov: pd.DataFrame) -> Sequence[str]:
    """The non-constant design columns :func:`design_matrix` keeps."""
    return [str(c) for c in cov.columns if cov[c].std(ddof=0) > 0]
