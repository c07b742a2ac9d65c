"""Evidence grade: how far an executive can rely on the isolated effect.

The grade starts from the primary design's strength and is capped by each
rule that applies; every rule that fires adds a plain-language reason.

=====================================================  =====================
Rule                                                   Effect on the grade
=====================================================  =====================
No primary estimate, or fewer than 10 participating    **insufficient**
entities (or fewer than 10 comparison entities for a
comparison design)
Design: did / ancova / dr_did / ipw_did / reg_did      start at strong
Design: post_only / trend / weighting                  start at moderate
Design: before_after / estimates                       start at weak
Fewer than 30 participating entities                   at most moderate
Baseline |SMD| > 0.25 (WWC "fails")                    at most moderate
                                                       (weak for post_only)
Baseline |SMD| in (0.05, 0.25] with post_only          at most moderate
A covariate with |SMD| > 0.25 (did / post_only), unless  at most moderate
a covariate-adjusted estimate (the primary itself when
it used covariates, else ancova / dr_did / weighting)
agrees (its interval overlaps the primary interval)
Design: weighting (selection on observables)           at most moderate
Pre-trend / placebo test p < 0.05 (did)                at most weak
Interval wider than twice the break-even effect        at most moderate
(or, without monetization, than twice the effect)
Fewer than 70% of participants have outcome data       at most moderate
Sensitivity (when assessed, see below) below the       at most moderate
threshold for *strong*
synthetic_control / sdid: fewer than 10 donor units    **insufficient**
(the participant minimum of 10 does not apply)
synthetic_control / sdid: one participating unit       at most moderate
synthetic_control / sdid: baseline RMSPE > 0.5 × the   at most weak
baseline outcome SD (poor pre-period fit)
synthetic_control / sdid: placebo p ≥ 0.10, or no      at most weak
95% interval
synthetic_control / sdid: interval wider than twice    at most moderate
the break-even effect (or the effect)
survival: fewer than 10 participants or 10 comparison   **insufficient**
people followed
survival: start (no adjustment for who took part)      start at moderate
survival: a covariate with |SMD| > 0.25 not in the Cox  at most weak
model (or no covariates given with an imbalance)
survival: fewer than half of a group followed to the   at most weak
horizon (or had the event before it)
survival, origin hire_date: more than 10% of            at most weak
participants enrolled over 30 days after hire
(immortal time)
survival: interval of the monetized effect wider than   at most moderate
twice the break-even effect (or the effect)
survival: proportional-hazards check p < 0.05          reason only (the KM
                                                       difference does not
                                                       assume it)
=====================================================  =====================

Sensitivity threshold for *strong* (``results.sensitivity``, see
:mod:`lopsnb.evaluation.sensitivity` and docs/methods.md "Sensitivity"):

* ``did`` (TWFE or staggered): when the Rambachan–Roth intervals were
  computed (``evaluate`` default; not with ``robust_did=False``), the breakdown M̄ is at least
  ``BREAKDOWN_STRONG`` = 1 — the first-period effect's 95% robust interval
  excludes zero even if post-program violations of parallel trends are as
  large as the largest pre-period one. Otherwise the Roth (2022)
  check: a linear pre-trend that the pre-test detects with 80% power,
  extrapolated to the first post period, is smaller than the distance of
  that effect's 95% interval from zero (``pretrend_power.survives_80``).
  With fewer than 2 baseline periods neither can be computed and strong is
  not reachable.
* ``ancova`` (and the other regression designs): the robustness value
  RV(q = 1, α = 0.05) is at least ``RV_ALPHA_STRONG`` = 0.05 — an omitted
  confounder would have to explain at least 5% of the residual variance of
  both participation and outcome to make the interval include zero.

When ``sensitivity`` is not passed (direct calls) this rule does not apply;
``evaluate`` always passes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lopsnb.evaluation.methods import DESIGN_PHRASES, Estimate
from lopsnb.fmt import number, pvalue
from lopsnb.io.labels import readable

__all__ = ["EvidenceGrade", "grade_evidence", "GRADES", "MIN_PARTICIPANTS"]

Grade = Literal["strong", "moderate", "weak", "insufficient"]
GRADES: tuple[Grade, ...] = ("strong", "moderate", "weak", "insufficient")
MIN_PARTICIPANTS = 10
SMALL_SAMPLE = 30
MIN_COVERAGE = 0.7
COMPARISON_DESIGNS = frozenset({"did", "ancova", "post_only", "dr_did", "ipw_did", "reg_did", "weighting"})
#: Designs that rest on selection on observables without a pre-period panel.
OBSERVABLES_DESIGNS = frozenset({"weighting"})
#: Designs for one or a few treated units (lopsnb.evaluation.pilot).
PILOT_DESIGNS = frozenset({"synthetic_control", "sdid"})
#: Baseline RMSPE above this multiple of the baseline outcome SD is a poor fit.
POOR_FIT_RATIO = 0.5
#: Time-to-event designs (lopsnb.evaluation.survival).
SURVIVAL_DESIGNS = frozenset({"survival"})
#: Below this share of a group followed to the horizon (or with the event before it), the horizon estimate rests on extrapolated censoring.
MIN_FOLLOWED = 0.5
#: Above this share of participants enrolled more than 30 days after hire (origin hire_date), the comparison has immortal time.
MAX_LATE_SHARE = 0.1


@dataclass(kw_only=True)
class EvidenceGrade:
    """The grade and the reasons behind it.

    Attributes
    ----------
    grade : {"strong", "moderate", "weak", "insufficient"}
    reasons : list of str
        Every rule that applied, in plain language (design first).
    caveats : list of str
        The reasons of the rules that cap the grade (a subset of
        ``reasons``, in order; every reason of an *insufficient* grade) —
        what the executive summary names as the main weakness. Not part of
        :meth:`to_dict`: ``results.json`` keeps ``grade`` and ``reasons``.
    """

    grade: Grade
    reasons: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.grade == "insufficient" and not self.caveats:
            self.caveats = list(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable grade and reasons."""
        return {"grade": self.grade, "reasons": list(self.reasons)}


