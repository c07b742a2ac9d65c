"""Report charts: one consistent palette, labelled units, ``ax=None`` returns the Axes.

None of these functions calls ``plt.show()``; they draw on the Axes given
(or a new one) and return it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from lopsnb.io.programs import Program

__all__ = ["PALETTE", "literal", "plain_number", "outside_legend", "plot_trend", "plot_forest", "plot_event_study", "plot_chain",
           "plot_survival", "new_ax"]

#: Participants, comparison, neutral, positive, negative, highlight.
PALETTE: dict[str, str] = {
    "participants": "#1f5f8b",
    "comparison": "#9aa5b1",
    "neutral": "#5b6770",
    "positive": "#2e8b57",
    "negative": "#c0392b",
    "highlight": "#e59f23",
}


def literal(text: object) -> str:
    """``text`` as a figure label that matplotlib draws as written.

    matplotlib reads text between two ``$`` as mathtext, where ``_``, ``^``
    and ``\\`` are commands: a program, metric, unit or survey item named
    ``Cost $ per $_unit`` would be typeset, or stop the figure with a parse
    error. An escaped ``\\$`` is drawn as ``$`` and turns mathtext off, so
    every user string goes through this before it reaches a title, axis
    label, tick label, legend or annotation.
    """
    return str(text).replace("$", r"\$")


def plain_number(value: float) -> str:
    """A chart label's number: thousands separators, three significant digits, never scientific notation."""
    v = float(value)
    if not np.isfinite(v):
        return "—"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 1 or a == 0:
        return f"{v:,.3g}"
    decimals = min(8, 2 - int(np.floor(np.log10(a))))  # three significant digits after the zeros
    return f"{v:.{decimals}f}".rstrip("0").rstrip(".")


def outside_legend(ax: Any, **kwargs: Any) -> Any:
    """A legend to the right of the plot area, so it never covers data; None when nothing is labelled.

    The figures use constrained layout, which makes room for it.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    options = {"frameon": False, "fontsize": 8, "loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}
    return ax.legend(handles, labels, **{**options, **kwargs})


def new_ax(ax: Any = None, *, figsize: tuple[float, float] = (7.5, 3.6)) -> Any:
    """Return ``ax`` or a fresh Axes on a new figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return ax


