"""Staggered-adoption difference-in-differences (Callaway & Sant'Anna, 2021).

When people (or units) complete a program at different times, the two-way
fixed-effects DiD regression mixes already-treated entities into the comparison
group and can even flip the sign of the effect.  :func:`callaway_santanna`
instead estimates one clean 2×2 DiD per treatment cohort ``g`` and period ``t``
— the group-time average treatment effect on the treated

.. math::

    ATT(g, t) = E[Y_t - Y_{b(g,t)} \\mid G = g] - E[Y_t - Y_{b(g,t)} \\mid C_{g,t}],

and then aggregates them.  Without covariates this is the unconditional
estimator, with covariates the doubly robust one (each cell a Sant'Anna &
Zhao 2020 DR DiD, as R ``did::att_gt(xformla=..., est_method="dr")``), of
Callaway, B. & Sant'Anna, P. H. C. (2021), "Difference-in-Differences with
multiple time periods", *Journal of Econometrics* 225(2), 200-230, with the
**varying base period** of the R ``did`` package and the Python
``differences`` package: ``b(g, t) = g - 1`` for ``t >= g`` (effects) and
``b(g, t) = t - 1`` for ``t < g`` (short-difference placebos); optionally
the universal base period ``b = g - 1`` throughout.

Inference uses the analytic influence functions of CS2021 (clustered by
entity), including the estimation effect of the group-size weights in the
aggregations, and reproduces ``differences.ATTgt(...).fit(est_method="reg")``
to floating-point precision on balanced panels, and ``moderndid.att_gt`` /
``aggte`` (ports of R did) with covariates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from lopsnb._result import ResultMixin, jsonable
from lopsnb.errors import EvaluationError, InsufficientDataError
from lopsnb.options import BasePeriod, ControlGroup, validate_option

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes

__all__ = ["BasePeriod", "ControlGroup", "StaggeredDiD", "callaway_santanna"]

#: Which entities form the comparison group of each ATT(g, t).

_GROUP_TIME_COLUMNS = [
    "cohort",
    "period",
    "base_period",
    "relative_period",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "n_treated",
    "n_comparison",
    "kind",
]
_EVENT_COLUMNS = [
    "relative_period",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "n_entities",
    "kind",
]


@dataclass(kw_only=True)
class StaggeredDiD(ResultMixin):
    """Result of :func:`callaway_santanna`.

    Attributes
    ----------
    estimate : float
        Headline ATT: the "simple" aggregation of CS2021, i.e. the average of
        the post-treatment ATT(g, t) (``t >= g``) weighted by cohort size,
        restricted to event times ``e = t - g`` inside ``window`` when given.
        Its estimand is the average effect over all treated entity-periods in
        the (windowed) post-treatment span.
    std_error : float
        Analytic influence-function standard error, clustered by entity,
        including the estimation effect of the cohort-size weights.
    ci_low, ci_high : float
        Pointwise normal ``1 - alpha`` confidence interval.
    p_value : float
        Two-sided normal p-value of ``estimate = 0``.
    n_treated : int
        Treated entities in the cohorts that enter ``estimate``.
    n_comparison : int
        Distinct entities used as comparison in at least one ATT(g, t) that
        enters ``estimate`` (never-treated entities for ``"never_treated"``).
    n_cohorts : int
        Cohorts that enter ``estimate``.
    control_group : {"never_treated", "not_yet_treated"}
        Comparison group used.
    window : tuple of int or None
        Inclusive event-time window of the headline estimate.
    alpha : float
        Significance level of every interval.
    group_time : pandas.DataFrame
        One row per ATT(g, t): ``cohort`` (g), ``period`` (t), ``base_period``
        (b), ``relative_period`` (t - g), ``estimate``, ``std_error``,
        ``ci_low``, ``ci_high``, ``p_value``, ``n_treated`` (entities of
        cohort g), ``n_comparison`` (comparison entities of the cell),
        ``kind`` ("placebo" for t < g, "effect" otherwise).
    event_study : pandas.DataFrame
        Dynamic aggregation ATT(e), one row per available event time e:
        ``relative_period`` (e), ``estimate``, ``std_error``, ``ci_low``,
        ``ci_high``, ``p_value``, ``n_entities`` (treated entities whose
        cohort contributes to e), ``kind`` ("placebo" for e < 0, "effect").
        ATT(e) averages ATT(g, g + e) over cohorts weighted by cohort size.
        Intervals are pointwise (not uniform bands).
    diagnostics : dict
        Sample accounting: ``n_entities_input``, ``n_excluded_treated_first_period``
        (entities treated in the first period: no pre-period, excluded),
        ``n_dropped_unbalanced`` (entities with a missing outcome in any period,
        dropped to balance the panel), ``n_treated_after_panel`` (cohort after
        the last period: treated as never treated), ``n_entities_used``,
        ``n_never_treated``, ``n_periods``, ``first_period``, ``last_period``,
        ``cells_without_comparison`` (list of ``(g, t)`` with no comparison
        entity, left out), ``n_dropped_missing_covariates``, ``covariates``,
        ``covariate_adjustment`` (how covariates entered).
    covariates : tuple of str
        Covariate columns of the doubly robust cells (empty: unconditional).
    base_period : {"varying", "universal"}
        Base period of the pre-treatment cells. With ``universal`` the
        (g, g − 1) cells and event time −1 have kind ``reference`` (zero).
    aggregations : dict
        ``simple``, ``dynamic``, ``group`` and ``calendar`` aggregations of
        the post-treatment cells as ``did::aggte``: each ``{"overall": row,
        "by": [rows], "by_name": ...}`` (no ``by`` for simple) with rows
        ``label, estimate, std_error, ci_low, ci_high, p_value``.
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_comparison: int
    n_cohorts: int
    control_group: ControlGroup
    window: tuple[int, int] | None
    alpha: float
    group_time: pd.DataFrame = field(repr=False)
    event_study: pd.DataFrame = field(repr=False)
    diagnostics: dict[str, Any] = field(repr=False, default_factory=dict)
    # Covariance of the event-study estimates (rows/columns ordered as
    # ``event_study``), from the stacked influence functions: Wald tests need it.
    event_vcov: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))
    covariates: tuple[str, ...] = ()
    base_period: BasePeriod = "varying"
    aggregations: dict[str, Any] = field(repr=False, default_factory=dict)

    title = "Staggered DiD (Callaway & Sant'Anna 2021): event study"

    def to_frame(self) -> pd.DataFrame:
        """Return the event study (see :attr:`event_study`)."""
        return self.event_study.copy()

    def to_dict(self) -> dict[str, Any]:
        """Return the event-study rows plus the headline numbers, JSON-safe."""
        out = super().to_dict()
        out.update(
            jsonable(
                {
                    "estimate": self.estimate,
                    "std_error": self.std_error,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "p_value": self.p_value,
                    "n_treated": self.n_treated,
                    "n_comparison": self.n_comparison,
                    "n_cohorts": self.n_cohorts,
                    "control_group": self.control_group,
                    "window": list(self.window) if self.window is not None else None,
                    "alpha": self.alpha,
                    "pre_trend_test": self.pre_trend_test(),
                    "diagnostics": self.diagnostics,
                    "covariates": list(self.covariates),
                    "base_period": self.base_period,
                    "aggregations": self.aggregations,
                }
            )
        )
        return out

    def pre_trend_test(self) -> dict[str, Any]:
        """Wald test that every pre-treatment ATT(e) (e < 0) is zero.

        ``W = θ' V⁺ θ`` with θ the placebo ATT(e) and V their joint covariance
        from the influence functions; ``W ~ χ²(df)`` under the null, with
        ``df`` the rank of V (the number of placebo event times unless V is
        singular, in which case a pseudo-inverse is used).

        Returns
        -------
        dict
            ``statistic``, ``df``, ``p_value`` and ``n_placebo`` (number of
            placebo event times).  With no placebo estimate (every cohort has a
            single pre-period) the statistic and p-value are NaN and ``df`` 0.
        """
        pre = (self.event_study["relative_period"] < 0).to_numpy()
        theta = self.event_study["estimate"].to_numpy()[pre]
        if theta.size == 0:
            return {"statistic": float("nan"), "df": 0, "p_value": float("nan"), "n_placebo": 0}
        vcov = self.event_vcov[np.ix_(pre, pre)]
        rank = int(np.linalg.matrix_rank(vcov))
        if rank == 0:
            return {"statistic": float("nan"), "df": 0, "p_value": float("nan"), "n_placebo": int(theta.size)}
        stat = float(theta @ np.linalg.pinv(vcov) @ theta)
        return {
            "statistic": stat,
            "df": rank,
            "p_value": float(stats.chi2.sf(stat, rank)),
            "n_placebo": int(theta.size),
        }

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the event study: ATT(e) with confidence bars.

        Placebo (pre-treatment) estimates are grey, effects in colour; a
        horizontal line marks zero and a dashed vertical line separates
        e = -1 from e = 0 (treatment start).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is created when omitted.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from lopsnb.report.figures import draw_staggered_did

        return draw_staggered_did(self, ax)


