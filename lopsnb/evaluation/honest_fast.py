"""Faster least-favourable critical value for the Rambachan–Roth C-LF hybrid test.

``moderndid``'s ``compute_least_favorable_cv`` (nuisance-parameter case)
solves one linear program per Monte Carlo draw (1000 per polyhedron of
Δ^RM and per M̄): on the sample programs this is two thirds of the runtime of
:func:`lopsnb.evaluation.sensitivity.honest_did`. The draws' programs are
independent, so one block-diagonal LP whose objective is the sum of the
draws' objectives has exactly the draws' solutions: :func:`batched_lf_cv`
solves that single sparse LP with HiGHS. Same draws (same seed and
``Generator.multivariate_normal`` call), same program, same quantile: the
critical value equals moderndid's up to the LP tolerance (checked in the
tests). The method is unchanged; only the loop is gone.

The truncation bounds ``[v_lo, v_up]`` of the conditional test are found by
bisection, each step an LP ``max (s + b c)'x s.t. W'x = e_1, x >= 0`` that
differs from the previous one only in its costs. :func:`solve_max_program`
keeps one HiGHS model per constraint matrix and re-solves it from the
previous optimal basis (the same program, the same solver; scipy's
``linprog`` rebuilds and re-validates the model for every step).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy import optimize, sparse

__all__ = ["batched_lf_cv", "fast_lf_cv", "solve_max_program"]


def batched_lf_cv(x_t: np.ndarray | None = None, sigma: np.ndarray | None = None, hybrid_kappa: float = 0.05, sims: int = 1000,
                  rows_for_arp: np.ndarray | None = None, seed: int | None = 0) -> float:
    """Least-favourable critical value ``c_LF,κ`` with one LP for all draws (signature of moderndid's).

    For each draw ``ξ ~ N(0, Σ_Y)``, ``η(ξ) = min η s.t. ξ − X τ <= σ η``
    (``σ = sqrt(diag Σ_Y)``); ``c_LF`` is the ``1 − κ`` quantile of the η.

    Parameters
    ----------
    x_t : ndarray or None
        Nuisance columns X (None: no nuisance, delegated to moderndid).
    sigma : ndarray
        Covariance of the moments.
    hybrid_kappa : float
        First-stage size κ.
    sims : int
        Monte Carlo draws.
    rows_for_arp : ndarray or None
        Moments used.
    seed : int or None
        Seed of ``numpy.random.default_rng`` (moderndid's default 0).

    Returns
    -------
    float
        The critical value.
    """
    from moderndid.didhonest import arp_nuisance

    original = arp_nuisance.__dict__.get("_lopsnb_original_lf_cv", arp_nuisance.compute_least_favorable_cv)
    if x_t is None or sigma is None:
        return float(original(x_t, sigma, hybrid_kappa, sims=sims, rows_for_arp=rows_for_arp, seed=seed))
    rng = np.random.default_rng(seed)
    if rows_for_arp is not None:
        x_t = x_t[rows_for_arp]
        sigma = sigma[np.ix_(rows_for_arp, rows_for_arp)]
    x_t = x_t.reshape(-1, 1) if x_t.ndim == 1 else x_t
    sd = np.sqrt(np.diag(sigma))
    block = -np.column_stack([sd, x_t])  # rows: -σ η - X τ <= -ξ
    xi = rng.multivariate_normal(mean=np.zeros(sigma.shape[0]), cov=sigma, size=sims)
    n_var = block.shape[1]
    a_ub = sparse.kron(sparse.identity(sims, format="csr"), sparse.csr_matrix(block), format="csr")
    c = np.tile(np.concatenate([[1.0], np.zeros(n_var - 1)]), sims)
    res = optimize.linprog(c=c, A_ub=a_ub, b_ub=(-xi).ravel(), bounds=(None, None), method="highs")
    if res.status != 0:
        # Some draw's program is unbounded or infeasible: the per-draw loop skips those draws, so use it.
        return float(original(x_t, sigma, hybrid_kappa, sims=sims, rows_for_arp=None, seed=seed))
    eta = res.x.reshape(sims, n_var)[:, 0]
    return float(np.quantile(eta, 1 - hybrid_kappa))


_BANNER_SHOWN = False


def _new_highs() -> Any:
    """A silent HiGHS instance; the first one in a process prints a banner to fd 1, which would land in report cells."""
    global _BANNER_SHOWN
    import highspy

    if _BANNER_SHOWN:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
        _BANNER_SHOWN = True
    highs.silent()
    return highs


class _MaxProgram:
    """A HiGHS model of ``max f'x s.t. W'x = e_1, x >= 0`` whose costs change between solves."""

    def __init__(self, w_t: np.ndarray) -> None:
        import highspy

        self._hs = highspy
        self.highs = _new_highs()
        a_eq = sparse.csc_matrix(w_t.T)
        n_row, n_col = a_eq.shape
        b_eq = np.zeros(n_row)
        b_eq[0] = 1.0
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, n_row
        lp.col_cost_ = np.zeros(n_col)
        lp.col_lower_, lp.col_upper_ = np.zeros(n_col), np.full(n_col, highspy.kHighsInf)
        lp.row_lower_ = lp.row_upper_ = b_eq
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a_eq.indptr, a_eq.indices, a_eq.data
        self.highs.passModel(lp)
        self.index = np.arange(n_col, dtype=np.int32)

    def solve(self, f: np.ndarray) -> optimize.OptimizeResult:
        self.highs.changeColsCost(len(f), self.index, -np.asarray(f, dtype=float))
        self.highs.run()
        ok = self.highs.getModelStatus() == self._hs.HighsModelStatus.kOptimal
        value = -float(self.highs.getInfo().objective_function_value) if ok else float("nan")
        x = np.array(self.highs.getSolution().col_value) if ok else None
        return optimize.OptimizeResult(success=ok, x=x, fun=-value, objective_value=value)


_PROGRAMS: dict[tuple[tuple[int, ...], bytes], _MaxProgram] = {}


def solve_max_program(s_t: np.ndarray, gamma_tilde: np.ndarray, sigma: np.ndarray, w_t: np.ndarray, c: float) -> optimize.OptimizeResult:
    """moderndid's ``_solve_max_program`` (``max (s + Σγ c / γ'Σγ)'x s.t. W'x = e_1, x >= 0``), warm-started.

    Returns an ``OptimizeResult`` with ``success``, ``x``, ``fun`` and
    ``objective_value`` (the maximum), as moderndid's.
    """
    sigma_gamma = float(gamma_tilde.T @ sigma @ gamma_tilde)
    if sigma_gamma <= 0:
        raise ValueError("gamma'*sigma*gamma must be positive")
    f = s_t + (sigma @ gamma_tilde) * c / sigma_gamma
    key = (w_t.shape, np.ascontiguousarray(w_t).tobytes())
    program = _PROGRAMS.get(key)
    if program is None:
        program = _PROGRAMS[key] = _MaxProgram(w_t)
    return program.solve(np.ravel(f))


@contextmanager
def fast_lf_cv() -> Iterator[Any]:
    """Within the block, moderndid's C-LF inversion uses :func:`batched_lf_cv` and :func:`solve_max_program`."""
    from moderndid.didhonest import arp_nuisance

    original, original_max = arp_nuisance.compute_least_favorable_cv, arp_nuisance._solve_max_program
    arp_nuisance.__dict__.setdefault("_lopsnb_original_lf_cv", original)
    arp_nuisance.compute_least_favorable_cv = batched_lf_cv
    arp_nuisance._solve_max_program = solve_max_program
    try:
        yield arp_nuisance
    finally:
        arp_nuisance.compute_least_favorable_cv, arp_nuisance._solve_max_program = original, original_max
        _PROGRAMS.clear()
