"""Business words of the report: metric labels, units, design phrases and chain cells.

The sections, figures, chain diagram and portfolio index call these, so a
metric reads the same everywhere ("revenue per rep", "$1,216 per rep per
month"). Numbers go through :mod:`lopsnb.fmt`; labels through
:func:`lopsnb.io.labels.metric_label` (via ``Program.metric_label``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lopsnb import fmt as F
from lopsnb.evaluation.methods import DESIGN_PHRASES, UNMODELLED_UNCERTAINTY
from lopsnb.io.labels import MetricLabel, readable
from lopsnb.io.programs import Program

__all__ = ["currency", "design_phrase", "uncertainty_basis", "outcome_label", "effect_text", "level_text",
           "chain_cells"]

def currency(program: Program) -> str | None:
    """The program's currency code (None without a monetization section)."""
    return program.monetization.currency if program.monetization else None


def design_phrase(design: str | None) -> str:
    """A design in a business reader's words ("difference-in-differences against a comparison group")."""
    return DESIGN_PHRASES.get(design or "", readable(design or "unknown design"))


def uncertainty_basis(design: str | None) -> str | None:
    """What a probability such as P(ROI > 0) rests on when the design does not model its uncertainty (else None)."""
    return UNMODELLED_UNCERTAINTY.get(design or "")


def outcome_label(program: Program, metric: str | None = None) -> MetricLabel:
    """The label of ``metric`` (default: the evaluated outcome)."""
    return program.metric_label(metric)


def effect_text(value: Any, program: Program, metric: str | None = None, *, signed: bool = True) -> str:
    """An effect on ``metric`` in its unit per entity and period: "+$1,216 per rep per month", "-2.1 percentage points".

    The outcome of a log-transformed program is modelled in log points (a
    percent change is ``100 × (exp(x) − 1)``): its effects read "log points".
    """
    if program.evaluation.transform == "log" and (metric is None or metric == program.outcome):
        return F.number(value, "log points", signed=signed)
    lab = outcome_label(program, metric)
    return F.effect(value, lab.rate_unit, currency=currency(program), signed=signed)


def level_text(value: Any, program: Program, metric: str | None = None) -> str:
    """A level of ``metric`` in its unit: "87%", "$1,200 per month", "65 days"."""
    lab = outcome_label(program, metric)
    return F.measure(value, lab.unit, currency=currency(program))


_CHAIN_UNITS = {"%": "%", "people": None, "points": "points", "NPS": None, "rating": None}


def chain_cells(row: pd.Series | dict[str, Any], program: Program) -> tuple[str, str, str]:
    """The measure, value and change of one chain-of-evidence row in business words (unescaped).

    Level-4 rows name a metric id: it becomes its label and its numbers take
    the metric's unit (shares in %, changes in percentage points, money with
    its symbol). Other rows keep their measure and format with their own
    unit ("%", "points", "people").
    """
    level, measure, unit = str(row["level"]), str(row["measure"]), row.get("unit")
    value, change = row.get("value"), row.get("change")
    if level.startswith("4"):
        return (outcome_label(program, measure).label,
                level_text(value, program, measure) if F.finite(value) else "",
                effect_text(change, program, measure) if F.finite(change) else "")
    if level.startswith("5"):
        return measure, F.percent(value) if F.finite(value) else "", ""
    u = _CHAIN_UNITS.get(str(unit), unit) if unit is not None else None
    val = (F.percent(value) if u == "%" else F.number(value, u)) if F.finite(value) else ""
    chg = (F.number(change, "percentage points" if u == "%" else u, signed=True)) if F.finite(change) else ""
    return measure, val, chg
