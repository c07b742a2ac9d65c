"""The decision of one evaluated program: scale, sustain, fix or retire.

The rule runs once, in the evaluation stage, on typed results; every output
(report summary, portfolio index, ``portfolio.csv``/``.xlsx``, explorer)
shows the decision recorded in ``results.json["decision"]`` and never
recomputes it. Rules are tried in order; the first that applies decides.

===  ==========================================================  ==========
#    Condition                                                   Action
===  ==========================================================  ==========
1    evidence grade *insufficient*                               fix
2    no ROI (costs incomplete, no monetisation, zero cost, no    fix
     isolated effect)
3    grade *strong* or *moderate* and the ROI interval's low     scale
     end > 0
4    point ROI > 0 (weak evidence, or an interval including 0)   sustain
5    point ROI <= 0 and either the effect's 95% CI excludes the  retire
     break-even effect (untransformed outcomes) or the whole
     ROI interval is < 0
6    anything else (ROI <= 0, a worthwhile effect not ruled      fix
     out)
===  ==========================================================  ==========

Consequences: *weak* evidence is never ``scale`` (rule 3 needs strong or
moderate); *insufficient* evidence is never ``scale``, ``sustain`` or
``retire`` and carries no ROI figure (see :func:`withhold_roi`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lopsnb._result import NotEstimated
from lopsnb.evaluation.evidence import EvidenceGrade
from lopsnb.evaluation.methods import Estimate
from lopsnb.evaluation.roi import RoiResult
from lopsnb.fmt import effect, percent

__all__ = ["ACTIONS", "Action", "Decision", "decide", "withhold_roi", "NOT_ENOUGH_EVIDENCE", "COSTS_INCOMPLETE"]

Action = Literal["scale", "sustain", "fix", "retire"]
ACTIONS: tuple[Action, ...] = ("scale", "sustain", "fix", "retire")
#: The reason prefix of a decision (and of a withheld ROI) on insufficient evidence.
NOT_ENOUGH_EVIDENCE = "not enough evidence to decide"
#: The reason prefix of a withheld ROI when only participant time was costed.
COSTS_INCOMPLETE = "costs incomplete"


@dataclass(kw_only=True, frozen=True)
class Decision:
    """The recommended action and why.

    Attributes
    ----------
    action : {"scale", "sustain", "fix", "retire"}
    reason : str
        The cause in plain words, and what to do.
    rule : str
        Which rule of the module table decided (``insufficient_evidence``,
        ``no_roi``, ``scale``, ``sustain``, ``retire_effect``,
        ``retire_roi``, ``fix``).
    """

    action: Action
    reason: str
    rule: str

    def to_dict(self) -> dict[str, Any]:
        """``results.json["decision"]``: action, reason and rule."""
        return {"action": self.action, "reason": self.reason, "rule": self.rule}


def withhold_roi(
    roi: RoiResult | NotEstimated, *, evidence: EvidenceGrade, costs_note: str | None
) -> RoiResult | NotEstimated:
    """Drop an ROI the evidence or the costs cannot support.

    Parameters
    ----------
    roi : RoiResult or NotEstimated
        The computed ROI, or why it could not be computed.
    evidence : EvidenceGrade
        An *insufficient* grade withholds the ROI: "not claimed".
    costs_note : str or None
        Why the costs are incomplete (None when complete); withholds the ROI.

    Returns
    -------
    RoiResult or NotEstimated
        ``NotEstimated(reason="not claimed: ...", withheld=True)`` when withheld,
        else ``roi`` unchanged (an ROI that was never computed keeps its own
        reason, the most specific one).
    """
    if not roi:
        return roi
    if evidence.grade == "insufficient":
        first = evidence.reasons[0].rstrip(".") if evidence.reasons else "too little data"
        return NotEstimated(reason=f"not claimed: {NOT_ENOUGH_EVIDENCE} — {first}", withheld=True)
    if costs_note is not None:
        return NotEstimated(reason=f"not claimed: {COSTS_INCOMPLETE} ({costs_note})", withheld=True)
    return roi


def _pct(x: float | None) -> str:
    return "n/a" if x is None else percent(x)


def _retire(roi: RoiResult, grade: str, primary: Estimate | None, direction: str, transform: str, unit: str | None) -> Decision | None:
    lo, hi = roi.roi_interval or (None, None)
    be = roi.break_even_effect
    # The effect CI and the break-even effect share units only without a log transform.
    if primary is not None and be is not None and transform != "log":
        bound = primary.ci_low if direction == "decrease" else primary.ci_high
        excludes = bound > be if direction == "decrease" else bound < be
        if excludes:
            return Decision(
                action="retire", rule="retire_effect",
                reason=(f"the ROI is {_pct(roi.roi_pct)} and even the most favourable end of the effect's 95% interval "
                        f"({effect(bound, unit)}) falls short of the break-even effect ({effect(be, unit)}): stop or redesign"),
            )
    if hi is not None and hi < 0:
        return Decision(action="retire", rule="retire_roi",
                        reason=f"{grade} evidence and the whole ROI range is below 0 (up to {_pct(hi)}): stop or redesign")
    return None


def decide(
    *,
    evidence: EvidenceGrade,
    roi: RoiResult | NotEstimated,
    primary: Estimate | None,
    direction: str = "increase",
    transform: str = "none",
    unit: str | None = None,
) -> Decision:
    """The recommended action of one program (rules in the module docstring).

    Parameters
    ----------
    evidence : EvidenceGrade
    roi : RoiResult or NotEstimated
        The ROI after :func:`withhold_roi`, or why there is none.
    primary : Estimate or None
        The primary design's estimate (its CI is compared with break-even).
    direction : {"increase", "decrease"}
    transform : {"none", "log"}
    unit : str, optional
        The outcome's unit; only the wording of a reason uses it (shares read
        in percentage points), never a rule.

    Returns
    -------
    Decision
    """
    grade = evidence.grade
    if grade == "insufficient":
        first = evidence.reasons[0].rstrip(".") if evidence.reasons else "too little data"
        return Decision(action="fix", rule="insufficient_evidence",
                        reason=f"{NOT_ENOUGH_EVIDENCE}: {first}. Measure again (comparison group, more participants, longer follow-up)")
    if not roi or roi.roi_pct is None:
        why = roi.reason if isinstance(roi, NotEstimated) else "zero total cost"
        return Decision(action="fix", rule="no_roi",
                        reason=f"no ROI ({why}): complete the costs and the monetisation, then decide")
    lo, hi = roi.roi_interval or (None, None)
    if grade in ("strong", "moderate") and lo is not None and lo > 0:
        return Decision(action="scale", rule="scale",
                        reason=f"{grade} evidence and the whole ROI range ({_pct(lo)} to {_pct(hi)}) is above 0: expand the program")
    if roi.roi_pct > 0:
        if grade not in ("strong", "moderate"):
            why = f"the evidence is {grade} (scaling needs strong or moderate evidence)"
        else:
            why = f"its range ({_pct(lo)} to {_pct(hi)}) includes 0" if lo is not None else "its range is unknown"
        return Decision(action="sustain", rule="sustain",
                        reason=f"the ROI of {_pct(roi.roi_pct)} is positive, but {why}: keep running and keep measuring")
    retire = _retire(roi, grade, primary, direction, transform, unit)
    if retire is not None:
        return retire
    return Decision(action="fix", rule="fix",
                    reason=f"the ROI is {_pct(roi.roi_pct)}, but a worthwhile effect is not ruled out: repair the transfer to the job and measure again")
