"""Design checks of a program, run without estimating (``lopsnb validate``).

Each check returns :class:`~lopsnb.errors.Problem` records used as
*warnings*: the workspace is valid, but the design as configured will not
support the claim the program file asks for. The same facts drive the
evidence grade and the decision at evaluation time; the checks only surface
them before anything is estimated.

Checks (each names the file, the field, what was found and what is expected):

* windows against treatment dates — participants completing on or before the
  baseline end or on or after the followup start are excluded by the window
  rule;
* participants and comparison size — fewer than 10 entities with outcome
  data in either group allows no claim;
* KPI coverage — fewer than 70% of participants with the outcome data the
  design uses (followup only for ``post_only``);
* frequency — KPI periods not consecutive at ``evaluation.frequency``;
* ``monetization.periods_per_year`` different from the frequency's;
* cost completeness — no cost rows besides participant time (no ROI);
* covariates present — a covariate without values for the evaluated entities;
* design survival — fewer than 10 participants or comparison people with an
  origin date to follow (no KPI panel is built).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lopsnb.errors import EvaluationError, Problem
from lopsnb.evaluation.evidence import COMPARISON_DESIGNS, MIN_COVERAGE, MIN_PARTICIPANTS
from lopsnb.evaluation.panel import FREQUENCIES, ImpactPanel, build_panel, frequency_gap
from lopsnb.evaluation.roi import costs_complete
from lopsnb.evaluation.survival import SURVIVAL_DESIGNS, survival_data
from lopsnb.io.programs import Program
from lopsnb.io.workspace import Workspace

__all__ = ["design_checks", "design_coverage", "workspace_checks"]

_BOTH_WINDOWS = frozenset({"did", "ancova", "before_after"})


def design_coverage(panel: ImpactPanel, design: str) -> int:
    """Participating entities with the outcome data ``design`` uses.

    ``post_only`` uses the followup window only; ``did``, ``ancova`` and
    ``before_after`` need both windows; ``trend`` any window observation;
    ``estimates`` uses no KPI data (every participant counts).
    """
    tr = panel.entities[panel.entities["treated"]]
    if design == "post_only":
        return int((tr["n_followup"] > 0).sum())
    if design == "trend":
        return int(((tr["n_baseline"] + tr["n_followup"]) > 0).sum())
    if design == "estimates":
        return int(panel.attrition.get("participating_units", panel.attrition["participants"]))
    return int(((tr["n_baseline"] > 0) & (tr["n_followup"] > 0)).sum())


def _file(ws: Workspace, table: str) -> str:
    source = ws.sources.get(table)
    return str(ws.path / source) if source and ":" not in source else (source or f"{table} table (not supplied)")


def _window_problems(program: Program, panel: ImpactPanel, pfile: str) -> list[Problem]:
    ev = program.evaluation
    if ev.baseline is None or ev.followup is None or ev.baseline.relative or panel.participants.empty:
        return []
    tt = pd.to_datetime(panel.participants.set_index("entity_id")["treat_date"])
    b_end, f_start = pd.Timestamp(ev.baseline.end), pd.Timestamp(ev.followup.start)
    early, late, n = tt[tt <= b_end], tt[tt >= f_start], len(tt)
    out = []
    if len(late):
        out.append(Problem(pfile, None, "evaluation.followup.start", f"{f_start.date()}: {len(late)} of {n} participants completed on or after it "
                           f"(latest {late.max().date()}) and are excluded", f"a followup start after the completions (after {late.max().date()}), "
                           "or offset windows for staggered completions"))
    if len(early):
        out.append(Problem(pfile, None, "evaluation.baseline.end", f"{b_end.date()}: {len(early)} of {n} participants completed on or before it "
                           f"(earliest {early.min().date()}) and are excluded", f"a baseline end before the completions (before {early.min().date()}), "
                           "or offset windows for staggered completions"))
    return out


def _size_problems(program: Program, panel: ImpactPanel, kfile: str, pfile: str) -> list[Problem]:
    ev, metric, out = program.evaluation, program.outcome, []
    if panel.n_treated < MIN_PARTICIPANTS:
        out.append(Problem(kfile, None, "entity_id", f"{panel.n_treated} participating entities with {metric} data",
                           f"at least {MIN_PARTICIPANTS} for any claim"))
    comparison = ev.design in COMPARISON_DESIGNS and not (panel.relative and ev.design == "did")
    if comparison and panel.n_comparison < MIN_PARTICIPANTS:
        out.append(Problem(pfile, None, "evaluation.comparison", f"{panel.n_comparison} comparison entities with {metric} data",
                           f"at least {MIN_PARTICIPANTS} eligible non-participants with {metric} data"))
    units = panel.attrition.get("participating_units", panel.attrition["participants"])
    used = design_coverage(panel, ev.design)
    if units > 0 and used / units < MIN_COVERAGE:
        windows = "followup window" if ev.design == "post_only" else ("baseline and followup windows" if ev.design in _BOTH_WINDOWS else "windows")
        out.append(Problem(kfile, None, "value", f"{used} of {units} participants with {metric} data in the {windows} ({used / units:.0%})",
                           f"at least {MIN_COVERAGE:.0%} of participants"))
    return out


def _covariate_problems(program: Program, panel: ImpactPanel, people_file: str) -> list[Problem]:
    out = []
    for cov in program.evaluation.covariates:
        col = panel.entities[cov] if cov in panel.entities.columns else None
        n_missing = len(panel.entities) if col is None else int(col.isna().sum())
        if n_missing:
            out.append(Problem(people_file, None, cov, f"no value for {n_missing} of {len(panel.entities)} evaluated entities",
                               "a value for every participant and comparison entity (or a numeric column for org units)"))
    return out


def _survival_problems(ws: Workspace, program: Program, pfile: str) -> list[Problem]:
    """Design survival: enough participants and comparison people with an origin date to follow."""
    people_file = _file(ws, "people")
    try:
        data = survival_data(ws, program)
    except EvaluationError as exc:
        return [Problem(people_file, None, "hire_date" if program.evaluation.origin == "hire_date" else "person_id", str(exc),
                        "at least 2 participants and 2 comparison people with an origin date")]
    out = []
    n_t, n_c = int(data.frame["treated"].sum()), int((~data.frame["treated"]).sum())
    if n_t < MIN_PARTICIPANTS:
        out.append(Problem(people_file, None, "person_id", f"{n_t} participants to follow", f"at least {MIN_PARTICIPANTS} for any claim"))
    if n_c < MIN_PARTICIPANTS:
        out.append(Problem(pfile, None, "evaluation.comparison", f"{n_c} comparison people to follow",
                           f"at least {MIN_PARTICIPANTS} eligible non-participants (hired in the participants' hiring period for origin hire_date)"))
    return out


def _cost_problems(ws: Workspace, program: Program) -> list[Problem]:
    if program.monetization is None:
        return []
    costs = ws.table("costs")
    note = costs_complete(costs[costs["program_id"] == program.id])
    if note is None:
        return []
    return [Problem(_file(ws, "costs"), None, "category", f"no cost rows besides participant time for program {program.id!r}",
                    "development, delivery, materials or facilities costs (otherwise: costs incomplete, no ROI)")]


def _frequency_problems(ws: Workspace, program: Program, pfile: str) -> list[Problem]:
    ev, out = program.evaluation, []
    kpis = ws.table("kpis")
    gap = frequency_gap(kpis.loc[kpis["metric"] == program.outcome, "period"], ev.frequency, metric=program.outcome)
    if gap is not None:
        out.append(Problem(pfile, None, "evaluation.frequency", f"{ev.frequency!r}; {gap[0]}", gap[1]))
    m = program.monetization
    if m is not None and m.periods_per_year != FREQUENCIES[ev.frequency]:
        out.append(Problem(pfile, None, "monetization.periods_per_year", f"{m.periods_per_year:g} with evaluation.frequency {ev.frequency!r}",
                           f"{FREQUENCIES[ev.frequency]} ({ev.frequency}s per year): the effect is per entity per {ev.frequency}"))
    return out


def design_checks(ws: Workspace, program: Program) -> list[Problem]:
    """The design warnings of one program (see the module docstring); never estimates.

    Parameters
    ----------
    ws : Workspace
    program : Program

    Returns
    -------
    list of Problem
        Empty when every check passes or the program is not evaluated.
    """
    if not program.evaluate:
        return []
    pfile = str(Path(ws.path) / "programs" / f"{program.id}.yml")
    out = _cost_problems(ws, program)
    if all(d == "estimates" for d in program.designs):
        return out
    if program.evaluation.design in SURVIVAL_DESIGNS:
        return out + _survival_problems(ws, program, pfile)
    out += _frequency_problems(ws, program, pfile)
    try:
        panel = build_panel(ws, program)
    except EvaluationError as exc:
        return out + [Problem(_file(ws, "kpis"), None, "metric", str(exc), f"rows for metric {program.outcome!r}")]
    out += _window_problems(program, panel, pfile)
    out += _size_problems(program, panel, _file(ws, "kpis"), pfile)
    return out + _covariate_problems(program, panel, _file(ws, "people"))


def workspace_checks(ws: Workspace) -> dict[str, list[Problem]]:
    """:func:`design_checks` of every evaluated program, by program id (programs without warnings left out)."""
    out = {}
    for pid in sorted(ws.programs):
        problems = design_checks(ws, ws.programs[pid])
        if problems:
            out[pid] = problems
    return out
