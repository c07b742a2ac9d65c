"""Figures of evaluation results: the drawing half of every ``.plot()``.

The evaluation stage returns data; drawing is the report stage's job.  Each
result's ``.plot(ax=None)`` method (``InputsResult.plot``, ``RoiResult.plot``,
``ScorecardResult.plot_gaps``, ...) imports the matching ``draw_*`` function
from here when it is called, so importing :mod:`lopsnb.evaluation` never
imports matplotlib.  Every function draws on the Axes given (or a new one)
and returns it; none calls ``plt.show()``.

This module imports nothing from the evaluation stage (the ``.plot`` methods
import it, so the reverse import would be a cycle): the constants a figure
needs travel on the result as class attributes (``group_order``,
``band_edges``, ``scorecard_labels``, ``category_labels``, ``zero_cost_note``).

The portfolio charts (:func:`plot_roi_vs_evidence`, :func:`plot_cost_benefit`)
take the frame of :func:`lopsnb.report.portfolio.portfolio_table`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lopsnb.fmt import money, percent
from lopsnb.io.labels import readable
from lopsnb.report.plots import PALETTE, literal, new_ax, outside_legend

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "FACTOR_LABELS",
    "draw_inputs_result",
    "draw_reaction_result",
    "draw_learning_result",
    "draw_behavior_result",
    "draw_estimates_adjustment",
    "draw_roi_result",
    "draw_roi_result_tornado",
    "draw_staggered_did",
    "draw_scorecard_result",
    "draw_scorecard_result_gaps",
    "draw_scorecard_result_trend",
    "draw_operations_result",
    "draw_kpi_variance",
    "draw_synthetic_path",
    "draw_synthetic_gaps",
    "plot_roi_vs_evidence",
    "plot_cost_benefit",
]


def _new_ax(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def _not_measured_plot(ax: Any, title: str) -> Any:
    ax = _new_ax(ax)
    ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)
    ax.set_axis_off()
    return ax


def _band_shading(ax: Any, edges: tuple[float, float], *, horizontal: bool) -> None:
    spans = ((1, edges[0], "#fbeaea"), (edges[0], edges[1], "#fdf3e1"), (edges[1], 5, "#e8f4ec"))
    for lo, hi, color in spans:
        (ax.axhspan if horizontal else ax.axvspan)(lo, hi, color=color, zorder=0)


def draw_inputs_result(result: Any, ax: Any = None) -> Any:
    """Funnel: enrolled → active (not dropped) → completed; returns the Axes."""
    if not result.measured:
        return _not_measured_plot(ax, result.title)
    ax = _new_ax(ax)
    labels = ["enrolled", "not dropped", "completed"]
    values = [result.enrolled, result.active, result.completions]
    ax.barh(labels[::-1], values[::-1], color=["#2a9d8f", "#8ab17d", "#264653"])
    for y, v in enumerate(values[::-1]):
        share = f" ({v / result.enrolled:.0%})" if result.enrolled else ""
        ax.text(v, y, f" {v}{share}", va="center")
    ax.set_xlabel("enrollments")
    ax.set_title(result.title)
    ax.set_xlim(0, max(values) * 1.25 if max(values) else 1)
    return ax


def draw_reaction_result(result: Any, ax: Any = None) -> Any:
    """Item means with 95 % CI bars, grouped by item group; suppressed items omitted and noted.

    Items on different answer scales (1–5 ratings, the 0–10 recommendation
    question) get a panel each, one above the other with its own axis, so a
    4 out of 5 is never read against a 0–10 axis. Given ``ax``, all items
    share it. Returns the first panel's Axes.
    """
    if not result.measured:
        return _not_measured_plot(ax, result.title)
    shown = result.items[~result.items["suppressed"].astype(bool)]
    hidden = result.items[result.items["suppressed"].astype(bool)]
    scales = sorted(float(m) for m in shown["scale_max"].unique()) or [5.0]
    if ax is None:
        import matplotlib.pyplot as plt

        counts = [max(1, int((shown["scale_max"] == m).sum()) + shown[shown["scale_max"] == m]["group"].nunique() - 1) for m in scales]
        _, axes = plt.subplots(len(scales), 1, figsize=(8, 1.3 + 0.42 * sum(counts) + 0.5 * len(scales)), constrained_layout=True,
                               gridspec_kw={"height_ratios": counts}, squeeze=False)
        panels = [(a, shown[shown["scale_max"] == m], m) for a, m in zip(axes[:, 0], scales, strict=True)]
    else:
        panels = [(ax, shown, max(scales))]
    for panel, part, top in panels:
        _reaction_panel(panel, part, result.group_order, top if len(panels) > 1 else None)
    first, last = panels[0][0], panels[-1][0]
    if len(shown):
        outside_legend(first, title="item group", title_fontsize=8)
    if len(hidden):
        last.annotate(
            literal(f"suppressed (n < {result.min_group_size}): {', '.join(map(str, hidden['item']))}"),
            xy=(0, -0.5 if len(panels) > 1 else -0.18), xycoords="axes fraction", fontsize="small",
        )
    first.set_title(result.title)
    return first


def _reaction_panel(ax: Any, part: pd.DataFrame, group_order: Any, scale_max: float | None) -> None:
    """One panel of :func:`draw_reaction_result`: the items of one answer scale (``None``: mixed scales)."""
    colours = {"relevance": "#2a9d8f", "engagement": "#b7791f", "satisfaction": "#264653"}
    labels: list[str] = []
    y = 0
    for group in group_order:
        rows = part[part["group"] == group]
        if rows.empty:
            continue
        ys = np.arange(y, y + len(rows))
        err = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
        ax.errorbar(rows["mean"], ys, xerr=np.nan_to_num(err), fmt="o", color=colours.get(group, "#52606d"), capsize=3, label=group)
        labels += [str(it) for it in rows["item"]] if scale_max is not None else [f"{it} (max {sm:g})" for it, sm in zip(rows["item"], rows["scale_max"], strict=True)]
        y += len(rows) + 1
        labels.append("")
    ticks = [i for i, lab in enumerate(labels) if lab]
    ax.set_yticks(ticks, [literal(labels[i]) for i in ticks])
    ax.set_ylim(max(ticks, default=0) + 0.7, -0.7)
    if scale_max is not None:
        low = 0.0 if scale_max > 5 else 1.0
        ax.set_xlim(low - 0.1, scale_max + 0.1)
        ax.set_xlabel(f"mean score on the {low:g}–{scale_max:g} scale, with 95% CI")
    else:
        ax.set_xlabel("mean score (item's own scale) with 95% CI")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#e6e9ec", linewidth=0.8)
    ax.set_axisbelow(True)


def draw_learning_result(result: Any, ax: Any = None) -> Any:
    """Pre vs post: one grey line per paired person plus box plots; returns the Axes."""
    if not result.measured or result.n_paired == 0:
        return _not_measured_plot(ax, result.title)
    ax = _new_ax(ax)
    if result.suppressed:
        # Individual lines could identify people in a small group: show the boxes only.
        ax.annotate(f"n = {result.n_paired} < {result.min_group_size}: suppressed, individual lines hidden",
                    xy=(0, -0.15), xycoords="axes fraction", fontsize="small")
    else:
        for pre, post in zip(result.pre_scores, result.post_scores, strict=True):
            ax.plot([0, 1], [pre, post], color="0.6", alpha=0.5, lw=0.8)
    ax.boxplot([result.pre_scores, result.post_scores], positions=[0, 1], widths=0.25)
    ax.set_xticks([0, 1], ["pre", "post"])
    ax.set_ylabel("score")
    ax.set_title(f"{result.title}: n = {result.n_paired} paired")
    return ax


def draw_behavior_result(result: Any, ax: Any = None) -> Any:
    """Application rate (mean of values) per behaviour × observer with 95 % CI bars."""
    if not result.measured:
        return _not_measured_plot(ax, result.title)
    ax = _new_ax(ax)
    r = result.rates
    labels = [f"{b} · {o}" + (" (suppressed)" if s else "")
              for b, o, s in zip(r["behavior"], r["observer"], r["suppressed"], strict=True)]
    # A suppressed group's value must not be readable off the figure
    # either: its bar and interval are not drawn, only its labelled row.
    hidden = r["suppressed"].astype(bool).to_numpy()
    means = np.where(hidden, 0.0, r["mean"].astype(float).to_numpy())
    err = np.nan_to_num(np.vstack([r["mean"] - r["ci_low"], r["ci_high"] - r["mean"]]).astype(float))
    err[:, hidden] = 0.0
    ax.barh(np.arange(len(r)), means, xerr=err, color="#2a9d8f", capsize=3)
    ax.set_yticks(np.arange(len(r)), [literal(v) for v in labels])
    ax.invert_yaxis()
    ax.set_xlabel("mean application (share or rating) with 95% CI")
    ax.set_title(result.title)
    return ax


def draw_estimates_adjustment(result: Any, ax: Any = None) -> Any:
    """Plot the respondents' adjusted values with the GP8 fence; return the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    vals = result.adjusted["adjusted"].to_numpy(dtype=float)
    excl = result.adjusted["excluded"].to_numpy(dtype=bool)
    y = np.zeros(len(vals))
    ax.scatter(vals[~excl], y[~excl], label="used", alpha=0.7)
    ax.scatter(vals[excl], y[excl], marker="x", color="crimson", label="excluded (GP8)")
    if math.isfinite(result.fence):
        ax.axvline(result.fence, color="crimson", linestyle="--", linewidth=1, label="Q3 + 3·IQR")
    ax.set_yticks([])
    ax.set_xlabel("adjusted improvement (units per period)")
    ax.set_title(result.title)
    outside_legend(ax)
    return ax