def callaway_santanna(
    panel: pd.DataFrame,
    *,
    entity: str = "entity_id",
    period: str = "period",
    outcome: str = "value",
    cohort: str = "cohort",
    control_group: ControlGroup = "never_treated",
    window: tuple[int, int] | None = None,
    alpha: float = 0.05,
    covariates: Sequence[str] = (),
    base_period: BasePeriod = "varying",
) -> StaggeredDiD:
    """Callaway & Sant'Anna (2021) staggered-adoption DiD, with or without covariates.

    Parameters
    ----------
    panel : pandas.DataFrame
        One row per entity × period.
    entity : str
        Entity identifier column.
    period : str
        Integer period index (consecutive integers, e.g. months counted from
        the first KPI month).
    outcome : str
        Numeric outcome column.
    cohort : str
        Period index of the entity's first treated period (constant within
        entity); NaN for never-treated entities.  Entities treated in the
        first period (no pre-period) are excluded; entities whose cohort lies
        after the last period are never treated within the panel and are used
        as such (both counted in ``diagnostics``).
    control_group : {"never_treated", "not_yet_treated"}
        Comparison entities of ATT(g, t): the never treated, or the never
        treated plus entities with cohort > max(t, b) (not yet treated in
        either period of the 2×2 comparison, and not of cohort g).
    window : tuple of int, optional
        Inclusive event-time window ``(lo, hi)`` of the headline estimate,
        e.g. ``(0, 5)``; only post-treatment event times (e >= 0) inside it
        enter.  ``None`` uses every post-treatment ATT(g, t).
    alpha : float
        Significance level of the pointwise confidence intervals.
    covariates : sequence of str
        Numeric covariate columns (encode text beforehand). With covariates
        every ATT(g, t) is the doubly robust DiD of Sant'Anna & Zhao (2020)
        (logit propensity score + linear outcome regression of the change,
        covariates taken in the base period), as R ``did::att_gt(xformla =
        ~ covariates, est_method = "dr")``; entities with a missing
        covariate are dropped (``diagnostics["n_dropped_missing_covariates"]``).
    base_period : {"varying", "universal"}
        ``varying`` (did's default): pre-treatment cells are short
        differences ``Y_t − Y_{t−1}``. ``universal``: every cell of cohort g
        compares with ``g − 1``; the (g, g − 1) cell and event time −1 are
        the reference, zero by construction (kind ``reference``), which is
        what sensitivity analyses of the event study (HonestDiD) expect.

    Returns
    -------
    StaggeredDiD
        Headline simple aggregation, group-time table and event study.

    Raises
    ------
    EvaluationError
        Missing columns, bad option values, non-integer or non-consecutive
        periods, duplicated entity-periods, cohort varying within an entity.
    InsufficientDataError
        No usable entity after balancing, no treated cohort with a
        pre-period, no comparison entity, or no post-treatment cell in
        ``window``.

    Notes
    -----
    ``ATT(g, t) = mean_{G=g}(Y_t - Y_b) - mean_{C}(Y_t - Y_b)`` with base
    period ``b = g - 1`` for ``t >= g`` and ``b = t - 1`` for ``t < g``
    (varying base period; pre-period cells are short-difference placebos).
    Its influence function for entity i, with n entities in the panel, is
    ``n [D_i (ΔY_i - μ_g) / n_g - C_i (ΔY_i - μ_C) / n_C]`` and
    ``SE = sqrt(Σ_i IF_i²) / n``.  Aggregations ``Σ_k w_k ATT_k`` with
    ``w_k ∝ n_{g(k)}`` add the influence function of the estimated weights
    (CS2021, Appendix; ``did::compute.aggte``).

    The panel estimator uses each entity in both periods of a 2×2 cell, so
    the panel is **balanced over all periods first**: any entity with a
    missing outcome (NaN or absent row) in any period is dropped and counted
    in ``diagnostics["n_dropped_unbalanced"]``.  Group-time cells without any
    comparison entity (possible with ``"not_yet_treated"`` and no never
    treated) are left out and listed in ``diagnostics``.
    """
    validate_option("control_group", control_group, ControlGroup)
    validate_option("base_period", base_period, BasePeriod)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < float(alpha) < 1:
        raise EvaluationError(f"alpha must be a number strictly between 0 and 1; got {alpha!r}")
    alpha = float(alpha)
    window = _check_window(window)
    covariates = list(covariates)

    y, coh, periods, diag, xcov = _prepare(panel, entity=entity, period=period, outcome=outcome, cohort=cohort, covariates=covariates)
    cells = _cells(coh, periods, control_group, base_period, diag)
    att, infl = _cell_estimates(y, xcov, cells, int(periods[0]))
    z = float(stats.norm.ppf(1 - alpha / 2))
    group_time = _group_time_table(att, infl, cells, z)
    event_study, es_vcov = _event_study(att, infl, cells, z)

    # Headline: simple aggregation over post-treatment cells (in the window).
    g_cell, rel, treated, comparison = cells["g"], cells["rel"], cells["treated"], cells["comparison"]
    n = y.shape[0]
    post = (rel >= 0) & ~cells["reference"]
    if window is not None:
        post &= (rel >= window[0]) & (rel <= window[1])
    if not post.any():
        raise InsufficientDataError(
            f"no post-treatment group-time effect with event time in window {window}; "
            f"available event times are {sorted(set(rel[rel >= 0].tolist()))}"
        )
    est, if_overall = _aggregate(att[post], infl[:, post], treated[:, post])
    se_overall = float(np.sqrt((if_overall**2).sum()) / n)
    used_cohorts = np.unique(g_cell[post])
    diag["covariates"] = covariates
    diag["covariate_adjustment"] = "doubly robust (did::att_gt, est_method='dr')" if covariates else "none (unconditional parallel trends)"
    return StaggeredDiD(
        estimate=float(est),
        std_error=se_overall,
        ci_low=float(est - z * se_overall),
        ci_high=float(est + z * se_overall),
        p_value=float(_p_value(np.array([est]), np.array([se_overall]))[0]),
        n_treated=int(np.isin(coh, used_cohorts).sum()),
        n_comparison=int(comparison[:, post].any(axis=1).sum()),
        n_cohorts=int(used_cohorts.size),
        control_group=control_group,
        window=window,
        alpha=alpha,
        group_time=group_time,
        event_study=event_study,
        diagnostics=diag,
        event_vcov=es_vcov,
        covariates=tuple(covariates),
        base_period=base_period,
        aggregations=_aggregations(att, infl, cells, z),
    )


