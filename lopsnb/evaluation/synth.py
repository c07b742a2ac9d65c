"""Synthetic control (Abadie, Diamond & Hainmueller 2010) for one or a few treated units.

Estimand and conventions
    For each treated unit ``j`` the donor weights ``w`` (non-negative,
    summing to one) minimise ``‖x_j − X_0 w‖²`` where ``x_j`` is the unit's
    pre-period outcome path (one row per pre-period; this is ADH's predictor
    set "every pre-period outcome" with ``V = I``, for which the nested
    optimisation of ``V`` is unnecessary). Optional covariates are appended as
    extra predictor rows, each rescaled so that its standard deviation across
    units equals the pre-period outcome's (one covariate weighs as much as one
    pre-period): a stated simpler choice than ADH's nested ``V``.
    With several treated units each gets its own synthetic unit and the
    estimate is the **average over treated units of the mean post-period gap**
    (treated minus synthetic), in outcome units per unit per period.

Inference (placebo in space, ADH 2010 §4)
    Every donor is in turn treated as if treated and fitted from the other
    donors. The p-value of treated unit ``j`` is the rank of its post/pre
    mean squared prediction error ratio among all units (itself and the
    placebos) divided by their number, ``(1 + #{placebo ratio ≥ r_j}) /
    (N0 + 1)``. With several treated units the reported p-value is the
    Bonferroni-adjusted smallest unit p-value (conservative). The interval
    inverts the placebo distribution under a constant additive effect: with
    ``e`` the placebo estimates (for several treated units, means of random
    donor subsets of that size), ``[τ̂ − q_0.975(e), τ̂ − q_0.025(e)]``; it
    needs at least 19 placebos (else none, with the reason). ``std_error`` is
    the standard deviation of ``e``. At most ``max_placebos`` donors (a
    seeded random subset) are used as placebos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from lopsnb.errors import EvaluationError, InsufficientDataError

__all__ = ["BlockPanel", "SyntheticControlResult", "block_panel", "simplex_weights", "synthetic_control", "MIN_PLACEBOS_FOR_INTERVAL"]

#: 19 placebos + the treated unit = 20 units: the smallest pool whose 2.5%/97.5% tails hold a draw.
MIN_PLACEBOS_FOR_INTERVAL = 19
#: Donor weights at or below this are treated as zero (leave-one-out, tables).
ZERO_WEIGHT = 1e-6


@dataclass(kw_only=True)
class BlockPanel:
    """A balanced outcome matrix: controls first, then treated units; pre-periods first."""

    y: np.ndarray
    units: list[Any]
    periods: list[Any]
    n0: int
    t0: int
    notes: list[str] = field(default_factory=list)


def block_panel(
    data: pd.DataFrame, *, unit: str, time: str, outcome: str, treated: Sequence[Any], pre: Sequence[Any], post: Sequence[Any], min_pre: int = 1,
) -> BlockPanel:
    """Pivot a long panel to the balanced block matrix the estimators need.

    Units without an outcome in every pre- and post-period are dropped (a
    note says how many); a treated unit with a gap is an error.

    Raises
    ------
    EvaluationError
        A column is missing.
    InsufficientDataError
        Too few periods, no complete treated unit or no complete control.
    """
    missing = [c for c in (unit, time, outcome) if c not in data.columns]
    if missing:
        raise EvaluationError(f"synthetic control: the panel has no column(s) {missing}; expected {unit!r}, {time!r} and {outcome!r}")
    if not pd.api.types.is_numeric_dtype(data[outcome]):
        raise EvaluationError(f"synthetic control: column {outcome!r} holds {data[outcome].dtype} values; expected numbers")
    dup = data.duplicated([unit, time])
    if dup.any():
        first = data.loc[dup, [unit, time]].iloc[0].tolist()
        raise EvaluationError(f"synthetic control: {int(dup.sum())} repeated {unit}/{time} row(s) (first: {first}); expected one row per unit and period")
    pre, post = sorted(set(pre)), sorted(set(post))
    if len(pre) < min_pre or not post:
        raise InsufficientDataError(f"synthetic control: {len(pre)} pre-period(s) and {len(post)} post-period(s) (need at least {min_pre} and 1)")
    wide = data.pivot(index=unit, columns=time, values=outcome).reindex(columns=pre + post)
    complete = wide.notna().all(axis=1)
    tset = set(treated)
    gappy = sorted(u for u in tset if u not in wide.index or not complete.get(u, False))
    if gappy:
        raise InsufficientDataError(f"synthetic control: treated unit(s) {gappy[:5]} lack an outcome in some pre- or post-period (a balanced panel is needed)")
    dropped = int((~complete[~wide.index.isin(tset)]).sum())
    controls = [u for u in wide.index[complete] if u not in tset]
    if not controls:
        raise InsufficientDataError("synthetic control: no donor unit has an outcome in every pre- and post-period")
    order = controls + sorted(tset)
    notes = [f"{dropped} donor unit(s) without an outcome in every period excluded"] if dropped else []
    return BlockPanel(y=wide.loc[order].to_numpy(float), units=order, periods=pre + post, n0=len(controls), t0=len(pre), notes=notes)


def simplex_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """``argmin_w ‖target − donors @ w‖²`` over the unit simplex.

    A penalised non-negative least squares (the sum-to-one constraint as a
    heavily weighted extra row) finds the support; the equality-constrained
    least squares on that support is then solved exactly (KKT system). SLSQP
    is the fallback when that solution is not optimal.
    """
    n = donors.shape[1]
    if n == 1:
        return np.ones(1)
    scale = float(np.abs(donors).max()) or 1.0
    a, b = donors / scale, target / scale
    big = 1e4 * max(1.0, float(np.linalg.norm(a, 2)))
    w0, _ = optimize.nnls(np.vstack([a, np.full(n, big)]), np.append(b, big), maxiter=50 * n)
    w0 = w0 / w0.sum() if w0.sum() > 0 else np.full(n, 1 / n)
    w = _polish(a, b, w0)
    if _kkt_ok(a, b, w):
        return w

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        r = a @ v - b
        return float(r @ r), 2 * (a.T @ r)

    res = optimize.minimize(fun, w, jac=True, method="SLSQP", bounds=[(0, 1)] * n,
                            constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1, "jac": lambda v: np.ones_like(v)}],
                            options={"ftol": 1e-14, "maxiter": 1000})
    w = np.clip(res.x, 0, None)
    return _polish(a, b, w / w.sum())


def _kkt_ok(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> bool:
    """Optimality on the simplex: no coordinate's gradient is below the support's common gradient."""
    g = 2 * a.T @ (a @ w - b)
    s = w > 1e-9
    if not s.any():
        return False
    mu = float(g[s].mean())
    tol = 1e-8 * max(1.0, float(np.abs(g).max()))
    return bool(np.all(np.abs(g[s] - mu) <= tol) and np.all(g[~s] >= mu - tol))


def _polish(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact solution on the support of ``w`` when it is optimal there (else ``w`` unchanged)."""
    s = np.flatnonzero(w > 1e-9)
    k = len(s)
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = 2 * a[:, s].T @ a[:, s]
    kkt[:k, k] = kkt[k, :k] = 1
    rhs = np.append(2 * a[:, s].T @ b, 1.0)
    try:
        sol = np.linalg.solve(kkt, rhs)
    except np.linalg.LinAlgError:
        return w
    if np.any(sol[:k] < 0):
        return w
    exact = np.zeros_like(w)
    exact[s] = sol[:k]
    old, new = np.sum((a @ w - b) ** 2), np.sum((a @ exact - b) ** 2)
    return exact if new <= old + 1e-12 * max(old, 1.0) else w


