"""Text alternatives of the report charts (WCAG 2.1 success criterion 1.1.1).

Each function returns one or two plain-text sentences saying what a chart
shows and its key number, for the ``alt`` attribute of the chart's image
(:func:`lopsnb.report.context.show` attaches it; the template escapes it).
A reader who cannot see the chart learns what a sighted reader takes from it.
The texts are plain (not HTML): escaping is the template's job, once.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lopsnb.report.words import chain_cells

__all__ = [
    "number",
    "chain_alt",
    "reaction_alt",
    "learning_alt",
    "behavior_alt",
    "trend_alt",
    "event_study_alt",
    "forest_alt",
    "waterfall_alt",
    "tornado_alt",
    "scorecard_alt",
    "gaps_alt",
    "scorecard_trend_alt",
    "heatmap_alt",
    "operations_alt",
]


def number(value: Any, unit: str | None = None, *, signed: bool = False, pct: bool = False) -> str:
    """A number as the reports write it (thousands separators, never scientific notation), with its unit."""
    from lopsnb.report.sections import fmt

    if value is None or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        return "not available"
    text = fmt(float(value), signed=signed, pct=pct)
    if "e" in text.lower():  # a tiny value: fixed decimals instead of 1e-05
        text = f"{float(value):+.6f}" if signed else f"{float(value):.6f}"
        text = text.rstrip("0").rstrip(".")
    return f"{text} {unit}".strip() if unit else text


def _interval(low: Any, high: Any, unit: str | None = None, *, signed: bool = True) -> str:
    return f"95% CI {number(low, signed=signed)} to {number(high, unit, signed=signed)}"


def chain_alt(ev: Any) -> str:
    """The chain-of-evidence diagram: which levels are measured, with each level's headline."""
    chain = ev.chain
    if chain is None or len(chain) == 0:
        return "Chain of evidence: no level could be measured."
    parts = []
    for level, rows in chain.groupby(chain["level"].str[0], sort=True):
        r = rows.iloc[0]
        # The same words as the diagram's boxes: metric labels, not metric ids.
        measure, value, change = chain_cells(r, ev.program)
        if r["status"] != "measured":
            parts.append(f"level {level} {measure}: {r['status']}")
            continue
        parts.append(f"level {level} {measure}: {change or value or 'not available'}")
    return "Chain of evidence from inputs to ROI, one box per level; " + "; ".join(parts) + "."


def reaction_alt(ev: Any) -> str:
    """The reaction item chart: item means with intervals, by answer scale."""
    items = ev.reaction.items
    shown = items[~items["suppressed"].astype(bool)]
    if shown.empty:
        return "Reaction survey items: every item is suppressed (too few answers)."
    share = shown["mean"] / shown["scale_max"]  # items on a 0–10 and a 1–5 scale compare by their share of the scale
    top = shown.loc[share.idxmax()]
    low = shown.loc[share.idxmin()]
    scales = ", ".join(f"{(shown['scale_max'] == m).sum()} on a scale to {m:g}" for m in sorted(shown["scale_max"].unique()))
    text = (f"Mean rating of {len(shown)} reaction survey items with 95% intervals ({scales}), from {int(ev.reaction.respondents)} respondents; "
            f"highest: {top['item']}, {number(top['mean'])} of {top['scale_max']:g}; lowest: {low['item']}, {number(low['mean'])} of {low['scale_max']:g}.")
    hidden = int(items["suppressed"].astype(bool).sum())
    return text + (f" {hidden} item(s) suppressed (too few answers)." if hidden else "")


def learning_alt(ev: Any) -> str:
    """The pre/post learning chart: paired scores and the mean gain."""
    lr = ev.learning
    lines = "individual lines hidden (small group)" if lr.suppressed else "one line per person"
    return (f"Test scores before and after the program for {lr.n_paired} people with both ({lines}, box plots of each): "
            f"mean {number(lr.mean_pre)} before, {number(lr.mean_post)} after; mean gain {number(lr.mean_gain, 'points', signed=True)} "
            f"({_interval(lr.gain_ci_low, lr.gain_ci_high)}).")