# ----------------------------------------------------------------- steps


def _cells(coh: np.ndarray, periods: np.ndarray, control_group: str, base_period: str, diag: dict[str, Any]) -> dict[str, Any]:
    """The group-time cells (g, t, base b) with their treated and comparison entity masks."""
    p0 = int(periods[0])
    cohorts = np.unique(coh[~np.isnan(coh)])
    if cohorts.size == 0:
        raise InsufficientDataError(
            "no treated cohort with a pre-period: every treated entity was treated in the first "
            f"period ({p0}) or has a missing outcome; nothing to estimate"
        )
    never = np.isnan(coh)
    if control_group == "never_treated" and not never.any():
        raise InsufficientDataError(
            "no never-treated comparison entity (cohort NaN) after balancing the panel; "
            "use control_group='not_yet_treated' or add comparison entities"
        )
    # Varying base period (did default): every t after the first, b = t - 1
    # before treatment. Universal: every t, b = g - 1 throughout, and the
    # (g, g - 1) cell is the reference (zero by construction, as in did).
    t_list = periods if base_period == "universal" else periods[1:]
    g_cell = np.repeat(cohorts, t_list.size)
    t_cell = np.tile(t_list, cohorts.size).astype(float)
    if base_period == "universal":
        b_cell = g_cell - 1
    else:
        b_cell = np.where(t_cell < g_cell, t_cell - 1, g_cell - 1)
    treated = coh[:, None] == g_cell[None, :]
    if control_group == "never_treated":
        comparison = np.broadcast_to(never[:, None], treated.shape)
    else:
        later = np.maximum(t_cell, b_cell)
        with np.errstate(invalid="ignore"):
            comparison = never[:, None] | ((coh[:, None] > later[None, :]) & ~treated)
    n_c = comparison.sum(axis=0)
    keep = n_c > 0
    diag["cells_without_comparison"] = [(int(g), int(t)) for g, t in zip(g_cell[~keep], t_cell[~keep])]
    if not keep.any():
        raise InsufficientDataError(
            "no comparison entity for any cohort and period: there are no never-treated or "
            "not-yet-treated entities"
        )
    g_cell, t_cell, b_cell = g_cell[keep], t_cell[keep], b_cell[keep]
    return {
        "g": g_cell, "t": t_cell, "b": b_cell, "rel": (t_cell - g_cell).astype(int), "reference": t_cell == b_cell,
        "treated": treated[:, keep], "comparison": np.ascontiguousarray(comparison[:, keep]),
    }


