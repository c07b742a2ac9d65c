"""HTML building blocks of the impact report, generated from a ProgramEvaluation.

Every user-supplied string (program names, metric names, items, notes) goes
through :func:`esc`; numbers are formatted by :mod:`lopsnb.fmt` in their
unit, metrics read with their labels (:mod:`lopsnb.report.words`). Small groups are
never shown: rows flagged ``suppressed`` are replaced by a marker.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from lopsnb import fmt as F
from lopsnb.evaluation.evaluate import ProgramEvaluation
from lopsnb.io.labels import readable
from lopsnb.report import words
from lopsnb.evaluation.privacy import suppress_series  # re-exported: the rule lives in the evaluation stage
from lopsnb.evaluation.methods import ASSUMPTIONS

__all__ = [
    "esc",
    "fmt",
    "money",
    "SUPPRESSED",
    "ACTION_WORDS",
    "GRADE_MEANING",
    "executive_summary",
    "tiles",
    "alignment",
    "chain_table",
    "table",
    "reaction_table",
    "learning_table",
    "behavior_table",
    "estimates_table",
    "balance_table",
    "overlap_section",
    "roi_summary",
    "method_section",
    "not_measured",
    "comments_block",
    "suppress_series",
    "how_sure",
    "pilot_estimate",
    "pilot_label",
    "pilot_withheld",
    "synthetic_summary",
    "donor_weights_table",
    "sdid_weights_summary",
    "synthetic_path_alt",
    "synthetic_gaps_alt",
    "survival_section",
]

SUPPRESSED = "suppressed (n < {n})"
#: The pilot designs whose charts and weight tables the report shows, in order of preference.
PILOT_METHODS = ("synthetic_control", "sdid")
#: Donor rows shown in a weights table; the rest are summed in one line.
MAX_DONOR_ROWS = 12


def esc(value: Any) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape("" if value is None else str(value), quote=True)


def _finite(v: Any) -> bool:
    return F.finite(v)


def fmt(value: Any, unit: str | None = None, *, digits: int = 3, signed: bool = False, pct: bool = False) -> str:
    """A number for executives (:func:`lopsnb.fmt.number`, or :func:`lopsnb.fmt.percent` with ``pct``), unit escaped."""
    if pct:
        return F.percent(value, signed=signed)
    return F.number(value, esc(unit) if unit else None, signed=signed, sig=digits)


def money(value: Any, currency: str | None, *, signed: bool = False) -> str:
    """Money with its currency symbol (:func:`lopsnb.fmt.money`), escaped."""
    return esc(F.money(value, currency, signed=signed))


def table(frame: pd.DataFrame, *, columns: dict[str, str] | None = None, cls: str = "lopsnb-table",
          formats: dict[str, Callable[[Any], str]] | None = None) -> str:
    """An escaped HTML table of ``frame`` (optionally renaming/selecting ``columns``).

    ``formats`` maps a (renamed) column to the function that formats its
    numbers (default :func:`fmt`); the result is escaped.
    """
    if frame is None or len(frame) == 0:
        return "<p><em>No rows.</em></p>"
    f = frame[list(columns)] .rename(columns=columns) if columns else frame
    formats = formats or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in f.columns)
    body = []
    for _, row in f.iterrows():
        cells = []
        for col, v in zip(f.columns, row.tolist(), strict=True):
            if _finite(v):
                cells.append(f"<td class='num'>{esc(formats[col](v)) if col in formats else fmt(v)}</td>")
            else:
                cells.append(f"<td>{esc('—' if v is None or (isinstance(v, float) and math.isnan(v)) else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def not_measured(level: str, consequence: str) -> str:
    """The standard "not measured" notice and what it costs the evidence."""
    return f"<div class='lopsnb-note not-measured'><strong>{esc(level)}: not measured.</strong> {esc(consequence)}</div>"


#: The recommended action in a business reader's words.
ACTION_WORDS: dict[str, str] = {"scale": "scale up", "sustain": "keep running", "fix": "fix, then measure again", "retire": "retire"}
#: What each evidence grade lets a reader do with the estimate. The grade
#: rates the design and its checks; whether an effect was shown is the
#: interval's business (see :func:`_evidence_par`).
GRADE_MEANING: dict[str, str] = {
    "strong": "the estimate can be relied on",
    "moderate": "the estimate is credible, but rests on assumptions that could not all be checked",
    "weak": "the figures are indicative only: other explanations are not ruled out",
    "insufficient": "there is too little data to claim an effect",
}


def _design(ev: ProgramEvaluation) -> str:
    return ev.impact.primary_method if ev.impact else ev.program.evaluation.design


def _comparison_phrase(ev: ProgramEvaluation) -> str:
    p = ev.program
    method = _design(ev)
    who = "people" if p.evaluation.entity == "person" else "teams"
    if method in ("did", "ancova", "post_only", "dr_did", "ipw_did", "reg_did", "weighting", "survival"):
        groups = ", ".join(esc(v) for vals in (p.evaluation.comparison or {}).values() for v in vals)
        return f"Compared with similar {who} who did not take part" + (f" ({groups})" if groups else "")
    if method in PILOT_METHODS and ev.impact and method in ev.impact.estimates:
        n = ev.impact.estimates[method].n_comparison
        # A pilot's donors are sites, lines or stores as often as teams.
        who = "people" if p.evaluation.entity == "person" else "units"
        return f"Compared with a synthetic comparison built from {n} {who} that did not take part (weighted to follow the same path before the program)"
    if method == "trend":
        return "Compared with where the pre-program trend was heading"
    if method == "estimates":
        return "According to participants' own estimates, adjusted for attribution and confidence"
    return "Comparing participants with themselves before the program (no comparison group, the weakest design)"


def _sentence(text: str) -> str:
    """``text`` with a capital first letter and one final full stop."""
    text = text.strip().rstrip(".")
    return (text[:1].upper() + text[1:] + ".") if text else ""


def _decision_par(ev: ProgramEvaluation) -> str:
    d = ev.decision
    if d is None:
        return ""
    return (f"<strong>Recommendation: {esc(ACTION_WORDS.get(d.action, d.action))}</strong> "
            f"<span class='action'>({esc(d.action)})</span> — {esc(_sentence(d.reason))}")


def _effect_par(ev: ProgramEvaluation) -> str:
    p = ev.program
    lab = words.outcome_label(p)
    primary = ev.impact.primary if ev.impact else None
    if primary is None:
        why = ev.impact.failures.get(p.evaluation.design) if ev.impact else ev.impact_error
        return f"<strong>Effect.</strong> The effect of <strong>{esc(p.name)}</strong> on {esc(lab.label)} could not be isolated: {esc(str(why).rstrip('.'))}."
    if ev.impact.survival is not None:
        return f"<strong>Effect.</strong> {_survival_sentence(ev)}"
    lo, hi = primary.ci_low, primary.ci_high
    if not (_finite(lo) and _finite(hi)):
        # A synthetic control with fewer than 19 placebo donors has no interval: say why instead of "— to —".
        why_none = primary.details.get("interval_reason")
        return (f"<strong>Effect.</strong> {_comparison_phrase(ev)}, the best estimate for <strong>{esc(p.name)}</strong> is "
                f"{esc(words.effect_text(primary.estimate, p))}, with no 95% range" + (f": {esc(why_none)}." if why_none else "."))
    if p.evaluation.transform == "log":
        size = F.percent(abs(primary.pct[0]))
        rng = f"between {F.percent(primary.pct[1], signed=True)} and {F.percent(primary.pct[2], signed=True)}"
    else:
        size = words.effect_text(abs(primary.estimate), p, signed=False)
        rng = F.interval(lo, hi, lab.rate_unit, currency=words.currency(p))
    if lo <= 0 <= hi:
        return (f"<strong>Effect.</strong> {_comparison_phrase(ev)}, participants in <strong>{esc(p.name)}</strong> showed no measurable "
                f"change in {esc(lab.label)}: the best estimate is {esc(words.effect_text(primary.estimate, p))}, but the 95% range "
                f"({esc(rng)}) includes zero.")
    up = primary.estimate > 0
    good = up == (p.direction == "increase")
    goal = "" if good else f" — the opposite of the intended direction (the goal is to {'raise' if p.direction == 'increase' else 'reduce'} it)"
    return (f"<strong>Effect.</strong> {_comparison_phrase(ev)}, <strong>{esc(p.name)}</strong> {'raised' if up else 'reduced'} "
            f"{esc(lab.label)} by {esc(size)} (95% range: {esc(rng)}){goal}.")


def _horizon(ev: ProgramEvaluation) -> tuple[str, float | None]:
    m = ev.program.monetization
    years = m.horizon_years if m else 1
    return ("Over the first year" if years == 1 else f"Over {F.number(years)} years"), years * 12


def _probability(ev: ProgramEvaluation) -> str:
    r = ev.roi
    basis = words.uncertainty_basis(_design(ev))
    if basis is not None:
        return f"The chance that the ROI is positive is not modelled: the figures rest on {esc(basis)}."
    if r.prob_positive is None:
        return ""
    return f"Chance that the ROI is positive: {esc(F.probability(r.prob_positive))}."


def _roi_par(ev: ProgramEvaluation) -> str:
    if not ev.roi:
        if ev.roi.withheld:
            return f"<strong>Return: ROI not claimed</strong> — {esc(str(ev.roi_reason).removeprefix('not claimed: '))}."
        return f"<strong>Return.</strong> ROI was not computed: {esc(str(ev.roi_reason).rstrip('.'))}."
    r = ev.roi
    if r.roi_pct is None:
        return "<strong>Return.</strong> ROI is undefined because the recorded total cost is zero."
    if ev.evidence.grade == "insufficient":  # withheld upstream; never show a figure by mistake
        return "<strong>Return: ROI not claimed</strong> — the evidence is insufficient."
    cur = words.currency(ev.program)
    when, months = _horizon(ev)
    iv = r.roi_interval or (None, None)
    rng = f" (95% range {F.percent(iv[0])} to {F.percent(iv[1])})" if _finite(iv[0]) and _finite(iv[1]) else ""
    # Weak evidence never reads as proven: the figures are what the estimate implies.
    when = f"If the estimate is right (the evidence is weak), {when[:1].lower() + when[1:]}" if ev.evidence.grade == "weak" else when
    return (
        f"<strong>Return.</strong> {when}, benefits of {money(r.benefits, cur)} against fully loaded costs of {money(r.costs, cur)} "
        f"leave a net benefit of {money(r.net_benefit, cur, signed=True)}: an ROI of {F.percent(r.roi_pct)}{rng}; {_bcr_words(r.bcr)}. "
        f"On conservative assumptions (the least favourable end of the effect's range, the lowest "
        f"value per unit) the ROI is <strong>{F.percent(r.conservative_roi_pct)}</strong>. Payback: {esc(F.payback(r.payback_months, months))}. "
        + _probability(ev)
    )


def _bcr_words(bcr: float | None) -> str:
    """The benefit–cost ratio in words: "benefits are 2.18 times the costs" / "benefits cover 5% of the costs"."""
    if not _finite(bcr):
        return "the benefit–cost ratio is undefined"
    return f"benefits cover {F.share_pct(bcr)} of the costs" if bcr < 1 else f"benefits are {F.number(bcr)} times the costs"


def _evidence_par(ev: ProgramEvaluation) -> str:
    g = ev.evidence
    caveat = g.caveats[0].removeprefix("Not strong: ").strip().rstrip(".") if g.caveats else ""
    tail = ""
    if caveat:
        tail = "; main caveat: " + esc(caveat[:1].lower() + caveat[1:])
    elif g.grade == "strong":
        tail = "; the checks of group balance, pre-program trends, precision and sensitivity pass"
    primary = ev.impact.primary if ev.impact else None
    # A well-designed study can still show no effect: say so rather than let the grade read as one.
    null = (g.grade in ("strong", "moderate") and primary is not None and _finite(primary.ci_low) and _finite(primary.ci_high)
            and primary.ci_low <= 0 <= primary.ci_high)
    shown = "; it does not tell an effect apart from zero" if null else ""
    return (f"<strong>How sure.</strong> The evidence is <strong class='grade grade-{esc(g.grade)}'>{esc(g.grade)}</strong>: "
            f"{esc(GRADE_MEANING.get(g.grade, ''))}, based on {esc(words.design_phrase(_design(ev)))}{shown}{tail}.")


def _change_par(ev: ProgramEvaluation) -> str:
    """What would change the conclusion: the sensitivity result in one or two sentences."""
    sens = ev.impact.sensitivity.to_dict() if ev.impact and ev.impact.sensitivity is not None else None
    if ev.evidence.grade == "insufficient":
        return ("<strong>What would change this.</strong> Enough data to claim an effect (see the recommendation); until then "
                "no figure in this report is a finding.")
    if not sens or ev.impact.primary is None:
        return ""
    out: list[str] = []
    hd, reg, bb = sens.get("honest_did"), sens.get("regression"), sens.get("break_even_bias")
    if hd:
        m = hd.get("breakdown_mbar")
        out.append(f"the effect holds even if the groups' trends drifted apart after the program up to {F.number(m, sig=2)} times as much "
                   "as they did before it" if m is not None else
                   "a drift between the groups' trends as small as before the program could explain the effect away")
    elif reg and _finite(reg.get("robustness_value_alpha")):
        out.append(f"a hidden factor would have to explain at least {F.share_pct(reg['robustness_value_alpha'])} of the remaining "
                   "differences in both who took part and the outcome to make the effect uncertain")
    if bb and ev.roi:
        out.append("the conservative ROI is already below zero" if bb.get("conservative_roi_negative_already") else
                   f"the conservative ROI turns negative if the estimate overstates the effect by "
                   f"{words.effect_text(bb['bias'], ev.program, signed=False)} ({F.percent(bb['pct_of_effect'])} of the effect)")
    if not out:
        return ""
    return "<strong>What would change this.</strong> " + esc(_sentence("; ".join(out)))


def executive_summary(ev: ProgramEvaluation) -> str:
    """The executive summary as a memo: decision, effect, return, how sure, what would change it.

    In that order: the recommendation and why; the effect in business
    terms with its 95% range; ROI with the conservative figure (or "not
    claimed" and why); the evidence grade in one sentence; the sensitivity
    result. Metrics read with their labels, numbers through :mod:`lopsnb.fmt`.
    """
    parts = [_decision_par(ev), _effect_par(ev), _roi_par(ev), _evidence_par(ev), _change_par(ev)]
    return "<div class='lopsnb-summary'>" + "".join(f"<p>{p}</p>" for p in parts if p) + "</div>"


def _points(share: Any, *, signed: bool = False) -> str:
    """A share as percentage points (``+5.9 pts``) or a percentage (``86%``)."""
    if not _finite(share):
        return "—"
    return f"{share * 100:+.1f} pts" if signed else f"{share * 100:.0f}%"


def _survival_sentence(ev: ProgramEvaluation) -> str:
    """Executive-summary sentence of a time-to-event outcome: the shares at the horizon and their difference."""
    p, primary, sv = ev.program, ev.impact.primary, ev.impact.survival  # type: ignore[union-attr]
    assert primary is not None and sv is not None
    h = sv.horizon_days
    since = "hire" if sv.origin == "hire_date" else "completion"
    if sv.kind == "retention":
        what, s1, s0 = f"still employed {h} days after {since}", sv.survival_treated, sv.survival_comparison
    else:
        what, s1, s0 = f"reaching {sv.event_label} within {h} days of {since}", 1 - sv.survival_treated, 1 - sv.survival_comparison
    ci = f"95% range {_points(primary.ci_low, signed=True)} to {_points(primary.ci_high, signed=True)}"
    head = f"{_comparison_phrase(ev)}, {_points(s1)} of participants in <strong>{esc(p.name)}</strong> were {esc(what)}, against {_points(s0)}"
    if primary.ci_low <= 0 <= primary.ci_high:
        return f"{head}: a difference of {_points(primary.estimate, signed=True)} whose {ci} includes zero, so no measurable change."
    return f"{head}: {_points(primary.estimate, signed=True)} ({ci})."


def survival_section(ev: ProgramEvaluation) -> str:
    """Time-to-event results: the shares at the horizon, hazard ratio, RMST and the proportional-hazards check.

    Empty string unless the program's design is survival (the curves are the
    figure :func:`lopsnb.report.plots.plot_survival` draws above it).
    """
    im = ev.impact
    if not im or im.survival is None or im.primary is None:
        return ""
    sv, e = im.survival, im.primary
    retention = sv.kind == "retention"
    label = "Retention" if retention else f"Share reaching {sv.event_label}"
    better_hr = "below 1: participants left less often" if retention else "above 1: participants reached it sooner"
    rmst_txt = "extra days employed" if retention else "days not yet at the event (negative = sooner)"
    ph = sv.ph_test or {}
    ph_p = ph.get("p_value")
    ph_txt = ("—" if not _finite(ph_p) else
              f"p = {fmt(ph_p)}" + (" (hazards not proportional: the hazard ratio is an average over the horizon)" if ph_p < 0.05 else " (no sign against proportional hazards)"))
    s1, s0 = (sv.survival_treated, sv.survival_comparison) if retention else (1 - sv.survival_treated, 1 - sv.survival_comparison)
    rows = [
        (f"{label} at {sv.horizon_days} days: participants", _points(s1)),
        (f"{label} at {sv.horizon_days} days: comparison", _points(s0)),
        ("Difference (participants − comparison)", f"{_points(e.estimate, signed=True)} (95% CI {_points(e.ci_low, signed=True)} to {_points(e.ci_high, signed=True)})"),
        (f"Hazard ratio within {sv.horizon_days} days ({better_hr})",
         f"{fmt(sv.hazard_ratio)} (95% CI {fmt(sv.hazard_ratio_ci_low)} to {fmt(sv.hazard_ratio_ci_high)}; p = {fmt(sv.hazard_ratio_p)})"),
        (f"Restricted mean time to {sv.horizon_days} days: {rmst_txt}",
         f"{fmt(sv.rmst_difference, 'days', signed=True)} (95% CI {fmt(sv.rmst_ci_low, signed=True)} to {fmt(sv.rmst_ci_high, signed=True)})"),
        ("Proportional-hazards check (Grambsch–Therneau)", ph_txt),
        ("People followed: participants / comparison", f"{fmt(e.n_treated)} / {fmt(e.n_comparison)} ({fmt(sv.n_events_treated)} / {fmt(sv.n_events_comparison)} with the event)"),
    ]
    body = "".join(f"<tr><td>{esc(a)}</td><td class='num'>{b}</td></tr>" for a, b in rows)
    cov = f" adjusted for {esc(', '.join(sv.covariates))}" if sv.covariates else " without covariates"
    since = "hire date" if sv.origin == "hire_date" else "completion date (comparison: the participants' median completion date)"
    return (f"<h4>Time to {esc('leaving' if retention else sv.event_label)}</h4>"
            f"<p>Kaplan–Meier curves from each person's {esc(since)}; people without the event are censored at {esc(str(pd.Timestamp(sv.as_of).date()))}. "
            f"The Cox model (Efron ties) is fitted on follow-up to the horizon{cov}. Curve points with fewer than "
            f"{ev.program.privacy.min_group_size} people at risk are not drawn.</p>"
            f"<table class='lopsnb-table'><tbody>{body}</tbody></table>")


def _effect_tile(ev: ProgramEvaluation) -> tuple[str, str, str]:
    """The effect tile: outcome units, or percentage points at the horizon for a survival outcome."""
    primary = ev.impact.primary if ev.impact else None
    if primary is None:
        return ("Effect", "—", "not isolated")
    sv = ev.impact.survival  # type: ignore[union-attr]
    if sv is not None:
        what = "retention" if sv.kind == "retention" else "reaching the event"
        return (f"Effect on {what} at {sv.horizon_days} days", _points(primary.estimate, signed=True),
                f"95% range {_points(primary.ci_low, signed=True)} to {_points(primary.ci_high, signed=True)}")
    unit = ev.impact.unit  # type: ignore[union-attr]
    return ("Effect", fmt(primary.estimate, unit, signed=True), f"95% CI {fmt(primary.ci_low, signed=True)} to {fmt(primary.ci_high, signed=True)}")


def tiles(ev: ProgramEvaluation) -> str:
    """Headline tiles: participants, effect, ROI, BCR, payback, evidence grade."""
    p = ev.program
    primary = ev.impact.primary if ev.impact else None
    lab = words.outcome_label(p)
    r = ev.roi
    insufficient = ev.evidence.grade == "insufficient"
    _, months = _horizon(ev)
    if primary is not None and p.evaluation.transform == "log":
        effect, effect_sub = F.percent(primary.pct[0], signed=True), f"95% range {F.percent(primary.pct[1], signed=True)} to {F.percent(primary.pct[2], signed=True)}"
    elif primary is not None:
        effect, per = _split_unit(words.effect_text(primary.estimate, p))
        effect_sub = (per + "; " if per else "") + "95% range " + F.interval(primary.ci_low, primary.ci_high, lab.rate_unit, currency=words.currency(p))
    else:
        effect, effect_sub = "—", "not isolated"
    items = [
        ("Participants", F.number(ev.inputs.participants), f"{F.share_pct(ev.inputs.completion_rate)} completed" if ev.inputs.measured else ""),
        _effect_tile(ev) if ev.impact and ev.impact.survival is not None else (f"Effect on {lab.label}", effect, effect_sub),
        ("ROI", "—" if not r or insufficient else F.percent(r.roi_pct),
         "not claimed: insufficient evidence" if insufficient else (
             f"conservative {F.percent(r.conservative_roi_pct)}" if r else (
                 "not claimed" if not ev.roi and ev.roi.withheld else "not computed"))),
        ("Benefit–cost ratio", "—" if not r or insufficient else F.number(r.bcr), "benefits ÷ fully loaded costs"),
        ("Payback", *_payback_tile(r.payback_months if r and not insufficient and r.roi_pct is not None else None, months, shown=bool(r) and not insufficient and r.roi_pct is not None)),
        ("Evidence", ev.evidence.grade, words.design_phrase(_design(ev))),
    ]
    cells = "".join(
        f"<div class='tile'><div class='tile-label'>{esc(label)}</div><div class='tile-value'>{esc(value)}</div><div class='tile-sub'>{esc(sub)}</div></div>"
        for label, value, sub in items
    )
    return f"<div class='lopsnb-tiles grade-{esc(ev.evidence.grade)}'>{cells}</div>"


def _payback_tile(months: float | None, horizon: float | None, *, shown: bool) -> tuple[str, str]:
    """Value and caption of the payback tile ("not reached" large, the horizon below)."""
    if not shown:
        return "—", "until benefits cover the costs"
    text = F.payback(months, horizon)
    if text.startswith("not reached"):
        return "not reached", text.removeprefix("not reached ")
    return text, "until benefits cover the costs"


def _split_unit(text: str) -> tuple[str, str]:
    """"+$1,216 per rep per month" → ("+$1,216", "per rep per month"): a tile shows the figure large, its unit below."""
    head, _, tail = text.partition(" ")
    scale, _, rest = tail.partition(" ")
    if scale in ("million", "billion", "trillion"):
        return f"{head} {scale}", rest
    return head, tail


def _metric_line(ev: ProgramEvaluation, m: Any) -> str:
    lab = words.outcome_label(ev.program, m.metric)
    target = f"; target {esc(words.level_text(m.target, ev.program, m.metric))}" if m.target is not None else ""
    goal = "goal: increase" if m.direction == "increase" else "goal: decrease"
    unit = f", {'in %' if F.is_share(lab.unit) else esc(lab.rate_unit)}" if lab.unit else ""
    return f"{esc(lab.label)} ({goal}{unit}{target})"


def alignment(ev: ProgramEvaluation) -> str:
    """Business goal, business metric, performance metrics, leading indicators."""
    p = ev.program
    perf = "".join(f"<li>{_metric_line(ev, m)}</li>" for m in p.chain.performance_metrics)
    lead = "".join(f"<li>{esc(readable(m))}</li>" for m in p.chain.leading_indicators)
    return (
        "<dl class='lopsnb-dl'>"
        f"<dt>Owner</dt><dd>{esc(p.owner or '—')}</dd>"
        f"<dt>Business goal</dt><dd>{esc(p.business_goal or '—')}</dd>"
        f"<dt>Business metric</dt><dd>{_metric_line(ev, p.chain.business_metric)}</dd>"
        f"<dt>Performance metrics</dt><dd>{'<ul>' + perf + '</ul>' if perf else '—'}</dd>"
        f"<dt>Leading indicators</dt><dd>{'<ul>' + lead + '</ul>' if lead else '—'}</dd>"
        f"<dt>Launch</dt><dd>{esc(p.launch or '—')}</dd>"
        "</dl>"
    )


def chain_table(ev: ProgramEvaluation) -> str:
    """The chain of evidence as a table in business language (metric labels, formatted numbers)."""
    rows = []
    for _, r in ev.chain.iterrows():
        measure, value, change = words.chain_cells(r, ev.program)
        rows.append(
            f"<tr class='status-{esc(str(r['status']).split(' ')[0])}'><td>{esc(r['level'])}</td><td>{esc(measure)}</td>"
            f"<td class='num'>{esc(value)}</td><td class='num'>{esc(change)}</td><td>{esc(r['status'])}</td><td>{esc(r['note'])}</td></tr>"
        )
    return (
        "<table class='lopsnb-table chain'><thead><tr><th>Level</th><th>Measure</th><th>Value</th><th>Change / effect</th>"
        "<th>Status</th><th>Note</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _suppress(frame: pd.DataFrame, value_cols: Iterable[str], n: int) -> pd.DataFrame:
    f = frame.copy()
    if "suppressed" in f.columns:
        mask = f["suppressed"].astype(bool)
        for c in value_cols:
            if c in f.columns:
                f[c] = f[c].astype(object)
                f.loc[mask, c] = SUPPRESSED.format(n=n)
        f = f.drop(columns=["suppressed"])
    return f


def reaction_table(ev: ProgramEvaluation) -> str:
    """Per item: group, n, mean with CI, top-2-box share (suppressed rows marked)."""
    items = ev.reaction.items
    n = ev.program.privacy.min_group_size
    cols = {"item": "Item", "group": "Group", "n": "n", "mean": "Mean", "ci_low": "CI low", "ci_high": "CI high", "top2_share": "Top-2-box share", "scale_max": "Scale max", "suppressed": "suppressed"}
    f = _suppress(items[[c for c in cols if c in items.columns]], ["mean", "ci_low", "ci_high", "top2_share"], n)
    return table(f.rename(columns=cols), formats={"Top-2-box share": F.share_pct, "n": F.number})


def learning_table(ev: ProgramEvaluation) -> str:
    """Level 2 statistics (paired pre/post)."""
    lr = ev.learning
    n = ev.program.privacy.min_group_size
    # Some statistics use fewer people than the paired group (individual gains
    # exclude people already at the maximum; the pass rate uses every post
    # score): each honours its own suppression flag.
    flags = dict(zip(lr.to_frame()["metric"], lr.to_frame()["suppressed"], strict=True)) if lr.measured else {}
    marker = SUPPRESSED.format(n=n)
    rows = [
        ("People with pre and post scores", lr.n_paired, ""),
        ("Mean pre-test score", lr.mean_pre, ""),
        ("Mean post-test score", lr.mean_post, ""),
        ("Mean gain (95% CI)", lr.mean_gain, f"{fmt(lr.gain_ci_low)} to {fmt(lr.gain_ci_high)}"),
        ("Paired t test p-value", F.pvalue(lr.t_pvalue).removeprefix("p = ").replace("p ", ""), ""),
        ("Wilcoxon signed-rank p-value", F.pvalue(lr.wilcoxon_pvalue).removeprefix("p = ").replace("p ", ""), ""),
        ("Cohen's d_z (95% CI)", lr.cohen_dz, f"{fmt(lr.dz_ci_low)} to {fmt(lr.dz_ci_high)}"),
        ("Hedges' g_z (small-sample corrected d_z)", lr.hedges_gz, f"{fmt(lr.gz_ci_low)} to {fmt(lr.gz_ci_high)}"),
        ("Class normalized gain ⟨g⟩ (on class means)", lr.class_gain, ""),
        ("Mean of individual normalized gains", lr.mean_individual_gain, ""),
        ("Pass rate (95% CI)", F.share_pct(lr.pass_rate) if _finite(lr.pass_rate) else None, f"{fmt(lr.pass_ci_low * 100, pct=True)} to {fmt(lr.pass_ci_high * 100, pct=True)}" if _finite(lr.pass_ci_low) else ""),
    ]
    hide = {"Mean of individual normalized gains": flags.get("mean_individual_gain", False), "Pass rate (95% CI)": flags.get("pass_rate", False)}
    if lr.suppressed:  # the notebook withholds the table then; never show it by mistake
        hide = {a: True for a, _, _ in rows if a != "People with pre and post scores"}
    body = "".join(
        f"<tr class='suppressed'><td>{esc(a)}</td><td class='num'>{esc(marker)}</td><td></td></tr>" if hide.get(a)
        else f"<tr><td>{esc(a)}</td><td class='num'>{esc(b) if isinstance(b, str) else fmt(b)}</td><td>{esc(c)}</td></tr>"
        for a, b, c in rows
    )
    return f"<table class='lopsnb-table'><thead><tr><th>Statistic</th><th>Value</th><th>Interval</th></tr></thead><tbody>{body}</tbody></table>"


def behavior_table(ev: ProgramEvaluation) -> str:
    """Application rate per behavior and observer (suppressed rows marked)."""
    rates = ev.behavior.rates
    n = ev.program.privacy.min_group_size
    cols = {"behavior": "Behavior", "observer": "Observer", "n": "People", "mean": "Mean", "ci_low": "CI low", "ci_high": "CI high", "share_applying": "Share applying", "suppressed": "suppressed"}
    f = _suppress(rates[[c for c in cols if c in rates.columns]], ["mean", "ci_low", "ci_high", "share_applying"], n)
    return table(f.rename(columns=cols), formats={"Share applying": F.share_pct, "People": F.number})


def estimates_table(ev: ProgramEvaluation) -> str:
    """Every method side by side, primary first, with strength; failures listed."""
    if not ev.impact:
        return not_measured("Level 4", f"no outcome panel: {ev.impact_error}")
    f = ev.impact.to_frame()
    cols = {"label": "Method", "estimate": "Effect", "ci_low": "95% low", "ci_high": "95% high", "p_value": "p-value", "n_treated": "Participants", "n_comparison": "Comparison", "strength": "Design strength"}
    eff = _effect_format(ev)
    formats = {"Effect": eff, "95% low": eff, "95% high": eff, "p-value": lambda v: F.pvalue(v).removeprefix("p = ").replace("p ", ""),
               "Participants": F.number, "Comparison": F.number}
    out = table(f[list(cols)].rename(columns=cols), formats=formats) if len(f) else "<p><em>No method could be estimated.</em></p>"
    if ev.impact.failures:
        out += "<ul class='failures'>" + "".join(f"<li>{esc(m)}: {esc(why)}</li>" for m, why in ev.impact.failures.items()) + "</ul>"
    return out


def _effect_format(ev: ProgramEvaluation) -> Callable[[Any], str]:
    """Format an effect on the outcome (its unit per entity and period; a percent change with a log transform)."""
    return lambda v: words.effect_text(v, ev.program)


def _variable(name: Any) -> str:
    """A balance variable in words: "baseline revenue_per_rep" reads "baseline revenue per rep" (labels for metrics)."""
    return readable(str(name))


def balance_table(ev: ProgramEvaluation) -> str:
    """Baseline balance: SMD per variable with its What Works Clearinghouse band."""
    if not ev.impact or len(ev.impact.balance) == 0:
        return "<p><em>No comparison group: balance does not apply.</em></p>"
    cols = {"variable": "Variable", "mean_treated": "Participants", "mean_comparison": "Comparison", "smd": "Std. mean difference", "band": "WWC band"}
    n = ev.program.privacy.min_group_size
    f = ev.impact.balance.copy()
    lab = words.outcome_label(ev.program)
    f["variable"] = [("baseline " + lab.label) if v == "baseline " + ev.program.outcome else _variable(v) for v in f["variable"]]
    # Group means of fewer than min_group_size entities describe individuals
    # (a single participant's baseline revenue): suppressed, like the SMD
    # that would let a reader solve for them.
    n_treated, n_comparison = _group_sizes(ev)
    small = [c for c, k in (("mean_treated", n_treated), ("mean_comparison", n_comparison)) if k is not None and 0 < k < n]
    if small:
        for c in [*small, "smd"]:
            f[c] = f[c].astype(object)
            f[c] = SUPPRESSED.format(n=n)
    return table(f.rename(columns=cols))


def overlap_section(ev: ProgramEvaluation) -> str:
    """Propensity-score overlap (quantiles by group, trimming rule) and balance after weighting.

    Empty string when no weighting design (dr_did, ipw_did, weighting) ran.
    Group statistics of fewer than ``privacy.min_group_size`` entities are
    suppressed, as in :func:`balance_table`.
    """
    im = ev.impact
    if not im or im.overlap is None:
        return ""
    ov = im.overlap
    n = ev.program.privacy.min_group_size
    small = any(0 < ov[k] < n for k in ("n_treated", "n_comparison"))
    q = pd.DataFrame(ov["quantiles"]).T.reset_index(names="group")
    head = (f"<h4>Overlap: propensity scores ({esc(ov['method'])})</h4><p>Estimated probability of "
            f"participating given the covariates, by group: the groups are comparable where the ranges overlap. Trimming: {esc(ov['trim_rule'])}; "
            f"{int(ov['n_trimmed'])} comparison entit{'y' if ov['n_trimmed'] == 1 else 'ies'} trimmed.</p>")
    body = f"<p><em>{SUPPRESSED.format(n=n)}</em></p>" if small else table(q)
    if im.balance_weighted is not None and len(im.balance_weighted):
        cols = {"variable": "Variable", "mean_treated": "Participants", "mean_comparison": "Comparison",
                "mean_comparison_weighted": "Comparison (weighted)", "smd": "SMD before", "smd_weighted": "SMD after weighting",
                "band_weighted": "WWC band after"}
        f = im.balance_weighted.copy()
        if small:
            for c in ("mean_treated", "mean_comparison", "mean_comparison_weighted", "smd", "smd_weighted"):
                f[c] = SUPPRESSED.format(n=n)
        body += "<h4>Balance after weighting</h4>" + table(f.rename(columns=cols))
    return head + body


def _group_sizes(ev: ProgramEvaluation) -> tuple[int | None, int | None]:
    """Entities behind the participant and comparison figures of Level 4 (None: unknown)."""
    if not ev.impact:
        return None, None
    primary = ev.impact.primary
    if primary is not None:
        return int(primary.n_treated), int(primary.n_comparison)
    series = ev.impact.series
    if len(series):
        sizes = series.groupby("group")["n"].max()
        return (int(sizes["participants"]) if "participants" in sizes else 0, int(sizes["comparison"]) if "comparison" in sizes else 0)
    return None, None


def roi_summary(ev: ProgramEvaluation) -> str:
    """ROI figures with interval, break-even effect and intangibles."""
    if not ev.roi:
        reason = str(ev.roi_reason)
        if ev.roi.withheld:  # computed but withheld: insufficient evidence or incomplete costs
            return f"<div class='lopsnb-note not-measured'><strong>Level 5 ROI: not claimed.</strong> {esc(reason.removeprefix('not claimed: '))}</div>"
        return not_measured("Level 5 ROI", reason)
    r = ev.roi
    cur = ev.program.monetization.currency if ev.program.monetization else ""
    warn = ("<div class='lopsnb-note warning'><strong>Not a claim:</strong> the evidence grade is insufficient, so these figures "
            "only show what the data would imply.</div>") if ev.evidence.grade == "insufficient" else ""
    iv = r.roi_interval or (None, None)
    _, months = _horizon(ev)
    basis = words.uncertainty_basis(_design(ev))
    chance = (esc(F.probability(r.prob_positive, modelled=basis is None, basis=basis)) if r.prob_positive is not None or basis else "—")
    rows = [
        ("Monetary benefits (first year)" if ev.program.monetization and ev.program.monetization.horizon_years == 1 else "Monetary benefits", money(r.benefits, cur)),
        ("Fully loaded costs", money(r.costs, cur)),
        ("Net benefit", money(r.net_benefit, cur, signed=True)),
        ("ROI", F.percent(r.roi_pct) if r.roi_pct is not None else "undefined (zero cost)"),
        ("ROI 95% interval", f"{F.percent(iv[0])} to {F.percent(iv[1])}"),
        ("Conservative ROI (least favourable end of the effect's range, lowest value per unit)", F.percent(r.conservative_roi_pct)),
        ("Chance ROI > 0", chance),
        ("Benefit–cost ratio (not an ROI)", F.number(r.bcr)),
        ("Payback", esc(F.payback(r.payback_months, months)) if r.roi_pct is not None else "—"),
        (_break_even_label(ev), fmt(r.break_even_effect, _break_even_unit(ev), signed=True)) if ev.impact and ev.impact.survival is not None
        else (f"Break-even effect on {words.outcome_label(ev.program).label}", esc(_effect_format(ev)(r.break_even_effect))),
        ("Isolation method", esc(r.isolation_method)),
    ]
    body = "".join(f"<tr><td>{esc(a)}</td><td class='num'>{b}</td></tr>" for a, b in rows)
    intang = "".join(f"<li>{esc(i)}</li>" for i in r.intangibles)
    return (
        warn + f"<table class='lopsnb-table'><tbody>{body}</tbody></table>"
        + (f"<p><strong>Intangible benefits</strong> (not converted to money, not in the ROI):</p><ul>{intang}</ul>" if intang else "")
    )


def _listed_detail(value: Any) -> bool:
    """Whether an estimate detail belongs in the method list: not empty, not a list of records.

    Lists of records (synthetic control's gaps, placebo gaps, weights) are
    charts and tables of their own; hundreds of them would bury the list.
    """
    if value is None or (isinstance(value, (str, list, tuple, dict)) and len(value) == 0):
        return False
    return not (isinstance(value, list) and isinstance(value[0], dict))


def _break_even_unit(ev: ProgramEvaluation) -> str | None:
    """The unit of the monetized effect: days for time to an event, else the outcome's."""
    sv = ev.impact.survival if ev.impact else None
    if sv is not None and sv.kind == "event":
        return "days"
    return ev.impact.unit if ev.impact else None


def _break_even_label(ev: ProgramEvaluation) -> str:
    sv = ev.impact.survival if ev.impact else None
    if sv is None:
        return "Break-even effect per entity per period"
    if sv.kind == "retention":
        return f"Break-even retention difference at {sv.horizon_days} days (share)"
    return f"Break-even days sooner to {sv.event_label} (per participant)"


def method_section(ev: ProgramEvaluation) -> str:
    """Isolation method, assumptions, audit log, coverage and exclusions, evidence reasons."""
    p = ev.program
    primary = ev.impact.primary if ev.impact else None
    key = "did_staggered" if primary is not None and primary.details.get("estimator", "").startswith("Callaway") else p.evaluation.design
    assumptions = "".join(f"<li>{esc(a)}</li>" for a in (primary.assumptions if primary else ASSUMPTIONS.get(key, ())))
    audit = "".join(f"<tr><td>{esc(a.principle)}</td><td>{esc(a.action)}</td></tr>" for a in ev.audit)
    reasons = "".join(f"<li>{esc(r)}</li>" for r in ev.evidence.reasons)
    coverage = ""
    if ev.impact:
        att = ev.impact.attrition
        coverage = "".join(f"<tr><td>{esc(readable(k))}</td><td class='num'>{fmt(v)}</td></tr>" for k, v in att.items())
        notes = "".join(f"<li>{esc(n)}</li>" for n in ev.impact.notes)
        pre = ev.impact.pre_trend
        pre_txt = (f"<p>Pre-trend (placebo) test: χ² = {fmt(pre.get('statistic'))} on {esc(pre.get('df'))} df, {esc(F.pvalue(pre.get('p_value')))}.</p>"
                   if pre and _finite(pre.get("p_value")) else "")
    else:
        notes, pre_txt = "", ""
    details = ""
    if primary is not None:
        details = "".join(f"<li>{esc(k)}: {fmt(v) if _finite(v) else esc(v)}</li>" for k, v in primary.details.items() if _listed_detail(v))
    return (
        f"<h3>Isolation method</h3><p>{esc(primary.label if primary else p.evaluation.design)}</p>"
        + (f"<ul class='details'>{details}</ul>" if details else "")
        + f"<h3>Assumptions</h3><ul>{assumptions}</ul>{pre_txt}"
        + f"<h3>Evidence grade: {esc(ev.evidence.grade)}</h3><ul>{reasons}</ul>"
        + f"<h3>Guiding principles applied (Phillips)</h3><table class='lopsnb-table'><thead><tr><th>Principle</th><th>What it changed</th></tr></thead><tbody>{audit}</tbody></table>"
        + (f"<h3>Data coverage and exclusions</h3><table class='lopsnb-table'><tbody>{coverage}</tbody></table>" if coverage else "")
        + (f"<ul>{notes}</ul>" if notes else "")
    )


def comments_block(ev: ProgramEvaluation) -> str:
    """Free-text reaction comments, only when the program sets ``privacy.include_comments``.

    Returns ``""`` when comments are excluded (the default): nothing in the
    page then hints at their content. When included, the comments are the
    ones :func:`lopsnb.evaluation.levels.reaction_summary` returned, with
    e-mail addresses, phone numbers and the ids, names and e-mails of the
    workspace's people already redacted (the same :func:`redact` is applied
    again here, so a comment list built elsewhere cannot slip through), and
    escaped; with fewer respondents than ``privacy.min_group_size`` they are
    withheld and the block says so.
    """
    from lopsnb.evaluation.levels import redact

    if not ev.program.privacy.include_comments:
        return ""
    r = ev.reaction
    n = ev.program.privacy.min_group_size
    head = "<h4>Comments</h4>"
    if r.comments_suppressed:
        return head + f"<p class='lopsnb-note'>Comments withheld: {esc(SUPPRESSED.format(n=n))} respondents.</p>"
    if not r.comments:
        return head + "<p><em>No comments.</em></p>"
    items = "".join(f"<li>{esc(redact(str(c), people=r.redaction))}</li>" for c in r.comments)
    return (head + "<p class='lopsnb-note'>Free-text comments as written, with people's names, ids and e-mail addresses "
            "and phone numbers redacted.</p>"
            f"<ul class='lopsnb-comments'>{items}</ul>")



def _how_sure_did(sens: dict[str, Any], eff: Callable[[Any], str]) -> list[str]:
    out = []
    hd, pp = sens.get("honest_did"), sens.get("pretrend_power")
    if hd:
        mbar = hd.get("breakdown_mbar")
        out.append(
            f"The first-period effect would survive a violation of parallel trends up to <strong>{fmt(mbar)} times</strong> the largest "
            "pre-program deviation between the groups (Rambachan–Roth breakdown value)." if mbar is not None else
            "Even with exactly parallel trends after the program, the robust interval of the first-period effect includes zero.")
        rows = pd.DataFrame(hd["grid"]) if not isinstance(hd["grid"], pd.DataFrame) else hd["grid"]
        out.append(table(rows, columns={"mbar": "M̄ (× largest pre-period deviation)", "ci_low": "robust 95% low", "ci_high": "robust 95% high"}))
    if pp:
        out.append(
            f"A gap between the groups growing by {esc(eff(pp.get('slope_80')))} every period would be caught by the pre-trend test "
            f"only 80% of the time (half the time: {esc(eff(pp.get('slope_50')))}); carried into the first followup period it would "
            f"account for {esc(eff(pp.get('bias_first_post_80')))} of the effect"
            + (" — not enough to explain it away." if pp.get("survives_80") else " — enough to explain the effect away."))
    return out


def _how_sure_regression(reg: dict[str, Any], eff: Callable[[Any], str]) -> list[str]:
    out = [
        f"To make the effect insignificant, something we did not measure would have to explain at least "
        f"<strong>{reg['robustness_value_alpha']:.1%}</strong> of the remaining differences in both who took part and the outcome "
        f"(to erase it entirely: {reg['robustness_value']:.1%}; robustness values, Cinelli & Hazlett 2020)."
    ]
    for b in reg.get("bounds", []):
        if b.get("kd") == 1.0 and b.get("possible") and b.get("capped"):
            out.append(f"A hidden factor as strong as {esc(readable(b['benchmark']))} would have to explain all remaining variation of the outcome; "
                       f"even then the effect would be {esc(eff(b['adjusted_estimate']))}.")
        elif b.get("kd") == 1.0 and b.get("possible"):
            verdict = "would" if b.get("explains_away") else "would not"
            out.append(f"A hidden factor as strong as {esc(readable(b['benchmark']))} {verdict} explain the effect away "
                       f"(the effect would be {esc(eff(b['adjusted_estimate']))}, 95% interval {esc(eff(b['adjusted_ci_low']))} to {esc(eff(b['adjusted_ci_high']))}).")
    return out


def how_sure(ev: ProgramEvaluation) -> str:
    """"How sure are we?": how wrong the identifying assumption would have to be to erase the effect or the ROI."""
    sens = ev.impact.sensitivity.to_dict() if ev.impact and ev.impact.sensitivity is not None else None
    if not sens or not ev.impact or ev.impact.primary is None:
        return not_measured("Sensitivity", "no isolated effect to assess")
    eff = _effect_format(ev)
    parts: list[str] = []
    if ev.evidence.grade == "insufficient":
        parts.append("<div class='lopsnb-note warning'><strong>Not a claim:</strong> the evidence grade is insufficient; "
                     "the figures below only show how fragile the estimate is.</div>")
    if sens.get("regression"):
        parts += _how_sure_regression(sens["regression"], eff)
    parts += _how_sure_did(sens, eff)
    bb = sens.get("break_even_bias")
    if bb:
        parts.append(
            "The conservative ROI is already below zero: no bias is needed to erase it." if bb.get("conservative_roi_negative_already") else
            f"The conservative ROI turns negative if the estimate overstates the effect by {esc(eff(abs(bb['bias'])))} "
            f"({F.percent(bb['pct_of_effect'])} of the effect).")
    parts += [esc(n) for n in sens.get("notes", [])]
    return "".join(p if p.startswith("<") else f"<p>{p}</p>" for p in parts)


# ---------------------------------------------------------------------------- pilot designs (synthetic control, sdid)


def pilot_estimate(ev: ProgramEvaluation) -> Any:
    """The synthetic_control (else sdid) estimate whose charts the report shows, or None.

    None also when the estimate has no per-period path (``details.gaps``).
    """
    if not ev.impact:
        return None
    for method in PILOT_METHODS:
        est = ev.impact.estimates.get(method)
        if est is not None and est.details.get("gaps"):
            return est
    return None


def pilot_withheld(ev: ProgramEvaluation) -> bool:
    """True when the pilot charts and donor names would show individuals.

    A synthetic comparison is drawn for the participating unit itself. For
    ``entity: org_unit`` that is a unit's KPI (a line's output, a site's
    incident rate) and is shown; for ``entity: person`` it would be the path
    of a few people, each placebo gap one person's, and donors are people:
    charts and names are withheld.
    """
    return pilot_estimate(ev) is not None and ev.program.evaluation.entity == "person"


def pilot_label(ev: ProgramEvaluation) -> str:
    """The participating unit's id (one unit) or "mean of N participating units" (plain text, not escaped).

    A person is never named: for ``entity: person`` the label is "participants".
    """
    est = pilot_estimate(ev)
    if est is None or ev.program.evaluation.entity == "person":
        return "participants"
    units = sorted({str(w.get("treated_unit")) for w in est.details.get("weights", []) if w.get("treated_unit") is not None})
    if len(units) == 1 and est.n_treated == 1:
        return units[0]
    return f"mean of {int(est.n_treated)} participating units" if est.n_treated != 1 else "participating unit"


def _pilot_gaps(est: Any) -> pd.DataFrame:
    g = pd.DataFrame(est.details.get("gaps", []))
    if len(g) and "unit" in g:
        g = g[g["unit"] == "average"]
    return g


def synthetic_summary(ev: ProgramEvaluation) -> str:
    """Plain-language reading of the synthetic comparison: fit, gap, placebo rank, leave-one-out range."""
    est = pilot_estimate(ev)
    if est is None:
        return ""
    d, unit = est.details, ev.impact.unit if ev.impact else None
    name = esc(pilot_label(ev))
    g = _pilot_gaps(est)
    pre, post = g[~g["post"].astype(bool)], g[g["post"].astype(bool)]
    parts = [f"Before the program, {name} and its synthetic comparison differed by {fmt(d.get('rmspe'), unit)} a period "
             f"(root mean squared gap over {len(pre)} baseline periods; {fmt(d.get('fit_ratio'))} × the spread of the baseline outcome)."]
    ci = (f" (95% interval {fmt(est.ci_low, signed=True)} to {fmt(est.ci_high, unit, signed=True)})"
          if _finite(est.ci_low) and _finite(est.ci_high) else f" (no 95% interval: {esc(d.get('interval_reason') or 'undefined')})")
    parts.append(f"Over the {len(post)} followup periods the gap averaged <strong>{fmt(est.estimate, unit, signed=True)}</strong>{ci}.")
    placebos = d.get("placebos") or []
    if est.method == "synthetic_control" and placebos and _finite(est.p_value):
        n = len(placebos)
        rank = int(round(est.p_value * (n + 1))) if est.n_treated == 1 else None
        beaten = "none of their gaps" if rank == 1 else f"{rank - 1} of their gaps"
        parts.append((f"Treating each of the {n} donors in turn as if it had taken part, {beaten} grew as much relative to the "
                      f"baseline fit as the gap of {name}: " if rank is not None else f"Against {n} placebo fits: ")
                     + f"permutation p-value {fmt(est.p_value)}.")
    elif _finite(est.p_value):
        parts.append(f"p-value {fmt(est.p_value)} ({esc(d.get('vcov_method', ''))} variance).")
    loo = pd.DataFrame(d.get("loo") or [])
    if len(loo):
        parts.append(f"Leaving out one donor with weight at a time, the effect ranges from {fmt(loo['estimate'].min(), signed=True)} "
                     f"to {fmt(loo['estimate'].max(), unit, signed=True)}.")
    withheld = ("<p class='lopsnb-note'>The participants are people: their paths, the placebo gaps and the donors are not shown.</p>"
                if pilot_withheld(ev) else "")
    return "<p>" + " ".join(parts) + "</p>" + withheld


def _pct(w: Any) -> str:
    return f"{float(w):.1%}" if _finite(w) else "—"


def donor_weights_table(ev: ProgramEvaluation) -> str:
    """The synthetic control's donor weights, largest first, with the leave-one-out estimate per donor.

    Donors are comparison units; for ``entity: person`` they are people and
    only counts are shown (:func:`pilot_withheld`).
    """
    est = ev.impact.estimates.get("synthetic_control") if ev.impact else None
    if est is None or not est.details.get("weights"):
        return ""
    w = pd.DataFrame(est.details["weights"]).sort_values(["treated_unit", "weight"], ascending=[True, False], kind="stable")
    zero = int(est.n_comparison) - w["donor"].nunique()
    if pilot_withheld(ev):
        return (f"<p>{w['donor'].nunique()} of {int(est.n_comparison)} donors have a weight (largest {_pct(w['weight'].max())}); "
                "donors are people and are not named.</p>")
    loo = {str(r["dropped_donor"]): r for r in est.details.get("loo", [])}
    unit = ev.impact.unit if ev.impact else None
    several = w["treated_unit"].nunique() > 1
    rows = []
    for treated, part in w.groupby("treated_unit", sort=True):
        shown, rest = part.head(MAX_DONOR_ROWS), part.iloc[MAX_DONOR_ROWS:]
        for _, r in shown.iterrows():
            lo = loo.get(str(r["donor"]))
            cells = ([esc(treated)] if several else []) + [esc(r["donor"]), _pct(r["weight"]),
                     fmt(lo["estimate"], signed=True) if lo else "—", fmt(lo["pre_rmspe"]) if lo else "—"]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" if i < (2 if several else 1) else f"<td class='num'>{c}</td>" for i, c in enumerate(cells)) + "</tr>")
        if len(rest):
            rows.append(f"<tr><td colspan='{5 if several else 4}'>{len(rest)} more donor(s) with a combined weight of {_pct(rest['weight'].sum())}</td></tr>")
    in_unit = f" ({unit})" if unit else ""
    head = (["Participating unit"] if several else []) + ["Donor", "Weight", f"Effect without this donor{in_unit}",
                                                          f"Baseline fit (RMSPE) without it{in_unit}"]
    note = f"<p class='lopsnb-note'>{zero} other donor(s) have a weight of zero: they do not enter the synthetic comparison.</p>" if zero > 0 else ""
    return ("<table class='lopsnb-table'><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + note)


def sdid_weights_summary(ev: ProgramEvaluation) -> str:
    """SDID's unit weights (ω: which donors) and time weights (λ: which baseline periods), in brief."""
    est = ev.impact.estimates.get("sdid") if ev.impact else None
    if est is None:
        return ""
    d = est.details
    w = pd.DataFrame(d.get("weights") or [], columns=["unit", "weight"])
    w = w[w["weight"] > 0].sort_values("weight", ascending=False, kind="stable")
    eff = 1 / float((w["weight"] ** 2).sum()) if len(w) else float("nan")
    out = [f"<p>Synthetic difference-in-differences weights {len(w)} of {int(est.n_comparison)} donors "
           f"(effective number of donors 1/Σω² = {fmt(eff)}) and the baseline periods below; its estimate is "
           f"{fmt(est.estimate, ev.impact.unit if ev.impact else None, signed=True)}.</p>"]
    if len(w) and not pilot_withheld(ev):
        top, rest = w.head(MAX_DONOR_ROWS), w.iloc[MAX_DONOR_ROWS:]
        rows = "".join(f"<tr><td>{esc(r['unit'])}</td><td class='num'>{_pct(r['weight'])}</td></tr>" for _, r in top.iterrows())
        if len(rest):
            rows += f"<tr><td colspan='2'>{len(rest)} more donor(s) with a combined weight of {_pct(rest['weight'].sum())}</td></tr>"
        out.append(f"<table class='lopsnb-table'><thead><tr><th>Donor</th><th>Unit weight ω</th></tr></thead><tbody>{rows}</tbody></table>")
    tw = pd.DataFrame(d.get("time_weights") or [], columns=["period", "weight"])
    tw = tw[tw["weight"] > 1e-6]
    if len(tw):
        periods = ", ".join(f"{esc(r['period'])} ({_pct(r['weight'])})" for _, r in tw.iterrows())
        out.append(f"<p>Time weights λ (the baseline periods that best predict the donors' followup level): {periods}.</p>")
    return "".join(out)


def synthetic_path_alt(ev: ProgramEvaluation) -> str:
    """Alt text (plain text) of the treated-vs-synthetic chart: what it shows and what it says."""
    est = pilot_estimate(ev)
    if est is None:
        return ""
    g = _pilot_gaps(est)
    post = g[g["post"].astype(bool)]
    unit = ev.impact.unit if ev.impact else None
    return (f"Line chart of {ev.program.outcome} per period, {g['period'].min()} to {g['period'].max()}: {pilot_label(ev)} (solid) and "
            f"its synthetic comparison (dashed). Baseline root mean squared gap {fmt(est.details.get('rmspe'))}; in the "
            f"{len(post)} followup periods {pilot_label(ev)} averages {fmt(post['treated'].mean())} against "
            f"{fmt(post['synthetic'].mean())} for the synthetic comparison (gap {fmt(est.estimate, signed=True)}"
            + (f" {unit})." if unit else ")."))


def synthetic_gaps_alt(ev: ProgramEvaluation) -> str:
    """Alt text (plain text) of the gap chart with the placebo gaps behind it."""
    est = pilot_estimate(ev)
    if est is None:
        return ""
    g = _pilot_gaps(est)
    post = g[g["post"].astype(bool)]
    placebo = pd.DataFrame(est.details.get("placebo_gaps") or [], columns=["unit", "period", "gap"])
    text = (f"Line chart of the gap, {pilot_label(ev)} minus its synthetic comparison, per period: near zero in the baseline "
            f"(root mean squared {fmt(est.details.get('rmspe'))}), {fmt(post['gap'].min(), signed=True)} to "
            f"{fmt(post['gap'].max(), signed=True)} in the followup.")
    if len(placebo):
        pp = placebo[placebo["period"].isin(set(post["period"]))].groupby("unit")["gap"].mean()
        above = int((pp >= est.estimate).sum()) if est.estimate >= 0 else int((pp <= est.estimate).sum())
        text += (f" Behind it, grey lines show the placebo gaps of {placebo['unit'].nunique()} donors, {above} of which average a followup "
                 f"gap at least as far from zero in the same direction (permutation p-value {fmt(est.p_value)}).")
    return text
