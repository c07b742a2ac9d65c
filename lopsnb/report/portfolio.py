"""Portfolio view: one row per program, a recommendation each, one HTML index.

The recommendation is the decision the evaluation recorded in each
program's ``results.json["decision"]`` (``action``, ``reason``; the rule is
:mod:`lopsnb.evaluation.decision`, also in ``docs/runner.md``). It is read,
never recomputed here, so the report, the index, ``portfolio.csv``/``.xlsx``
and the explorer always agree. A program whose report could not be produced
— or whose ``results.json`` records no decision — gets ``"—"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from lopsnb import fmt as F
from lopsnb.io.labels import metric_label, metric_refs

__all__ = ["recommend", "portfolio_frame", "portfolio_table", "render_index", "COLUMNS", "EXPORT_COLUMNS", "ACTIONS"]

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
    "outcome_label",
    "effect_unit",
    "currency",
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


def recommend(result: Mapping[str, Any] | None) -> tuple[str, str]:
    """The recommended action for one program and the reason, as the evaluation recorded them.

    Parameters
    ----------
    result : mapping or None
        The program's ``results.json`` dict (None: no report was produced).

    Returns
    -------
    (action, reason) : tuple of str
        ``action`` is one of ``scale``, ``sustain``, ``fix``, ``retire``
        (from ``result["decision"]``) or ``"—"`` (no result, or no recorded
        decision).
    """
    if not result:
        return "—", "no report was produced for this program"
    decision = result.get("decision")
    if isinstance(decision, Mapping) and decision.get("action") in ACTIONS[:-1]:
        return str(decision["action"]), str(decision.get("reason") or "")
    return "—", "results.json records no decision (written by an older lopsnb): run the program again"


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
        prog = (result or {}).get("program") or {}
        outcome = res.get("outcome") or prog.get("outcome")
        unit = res.get("unit") or prog.get("unit")
        lab = metric_label(outcome, metric_refs(prog), entity=prog.get("entity") or "person", unit=unit) if outcome else None
        rows.append(
            {
                "program_id": pid,
                "name": _get(result, "program", "name") or status.get("program_name") or pid,
                "status": state,
                "participants": _num(_get(result, "inputs", "participants")),
                "outcome": outcome,
                "effect": _num(est.get("estimate")),
                "ci_low": _num(est.get("ci_low")),
                "ci_high": _num(est.get("ci_high")),
                "unit": unit,
                "outcome_label": lab.label if lab else None,
                "effect_unit": lab.rate_unit if lab else None,
                "currency": prog.get("currency"),
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


def _cell(value: Any, kind: str = "num", *, unit: str | None = None, currency: str | None = None) -> str:
    """One index cell through :mod:`lopsnb.fmt` (``effect``: in the outcome's unit, shares in percentage points)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "pct":
        return F.percent(value)
    if kind == "money":
        return F.money(value, currency)
    if kind == "int":
        return F.number(round(value))
    if kind == "effect":
        return F.effect(value, unit, currency=currency)
    return F.number(value)


def _effect_cells(rec: Mapping[str, Any], ok: bool) -> dict[str, str]:
    """Effect and 95% range of an index row; the unit is said once, in the outcome column (shares: percentage points)."""
    unit = rec.get("effect_unit") if isinstance(rec.get("effect_unit"), str) else None
    cur = rec.get("currency") if isinstance(rec.get("currency"), str) else None
    # What the outcome column already says: the unit, without a currency code the symbol replaces.
    said = "" if F.is_share(unit) or not unit else (unit.partition(" ")[2] if F.is_money(unit, cur) else unit)

    def bare(text: str) -> str:
        return text[: -len(said) - 1] if said and text.endswith(" " + said) else text

    effect = bare(_cell(rec["effect"], "effect", unit=unit, currency=cur))
    ci = bare(F.interval(rec["ci_low"], rec["ci_high"], unit, currency=cur)) if ok and F.finite(rec["ci_low"]) else ""
    return {"effect": effect, "ci": ci}


_INDEX_TEMPLATE = """<p>{% for action, n in counts %}<span class="lp-badge {{ action_class(action) }}">{{ action }}</span> {{ n }}&nbsp;&nbsp; {% endfor %}</p>
<div class="lp-scroll" role="region" aria-label="Programs, one row each" tabindex="0">
<table class="lp-portfolio" role="table">
<caption class="lp-visually-hidden">Programs with their recommendation, effect, evidence grade, ROI and costs</caption>
<thead><tr>
<th>Recommendation</th><th>Program</th><th class="num">Participants</th><th>Outcome</th>
<th class="num">Effect (95% range)</th><th>Evidence</th><th class="num">ROI (interval)</th><th class="num">Conservative ROI</th>
<th class="num">BCR</th><th class="num">Costs</th><th>Why</th>
</tr></thead>
<tbody>
{% for r in rows %}
<tr class="{{ 'lp-failed' if r.status != 'ok' else '' }}">
<td><span class="lp-badge {{ action_class(r.recommendation) }}">{{ r.recommendation if r.status == 'ok' else 'failed' }}</span></td>
<td>{% if r.link %}<a href="{{ r.link }}">{{ r.name }}</a>{% else %}{{ r.name }}{% endif %}<br><span class="lp-note">{{ r.program_id }}</span></td>
{% if r.status == 'ok' %}
<td class="num" data-label="Participants">{{ r.participants }}</td>
<td data-label="Outcome">{{ r.outcome }}{% if r.unit %} <span class="lp-note">({{ r.unit }})</span>{% endif %}<br><span class="lp-note">{{ r.method }}</span></td>
<td class="num" data-label="Effect (95% CI)">{{ r.effect }}<br><span class="lp-note">{{ r.ci }}</span></td>
<td data-label="Evidence">{{ r.evidence_grade }}</td>
<td class="num" data-label="ROI (interval)">{{ r.roi }}<br><span class="lp-note">{{ r.roi_interval }}</span></td>
<td class="num" data-label="Conservative ROI">{{ r.conservative }}</td>
<td class="num" data-label="BCR">{{ r.bcr }}</td>
<td class="num" data-label="Costs">{{ r.costs }}</td>
<td class="lp-why" data-label="Why">{{ r.reason }}</td>
{% else %}
<td colspan="9"><strong>Report not produced:</strong> {{ r.error }}</td>
{% endif %}
</tr>
{% endfor %}
</tbody>
</table>
</div>
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
<li><span class="lp-badge scale">scale</span> evidence strong or moderate (never weak) and the low end of the ROI interval above 0.</li>
<li><span class="lp-badge sustain">sustain</span> point ROI above 0, but weaker evidence or an ROI interval that includes 0.</li>
<li><span class="lp-badge retire">retire</span> point ROI at most 0 and either the effect's confidence interval rules out an effect large enough to break even, or the whole ROI interval is below 0 (not on insufficient evidence).</li>
<li><span class="lp-badge fix">fix</span> insufficient evidence (no ROI is claimed: not enough evidence to decide), no ROI (costs incomplete, no monetisation), or ROI at most 0 while a worthwhile effect is not ruled out — measure again and repair the transfer of learning to the job.</li>
</ul>
<p class="lp-note">Figures are aggregates; groups below each program's privacy minimum are suppressed in the reports. Open a program's report for its full chain of evidence.</p>
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
    from lopsnb._version import __version__
    from lopsnb.report.export import report_css
    from lopsnb.report.page import render_page

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
                "outcome": txt(rec["outcome_label"]) or txt(rec["outcome"]),
                "unit": "" if F.is_share(rec["unit"]) else txt(rec["effect_unit"]) or txt(rec["unit"]),
                "method": txt(rec["method"]),
                **_effect_cells(rec, ok),
                "evidence_grade": txt(rec["evidence_grade"]) or "—",
                "roi": _cell(rec["roi_pct"], "pct"),
                "roi_interval": f"{_cell(rec['roi_low'], 'pct')} to {_cell(rec['roi_high'], 'pct')}" if rec["roi_low"] == rec["roi_low"] else "",
                "conservative": _cell(rec["conservative_roi_pct"], "pct"),
                "bcr": _cell(rec["bcr"], "ratio"),
                "costs": _cell(rec["costs"], "money", currency=txt(rec["currency"]) or None),
                "reason": txt(rec["reason"]),
                "recommendation": txt(rec["recommendation"]),
                "error": txt(rec["error"]),
            }
        )
    counts = [(a, int((frame["recommendation"] == a).sum())) for a in ACTIONS if (frame["recommendation"] == a).any()]

    def action_class(action: str) -> str:
        return action if action in ("scale", "sustain", "fix", "retire") else "failed"

    body = Markup(template.render(rows=rows, counts=counts, action_class=action_class, pages=list(pages)))
    meta = [("Programs", str(len(rows))), ("Data as of", data_as_of or "—"), ("Generated at", generated_at), ("lopsnb", __version__)]
    footer = [Markup("Generated {} by lopsnb {} &middot; data as of {}. This page works offline and contains no scripts.").format(
        generated_at, __version__, data_as_of or "—")]
    return render_page(kicker="Training impact portfolio", title=title, meta=meta, body=body, footer=footer, css=report_css(), wide=True)


def portfolio_table(results: Mapping[str, dict[str, Any] | None], statuses: Mapping[str, dict[str, Any]],
                    spend: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`portfolio_frame` plus ``spend`` (fully-loaded costs, :func:`lopsnb.evaluation.plan.program_spend`).

    ``spend`` is known even for programs whose ROI is not (``costs`` of the
    portfolio frame comes from the ROI section and is then missing).
    """
    frame = portfolio_frame(results, statuses)
    if spend is not None:
        frame = frame.merge(spend[["program_id", "costs"]].rename(columns={"costs": "spend"}), on="program_id", how="left")
        frame["spend"] = frame["spend"].fillna(frame["costs"])
    else:
        frame["spend"] = frame["costs"]
    return frame