def _cell_estimates(y: np.ndarray, xcov: np.ndarray | None, cells: dict[str, Any], p0: int) -> tuple[np.ndarray, np.ndarray]:
    """ATT(g, t) of every cell and the (n × cells) influence functions, scaled to the full panel.

    Without covariates the 2×2 difference of mean changes; with covariates
    the doubly robust DiD of Sant'Anna & Zhao (2020) on the cell's treated
    and comparison entities, covariates taken in the base period (did's
    convention), its influence function scaled by ``n / n_cell``.
    """
    from lopsnb.evaluation.drdid import dr_did

    treated, comparison = cells["treated"], cells["comparison"]
    t_idx, b_idx = (cells["t"] - p0).astype(int), (cells["b"] - p0).astype(int)
    dy = y[:, t_idx] - y[:, b_idx]
    n = y.shape[0]
    n_g, n_c = treated.sum(axis=0), comparison.sum(axis=0)
    if xcov is None:
        mu_g = np.where(treated, dy, 0.0).sum(axis=0) / n_g
        mu_c = np.where(comparison, dy, 0.0).sum(axis=0) / n_c
        infl = n * (np.where(treated, dy - mu_g, 0.0) / n_g - np.where(comparison, dy - mu_c, 0.0) / n_c)
        return np.where(cells["reference"], 0.0, mu_g - mu_c), np.where(cells["reference"][None, :], 0.0, infl)
    att = np.zeros(t_idx.size)
    infl = np.zeros((n, t_idx.size))
    for k in np.flatnonzero(~cells["reference"]):
        sub = treated[:, k] | comparison[:, k]
        x = np.column_stack([np.ones(int(sub.sum())), xcov[sub][:, :, b_idx[k]]])
        try:
            fit = dr_did(dy[sub, k], treated[sub, k].astype(float), x)
        except InsufficientDataError as exc:
            raise InsufficientDataError(f"cohort {int(cells['g'][k])}, period {int(cells['t'][k])}: {exc}") from exc
        att[k] = fit.estimate
        infl[sub, k] = fit.influence * n / sub.sum()
    return att, infl