class _Reasons(list[str]):
    """The reasons of a grade, remembering which ones cap it (:attr:`EvidenceGrade.caveats`)."""

    def __init__(self, items: list[str] | None = None) -> None:
        super().__init__(items or [])
        self.caveats: list[str] = []

    def caveat(self, text: str) -> None:
        """Add the reason of a rule that caps the grade."""
        self.append(text)
        self.caveats.append(text)


def _phrase(design: str) -> str:
    """The design in a business reader's words (the one table: ``methods.DESIGN_PHRASES``)."""
    return DESIGN_PHRASES.get(design, readable(design))


def _sd(smd: float) -> str:
    """A standardized mean difference in words: "0.17 standard deviations"."""
    return f"{abs(smd):.2f} standard deviations"


def _cap(current: Grade, limit: Grade) -> Grade:
    return current if GRADES.index(current) >= GRADES.index(limit) else limit


def grade_evidence(
    primary: Estimate | None,
    *,
    design: str,
    baseline_smd: float | None,
    pre_trend_p: float | None,
    participants: int,
    with_outcome: int,
    break_even_effect: float | None,
    primary_error: str | None = None,
    covariate_smd: Mapping[str, float] | None = None,
    adjusted: Estimate | None = None,
    sensitivity: Mapping[str, Any] | None = None,
    survival: Mapping[str, Any] | None = None,
    monetized: Estimate | None = None,
    entity: str = "person",
) -> EvidenceGrade:
    """Grade the evidence of a program's primary estimate (rules in the module docstring).

    ``survival`` (``results.survival``) and ``monetized`` (the estimate the
    ROI converts: days sooner for time to an event) are used by design
    survival only. ``entity`` ("person" or "org_unit") only words the
    reasons ("participants" / "participating teams").
    """
    reasons = _Reasons()
    if primary is None:
        why = primary_error or "the primary method could not be estimated"
        return EvidenceGrade(grade="insufficient", reasons=[f"No estimate from the primary design ({design}): {why}."])
    if design in PILOT_DESIGNS:
        return _grade_pilot(primary, design, participants, with_outcome, break_even_effect)
    if design in SURVIVAL_DESIGNS:
        return _grade_survival(primary, survival or {}, covariate_smd or {}, monetized or primary, break_even_effect, participants, with_outcome)
    if primary.n_treated < MIN_PARTICIPANTS:
        return EvidenceGrade(
            grade="insufficient",
            reasons=[f"Only {primary.n_treated} participating entities with outcome data (at least {MIN_PARTICIPANTS} needed for any claim)."],
        )
    if design in COMPARISON_DESIGNS and primary.n_comparison < MIN_PARTICIPANTS:
        return EvidenceGrade(
            grade="insufficient", reasons=[f"Only {primary.n_comparison} comparison entities (at least {MIN_PARTICIPANTS} needed)."]
        )
    grade: Grade = primary.strength
    reasons.append(
        {
            "strong": f"The design ({_phrase(design)}) compares participants with similar non-participants and allows for where each group started.",
            "moderate": f"The design ({_phrase(design)}) isolates the effect only under stronger assumptions.",
            "weak": f"The design ({_phrase(design)}) cannot separate the program from other changes (weak by construction).",
        }[grade]
    )
    if primary.n_treated < SMALL_SAMPLE:
        grade = _cap(grade, "moderate")
        who = "participants" if entity == "person" else "participating teams"
        reasons.caveat(f"Small sample: {primary.n_treated} {who} (fewer than {SMALL_SAMPLE}).")
    if baseline_smd is not None and not np.isnan(baseline_smd) and design in COMPARISON_DESIGNS:
        a = abs(baseline_smd)
        if a > 0.25:
            grade = _cap(grade, "weak" if design == "post_only" else "moderate")
            reasons.caveat(f"Large baseline imbalance: the groups were {_sd(a)} apart before the program (more than 0.25).")
        elif a > 0.05 and design == "post_only":
            grade = _cap(grade, "moderate")
            reasons.caveat(f"The groups were {_sd(a)} apart before the program, which a comparison after the program only does not adjust for.")
        else:
            reasons.append(f"The groups started nearly equal ({_sd(a)} apart)." if a <= 0.05
                           else f"The groups started {_sd(a)} apart, adjusted for by the design.")
    unbalanced = {k: v for k, v in (covariate_smd or {}).items() if not np.isnan(v) and abs(v) > 0.25}
    if unbalanced and design in ("did", "post_only"):
        names = ", ".join(f"{readable(k)} ({_sd(abs(v))})" for k, v in unbalanced.items())
        agrees = adjusted is not None and adjusted.ci_low <= primary.ci_high and primary.ci_low <= adjusted.ci_high
        if agrees:
            reasons.append(f"The groups differ in {names}, but an estimate adjusted for these differences agrees "  # type: ignore[union-attr]
                           f"({number(adjusted.estimate, sig=4)}).")
        else:
            grade = _cap(grade, "moderate")
            reasons.caveat(f"The groups differ in {names} and no estimate adjusted for these differences confirms the effect.")
    if design in OBSERVABLES_DESIGNS:
        grade = _cap(grade, "moderate")
        reasons.caveat(f"The design ({_phrase(design)}) assumes the measured background variables capture every difference that drives both participation and the outcome.")
    if pre_trend_p is not None and np.isfinite(pre_trend_p):
        if pre_trend_p < 0.05:
            grade = _cap(grade, "weak")
            reasons.caveat(f"Pre-trends differ: the groups were already drifting apart before the program (placebo test {pvalue(pre_trend_p)}), "
                           "so the comparison group may not show what would have happened without it.")
        else:
            reasons.append(f"No sign that the groups were drifting apart before the program (placebo test {pvalue(pre_trend_p)}).")
    width = primary.ci_high - primary.ci_low
    scale = abs(break_even_effect) if break_even_effect not in (None, 0) and np.isfinite(break_even_effect) else abs(primary.estimate)  # type: ignore[arg-type]
    if np.isfinite(width) and scale > 0 and width > 2 * scale:
        grade = _cap(grade, "moderate")
        what = "the break-even effect" if break_even_effect not in (None, 0) else "the effect itself"
        reasons.append(f"Imprecise: the 95% interval is wider than twice {what}.")
    if participants > 0 and with_outcome / participants < MIN_COVERAGE:
        grade = _cap(grade, "moderate")
        reasons.caveat(f"Only {with_outcome} of {participants} participants have outcome data ({with_outcome / participants:.0%}).")
    if sensitivity is not None:
        grade = _sensitivity_rule(grade, design, sensitivity, reasons)
    return EvidenceGrade(grade=grade, reasons=list(reasons), caveats=list(reasons.caveats))


