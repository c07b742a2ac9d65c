"""Learning-culture scorecards: category means, bands, perception gaps, trend and actions.

Two instruments are scored from the optional ``scorecards`` table
(one row per respondent, category and survey period, score 1–5):

* **Employee Learning Experience** (``experience``): access to learning,
  embedded learning, personalized development, psychological safety, learner
  autonomy, collaboration and knowledge sharing, recognition and rewards.
* **Leadership and Organizational Support** (``support``): executive buy-in,
  manager involvement, budget and investment, alignment to business goals,
  time for learning, feedback and continuous improvement, innovation and
  experimentation.

Estimands and conventions
-------------------------
* A *cell* is scorecard × category × group × quarter (``period`` dates are
  grouped by calendar quarter, labelled ``2026Q1``).  Each respondent counts
  once per cell: when a respondent answered a category more than once in a
  quarter, their answers are averaged first.  The cell mean is the mean of
  these respondent scores, with a t-based 95 % CI (:func:`mean_t_ci`).
* Groups are ``employee``, ``leader`` and ``all`` (both together).
* **Bands** for a continuous mean ``m``: ``m < 2.5`` *needs significant
  improvement*, ``2.5 <= m < 3.5`` *some progress*, ``m >= 3.5`` *strong*.
  These are exactly the integer bands of the instrument (1–2, 3, 4–5) applied
  to the mean rounded half-up to the nearest answer point, so a mean is
  banded like the answer it is closest to.
* **Perception gap** = leader mean − employee mean (positive: leaders see the
  category more favourably than employees), with a Welch (unequal-variance)
  95 % CI and two-sided p-value — the interval of
  ``scipy.stats.ttest_ind(leader, employee, equal_var=False)``.
* **Instrument index** = mean over respondents of each respondent's mean over
  the instrument's categories they answered that quarter (so respondents, not
  answers, are the unit of the CI).
* **Privacy**: a cell with fewer than ``min_group_size`` respondents is
  suppressed (statistics NaN, ``suppressed`` True; ``n`` is kept).  The
  ``all`` cell is also suppressed when one of its groups is suppressed with at
  least one respondent, because ``all`` minus the shown group would reveal
  the hidden one (complementary suppression).  A gap is suppressed when
  either side is.  ``respondent_id`` is used only to count people; it never
  appears in any output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from lopsnb._result import ResultMixin, jsonable
from lopsnb.errors import EvaluationError, Problem, ValidationError
from lopsnb.evaluation.levels import mean_t_ci
from lopsnb.io.schemas import SCORECARD_CATEGORIES, SCORECARD_GROUPS

__all__ = [
    "Band",
    "BAND_EDGES",
    "BANDS",
    "CATEGORY_LABELS",
    "SCORECARD_LABELS",
    "ACTION_HINTS",
    "ScorecardResult",
    "band",
    "welch_gap",
    "scorecard_summary",
]

Band = Literal["needs significant improvement", "some progress", "strong"]
BANDS: tuple[str, ...] = get_args(Band)
#: Lower edges of "some progress" and "strong" (see the module docstring for why).
BAND_EDGES: tuple[float, float] = (2.5, 3.5)
CONFIDENCE = 0.95
GROUPS: tuple[str, ...] = (*SCORECARD_GROUPS, "all")

SCORECARD_LABELS: dict[str, str] = {
    "experience": "Employee Learning Experience",
    "support": "Leadership and Organizational Support",
}
CATEGORY_LABELS: dict[str, str] = {
    "access_to_learning": "Access to learning",
    "embedded_learning": "Embedded learning",
    "personalized_development": "Personalized development",
    "psychological_safety": "Psychological safety",
    "learner_autonomy": "Learner autonomy",
    "collaboration_knowledge_sharing": "Collaboration and knowledge sharing",
    "recognition_rewards": "Recognition and rewards",
    "executive_buy_in": "Executive buy-in",
    "manager_involvement": "Manager involvement",
    "budget_investment": "Budget and investment",
    "business_alignment": "Alignment to business goals",
    "time_for_learning": "Time for learning",
    "feedback_improvement": "Feedback and continuous improvement",
    "innovation_experimentation": "Innovation and experimentation",
}
#: A first move for each category, for the action list (a prompt for discussion, not a prescription).
ACTION_HINTS: dict[str, str] = {
    "access_to_learning": "Make the catalog easy to find and reach from the tools people already use.",
    "embedded_learning": "Build short learning moments into everyday workflows and team routines.",
    "personalized_development": "Give every employee a development plan tied to role and career goals.",
    "psychological_safety": "Train managers to invite questions and treat mistakes as learning.",
    "learner_autonomy": "Let people choose what, when and how they learn within clear goals.",
    "collaboration_knowledge_sharing": "Set up communities of practice and peer-teaching slots.",
    "recognition_rewards": "Recognise learning and skill growth in reviews, promotions and team meetings.",
    "executive_buy_in": "Have executives sponsor and visibly take part in key programs.",
    "manager_involvement": "Give managers a before/after conversation guide for every program.",
    "budget_investment": "Tie the learning budget to business priorities and report its returns.",
    "business_alignment": "Start every request from a business goal and a metric it should move.",
    "time_for_learning": "Protect learning time in calendars and workload planning.",
    "feedback_improvement": "Close the loop: act on learner and manager feedback and say what changed.",
    "innovation_experimentation": "Pilot new formats on a small scale and evaluate them before scaling.",
}

_CELL_COLS = ["scorecard", "category", "label", "group", "period", "n", "mean", "sd", "ci_low", "ci_high", "band", "suppressed"]
_GAP_COLS = ["scorecard", "category", "label", "period", "n_employee", "n_leader", "employee_mean", "leader_mean",
             "gap", "ci_low", "ci_high", "df", "p_value", "suppressed"]
_INDEX_COLS = ["scorecard", "group", "period", "n", "mean", "sd", "ci_low", "ci_high", "band", "suppressed"]
_ACTION_COLS = ["rank", "scorecard", "category", "label", "group", "mean", "band", "change", "gap", "suggestion"]


def band(mean: float) -> Band | None:
    """Band of a mean score on the 1–5 scale.

    Parameters
    ----------
    mean : float
        A category (or index) mean.

    Returns
    -------
    str or None
        ``"needs significant improvement"`` when ``mean < 2.5``, ``"some
        progress"`` when ``2.5 <= mean < 3.5``, ``"strong"`` when
        ``mean >= 3.5``; None for NaN (e.g. a suppressed cell).
    """
    if mean is None or not math.isfinite(float(mean)):
        return None
    if mean < BAND_EDGES[0]:
        return "needs significant improvement"
    if mean < BAND_EDGES[1]:
        return "some progress"
    return "strong"


def welch_gap(first: Any, second: Any) -> tuple[float, float, float, float, float]:
    """Difference of means ``mean(first) − mean(second)`` with a Welch 95 % CI.

    Parameters
    ----------
    first, second : array-like
        The two independent samples (NaN dropped).

    Returns
    -------
    (diff, low, high, df, p_value) : tuple of float
        ``diff ± t_{0.975, df} · √(s₁²/n₁ + s₂²/n₂)`` with Welch–Satterthwaite
        ``df``; the p-value is two-sided.  All but ``diff`` are NaN when a
        sample has fewer than 2 values or both variances are 0; ``diff`` is NaN
        when a sample is empty.
    """
    a = pd.to_numeric(pd.Series(first, dtype="float64"), errors="coerce").dropna().to_numpy()
    b = pd.to_numeric(pd.Series(second, dtype="float64"), errors="coerce").dropna().to_numpy()
    if a.size == 0 or b.size == 0:
        return (math.nan,) * 5
    diff = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return (diff, math.nan, math.nan, math.nan, math.nan)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se2 = va + vb
    if se2 <= 0:
        return (diff, math.nan, math.nan, math.nan, math.nan)
    df = float(se2**2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)))
    se = math.sqrt(se2)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return (diff, diff - half, diff + half, df, p)


@dataclass(kw_only=True, eq=False)
class ScorecardResult(ResultMixin):
    """Learning-culture scorecards for one quarter, with gaps, trend and actions.

    Attributes
    ----------
    measured : bool
        False when the scorecards table is empty (every frame is then empty).
    period : str or None
        The headline quarter (``"2026Q3"``).
    periods : list of str
        Every quarter in the data, oldest first.
    categories : DataFrame
        Headline-quarter cells, one row per scorecard × category × group
        (``employee``, ``leader``, ``all``): ``scorecard``, ``category``,
        ``label``, ``group``, ``period``, ``n`` (respondents), ``mean``,
        ``sd``, ``ci_low``, ``ci_high``, ``band``, ``suppressed``.
    gaps : DataFrame
        Headline-quarter perception gaps, one row per category: ``n_employee``,
        ``n_leader``, ``employee_mean``, ``leader_mean``, ``gap`` (leader −
        employee), Welch ``ci_low``/``ci_high``/``df``/``p_value``,
        ``suppressed``.
    trend : DataFrame
        The cells of every quarter (same columns as ``categories``).
    gap_trend : DataFrame
        The gaps of every quarter (same columns as ``gaps``).
    index : DataFrame
        Instrument index per scorecard × group × quarter: ``n``, ``mean``,
        ``sd``, ``ci_low``, ``ci_high``, ``band``, ``suppressed``.
    actions : DataFrame
        The ``n_actions`` lowest-scoring categories of the headline quarter
        (group ``all``; ``employee`` where ``all`` is suppressed): ``rank``,
        ``scorecard``, ``category``, ``label``, ``group``, ``mean``, ``band``,
        ``change`` (vs the previous quarter, same group), ``gap``,
        ``suggestion``.
    min_group_size : int
        Suppression threshold used.
    """

    measured: bool
    period: str | None = None
    periods: list[str] = field(default_factory=list)
    categories: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_CELL_COLS))
    gaps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_GAP_COLS))
    trend: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_CELL_COLS))
    gap_trend: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_GAP_COLS))
    index: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_INDEX_COLS))
    actions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_ACTION_COLS))
    min_group_size: int = 5

    # Read by the report stage's figures (lopsnb.report.figures), which must
    # not import this module.
    band_edges: ClassVar[tuple[float, float]] = BAND_EDGES
    scorecard_labels: ClassVar[dict[str, str]] = SCORECARD_LABELS
    category_labels: ClassVar[dict[str, str]] = CATEGORY_LABELS

    @property
    def title(self) -> str:  # type: ignore[override]
        return "Learning culture scorecards" + (f" ({self.period})" if self.period else "")

    def to_frame(self) -> pd.DataFrame:
        """Headline-quarter cells (see ``categories``)."""
        return self.categories.copy()

    def headline(self) -> dict[str, Any]:
        """Scalar headline numbers of the page (JSON-safe)."""
        out: dict[str, Any] = {"measured": self.measured, "period": self.period, "periods": list(self.periods),
                               "min_group_size": self.min_group_size}
        if not self.measured:
            return out
        idx = self.index[self.index["period"] == self.period]
        out["index"] = {
            sc: {g: {"n": int(r["n"]), "mean": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "band": r["band"],
                     "suppressed": bool(r["suppressed"])} for g, r in part.set_index("group").iterrows()}
            for sc, part in idx.groupby("scorecard", sort=False)
        }
        shown = self.categories[(self.categories["group"] == "all") & ~self.categories["suppressed"]]
        out["band_counts"] = {b: int((shown["band"] == b).sum()) for b in BANDS}
        g = self.gaps[~self.gaps["suppressed"]]
        if len(g):
            top = g.loc[g["gap"].abs().idxmax()]
            out["largest_gap"] = {"category": top["category"], "label": top["label"], "gap": top["gap"],
                                  "ci_low": top["ci_low"], "ci_high": top["ci_high"]}
        else:
            out["largest_gap"] = None
        out["suppressed_cells"] = int(self.categories["suppressed"].sum())
        out["suppressed_gaps"] = int(self.gaps["suppressed"].sum())
        out["actions"] = self.actions[["rank", "category", "label", "mean", "band"]]
        return jsonable(out)

    def to_dict(self) -> dict[str, Any]:
        """Headline numbers plus the tidy rows, gaps and actions, JSON-safe."""
        out = self.headline()
        out.update({"title": self.title, "rows": self.categories, "gaps": self.gaps, "trend_index": self.index})
        return jsonable(out)

    def plot(self, ax: Any = None, *, scorecard: str = "experience") -> Any:
        """Category means of one instrument by group with 95 % CIs and band shading."""
        from lopsnb.report.figures import draw_scorecard_result

        if scorecard not in SCORECARD_CATEGORIES:
            raise EvaluationError(f"scorecard must be one of {', '.join(SCORECARD_CATEGORIES)}; got {scorecard!r}")
        return draw_scorecard_result(self, ax, scorecard=scorecard)

    def plot_gaps(self, ax: Any = None) -> Any:
        """Leader − employee gap per category with Welch 95 % CIs (suppressed gaps listed, not drawn)."""
        from lopsnb.report.figures import draw_scorecard_result_gaps

        return draw_scorecard_result_gaps(self, ax)

    def plot_trend(self, ax: Any = None) -> Any:
        """Instrument index per quarter for employees and leaders (suppressed quarters left out)."""
        from lopsnb.report.figures import draw_scorecard_result_trend

        return draw_scorecard_result_trend(self, ax)


def _check_pairs(frame: pd.DataFrame, file: str) -> None:
    """Every category must belong to its row's scorecard."""
    allowed = {(sc, c) for sc, cats in SCORECARD_CATEGORIES.items() for c in cats}
    pairs = list(zip(frame["scorecard"], frame["category"], strict=True))
    bad = np.array([p not in allowed for p in pairs], dtype=bool)
    if bad.any():
        rows = frame["_row"] if "_row" in frame.columns else pd.Series(frame.index + 2, index=frame.index)
        problems = [
            Problem(file, int(r), "category", repr(c), f"a category of scorecard {sc!r}: {', '.join(SCORECARD_CATEGORIES.get(sc, ()))}")
            for r, sc, c in zip(rows[bad], frame.loc[bad, "scorecard"], frame.loc[bad, "category"], strict=True)
        ]
        raise ValidationError(problems, summary=f"{len(problems)} scorecard row(s) with a category of the other scorecard")