def behavior_alt(ev: Any) -> str:
    """The behaviour chart: application per behaviour and observer."""
    r = ev.behavior.rates
    shown = r[~r["suppressed"].astype(bool)]
    if shown.empty:
        return "Application on the job per behaviour and observer: every group is suppressed (too few observations)."
    top = shown.loc[shown["mean"].idxmax()]
    low = shown.loc[shown["mean"].idxmin()]
    return (f"Mean application on the job of {len(shown)} behaviour and observer pairs with 95% intervals; "
            f"highest: {top['behavior']} ({top['observer']}), {number(top['mean'])}; lowest: {low['behavior']} ({low['observer']}), {number(low['mean'])}.")


def _primary(ev: Any) -> pd.Series | None:
    frame = ev.impact.to_frame() if ev.impact else None
    if frame is None or frame.empty:
        return None
    prim = frame[frame["primary"].astype(bool)]
    return (prim if len(prim) else frame).iloc[0]


def _outcome(ev: Any) -> str:
    """The evaluated outcome by its business label (the charts' own axis words)."""
    return ev.program.metric_label(ev.impact.outcome).label


def _effect(ev: Any) -> str:
    p = _primary(ev)
    if p is None:
        return "no effect could be estimated"
    unit = ev.impact.unit
    return f"estimated effect {number(p['estimate'], unit, signed=True)} ({_interval(p['ci_low'], p['ci_high'], unit)}) by {p['label']}"


def trend_alt(ev: Any, *, counterfactual: bool = False) -> str:
    """The outcome over time: participants vs comparison (or vs the projected pre-program trend)."""
    im = ev.impact
    series = im.series
    groups = set(series.loc[~series["suppressed"].astype(bool), "group"]) if len(series) else set()
    against = ("the comparison group" if "comparison" in groups
               else "the pre-program trend projected past the launch" if counterfactual else "no comparison group")
    launch = f", launch on {ev.program.launch} marked" if ev.program.launch is not None else ""
    return f"Mean {_outcome(ev)} per period for participants against {against}{launch}; {_effect(ev)}."


def event_study_alt(ev: Any) -> str:
    """The event-study chart: placebo periods before completion, effects after."""
    es = ev.impact.event_study
    before, after = es[es["kind"] == "placebo"], es[es["kind"] == "effect"]
    unit = ev.impact.unit
    clear = int(((before["ci_low"] > 0) | (before["ci_high"] < 0)).sum()) if len(before) else 0
    text = f"Effect by period relative to completion with 95% intervals: {len(before)} placebo period(s) before, {clear} of them away from zero"
    if len(after):
        text += (f"; {len(after)} period(s) after, from {number(after['estimate'].min(), signed=True)} "
                 f"to {number(after['estimate'].max(), unit, signed=True)}")
    return text + "."


def forest_alt(ev: Any) -> str:
    """The forest plot: every method's estimate, the primary one and the break-even effect."""
    frame = ev.impact.to_frame()
    text = f"Effect on {_outcome(ev)} estimated by {len(frame)} method(s) with 95% intervals; primary: {_effect(ev)}"
    if ev.roi and ev.roi.break_even_effect is not None and math.isfinite(ev.roi.break_even_effect):
        text += f"; break-even effect {number(ev.roi.break_even_effect, ev.impact.unit, signed=True)} marked"
    return text + "."


def waterfall_alt(ev: Any) -> str:
    """The ROI waterfall: benefits less each cost category down to the net benefit."""
    roi = ev.roi
    cats = roi.costs_by_category
    largest = f"; largest cost: {cats.loc[cats['amount'].idxmax(), 'category']}, {number(cats['amount'].max())}" if len(cats) else ""
    pct = f"; ROI {number(roi.roi_pct, pct=True)}" if roi.roi_pct is not None else ""
    return (f"Waterfall from first-year benefits of {number(roi.benefits)} less fully loaded costs of {number(roi.costs)} "
            f"by category{largest}, to a net benefit of {number(roi.net_benefit)}{pct}.")


def tornado_alt(ev: Any) -> str:
    """The one-way sensitivity (tornado) chart of ROI."""
    roi = ev.roi
    if roi.roi_pct is None or roi.tornado is None or len(roi.tornado) == 0:
        return "One-way sensitivity of ROI: not computed (no ROI)."
    t = roi.tornado.assign(swing=(roi.tornado["roi_high"] - roi.tornado["roi_low"]).abs())
    top = t.loc[t["swing"].idxmax()]
    lo, hi = sorted((top["roi_low"], top["roi_high"]))
    return (f"One-way sensitivity of ROI ({number(roi.roi_pct, pct=True)}) to {len(t)} inputs, each moved over its range; "
            f"the largest swing comes from {top['factor']}: ROI {number(lo, pct=True)} to {number(hi, pct=True)}.")


