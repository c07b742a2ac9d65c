"""A program's fully loaded costs, computed in one place.

The evaluation (ROI section of every report), the portfolio planner and the
ROI explorer all call :func:`program_costs`, so the rule "fully loaded costs =
Σ cost lines × prorate share + participant time (hours × hourly cost)"
(Phillips GP10; the arithmetic is :func:`lopsnb.evaluation.roi.fully_loaded_costs`)
is applied the same way everywhere.  Participant time counts every enrollment
of the program, dropped ones included: time spent before dropping out is a
cost the program incurred.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lopsnb.evaluation.roi import AuditEntry, fully_loaded_costs
from lopsnb.io.model import Workspace

__all__ = ["ProgramCosts", "program_costs"]


@dataclass(kw_only=True)
class ProgramCosts:
    """Fully loaded costs of one program.

    Attributes
    ----------
    by_category : DataFrame
        ``category``, ``amount``, ``share`` (see :func:`~lopsnb.evaluation.roi.fully_loaded_costs`).
    audit : list of AuditEntry
        How the costs were assembled (defaults applied, shares prorated).
    total : float
        Σ ``amount`` over the categories; 0.0 when the program has no cost line.
    """

    by_category: pd.DataFrame
    audit: list[AuditEntry]
    total: float


def program_costs(ws: Workspace, program_id: str) -> ProgramCosts:
    """Fully loaded costs of program ``program_id`` from the workspace tables.

    Parameters
    ----------
    ws : Workspace
        A loaded workspace (its ``costs``, ``enrollments`` and ``people`` tables).
    program_id : str
        The program; evaluated and catalog programs alike.

    Returns
    -------
    ProgramCosts

    Raises
    ------
    EvaluationError
        When a cost line is unusable (see :func:`~lopsnb.evaluation.roi.fully_loaded_costs`).
    """
    costs = ws.table("costs")
    costs = costs[costs["program_id"] == program_id][["category", "amount", "prorate_share", "description"]]
    enr = ws.table("enrollments")
    enr = enr[enr["program_id"] == program_id]
    hours = enr[["person_id", "hours"]].merge(ws.table("people")[["person_id", "hourly_cost"]], on="person_id", how="left")
    by_cat, audit = fully_loaded_costs(costs, participant_hours=hours[["hours", "hourly_cost"]].fillna({"hours": 0.0}))
    total = float(by_cat["amount"].sum()) if len(by_cat) else 0.0
    return ProgramCosts(by_category=by_cat, audit=list(audit), total=total)