def _predictors(y: np.ndarray, t0: int, cov: np.ndarray | None) -> np.ndarray:
    """Units × predictors: pre-period outcomes, then rescaled covariates."""
    x = y[:, :t0]
    if cov is None or cov.shape[1] == 0:
        return x
    sd_y = float(np.std(x, ddof=1)) or 1.0
    sd_c = np.std(cov, axis=0, ddof=1)
    sd_c[sd_c == 0] = 1.0
    return np.column_stack([x, cov / sd_c * sd_y])


def _fit(x: np.ndarray, y: np.ndarray, j: int, donors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights of unit ``j`` on ``donors`` and its gap path (treated − synthetic)."""
    w = simplex_weights(x[j], x[donors].T)
    return w, y[j] - w @ y[donors]


def _ratio(gap: np.ndarray, t0: int) -> float:
    pre = float(np.mean(gap[:t0] ** 2))
    post = float(np.mean(gap[t0:] ** 2))
    return post / pre if pre > 0 else float("inf")


@dataclass(kw_only=True)
class SyntheticControlResult:
    """A synthetic control estimate (see the module docstring for conventions).

    Attributes
    ----------
    estimate : float
        Mean post-period gap averaged over treated units.
    std_error, ci_low, ci_high : float
        From the placebo distribution (NaN with ``interval_reason`` when unavailable).
    p_value : float
        Placebo-in-space rank p-value (Bonferroni over treated units).
    unit_p_values : dict
        Treated unit → its rank p-value.
    pre_rmspe : float
        Root mean squared pre-period gap (pooled over treated units).
    pre_sd : float
        Standard deviation of all pre-period outcome values (every unit).
    weights : DataFrame
        ``treated_unit, donor, weight`` (non-zero weights, largest first).
    gaps : DataFrame
        ``unit, period, treated, synthetic, gap, post``; ``unit == "average"`` is the mean over treated units.
    placebos : DataFrame
        ``unit, pre_rmspe, mspe_ratio, estimate`` of every placebo fit.
    placebo_gaps : DataFrame
        ``unit, period, gap`` of the placebo fits.
    loo : DataFrame
        ``dropped_donor, estimate, pre_rmspe``: leave-one-out over donors with non-zero weight.
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    unit_p_values: dict[Any, float]
    interval_reason: str | None
    pre_rmspe: float
    pre_sd: float
    weights: pd.DataFrame
    gaps: pd.DataFrame
    placebos: pd.DataFrame
    placebo_gaps: pd.DataFrame
    loo: pd.DataFrame
    n_treated: int
    n_donors: int
    n_pre: int
    n_post: int
    notes: list[str] = field(default_factory=list)

    @property
    def fit_ratio(self) -> float:
        """Pre-period RMSPE relative to the pre-period outcome SD (0 = perfect fit)."""
        return self.pre_rmspe / self.pre_sd if self.pre_sd > 0 else float("nan")


def _fit_all(bp: BlockPanel, x: np.ndarray, donors: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Weights and gaps of every treated unit on ``donors``."""
    ws, gaps = [], []
    for j in range(bp.n0, len(bp.units)):
        w, g = _fit(x, bp.y, j, donors)
        ws.append(w)
        gaps.append(g)
    return ws, np.array(gaps)


def _placebo_null(est: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Null distribution of the mean of ``k`` placebo estimates (``k = 1``: the estimates)."""
    if k == 1:
        return est
    rng = np.random.default_rng(seed)
    return np.array([est[rng.choice(len(est), size=k, replace=False)].mean() for _ in range(2000)])


def synthetic_control(
    data: pd.DataFrame, *, unit: str, time: str, outcome: str, treated: Sequence[Any], pre: Sequence[Any], post: Sequence[Any],
    covariates: pd.DataFrame | None = None, max_placebos: int = 200, seed: int = 0,
) -> SyntheticControlResult:
    """Synthetic control estimate with placebo-in-space inference and leave-one-out.

    Parameters
    ----------
    data : DataFrame
        Long panel: one row per unit and period.
    unit, time, outcome : str
        Column names.
    treated : sequence
        Treated unit ids (1 to about 10).
    pre, post : sequence
        Pre- and post-period values of ``time``.
    covariates : DataFrame, optional
        Numeric unit-level predictors indexed by unit id.
    max_placebos : int
        At most this many donors are refitted as placebos (seeded subset).
    seed : int
        Seed of the placebo subset and of the subset means (several treated units).
    """
    bp = block_panel(data, unit=unit, time=time, outcome=outcome, treated=treated, pre=pre, post=post)
    n0, t0, n1 = bp.n0, bp.t0, len(bp.units) - bp.n0
    cov = None
    if covariates is not None and covariates.shape[1]:
        c = covariates.reindex(bp.units).apply(pd.to_numeric, errors="coerce")
        if c.isna().any().any():
            raise InsufficientDataError(f"synthetic control: covariates {list(c.columns[c.isna().any()])} are missing or not numeric for some units")
        cov = c.to_numpy(float)
    x = _predictors(bp.y, t0, cov)
    donors = np.arange(n0)
    ws, gaps = _fit_all(bp, x, donors)
    est = float(gaps[:, t0:].mean())
    ratios = [_ratio(g, t0) for g in gaps]
    pidx = donors if n0 <= max_placebos else np.sort(np.random.default_rng(seed).choice(n0, max_placebos, replace=False))
    prow, pg = [], []
    for j in pidx:
        if n0 < 2:
            break
        _, g = _fit(x, bp.y, j, np.delete(donors, j))
        prow.append({"unit": bp.units[j], "pre_rmspe": float(np.sqrt(np.mean(g[:t0] ** 2))), "mspe_ratio": _ratio(g, t0), "estimate": float(g[t0:].mean())})
        pg += [{"unit": bp.units[j], "period": p, "gap": float(v)} for p, v in zip(bp.periods, g)]
    placebos = pd.DataFrame(prow, columns=["unit", "pre_rmspe", "mspe_ratio", "estimate"])
    pr = placebos["mspe_ratio"].to_numpy()
    unit_p = {bp.units[n0 + i]: float((1 + np.sum(pr >= r)) / (len(pr) + 1)) for i, r in enumerate(ratios)}
    p_value = min(1.0, n1 * min(unit_p.values()))
    se, lo, hi, why = _interval(est, placebos["estimate"].to_numpy(), n1, seed)
    return SyntheticControlResult(
        estimate=est, std_error=se, ci_low=lo, ci_high=hi, p_value=p_value, unit_p_values=unit_p, interval_reason=why,
        pre_rmspe=float(np.sqrt(np.mean(gaps[:, :t0] ** 2))), pre_sd=float(np.std(bp.y[:, :t0], ddof=1)) if bp.y[:, :t0].size > 1 else float("nan"),
        weights=_weights_frame(bp, ws), gaps=_gaps_frame(bp, ws, gaps), placebos=placebos,
        placebo_gaps=pd.DataFrame(pg, columns=["unit", "period", "gap"]), loo=_loo(bp, x, ws),
        n_treated=n1, n_donors=n0, n_pre=t0, n_post=len(bp.periods) - t0,
        notes=bp.notes + ([f"placebo inference on a random {len(pidx)} of {n0} donors"] if len(pidx) < n0 else []),
    )


def _interval(est: float, placebo_est: np.ndarray, k: int, seed: int) -> tuple[float, float, float, str | None]:
    if len(placebo_est) < MIN_PLACEBOS_FOR_INTERVAL:
        why = f"{len(placebo_est)} placebo donors: at least {MIN_PLACEBOS_FOR_INTERVAL} are needed for a 95% permutation interval"
        return float(np.std(placebo_est, ddof=1)) if len(placebo_est) > 1 else float("nan"), float("nan"), float("nan"), why
    null = _placebo_null(placebo_est, k, seed)
    q_lo, q_hi = np.quantile(null, [0.025, 0.975])
    return float(np.std(null, ddof=1)), est - float(q_hi), est - float(q_lo), None


def _weights_frame(bp: BlockPanel, ws: list[np.ndarray]) -> pd.DataFrame:
    rows = [{"treated_unit": bp.units[bp.n0 + i], "donor": bp.units[d], "weight": float(w[d])}
            for i, w in enumerate(ws) for d in np.argsort(-w, kind="stable") if w[d] > ZERO_WEIGHT]
    return pd.DataFrame(rows, columns=["treated_unit", "donor", "weight"])


def _gaps_frame(bp: BlockPanel, ws: list[np.ndarray], gaps: np.ndarray) -> pd.DataFrame:
    post = np.arange(len(bp.periods)) >= bp.t0
    frames = []
    for i, w in enumerate(ws):
        y = bp.y[bp.n0 + i]
        frames.append(pd.DataFrame({"unit": bp.units[bp.n0 + i], "period": bp.periods, "treated": y, "synthetic": y - gaps[i], "gap": gaps[i], "post": post}))
    tr = bp.y[bp.n0:].mean(axis=0)
    frames.append(pd.DataFrame({"unit": "average", "period": bp.periods, "treated": tr, "synthetic": tr - gaps.mean(axis=0), "gap": gaps.mean(axis=0), "post": post}))
    return pd.concat(frames, ignore_index=True)


def _loo(bp: BlockPanel, x: np.ndarray, ws: list[np.ndarray]) -> pd.DataFrame:
    """Refit every treated unit without each donor that has non-zero weight for any of them."""
    used = sorted({int(d) for w in ws for d in np.flatnonzero(w > ZERO_WEIGHT)})
    rows = []
    for d in used:
        donors = np.delete(np.arange(bp.n0), d)
        if donors.size == 0:
            continue
        _, gaps = _fit_all(bp, x, donors)
        rows.append({"dropped_donor": bp.units[d], "estimate": float(gaps[:, bp.t0:].mean()), "pre_rmspe": float(np.sqrt(np.mean(gaps[:, :bp.t0] ** 2)))})
    return pd.DataFrame(rows, columns=["dropped_donor", "estimate", "pre_rmspe"])