def scorecard_alt(result: Any, scorecard: str) -> str:
    """A culture scorecard's category means by group, with bands."""
    part = result.categories[(result.categories["scorecard"] == scorecard) & ~result.categories["suppressed"].fillna(True).astype(bool)]
    label = result.scorecard_labels.get(scorecard, scorecard)
    if part.empty:
        return f"{label}: every group is hidden (too few respondents)."
    low = part.loc[part["mean"].idxmin()]
    high = part.loc[part["mean"].idxmax()]
    name = result.category_labels
    return (f"{label}, {result.period}: mean score (1 to 5) of each category for employees and leaders with 95% intervals, "
            f"on bands needs significant improvement, some progress and strong; lowest: {name.get(low['category'], low['category'])} "
            f"({low['group']}s) {number(low['mean'])}; highest: {name.get(high['category'], high['category'])} ({high['group']}s) {number(high['mean'])}.")


def gaps_alt(result: Any) -> str:
    """Leader minus employee gap per category."""
    g = result.gaps[~result.gaps["suppressed"].astype(bool)]
    if g.empty:
        return "Leader minus employee gap per category: every gap is hidden (too few respondents)."
    top = g.loc[g["gap"].abs().idxmax()]
    clear = int(((g["ci_low"] > 0) | (g["ci_high"] < 0)).sum())
    return (f"Leader mean minus employee mean for {len(g)} categories with 95% intervals; {clear} clearly differ from zero; "
            f"largest: {top.get('label', top['category'])}, {number(top['gap'], 'points', signed=True)}.")


def scorecard_trend_alt(result: Any) -> str:
    """Each scorecard's index per quarter by group."""
    idx = result.index[(result.index["group"] != "all") & ~result.index["suppressed"].astype(bool)]
    if idx.empty:
        return "Scorecard index by quarter: every quarter is hidden (too few respondents)."
    latest = idx[idx["period"] == result.periods[-1]]
    parts = [f"{result.scorecard_labels.get(r['scorecard'], r['scorecard'])}, {r['group']}s {number(r['mean'])}" for _, r in latest.iterrows()]
    return (f"Scorecard index (mean of 1 to 5 scores) per quarter for employees and leaders, {len(result.periods)} quarters; "
            f"latest quarter {result.periods[-1]}: " + "; ".join(parts) + ".")


def heatmap_alt(heat: pd.DataFrame) -> str:
    """The employee category × quarter heat map (the values are printed in its cells)."""
    if heat.empty:
        return "Employee category means by quarter: no data."
    last = heat.columns[-1]
    col = heat[last].dropna()
    low = f"; lowest in {last}: {col.idxmin()} {number(col.min())}" if len(col) else ""
    return f"Heat map of employee means (1 to 5) for {len(heat)} categories over {len(heat.columns)} quarters, each value printed in its cell{low}."


def operations_alt(result: Any, kind: str) -> str:
    """The operations charts: backlog by month, cycle time by priority, spend by evidence grade."""
    if kind == "backlog":
        b = result.backlog
        if b is None or len(b) == 0:
            return "Requests by month: not measured."
        last = b.iloc[-1]
        return (f"Requests received and delivered each month (bars) and open at each month end (line), {len(b)} months; "
                f"{int(last['open'])} open at {pd.Timestamp(last['month_end']).date()}.")
    if kind == "cycle":
        c = result.cycle[result.cycle["priority"] != "all"]
        if c.empty:
            return "Cycle time by priority: not measured."
        parts = [f"{r['priority']} median {number(r['median_days'])} days" for _, r in c.iterrows()]
        return "Days from request to delivery by priority, median and middle half: " + "; ".join(parts) + "."
    s = result.spend
    if s is None or len(s) == 0:
        return "Program spend by evidence grade: not measured."
    parts = [f"{r['grade']} {number(r['share'] * 100, pct=True)}" for _, r in s.iterrows()]
    return "Share of program spend by the evidence grade of the program: " + "; ".join(parts) + "."