#: The one-way sensitivity factors of the ROI (``RoiResult.tornado.factor``) in words.
FACTOR_LABELS: dict[str, str] = {
    "effect": "effect (95% range)",
    "value_per_unit": "value per unit of outcome",
    "costs": "costs (±20%)",
    "participants": "participants (±10%)",
    "horizon_years": "benefit horizon (±20%)",
}


def draw_roi_result(result: Any, ax: Any = None, *, currency: str | None = None) -> Any:
    """Waterfall: benefits, minus each cost category, down to net benefit; return the Axes.

    The money axis is labelled with ``currency`` and its ticks carry
    thousands separators (:func:`lopsnb.fmt.money`).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    labels = ["benefits"]
    bottoms = [0.0]
    heights = [result.benefits]
    colors = ["seagreen"]
    running = result.benefits
    for cat, amount in zip(result.costs_by_category["category"], result.costs_by_category["amount"], strict=True):
        running_next = running - float(amount)
        labels.append(readable(str(cat)))
        bottoms.append(running_next)
        heights.append(float(amount))
        colors.append("indianred")
        running = running_next
    labels.append("net benefit")
    bottoms.append(0.0)
    heights.append(result.net_benefit)
    colors.append("steelblue")
    x = np.arange(len(labels))
    ax.bar(x, heights, bottom=bottoms, color=colors, edgecolor="black", linewidth=0.5)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels([literal(v) for v in labels], rotation=45, ha="right")
    ax.set_ylabel(literal(f"money ({currency})" if currency else "money"))
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: literal(money(v, currency))))
    roi_text = result.zero_cost_note if result.roi_pct is None else f"ROI {percent(result.roi_pct)}"
    ax.set_title(f"Benefits vs fully-loaded costs ({roi_text})")
    return ax


def draw_roi_result_tornado(result: Any, ax: Any = None) -> Any:
    """Tornado chart of the one-way sensitivity of ROI %; return the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    if result.roi_pct is None:
        ax.text(0.5, 0.5, result.zero_cost_note, ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    frame = result.tornado.iloc[::-1]  # largest swing on top
    y = np.arange(len(frame))
    lo = frame[["roi_low", "roi_high"]].min(axis=1).to_numpy(dtype=float)
    hi = frame[["roi_low", "roi_high"]].max(axis=1).to_numpy(dtype=float)
    ax.barh(y, hi - lo, left=lo, color="steelblue", edgecolor="black", linewidth=0.5)
    ax.axvline(result.roi_pct, color="black", linestyle="--", linewidth=1, label=f"ROI {percent(result.roi_pct)}")
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([literal(FACTOR_LABELS.get(f, f)) for f in frame["factor"]])
    ax.set_xlabel("ROI (%)")
    ax.set_title("One-way sensitivity of ROI")
    outside_legend(ax)
    return ax


def draw_staggered_did(result: Any, ax: Axes | None = None) -> Axes:
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
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    es = result.event_study
    for kind, colour in (("placebo", "0.55"), ("effect", "C0")):
        part = es[es["kind"] == kind]
        if part.empty:
            continue
        x = part["relative_period"].to_numpy(dtype=float)
        y = part["estimate"].to_numpy(dtype=float)
        err = np.vstack([y - part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float) - y])
        ax.errorbar(x, y, yerr=err, fmt="o", color=colour, ecolor=colour, capsize=3, label=kind)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="black", linewidth=0.8, linestyle="--")
    ax.set_xlabel("Periods relative to treatment (e = t - g)")
    ax.set_ylabel(f"ATT(e), {100 * (1 - result.alpha):g}% CI")
    ax.set_title("Event study (Callaway & Sant'Anna)")
    if len(es):
        outside_legend(ax)
    return ax


