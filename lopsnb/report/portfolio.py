"""Portfolio view: one row per program, a recommendation each, one HTML index.

The recommendation rule (also in ``docs/runner.md``), applied to each
program's ``results.json``:

1. **scale** — the evidence grade is *strong* or *moderate* and the low end
   of the ROI interval is above 0 (a gain is likely even in a bad case).
2. **sustain** — otherwise, the point ROI is above 0 (but the evidence is
   weaker, or the ROI interval includes 0 or a loss).
3. **retire** — the point ROI is at most 0, the evidence grade is not
   *insufficient*, and either the effect's 95% CI excludes a worthwhile
   effect (its bound in the program's favourable direction does not reach
   the break-even effect) or the whole ROI interval is below 0.
4. **fix** — everything else: ROI at most 0 or undefined with a worthwhile
   effect not ruled out, or insufficient evidence. Measure again, and repair
   the transfer of learning to the job before investing more.

A program whose report could not be produced gets ``"—"``. Insufficient
evidence never leads to *scale* or *retire*: no decision to stop or expand
should rest on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from jinja2 import Environment, select_autoescape

__all__ = ["recommend", "portfolio_frame", "render_index", "COLUMNS", "EXPORT_COLUMNS", "ACTIONS"]

#: Recommendation actions in display order ("—": no report).
ACTIONS: tuple[str, ...] = ("scale", "sustain", "fix", "retire", "—")

#: Columns of :func:`portfolio_frame`, in order.
COLUMNS: tuple[str, ...] = (
    "program_id",
    "name",
    "status",
    "participants",
    "outcome",
    "effect",
    "ci_low",
    "ci_high",
    "unit",
    "method",
    "evidence_grade",
    "roi_pct",
    "roi_low",
    "roi_high",
    "conservative_roi_pct",
    "bcr",
    "costs",
    "benefits",
    "recommendation",
    "reason",
    "error",
    "report",
)
#: Columns written to portfolio.csv / portfolio.xlsx.
EXPORT_COLUMNS: tuple[str, ...] = COLUMNS

_NUMERIC = ("participants", "effect", "ci_low", "ci_high", "roi_pct", "roi_low", "roi_high", "conservative_roi_pct", "bcr", "costs", "benefits")


def _num(value: Any) -> float | None:
    """A finite float, or None (JSON null, NaN, text, bool)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _get(d: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, Mapping):
            return None
        d = d.get(key)
    return d


def _primary_estimate(result: Mapping[str, Any]) -> dict[str, Any]:
    res = result.get("results") or {}
    estimates = res.get("estimates") or {}
    if not isinstance(estimates, Mapping) or not estimates:
        return {}
    primary = res.get("primary_method")
    est = estimates.get(primary) if primary in estimates else next(iter(estimates.values()))
    return dict(est) if isinstance(est, Mapping) else {}


def _roi_interval(roi: Mapping[str, Any]) -> tuple[float | None, float | None]:
    interval = roi.get("roi_interval")
    if isinstance(interval, (list, tuple)) and len(interval) == 2:
        return _num(interval[0]), _num(interval[1])
    return None, None


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "n/a" if x is None else format(x, spec)


