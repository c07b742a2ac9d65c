#!/usr/bin/env python
"""Deterministic generator of the fictional "Acme Corp" sample workspace.

Part of the package so that ``lopsnb demo`` can write the sample workspace
from an installed wheel; ``data_samples/generate.py`` in the repository is a
thin script around :func:`main`, and ``data_samples/acme`` is exactly what
:func:`generate` writes with the defaults (a test checks it). Usage::

    python data_samples/generate.py [--out DIR] [--people N] [--seed S] [--extra-programs K]
    python -m lopsnb.io.sample --out DIR

Writes every table of the lopsnb data contract (people, enrollments,
reactions, assessments, behaviors, kpis, costs, estimates, scorecards,
requests), one
``programs/<id>.yml`` per program and ``truth.json`` with the true effects
that were planted in the KPIs.  A fixed seed gives byte-identical files.

Every random component draws from its own stream
``default_rng([seed, crc32(component)])`` so that adding extra programs or
changing one component does not reshuffle the others.

The planted effects are *additive* and the truth is computed from the data
itself: for each evaluated program ``true_effect`` is the mean, over the
participating entities and the periods of the followup window, of
``Y(1) - Y(0)`` where ``Y(0)`` is the generated value without the effect and
``Y(1)`` the published value (after rounding and clipping).  That is the
average treatment effect on the treated (ATT) the evaluation estimates.
The retention program ``onboarding-retention`` (design survival) plants
termination dates (``people.termination_date``, ``termination_reason``) for
new operations associates; its ``true_effect`` is the participants' ATT on
90-day retention from potential leaving times drawn once per person.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_PEOPLE", "DEFAULT_SEED", "generate", "main"]

DEFAULT_SEED = 20261127
DEFAULT_PEOPLE = 2000
#: Data snapshot date: nothing happens after it.
SNAPSHOT = np.datetime64("2026-10-31", "D")
#: Monthly KPI periods (month starts), 24 months.
MONTHS = np.arange("2024-11", "2026-11", dtype="datetime64[M]")
#: Quarterly KPI periods inside the monthly range.
QUARTERS = np.arange("2025-01", "2026-10", 3, dtype="datetime64[M]")
MIN_PEOPLE = 330

FIRST_NAMES = (
    "Aaliyah Aaron Abigail Adam Aisha Alex Alice Amara Amir Ana Andre Angela Anita Arjun Ava Ben Bianca Brandon Bruno "
    "Camila Carlos Carmen Chen Chloe Chris Clara Daniel Dana Daria David Deepa Diego Elena Eli Emma Eric Farah Felix "
    "Fatima Gabriel Grace Hana Hannah Hugo Ian Ines Isaac Ivy Jack Jamal Jana Javier Jin Joao Jordan Jose Julia Kai "
    "Karen Kenji Kevin Lara Leila Leo Liam Lina Lucas Luis Maya Mei Mia Miguel Mohammed Nadia Naomi Nathan Nina Noah "
    "Olga Omar Oscar Paula Priya Rafael Rania Ravi Rosa Ruth Sam Sara Sean Sofia Tariq Tom Uma Victor Wei Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Abbott Adeyemi Ahmed Alvarez Anderson Bailey Banerjee Becker Bianchi Brooks Campbell Castro Chang Chen Clarke "
    "Cohen Costa Cruz Das Diaz Dubois Edwards Evans Fernandes Fischer Flores Garcia Gomez Gonzalez Gray Green Gupta "
    "Hall Hansen Harris Hayes Hernandez Hill Hoffmann Hughes Ibrahim Ito Jackson Jensen Johnson Kahn Kaur Kelly Kim "
    "Klein Kowalski Kumar Lambert Larsen Lee Lopez Martin Mendes Meyer Miller Moreau Morris Murphy Nakamura Nguyen "
    "Novak Okafor Olsen Ortiz Park Patel Perez Petrov Price Quinn Ramos Reed Reyes Rivera Roberts Rossi Russo Santos "
    "Sato Schmidt Shah Silva Singh Smith Sousa Tanaka Taylor Torres Turner Walker Wang Weber Williams Wong Yamamoto "
    "Young Zhang"
).split()

LIKERT_ITEMS = {
    "overall": "Overall I am satisfied with this program",
    "relevant": "The content is relevant to my job",
    "apply": "I will be able to apply what I learned",
    "engaged": "The sessions kept me engaged",
    "participate": "I could actively take part in the activities",
}
NPS_ITEM = "How likely are you to recommend this program to a colleague?"
RELEVANCE_ITEMS = (LIKERT_ITEMS["relevant"], LIKERT_ITEMS["apply"])
ENGAGEMENT_ITEMS = (LIKERT_ITEMS["engaged"], LIKERT_ITEMS["participate"])

CATALOG = (
    ("elearn-excel", "Excel Essentials", 2.0),
    ("elearn-privacy", "Data Privacy Basics", 1.0),
    ("elearn-conduct", "Code of Conduct", 0.5),
    ("elearn-cyber", "Cybersecurity Awareness", 1.0),
    ("elearn-presenting", "Presentation Skills", 3.0),
    ("elearn-writing", "Business Writing", 2.5),
    ("elearn-projects", "Project Management Basics", 4.0),
    ("elearn-negotiation", "Introduction to Negotiation", 2.0),
    ("elearn-feedback", "Feedback Conversations", 1.5),
    ("elearn-inclusion", "Inclusive Workplace", 1.0),
    ("elearn-wellbeing", "Wellbeing at Work", 1.0),
    ("elearn-customer", "Customer Focus", 1.5),
    ("elearn-lean", "Introduction to Lean", 3.0),
    ("elearn-agile", "Agile Basics", 2.0),
    ("elearn-finance", "Financial Acumen", 3.0),
    ("elearn-remote", "Remote Collaboration", 1.0),
    ("elearn-first-aid", "First Aid Refresher", 2.0),
    ("elearn-bribery", "Anti-Bribery Compliance", 0.5),
    ("elearn-sql", "Introduction to SQL", 4.0),
    ("elearn-design", "Design Thinking", 2.5),
    ("elearn-timezones", "Working Across Time Zones", 0.5),
    ("elearn-thinking", "Critical Thinking", 2.0),
    ("elearn-green", "Sustainability at Acme", 1.0),
    ("elearn-it-tools", "Acme IT Tools Tour", 1.0),
)


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------


def _rng(seed: int, component: str) -> np.random.Generator:
    """Independent stream per component (stable across unrelated changes)."""
    return np.random.default_rng([seed, zlib.crc32(component.encode())])


def _d(s: str) -> np.datetime64:
    return np.datetime64(s, "D")


def _m(s: str) -> np.datetime64:
    return np.datetime64(s, "M")


def _mstart(m: Any) -> Any:
    return np.asarray(m, dtype="datetime64[M]").astype("datetime64[D]")


def _dates_str(a: Any) -> np.ndarray:
    """ISO strings, '' for NaT."""
    a = np.asarray(a, dtype="datetime64[D]")
    out = np.datetime_as_string(a, unit="D").astype(object)
    out[np.isnat(a)] = ""
    return out


def _scale(base: float, s: float, minimum: int) -> int:
    return max(minimum, int(round(base * s)))


def _q(v: Any) -> str:
    """Render a scalar for YAML (strings quoted only when needed)."""
    if isinstance(v, str):
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9 _./()&-]*", v) and v.lower() not in {"yes", "no", "on", "off", "true", "false", "null"}:
            return v
        return json.dumps(v)
    if v is None:
        return "null"
    if isinstance(v, float) and v.is_integer() and abs(v) >= 1000:
        return str(int(v))
    return str(v)


def _ql(vs: Any) -> str:
    return "[" + ", ".join(_q(v) for v in vs) + "]"


# ----------------------------------------------------------------------------------------------
# people
# ----------------------------------------------------------------------------------------------


class _People:
    """Accumulates blocks of people; ids are assigned at the end by hire date."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.parts: list[dict[str, np.ndarray]] = []
        self.n = 0

    def add(
        self,
        n: int,
        *,
        org_unit: Any,
        role: Any,
        location: Any,
        manager: Any,
        hourly: float,
        segment: str,
        hire: Any = None,
        min_tenure: float = 2.0,
    ) -> np.ndarray:
        rng = self.rng
        if hire is None:
            tenure = np.minimum(min_tenure + rng.gamma(2.0, 2.2, n), 35.0)
            hire = SNAPSHOT - np.round(tenure * 365.25).astype("timedelta64[D]")
        part = {
            "org_unit": np.broadcast_to(np.asarray(org_unit, dtype=object), (n,)).copy(),
            "role": np.broadcast_to(np.asarray(role, dtype=object), (n,)).copy(),
            "location": np.broadcast_to(np.asarray(location, dtype=object), (n,)).copy(),
            "manager": np.broadcast_to(np.asarray(manager, dtype=np.int64), (n,)).copy(),
            "hourly": np.round(hourly * np.exp(rng.normal(0, 0.12, n)), 2),
            "hire": np.asarray(hire, dtype="datetime64[D]"),
            "segment": np.full(n, segment, dtype=object),
        }
        self.parts.append(part)
        idx = np.arange(self.n, self.n + n)
        self.n += n
        return idx

    def frame(self) -> tuple[pd.DataFrame, np.ndarray]:
        """People table plus the person_id of each internal index."""
        rng = self.rng
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        n = self.n
        order = np.lexsort((np.arange(n), cols["hire"]))
        pid = np.empty(n, dtype=object)
        pid[order] = np.array([f"P{i:06d}" for i in range(1, n + 1)], dtype=object)
        first = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
        last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
        base = pd.Series(first).str.lower() + "." + pd.Series(last).str.lower()
        # Duplicate names get a number, in person_id order, as a mail system would.
        dup = pd.Series(np.zeros(n, dtype=np.int64))
        dup.iloc[order] = base.iloc[order].groupby(base.iloc[order].to_numpy()).cumcount().to_numpy()
        email = np.where(dup > 0, base + (dup + 1).astype(str), base) + "@acme.example"
        mgr = cols["manager"]
        manager_id = np.where(mgr >= 0, pid[np.maximum(mgr, 0)], "")
        tenure = np.round((SNAPSHOT - cols["hire"]).astype(np.int64) / 365.25, 1)
        rating = np.clip(np.round(rng.normal(3.2, 0.8, n)), 1, 5).astype(np.int64)
        df = pd.DataFrame(
            {
                "person_id": pid,
                "name": pd.Series(first) + " " + pd.Series(last),
                "org_unit": cols["org_unit"],
                "role": cols["role"],
                "location": cols["location"],
                "manager_id": manager_id,
                "hire_date": _dates_str(cols["hire"]),
                "hourly_cost": cols["hourly"],
                "email": email,
                "tenure_years": tenure,
                "performance_rating": rating,
            }
        )
        self.cols = cols
        self.pid = pid
        self.email = np.asarray(email, dtype=object)
        self.tenure = tenure
        return df.iloc[order].reset_index(drop=True), pid


# ----------------------------------------------------------------------------------------------
# KPI panels
# ----------------------------------------------------------------------------------------------


@dataclass
class _Panel:
    """A KPI panel ``entities x periods`` with its counterfactual."""

    metric: str
    entities: np.ndarray  # entity ids (str)
    periods: np.ndarray  # datetime64[D]
    y0: np.ndarray
    y1: np.ndarray
    present: np.ndarray | None = None  # rows that exist (e.g. after hire)
    decimals: int = 4

    def frame(self) -> pd.DataFrame:
        n_e, n_t = self.y1.shape
        df = pd.DataFrame(
            {
                "entity_id": np.repeat(self.entities, n_t),
                "metric": self.metric,
                "period": np.tile(_dates_str(self.periods), n_e),
                # Integer-valued metrics are written without a trailing '.0'.
                "value": self.y1.ravel().astype(np.int64) if self.decimals == 0 else self.y1.ravel(),
            }
        )
        if self.present is not None:
            df = df[self.present.ravel()]
        return df

    def att(self, treated: np.ndarray, window: np.ndarray) -> float:
        """Mean Y(1) - Y(0) over treated rows x window columns (bool masks or per-row masks)."""
        mask = treated[:, None] & window if window.ndim == 1 else treated[:, None] & window
        return float(np.round((self.y1 - self.y0)[mask].mean(), 6))

    def mean0(self, treated: np.ndarray, window: np.ndarray) -> float:
        mask = treated[:, None] & window if window.ndim == 1 else treated[:, None] & window
        return float(self.y1[mask].mean())