def _stat_row(values: pd.Series, mgs: int) -> dict[str, Any]:
    n, mean, sd, lo, hi = mean_t_ci(values)
    if n < mgs:
        return {"n": n, "mean": math.nan, "sd": math.nan, "ci_low": math.nan, "ci_high": math.nan, "band": None, "suppressed": True}
    return {"n": n, "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi, "band": band(mean), "suppressed": False}


def _complementary(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Suppress ``all`` where a group cell with 1..mgs-1 respondents is hidden."""
    sub = frame[(frame["group"] != "all") & frame["suppressed"] & (frame["n"] > 0)]
    if sub.empty:
        return frame
    hide = set(map(tuple, sub[keys].to_numpy().tolist()))
    mask = (frame["group"] == "all") & np.array([tuple(k) in hide for k in frame[keys].to_numpy().tolist()], dtype=bool)
    frame = frame.copy()
    frame.loc[mask, ["mean", "sd", "ci_low", "ci_high"]] = math.nan
    frame.loc[mask, "band"] = None
    frame.loc[mask, "suppressed"] = True
    frame["band"] = frame["band"].astype(object).where(frame["band"].notna(), None)
    return frame


def scorecard_summary(
    scorecards: pd.DataFrame,
    *,
    min_group_size: int = 5,
    period: str | None = None,
    n_actions: int = 5,
    file: str = "scorecards",
) -> ScorecardResult:
    """Score the learning-culture scorecards.

    Parameters
    ----------
    scorecards : DataFrame
        The canonical ``scorecards`` table (``Workspace.table("scorecards")``):
        ``respondent_id``, ``group``, ``scorecard``, ``category``, ``score``
        (1–5), ``period`` (datetime).
    min_group_size : int
        Cells with fewer respondents are suppressed (see the module docstring).
    period : str, optional
        Headline quarter as ``"2026Q1"``; default the latest quarter in the data.
    n_actions : int
        Length of the action list (lowest-scoring categories).
    file : str
        Source label used in validation problems.

    Returns
    -------
    ScorecardResult
        ``measured`` False (and empty frames) when the table is empty.

    Raises
    ------
    ValidationError
        When a row's category belongs to the other scorecard.
    EvaluationError
        On a bad ``min_group_size``, ``n_actions`` or ``period``.
    """
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, (int, np.integer)) or min_group_size < 1:
        raise EvaluationError(f"min_group_size must be a positive integer; got {min_group_size!r}")
    if isinstance(n_actions, bool) or not isinstance(n_actions, (int, np.integer)) or n_actions < 0:
        raise EvaluationError(f"n_actions must be a non-negative integer; got {n_actions!r}")
    if scorecards is None or len(scorecards) == 0:
        return ScorecardResult(measured=False, min_group_size=int(min_group_size))
    _check_pairs(scorecards, file)
    df = pd.DataFrame({
        "respondent_id": scorecards["respondent_id"].astype("str"),
        "group": scorecards["group"].astype("str"),
        "scorecard": scorecards["scorecard"].astype("str"),
        "category": scorecards["category"].astype("str"),
        "score": pd.to_numeric(scorecards["score"], errors="coerce").astype("float64"),
        "period": pd.to_datetime(scorecards["period"]).dt.to_period("Q").astype("str"),
    }).dropna(subset=["score"])
    if df.empty:
        return ScorecardResult(measured=False, min_group_size=int(min_group_size))
    periods = sorted(df["period"].unique().tolist())
    if period is None:
        period = periods[-1]
    elif period not in periods:
        raise EvaluationError(f"period {period!r} has no scorecard answers; quarters in the data: {', '.join(periods)}")
    mgs = int(min_group_size)

    # One score per respondent and cell (averaging repeated answers within a quarter).
    per_resp = df.groupby(["scorecard", "category", "period", "group", "respondent_id"], sort=False)["score"].mean().reset_index()
    both = per_resp.groupby(["scorecard", "category", "period", "respondent_id"], sort=False)["score"].mean().reset_index()
    both["group"] = "all"

    cat_order = {c: i for cats in SCORECARD_CATEGORIES.values() for i, c in enumerate(cats)}
    rows: list[dict[str, Any]] = []
    for src in (per_resp, both):
        for (sc, cat, per, grp), part in src.groupby(["scorecard", "category", "period", "group"], sort=False):
            rows.append({"scorecard": sc, "category": cat, "label": CATEGORY_LABELS[cat], "group": grp, "period": per,
                         **_stat_row(part["score"], mgs)})
    trend = pd.DataFrame(rows, columns=_CELL_COLS)
    trend = _fill_missing_groups(trend)
    trend = _complementary(trend, ["scorecard", "category", "period"])
    trend = _sort(trend, cat_order)

    gap_rows: list[dict[str, Any]] = []
    for (sc, cat, per), part in per_resp.groupby(["scorecard", "category", "period"], sort=False):
        emp = part.loc[part["group"] == "employee", "score"]
        lead = part.loc[part["group"] == "leader", "score"]
        hidden = len(emp) < mgs or len(lead) < mgs
        diff, lo, hi, dof, p = welch_gap(lead, emp) if not hidden else (math.nan,) * 5
        gap_rows.append({
            "scorecard": sc, "category": cat, "label": CATEGORY_LABELS[cat], "period": per, "n_employee": len(emp), "n_leader": len(lead),
            "employee_mean": emp.mean() if not hidden else math.nan, "leader_mean": lead.mean() if not hidden else math.nan,
            "gap": diff, "ci_low": lo, "ci_high": hi, "df": dof, "p_value": p, "suppressed": hidden,
        })
    gap_trend = _sort(pd.DataFrame(gap_rows, columns=_GAP_COLS), cat_order)

    # Instrument index: each respondent's mean over the instrument's categories, then across respondents.
    resp_index = per_resp.groupby(["scorecard", "period", "group", "respondent_id"], sort=False)["score"].mean().reset_index()
    resp_all = per_resp.groupby(["scorecard", "period", "respondent_id"], sort=False)["score"].mean().reset_index().assign(group="all")
    idx_rows = [
        {"scorecard": sc, "group": grp, "period": per, **_stat_row(part["score"], mgs)}
        for src in (resp_index, resp_all)
        for (sc, per, grp), part in src.groupby(["scorecard", "period", "group"], sort=False)
    ]
    index = pd.DataFrame(idx_rows, columns=_INDEX_COLS)
    index = _complementary(index, ["scorecard", "period"])
    index = index.assign(_g=index["group"].map({g: i for i, g in enumerate(GROUPS)}),
                         _s=index["scorecard"].map({s: i for i, s in enumerate(SCORECARD_CATEGORIES)}))
    index = index.sort_values(["_s", "period", "_g"]).drop(columns=["_g", "_s"]).reset_index(drop=True)

    categories = trend[trend["period"] == period].reset_index(drop=True)
    gaps = gap_trend[gap_trend["period"] == period].reset_index(drop=True)
    prev = periods[periods.index(period) - 1] if periods.index(period) > 0 else None
    actions = _actions(categories, gaps, trend, prev, n_actions)
    return ScorecardResult(measured=True, period=period, periods=periods, categories=categories, gaps=gaps, trend=trend, gap_trend=gap_trend, index=index, actions=actions, min_group_size=mgs)


def _fill_missing_groups(trend: pd.DataFrame) -> pd.DataFrame:
    """Add n = 0 (suppressed) rows for groups with no respondents, so every cell is listed."""
    keys = trend[["scorecard", "category", "label", "period"]].drop_duplicates()
    full = keys.merge(pd.DataFrame({"group": list(GROUPS)}), how="cross")
    out = full.merge(trend, on=["scorecard", "category", "label", "period", "group"], how="left")
    missing = out["n"].isna()
    out.loc[missing, "n"] = 0
    out.loc[missing, "suppressed"] = True
    out["n"] = out["n"].astype("int64")
    out["suppressed"] = out["suppressed"].astype(bool)
    out["band"] = out["band"].astype(object).where(out["band"].notna(), None)
    return out[_CELL_COLS]


def _sort(frame: pd.DataFrame, cat_order: dict[str, int]) -> pd.DataFrame:
    keys = {
        "_s": frame["scorecard"].map({s: i for i, s in enumerate(SCORECARD_CATEGORIES)}),
        "_c": frame["category"].map(cat_order),
    }
    if "group" in frame.columns:
        keys["_g"] = frame["group"].map({g: i for i, g in enumerate(GROUPS)})
        cols = ["_s", "period", "_c", "_g"]
    else:
        cols = ["_s", "period", "_c"]
    return frame.assign(**keys).sort_values(cols).drop(columns=list(keys)).reset_index(drop=True)


def _actions(categories: pd.DataFrame, gaps: pd.DataFrame, trend: pd.DataFrame, prev: str | None, n_actions: int) -> pd.DataFrame:
    """Lowest categories of the headline quarter (group all; employee where all is hidden)."""
    rows: list[dict[str, Any]] = []
    for (sc, cat), part in categories.groupby(["scorecard", "category"], sort=False):
        part = part.set_index("group")
        grp = next((g for g in ("all", "employee", "leader") if g in part.index and not part.at[g, "suppressed"]), None)
        if grp is None:
            continue
        change = math.nan
        if prev is not None:
            before = trend[(trend["scorecard"] == sc) & (trend["category"] == cat) & (trend["period"] == prev) & (trend["group"] == grp)]
            if len(before) and not bool(before["suppressed"].iloc[0]):
                change = float(part.at[grp, "mean"] - before["mean"].iloc[0])
        gap = gaps.loc[(gaps["scorecard"] == sc) & (gaps["category"] == cat), "gap"]
        rows.append({"scorecard": sc, "category": cat, "label": CATEGORY_LABELS[cat], "group": grp, "mean": float(part.at[grp, "mean"]),
                     "band": part.at[grp, "band"], "change": change, "gap": float(gap.iloc[0]) if len(gap) else math.nan,
                     "suggestion": ACTION_HINTS.get(cat, "")})
    out = pd.DataFrame(rows, columns=[c for c in _ACTION_COLS if c != "rank"])
    out = out.sort_values(["mean", "scorecard", "category"], kind="stable").head(n_actions).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