def _group_time_table(att: np.ndarray, infl: np.ndarray, cells: dict[str, Any], z: float) -> pd.DataFrame:
    n = infl.shape[0]
    se = np.sqrt((infl**2).sum(axis=0)) / n
    rel = cells["rel"]
    kind = np.where(cells["reference"], "reference", np.where(rel < 0, "placebo", "effect"))
    return pd.DataFrame(
        {
            "cohort": cells["g"].astype(int),
            "period": cells["t"].astype(int),
            "base_period": cells["b"].astype(int),
            "relative_period": rel,
            "estimate": att,
            "std_error": se,
            "ci_low": att - z * se,
            "ci_high": att + z * se,
            "p_value": _p_value(att, se),
            "n_treated": cells["treated"].sum(axis=0).astype(int),
            "n_comparison": cells["comparison"].sum(axis=0).astype(int),
            "kind": kind,
        },
        columns=_GROUP_TIME_COLUMNS,
    )


def _event_study(att: np.ndarray, infl: np.ndarray, cells: dict[str, Any], z: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Dynamic aggregation ATT(e) for every event time, and the covariance of the ATT(e)."""
    n = infl.shape[0]
    rel, treated = cells["rel"], cells["treated"]
    event_times = np.unique(rel)
    es_est = np.empty(event_times.size)
    es_if = np.empty((n, event_times.size))
    es_n = np.empty(event_times.size, dtype=int)
    for j, e in enumerate(event_times):
        sel = rel == e
        es_est[j], es_if[:, j] = _aggregate(att[sel], infl[:, sel], treated[:, sel])
        es_n[j] = int(treated[:, sel].any(axis=1).sum())
    es_vcov = es_if.T @ es_if / n**2
    es_se = np.sqrt(np.maximum(np.diag(es_vcov), 0.0))
    ref = np.array([bool(cells["reference"][rel == e].all()) for e in event_times])
    frame = pd.DataFrame(
        {
            "relative_period": event_times.astype(int),
            "estimate": es_est,
            "std_error": es_se,
            "ci_low": es_est - z * es_se,
            "ci_high": es_est + z * es_se,
            "p_value": _p_value(es_est, es_se),
            "n_entities": es_n,
            "kind": np.where(ref, "reference", np.where(event_times < 0, "placebo", "effect")),
        },
        columns=_EVENT_COLUMNS,
    )
    return frame, es_vcov


def _agg_row(label: Any, est: float, inf: np.ndarray, z: float) -> dict[str, Any]:
    se = float(np.sqrt((inf**2).sum()) / inf.shape[0])
    return {"label": label, "estimate": float(est), "std_error": se, "ci_low": float(est - z * se), "ci_high": float(est + z * se),
            "p_value": float(_p_value(np.array([est]), np.array([se]))[0])}


def _aggregations(att: np.ndarray, infl: np.ndarray, cells: dict[str, Any], z: float) -> dict[str, Any]:
    """The four ``did::aggte`` aggregations of the post-treatment cells, with influence-function SEs.

    ``simple``: cohort-size weighted mean of every ATT(g, t), t ≥ g.
    ``dynamic``: ATT(e) per event time (cohort-size weights, all e); overall
    = mean of ATT(e) over e ≥ 0. ``group``: per cohort the mean of its
    post-treatment ATT(g, t); overall = cohort-size weighted mean of those.
    ``calendar``: per period t the cohort-size weighted mean of ATT(g, t)
    over cohorts treated by t; overall = mean over those periods. Weights
    estimated from cohort shares contribute their influence function
    (``wif``) exactly where ``did::compute.aggte`` adds it.
    """
    g, t, rel, treated = cells["g"], cells["t"], cells["rel"], cells["treated"]
    post = (rel >= 0) & ~cells["reference"]
    out: dict[str, Any] = {}
    est, inf = _aggregate(att[post], infl[:, post], treated[:, post])
    out["simple"] = {"overall": _agg_row(None, est, inf, z)}

    rows, ifs, ests = [], [], []
    for e in np.unique(rel[~cells["reference"]]):
        sel = (rel == e) & ~cells["reference"]
        est_e, inf_e = _aggregate(att[sel], infl[:, sel], treated[:, sel])
        rows.append(_agg_row(int(e), est_e, inf_e, z))
        if e >= 0:
            ifs.append(inf_e)
            ests.append(est_e)
    out["dynamic"] = {"overall": _agg_row(None, float(np.mean(ests)), np.mean(ifs, axis=0), z), "by": rows, "by_name": "relative_period"}

    groups = np.unique(g[post])
    g_est = np.array([att[post & (g == c)].mean() for c in groups])
    g_if = np.column_stack([infl[:, post & (g == c)].mean(axis=1) for c in groups])
    g_d = np.column_stack([treated[:, np.flatnonzero(g == c)[0]] for c in groups])
    est, inf = _aggregate(g_est, g_if, g_d)
    out["group"] = {"overall": _agg_row(None, est, inf, z), "by": [_agg_row(int(c), g_est[i], g_if[:, i], z) for i, c in enumerate(groups)],
                    "by_name": "cohort"}

    rows, ifs, ests = [], [], []
    for per in np.unique(t[post]):
        sel = post & (t == per)
        est_t, inf_t = _aggregate(att[sel], infl[:, sel], treated[:, sel])
        rows.append(_agg_row(int(per), est_t, inf_t, z))
        ifs.append(inf_t)
        ests.append(est_t)
    out["calendar"] = {"overall": _agg_row(None, float(np.mean(ests)), np.mean(ifs, axis=0), z), "by": rows, "by_name": "period"}
    return out


# ----------------------------------------------------------------- helpers


def _aggregate(att: np.ndarray, infl: np.ndarray, treated: np.ndarray) -> tuple[float, np.ndarray]:
    """Cohort-size weighted average of ATT(g, t) cells and its influence function.

    The weights ``w_k = p_k / Σ p`` use the estimated cohort shares
    ``p_k = n_{g(k)} / n``; their own influence function (``wif``, as in
    ``did::compute.aggte`` and ``differences``) is added to the weighted
    cell influence functions.
    """
    d = treated.astype(float)
    shares = d.mean(axis=0)
    total = shares.sum()
    weights = shares / total
    centred = d - shares
    wif = centred / total - centred.sum(axis=1, keepdims=True) * (shares / total**2)[None, :]
    return float(weights @ att), infl @ weights + wif @ att


def _p_value(est: np.ndarray, se: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2 * stats.norm.sf(np.abs(est / se))


def _check_window(window: Any) -> tuple[int, int] | None:
    if window is None:
        return None
    ok = (
        isinstance(window, (tuple, list))
        and len(window) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in window)
    )
    if not ok or window[0] > window[1]:
        raise EvaluationError(f"window must be a pair of integers (lo, hi) with lo <= hi; got {window!r}")
    return int(window[0]), int(window[1])


def _integer_column(values: pd.Series, name: str, *, allow_missing: bool) -> np.ndarray:
    """Return a float array of integer values, raising on anything else."""
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        raise EvaluationError(f"column '{name}' must hold integer period indices; found dtype {values.dtype}")
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(arr)
    if missing.any() and not allow_missing:
        raise EvaluationError(f"column '{name}' has {int(missing.sum())} missing value(s); expected integers")
    bad = ~missing & ((arr != np.round(arr)) | ~np.isfinite(arr))
    if bad.any():
        raise EvaluationError(
            f"column '{name}' must hold integer period indices; found {arr[bad][0]!r}"
        )
    return arr


def _check_columns(panel: pd.DataFrame, *, entity: str, outcome: str, columns: Sequence[str], covariates: Sequence[str]) -> None:
    """The panel is a non-empty DataFrame with the named, numeric columns and no missing entity ids."""
    if not isinstance(panel, pd.DataFrame):
        raise EvaluationError(f"panel must be a pandas DataFrame; got {type(panel).__name__}")
    missing_cols = [c for c in columns if c not in panel.columns]
    if missing_cols:
        raise EvaluationError(
            f"panel is missing column(s) {missing_cols}; it has {list(map(str, panel.columns))}"
        )
    if len(panel) == 0:
        raise InsufficientDataError("panel is empty")
    for col in (outcome, *covariates):
        if not pd.api.types.is_numeric_dtype(panel[col]) or pd.api.types.is_bool_dtype(panel[col]) and col == outcome:
            raise EvaluationError(f"column '{col}' must be numeric; found dtype {panel[col].dtype}")
    if panel[entity].isna().any():
        raise EvaluationError(f"column '{entity}' has missing entity identifiers")


def _long_frame(panel: pd.DataFrame, *, entity: str, period: str, outcome: str, cohort: str) -> pd.DataFrame:
    """Columns ``e, p, g, y``: one row per entity and period, the cohort constant within an entity."""
    per = _integer_column(panel[period], period, allow_missing=False)
    coh = _integer_column(panel[cohort], cohort, allow_missing=True)
    frame = pd.DataFrame(
        {
            "e": panel[entity].to_numpy(),
            "p": per.astype(np.int64),
            "g": coh,
            "y": panel[outcome].to_numpy(dtype=float, na_value=np.nan),
        }
    )
    dup = frame.duplicated(["e", "p"])
    if dup.any():
        first = frame.loc[dup].iloc[0]
        raise EvaluationError(
            f"{int(dup.sum())} duplicated entity × period row(s), e.g. {entity}={first['e']!r}, "
            f"{period}={int(first['p'])}; expected one row per entity and period"
        )
    varying = frame.groupby("e", sort=True)["g"].nunique(dropna=False) > 1
    if varying.any():
        raise EvaluationError(
            f"column '{cohort}' varies within {int(varying.sum())} entit(y/ies), e.g. "
            f"{entity}={varying[varying].index[0]!r}; the treatment period must be constant per entity"
        )
    return frame


def _consecutive_periods(frame: pd.DataFrame, period: str) -> np.ndarray:
    """The sorted periods of the panel: at least two, consecutive integers."""
    periods = np.unique(frame["p"].to_numpy())
    if periods.size < 2:
        raise InsufficientDataError(f"need at least 2 periods; the panel has {periods.size}")
    if np.any(np.diff(periods) != 1):
        raise EvaluationError(
            f"column '{period}' must hold consecutive integers (e.g. months since the first KPI "
            f"month); found gaps between {periods.min()} and {periods.max()}"
        )
    return periods


def _prepare(
    panel: pd.DataFrame, *, entity: str, period: str, outcome: str, cohort: str, covariates: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any], np.ndarray | None]:
    """Validate, exclude always-treated entities and balance the panel.

    Returns the entity × period outcome matrix, the cohort of each row
    (NaN = never treated within the panel), the sorted periods, the
    sample-accounting diagnostics and the entity × covariate × period
    covariate array (None without covariates).
    """
    _check_columns(panel, entity=entity, outcome=outcome, columns=(entity, period, outcome, cohort, *covariates), covariates=covariates)
    frame = _long_frame(panel, entity=entity, period=period, outcome=outcome, cohort=cohort)
    periods = _consecutive_periods(frame, period)
    first, last = int(periods[0]), int(periods[-1])

    g_entity = frame.groupby("e", sort=True)["g"].first()
    n_input = int(g_entity.size)
    always = g_entity <= first
    after = g_entity > last
    wide = frame.pivot(index="e", columns="p", values="y").reindex(columns=periods)
    wide = wide.loc[~always.reindex(wide.index).to_numpy()]
    complete = wide.notna().all(axis=1).to_numpy()
    covs = [
        frame.assign(x=panel[c].to_numpy(dtype=float, na_value=np.nan)).pivot(index="e", columns="p", values="x").reindex(index=wide.index, columns=periods)
        for c in covariates
    ]
    cov_ok = np.all([cv.notna().all(axis=1).to_numpy() for cv in covs], axis=0) if covs else np.ones(len(wide), bool)
    n_missing_cov = int((complete & ~cov_ok).sum())
    complete = complete & cov_ok
    wide = wide.loc[complete]
    g_used = g_entity.reindex(wide.index).to_numpy(dtype=float, copy=True)
    # Treatment after the panel's end is never observed: such entities are
    # never treated within the panel (as in `did` and `differences`).
    g_used[g_used > last] = np.nan
    if wide.shape[0] == 0:
        raise InsufficientDataError(
            "no entity left after excluding entities treated in the first period and "
            "entities with missing outcomes"
        )
    diag: dict[str, Any] = {
        "n_entities_input": n_input,
        "n_excluded_treated_first_period": int(always.sum()),
        "n_dropped_unbalanced": int((~complete).sum()),
        "n_treated_after_panel": int(after.sum()),
        "n_entities_used": int(wide.shape[0]),
        "n_never_treated": int(np.isnan(g_used).sum()),
        "n_periods": int(periods.size),
        "first_period": first,
        "last_period": last,
        "n_dropped_missing_covariates": n_missing_cov,
    }
    xcov = np.stack([cv.loc[complete].to_numpy(dtype=float) for cv in covs], axis=1) if covs else None
    return wide.to_numpy(dtype=float), g_used, periods, diag, xcov