def _panel(
    rng: np.random.Generator,
    metric: str,
    entities: np.ndarray,
    periods: np.ndarray,
    *,
    level: float | np.ndarray,
    sd_between: float,
    sd_noise: float,
    effect: np.ndarray | None = None,
    season: float = 0.0,
    trend: float = 0.0,
    decimals: int = 2,
    lo: float | None = None,
    hi: float | None = None,
    unit_levels: np.ndarray | None = None,
    shock_sd: float = 0.0,
) -> _Panel:
    """Level + seasonality + trend + noise; ``effect`` is an additive matrix."""
    n_e, n_t = len(entities), len(periods)
    if unit_levels is None:
        unit_levels = level + sd_between * rng.standard_normal(n_e)
    t = np.arange(n_t)
    month = np.asarray(periods, dtype="datetime64[M]").astype(np.int64) % 12
    common = season * np.sin(2 * np.pi * (month - 2) / 12) + trend * t
    if shock_sd:
        common = common + shock_sd * rng.standard_normal(n_t)
    y = unit_levels[:, None] + common[None, :] + sd_noise * rng.standard_normal((n_e, n_t))
    y1 = y + (effect if effect is not None else 0.0)

    def fin(a: np.ndarray) -> np.ndarray:
        a = np.clip(a, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
        return np.round(a, decimals) + 0.0

    return _Panel(metric, np.asarray(entities, dtype=object), np.asarray(periods, dtype="datetime64[D]"), fin(y), fin(y1), decimals=decimals)


def _window(periods: np.ndarray, start: str, end: str) -> np.ndarray:
    p = np.asarray(periods, dtype="datetime64[D]")
    return (p >= _d(start)) & (p <= _d(end))


# ----------------------------------------------------------------------------------------------
# levels 1-3 for one program
# ----------------------------------------------------------------------------------------------


@dataclass
class _L123:
    quality: float = 4.0  # mean Likert answer
    respond: float = 0.8
    anonymous: bool = False
    pre: float = 55.0
    gain: float = 22.0
    followup_test: bool = False
    behaviors: tuple[tuple[str, float, float], ...] = ()  # name, level before, level after
    pre_launch_obs: bool = False
    comments: tuple[str, ...] = ()


PII_COMMENTS = (
    "Happy to share my notes, email me at {email}",
    "Call me on +1-555-01{nn} if you need a volunteer for the next cohort",
    "Please send the slides to {email} or text +1 (555) 01{nn}",
)


def _levels(
    rng: np.random.Generator,
    program_id: str,
    enr: pd.DataFrame,
    cfg: _L123,
    launch: np.datetime64,
    people: _People,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Reactions, assessments and behaviors of one program's enrollees.

    ``enr`` has columns idx (internal person index), enrolled, completed (datetime64[D]), status.
    """
    idx = enr["idx"].to_numpy()
    enrolled = enr["enrolled"].to_numpy().astype("datetime64[D]")
    completed = enr["completed"].to_numpy().astype("datetime64[D]")
    done = ~np.isnat(completed)
    pids = people.pid[idx]

    # ---- reactions (completers only)
    resp = done & (rng.random(len(idx)) < cfg.respond)
    r_idx = np.flatnonzero(resp)
    n_r = len(r_idx)
    taste = rng.normal(0, 0.45, n_r)
    rows = []
    on = completed[r_idx] + rng.integers(0, 8, n_r).astype("timedelta64[D]")
    on = np.minimum(on, SNAPSHOT)
    who = np.where(cfg.anonymous, "", pids[r_idx]).astype(object)
    for key, item in LIKERT_ITEMS.items():
        shift = {"overall": 0.0, "relevant": 0.1, "apply": -0.1, "engaged": -0.15, "participate": 0.05}[key]
        sc = np.clip(np.round(cfg.quality + shift + taste + rng.normal(0, 0.55, n_r)), 1, 5)
        rows.append(pd.DataFrame({"program_id": program_id, "item": item, "score": sc, "scale_max": 5,
                                  "person_id": who, "responded_on": _dates_str(on), "comment": ""}))
    nps = np.clip(np.round(2.1 * (cfg.quality + taste) - 0.9 + rng.normal(0, 1.1, n_r)), 0, 10)
    comment = np.full(n_r, "", dtype=object)
    has_c = rng.random(n_r) < 0.22
    pool = list(cfg.comments) + list(PII_COMMENTS)
    pick = rng.integers(0, len(pool), n_r)
    # Make sure the redaction test cases are present in every program with comments.
    if n_r >= 4:
        has_c[:3] = True
        pick[:3] = [len(cfg.comments), len(cfg.comments) + 1, len(cfg.comments) + 2]
    emails = people.email[idx[r_idx]]
    nn = rng.integers(0, 100, n_r)
    for j in np.flatnonzero(has_c):
        comment[j] = pool[pick[j]].format(email=emails[j], nn=f"{nn[j]:02d}")
    rows.append(pd.DataFrame({"program_id": program_id, "item": NPS_ITEM, "score": nps, "scale_max": 10,
                              "person_id": who, "responded_on": _dates_str(on), "comment": comment}))
    reactions = pd.concat(rows, ignore_index=True)

    # ---- assessments
    skill = rng.normal(0, 9, len(idx))
    pre = np.clip(np.round(cfg.pre + skill + rng.normal(0, 6, len(idx))), 0, 100)
    post = np.clip(np.round(pre + cfg.gain + 0.3 * skill + rng.normal(0, 7, len(idx))), 0, 100)
    fu = np.clip(np.round(post - np.abs(rng.normal(5, 4, len(idx)))), 0, 100)
    fu_on = completed + np.timedelta64(90, "D")
    took_pre = rng.random(len(idx)) < 0.95
    a = [
        pd.DataFrame({"person_id": pids[took_pre], "program_id": program_id, "phase": "pre", "score": pre[took_pre],
                      "max_score": 100, "taken_on": _dates_str(enrolled[took_pre])}),
        pd.DataFrame({"person_id": pids[done], "program_id": program_id, "phase": "post", "score": post[done],
                      "max_score": 100, "taken_on": _dates_str(completed[done])}),
    ]
    if cfg.followup_test:
        m = done & (fu_on <= SNAPSHOT) & (rng.random(len(idx)) < 0.7)
        a.append(pd.DataFrame({"person_id": pids[m], "program_id": program_id, "phase": "followup", "score": fu[m],
                               "max_score": 100, "taken_on": _dates_str(fu_on[m])}))
    assessments = pd.concat(a, ignore_index=True)

    # ---- behaviors
    b = []
    for name, before, after in cfg.behaviors:
        base = np.clip(before + rng.normal(0, 0.08, len(idx)), 0, 1)
        gain = np.clip((after - before) + rng.normal(0, 0.1, len(idx)), -0.2, 1)
        for observer, bias in (("self", 0.06), ("manager", -0.03)):
            if cfg.pre_launch_obs:
                on = np.full(len(idx), launch - np.timedelta64(20, "D")) - rng.integers(0, 10, len(idx)).astype("timedelta64[D]")
                v = np.clip(np.round(base + bias + rng.normal(0, 0.05, len(idx)), 2), 0, 1)
                b.append(pd.DataFrame({"person_id": pids, "program_id": program_id, "behavior": name, "value": v,
                                       "observed_on": _dates_str(on), "observer": observer}))
            for lag in (60, 120):
                on = completed + np.timedelta64(lag, "D") + rng.integers(0, 10, len(idx)).astype("timedelta64[D]")
                m = done & (on <= SNAPSHOT) & (rng.random(len(idx)) < (0.7 if observer == "self" else 0.6))
                v = np.clip(np.round(base + gain * (1.0 if lag == 60 else 0.9) + bias + rng.normal(0, 0.05, len(idx)), 2), 0, 1)
                b.append(pd.DataFrame({"person_id": pids[m], "program_id": program_id, "behavior": name, "value": v[m],
                                       "observed_on": _dates_str(on[m]), "observer": observer}))
    behaviors = pd.concat(b, ignore_index=True) if b else pd.DataFrame()
    return reactions, assessments, behaviors


def _enroll_frame(program_id: str, idx: Any, enrolled: Any, completed: Any, status: Any, hours: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "idx": np.asarray(idx, dtype=np.int64),
            "program_id": program_id,
            "enrolled": np.asarray(enrolled, dtype="datetime64[D]"),
            "completed": np.asarray(completed, dtype="datetime64[D]"),
            "status": np.asarray(status, dtype=object),
            "hours": np.round(np.asarray(hours, dtype=float), 1),
        }
    )


def _simple_enroll(
    rng: np.random.Generator,
    program_id: str,
    idx: np.ndarray,
    *,
    enroll_from: str,
    enroll_days: int,
    duration: tuple[int, int],
    hours: float,
    p_drop: float,
    p_progress: float,
    complete_by: str | None = None,
) -> pd.DataFrame:
    """Enrollments of ``idx``: dropped / in_progress / completed with hours."""
    n = len(idx)
    enrolled = _d(enroll_from) + rng.integers(0, enroll_days, n).astype("timedelta64[D]")
    completed = enrolled + rng.integers(duration[0], duration[1] + 1, n).astype("timedelta64[D]")
    if complete_by is not None:
        completed = np.minimum(completed, _d(complete_by))
    u = rng.random(n)
    status = np.where(u < p_drop, "dropped", np.where(u < p_drop + p_progress, "in_progress", "completed")).astype(object)
    comp = np.where(status == "completed", completed, np.datetime64("NaT"))
    h = np.where(status == "completed", hours * np.exp(rng.normal(0, 0.1, n)),
                 np.where(status == "dropped", hours * rng.uniform(0.1, 0.5, n), hours * rng.uniform(0.4, 0.8, n)))
    return _enroll_frame(program_id, idx, enrolled, comp, status, h)


def _cost_frame(program_id: str, lines: list[tuple[str, float, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"program_id": program_id, "category": c, "amount": a, "description": d, "prorate_share": s} for c, a, d, s in lines]
    )


# ----------------------------------------------------------------------------------------------
# program YAML
# ----------------------------------------------------------------------------------------------


def _window_yaml(w: dict[str, Any]) -> str:
    if "offset" in w:
        return f"{{offset: [{w['offset'][0]}, {w['offset'][1]}]}}"
    return f"{{start: {w['start']}, end: {w['end']}}}"


#: Business labels (and the entity noun of per-period units) of the sample's metrics.
METRIC_LABELS: dict[str, tuple[str, str | None]] = {
    "revenue_per_rep": ("revenue per rep", "rep"),
    "win_rate": ("win rate", None),
    "time_to_productivity_days": ("time to productivity", None),
    "turnover_90d": ("90-day turnover", None),
    "days_on_hand": ("days of inventory on hand", None),
    "forecast_accuracy": ("forecast accuracy", None),
    "shipping_efficiency": ("shipping efficiency", None),
    "inventory_accuracy": ("inventory accuracy", None),
    "internal_promotions": ("internal promotions", None),
    "incident_rate": ("incident rate", None),
    "on_time_delivery_rate": ("on-time delivery rate", None),
    "tickets_resolved": ("tickets resolved", "analyst"),
}


def _label_fields(metric: str) -> str:
    """``label: ..., per: ...,`` of a metric reference (empty for a metric without a label)."""
    if metric not in METRIC_LABELS:
        return ""
    label, per = METRIC_LABELS[metric]
    return f"label: {_q(label)}, " + (f"per: {_q(per)}, " if per else "")


def _program_yaml(p: dict[str, Any]) -> str:
    """Hand-written-looking YAML for one program spec."""
    out = [f"# {line}".rstrip() for line in p["header"]]
    out += ["", f"id: {p['id']}", f"name: {_q(p['name'])}", f"owner: {_q(p['owner'])}",
            f"business_goal: {_q(p['business_goal'])}", f"launch: {p['launch']}", "", "chain:"]
    bm = p["business_metric"]
    out.append(f"  business_metric: {{metric: {bm[0]}, {_label_fields(bm[0])}direction: {bm[1]}, unit: {_q(bm[2])}, target: {_q(bm[3])}}}")
    if p.get("performance_metrics"):
        out.append("  performance_metrics:")
        for m, d, u in p["performance_metrics"]:
            out.append(f"    - {{metric: {m}, {_label_fields(m)}direction: {d}, unit: {_q(u)}}}")
    if p.get("leading_indicators"):
        out.append(f"  leading_indicators: {_ql(p['leading_indicators'])}")
    out += ["", "# New World Kirkpatrick item groups of the reaction survey",
            "reaction:", f"  relevance_items: {_ql(RELEVANCE_ITEMS)}", f"  engagement_items: {_ql(ENGAGEMENT_ITEMS)}",
            "learning: {pass_mark: 70}", ""]
    ev = p["evaluation"]
    out += [f"# {line}" for line in p.get("evaluation_comment", [])]
    out.append("evaluation:")
    out.append(f"  entity: {ev['entity']}")
    out.append(f"  outcome: {ev['outcome']}")
    out.append(f"  frequency: {ev.get('frequency', 'month')}")
    if "baseline" in ev:
        out.append(f"  baseline: {_window_yaml(ev['baseline'])}")
        out.append(f"  followup: {_window_yaml(ev['followup'])}")
    out.append(f"  design: {ev['design']}")
    if ev.get("also"):
        out.append(f"  also: {_ql(ev['also'])}")
    if ev.get("comparison"):
        comp = ", ".join(f"{k}: {_ql(v)}" for k, v in ev["comparison"].items())
        out.append(f"  comparison: {{{comp}}}")
    if ev.get("covariates"):
        out.append(f"  covariates: {_ql(ev['covariates'])}")
    out.append("  transform: none")
    if "treated_share" in ev:
        out.append(f"  treated_share: {ev['treated_share']}")
    for key in ("horizon_days", "origin", "as_of"):  # design survival
        if key in ev:
            out.append(f"  {key}: {ev[key]}")
    mo = p["monetization"]
    out += ["", f"# {mo['comment']}", "monetization:", f"  value_per_unit: {_q(mo['value_per_unit'])}",
            f"  value_range: {_ql(mo['value_range'])}"]
    out += [f"  {key}: {mo[key]}" for key in ("periods_per_year", "horizon_years") if key in mo] + [""]
    out.append(f"intangibles: {_ql(p.get('intangibles', []))}")
    out.append("privacy: {min_group_size: 5}")
    return "\n".join(out) + "\n"


def _catalog_yaml(pid: str, name: str) -> str:
    return (
        f"# Catalog e-learning course (self-service). Not evaluated: tracked for completion only.\n"
        f"id: {pid}\nname: {_q(name)}\nowner: Learning & Development\n"
        f"evaluate: false\n"
        f"chain:\n  business_metric: {{metric: productivity_index, direction: increase, unit: index}}\n"
    )


# ----------------------------------------------------------------------------------------------
# learning culture scorecards and the L&D request log
# ----------------------------------------------------------------------------------------------

#: Category: (employee mean in the first wave, change per quarter, leader minus employee).
SCORECARD_PLAN: dict[str, dict[str, tuple[float, float, float]]] = {
    "experience": {
        "access_to_learning": (3.9, 0.00, 0.2),
        "embedded_learning": (2.9, 0.10, 0.4),
        "personalized_development": (2.6, 0.15, 0.5),
        "psychological_safety": (3.7, 0.00, 0.3),
        "learner_autonomy": (3.4, 0.05, 0.2),
        "collaboration_knowledge_sharing": (3.6, 0.00, 0.1),
        "recognition_rewards": (2.3, 0.05, 0.6),
    },
    "support": {
        "executive_buy_in": (3.0, 0.00, 1.0),
        "manager_involvement": (2.7, 0.10, 0.9),
        "budget_investment": (2.9, 0.00, 0.4),
        "business_alignment": (3.3, 0.10, 0.6),
        "time_for_learning": (2.0, 0.10, 0.7),
        "feedback_improvement": (3.1, 0.05, 0.3),
        "innovation_experimentation": (3.0, 0.05, 0.2),
    },
}
#: Quarterly pulse survey dates; the first wave reached only 4 leaders (suppressed in reports).
SURVEY_DATES = ("2025-11-14", "2026-02-13", "2026-05-15", "2026-08-14")
LEADER_ROLES = frozenset({"Sales Manager", "Team Lead", "Line Supervisor", "Office Manager", "Site Manager", "Department Manager",
                          "Analytics Manager", "VP Sales", "VP Operations", "VP Manufacturing", "VP Logistics",
                          "VP Finance & Administration", "Head of Analytics", "Chief Executive Officer"})


def _scorecards(rng: np.random.Generator, pid: np.ndarray, role: np.ndarray, hire: np.ndarray) -> pd.DataFrame:
    """Quarterly culture pulse: 60 sampled employees and 12 leaders (4 in the first wave) rate every category 1-5."""
    is_leader = np.isin(role.astype(str), list(LEADER_ROLES))
    rows: list[pd.DataFrame] = []
    for q, day in enumerate(SURVEY_DATES):
        hired = hire <= _d(day)
        for group, pool, size in (("employee", np.flatnonzero(~is_leader & hired), 60),
                                  ("leader", np.flatnonzero(is_leader & hired), 4 if q == 0 else 12)):
            who = np.sort(rng.choice(pool, size=min(size, len(pool)), replace=False))
            mood = rng.normal(0, 0.4, len(who))  # a respondent's general optimism, shared by all answers
            for scorecard, plan in SCORECARD_PLAN.items():
                for category, (mu, slope, gap) in plan.items():
                    latent = mu + slope * q + (gap if group == "leader" else 0.0) + mood + rng.normal(0, 0.8, len(who))
                    rows.append(pd.DataFrame({
                        "respondent_id": pid[who], "group": group, "scorecard": scorecard, "category": category,
                        "score": np.clip(np.round(latent), 1, 5).astype(np.int64), "period": day,
                    }))
    return pd.concat(rows, ignore_index=True)


REQUEST_GOALS = (
    "Increase revenue per account executive",
    "Cut the time new hires need to reach full productivity",
    "Reduce days of inventory on hand per production line",
    "Reduce recordable incidents at distribution sites",
    "Grow more internal promotions from managers' teams",
    "Improve customer satisfaction scores",
    "More work delivered on time",
)


def _requests(rng: np.random.Generator, evaluated: list[str], catalog: list[str]) -> pd.DataFrame:
    """L&D intake log: 160 requests from 2025-01 to the snapshot, with decisions, deliveries and SLAs."""
    n = 160
    start = _d("2025-01-06")
    requested = np.sort(start + rng.integers(0, int((SNAPSHOT - start).astype(np.int64)) + 1, n).astype("timedelta64[D]"))
    priority = rng.choice(np.array(["high", "medium", "low"], dtype=object), n, p=[0.25, 0.5, 0.25])
    sla = np.select([priority == "high", priority == "medium"], [30, 60], 90).astype(np.int64)
    has_goal = rng.random(n) < 0.62
    goal = np.where(has_goal, rng.choice(np.array(REQUEST_GOALS, dtype=object), n), "")
    decided = requested + rng.integers(2, 21, n).astype("timedelta64[D]")
    # Goal-linked work is delivered a little faster; cycle times drift down as the intake process matures.
    drift = 1.0 - 0.25 * (requested - start).astype(np.int64) / (SNAPSHOT - start).astype(np.int64)
    cycle = np.round(sla * drift * np.exp(rng.normal(-0.05 - 0.15 * has_goal, 0.45, n))).astype(np.int64)
    delivered = np.maximum(requested + np.maximum(cycle, 7).astype("timedelta64[D]"), decided + np.timedelta64(3, "D"))
    u = rng.random(n)
    status = np.where(u < 0.12, "rejected", np.where(u < 0.17, "cancelled", "delivered")).astype(object)
    undecided = decided > SNAPSHOT
    status = np.where(undecided & (status != "cancelled"), "new", status)
    late = (status == "delivered") & (delivered > SNAPSHOT)
    status = np.where(late, np.where(rng.random(n) < 0.7, "in_progress", "approved"), status)
    decided_out = np.where((status == "new") | ((status == "cancelled") & undecided), np.datetime64("NaT"), decided)
    delivered_out = np.where(status == "delivered", delivered, np.datetime64("NaT"))
    pool_goal = np.array(evaluated + catalog[:4], dtype=object)
    pool_other = np.array(catalog, dtype=object)
    prog = np.where(has_goal, rng.choice(pool_goal, n), rng.choice(pool_other, n))
    prog = np.where(np.isin(status, ["delivered", "in_progress"]), prog, "")
    return pd.DataFrame({
        "request_id": [f"REQ-{i:04d}" for i in range(1, n + 1)],
        "requested_on": _dates_str(requested), "decided_on": _dates_str(decided_out), "delivered_on": _dates_str(delivered_out),
        "status": status, "priority": priority, "business_goal": goal, "program_id": prog, "sla_days": sla,
    })


@dataclass
class _Out:
    enroll: list[pd.DataFrame] = field(default_factory=list)
    reactions: list[pd.DataFrame] = field(default_factory=list)
    assessments: list[pd.DataFrame] = field(default_factory=list)
    behaviors: list[pd.DataFrame] = field(default_factory=list)
    panels: list[_Panel] = field(default_factory=list)
    costs: list[pd.DataFrame] = field(default_factory=list)
    estimates: list[pd.DataFrame] = field(default_factory=list)
    scorecards: pd.DataFrame | None = None
    requests: pd.DataFrame | None = None
    yaml: dict[str, str] = field(default_factory=dict)
    truth: dict[str, Any] = field(default_factory=dict)


def _truth(entity: str, outcome: str, design: str, effect: float, base_mean: float, n: int,
           perf: dict[str, float], notes: str, **extra: Any) -> dict[str, Any]:
    return {
        "entity": entity,
        "outcome": outcome,
        "design": design,
        "true_effect": round(effect, 6),
        "true_effect_pct": round(100 * effect / base_mean, 2),
        "baseline_mean": round(base_mean, 4),
        "n_participants": int(n),
        "performance_metrics": {k: round(v, 6) for k, v in perf.items()},
        **extra,
        "notes": notes,
    }


# ----------------------------------------------------------------------------------------------
# organisation
# ----------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class _Org:
    """The populations the programs draw from, as internal person indices of :class:`_People`."""

    ae: np.ndarray
    team_names: np.ndarray
    team_wave: np.ndarray  # NaT for the never-treated teams, the clean comparison
    waves: np.ndarray
    ops_people: dict[str, dict[str, np.ndarray]]
    line_names: np.ndarray
    line_members: dict[str, np.ndarray]
    site_names: np.ndarray
    site_members: dict[str, np.ndarray]
    analysts: np.ndarray
    office_staff: np.ndarray
    dept_members: dict[str, np.ndarray]


def _executives(P: _People) -> tuple[np.int64, dict[str, np.int64]]:
    """Add the CEO and the heads of function.

    Returns
    -------
    tuple
        The CEO's internal index and the heads' indices by function key.
    """
    ceo = P.add(1, org_unit="executive", role="Chief Executive Officer", location="Denver", manager=-1, hourly=220, segment="exec", min_tenure=8)[0]
    vps: dict[str, np.int64] = {}
    for key, title in (("sales", "VP Sales"), ("ops", "VP Operations"), ("mfg", "VP Manufacturing"), ("log", "VP Logistics"),
                       ("fin", "VP Finance & Administration"), ("ana", "Head of Analytics")):
        vps[key] = P.add(1, org_unit="executive", role=title, location="Denver", manager=ceo, hourly=150, segment="exec", min_tenure=5)[0]
    return ceo, vps


def _sales_org(P: _People, vps: dict[str, np.int64], s: float) -> np.ndarray:
    """Add sales managers and account executives over four regions; returns the account executives."""
    n_ae = _scale(400, s, 40)
    n_sm = math.ceil(n_ae / 10)
    regions = np.array(["sales-north", "sales-south", "sales-east", "sales-west"], dtype=object)
    region_city = {"sales-north": "Chicago", "sales-south": "Atlanta", "sales-east": "New York", "sales-west": "San Francisco"}
    sm_region = regions[np.arange(n_sm) % 4]
    sm = P.add(n_sm, org_unit=sm_region, role="Sales Manager", location=[region_city[r] for r in sm_region],
               manager=vps["sales"], hourly=85, segment="sales_mgr", min_tenure=4)
    ae_mgr_pos = np.arange(n_ae) % n_sm
    ae_region = sm_region[ae_mgr_pos]
    ae = P.add(n_ae, org_unit=ae_region, role="Account Executive", location=[region_city[r] for r in ae_region],
               manager=sm[ae_mgr_pos], hourly=58, segment="ae")
    return ae


def _ops_org(P: _People, ro: np.random.Generator, vps: dict[str, np.int64],
             s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """Add the operations teams, assigned to four onboarding waves, with hires timed around each team's rollout.

    Returns
    -------
    tuple
        Team names, rollout month per team (NaT: never treated), the four
        wave months, and per team its new hires (``new``), the backlog mask
        and their hire dates.
    """
    n_wave_teams = max(1, int(round(6 * s)))
    n_never = max(4, int(round(12 * s)))
    n_teams = 4 * n_wave_teams + n_never
    team_names = np.array([f"ops-team-{i:02d}" for i in range(1, n_teams + 1)], dtype=object)
    waves = np.array([_m("2025-09"), _m("2025-11"), _m("2026-01"), _m("2026-03")])
    team_wave = np.full(n_teams, np.datetime64("NaT", "M"))
    perm = ro.permutation(n_teams)
    for w in range(4):
        team_wave[perm[w * n_wave_teams:(w + 1) * n_wave_teams]] = waves[w]
    n_exist = _scale(10, s, 4)
    n_new = _scale(5, s, 3)
    team_size = n_exist + n_new
    k0 = math.ceil(0.2 * team_size)  # completions needed in the rollout month
    cities = ("Dallas", "Columbus", "Reno")
    ops_people: dict[str, dict[str, np.ndarray]] = {}
    for t, team in enumerate(team_names):
        loc = cities[t % 3]
        lead = P.add(1, org_unit=team, role="Team Lead", location=loc, manager=vps["ops"], hourly=48, segment="ops_lead", min_tenure=3)
        exist = P.add(n_exist - 1, org_unit=team, role="Operations Associate", location=loc, manager=lead[0], hourly=32, segment="ops")
        if np.isnat(team_wave[t]):
            hm = _m("2025-01") + np.sort(ro.integers(0, 21, n_new)).astype("timedelta64[M]")
            backlog = np.zeros(n_new, dtype=bool)
        else:
            r = team_wave[t]
            before = r - np.sort(ro.integers(1, 4, k0)).astype("timedelta64[M]")[::-1]
            span = int((_m("2026-09") - r).astype(int))
            after = r + np.sort(ro.integers(1, span + 1, n_new - k0)).astype("timedelta64[M]")
            hm = np.concatenate([before, after])
            backlog = np.arange(n_new) < k0
        hire = _mstart(hm) + ro.integers(0, 26, n_new).astype("timedelta64[D]")
        new = P.add(n_new, org_unit=team, role="Operations Associate", location=loc, manager=lead[0], hourly=30, segment="ops_new", hire=hire)
        ops_people[team] = {"new": new, "backlog": backlog, "hire": hire}
    return team_names, team_wave, waves, ops_people


def _line_org(P: _People, vps: dict[str, np.int64], s: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Add the production lines (six per plant); returns the line names and each line's members."""
    n_lines = _scale(30, s, 8)
    line_names = np.array([f"PL{1 + i // 6}-L{1 + i % 6}" for i in range(n_lines)], dtype=object)
    line_members: dict[str, np.ndarray] = {}
    plant_city = ("Toledo", "Fresno", "Macon", "Boise", "Erie", "Provo", "Tulsa")
    for i, line in enumerate(line_names):
        loc = plant_city[(i // 6) % len(plant_city)]
        sup = P.add(1, org_unit=line, role="Line Supervisor", location=loc, manager=vps["mfg"], hourly=46, segment="line_sup", min_tenure=3)
        pl = P.add(2, org_unit=line, role="Planner", location=loc, manager=sup[0], hourly=42, segment="line")
        op = P.add(5, org_unit=line, role="Operator", location=loc, manager=sup[0], hourly=29, segment="line")
        line_members[line] = np.concatenate([sup, pl, op])
    return line_names, line_members


def _site_org(P: _People, vps: dict[str, np.int64], s: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Add the twelve distribution sites; returns the site names and each site's members."""
    n_sites = 12
    site_size = _scale(12, s, 5)
    site_names = np.array([f"SITE-{i:02d}" for i in range(1, n_sites + 1)], dtype=object)
    site_members: dict[str, np.ndarray] = {}
    for i, site in enumerate(site_names):
        loc = ("Memphis", "Louisville", "Indianapolis", "Kansas City")[i % 4]
        m = P.add(1, org_unit=site, role="Site Manager", location=loc, manager=vps["log"], hourly=52, segment="site_mgr", min_tenure=3)
        w = P.add(site_size - 1, org_unit=site, role="Warehouse Associate", location=loc, manager=m[0], hourly=27, segment="site")
        site_members[site] = np.concatenate([m, w])
    return site_names, site_members


def _analytics_org(P: _People, vps: dict[str, np.int64], s: float) -> np.ndarray:
    """Add analytics managers and analysts; returns the analysts."""
    n_an = _scale(60, s, 15)
    n_am = math.ceil(n_an / 30)
    am = P.add(n_am, org_unit=[f"analytics-{i + 1:02d}" for i in range(n_am)], role="Analytics Manager", location="Denver",
               manager=vps["ana"], hourly=80, segment="ana_mgr", min_tenure=3)
    an_pos = np.arange(n_an) % n_am
    analysts = P.add(n_an, org_unit=np.array([f"analytics-{i + 1:02d}" for i in an_pos], dtype=object), role="Analyst",
                     location="Denver", manager=am[an_pos], hourly=50, segment="analyst")
    return analysts


def _office_org(P: _People, rof: np.random.Generator, vps: dict[str, np.int64], s: float,
                people: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Add the office departments, the time management population.

    Returns
    -------
    tuple
        The office staff (managers excluded) and each department's members.

    Raises
    ------
    ValueError
        If fewer than 40 office staff remain below ``people``.
    """
    core = P.n
    n_office = _scale(520, s, 40)
    if core + n_office > people:
        n_office = people - core
        if n_office < 40:
            raise ValueError(f"--people {people} is too small for the program populations (need {core + 40})")
    dept_kinds = ("finance", "hr", "procurement", "customer-service", "legal", "marketing", "it-support")
    n_dept = math.ceil(n_office / 26)
    sizes = np.full(n_dept, n_office // n_dept)
    sizes[: n_office % n_dept] += 1
    office_staff: list[np.ndarray] = []
    dept_members: dict[str, np.ndarray] = {}
    for i in range(n_dept):
        dept = f"{dept_kinds[i % 7]}-{i // 7 + 1:02d}"
        m = P.add(1, org_unit=dept, role="Office Manager", location="Denver", manager=vps["fin"], hourly=62, segment="office_mgr", min_tenure=3)
        roles = rof.choice(np.array(["Coordinator", "Specialist", "Administrator"], dtype=object), sizes[i] - 1, p=[0.4, 0.4, 0.2])
        st = P.add(sizes[i] - 1, org_unit=dept, role=roles, location=rof.choice(np.array(["Denver", "Remote"], dtype=object), sizes[i] - 1, p=[0.7, 0.3]),
                   manager=m[0], hourly=38, segment="office")
        office_staff.append(st)
        dept_members[dept] = np.concatenate([m, st])
    return np.concatenate(office_staff), dept_members


def _generic_org(P: _People, rg: np.random.Generator, ceo: np.int64, people: int, dept_members: dict[str, np.ndarray]) -> None:
    """Fill the remainder up to ``people`` with generic departments of 25, added to ``dept_members``."""
    rest = people - P.n
    gen_kinds = ("engineering", "product", "facilities", "quality", "supply", "service")
    gi = 0
    while rest > 0:
        size = min(25, rest)
        dept = f"corp-{gen_kinds[gi % 6]}-{gi // 6 + 1:03d}"
        if size >= 2:
            m = P.add(1, org_unit=dept, role="Department Manager", location="Denver", manager=ceo, hourly=70, segment="gen_mgr", min_tenure=3)
            st = P.add(size - 1, org_unit=dept, role=rg.choice(np.array(["Associate", "Engineer", "Consultant", "Technician"], dtype=object), size - 1),
                       location=rg.choice(np.array(["Denver", "Remote", "Austin", "Boston"], dtype=object), size - 1), manager=m[0], hourly=45, segment="general")
            dept_members[dept] = np.concatenate([m, st])
        else:
            P.add(1, org_unit="executive", role="Executive Assistant", location="Denver", manager=ceo, hourly=40, segment="general")
        rest -= size
        gi += 1


def _organisation(P: _People, seed: int, s: float, people: int) -> _Org:
    """Add every person of Acme to ``P``.

    Parameters
    ----------
    P : _People
        Receives the people; its stream is shared by all units, so the order
        of the units below is part of the output.
    seed : int
        Master seed (each unit's own layout stream derives from it).
    s : float
        Size factor, ``min(1, people / DEFAULT_PEOPLE)``.
    people : int
        Total head count.

    Returns
    -------
    _Org
        The populations the programs draw from.
    """
    ceo, vps = _executives(P)
    ae = _sales_org(P, vps, s)
    team_names, team_wave, waves, ops_people = _ops_org(P, _rng(seed, "ops-org"), vps, s)
    line_names, line_members = _line_org(P, vps, s)
    site_names, site_members = _site_org(P, vps, s)
    analysts = _analytics_org(P, vps, s)
    office_staff, dept_members = _office_org(P, _rng(seed, "office-org"), vps, s, people)
    _generic_org(P, _rng(seed, "general-org"), ceo, people, dept_members)
    return _Org(ae=ae, team_names=team_names, team_wave=team_wave, waves=waves, ops_people=ops_people, line_names=line_names,
                line_members=line_members, site_names=site_names, site_members=site_members, analysts=analysts,
                office_staff=office_staff, dept_members=dept_members)


# ----------------------------------------------------------------------------------------------
# the evaluated programs (each from its own stream)
# ----------------------------------------------------------------------------------------------


def _sales_enablement(r: np.random.Generator, o: _Out, P: _People, org: _Org, mstarts: np.ndarray) -> None:
    """1. Sales Enablement Bootcamp for account executives: person-level DiD with mild self-selection.

    Parameters
    ----------
    r : numpy.random.Generator
        The program's own stream.
    o : _Out
        Receives the tables, panels, YAML and truth.
    P : _People
        After :meth:`_People.frame` (person ids, emails, tenure).
    org : _Org
        The populations.
    mstarts : numpy.ndarray
        The KPI months as first days.
    """
    ae, n_ae = org.ae, len(org.ae)
    pid_ae = P.pid[ae]
    z_ten = (P.tenure[ae] - P.tenure[ae].mean()) / P.tenure[ae].std()
    rev_level = 7300 + 1500 * (0.35 * z_ten + math.sqrt(1 - 0.35**2) * r.standard_normal(n_ae))
    # Mild self-selection on baseline revenue (Gumbel top-k, tilt 0.12 SD per SD).
    n_enroll = int(round(n_ae * 0.32))
    key = 0.12 * (rev_level - 7300) / 1500 + r.gumbel(size=n_ae)
    enr_pos = np.sort(np.argsort(-key)[:n_enroll])
    st = np.full(n_enroll, "completed", dtype=object)
    st[r.choice(n_enroll, 8 * n_enroll // 128, replace=False)] = "dropped"
    prog_pos = r.choice(np.flatnonzero(st == "completed"), max(1, 2 * n_enroll // 128), replace=False)
    st[prog_pos] = "in_progress"
    enrolled = _d("2026-03-02") + r.integers(0, 4, n_enroll).astype("timedelta64[D]")
    comp = np.where(st == "completed", enrolled + r.integers(14, 27, n_enroll).astype("timedelta64[D]"), np.datetime64("NaT"))
    hours = np.where(st == "completed", 24 + r.normal(0, 1.5, n_enroll), np.where(st == "dropped", r.uniform(2, 10, n_enroll), r.uniform(10, 18, n_enroll)))
    enr = _enroll_frame("sales-enablement", ae[enr_pos], enrolled, comp, st, hours)
    o.enroll.append(enr)
    treated = np.zeros(n_ae, dtype=bool)
    treated[enr_pos[st != "dropped"]] = True
    base_w = _window(mstarts, "2025-09-01", "2026-02-28")
    fu_w = _window(mstarts, "2026-04-01", "2026-09-30")
    eff_on = mstarts >= _d("2026-04-01")
    E = lambda v: np.where(treated[:, None] & eff_on[None, :], v, 0.0)  # noqa: E731
    rev = _panel(r, "revenue_per_rep", pid_ae, mstarts, level=0, sd_between=0, sd_noise=600, season=350, trend=12,
                 effect=E(1240.0), decimals=2, lo=0, unit_levels=rev_level)
    win_level = np.clip(0.24 + 0.04 * (rev_level - 7300) / 1500 + 0.03 * r.standard_normal(n_ae), 0.08, 0.5)
    win = _panel(r, "win_rate", pid_ae, mstarts, level=0, sd_between=0, sd_noise=0.035, effect=E(0.03), decimals=4, lo=0, hi=1, unit_levels=win_level)
    pipe = _panel(r, "pipeline_created", pid_ae, mstarts, level=42000, sd_between=9000, sd_noise=5000, season=2500,
                  effect=np.where(treated[:, None] & (mstarts >= _d("2026-03-01"))[None, :], 6000.0, 0.0), decimals=0, lo=0)
    o.panels += [rev, win, pipe]
    rea, ass, beh = _levels(r, "sales-enablement", enr, _L123(quality=4.3, pre=52, gain=24, followup_test=True, pre_launch_obs=True,
                            behaviors=(("Uses discovery question framework", 0.3, 0.7), ("Updates opportunity plan weekly", 0.45, 0.75)),
                            comments=("Role plays were the best part", "Too much time on CRM screens", "Would like a refresher in six months",
                                      "Great facilitator, very practical", "The pricing module was rushed")), _d("2026-03-01"), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("sales-enablement", [
        ("needs_assessment", 12000, "Win/loss interviews and skills gap survey", 1),
        ("design_development", 52000, "Bootcamp curriculum and role-play scenarios", 1),
        ("acquisition", 36000, "Licensed negotiation module (vendor)", 1),
        ("delivery", 60000, "Facilitators, 12 cohorts x 3 days", 1),
        ("materials", 9600, "Workbooks and playbooks", 1),
        ("facilities", 18500, "Training rooms and catering", 1),
        ("evaluation", 14000, "Evaluation design and analysis", 1),
        ("overhead", 40000, "Sales enablement team overhead (quarter share)", 0.25),
    ]))
    perf = {"win_rate": win.att(treated, fu_w)}
    o.truth["sales-enablement"] = _truth(
        "person", "revenue_per_rep", "did", rev.att(treated, fu_w), rev.mean0(treated, base_w), treated.sum(), perf,
        "Participants are mildly self-selected (higher baseline revenue, see baseline_smd), so post_only is biased upward; "
        "did and ancova recover the effect. Effect starts in April 2026 (month after completion).",
        leading_indicators={"pipeline_created": pipe.att(treated, fu_w)},
        baseline_smd=round(float((rev.y1[treated][:, base_w].mean() - rev.y1[~treated][:, base_w].mean()) / rev.y1[:, base_w].mean(axis=1).std()), 4),
    )
    o.yaml["sales-enablement"] = _program_yaml({
        "header": ["Sales Enablement Bootcamp - three-day bootcamp plus coaching for Account Executives.",
                   "Owner contact: Sales Operations. Cohorts ran in March 2026."],
        "id": "sales-enablement", "name": "Sales Enablement Bootcamp", "owner": "Sales Operations",
        "business_goal": "Increase revenue per account executive", "launch": "2026-03-01",
        "business_metric": ("revenue_per_rep", "increase", "USD per month", None),
        "performance_metrics": [("win_rate", "increase", "share")], "leading_indicators": ["pipeline_created"],
        "evaluation_comment": ["Non-participating Account Executives are the comparison group.",
                               "March 2026 (the training month) is left out of both windows."],
        "evaluation": {"entity": "person", "outcome": "revenue_per_rep", "baseline": {"start": "2025-09-01", "end": "2026-02-28"},
                       "followup": {"start": "2026-04-01", "end": "2026-09-30"}, "design": "did", "also": ["ancova", "post_only", "before_after"],
                       "comparison": {"role": ["Account Executive"]}, "covariates": ["tenure_years"]},
        "monetization": {"comment": "Gross margin: converts extra revenue into profit (Phillips: use profit, not sales).",
                         "value_per_unit": 0.25, "value_range": [0.2, 0.3], "periods_per_year": 12, "horizon_years": 1},
        "intangibles": ["customer satisfaction", "sales team confidence"],
    })


def _new_hire_onboarding(r: np.random.Generator, o: _Out, P: _People, org: _Org, mstarts: np.ndarray) -> None:
    """2. New Hire Onboarding, rolled out to operations teams in four waves (staggered DiD).

    Same parameters as :func:`_sales_enablement`.
    """
    team_names, team_wave, waves, ops_people = org.team_names, org.team_wave, org.waves, org.ops_people
    enr_parts = []
    for t, team in enumerate(team_names):
        if np.isnat(team_wave[t]):
            continue
        info = ops_people[team]
        new, backlog, hire = info["new"], info["backlog"], info["hire"]
        rm = _mstart(team_wave[t])
        # Backlog cohort: all complete inside the rollout month, so the team's completed share crosses 0.2 then.
        e_b = rm + r.integers(0, 4, backlog.sum()).astype("timedelta64[D]")
        c_b = e_b + r.integers(5, 20, backlog.sum()).astype("timedelta64[D]")
        later = ~backlog
        e_l = hire[later] + r.integers(3, 10, later.sum()).astype("timedelta64[D]")
        c_l = e_l + r.integers(7, 25, later.sum()).astype("timedelta64[D]")
        u = r.random(later.sum())
        st_l = np.where(c_l > SNAPSHOT, "in_progress", np.where(u < 0.1, "dropped", "completed")).astype(object)
        enr_parts.append(_enroll_frame("new-hire-onboarding", np.concatenate([new[backlog], new[later]]), np.concatenate([e_b, e_l]),
                                       np.concatenate([c_b, np.where(st_l == "completed", c_l, np.datetime64("NaT"))]),
                                       np.concatenate([np.full(backlog.sum(), "completed", dtype=object), st_l]),
                                       np.concatenate([16 + r.normal(0, 1, backlog.sum()), np.where(st_l == "completed", 16 + r.normal(0, 1, later.sum()), r.uniform(2, 8, later.sum()))])))
    enr = pd.concat(enr_parts, ignore_index=True)
    o.enroll.append(enr)
    treated_t = ~np.isnat(team_wave)
    rel = (MONTHS[None, :] - np.where(treated_t, team_wave, MONTHS[0])[:, None]).astype(np.int64)  # offset per team x month
    eff_mask = treated_t[:, None] & (rel >= 0)
    fu_rel = treated_t[:, None] & (rel >= 0) & (rel <= 5)
    base_rel = treated_t[:, None] & (rel >= -6) & (rel <= -1)
    ttp = _panel(r, "time_to_productivity_days", team_names, mstarts, level=90, sd_between=8, sd_noise=6, season=3, trend=-0.1,
                 effect=np.where(eff_mask, -25.0, 0.0), decimals=1, lo=5)
    turn = _panel(r, "turnover_90d", team_names, mstarts, level=0.18, sd_between=0.025, sd_noise=0.015,
                  effect=np.where(eff_mask, -0.05, 0.0), decimals=4, lo=0, hi=1)
    o.panels += [ttp, turn]
    rea, ass, beh = _levels(r, "new-hire-onboarding", enr, _L123(quality=4.1, pre=45, gain=30, respond=0.75,
                            behaviors=(("Follows standard work without supervision", 0.3, 0.65),),
                            comments=("My buddy was very helpful", "Systems access took too long", "Loved the plant tour")), _d("2025-09-01"), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("new-hire-onboarding", [
        ("needs_assessment", 8000, "Interviews with team leads on ramp-up problems", 1),
        ("design_development", 46000, "Onboarding path, checklists and buddy guide", 1),
        ("delivery", 38000, "Onboarding coordinators (part time)", 1),
        ("materials", 6500, "Starter kits", 1),
        ("evaluation", 9000, "Rollout tracking and analysis", 1),
        ("overhead", 60000, "L&D team overhead (share)", 0.2),
    ]))
    o.truth["new-hire-onboarding"] = _truth(
        "org_unit", "time_to_productivity_days", "did", float(np.round((ttp.y1 - ttp.y0)[fu_rel].mean(), 6)),
        float(ttp.y1[base_rel].mean()), treated_t.sum(),
        {"turnover_90d": float(np.round((turn.y1 - turn.y0)[fu_rel].mean(), 6))},
        "Staggered rollout in 4 waves (2025-09, 2025-11, 2026-01, 2026-03); never-treated teams are the clean comparison. "
        "Effect starts in each team's rollout month (offset 0) and is constant, so every cohort ATT equals the overall ATT.",
        cohorts={str(w): int((team_wave == w).sum()) for w in waves}, never_treated=int((~treated_t).sum()),
    )
    o.yaml["new-hire-onboarding"] = _program_yaml({
        "header": ["Structured onboarding for new hires in operations teams (buddy, checklist, 2-day induction).",
                   "Rolled out team by team in four waves; twelve teams have not started yet."],
        "id": "new-hire-onboarding", "name": "New Hire Onboarding Program", "owner": "Operations HR",
        "business_goal": "Cut the time new hires need to reach full productivity", "launch": "2025-09-01",
        "business_metric": ("time_to_productivity_days", "decrease", "days", 65),
        "performance_metrics": [("turnover_90d", "decrease", "share")],
        "evaluation_comment": ["A team counts as treated once 20% of its people completed onboarding.",
                               "Windows are relative to each team's rollout month (staggered adoption)."],
        "evaluation": {"entity": "org_unit", "outcome": "time_to_productivity_days", "baseline": {"offset": [-6, -1]},
                       "followup": {"offset": [0, 5]}, "design": "did", "treated_share": 0.2},
        "monetization": {"comment": "Value of one day of faster ramp-up per team and month (new hires' partial output).",
                         "value_per_unit": 60, "value_range": [40, 80], "periods_per_year": 12, "horizon_years": 1},
        "intangibles": ["new hire engagement"],
    })


def _inventory_planning(r: np.random.Generator, o: _Out, P: _People, org: _Org, mstarts: np.ndarray) -> None:
    """3. Inventory Planning Workshop for 40% of the production lines (line-level DiD).

    Same parameters as :func:`_sales_enablement`.
    """
    line_names, line_members = org.line_names, org.line_members
    n_lines = len(line_names)
    n_tl = int(round(0.4 * n_lines))
    line_treated = np.zeros(n_lines, dtype=bool)
    line_treated[r.choice(n_lines, n_tl, replace=False)] = True
    enr_parts = []
    for i, line in enumerate(line_names):
        if not line_treated[i]:
            continue
        mem = line_members[line]
        k = r.integers(5, 8)  # 5-7 of 8 complete in February 2026
        chosen = r.permutation(mem)
        comp_idx, rest_idx = chosen[:k], chosen[k:]
        e = _d("2026-02-02") + r.integers(0, 4, k).astype("timedelta64[D]")
        c = e + r.integers(7, 22, k).astype("timedelta64[D]")
        parts = [_enroll_frame("inventory-planning", comp_idx, e, c, np.full(k, "completed", dtype=object), 12 + r.normal(0, 0.8, k))]
        if len(rest_idx) and r.random() < 0.5:
            parts.append(_enroll_frame("inventory-planning", rest_idx[:1], [_d("2026-02-03")], [np.datetime64("NaT")], ["dropped"], [3.0]))
        enr_parts += parts
    enr = pd.concat(enr_parts, ignore_index=True)
    o.enroll.append(enr)
    base_w = _window(mstarts, "2025-08-01", "2026-01-31")
    fu_w = _window(mstarts, "2026-03-01", "2026-08-31")
    eff_on = mstarts >= _d("2026-03-01")
    E = lambda v: np.where(line_treated[:, None] & eff_on[None, :], v, 0.0)  # noqa: E731
    doh = _panel(r, "days_on_hand", line_names, mstarts, level=17, sd_between=2.5, sd_noise=1.0, season=0.6, trend=-0.02,
                 effect=E(-3.5), decimals=2, lo=0)
    fa = _panel(r, "forecast_accuracy", line_names, mstarts, level=0.72, sd_between=0.05, sd_noise=0.03, effect=E(0.08), decimals=4, lo=0, hi=1)
    se = _panel(r, "shipping_efficiency", line_names, mstarts, level=0.86, sd_between=0.03, sd_noise=0.02, effect=E(0.04), decimals=4, lo=0, hi=1)
    ia = _panel(r, "inventory_accuracy", line_names, mstarts, level=0.92, sd_between=0.012, sd_noise=0.008, effect=E(0.03), decimals=4, lo=0, hi=1)
    o.panels += [doh, fa, se, ia]
    rea, ass, beh = _levels(r, "inventory-planning", enr, _L123(quality=3.9, pre=50, gain=20, followup_test=True, pre_launch_obs=True,
                            behaviors=(("Reviews demand signal before weekly plan", 0.35, 0.75), ("Uses reorder point tool", 0.2, 0.7)),
                            comments=("The simulation game was eye-opening", "Need the tool in our ERP, not a spreadsheet", "Good pace")), _d("2026-02-01"), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("inventory-planning", [
        ("needs_assessment", 6000, "Inventory diagnostic on two pilot lines", 1),
        ("design_development", 32000, "Planning workshop and simulation game", 1),
        ("acquisition", 15000, "Reorder-point tool licences", 1),
        ("delivery", 24000, "Supply chain coach, 12 line workshops", 1),
        ("materials", 2400, "Laminated planning boards", 1),
        ("evaluation", 7500, "KPI extraction and analysis", 1),
        ("overhead", 30000, "Manufacturing excellence office (share)", 0.2),
    ]))
    perf = {"forecast_accuracy": fa.att(line_treated, fu_w), "shipping_efficiency": se.att(line_treated, fu_w),
            "inventory_accuracy": ia.att(line_treated, fu_w)}
    o.truth["inventory-planning"] = _truth(
        "org_unit", "days_on_hand", "did", doh.att(line_treated, fu_w), doh.mean0(line_treated, base_w), line_treated.sum(), perf,
        "A line is treated when >= 60% of its people complete in Feb 2026 (treated_share 0.5 crossed in February). "
        "Effect from March 2026. inventory_accuracy is clipped at 1, so its truth is computed after clipping.")
    o.yaml["inventory-planning"] = _program_yaml({
        "header": ["Inventory planning workshop for production lines (planners, operators and supervisors).",
                   "Twelve lines joined in February 2026; the other lines are the comparison."],
        "id": "inventory-planning", "name": "Inventory Planning Workshop", "owner": "Manufacturing Excellence",
        "business_goal": "Reduce days of inventory on hand per production line", "launch": "2026-02-01",
        "business_metric": ("days_on_hand", "decrease", "days", 3),
        "performance_metrics": [("forecast_accuracy", "increase", "share"), ("shipping_efficiency", "increase", "share"),
                                ("inventory_accuracy", "increase", "share")],
        "evaluation_comment": ["Line-level evaluation: a line is treated once half of its people completed."],
        "evaluation": {"entity": "org_unit", "outcome": "days_on_hand", "baseline": {"start": "2025-08-01", "end": "2026-01-31"},
                       "followup": {"start": "2026-03-01", "end": "2026-08-31"}, "design": "did", "also": ["ancova", "before_after"],
                       "treated_share": 0.5},
        "monetization": {"comment": "Carrying cost of one day of inventory per line and month (finance estimate).",
                         "value_per_unit": 1800, "value_range": [1400, 2200], "periods_per_year": 12, "horizon_years": 1},
        "intangibles": ["fewer stock-outs", "planner confidence"],
    })


def _leadership_development(r: np.random.Generator, o: _Out, P: _People, org: _Org, mstarts: np.ndarray) -> None:
    """4. Leadership Development Journey: no comparison group, impact isolated with participant estimates.

    Same parameters as :func:`_sales_enablement`.
    """
    pid = P.pid
    mgr_pool = np.flatnonzero(np.isin(P.cols["segment"], ["sales_mgr", "ops_lead", "line_sup", "site_mgr", "ana_mgr", "office_mgr"]))
    n_ld = min(40, int(round(0.3 * len(mgr_pool))))
    ld = np.sort(r.choice(mgr_pool, n_ld, replace=False))
    enr = _simple_enroll(r, "leadership-development", ld, enroll_from="2025-10-01", enroll_days=5, duration=(60, 80), hours=40,
                         p_drop=0.0, p_progress=0.0)
    o.enroll.append(enr)
    qstarts = _mstart(QUARTERS)
    lam = r.gamma(4.0, 0.15, len(mgr_pool))
    y0 = r.poisson(np.repeat(lam[:, None], len(QUARTERS), axis=1)).astype(float)
    part = np.isin(mgr_pool, ld)
    fu_q = _window(qstarts, "2026-01-01", "2026-09-30")
    base_q = _window(qstarts, "2025-01-01", "2025-09-30")
    cells = np.flatnonzero((part[:, None] & fu_q[None, :]).ravel())
    extra = r.multinomial(int(round(0.3 * len(cells))), np.full(len(cells), 1 / len(cells)))
    y1 = y0.copy().ravel()
    y1[cells] += extra
    promo = _Panel("internal_promotions", pid[mgr_pool], qstarts, y0, y1.reshape(y0.shape), decimals=0)
    o.panels.append(promo)
    te = promo.att(part, fu_q)
    # Participant estimates: 80% respond; respondents over-claim so that the conservative mean over all participants
    # (non-respondents = 0, the extreme claim excluded) equals the true effect.
    n_resp = int(round(0.8 * n_ld))
    resp = np.sort(r.choice(n_ld, n_resp, replace=False))
    extreme = resp[r.integers(0, n_resp)]
    normal = resp[resp != extreme]
    att_ = np.round(r.uniform(0.4, 0.9, len(normal)), 2)
    conf = np.round(r.uniform(0.5, 0.95, len(normal)), 2)
    raw = np.exp(r.normal(0, 0.3, len(normal)))
    scale_f = te * n_ld / float((raw * att_ * conf).sum())
    imp = np.round(raw * scale_f, 3)
    typical = float(np.median(imp))
    est = pd.DataFrame({"idx": np.concatenate([ld[normal], [ld[extreme]]]), "program_id": "leadership-development",
                        "metric": "internal_promotions", "improvement": np.concatenate([imp, [round(50 * typical / (0.8 * 0.8) * float(np.median(att_ * conf)), 3)]]),
                        "attribution": np.concatenate([att_, [0.8]]), "confidence": np.concatenate([conf, [0.8]])})
    o.estimates.append(est)
    adj = est["improvement"] * est["attribution"] * est["confidence"]
    rea, ass, beh = _levels(r, "leadership-development", enr, _L123(quality=4.4, pre=60, gain=18, respond=0.9,
                            behaviors=(("Holds monthly career conversations", 0.3, 0.7), ("Delegates stretch assignments", 0.4, 0.65)),
                            comments=("Peer coaching circles were valuable", "Too many pre-reads", "Best program I attended at Acme")), _d("2025-10-01"), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("leadership-development", [
        ("needs_assessment", 10000, "Leadership 360 baseline", 1),
        ("design_development", 55000, "Program design with business school partner", 1),
        ("acquisition", 60000, "Business school faculty fees", 1),
        ("delivery", 48000, "Coaching circles and residential module", 1),
        ("facilities", 36000, "Residential venue, 2 x 2 days", 1),
        ("materials", 4000, "Books and assessments", 1),
        ("evaluation", 12000, "Estimate survey and analysis", 1),
    ]))
    o.truth["leadership-development"] = _truth(
        "person", "internal_promotions", "estimates", te, promo.mean0(part, base_q), n_ld, {},
        "Quarterly KPI. Respondents' adjusted estimates (improvement x attribution x confidence) over-claim; the conservative "
        "mean over ALL participants (non-respondents = 0, the extreme claim excluded by the Q3 + 3 IQR rule) equals the true effect.",
        n_respondents=n_resp, extreme_claim_person=str(pid[ld[extreme]]),
        respondent_overclaim_pct=round(100 * (float(adj.iloc[:-1].mean()) / te - 1), 1),
        conservative_mean_all=round(float(adj.iloc[:-1].sum()) / n_ld, 6),
    )
    o.yaml["leadership-development"] = _program_yaml({
        "header": ["Leadership Development Journey for first-line managers (residential modules + peer coaching).",
                   "No comparison group is available: impact is isolated with participant estimates (Phillips)."],
        "id": "leadership-development", "name": "Leadership Development Journey", "owner": "Talent Management",
        "business_goal": "Grow more internal promotions from managers' teams", "launch": "2025-10-01",
        "business_metric": ("internal_promotions", "increase", "promotions per manager per quarter", None),
        "evaluation_comment": ["Participants estimate the improvement, its attribution to the program and their confidence."],
        "evaluation": {"entity": "person", "outcome": "internal_promotions", "frequency": "quarter",
                       "baseline": {"start": "2025-01-01", "end": "2025-09-30"}, "followup": {"start": "2026-01-01", "end": "2026-09-30"},
                       "design": "estimates", "also": ["before_after"]},
        "monetization": {"comment": "External recruiting cost avoided per internal promotion.",
                         "value_per_unit": 15000, "value_range": [10000, 20000], "periods_per_year": 4, "horizon_years": 1},
        "intangibles": ["manager confidence", "retention of high performers"],
    })


def _safety_compliance(r: np.random.Generator, o: _Out, P: _People, org: _Org, mstarts: np.ndarray) -> None:
    """5. Safety Compliance Refresher at every site, on top of an already falling incident rate (design trend).

    Same parameters as :func:`_sales_enablement`.
    """
    site_names, site_members = org.site_names, org.site_members
    n_sites = len(site_names)
    enr_parts = []
    for site in site_names:
        mem = site_members[site]
        n = len(mem)
        e = _d("2025-10-01") + r.integers(0, 20, n).astype("timedelta64[D]")
        c = np.maximum(e + np.timedelta64(1, "D"), _d("2025-10-06") + r.integers(0, 53, n).astype("timedelta64[D]"))
        st = np.full(n, "completed", dtype=object)
        if r.random() < 0.5:
            st[r.integers(0, n)] = "dropped"
        enr_parts.append(_enroll_frame("safety-compliance", mem, e, np.where(st == "completed", c, np.datetime64("NaT")), st,
                                       np.where(st == "completed", 6 + r.normal(0, 0.4, n), 1.5)))
    enr = pd.concat(enr_parts, ignore_index=True)
    o.enroll.append(enr)
    eff_on = mstarts >= _d("2025-12-01")
    site_t = np.ones(n_sites, dtype=bool)
    inc = _panel(r, "incident_rate", site_names, mstarts, level=4.0, sd_between=0.4, sd_noise=0.3, trend=-0.05,
                 effect=np.broadcast_to(np.where(eff_on, -0.6, 0.0), (n_sites, len(MONTHS))), decimals=3, lo=0, shock_sd=0.04)
    o.panels.append(inc)
    base_w = _window(mstarts, "2024-11-01", "2025-10-31")
    fu_w = _window(mstarts, "2025-12-01", "2026-10-31")
    rea, ass, beh = _levels(r, "safety-compliance", enr, _L123(quality=3.7, anonymous=True, pre=62, gain=20, followup_test=True, respond=0.6,
                            pre_launch_obs=True, behaviors=(("Wears full PPE on the floor", 0.7, 0.9), ("Reports near misses", 0.25, 0.55)),
                            comments=("Videos were outdated", "Finally clear rules on forklifts", "Too long for a refresher")), _d("2025-11-01"), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("safety-compliance", [
        ("design_development", 28000, "Site safety modules and toolbox talks", 1),
        ("acquisition", 22000, "E-learning content licence", 1),
        ("delivery", 36000, "Site safety officers' sessions", 1),
        ("materials", 14000, "Signage and pocket cards", 1),
        ("evaluation", 8000, "Incident data review", 1),
        ("overhead", 50000, "EHS department overhead (share)", 0.3),
    ]))
    before_after = float(inc.y1[:, fu_w].mean() - inc.y1[:, base_w].mean())
    o.truth["safety-compliance"] = _truth(
        "org_unit", "incident_rate", "trend", inc.att(site_t, fu_w), inc.mean0(site_t, base_w), n_sites, {},
        "All sites participate. Incident rates were already falling (-0.05 per month throughout); the program adds a level drop "
        "of -0.6 from December 2025. A naive before/after comparison credits the pre-existing trend as well.",
        pre_trend_per_period=-0.05, naive_before_after=round(before_after, 4),
    )
    o.yaml["safety-compliance"] = _program_yaml({
        "header": ["Safety Compliance Refresher at all twelve distribution sites (October-November 2025).",
                   "Every site took part, so there is no comparison group: the pre-launch trend is the counterfactual."],
        "id": "safety-compliance", "name": "Safety Compliance Refresher", "owner": "Environment, Health & Safety",
        "business_goal": "Reduce recordable incidents at distribution sites", "launch": "2025-11-01",
        "business_metric": ("incident_rate", "decrease", "incidents per 100 workers per month", 2.0),
        "evaluation_comment": ["Segmented regression (interrupted time series) on the monthly incident rate."],
        "evaluation": {"entity": "org_unit", "outcome": "incident_rate", "baseline": {"start": "2024-11-01", "end": "2025-10-31"},
                       "followup": {"start": "2025-12-01", "end": "2026-10-31"}, "design": "trend", "also": ["before_after"],
                       "treated_share": 0.8},
        "monetization": {"comment": "Average direct + indirect cost of one incident per 100 workers at a site, per month.",
                         "value_per_unit": 8000, "value_range": [5000, 12000], "periods_per_year": 12, "horizon_years": 1},
        "intangibles": ["safety culture", "regulatory standing"],
    })


def _time_management(r: np.random.Generator, o: _Out, P: _People, org: _Org, mstarts: np.ndarray) -> None:
    """6. Time Management e-learning for office staff: no effect, weaker performers self-select.

    Same parameters as :func:`_sales_enablement`.
    """
    office_staff, pid = org.office_staff, P.pid
    n_tm = int(round(0.3 * len(office_staff)))
    otd_level = np.clip(0.82 + 0.06 * r.standard_normal(len(office_staff)), 0.5, 0.97)
    key = -0.2 * (otd_level - 0.82) / 0.06 + r.gumbel(size=len(office_staff))
    tm_pos = np.sort(np.argsort(-key)[:n_tm])
    enr = _simple_enroll(r, "time-management", office_staff[tm_pos], enroll_from="2026-01-05", enroll_days=25, duration=(2, 30),
                         hours=3, p_drop=0.08, p_progress=0.03, complete_by="2026-02-27")
    o.enroll.append(enr)
    tm_treated = np.zeros(len(office_staff), dtype=bool)
    tm_treated[tm_pos[enr["status"].to_numpy() != "dropped"]] = True
    base_w = _window(mstarts, "2025-07-01", "2025-12-31")
    fu_w = _window(mstarts, "2026-03-01", "2026-08-31")
    otd = _panel(r, "on_time_delivery_rate", pid[office_staff], mstarts, level=0, sd_between=0, sd_noise=0.04, decimals=4, lo=0, hi=1,
                 unit_levels=otd_level, effect=np.zeros((len(office_staff), len(MONTHS))))
    o.panels.append(otd)
    rea, ass, beh = _levels(r, "time-management", enr, _L123(quality=3.4, pre=58, gain=12, respond=0.55,
                            behaviors=(("Plans the week on Monday", 0.4, 0.5),),
                            comments=("Common sense, nothing new", "Videos could be shorter", "Nice tips on email batching")), _d("2026-01-05"), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("time-management", [
        ("acquisition", 38000, "E-learning licences (150 seats)", 1),
        ("design_development", 8500, "Localisation and Acme examples", 1),
        ("delivery", 4000, "LMS administration", 1),
        ("evaluation", 3500, "Survey and KPI analysis", 1),
        ("overhead", 24000, "L&D team overhead (share)", 0.25),
    ]))
    o.truth["time-management"] = _truth(
        "person", "on_time_delivery_rate", "did", otd.att(tm_treated, fu_w), otd.mean0(tm_treated, base_w), tm_treated.sum(), {},
        "No effect: participants were slightly weaker performers to start with, but their on-time rate did not change. "
        "Benefits ~0 => ROI negative or indeterminate.")
    o.yaml["time-management"] = _program_yaml({
        "header": ["Self-paced e-learning course on time management for office staff."],
        "id": "time-management", "name": "Time Management Essentials (e-learning)", "owner": "Learning & Development",
        "business_goal": "More work delivered on time", "launch": "2026-01-05",
        "business_metric": ("on_time_delivery_rate", "increase", "share", 0.9),
        "evaluation_comment": ["Comparison: office staff in the same roles who did not take the course."],
        "evaluation": {"entity": "person", "outcome": "on_time_delivery_rate", "baseline": {"start": "2025-07-01", "end": "2025-12-31"},
                       "followup": {"start": "2026-03-01", "end": "2026-08-31"}, "design": "did",
                       "comparison": {"role": ["Coordinator", "Specialist", "Administrator"]}, "covariates": ["tenure_years"]},
        "monetization": {"comment": "Value of +1.0 on-time share per person and month (late-work rework avoided).",
                         "value_per_unit": 2000, "value_range": [1000, 3000], "periods_per_year": 12, "horizon_years": 1},
        "intangibles": ["less stress"],
    })


def _ai_assistant_pilot(r: np.random.Generator, o: _Out, P: _People, org: _Org, mstarts: np.ndarray) -> None:
    """7. AI Assistant Pilot with six analysts: a real effect on too few people.

    Same parameters as :func:`_sales_enablement`.
    """
    analysts, pid = org.analysts, P.pid
    n_an = len(analysts)
    an_level = 42 + 7 * r.standard_normal(n_an)
    ai_pos = np.sort(r.choice(n_an, 6, replace=False))
    enr = _simple_enroll(r, "ai-assistant-pilot", analysts[ai_pos], enroll_from="2026-05-04", enroll_days=3, duration=(5, 12), hours=8,
                         p_drop=0.0, p_progress=0.0)
    o.enroll.append(enr)
    ai_t = np.zeros(n_an, dtype=bool)
    ai_t[ai_pos] = True
    base_w = _window(mstarts, "2025-11-01", "2026-04-30")
    fu_w = _window(mstarts, "2026-06-01", "2026-09-30")
    eff_on = mstarts >= _d("2026-06-01")
    tick = _panel(r, "tickets_resolved", pid[analysts], mstarts, level=0, sd_between=0, sd_noise=4, decimals=0, lo=0, unit_levels=an_level,
                  effect=np.where(ai_t[:, None] & eff_on[None, :], 3.0, 0.0))
    o.panels.append(tick)
    rea, ass, beh = _levels(r, "ai-assistant-pilot", enr, _L123(quality=4.5, pre=40, gain=35, respond=1.0,
                            behaviors=(("Uses the assistant for first drafts", 0.0, 0.8),), comments=("Game changer", "Needs better data access")),
                            _d("2026-05-04"), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("ai-assistant-pilot", [
        ("acquisition", 7200, "AI assistant licences, 6 seats x 12 months", 1),
        ("delivery", 3000, "Prompting workshop", 1),
        ("evaluation", 2500, "Pilot evaluation", 1),
    ]))
    o.truth["ai-assistant-pilot"] = _truth(
        "person", "tickets_resolved", "did", tick.att(ai_t, fu_w), tick.mean0(ai_t, base_w), 6, {},
        "Only 6 participants: a real +3 tickets/month effect, but the evaluation must grade the evidence as insufficient.")
    o.yaml["ai-assistant-pilot"] = _program_yaml({
        "header": ["Pilot of an AI writing/analysis assistant with six analysts."],
        "id": "ai-assistant-pilot", "name": "AI Assistant Pilot", "owner": "Analytics",
        "business_goal": "Resolve more analysis tickets per analyst", "launch": "2026-05-04",
        "business_metric": ("tickets_resolved", "increase", "tickets per month", None),
        "evaluation_comment": ["Comparison: the other analysts."],
        "evaluation": {"entity": "person", "outcome": "tickets_resolved", "baseline": {"start": "2025-11-01", "end": "2026-04-30"},
                       "followup": {"start": "2026-06-01", "end": "2026-09-30"}, "design": "did", "comparison": {"role": ["Analyst"]}},
        "monetization": {"comment": "Internal charge-back value of one analysis ticket.",
                         "value_per_unit": 120, "value_range": [80, 160], "periods_per_year": 12, "horizon_years": 1},
        "intangibles": ["analyst satisfaction"],
    })


def _benchmarks(seed: int, o: _Out, P: _People, org: _Org, mstarts: np.ndarray, extra_programs: int) -> None:
    """Add ``extra_programs`` cloned person-level DiD programs (``bench-001``, ...) for batch benchmarks.

    Parameters
    ----------
    seed : int
        Master seed; clone ``j`` draws from the stream ``extra-j``.
    o, P, org, mstarts
        As for :func:`_sales_enablement`.
    extra_programs : int
        Number of clones.
    """
    # Clones need a usable comparison group inside one department.
    depts = sorted(d for d, mem in org.dept_members.items() if len(mem) >= 12) or sorted(org.dept_members)
    for j in range(1, extra_programs + 1):
        dept = depts[(j - 1) % len(depts)]
        _benchmark(_rng(seed, f"extra-{j}"), o, P, j, dept, org.dept_members[dept], mstarts)


def _benchmark(r: np.random.Generator, o: _Out, P: _People, j: int, dept: str, mem: np.ndarray, mstarts: np.ndarray) -> None:
    """Clone ``j``: 35% of department ``dept`` (members ``mem``) take a course; the other members are the comparison."""
    prog = f"bench-{j:03d}"
    metric = f"quality_score_{j:03d}"
    launch_m = _m("2025-06") + np.timedelta64(int(r.integers(0, 10)), "M")
    n_p = max(3, int(round(0.35 * len(mem))))
    pos = np.sort(r.choice(len(mem), n_p, replace=False))
    enr = _simple_enroll(r, prog, mem[pos], enroll_from=str(_mstart(launch_m)), enroll_days=10, duration=(3, 15), hours=4,
                         p_drop=0.05, p_progress=0.0)
    o.enroll.append(enr)
    tr = np.zeros(len(mem), dtype=bool)
    tr[pos[enr["status"].to_numpy() != "dropped"]] = True
    b0, b1 = _mstart(launch_m - np.timedelta64(6, "M")), _mstart(launch_m) - np.timedelta64(1, "D")
    f0, f1 = _mstart(launch_m + np.timedelta64(2, "M")), _mstart(launch_m + np.timedelta64(8, "M")) - np.timedelta64(1, "D")
    eff = float(np.round(r.normal(4, 3), 1))
    eff_on = mstarts >= f0
    pan = _panel(r, metric, P.pid[mem], mstarts, level=100, sd_between=8, sd_noise=4, decimals=1, lo=0,
                 effect=np.where(tr[:, None] & eff_on[None, :], eff, 0.0))
    o.panels.append(pan)
    bw, fw = (mstarts >= b0) & (mstarts <= b1), (mstarts >= f0) & (mstarts <= f1)
    rea, ass, beh = _levels(r, prog, enr, _L123(quality=float(r.uniform(3.3, 4.5)), behaviors=(("Applies the checklist", 0.3, 0.6),)),
                            _mstart(launch_m), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame(prog, [("design_development", float(r.integers(5, 20) * 1000), "Course design", 1),
                                      ("delivery", float(r.integers(3, 12) * 1000), "Delivery", 1)]))
    o.truth[prog] = _truth("person", metric, "did", pan.att(tr, fw), pan.mean0(tr, bw), tr.sum(), {},
                           f"Benchmark clone in {dept}; comparison = other members of {dept}.")
    o.yaml[prog] = _program_yaml({
        "header": [f"Benchmark clone #{j} (generated for batch runs)."],
        "id": prog, "name": f"Quality Clinic {j:03d}", "owner": "Learning & Development",
        "business_goal": "Raise work quality scores", "launch": str(_mstart(launch_m)),
        "business_metric": (metric, "increase", "points", None),
        "evaluation": {"entity": "person", "outcome": metric, "baseline": {"start": str(b0), "end": str(b1)},
                       "followup": {"start": str(f0), "end": str(f1)}, "design": "did", "comparison": {"org_unit": [dept]}},
        "monetization": {"comment": "Value of one quality point per person and month.", "value_per_unit": 50,
                         "value_range": [30, 70], "periods_per_year": 12, "horizon_years": 1},
    })


def _catalog(r: np.random.Generator, o: _Out, P: _People) -> None:
    """Generic volume: self-service catalog e-learning for everyone (tracked, not evaluated)."""
    hire_all = P.cols["hire"]
    n = P.n
    n_cat = len(CATALOG)
    # Bigger organisations use the catalog a little more (7 courses per person at 2000 people, ~11 at 100k).
    k = np.minimum(r.poisson(7 + 2.5 * max(0.0, math.log10(n / DEFAULT_PEOPLE)), n), n_cat)
    keys = r.random((n, n_cat))
    ranks = np.argsort(keys, axis=1)  # random course order per person
    take = np.arange(n_cat)[None, :] < k[:, None]
    person = np.repeat(np.arange(n), n_cat).reshape(n, n_cat)[take]
    course = ranks[take]
    m = len(person)
    start = np.maximum(hire_all[person], _d("2024-11-01"))
    span = (SNAPSHOT - start).astype(np.int64)
    enrolled = start + (r.random(m) * np.maximum(span, 1)).astype(np.int64).astype("timedelta64[D]")
    completed = enrolled + r.integers(0, 21, m).astype("timedelta64[D]")
    u = r.random(m)
    st = np.where(u < 0.05, "dropped", np.where(u < 0.09, "in_progress", np.where(u < 0.12, "enrolled", "completed"))).astype(object)
    st = np.where((st == "completed") & (completed > SNAPSHOT), "in_progress", st)
    h_nom = np.array([c[2] for c in CATALOG])[course]
    hrs = np.where(st == "completed", h_nom * np.exp(r.normal(0, 0.2, m)), np.where(st == "enrolled", 0.0, h_nom * r.uniform(0.1, 0.7, m)))
    o.enroll.append(pd.DataFrame({"idx": person, "program_id": np.array([c[0] for c in CATALOG], dtype=object)[course],
                                  "enrolled": enrolled, "completed": np.where(st == "completed", completed, np.datetime64("NaT")),
                                  "status": st, "hours": np.round(hrs, 1)}))
    for cid, cname, _h in CATALOG:
        o.yaml[cid] = _catalog_yaml(cid, cname)


def _productivity(r: np.random.Generator, o: _Out, P: _People, mstarts: np.ndarray) -> None:
    """Generic volume: a monthly productivity_index for everyone, from the month of hire."""
    prod = _panel(r, "productivity_index", P.pid, mstarts, level=100, sd_between=10, sd_noise=4, season=1.5, trend=0.05, decimals=0, lo=0)
    prod.present = (mstarts[None, :] >= _mstart(P.cols["hire"].astype("datetime64[M]"))[:, None])
    o.panels.append(prod)


#: Units per labour hour of a production line: the plant pilot's outcome.
PILOT_METRIC = "units_per_labor_hour"
#: The pilot's effect (units per labour hour) once the cell runs, from March 2026; half of it in the February ramp-up.
PILOT_EFFECT = 3.0


def _plant_pilot(rng: np.random.Generator, o: _Out, people: _People, line_names: np.ndarray,
                 line_members: dict[str, np.ndarray], mstarts: np.ndarray) -> None:
    """One production line converts to a lean cell in January 2026; every other line is a donor.

    The panel has a factor structure (lines of the same plant share a monthly
    plant shock, all lines a season and a slow trend), so the donors that
    track the pilot line's baseline path are mostly its plant's other lines:
    the setting synthetic control is made for.  The pilot line is drawn among
    the middle half of the baseline levels so that a convex combination of
    donors can reproduce it.
    """
    n_l, n_t = len(line_names), len(mstarts)
    plant = np.array([int(str(line).split("-")[0][2:]) for line in line_names])
    level = 42 + 3.0 * rng.standard_normal(n_l)
    middle = np.argsort(level)[n_l // 4: n_l - n_l // 4]
    pos = int(rng.choice(middle))
    treated = np.arange(n_l) == pos
    t = np.arange(n_t)
    month = np.asarray(mstarts, dtype="datetime64[M]").astype(np.int64) % 12
    common = 1.2 * np.sin(2 * np.pi * (month - 2) / 12) + 0.04 * t
    shocks = np.zeros((plant.max() + 1, n_t))
    innov = 0.5 * rng.standard_normal(shocks.shape)
    for j in range(n_t):  # AR(1): a plant's good and bad months persist for a while
        shocks[:, j] = (0.7 * shocks[:, j - 1] if j else 0.0) + innov[:, j]
    load = 1 + 0.2 * rng.standard_normal(n_l)
    y = level[:, None] + common[None, :] + load[:, None] * shocks[plant] + 0.6 * rng.standard_normal((n_l, n_t))
    ramp = np.where(mstarts >= _d("2026-03-01"), PILOT_EFFECT, np.where(mstarts >= _d("2026-02-01"), PILOT_EFFECT / 2, 0.0))
    fin = lambda a: np.round(np.clip(a, 0, None), 1) + 0.0  # noqa: E731
    pan = _Panel(PILOT_METRIC, np.asarray(line_names, dtype=object), np.asarray(mstarts, dtype="datetime64[D]"),
                 fin(y), fin(y + np.where(treated[:, None], ramp[None, :], 0.0)), decimals=1)
    o.panels.append(pan)
    line = str(line_names[pos])
    enr = _simple_enroll(rng, "plant-pilot", line_members[line], enroll_from="2026-01-05", enroll_days=3, duration=(12, 20), hours=22,
                         p_drop=0.0, p_progress=0.0, complete_by="2026-01-30")
    o.enroll.append(enr)
    rea, ass, beh = _levels(rng, "plant-pilot", enr, _L123(quality=4.2, pre=48, gain=25, respond=1.0,
                            behaviors=(("Runs the daily cell huddle", 0.1, 0.85), ("Follows standard work at the station", 0.4, 0.8)),
                            comments=("The kaizen week changed how we see the line", "Needs more time for the 5S audit",
                                      "Our supervisor finally has time to coach")), _d("2026-01-05"), people)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("plant-pilot", [
        ("needs_assessment", 4500, "Value-stream map of the pilot line", 1),
        ("design_development", 9000, "Lean cell layout and standard work", 1),
        ("delivery", 21000, "Lean coach, six weeks on the floor", 1),
        ("materials", 7500, "Visual boards, kanban cards and cell re-layout", 1),
        ("evaluation", 5000, "Synthetic control evaluation", 1),
        ("overhead", 30000, "Manufacturing excellence office (share)", 0.1),
    ]))
    base_w = _window(mstarts, "2024-11-01", "2025-12-31")
    fu_w = _window(mstarts, "2026-03-01", "2026-10-31")
    o.truth["plant-pilot"] = _truth(
        "org_unit", PILOT_METRIC, "synthetic_control", pan.att(treated, fu_w), pan.mean0(treated, base_w), 1, {},
        f"A lean cell pilot on one line ({line}); the other {n_l - 1} lines are the donors. Lines of a plant share a monthly "
        "plant shock, so the synthetic line leans on its plant's other lines. Effect +1.5 in the February ramp-up (between "
        "the windows) and +3.0 from March 2026. One participating unit: the grade is at most moderate.",
        treated_unit=line, n_donors=int(n_l - 1))
    o.yaml["plant-pilot"] = _program_yaml({
        "header": [f"Lean cell pilot on one production line ({line}): kaizen week, lean coach on the floor, daily huddles.",
                   "Only one line took part, so the comparison is a synthetic line built from the other lines."],
        "id": "plant-pilot", "name": "Lean Cell Pilot (one production line)", "owner": "Manufacturing Excellence",
        "business_goal": "Raise the output of a production line per labour hour", "launch": "2026-01-05",
        "business_metric": (PILOT_METRIC, "increase", "units per labour hour", 46),
        "evaluation_comment": ["Synthetic control: weighted donor lines that track the pilot line's baseline path.",
                               "January and February 2026 (conversion and ramp-up) are left out of both windows."],
        "evaluation": {"entity": "org_unit", "outcome": PILOT_METRIC, "baseline": {"start": "2024-11-01", "end": "2025-12-31"},
                       "followup": {"start": "2026-03-01", "end": "2026-10-31"}, "design": "synthetic_control",
                       "also": ["sdid", "did"], "treated_share": 0.5},
        "monetization": {"comment": "Contribution margin of one more unit per labour hour on one line for a month (about 1,200 labour hours).",
                         "value_per_unit": 1900, "value_range": [1400, 2400], "periods_per_year": 12, "horizon_years": 1},
        "intangibles": ["operator engagement", "floor space freed"],
    })


# ----------------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------------


def generate(out: str | Path, people: int = DEFAULT_PEOPLE, seed: int = DEFAULT_SEED, extra_programs: int = 0) -> dict[str, Any]:
    """Write the Acme workspace to ``out`` and return the truth dictionary.

    Parameters
    ----------
    out : path
        Target folder (created; generated files in it are overwritten).
    people : int
        Number of people in people.csv (at least ``MIN_PEOPLE``).  The
        evaluated programs keep their documented sizes from 2000 people up;
        below that they shrink proportionally; the remainder are generic staff.
    seed : int
        Master seed.
    extra_programs : int
        Additional evaluated person-level DiD programs for batch benchmarks.

    Returns
    -------
    dict
        The content written to ``truth.json``.
    """
    if people < MIN_PEOPLE:
        raise ValueError(f"--people must be at least {MIN_PEOPLE}, got {people}")
    if extra_programs < 0:
        raise ValueError("--extra-programs must be >= 0")
    s = min(1.0, people / DEFAULT_PEOPLE)
    P = _People(_rng(seed, "people"))
    org = _organisation(P, seed, s, people)
    people_df, pid = P.frame()
    o = _Out()
    mstarts = _mstart(MONTHS)
    _sales_enablement(_rng(seed, "sales-enablement"), o, P, org, mstarts)
    _new_hire_onboarding(_rng(seed, "new-hire-onboarding"), o, P, org, mstarts)
    _inventory_planning(_rng(seed, "inventory-planning"), o, P, org, mstarts)
    _leadership_development(_rng(seed, "leadership-development"), o, P, org, mstarts)
    _safety_compliance(_rng(seed, "safety-compliance"), o, P, org, mstarts)
    _time_management(_rng(seed, "time-management"), o, P, org, mstarts)
    _ai_assistant_pilot(_rng(seed, "ai-assistant-pilot"), o, P, org, mstarts)
    _benchmarks(seed, o, P, org, mstarts, extra_programs)
    _catalog(_rng(seed, "catalog"), o, P)
    _productivity(_rng(seed, "productivity"), o, P, mstarts)
    o.scorecards = _scorecards(_rng(seed, "scorecards"), pid, P.cols["role"], P.cols["hire"])
    o.requests = _requests(_rng(seed, "requests"), sorted(k for k in o.truth if not k.startswith("bench-")), [c[0] for c in CATALOG])
    # Added after the request log on purpose: the log draws its program ids from the programs known at that point,
    # and the pilot must leave every earlier table byte-identical.
    _plant_pilot(_rng(seed, "plant-pilot"), o, P, org.line_names, org.line_members, mstarts)
    # The retention program, too, comes after the request log, which stays as it was.
    people_df = _onboarding_retention(_rng(seed, "onboarding-retention"), o, P, people_df, pid, org.ops_people)
    return _write(Path(out), seed, people_df, pid, o)


#: Onboarding-retention plan: 90-day retention without / with the mentoring, and the later monthly hazard (both groups).
RETENTION_HORIZON = 90
RETENTION_90 = (0.72, 0.88)
LATE_HAZARD_PER_YEAR = 0.15


def _days_to_leave(u: np.ndarray, retained_90: float) -> np.ndarray:
    """Whole days from hire to the last day of employment (>= 1) under a piecewise-exponential hazard, by inversion of ``u``."""
    early = -math.log(retained_90) / RETENTION_HORIZON
    late = LATE_HAZARD_PER_YEAR / 365.25
    H = -np.log(u)
    t = np.where(H <= early * RETENTION_HORIZON, H / np.where(early > 0, early, np.inf), RETENTION_HORIZON + (H - early * RETENTION_HORIZON) / late)
    return np.floor(t).astype(np.int64) + 1


def _onboarding_retention(r: np.random.Generator, o: _Out, P: _People, people_df: pd.DataFrame, pid: np.ndarray,
                          ops_people: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """First-90-days mentoring for new operations associates, evaluated on retention (design survival).

    Every new associate hired from 2025-01 is offered a mentor at hire with
    probability 1/2 (a coin flip per hire, so there is no selection). The days
    to leaving are drawn once per person (``u``) and turned into potential
    outcomes with and without the mentoring, so ``true_effect`` is the
    participants' sample ATT on 90-day retention, ``mean[T(1) > 90] −
    mean[T(0) > 90]``. Terminations after the snapshot stay unrecorded
    (censored). Returns ``people_df`` with ``termination_date`` and
    ``termination_reason`` (blank for everyone else).
    """
    idx = np.concatenate([v["new"] for v in ops_people.values()])
    hire = np.concatenate([v["hire"] for v in ops_people.values()]).astype("datetime64[D]")
    order = np.argsort(idx)
    idx, hire = idx[order], hire[order]
    treated = r.random(len(idx)) < 0.5
    u = r.random(len(idx))
    t0, t1 = _days_to_leave(u, RETENTION_90[0]), _days_to_leave(u, RETENTION_90[1])
    t_obs = np.where(treated, t1, t0)
    term = hire + t_obs.astype("timedelta64[D]")
    known = term <= SNAPSHOT
    reason = np.where(r.random(len(idx)) < 0.8, "voluntary", "involuntary").astype(object)
    n_t = int(treated.sum())
    comp = hire[treated] + r.integers(1, 4, n_t).astype("timedelta64[D]")
    enr = _enroll_frame("onboarding-retention", idx[treated], hire[treated], comp, np.full(n_t, "completed", dtype=object),
                        np.round(12 + r.normal(0, 1, n_t), 1))
    o.enroll.append(enr)
    rea, ass, beh = _levels(r, "onboarding-retention", enr, _L123(quality=4.2, pre=50, gain=15, respond=0.7,
                            behaviors=(("Asks the mentor before escalating", 0.2, 0.6),),
                            comments=("My mentor made the first weeks easier", "Meetings were hard to schedule on shifts")), _d("2025-01-01"), P)
    o.reactions.append(rea); o.assessments.append(ass); o.behaviors.append(beh)  # noqa: E702
    o.costs.append(_cost_frame("onboarding-retention", [
        ("design_development", 18000, "Mentoring guide and matching process", 1),
        ("delivery", 52000, "Mentors' time, 6 meetings per new hire", 1),
        ("materials", 3000, "Welcome packs", 1),
        ("evaluation", 6000, "HRIS extract and retention analysis", 1),
    ]))
    h = RETENTION_HORIZON
    o.truth["onboarding-retention"] = _truth(
        "person", "retention", "survival", float(np.mean(t1[treated] > h) - np.mean(t0[treated] > h)), float(np.mean(t0[treated] > h)), n_t, {},
        "A coin flip at hire decides who gets a mentor (no selection). 90-day retention would be 72% without and 88% with the mentoring "
        "(constant hazards within 90 days, so the true hazard ratio there is ln 0.88 / ln 0.72); after 90 days both groups leave at "
        "15% a year. true_effect is the participants' sample ATT on retention at 90 days (potential outcomes from one draw per person).",
        horizon_days=h, true_hazard_ratio=round(math.log(RETENTION_90[1]) / math.log(RETENTION_90[0]), 6),
        population_effect=round(RETENTION_90[1] - RETENTION_90[0], 6), terminations_recorded=int(known.sum()),
    )
    o.yaml["onboarding-retention"] = _program_yaml({
        "header": ["First-90-days mentoring for new operations associates (a mentor from the team for the first three months).",
                   "Offered at hire by a coin flip since January 2025; evaluated on retention from the HRIS termination dates."],
        "id": "onboarding-retention", "name": "First 90 Days Mentoring", "owner": "Operations HR",
        "business_goal": "Keep more new hires past their first 90 days", "launch": "2025-01-01",
        "business_metric": ("retention", "increase", "share", 0.85),
        "evaluation_comment": ["Time to leaving from the hire date; people still employed are censored at the data's as-of date.",
                               "Comparison: new operations associates hired in the same period without a mentor."],
        "evaluation": {"entity": "person", "outcome": "retention", "design": "survival", "comparison": {"role": ["Operations Associate"]},
                       "horizon_days": h, "origin": "hire_date", "as_of": str(SNAPSHOT)},
        "monetization": {"comment": "Replacement cost of one operations associate (recruiting, training, lost output).",
                         "value_per_unit": 12000, "value_range": [8000, 16000]},
        "intangibles": ["team stability"],
    })
    by_pid = pd.DataFrame({"person_id": pid[idx], "termination_date": np.where(known, _dates_str(term), ""),
                           "termination_reason": np.where(known, reason, "")}).set_index("person_id")
    out = people_df.copy()
    out["termination_date"] = by_pid["termination_date"].reindex(out["person_id"]).fillna("").to_numpy()
    out["termination_reason"] = by_pid["termination_reason"].reindex(out["person_id"]).fillna("").to_numpy()
    return out


def _write(out: Path, seed: int, people_df: pd.DataFrame, pid: np.ndarray, o: _Out) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "programs").mkdir(exist_ok=True)
    for f in (out / "programs").glob("*.yml"):
        f.unlink()

    def csv(name: str, df: pd.DataFrame, sort: list[str]) -> None:
        df = df.sort_values(sort, kind="stable").reset_index(drop=True)
        df.to_csv(out / f"{name}.csv", index=False, lineterminator="\n", na_rep="")

    csv("people", people_df, ["person_id"])

    enr = pd.concat(o.enroll, ignore_index=True)
    enr = pd.DataFrame({"person_id": pid[enr["idx"].to_numpy()], "program_id": enr["program_id"].to_numpy(),
                        "enrolled_on": _dates_str(enr["enrolled"].to_numpy()), "completed_on": _dates_str(enr["completed"].to_numpy()),
                        "status": enr["status"].to_numpy(), "hours": enr["hours"].to_numpy()})
    csv("enrollments", enr, ["person_id", "program_id"])

    rea = pd.concat(o.reactions, ignore_index=True)
    rea["score"] = rea["score"].astype(np.int64)
    csv("reactions", rea, ["program_id", "responded_on", "person_id", "item"])
    ass = pd.concat(o.assessments, ignore_index=True)
    ass["score"] = ass["score"].astype(np.int64)
    csv("assessments", ass, ["program_id", "person_id", "taken_on", "phase"])
    csv("behaviors", pd.concat(o.behaviors, ignore_index=True), ["program_id", "person_id", "behavior", "observer", "observed_on"])
    kpis = pd.concat([p.frame().astype({"value": str}) for p in o.panels], ignore_index=True)
    csv("kpis", kpis, ["metric", "entity_id", "period"])
    csv("costs", pd.concat(o.costs, ignore_index=True), ["program_id", "category", "description"])
    est = pd.concat(o.estimates, ignore_index=True)
    est = pd.DataFrame({"person_id": pid[est["idx"].to_numpy()], **{c: est[c] for c in ("program_id", "metric", "improvement", "attribution", "confidence")}})
    csv("estimates", est, ["program_id", "person_id"])
    if o.scorecards is not None:
        csv("scorecards", o.scorecards, ["period", "scorecard", "group", "respondent_id", "category"])
    if o.requests is not None:
        csv("requests", o.requests, ["request_id"])

    for prog, text in sorted(o.yaml.items()):
        (out / "programs" / f"{prog}.yml").write_text(text, encoding="utf-8")

    truth = {
        "seed": seed,
        "kpi_periods": [str(_mstart(MONTHS[0])), str(_mstart(MONTHS[-1]))],
        "n_people": int(len(people_df)),
        "definition": "true_effect = mean over participating entities and followup-window periods of Y(1) - Y(0) "
        "(additive ATT in outcome units per entity per period; for estimates: per participant per period). "
        "true_effect_pct = 100 * true_effect / participants' baseline-window mean.",
        "programs": o.truth,
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None, default_out: str | Path = "acme") -> int:
    """Command-line entry point.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).
    default_out : path
        Target folder when ``--out`` is not given.

    Returns
    -------
    int
        The exit status (0; bad arguments exit through argparse with 2).
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(default_out))
    ap.add_argument("--people", type=int, default=DEFAULT_PEOPLE)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--extra-programs", type=int, default=0)
    a = ap.parse_args(argv)
    try:
        generate(a.out, people=a.people, seed=a.seed, extra_programs=a.extra_programs)
    except ValueError as exc:
        ap.error(str(exc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
