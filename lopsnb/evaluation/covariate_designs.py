"""Covariate-adjusted designs on an impact panel: ``dr_did``, ``ipw_did``, ``reg_did``, ``weighting``.

Each collapses the panel to one row per entity (the window means of
:mod:`lopsnb.evaluation.panel`) and calls the estimators of
:mod:`lopsnb.evaluation.drdid` with an intercept plus
``evaluation.covariates`` (text covariates one-hot encoded, first level
dropped; constant columns dropped).

``dr_did`` / ``ipw_did`` / ``reg_did``
    Outcome change ``followup − baseline`` per entity (absolute windows
    only): the ATT on the change under parallel trends **conditional on the
    covariates**.
``weighting``
    No usable pre-period panel: the doubly robust (AIPW, Sant'Anna & Zhao's
    estimator with ``Y0 = 0``) ATT on the followup level, adjusting for the
    pre-program covariates and, when a baseline window exists, the baseline
    outcome. It assumes no unmeasured confounding given those (selection on
    observables): graded at most *moderate*.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lopsnb.errors import InsufficientDataError
from lopsnb.evaluation.degenerate import (
    OVERFLOW_ADVICE,
    check_interval,
    not_estimable,
    outcome_magnitude,
    outcome_scale,
    require_finite,
    require_within_variation,
)
from lopsnb.evaluation.drdid import TRIM_RULE, DRFit, covariate_names, design_matrix, dr_did, ipw_did, overlap_summary, reg_did, weighted_balance
from lopsnb.evaluation.methods import ASSUMPTIONS, Estimate, _from_normal, covariate_matrix
from lopsnb.evaluation.panel import ImpactPanel
from lopsnb.evaluation.staggered import BasePeriod, StaggeredDiD, callaway_santanna

__all__ = ["COVARIATE_DESIGNS", "covariate_estimate", "staggered_estimate"]

COVARIATE_DESIGNS = frozenset({"dr_did", "ipw_did", "reg_did", "weighting"})

_ADJUSTMENT = {
    "dr_did": "doubly robust: logistic propensity score and linear outcome regression of the change on the covariates",
    "ipw_did": "inverse probability weighting of the change (logistic propensity score on the covariates)",
    "reg_did": "outcome regression of the change on the covariates (comparison entities)",
    "weighting": "doubly robust (AIPW): logistic propensity score and linear outcome regression of the followup on the covariates",
}


def _entity_data(panel: ImpactPanel, method: str) -> tuple[pd.DataFrame, np.ndarray, list[str], pd.DataFrame, int]:
    """Entities usable by ``method``: their outcome, the covariates used and the design columns."""
    if panel.relative:
        raise InsufficientDataError(f"{method}: needs date windows shared by both groups, not cohort offsets")
    ents = panel.entities
    covs = [c for c in panel.program.evaluation.covariates if c in ents.columns]
    with_baseline = method != "weighting" or panel.program.evaluation.baseline is not None
    need = ["followup", *covs] + (["baseline"] if with_baseline else [])
    data = ents.dropna(subset=need)
    cov = covariate_matrix(data, covs)
    if method == "weighting":
        y = data["followup"].to_numpy(float)
        if with_baseline:
            cov = cov.assign(**{"baseline " + panel.program.outcome: data["baseline"].to_numpy(float)})
    else:
        y = (data["followup"] - data["baseline"]).to_numpy(float)
    return data, y, covs, cov, len(ents) - len(data)


def covariate_estimate(panel: ImpactPanel, method: str) -> tuple[Estimate, dict[str, Any]]:
    """Run one covariate-adjusted design on ``panel``.

    Returns
    -------
    Estimate
        ``details``: ``estimator``, ``covariates`` (as listed in the program),
        ``design_columns`` (the encoded columns the models used),
        ``covariate_adjustment``, ``se_type``, ``n_dropped``, ``n_trimmed``,
        ``trim_rule``.
    dict
        ``overlap`` (see :func:`~lopsnb.evaluation.drdid.overlap_summary`,
        None for ``reg_did``) and ``balance_weighted``
        (:func:`~lopsnb.evaluation.drdid.weighted_balance`).
    """
    data, y, covs, cov, n_dropped = _entity_data(panel, method)
    d = data["treated"].to_numpy(float)
    x = design_matrix(cov)
    ev = panel.program.evaluation
    fit: DRFit
    if method == "dr_did":
        fit = dr_did(y, d, x, estimator=ev.dr_estimator)
    elif method == "weighting":
        fit = dr_did(y, d, x, estimator="traditional")
    elif method == "ipw_did":
        fit = ipw_did(y, d, x)
    elif method == "reg_did":
        fit = reg_did(y, d, x)
    else:  # pragma: no cover - guarded by COVARIATE_DESIGNS
        raise ValueError(f"unknown covariate design {method!r}")
    details = {
        "estimator": fit.estimator if method != "weighting" else "aipw",
        "covariates": covs,
        "design_columns": list(covariate_names(cov)),
        "covariate_adjustment": _ADJUSTMENT[method] if len(x[0]) > 1 else "none (no usable covariate: unadjusted comparison)",
        "se_type": "influence function (Sant'Anna & Zhao 2020)",
        "n_dropped": int(n_dropped),
        "n_trimmed": fit.n_trimmed,
        "trim_rule": TRIM_RULE if fit.pscore is not None else None,
    }
    est = _from_normal(method, fit.estimate, fit.std_error, fit.n_treated, fit.n_comparison, transform=ev.transform, details=details)
    extra = {
        "overlap": ({"method": method, **overlap_summary(fit.pscore, d)} if fit.pscore is not None else None),
        "balance_weighted": weighted_balance(cov[list(covariate_names(cov))], d, fit.weights) if fit.pscore is not None and len(x[0]) > 1 else None,
    }
    return est, extra


def staggered_estimate(panel: ImpactPanel, *, base_period: BasePeriod = "varying") -> tuple[Estimate, StaggeredDiD]:
    """Callaway & Sant'Anna DiD of a cohort-offset panel with the program's settings.

    Comparison group: ``evaluation.control_group``, else never treated when
    at least 2 never-treated entities exist, else not yet treated (the rule
    is stated in ``details.control_group_rule``). With
    ``evaluation.covariates`` every ATT(g, t) is doubly robust (text
    covariates one-hot encoded). ``base_period="universal"`` gives the event
    study against g − 1 with its covariance in ``StaggeredDiD.event_vcov``
    (for sensitivity analyses); the evaluation itself uses ``varying``.
    """
    ev = panel.program.evaluation
    never = panel.entities["cohort"].isna().sum()
    control = ev.control_group or ("never_treated" if never >= 2 else "not_yet_treated")
    rule = "set in evaluation.control_group" if ev.control_group else "automatic: never_treated with at least 2 never-treated entities, else not_yet_treated"
    covs = [c for c in ev.covariates if c in panel.entities.columns]
    # Entity-level covariates, text one-hot encoded, joined to every period.
    xcov = covariate_matrix(panel.entities, covs)
    xcov = xcov.loc[:, xcov.std(ddof=0) > 0] if len(xcov.columns) else xcov
    obs = panel.obs.join(xcov.add_prefix("cov_"), on="entity_id")
    require_finite("did", obs["value"], "the outcome")
    require_within_variation("did", obs["value"], obs["entity_id"])
    if outcome_scale(obs["value"]) != 1.0:
        # The group-time result holds many frames in outcome units: refuse rather than rescale them all.
        raise not_estimable("did", f"outcome values beyond 1e100 in magnitude: {OVERFLOW_ADVICE}")
    res = callaway_santanna(
        obs.assign(cohort=obs["cohort"].where(obs["treated"])),
        entity="entity_id",
        period="pidx",
        outcome="value",
        cohort="cohort",
        control_group=control,
        window=tuple(ev.followup.offset),  # type: ignore[union-attr, arg-type]
        covariates=["cov_" + str(c) for c in xcov.columns],
        base_period=base_period,
    )
    est = Estimate(
        method="did",
        estimate=float(res.estimate),
        std_error=float(res.std_error),
        ci_low=float(res.ci_low),
        ci_high=float(res.ci_high),
        p_value=float(res.p_value),
        n_treated=int(res.n_treated),
        n_comparison=int(res.n_comparison),
        strength="strong",
        assumptions=ASSUMPTIONS["did_staggered"],
        transform=ev.transform,
        details={"estimator": "Callaway-Sant'Anna group-time ATT" + (" (doubly robust)" if covs else ""), "control_group": control,
                 "control_group_rule": rule, "window": list(ev.followup.offset), "n_cohorts": int(res.n_cohorts),  # type: ignore[union-attr]
                 "covariates": covs, "design_columns": [str(c) for c in xcov.columns], "covariate_adjustment": res.diagnostics["covariate_adjustment"],
                 "n_dropped_missing_covariates": res.diagnostics["n_dropped_missing_covariates"]},
    )
    check_interval("did", est.estimate, est.std_error, (est.ci_low, est.ci_high), magnitude=outcome_magnitude(obs["value"]))
    return est, res