def _sensitivity_rule(grade: Grade, design: str, sensitivity: Mapping[str, Any], reasons: _Reasons) -> Grade:
    """Cap *strong* at moderate unless the sensitivity threshold of the design is met (module docstring)."""
    from lopsnb.evaluation.sensitivity import BREAKDOWN_STRONG, REGRESSION_DESIGNS, RV_ALPHA_STRONG

    if design == "did":
        hd, pp = sensitivity.get("honest_did"), sensitivity.get("pretrend_power")
        if hd:
            mbar = hd.get("breakdown_mbar")
            if mbar is not None and mbar >= BREAKDOWN_STRONG:
                reasons.append(f"Robust to violations of parallel trends up to {mbar:g} times the largest pre-period deviation (breakdown M̄).")
                return grade
            why = ("the effect would not survive the groups' trends drifting apart after the program as much as they did before it "
                   + ("(its robust interval includes zero even with exactly parallel trends)" if mbar is None
                      else f"(breakdown M̄ {number(mbar, sig=2)} < {BREAKDOWN_STRONG:g})"))
        elif pp and pp.get("survives_80") is not None:
            if pp["survives_80"]:
                reasons.append("A linear pre-trend that the pre-test would detect 80% of the time would not explain the first-period effect away.")
                return grade
            why = "a linear pre-trend the pre-test would miss 1 time in 5 could explain the first-period effect away"
        else:
            why = "sensitivity to parallel-trend violations cannot be assessed (fewer than 2 baseline periods)"
    elif design in REGRESSION_DESIGNS:
        reg = sensitivity.get("regression")
        rv = reg.get("robustness_value_alpha") if reg else None
        if rv is not None and rv >= RV_ALPHA_STRONG:
            reasons.append(f"An unobserved confounder would have to explain {rv:.0%} of the remaining variation of participation and outcome to make the effect insignificant (robustness value).")
            return grade
        why = (f"a weak unobserved confounder could explain the effect away (robustness value {rv:.1%} < {RV_ALPHA_STRONG:.0%})"
               if rv is not None else "sensitivity to unobserved confounding could not be assessed")
    else:
        return grade
    if grade == "strong":
        reasons.caveat(f"Not strong: {why}.")
    return _cap(grade, "moderate")


