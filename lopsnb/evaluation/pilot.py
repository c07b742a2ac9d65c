"""Designs for a pilot at one or a few sites: ``synthetic_control`` and ``sdid`` on an :class:`ImpactPanel`.

The baseline window gives the pre-periods, the followup window the
post-periods (absolute date windows only: every treated unit must start in
the same period); periods between the windows are left out. Participating
entities are the treated units and the comparison entities the donors. The
result is an :class:`~lopsnb.evaluation.methods.Estimate` in outcome units per
entity per period, with the design's diagnostics in ``details``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from lopsnb.errors import EvaluationError, InsufficientDataError
from lopsnb.evaluation.methods import ASSUMPTIONS, METHOD_STRENGTH, Estimate
from lopsnb.evaluation.panel import ImpactPanel
from lopsnb.evaluation.sdid import sdid
from lopsnb.evaluation.synth import synthetic_control

__all__ = ["PILOT_DESIGNS", "MAX_SC_TREATED", "pilot_estimate", "single_unit_hint"]

PILOT_DESIGNS = frozenset({"synthetic_control", "sdid"})
#: One synthetic unit is fitted per treated unit (and per placebo): beyond this, use did.
MAX_SC_TREATED = 20


def _frame(panel: ImpactPanel, method: str) -> tuple[pd.DataFrame, list[Any], list[int], list[int]]:
    if panel.relative:
        raise InsufficientDataError(f"{method}: needs absolute (date) windows; every participating unit must start in the same period")
    obs = panel.obs.dropna(subset=["window"])
    pre = sorted(obs.loc[obs["window"] == "baseline", "pidx"].unique().tolist())
    post = sorted(obs.loc[obs["window"] == "followup", "pidx"].unique().tolist())
    treated = sorted(obs.loc[obs["treated"], "entity_id"].unique().tolist())
    n_c = obs.loc[~obs["treated"], "entity_id"].nunique()
    if not treated:
        raise InsufficientDataError(f"{method}: no participating entity has outcome data in the windows")
    if n_c < 2:
        raise InsufficientDataError(f"{method}: {n_c} comparison (donor) entities with outcome data (need at least 2)")
    return obs, treated, pre, post


def _period_labels(panel: ImpactPanel) -> dict[int, str]:
    first = panel.obs.groupby("pidx")["period"].first()
    return {int(k): str(pd.Timestamp(v).date()) for k, v in first.items()}


def _records(df: pd.DataFrame, labels: dict[int, str], col: str = "period") -> list[dict[str, Any]]:
    out = df.copy()
    if col in out.columns:
        out[col] = out[col].map(lambda p: labels.get(int(p), p))
    return out.to_dict(orient="records")


def _synthetic_control(panel: ImpactPanel) -> Estimate:
    obs, treated, pre, post = _frame(panel, "synthetic_control")
    if len(treated) > MAX_SC_TREATED:
        raise EvaluationError(f"synthetic_control: {len(treated)} participating entities; the design is for 1 to about 10 (use did or sdid)")
    ents = panel.entities
    covs = [c for c in panel.program.evaluation.covariates if c in ents.columns and pd.api.types.is_numeric_dtype(ents[c])]
    r = synthetic_control(obs, unit="entity_id", time="pidx", outcome="value", treated=treated, pre=pre, post=post,
                          covariates=ents[covs] if covs else None)
    labels = _period_labels(panel)
    details = {
        "estimator": "Abadie-Diamond-Hainmueller synthetic control, V = I on the baseline path; average of per-unit gaps",
        "weights": r.weights.to_dict(orient="records"),
        "gaps": _records(r.gaps, labels),
        "placebo_gaps": _records(r.placebo_gaps, labels),
        "placebos": r.placebos.to_dict(orient="records"),
        "rmspe": r.pre_rmspe, "pre_sd": r.pre_sd, "fit_ratio": r.fit_ratio,
        "p_value": r.p_value, "unit_p_values": [{"unit": k, "p_value": v} for k, v in r.unit_p_values.items()],
        "loo": r.loo.to_dict(orient="records"), "interval": "placebo permutation" if r.interval_reason is None else None,
        "interval_reason": r.interval_reason, "covariates": covs, "n_pre": r.n_pre, "n_post": r.n_post, "notes": r.notes,
    }
    return Estimate(method="synthetic_control", estimate=r.estimate, std_error=r.std_error, ci_low=r.ci_low, ci_high=r.ci_high,
                    p_value=r.p_value, n_treated=r.n_treated, n_comparison=r.n_donors, strength=METHOD_STRENGTH["synthetic_control"],
                    assumptions=ASSUMPTIONS["synthetic_control"], transform=panel.program.evaluation.transform, details=details)


def _sdid(panel: ImpactPanel) -> Estimate:
    obs, treated, pre, post = _frame(panel, "sdid")
    r = sdid(obs, unit="entity_id", time="pidx", outcome="value", treated=treated, pre=pre, post=post)
    labels = _period_labels(panel)
    gaps = r.gaps
    pre_gap = gaps.loc[~gaps["post"], "gap"].to_numpy()
    # Fit of the SDID counterfactual over the baseline periods (unweighted, as for synthetic control).
    rmspe = float(np.sqrt(np.mean(pre_gap**2)))
    pre_sd = float(np.std(obs.loc[obs["pidx"].isin(pre), "value"], ddof=1))
    details = {
        "estimator": "Arkhangelsky et al. (2021) synthetic DiD (R synthdid defaults)",
        "vcov_method": r.vcov_method, "weights": r.unit_weights[r.unit_weights["weight"] > 0].to_dict(orient="records"),
        "time_weights": _records(r.time_weights, labels), "gaps": _records(gaps, labels), "zeta_omega": r.zeta_omega,
        "noise_level": r.noise_level, "rmspe": rmspe, "pre_sd": pre_sd, "fit_ratio": rmspe / pre_sd if pre_sd > 0 else float("nan"),
        "p_value": r.p_value, "n_pre": r.n_pre, "n_post": r.n_post, "notes": r.notes,
    }
    return Estimate(method="sdid", estimate=r.estimate, std_error=r.std_error, ci_low=r.ci_low, ci_high=r.ci_high,
                    p_value=r.p_value, n_treated=r.n_treated, n_comparison=r.n_control, strength=METHOD_STRENGTH["sdid"],
                    assumptions=ASSUMPTIONS["sdid"], transform=panel.program.evaluation.transform, details=details)


def pilot_estimate(method: str, panel: ImpactPanel) -> Estimate:
    """Run ``synthetic_control`` or ``sdid`` on ``panel``.

    Raises
    ------
    InsufficientDataError
        Offset windows, no participating entity or fewer than 2 donors, an
        unbalanced treated unit, or an undefined variance.
    EvaluationError
        Too many treated units for synthetic control.
    """
    if method == "synthetic_control":
        return _synthetic_control(panel)
    if method == "sdid":
        return _sdid(panel)
    raise EvaluationError(f"unknown pilot design {method!r}")  # pragma: no cover - Literal-checked


def single_unit_hint(design: str, message: str, panel: ImpactPanel | None) -> str:
    """Point a design that refused one or two treated units to the pilot designs."""
    if design in PILOT_DESIGNS or panel is None or panel.relative or not 1 <= panel.n_treated <= 2 or panel.n_comparison < 2:
        return message
    return f"{message}; with {panel.n_treated} participating unit(s) and {panel.n_comparison} comparison units use design synthetic_control or sdid"