def draw_scorecard_result(result: Any, ax: Any = None, *, scorecard: str = "experience") -> Any:
    """Category means of one instrument by group with 95 % CIs and band shading."""
    ax = new_ax(ax, figsize=(7.5, 4.2))
    part = result.categories[result.categories["scorecard"] == scorecard]
    if not result.measured or part.empty:
        ax.text(0.5, 0.5, "Not measured", ha="center", va="center", transform=ax.transAxes, color=PALETTE["neutral"])
        ax.set_axis_off()
        return ax
    _band_shading(ax, result.band_edges, horizontal=False)
    cats = list(dict.fromkeys(part["category"]))
    y = np.arange(len(cats))
    for off, (group, color) in zip((-0.2, 0.2), (("employee", PALETTE["participants"]), ("leader", PALETTE["highlight"])), strict=True):
        g = part[part["group"] == group].set_index("category").reindex(cats)
        ok = ~g["suppressed"].fillna(True).astype(bool).to_numpy()
        err = np.vstack([g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]])[:, ok]
        ax.errorbar(g["mean"].to_numpy()[ok], y[ok] + off, xerr=np.nan_to_num(err), fmt="o", color=color, capsize=2,
                    label=group.capitalize() + "s")
        for yi in y[~ok]:
            ax.text(1.05, yi + off, f"{group}: suppressed (n < {result.min_group_size})", fontsize=7, va="center",
                    color=PALETTE["neutral"])
    ax.set_yticks(y, [literal(result.category_labels.get(c, c)) for c in cats], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(1, 5)
    ax.set_xlabel("Mean score (1–5) with 95% CI")
    ax.set_title(f"{result.scorecard_labels[scorecard]} — {result.period}", fontsize=10)
    outside_legend(ax)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def draw_scorecard_result_gaps(result: Any, ax: Any = None) -> Any:
    """Leader − employee gap per category with Welch 95 % CIs (suppressed gaps listed, not drawn)."""
    ax = new_ax(ax, figsize=(7.5, 5))
    g = result.gaps
    if not result.measured or g.empty:
        ax.text(0.5, 0.5, "Not measured", ha="center", va="center", transform=ax.transAxes, color=PALETTE["neutral"])
        ax.set_axis_off()
        return ax
    y = np.arange(len(g))
    ok = ~g["suppressed"].astype(bool).to_numpy()
    colors = [PALETTE["highlight"] if lo > 0 or hi < 0 else PALETTE["comparison"] for lo, hi in zip(g["ci_low"], g["ci_high"], strict=True)]
    for yi, show, (_, r), c in zip(y, ok, g.iterrows(), colors, strict=True):
        if show:
            ax.plot([r["ci_low"], r["ci_high"]], [yi, yi], color=c, linewidth=2)
            ax.plot(r["gap"], yi, "o", color=c)
        else:
            ax.text(0.02, yi, "suppressed", fontsize=7, va="center", color=PALETTE["neutral"], transform=ax.get_yaxis_transform())
    ax.axvline(0, color="#333", linewidth=0.8)
    ax.set_yticks(y, [literal(result.category_labels.get(c, c)) for c in g["category"]], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Leader mean − employee mean (points, 95% Welch CI)")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def draw_scorecard_result_trend(result: Any, ax: Any = None) -> Any:
    """Instrument index per quarter for employees and leaders (suppressed quarters left out)."""
    ax = new_ax(ax)
    idx = result.index
    if not result.measured or idx.empty:
        ax.text(0.5, 0.5, "Not measured", ha="center", va="center", transform=ax.transAxes, color=PALETTE["neutral"])
        ax.set_axis_off()
        return ax
    _band_shading(ax, result.band_edges, horizontal=True)
    x = {p: i for i, p in enumerate(result.periods)}
    styles = {"experience": "-", "support": "--"}
    colors = {"employee": PALETTE["participants"], "leader": PALETTE["highlight"]}
    for (sc, group), part in idx[idx["group"] != "all"].groupby(["scorecard", "group"], sort=False):
        part = part[~part["suppressed"].astype(bool)]
        if part.empty:
            continue
        xs = part["period"].map(x).to_numpy()
        ax.plot(xs, part["mean"], styles.get(sc, "-"), marker="o", color=colors[group],
                label=f"{result.scorecard_labels.get(sc, sc)} — {group}s")
        ax.fill_between(xs, part["ci_low"], part["ci_high"], color=colors[group], alpha=0.08)
    ax.set_xticks(range(len(result.periods)), result.periods)
    ax.set_ylim(1, 5)
    ax.set_ylabel("Index (mean of 1–5 scores)")
    outside_legend(ax, fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def draw_operations_result(result: Any, ax: Any = None, *, kind: str = "backlog") -> Any:
    """Backlog over time (``kind="backlog"``), cycle time by priority (``"cycle"``) or spend by evidence grade (``"spend"``)."""
    ax = new_ax(ax)
    empty = {"backlog": result.backlog, "cycle": result.cycle, "spend": result.spend}[kind]
    if empty is None or len(empty) == 0 or (kind == "spend" and float(result.spend["spend"].sum()) == 0):
        ax.text(0.5, 0.5, "Not measured", ha="center", va="center", transform=ax.transAxes, color=PALETTE["neutral"])
        ax.set_axis_off()
        return ax
    if kind == "backlog":
        b = result.backlog
        x = pd.to_datetime(b["month_end"])
        ax.bar(x - pd.Timedelta(days=7), b["received"], width=12, color=PALETTE["comparison"], label="Received in month")
        ax.bar(x + pd.Timedelta(days=7), b["delivered"], width=12, color=PALETTE["positive"], label="Delivered in month")
        ax.plot(x, b["open"], marker="o", color=PALETTE["participants"], label="Open at month end")
        ax.set_ylabel("Requests")
        outside_legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    elif kind == "cycle":
        c = result.cycle[result.cycle["priority"] != "all"]
        y = np.arange(len(c))
        ax.barh(y, c["q3_days"] - c["q1_days"], left=c["q1_days"], color="#dbe7f0", height=0.5, label="Middle half (IQR)")
        ax.plot(c["median_days"], y, "o", color=PALETTE["participants"], label="Median")
        ax.set_yticks(y, [literal(f"{p} (n={n})") for p, n in zip(c["priority"], c["delivered"], strict=True)], fontsize=8)
        ax.set_xlabel("Days from request to delivery")
        outside_legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    else:
        s = result.spend
        colors = [PALETTE["positive"] if g == "strong" else PALETTE["comparison"] if g == "not evaluated" else PALETTE["participants"]
                  for g in s["grade"]]
        ax.barh(s["grade"][::-1], s["spend"][::-1], color=colors[::-1])
        for yi, (sp, sh) in enumerate(zip(s["spend"][::-1], s["share"][::-1], strict=True)):
            ax.text(sp, yi, f"  {sh:.0%}", va="center", fontsize=8)
        ax.set_xlabel("Program spend (cost lines × prorate share)")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def draw_kpi_variance(result: Any, ax: Any = None) -> Any:
    """Empirical vs fitted autocorrelation by lag; returns the Axes."""
    ax = new_ax(ax, figsize=(6, 3))
    ac = result.autocorrelation
    ax.plot(ac["lag"], ac["corr"], "o", color=PALETTE["participants"], label="observed")
    ax.plot(ac["lag"], ac["fitted"], "-", color=PALETTE["highlight"], label=f"fitted: icc {result.icc:.2f}, ar1 {result.ar1:.2f}")
    ax.set_xlabel(f"lag ({result.frequency}s)")
    ax.set_ylabel("correlation")
    ax.set_ylim(min(0.0, float(ac["corr"].min()) if len(ac) else 0.0), 1)
    outside_legend(ax)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def _pilot_frame(records: Any) -> pd.DataFrame:
    """``details.gaps`` / ``details.placebo_gaps`` records as a frame with datetime periods."""
    df = pd.DataFrame(list(records or []))
    if len(df):
        df["period"] = pd.to_datetime(df["period"])
    return df


def _treated_path(result: Any) -> pd.DataFrame:
    """The path drawn for the participating unit(s): synthetic_control's ``average`` rows, sdid's only rows."""
    g = _pilot_frame(result.details.get("gaps"))
    if len(g) and "unit" in g:
        g = g[g["unit"] == "average"]
    return g.sort_values("period") if len(g) else g


def _by_window(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Baseline and followup rows apart, so a line breaks across the periods left out between the windows."""
    return [part for _, part in frame.groupby("post", sort=True)] if len(frame) else []


def _shade_followup(ax: Any, frame: pd.DataFrame) -> None:
    post = frame.loc[frame["post"].astype(bool), "period"]
    if len(post):
        half = pd.Timedelta(days=15)
        ax.axvspan(post.min() - half, post.max() + half, color="#eaf2f8", zorder=0, label="followup window")


def _no_pilot_plot(ax: Any, title: str) -> Any:
    ax = new_ax(ax)
    ax.text(0.5, 0.5, "No synthetic comparison", ha="center", va="center", transform=ax.transAxes, color=PALETTE["neutral"])
    ax.set_title(literal(title))
    ax.set_axis_off()
    return ax


def draw_synthetic_path(result: Any, ax: Any = None, *, label: str = "participating unit", outcome: str = "outcome",
                        unit: str | None = None) -> Any:
    """Outcome of the participating unit and of its synthetic comparison, baseline and followup.

    Parameters
    ----------
    result : Estimate
        A ``synthetic_control`` or ``sdid`` estimate (``details.gaps``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.
    label : str
        Name of the participating unit(s) in the legend (user data: drawn literally).
    outcome, unit : str
        The outcome metric and its unit, for the axis label.

    Returns
    -------
    matplotlib.axes.Axes
    """
    g = _treated_path(result)
    title = f"{outcome}: {label} vs its synthetic comparison"
    if not len(g):
        return _no_pilot_plot(ax, title)
    ax = new_ax(ax)
    _shade_followup(ax, g)
    for i, part in enumerate(_by_window(g)):
        ax.plot(part["period"], part["treated"], "-", marker="o", markersize=3, color=PALETTE["participants"], label=literal(label) if i == 0 else None)
        ax.plot(part["period"], part["synthetic"], "--", color=PALETTE["neutral"], label="synthetic comparison" if i == 0 else None)
    ax.set_ylabel(literal(outcome + (f" ({unit})" if unit else "")))
    ax.set_title(literal(title))
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e6e9ec", linewidth=0.8)
    ax.set_axisbelow(True)
    return ax


def draw_synthetic_gaps(result: Any, ax: Any = None, *, label: str = "participating unit", unit: str | None = None) -> Any:
    """The gap (unit − synthetic) per period, with every placebo gap drawn behind it in grey.

    The placebo gaps (``details.placebo_gaps``, synthetic_control only) are
    each donor's gap when it is treated as if it had taken the program; a
    program effect shows as a followup gap outside their band.

    Parameters
    ----------
    result : Estimate
        A ``synthetic_control`` or ``sdid`` estimate.
    ax : matplotlib.axes.Axes, optional
    label : str
        Name of the participating unit(s) (drawn literally).
    unit : str, optional
        The outcome's unit, for the axis label.

    Returns
    -------
    matplotlib.axes.Axes
    """
    g = _treated_path(result)
    title = f"Gap: {label} minus its synthetic comparison" + (", with placebo gaps" if result.details.get("placebo_gaps") else "")
    if not len(g):
        return _no_pilot_plot(ax, title)
    ax = new_ax(ax)
    _shade_followup(ax, g)
    placebo = _pilot_frame(result.details.get("placebo_gaps"))
    post_of = dict(zip(g["period"], g["post"], strict=True))
    n_placebo = placebo["unit"].nunique() if len(placebo) else 0
    for i, (_, part) in enumerate(placebo.groupby("unit", sort=False) if len(placebo) else []):
        part = part.assign(post=part["period"].map(post_of).fillna(False)).sort_values("period")
        for j, seg in enumerate(_by_window(part)):
            ax.plot(seg["period"], seg["gap"], "-", color="#c3cad1", linewidth=0.8, zorder=1,
                    label=f"placebo gaps ({n_placebo} donors, each as if it had taken part)" if i == 0 and j == 0 else None)
    for i, part in enumerate(_by_window(g)):
        ax.plot(part["period"], part["gap"], "-", marker="o", markersize=3, color=PALETTE["participants"], linewidth=2.2, zorder=3,
                label=literal(label) if i == 0 else None)
    ax.axhline(0, color="#333", linewidth=0.8, zorder=2)
    ax.set_ylabel(literal("Gap" + (f" ({unit})" if unit else "")))
    ax.set_title(literal(title))
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_roi_vs_evidence(frame: pd.DataFrame, *, ax: Any = None) -> Any:
    """ROI % (with its 95% interval) of each program by evidence grade; returns the Axes."""
    ax = new_ax(ax, figsize=(7.5, 4))
    grades = ["insufficient", "weak", "moderate", "strong"]
    data = frame[frame["roi_pct"].notna()].copy()
    if data.empty:
        ax.text(0.5, 0.5, "No program has an ROI", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    data["x"] = data["evidence_grade"].map({g: i for i, g in enumerate(grades)}).astype(float)
    offsets = data.groupby("x").cumcount() - data.groupby("x")["x"].transform("size").sub(1) / 2
    data["x"] = data["x"] + 0.12 * offsets
    colors = {"scale": PALETTE["positive"], "sustain": PALETTE["participants"], "fix": PALETTE["highlight"], "retire": PALETTE["negative"]}
    for _, r in data.iterrows():
        c = colors.get(r["recommendation"], PALETTE["neutral"])
        if pd.notna(r["roi_low"]) and pd.notna(r["roi_high"]):
            ax.plot([r["x"], r["x"]], [r["roi_low"], r["roi_high"]], color=c, linewidth=1.5, alpha=0.7)
        ax.plot(r["x"], r["roi_pct"], "o", color=c, markersize=7)
        ax.annotate(literal(r["program_id"]), (r["x"], r["roi_pct"]), xytext=(5, 3), textcoords="offset points", fontsize=7)
    ax.axhline(0, color="#333", linewidth=0.8)
    ax.set_xticks(range(len(grades)), grades)
    ax.set_xlim(-0.6, len(grades) - 0.4)
    ax.set_xlabel("evidence grade")
    ax.set_ylabel("ROI % (95% interval)")
    for action, c in colors.items():
        ax.plot([], [], "o", color=c, label=action)
    outside_legend(ax, title="recommendation", title_fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_cost_benefit(frame: pd.DataFrame, *, ax: Any = None) -> Any:
    """Fully-loaded costs vs monetary benefits per program, break-even line marked; returns the Axes."""
    ax = new_ax(ax, figsize=(6.5, 4.5))
    data = frame[frame["benefits"].notna() & frame["costs"].notna()]
    if data.empty:
        ax.text(0.5, 0.5, "No program has monetised benefits", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    top = float(max(data["costs"].max(), data["benefits"].max(), 1.0)) * 1.1
    low = float(min(data["benefits"].min(), 0.0)) * 1.1
    ax.plot([0, top], [0, top], ":", color=PALETTE["neutral"], label="break-even (benefits = costs)")
    color = np.where(data["benefits"] >= data["costs"], PALETTE["positive"], PALETTE["negative"])
    ax.scatter(data["costs"], data["benefits"], c=color, s=40, zorder=3)
    for _, r in data.iterrows():
        ax.annotate(literal(r["program_id"]), (r["costs"], r["benefits"]), xytext=(4, 3), textcoords="offset points", fontsize=7)
    ax.axhline(0, color="#333", linewidth=0.6)
    ax.set_xlim(0, top)
    ax.set_ylim(low, top)
    ax.set_xlabel("fully-loaded costs")
    ax.set_ylabel("monetary benefits")
    outside_legend(ax)
    ax.spines[["top", "right"]].set_visible(False)
    return ax