def _clean(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e6e9ec", linewidth=0.8)
    ax.set_axisbelow(True)


def plot_trend(series: pd.DataFrame, *, launch: Any = None, unit: str | None = None, outcome: str = "outcome", ax: Any = None,
               windows: Mapping[str, tuple[Any, Any]] | None = None, counterfactual: bool = False) -> Any:
    """Mean outcome per period for participants and comparison, launch marked.

    Parameters
    ----------
    series : DataFrame
        Columns ``period``, ``group`` ("participants"/"comparison"), ``mean``;
        groups flagged ``suppressed`` are not drawn.
    counterfactual : bool
        Also draw the participants' pre-program trend projected past the
        launch (the counterfactual of a trend design, which has no comparison
        group): a straight line fitted to the baseline window (or, without
        windows, to the periods before the launch).
    """
    ax = new_ax(ax)
    if series is None or len(series) == 0:
        ax.text(0.5, 0.5, "Not measured", ha="center", va="center", transform=ax.transAxes, color=PALETTE["neutral"])
        ax.set_axis_off()
        return ax
    for group, style in (("comparison", "--"), ("participants", "-")):
        g = series[series["group"] == group].sort_values("period")
        if "suppressed" in g:
            g = g[~g["suppressed"].astype(bool)]
        if len(g):
            ax.plot(pd.to_datetime(g["period"]), g["mean"], style, marker="o", markersize=3, color=PALETTE[group], label=group.capitalize())
    if counterfactual:
        _projected_trend(ax, series, launch=launch, windows=windows)
    if windows:
        for name, (start, end) in windows.items():
            ax.axvspan(pd.Timestamp(start), pd.Timestamp(end), color="#f3f5f7" if name == "baseline" else "#eaf2f8", zorder=0)
    if launch is not None:
        ax.axvline(pd.Timestamp(launch), color=PALETTE["highlight"], linewidth=1.5)
        ax.annotate("launch", (pd.Timestamp(launch), 1.0), xycoords=("data", "axes fraction"), xytext=(3, -10), textcoords="offset points",
                    color=PALETTE["highlight"], fontsize=8)
    ax.set_ylabel(literal(f"{outcome}" + (f" ({unit})" if unit else "")))
    import matplotlib.dates as mdates

    # Short date labels (year once, then months) that do not run into each other.
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    outside_legend(ax)
    _clean(ax)
    return ax


def _projected_trend(ax: Any, series: pd.DataFrame, *, launch: Any, windows: Mapping[str, tuple[Any, Any]] | None) -> None:
    """Draw the straight line through the participants' pre-program means, extended to the last period."""
    g = series[series["group"] == "participants"]
    if "suppressed" in g:
        g = g[~g["suppressed"].astype(bool)]
    g = g.assign(period=pd.to_datetime(g["period"])).sort_values("period")
    if windows and "baseline" in windows:
        start, end = (pd.Timestamp(t) for t in windows["baseline"])
        pre = g[(g["period"] >= start) & (g["period"] <= end)]
    elif launch is not None:
        pre = g[g["period"] < pd.Timestamp(launch)]
    else:
        return
    if len(pre) < 2:
        return
    days = lambda t: (t - pre["period"].iloc[0]).dt.days.to_numpy(dtype=float)  # noqa: E731 - time axis of the fit
    slope, intercept = np.polyfit(days(pre["period"]), pre["mean"].to_numpy(dtype=float), 1)
    span = g[g["period"] >= pre["period"].iloc[0]]["period"]
    ax.plot(span, intercept + slope * days(span), ":", color=PALETTE["neutral"], linewidth=1.6,
            label="Projected without the program\n(pre-program trend continued)")


def plot_forest(estimates: pd.DataFrame, *, unit: str | None = None, primary: str | None = None, ax: Any = None,
                break_even: float | None = None, outcome: str | None = None) -> Any:
    """Every method's estimate with its 95% CI (forest plot), primary method highlighted.

    ``estimates`` has columns ``label`` (or ``method``), ``estimate``, ``ci_low``, ``ci_high``;
    ``outcome`` is the metric's label and ``unit`` its unit per entity and period.
    """
    ax = new_ax(ax, figsize=(7.5, 0.6 + 0.5 * max(len(estimates), 1)))
    if estimates is None or len(estimates) == 0:
        ax.text(0.5, 0.5, "No estimate", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    est = estimates.reset_index(drop=True)
    y = np.arange(len(est))[::-1]
    for yi, (_, r) in zip(y, est.iterrows(), strict=True):
        color = PALETTE["participants"] if r.get("method") == primary else PALETTE["neutral"]
        ax.plot([r["ci_low"], r["ci_high"]], [yi, yi], color=color, linewidth=2)
        ax.plot(r["estimate"], yi, "o", color=color, markersize=7 if r.get("method") == primary else 5)
    ax.axvline(0, color="#333", linewidth=0.8)
    if break_even is not None and np.isfinite(break_even):
        ax.axvline(break_even, color=PALETTE["highlight"], linestyle=":", linewidth=1.2, label="break-even effect")
        outside_legend(ax)
    labels = est["label"] if "label" in est else est["method"]
    ax.set_yticks(y, [literal(v) for v in labels], fontsize=8)
    ax.set_xlabel(literal((f"Effect on {outcome}" if outcome else "Effect") + (f" ({unit})" if unit else "")))
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_event_study(event_study: pd.DataFrame, *, unit: str | None = None, ax: Any = None) -> Any:
    """Event-study estimates by period relative to completion (placebo periods grey)."""
    ax = new_ax(ax)
    if event_study is None or len(event_study) == 0:
        ax.text(0.5, 0.5, "No event study", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    es = event_study.sort_values("relative_period")
    for kind, color in (("placebo", PALETTE["comparison"]), ("effect", PALETTE["participants"])):
        g = es[es["kind"] == kind]
        ax.errorbar(g["relative_period"], g["estimate"], yerr=[g["estimate"] - g["ci_low"], g["ci_high"] - g["estimate"]],
                    fmt="o", color=color, capsize=2, label="before completion (placebo)" if kind == "placebo" else "after completion")
    ax.axhline(0, color="#333", linewidth=0.8)
    ax.axvline(-0.5, color=PALETTE["highlight"], linestyle="--", linewidth=1)
    ax.set_xlabel("Periods relative to completion")
    ax.set_ylabel(literal("Effect" + (f" ({unit})" if unit else "")))
    outside_legend(ax)
    _clean(ax)
    return ax


def _step(curve: pd.DataFrame) -> tuple[np.ndarray, ...]:
    t = curve["time"].to_numpy(float)
    return t, curve["survival"].to_numpy(float), curve["ci_low"].to_numpy(float), curve["ci_high"].to_numpy(float)


def plot_survival(survival: Mapping[str, Any], *, ax: Any = None) -> Any:
    """Kaplan–Meier curves by group with 95% bands, the horizon marked, numbers at risk under the chart and the hazard ratio.

    Parameters
    ----------
    survival : mapping
        ``results.survival`` (``SurvivalResult.to_dict()``): ``curves``,
        ``at_risk``, ``horizon_days``, ``kind``, ``event_label``, ``hazard_ratio``
        and its interval. Curves stop where fewer than ``min_group_size``
        people are at risk (left out of ``curves`` by the evaluation).
    """
    ax = new_ax(ax, figsize=(7.5, 4.2))
    curves = pd.DataFrame(survival.get("curves") or [])
    if curves.empty:
        ax.text(0.5, 0.5, "No survival curve", ha="center", va="center", transform=ax.transAxes, color=PALETTE["neutral"])
        ax.set_axis_off()
        return ax
    h = float(survival["horizon_days"])
    retention = survival.get("kind") == "retention"
    for group, style in (("comparison", "--"), ("participants", "-")):
        g = curves[curves["group"] == group].sort_values("time", kind="stable")
        if g.empty:
            continue
        t, s, lo, hi = _step(g)
        ax.step(t, s, style, where="post", color=PALETTE[group], linewidth=1.6, label=group.capitalize())
        ax.fill_between(t, lo, hi, step="post", color=PALETTE[group], alpha=0.15, linewidth=0)
    ax.axvline(h, color=PALETTE["highlight"], linestyle=":", linewidth=1.4)
    ax.annotate(f"horizon {h:g} days", (h, 0.02), xycoords=("data", "axes fraction"), xytext=(3, 0), textcoords="offset points",
                color=PALETTE["highlight"], fontsize=8)
    ticks = pd.DataFrame(survival.get("at_risk") or [])
    end = float(ticks["time"].max()) if len(ticks) else max(h, float(curves["time"].max()))
    ax.set_xlim(0, max(end, h) * 1.03)
    ax.set_ylim(max(0.0, float(curves["ci_low"].min()) - 0.05), 1.01)
    ax.set_xlabel("Days since " + ("hire" if survival.get("origin") == "hire_date" else "completion"))
    ax.set_ylabel("Still employed (share)" if retention else literal(f"Not yet reached {survival.get('event_label', 'the event')} (share)"))
    hr, lo, hi = survival.get("hazard_ratio"), survival.get("hazard_ratio_ci_low"), survival.get("hazard_ratio_ci_high")
    if hr is not None and lo is not None and hi is not None:
        ax.set_title(literal(f"Hazard ratio {hr:.2f} (95% CI {lo:.2f} to {hi:.2f}) within {h:g} days, participants vs comparison"), fontsize=9)
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    _clean(ax)
    _at_risk_rows(ax, pd.DataFrame(survival.get("at_risk") or []))
    return ax


def _at_risk_rows(ax: Any, at_risk: pd.DataFrame) -> None:
    """Numbers at risk under the x axis, one row per group (``<`` marks a count below the privacy threshold)."""
    if at_risk.empty:
        return
    trans = ax.get_xaxis_transform()
    ax.text(-0.045, -0.2, "At risk", transform=ax.transAxes, ha="right", va="top", fontsize=7.5, color=PALETTE["neutral"], weight="bold")
    for row, group in enumerate(("participants", "comparison")):
        g = at_risk[at_risk["group"] == group]
        y = -0.27 - 0.07 * row
        ax.text(-0.045, y, group, transform=ax.transAxes, ha="right", va="top", fontsize=7.5, color=PALETTE[group])
        for _, r in g.iterrows():
            n = r["at_risk"]
            ax.text(float(r["time"]), y, "<" if n is None or pd.isna(n) else f"{int(n)}", transform=trans, ha="center", va="top",
                    fontsize=7.5, color=PALETTE[group])


def plot_chain(chain: pd.DataFrame, *, ax: Any = None, program: Program | None = None) -> Any:
    """The chain of evidence as level boxes (three per row), measured in colour, missing in grey.

    Every measure is written out in full (wrapped, never shortened) at a size
    that stays legible when the figure is scaled to the page width. With
    ``program`` the metrics read with their labels and the numbers in their
    units (:func:`lopsnb.report.words.chain_cells`, as in the chain table).
    """
    import textwrap

    from matplotlib.patches import FancyBboxPatch

    from lopsnb.fmt import number
    from lopsnb.report.words import chain_cells

    levels = list(dict.fromkeys(chain["level"].str[0])) if len(chain) else []
    per_row = 3
    n_rows = max(1, -(-len(levels) // per_row))
    ax = new_ax(ax, figsize=(9.5, 2.5 * n_rows))
    names = {"0": "Inputs", "1": "Reaction", "2": "Learning", "3": "Behavior", "4": "Results", "5": "ROI"}
    for i, lv in enumerate(levels):
        col, row = i % per_row, n_rows - 1 - i // per_row
        rows = chain[chain["level"].str[0] == lv]
        measured = (rows["status"] == "measured").any()
        ax.add_patch(FancyBboxPatch((col + 0.06, row + 0.05), 0.88, 0.9, boxstyle="round,pad=0.02",
                                    facecolor="#eaf2f8" if measured else "#f1f1f1", edgecolor=PALETTE["participants"] if measured else "#9aa5b1"))
        ax.text(col + 0.5, row + 0.86, f"Level {lv} · {names.get(lv, '')}", ha="center", va="center", fontsize=11, weight="bold",
                color=PALETTE["participants"] if measured else "#52606d")
        lines = []
        for _, r in rows.head(3).iterrows():
            if program is not None:
                measure, value, change = chain_cells(r, program)
                val_txt = change or value or "—"
            else:
                val = r["change"] if pd.notna(r["change"]) else r["value"]
                measure, val_txt = str(r["measure"]), number(val, r["unit"] or None) if pd.notna(val) else "—"
            txt = ("not claimed" if r["status"] == "not claimed" else "not measured") if r["status"] != "measured" else val_txt
            lines += [literal(w) for w in textwrap.wrap(measure, 30)] + [literal(txt)]
        ax.text(col + 0.5, row + 0.44, "\n".join(lines), ha="center", va="center", fontsize=9.5, color="#1f2933" if measured else "#52606d",
                linespacing=1.25)
        if col < per_row - 1 and i < len(levels) - 1:
            ax.annotate("", (col + 1.06, row + 0.5), (col + 0.94, row + 0.5), arrowprops={"arrowstyle": "->", "color": "#52606d"})
    ax.set_xlim(0, per_row if len(levels) > per_row else max(len(levels), 1))
    ax.set_ylim(0, n_rows)
    ax.set_axis_off()
    return ax


def plot_bars(labels: Sequence[str], values: Sequence[float], *, ax: Any = None, xlabel: str = "") -> Any:
    """Simple horizontal bars (used for cost categories)."""
    ax = new_ax(ax)
    ax.barh([literal(v) for v in labels][::-1], list(values)[::-1], color=PALETTE["participants"])
    ax.set_xlabel(literal(xlabel))
    ax.spines[["top", "right"]].set_visible(False)
    return ax