def recommend(result: Mapping[str, Any] | None) -> tuple[str, str]:
    """The recommended action for one program and the reason, in plain words.

    Parameters
    ----------
    result : mapping or None
        The program's ``results.json`` dict (None: no report was produced).

    Returns
    -------
    (action, reason) : tuple of str
        ``action`` is one of ``scale``, ``sustain``, ``fix``, ``retire`` or
        ``"—"`` (no result); see the module docstring for the rule.
    """
    if not result:
        return "—", "no report was produced for this program"
    grade = str(_get(result, "evidence", "grade") or "insufficient")
    roi = result.get("roi") or {}
    available = roi.get("available", True) is not False
    roi_pct = _num(roi.get("roi_pct")) if available else None
    low, high = _roi_interval(roi) if available else (None, None)

    if roi_pct is not None and grade in ("strong", "moderate") and low is not None and low > 0:
        return "scale", f"{grade} evidence and the ROI interval ({_fmt(low, '.0f')}% to {_fmt(high, '.0f')}%) is above 0: expand the program"
    if roi_pct is not None and roi_pct > 0:
        if grade not in ("strong", "moderate"):
            why = f"the evidence is {grade}"
        else:
            why = f"the ROI interval ({_fmt(low, '.0f')}% to {_fmt(high, '.0f')}%) includes 0" if low is not None else "the ROI interval is unknown"
        return "sustain", f"point ROI {roi_pct:.0f}% is positive but {why}: keep running and keep measuring"

    if roi_pct is not None and grade != "insufficient":
        est = _primary_estimate(result)
        direction = _get(result, "results", "direction") or _get(result, "program", "direction") or "increase"
        transform = _get(result, "results", "transform") or "none"
        break_even = _num(roi.get("break_even_effect"))
        # The effect CI and the break-even effect share units only without a
        # log transform (a log-scale CI is in log points).
        if break_even is not None and transform != "log":
            if direction == "decrease":
                bound = _num(est.get("ci_low"))
                excludes = bound is not None and bound > break_even
            else:
                bound = _num(est.get("ci_high"))
                excludes = bound is not None and bound < break_even
            if excludes:
                return "retire", (
                    f"point ROI {roi_pct:.0f}% and even the most favourable end of the effect's 95% CI ({_fmt(bound)}) "
                    f"falls short of the break-even effect ({_fmt(break_even)}): stop or redesign"
                )
        if high is not None and high < 0:
            return "retire", f"{grade} evidence and the whole ROI interval is below 0 (up to {high:.0f}%): stop or redesign"

    if grade == "insufficient":
        return "fix", "the evidence is insufficient to isolate the effect: measure again (comparison group, more participants, longer follow-up)"
    if roi_pct is None:
        reason = roi.get("reason") if isinstance(roi.get("reason"), str) else None
        return "fix", f"ROI cannot be computed{f' ({reason})' if reason else ''}: complete the costs and monetisation, then measure again"
    return "fix", f"point ROI {roi_pct:.0f}% but a worthwhile effect is not ruled out: repair the transfer to the job and measure again"


