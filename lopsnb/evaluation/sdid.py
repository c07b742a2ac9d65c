"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

A port of Algorithm 1 of the paper as implemented by the authors' R package
``synthdid`` (``synthdid_estimate`` without covariates, ``vcov`` methods
``placebo`` and ``jackknife``), on a balanced block design: ``N0`` control
units, ``N1`` treated units all treated from the same period, ``T0``
pre-periods and ``T1`` post-periods.

Estimand
    The average effect on the treated units over the post-periods,
    ``τ̂ = (ȳ_tr,post − Σ_t λ_t ȳ_tr,t) − Σ_i ω_i (ȳ_i,post − Σ_t λ_t y_i,t)``,
    where the unit weights ω (non-negative, summing to one, with an
    intercept) make the controls' pre-period path parallel to the treated
    mean, penalised by ``ζ_ω² T0 ‖ω‖²`` with ``ζ_ω = (N1·T1)^(1/4) σ̂`` (σ̂ =
    standard deviation of the controls' pre-period first differences), and the
    time weights λ (simplex, intercept, ``ζ_λ = 1e-6 σ̂``) make the
    pre-periods predict the post-period mean of the controls. Both are found
    by Frank–Wolfe with exact line search, a first round of 100 iterations
    then a second from the *sparsified* solution (weights ≤ max/4 set to zero),
    exactly as R ``synthdid``.

Inference
    One treated unit: placebo variance (Algorithm 4): the estimator is re-run
    ``replications`` times with ``N1`` randomly chosen controls as placebo
    treated units; ``se`` is the standard deviation of those estimates times
    ``sqrt((r − 1)/r)``. Several treated units: the fixed-weight jackknife
    (Algorithm 3), unavailable when only one control has non-zero weight.
    The 95% interval is ``τ̂ ± 1.96·se`` (normal, as the package README).
    The placebo draws use ``numpy.random.default_rng(seed)``: reproducible
    in Python, not draw-for-draw equal to R.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from lopsnb.errors import InsufficientDataError
from lopsnb.evaluation.synth import BlockPanel, block_panel

__all__ = ["SdidResult", "sdid", "sdid_weights", "sdid_estimate_matrix", "sparsify"]

VcovMethod = Literal["auto", "placebo", "jackknife"]


def sparsify(v: np.ndarray) -> np.ndarray:
    """R ``synthdid::sparsify_function``: zero the weights ≤ max/4, renormalise."""
    v = np.where(v <= v.max() / 4, 0.0, v)
    return v / v.sum()


def _sc_weight_fw(y: np.ndarray, zeta: float, *, intercept: bool, init: np.ndarray | None, min_decrease: float, max_iter: int) -> np.ndarray:
    """R ``sc.weight.fw``: regress the last column of ``y`` on the others (simplex weights)."""
    n, t0 = y.shape[0], y.shape[1] - 1
    lam = np.full(t0, 1 / t0) if init is None else init.astype(float).copy()
    if intercept:
        y = y - y.mean(axis=0)
    a, b = y[:, :t0], y[:, t0]
    eta = n * zeta**2
    z2 = zeta**2
    # Frank-Wolfe with exact line search (R fw.step), inlined: this loop runs ~10⁴ times per fit (placebo variance: per draw).
    ax = a @ lam
    vals: list[float] = []
    while len(vals) < max_iter and (len(vals) < 2 or vals[-2] - vals[-1] > min_decrease**2):
        half_grad = (ax - b) @ a + eta * lam
        i = int(np.argmin(half_grad))
        d_x = -lam
        d_x[i] += 1.0
        if np.any(d_x != 0):
            d_err = a[:, i] - ax
            denom = float(d_err @ d_err) + eta * float(d_x @ d_x)
            # A zero denominator (noise-free data, σ̂ = 0): the direction changes nothing.
            step = min(1.0, max(0.0, -float(half_grad @ d_x) / denom)) if denom > 0 else 0.0
            lam = lam + step * d_x
            ax = ax + step * d_err
        err = ax - b
        vals.append(z2 * float(lam @ lam) + float(err @ err) / n)
    return lam


def _collapsed(y: np.ndarray, n0: int, t0: int) -> np.ndarray:
    """R ``collapsed.form``: controls × (pre-periods, post mean), plus the treated means row."""
    top = np.column_stack([y[:n0, :t0], y[:n0, t0:].mean(axis=1)])
    bottom = np.append(y[n0:, :t0].mean(axis=0), y[n0:, t0:].mean())
    return np.vstack([top, bottom])


def _weight(y: np.ndarray, zeta: float, init: np.ndarray | None, min_decrease: float, max_iter: int) -> np.ndarray:
    first = _sc_weight_fw(y, zeta, intercept=True, init=init, min_decrease=min_decrease, max_iter=100)
    return _sc_weight_fw(y, zeta, intercept=True, init=sparsify(first), min_decrease=min_decrease, max_iter=max_iter)


def sdid_weights(
    y: np.ndarray, n0: int, t0: int, *, omega: np.ndarray | None = None, lam: np.ndarray | None = None,
    noise_level: float | None = None, max_iter: int = 10_000,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Unit weights ω, time weights λ, ``zeta_omega`` and the noise level (R ``synthdid_estimate`` defaults).

    ``omega`` and ``lam`` are starting values (R's ``weights`` argument with
    ``update.omega = update.lambda = TRUE``).
    """
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    sigma = float(np.std(np.diff(y[:n0, :t0], axis=1), ddof=1)) if noise_level is None else noise_level
    zeta_omega = (n1 * t1) ** 0.25 * sigma
    zeta_lambda = 1e-6 * sigma
    min_decrease = 1e-5 * sigma
    yc = _collapsed(y, n0, t0)
    lam_hat = _weight(yc[:n0, :], zeta_lambda, lam, min_decrease, max_iter)
    omega_hat = _weight(yc[:, :t0].T, zeta_omega, omega, min_decrease, max_iter)
    return omega_hat, lam_hat, zeta_omega, sigma


def _tau(y: np.ndarray, n0: int, t0: int, omega: np.ndarray, lam: np.ndarray) -> float:
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    return float(np.append(-omega, np.full(n1, 1 / n1)) @ y @ np.append(-lam, np.full(t1, 1 / t1)))


def sdid_estimate_matrix(y: np.ndarray, n0: int, t0: int, **kw: Any) -> tuple[float, np.ndarray, np.ndarray]:
    """SDID estimate of a ``(N0 + N1) × (T0 + T1)`` matrix, controls first, pre-periods first: (τ̂, ω, λ)."""
    omega, lam, _, _ = sdid_weights(y, n0, t0, **kw)
    return _tau(y, n0, t0, omega, lam), omega, lam


def _sum_normalize(x: np.ndarray) -> np.ndarray:
    return x / x.sum() if x.sum() != 0 else np.full(len(x), 1 / len(x))


def _placebo_se(y: np.ndarray, n0: int, t0: int, omega: np.ndarray, lam: np.ndarray, sigma: float, replications: int, seed: int) -> np.ndarray:
    """Algorithm 4: estimates with ``N1`` random controls as placebo treated units.

    As R, the regularisation (ζ and the stopping rule) of the original fit is
    kept and the weights are re-estimated from the original ones.
    """
    n1 = y.shape[0] - n0
    rng = np.random.default_rng(seed)
    out = np.empty(replications)
    for r in range(replications):
        ind = rng.permutation(n0)
        yy = y[ind, :]
        new_n0 = n0 - n1
        out[r], _, _ = sdid_estimate_matrix(yy, new_n0, t0, omega=_sum_normalize(omega[ind[:new_n0]]), lam=lam, noise_level=sigma)
    return out


def _jackknife_se(y: np.ndarray, n0: int, t0: int, omega: np.ndarray, lam: np.ndarray) -> float:
    """Algorithm 3: fixed-weight jackknife over all units (R ``jackknife_se``)."""
    n = y.shape[0]
    u = np.empty(n)
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        ctrl = keep[keep < n0]
        u[i] = _tau(y[keep, :], len(ctrl), t0, _sum_normalize(omega[ctrl]), lam)
    return float(np.sqrt(((n - 1) / n) * (n - 1) * np.var(u, ddof=1)))


@dataclass(kw_only=True)
class SdidResult:
    """A synthetic difference-in-differences estimate.

    Attributes
    ----------
    estimate : float
        τ̂, the average effect on the treated units over the post-periods.
    std_error, ci_low, ci_high, p_value : float
        Standard error (``vcov_method``), normal 95% interval and two-sided p-value.
    vcov_method : str
        ``placebo`` (one treated unit) or ``jackknife``.
    unit_weights : DataFrame
        ``unit, weight`` of the controls (ω), largest first.
    time_weights : DataFrame
        ``period, weight`` of the pre-periods (λ).
    gaps : DataFrame
        ``period, treated, synthetic, gap``: treated mean and the ω-weighted
        control path shifted by the weighted pre-period difference (the
        SDID counterfactual curve; the mean post gap equals τ̂).
    zeta_omega, noise_level : float
    n_treated, n_control, n_pre, n_post : int
    placebo_estimates : ndarray
        The placebo draws (empty for the jackknife).
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    vcov_method: str
    unit_weights: pd.DataFrame
    time_weights: pd.DataFrame
    gaps: pd.DataFrame
    zeta_omega: float
    noise_level: float
    n_treated: int
    n_control: int
    n_pre: int
    n_post: int
    placebo_estimates: np.ndarray = field(default_factory=lambda: np.empty(0))
    notes: list[str] = field(default_factory=list)


def _gaps(bp: BlockPanel, omega: np.ndarray, lam: np.ndarray) -> pd.DataFrame:
    y, n0, t0 = bp.y, bp.n0, bp.t0
    treated = y[n0:, :].mean(axis=0)
    synth = omega @ y[:n0, :]
    shift = float((treated[:t0] - synth[:t0]) @ lam)
    return pd.DataFrame({"period": bp.periods, "treated": treated, "synthetic": synth + shift, "gap": treated - synth - shift,
                         "post": np.arange(len(bp.periods)) >= t0})


def sdid(
    data: pd.DataFrame, *, unit: str, time: str, outcome: str, treated: Sequence[Any], pre: Sequence[Any], post: Sequence[Any],
    vcov_method: VcovMethod = "auto", replications: int = 200, seed: int = 0,
) -> SdidResult:
    """Synthetic difference-in-differences on a long panel (see the module docstring).

    Parameters
    ----------
    data : DataFrame
        Long panel: one row per unit and period.
    unit, time, outcome : str
        Column names.
    treated : sequence
        Treated unit ids (all treated from the first ``post`` period).
    pre, post : sequence
        Pre- and post-period values of ``time``.
    vcov_method : {"auto", "placebo", "jackknife"}
        ``auto``: placebo with one treated unit, jackknife with several.
    replications : int
        Placebo draws.
    seed : int
        Seed of the placebo draws.

    Raises
    ------
    InsufficientDataError
        Fewer than 2 pre- or 1 post-period, no control, or the variance is undefined.
    """
    bp = block_panel(data, unit=unit, time=time, outcome=outcome, treated=treated, pre=pre, post=post, min_pre=2)
    y, n0, t0 = bp.y, bp.n0, bp.t0
    n1 = y.shape[0] - n0
    omega, lam, zeta, sigma = sdid_weights(y, n0, t0)
    tau = _tau(y, n0, t0, omega, lam)
    method = ("placebo" if n1 == 1 else "jackknife") if vcov_method == "auto" else vcov_method
    draws = np.empty(0)
    if method == "placebo":
        if n0 <= n1:
            raise InsufficientDataError(f"sdid: placebo variance needs more control units ({n0}) than treated units ({n1})")
        draws = _placebo_se(y, n0, t0, omega, lam, sigma, replications, seed)
        se = float(np.sqrt((replications - 1) / replications) * np.std(draws, ddof=1))
    else:
        if n1 == 1 or np.count_nonzero(omega) == 1:
            raise InsufficientDataError("sdid: the jackknife variance needs at least 2 treated units and 2 controls with non-zero weight")
        se = _jackknife_se(y, n0, t0, omega, lam)
    z = stats.norm.ppf(0.975)
    p = float(2 * stats.norm.sf(abs(tau / se))) if se > 0 else float("nan")
    uw = pd.DataFrame({"unit": bp.units[:n0], "weight": omega}).sort_values("weight", ascending=False, kind="stable").reset_index(drop=True)
    tw = pd.DataFrame({"period": bp.periods[:t0], "weight": lam})
    return SdidResult(
        estimate=tau, std_error=se, ci_low=tau - z * se, ci_high=tau + z * se, p_value=p, vcov_method=method,
        unit_weights=uw, time_weights=tw, gaps=_gaps(bp, omega, lam), zeta_omega=zeta, noise_level=sigma,
        n_treated=n1, n_control=n0, n_pre=t0, n_post=y.shape[1] - t0, placebo_estimates=draws, notes=list(bp.notes),
    )