def _grade_pilot(primary: Estimate, design: str, participants: int, with_outcome: int, break_even_effect: float | None) -> EvidenceGrade:
    """Grade a synthetic control / SDID estimate (the pilot rows of the module table)."""
    d = primary.details
    if primary.n_comparison < MIN_PARTICIPANTS:
        return EvidenceGrade(grade="insufficient", reasons=[f"Only {primary.n_comparison} donor units (at least {MIN_PARTICIPANTS} needed for a synthetic comparison)."])
    grade: Grade = primary.strength
    reasons = _Reasons([f"The design ({_phrase(design)}) builds the comparison from weighted donor units that track the participants' baseline path."])
    if primary.n_treated == 1:
        grade = _cap(grade, "moderate")
        reasons.caveat("One participating unit: any shock specific to it is confounded with the program.")
    elif primary.n_treated < SMALL_SAMPLE:
        grade = _cap(grade, "moderate")
        reasons.caveat(f"Small sample: {primary.n_treated} participating units (fewer than {SMALL_SAMPLE}).")
    fit = d.get("fit_ratio")
    if fit is not None and np.isfinite(fit):
        if fit > POOR_FIT_RATIO:
            grade = _cap(grade, "weak")
            reasons.caveat(f"Poor baseline fit: RMSPE {number(d['rmspe'])} is {fit:.2f} × the baseline outcome SD (> {POOR_FIT_RATIO}).")
        else:
            reasons.append(f"Baseline fit: RMSPE {number(d['rmspe'])} ({fit:.2f} × the baseline outcome SD).")
    p = primary.p_value
    what = "placebo-in-space permutation p-value" if design == "synthetic_control" else f"p-value ({d.get('vcov_method', 'placebo')} variance)"
    if np.isfinite(p) and p >= 0.10:
        grade = _cap(grade, "weak")
        reasons.caveat(f"The {what} is {p:.3f} (≥ 0.10): the gap is not distinguishable from placebo gaps.")
    elif np.isfinite(p):
        reasons.append(f"The {what} is {p:.3f}.")
    if not (np.isfinite(primary.ci_low) and np.isfinite(primary.ci_high)):
        grade = _cap(grade, "weak")
        reasons.caveat(f"No 95% interval: {d.get('interval_reason') or 'undefined'}.")
    else:
        width = primary.ci_high - primary.ci_low
        scale = abs(break_even_effect) if break_even_effect not in (None, 0) and np.isfinite(break_even_effect) else abs(primary.estimate)  # type: ignore[arg-type]
        if scale > 0 and width > 2 * scale:
            grade = _cap(grade, "moderate")
            reasons.caveat(f"Imprecise: the 95% interval is wider than twice {'the break-even effect' if break_even_effect not in (None, 0) else 'the effect itself'}.")
    if participants > 0 and with_outcome / participants < MIN_COVERAGE:
        grade = _cap(grade, "moderate")
        reasons.caveat(f"Only {with_outcome} of {participants} participants have outcome data ({with_outcome / participants:.0%}).")
    return EvidenceGrade(grade=grade, reasons=list(reasons), caveats=list(reasons.caveats))