def portfolio_frame(results: Mapping[str, dict[str, Any] | None], statuses: Mapping[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per program: headline effect, evidence, ROI and recommendation.

    Parameters
    ----------
    results : mapping of program id to results dict or None
        Each program's ``results.json`` (None when failed / not produced).
    statuses : mapping of program id to status dict
        Each program's ``status.json`` (``status``, ``error``, ``program_name``).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`. ``effect``/``ci_low``/``ci_high`` are the
        primary method's isolated effect on the outcome (outcome units per
        entity per period) and its 95% CI; ``roi_pct`` the Phillips ROI
        (net benefits / fully loaded costs × 100) and ``roi_low``/``roi_high``
        its Monte Carlo 95% interval; ``report`` the relative link
        ``<program_id>/report.html``. Aggregates only: no person identifiers.
    """
    rows: list[dict[str, Any]] = []
    for pid in sorted(set(results) | set(statuses)):
        status = statuses.get(pid) or {}
        result = results.get(pid)
        state = str(status.get("status") or ("ok" if result else "failed"))
        if state != "ok":
            result = None
        est = _primary_estimate(result) if result else {}
        roi = (result or {}).get("roi") or {}
        available = roi.get("available", True) is not False
        low, high = _roi_interval(roi) if available else (None, None)
        action, reason = recommend(result)
        res = (result or {}).get("results") or {}
        rows.append(
            {
                "program_id": pid,
                "name": _get(result, "program", "name") or status.get("program_name") or pid,
                "status": state,
                "participants": _num(_get(result, "inputs", "participants")),
                "outcome": res.get("outcome") or _get(result, "program", "outcome"),
                "effect": _num(est.get("estimate")),
                "ci_low": _num(est.get("ci_low")),
                "ci_high": _num(est.get("ci_high")),
                "unit": res.get("unit") or _get(result, "program", "unit"),
                "method": est.get("label") or est.get("method") or res.get("primary_method"),
                "evidence_grade": _get(result, "evidence", "grade"),
                "roi_pct": _num(roi.get("roi_pct")) if available else None,
                "roi_low": low,
                "roi_high": high,
                "conservative_roi_pct": _num(roi.get("conservative_roi_pct")) if available else None,
                "bcr": _num(roi.get("bcr")) if available else None,
                "costs": _num(roi.get("costs")),
                "benefits": _num(roi.get("benefits")) if available else None,
                "recommendation": action,
                "reason": reason,
                "error": None if state == "ok" else (status.get("error") or "no report was produced"),
                "report": f"{pid}/report.html",
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in _NUMERIC:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    order = {a: i for i, a in enumerate(ACTIONS)}
    key = frame["recommendation"].map(lambda a: order.get(a, len(order)))
    return (
        frame.assign(_rank=key.astype("int64"), _roi=frame["roi_pct"].fillna(-math.inf))
        .sort_values(["_rank", "_roi", "program_id"], ascending=[True, False, True], kind="stable")
        .drop(columns=["_rank", "_roi"])
    )


def _cell(value: Any, kind: str = "num") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "pct":
        return f"{value:,.0f}%"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "ratio":
        return f"{value:.2f}"
    # Three significant digits, but never scientific notation for executives.
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.3g}"


_INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ title }}</title>
<style>
{{ css | safe }}
</style>
</head>
<body>
<div class="lp-page lp-nobreak">
<header class="lp-header">
<p class="lp-kicker">Training impact portfolio</p>
<h1>{{ title }}</h1>
<dl class="lp-meta">
<div><dt>Programs</dt><dd>{{ rows | length }}</dd></div>
<div><dt>Data as of</dt><dd>{{ data_as_of or "—" }}</dd></div>
<div><dt>Generated at</dt><dd>{{ generated_at }}</dd></div>
<div><dt>lopsnb</dt><dd>{{ version }}</dd></div>
</dl>
</header>
<main>
<p>{% for action, n in counts %}<span class="lp-badge {{ action_class(action) }}">{{ action }}</span> {{ n }}&nbsp;&nbsp; {% endfor %}</p>
<table class="lp-portfolio">
<thead><tr>
<th>Recommendation</th><th>Program</th><th class="num">Participants</th><th>Outcome</th>
<th class="num">Effect (95% CI)</th><th>Evidence</th><th class="num">ROI (interval)</th><th class="num">Conservative ROI</th>
<th class="num">BCR</th><th class="num">Costs</th><th>Why</th>
</tr></thead>
<tbody>
{% for r in rows %}
<tr class="{{ 'lp-failed' if r.status != 'ok' else '' }}">
<td><span class="lp-badge {{ action_class(r.recommendation) }}">{{ r.recommendation if r.status == 'ok' else 'failed' }}</span></td>
<td>{% if r.link %}<a href="{{ r.link }}">{{ r.name }}</a>{% else %}{{ r.name }}{% endif %}<br><span class="lp-note">{{ r.program_id }}</span></td>
{% if r.status == 'ok' %}
<td class="num">{{ r.participants }}</td>
<td>{{ r.outcome }}{% if r.unit %} <span class="lp-note">({{ r.unit }})</span>{% endif %}<br><span class="lp-note">{{ r.method }}</span></td>
<td class="num">{{ r.effect }}<br><span class="lp-note">{{ r.ci }}</span></td>
<td>{{ r.evidence_grade }}</td>
<td class="num">{{ r.roi }}<br><span class="lp-note">{{ r.roi_interval }}</span></td>
<td class="num">{{ r.conservative }}</td>
<td class="num">{{ r.bcr }}</td>
<td class="num">{{ r.costs }}</td>
<td>{{ r.reason }}</td>
{% else %}
<td colspan="9"><strong>Report not produced:</strong> {{ r.error }}</td>
{% endif %}
</tr>
{% endfor %}
</tbody>
</table>
{% if pages %}
<h2>The learning function</h2>
<ul class="lopsnb-pages">
{% for pg in pages %}
<li>{% if pg.status == "ok" %}<a href="{{ pg.link }}">{{ pg.title }}</a>{% else %}{{ pg.title }}: <strong>{{ pg.status }}</strong>{% endif %}{% if pg.note %} — {{ pg.note }}{% endif %}</li>
{% endfor %}
</ul>
{% endif %}
<h2>How to read this</h2>
<p><strong>Effect</strong>: the change in the outcome attributable to the program (per participant or unit, per period),
isolated from other influences with the method named, with its 95% confidence interval.
<strong>ROI</strong> = (monetary benefits − fully loaded costs) ÷ costs × 100 (Phillips method); its interval reflects the
uncertainty of the effect and of the value per unit. <strong>Conservative ROI</strong> takes the least favourable end of both.
<strong>BCR</strong> is benefits ÷ costs (a ratio, not an ROI).</p>
<h3>Evidence grades</h3>
<ul>
<li><strong>strong</strong>: a comparison-group design (difference-in-differences or ANCOVA) whose checks pass — enough participants, balanced groups, parallel pre-trends, a precise interval.</li>
<li><strong>moderate</strong>: a reasonable design with a known weakness (small groups, imbalance, a wide interval, missing outcome data).</li>
<li><strong>weak</strong>: before/after comparisons, participant estimates, or a failed pre-trend check: other causes cannot be ruled out.</li>
<li><strong>insufficient</strong>: too little data to isolate an effect.</li>
</ul>
<h3>Recommendations</h3>
<ul>
<li><span class="lp-badge scale">scale</span> evidence strong or moderate and the low end of the ROI interval above 0.</li>
<li><span class="lp-badge sustain">sustain</span> point ROI above 0, but weaker evidence or an ROI interval that includes 0.</li>
<li><span class="lp-badge retire">retire</span> point ROI at most 0 and either the effect's confidence interval rules out an effect large enough to break even, or the whole ROI interval is below 0 (not on insufficient evidence).</li>
<li><span class="lp-badge fix">fix</span> anything else: ROI at most 0 or unknown while a worthwhile effect is not ruled out, or insufficient evidence — measure again and repair the transfer of learning to the job.</li>
</ul>
<p class="lp-note">Figures are aggregates; groups below each program's privacy minimum are suppressed in the reports. Open a program's report for its full chain of evidence.</p>
</main>
<footer class="lp-footer"><p>Generated {{ generated_at }} by lopsnb {{ version }} &middot; data as of {{ data_as_of or "—" }}. This page works offline and contains no scripts.</p></footer>
</div>
</body>
</html>
"""


def render_index(
    frame: pd.DataFrame,
    *,
    title: str,
    generated_at: str,
    data_as_of: str | None,
    pages: Sequence[Mapping[str, str]] = (),
) -> str:
    """The portfolio index: a self-contained HTML page (no scripts, no external references).

    Parameters
    ----------
    frame : DataFrame
        From :func:`portfolio_frame`.
    title, generated_at, data_as_of : str
        Header fields (escaped like every other value).
    pages : sequence of mapping
        Pages about the learning function (scorecards, operations): ``title``,
        ``link`` (relative), ``status`` ("ok", "failed", "not measured") and
        an optional ``note``.

    Returns
    -------
    str
        The page; programs sorted by recommendation (scale, sustain, fix,
        retire, failed) then by ROI, highest first; each links to
        ``<program_id>/report.html``.
    """
    from lopsnb import __version__
    from lopsnb.report.export import report_css

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_INDEX_TEMPLATE)
    rows = []
    for rec in _sorted(frame).to_dict("records"):
        ok = rec["status"] == "ok"

        def txt(v: Any) -> str:
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)

        rows.append(
            {
                "program_id": txt(rec["program_id"]),
                "name": txt(rec["name"]),
                "status": rec["status"],
                "link": txt(rec["report"]),
                "participants": _cell(rec["participants"], "int"),
                "outcome": txt(rec["outcome"]),
                "unit": txt(rec["unit"]),
                "method": txt(rec["method"]),
                "effect": _cell(rec["effect"]),
                "ci": f"{_cell(rec['ci_low'])} to {_cell(rec['ci_high'])}" if ok else "",
                "evidence_grade": txt(rec["evidence_grade"]) or "—",
                "roi": _cell(rec["roi_pct"], "pct"),
                "roi_interval": f"{_cell(rec['roi_low'], 'pct')} to {_cell(rec['roi_high'], 'pct')}" if rec["roi_low"] == rec["roi_low"] else "",
                "conservative": _cell(rec["conservative_roi_pct"], "pct"),
                "bcr": _cell(rec["bcr"], "ratio"),
                "costs": _cell(rec["costs"], "money"),
                "reason": txt(rec["reason"]),
                "recommendation": txt(rec["recommendation"]),
                "error": txt(rec["error"]),
            }
        )
    counts = [(a, int((frame["recommendation"] == a).sum())) for a in ACTIONS if (frame["recommendation"] == a).any()]

    def action_class(action: str) -> str:
        return action if action in ("scale", "sustain", "fix", "retire") else "failed"

    return template.render(
        title=title,
        generated_at=generated_at,
        data_as_of=data_as_of,
        version=__version__,
        css=report_css(),
        rows=rows,
        counts=counts,
        action_class=action_class,
        pages=list(pages),
    )

