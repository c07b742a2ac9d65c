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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from scipy import optimize, sparse

__all__ = ["batched_lf_cv", "fast_lf_cv"]


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


@contextmanager
def fast_lf_cv() -> Iterator[Any]:
    """Within the block, moderndid's C-LF inversion uses :func:`batched_lf_cv` (same value, one LP)."""
    from moderndid.didhonest import arp_nuisance

    original = arp_nuisance.compute_least_favorable_cv
    arp_nuisance.__dict__.setdefault("_lopsnb_original_lf_cv", original)
    arp_nuisance.compute_least_favorable_cv = batched_lf_cv
    try:
        yield arp_nuisance
    finally:
        arp_nuisance.compute_least_favorable_cv = original