def _grade_survival(primary: Estimate, surv: Mapping[str, Any], covariate_smd: Mapping[str, float], monetized: Estimate,
                    break_even_effect: float | None, participants: int, with_outcome: int) -> EvidenceGrade:
    """Grade a survival estimate (the survival rows of the module table)."""
    if primary.n_treated < MIN_PARTICIPANTS or primary.n_comparison < MIN_PARTICIPANTS:
        return EvidenceGrade(grade="insufficient", reasons=[
            f"Only {primary.n_treated} participants and {primary.n_comparison} comparison people followed (at least {MIN_PARTICIPANTS} of each needed)."])
    grade: Grade = primary.strength
    h = surv.get("horizon_days")
    reasons = _Reasons([f"The comparison follows {'how long participants and comparison people stay' if surv.get('kind') == 'retention' else 'how soon participants and comparison people reach the event'} "
                        "from the same starting point, counting those still under way; it does not adjust for who chose to take part."])
    if primary.n_treated < SMALL_SAMPLE:
        grade = _cap(grade, "moderate")
        reasons.caveat(f"Small sample: {primary.n_treated} participants (fewer than {SMALL_SAMPLE}).")
    in_model = set(surv.get("covariates") or ())
    unbalanced = {k: v for k, v in covariate_smd.items() if np.isfinite(v) and abs(v) > 0.25}
    unadjusted = {k: v for k, v in unbalanced.items() if not any(k == c or k.startswith(f"{c}_") for c in in_model)}
    if unadjusted:
        grade = _cap(grade, "weak")
        reasons.caveat("Groups differ on " + ", ".join(f"{k} (|SMD| = {abs(v):.2f})" for k, v in unadjusted.items()) + " and the Cox model does not adjust for it.")
    elif unbalanced:
        reasons.append("Groups differ on " + ", ".join(unbalanced) + "; the Cox hazard ratio is adjusted for it, the retention difference is not.")
    followed = surv.get("followed_to_horizon") or {}
    short = {g: v for g, v in followed.items() if v is not None and v < MIN_FOLLOWED}
    if short:
        grade = _cap(grade, "weak")
        reasons.caveat("Few followed to the horizon: " + ", ".join(f"{v:.0%} of {g}" for g, v in short.items()) + f" reached {h} days or had the event before.")
    late = int(surv.get("late_enrolled") or 0)
    if late > MAX_LATE_SHARE * primary.n_treated:
        grade = _cap(grade, "weak")
        reasons.caveat(f"{late} of {primary.n_treated} participants enrolled well after hire: counted from the hire date they had to stay "
                       "employed to take part (immortal time); use origin: treatment.")
    ph = surv.get("ph_test") or {}
    if ph.get("p_value") is not None and ph["p_value"] < 0.05:
        reasons.append(f"Hazards are not proportional (p = {ph['p_value']:.3f}): the hazard ratio is an average over the horizon; "
                       "the retention difference at the horizon does not assume proportionality.")
    width = monetized.ci_high - monetized.ci_low
    scale = abs(break_even_effect) if break_even_effect not in (None, 0) and np.isfinite(break_even_effect) else abs(monetized.estimate)  # type: ignore[arg-type]
    if np.isfinite(width) and scale > 0 and width > 2 * scale:
        grade = _cap(grade, "moderate")
        reasons.caveat(f"Imprecise: the 95% interval is wider than twice {'the break-even effect' if break_even_effect not in (None, 0) else 'the effect itself'}.")
    if participants > 0 and with_outcome / participants < MIN_COVERAGE:
        grade = _cap(grade, "moderate")
        reasons.caveat(f"Only {with_outcome} of {participants} participants have an origin date to follow ({with_outcome / participants:.0%}).")
    return EvidenceGrade(grade=grade, reasons=list(reasons), caveats=list(reasons.caveats))
