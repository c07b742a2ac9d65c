"""Kirkpatrick Level 0–3 statistics: inputs, reaction, learning, behaviour.

All functions are pure: they take canonical, already-validated frames that
hold ONE program's rows (dates are ``datetime64``, missing values NaN/NaT) and
return a result object (a dataclass deriving :class:`lopsnb._result.ResultMixin`).
An empty input never raises: the result has ``measured = False`` and its
summary says "not measured".

Conventions shared by every function
------------------------------------
* Confidence level is 95 % throughout.
* "t CI of a mean" is ``mean ± t_{0.975, n-1} · sd / √n`` with ``sd`` the
  sample standard deviation (ddof = 1); it is NaN when ``n < 2``.
* Proportions get a Wilson score interval (Wilson 1927), the interval
  statsmodels computes with ``proportion_confint(method="wilson")``.
* Privacy: a group with fewer than ``min_group_size`` people is *suppressed*.
  Reaction items hide their statistics (NaN); learning and behaviour results
  keep the numbers but carry a ``suppressed`` flag that reports must honour.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Literal, get_args

import numpy as np
import pandas as pd
from scipy import optimize, stats

from lopsnb._result import ResultMixin, jsonable
from lopsnb.errors import EvaluationError
from lopsnb.io.rules import is_dropped, is_not_participating
from lopsnb.evaluation.redaction import REDACTED as _REDACTED
from lopsnb.evaluation.redaction import PeopleTerms, people_terms, redact_people

__all__ = [
    "InputsResult",
    "ReactionResult",
    "LearningResult",
    "BehaviorResult",
    "inputs_summary",
    "reaction_summary",
    "learning_summary",
    "behavior_summary",
    "wilson_ci",
    "mean_t_ci",
    "nps_ci",
    "cohen_dz_ci",
    "redact",
]

#: Two-sided confidence level used by every interval in this module.
CONFIDENCE = 0.95
_Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))

ReactionGroup = Literal["relevance", "engagement", "satisfaction"]
_GROUP_ORDER: tuple[str, ...] = get_args(ReactionGroup)

_NOT_MEASURED = "not measured"


# --------------------------------------------------------------------------
# small statistical helpers (public so that reports can reuse them)
# --------------------------------------------------------------------------
def wilson_ci(successes: float, n: float) -> tuple[float, float]:
    """Wilson score 95 % interval for a binomial proportion.

    Parameters
    ----------
    successes : float
        Number of successes ``x``.
    n : float
        Number of trials.

    Returns
    -------
    (low, high) : tuple of float
        ``(x + z²/2)/(n + z²) ± z/(n + z²)·√(x(n−x)/n + z²/4)``; ``(nan, nan)``
        when ``n == 0``.
    """
    if n <= 0 or not math.isfinite(n):
        return (math.nan, math.nan)
    z2 = _Z * _Z
    centre = (successes + z2 / 2) / (n + z2)
    half = _Z / (n + z2) * math.sqrt(max(successes * (n - successes) / n + z2 / 4, 0.0))
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_t_ci(values: Any) -> tuple[int, float, float, float, float]:
    """Mean with its t-based 95 % confidence interval.

    Parameters
    ----------
    values : array-like
        Observations; NaN values are dropped.

    Returns
    -------
    (n, mean, sd, low, high) : tuple
        ``sd`` is the sample SD (ddof = 1); ``sd``, ``low`` and ``high`` are NaN
        when fewer than two observations remain.
    """
    x = np.asarray(pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna(), dtype=float)
    n = int(x.size)
    if n == 0:
        return (0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return (n, mean, math.nan, math.nan, math.nan)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n)
    return (n, mean, sd, mean - half, mean + half)


def nps_ci(promoters: int, detractors: int, n: int) -> tuple[float, float, float]:
    """Net Promoter Score with a Wald (normal-approximation) 95 % interval.

    NPS = 100·(p₊ − p₋) with p₊ the share of 9–10 scores and p₋ the share of
    0–6 scores.  Promoter/passive/detractor counts are one multinomial sample,
    so Var(p̂₊ − p̂₋) = (p₊ + p₋ − (p₊ − p₋)²)/n (the multinomial variance of a
    difference of two cell shares; the "Wald" interval of Rocks, B. (2016).
    Interval estimation for the "Net Promoter Score". *The American
    Statistician* 70(4), 365–372).  The interval is clipped to [−100, 100].

    Returns
    -------
    (nps, low, high) : tuple of float
        In NPS points (−100 … 100); NaN when ``n == 0``.
    """
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    p_plus, p_minus = promoters / n, detractors / n
    diff = p_plus - p_minus
    var = max(p_plus + p_minus - diff * diff, 0.0) / n
    half = _Z * math.sqrt(var)
    return (100 * diff, max(-100.0, 100 * (diff - half)), min(100.0, 100 * (diff + half)))


def cohen_dz_ci(d_z: float, n: int) -> tuple[float, float]:
    """95 % CI of Cohen's d_z by inverting the noncentral t distribution.

    With ``t = d_z·√n`` and ``df = n − 1``, the limits are the noncentrality
    parameters λ_L, λ_U solving ``F_nct(t; df, λ_L) = 0.975`` and
    ``F_nct(t; df, λ_U) = 0.025`` (scipy.stats.nct), divided by √n — the
    "pivotal" method of Steiger, J. H. & Fouladi, R. T. (1997), Noncentrality
    interval estimation and the evaluation of statistical models, in *What if
    there were no significance tests?*, and Cumming, G. & Finch, S. (2001),
    *Educational and Psychological Measurement* 61(4), 532–574.

    Returns
    -------
    (low, high) : tuple of float
        NaN when ``n < 2`` or ``d_z`` is not finite.
    """
    if n < 2 or not math.isfinite(d_z):
        return (math.nan, math.nan)
    df = n - 1
    t_obs = d_z * math.sqrt(n)

    def limit(target: float) -> float:
        def f(ncp: float) -> float:
            return float(stats.nct.cdf(t_obs, df, ncp)) - target

        # F_nct(t; df, λ) decreases in λ, so widen a bracket around t until it changes sign.
        step = max(1.0, abs(t_obs))
        lo, hi = t_obs - step, t_obs + step
        for _ in range(60):
            if f(lo) > 0 > f(hi):
                break
            lo, hi = lo - step, hi + step
            step *= 2
        else:  # pragma: no cover - numerically extreme input
            return math.nan
        return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=500))

    alpha = 1 - CONFIDENCE
    return (limit(1 - alpha / 2) / math.sqrt(n), limit(alpha / 2) / math.sqrt(n))


# Emails: local@domain.tld.  Phones: an optional "+"/"00" and "(" then digits,
# spaces, dots, dashes and brackets, ending on a digit; accepted when it holds
# 7–15 digits (E.164 allows at most 15) and is not an ISO date.
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().\-/]{5,}\d(?!\w)")
_ISO_DATE_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$")
# One marker for every redaction (people's identifiers included).
REDACTED = _REDACTED


def _phone_sub(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if not 7 <= digits <= 15 or _ISO_DATE_RE.match(text.strip()):
        return text
    return REDACTED


def redact(text: str, *, people: PeopleTerms | None = None) -> str:
    """Replace people's identifiers, e-mail addresses and phone numbers in ``text`` by ``"[redacted]"``.

    The one redaction function: comments in ``results.json``, the report and
    the executed notebook all pass through it.

    Parameters
    ----------
    text : str
        Free text (a reaction comment).
    people : PeopleTerms, optional
        The workspace's people (:func:`~lopsnb.evaluation.redaction.people_terms`):
        their ids, e-mails, full names and name parts are replaced as whole
        words, case-insensitively (rules in :mod:`lopsnb.evaluation.redaction`).

    Notes
    -----
    Phone numbers are runs of 7–15 digits optionally separated by spaces, dots,
    dashes, slashes or brackets, with an optional ``+``/``00`` prefix
    (``+1 (555) 123-4567``, ``555.123.4567``, ``+44 20 7946 0958``,
    ``0049 30 1234567``); ISO dates such as ``2026-03-01`` are kept.
    """
    out = _EMAIL_RE.sub(REDACTED, redact_people(text, people))
    return _PHONE_RE.sub(_phone_sub, out)


# --------------------------------------------------------------------------
# shared bits
# --------------------------------------------------------------------------
def _program_id(frame: pd.DataFrame) -> str | None:
    if "program_id" not in frame.columns:
        return None
    ids = frame["program_id"].dropna().unique()
    return str(ids[0]) if len(ids) == 1 else None


def _check_min_group(min_group_size: int) -> None:
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, (int, np.integer)) or min_group_size < 1:
        raise EvaluationError(f"min_group_size must be a positive integer; got {min_group_size!r}")


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` or an all-NaN float column when the optional column is absent."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(np.nan, index=frame.index, dtype="float64")


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("float64")


class _LevelResult(ResultMixin):
    """Shared summary behaviour: say "not measured" when nothing was measured."""

    measured: bool

    def _headline(self) -> dict[str, Any]:  # pragma: no cover - overridden
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Return headline scalars plus the tidy rows, JSON-safe."""
        out: dict[str, Any] = {"title": self.title, "measured": self.measured}
        out.update(self._headline())
        out["rows"] = self.to_frame()
        return jsonable(out)

    def summary(self) -> str:
        """Return a plain-text summary; "not measured" when there was no data."""
        if not self.measured:
            return f"{self.title}\n{'=' * len(self.title)}\n(no data: {_NOT_MEASURED})"
        head = "\n".join(f"{k}: {_fmt(v)}" for k, v in self._headline().items())
        return f"{super().summary()}\n{head}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    return str(value)


# --------------------------------------------------------------------------
# Level 0 — inputs
# --------------------------------------------------------------------------
@dataclass(kw_only=True, eq=False)
class InputsResult(_LevelResult):
    """Level 0 (inputs / reach) of one program.

    Counts are of enrollment rows (one row = one enrollment) except
    ``participants``, which counts distinct ``person_id`` with a non-dropped
    enrollment.

    Attributes
    ----------
    enrolled : int
        All enrollment rows, ``active + dropped``.
    active, dropped : int
        Rows whose status is not / is ``dropped`` (missing status = not dropped).
    participants : int
        Distinct people with a non-dropped enrollment.
    completions : int
        Rows with status ``completed`` or a ``completed_on`` date.
    completion_rate, completion_ci_low, completion_ci_high : float
        ``completions / enrolled`` (dropped included in the denominator), Wilson 95 % CI.
    learning_hours : float
        Σ ``hours`` over all rows (NaN when no row reports hours).
    hours_per_participant : float
        ``learning_hours / participants``.
    cost_per_participant : float or None
        ``total_cost / participants``; None when the cost is unknown or there are no participants.
    org_units_reached : int or None
        Distinct ``org_unit`` of participants (from ``people``), None when unknown.

    ``to_frame()`` columns: ``metric``, ``value``, ``ci_low``, ``ci_high``, ``note``.
    """

    measured: bool
    program_id: str | None = None
    enrolled: int = 0
    active: int = 0
    dropped: int = 0
    participants: int = 0
    completions: int = 0
    completion_rate: float = math.nan
    completion_ci_low: float = math.nan
    completion_ci_high: float = math.nan
    learning_hours: float = math.nan
    hours_per_participant: float = math.nan
    total_cost: float | None = None
    cost_per_participant: float | None = None
    org_units_reached: int | None = None

    @property
    def title(self) -> str:  # type: ignore[override]
        return "Level 0 — inputs" + (f" ({self.program_id})" if self.program_id else "")

    def to_frame(self) -> pd.DataFrame:
        """Tidy per-metric frame (empty when not measured)."""
        cols = ["metric", "value", "ci_low", "ci_high", "note"]
        if not self.measured:
            return pd.DataFrame(columns=cols)
        nan = math.nan
        rows = [
            ("enrolled", self.enrolled, nan, nan, "enrollment rows incl. dropped"),
            ("active", self.active, nan, nan, "not dropped"),
            ("dropped", self.dropped, nan, nan, ""),
            ("participants", self.participants, nan, nan, "distinct people not dropped"),
            ("completions", self.completions, nan, nan, "status completed or completed_on set"),
            ("completion_rate", self.completion_rate, self.completion_ci_low, self.completion_ci_high,
             "completions / enrolled; Wilson 95% CI"),
            ("learning_hours", self.learning_hours, nan, nan, "sum of hours"),
            ("hours_per_participant", self.hours_per_participant, nan, nan, "learning_hours / participants"),
            ("cost_per_participant", nan if self.cost_per_participant is None else self.cost_per_participant,
             nan, nan, "unknown" if self.cost_per_participant is None else "total_cost / participants"),
        ]
        if self.org_units_reached is not None:
            rows.append(("org_units_reached", self.org_units_reached, nan, nan, "distinct org_unit of participants"))
        frame = pd.DataFrame(rows, columns=cols)
        frame["value"] = frame["value"].astype("float64")
        return frame

    def _headline(self) -> dict[str, Any]:
        return {
            "program_id": self.program_id,
            "enrolled": self.enrolled,
            "participants": self.participants,
            "completions": self.completions,
            "completion_rate": self.completion_rate,
            "learning_hours": self.learning_hours,
            "cost_per_participant": self.cost_per_participant,
        }

    def plot(self, ax: Any = None) -> Any:
        """Funnel: enrolled → active (not dropped) → completed; returns the Axes."""
        from lopsnb.report.figures import draw_inputs_result

        return draw_inputs_result(self, ax)


def inputs_summary(
    enrollments: pd.DataFrame, *, people: pd.DataFrame, total_cost: float | None
) -> InputsResult:
    """Level 0 statistics of one program's enrollments.

    Parameters
    ----------
    enrollments : DataFrame
        Canonical enrollments of ONE program.
    people : DataFrame
        Canonical people table; used for the number of org units reached.
    total_cost : float or None
        Fully loaded programme cost; None when unknown.

    Returns
    -------
    InputsResult
        See the class for the estimands; ``measured`` is False for an empty frame.
    """
    if total_cost is not None and (not isinstance(total_cost, (int, float, np.number)) or total_cost < 0):
        raise EvaluationError(f"total_cost must be a non-negative number or None; got {total_cost!r}")
    if enrollments is None or len(enrollments) == 0:
        return InputsResult(measured=False, total_cost=total_cost)
    status = _col(enrollments, "status").astype("object").str.strip().str.lower()
    dropped_rows = is_dropped(enrollments)
    completed_on = _col(enrollments, "completed_on")
    is_completed = ((status == "completed").fillna(False) | completed_on.notna()).astype(bool)
    enrolled = int(len(enrollments))
    dropped = int(dropped_rows.sum())
    active_people = enrollments.loc[~is_not_participating(enrollments), "person_id"].dropna().astype(str)
    participants = int(active_people.nunique())
    completions = int(is_completed.sum())
    rate = completions / enrolled
    lo, hi = wilson_ci(completions, enrolled)
    hours = _numeric(_col(enrollments, "hours"))
    learning_hours = float(hours.sum()) if hours.notna().any() else math.nan
    per_participant = learning_hours / participants if participants else math.nan
    cost_pp = float(total_cost) / participants if total_cost is not None and participants else None
    org_units: int | None = None
    if people is not None and {"person_id", "org_unit"} <= set(people.columns):
        units = people.loc[people["person_id"].astype(str).isin(set(active_people)), "org_unit"].dropna()
        org_units = int(units.nunique())
    return InputsResult(
        measured=True,
        program_id=_program_id(enrollments),
        enrolled=enrolled,
        active=enrolled - dropped,
        dropped=dropped,
        participants=participants,
        completions=completions,
        completion_rate=rate,
        completion_ci_low=lo,
        completion_ci_high=hi,
        learning_hours=learning_hours,
        hours_per_participant=per_participant,
        total_cost=None if total_cost is None else float(total_cost),
        cost_per_participant=cost_pp,
        org_units_reached=org_units,
    )


# --------------------------------------------------------------------------
# Level 1 — reaction
# --------------------------------------------------------------------------
_ITEM_COLS = [
    "item", "group", "scale_max", "n", "mean", "sd", "ci_low", "ci_high", "top2_share",
    "nps", "nps_ci_low", "nps_ci_high", "suppressed",
]


@dataclass(kw_only=True, eq=False)
class ReactionResult(_LevelResult):
    """Level 1 (reaction) of one program.

    ``to_frame()`` has one row per item with columns

    * ``item``; ``group`` — ``relevance`` | ``engagement`` | ``satisfaction``
      (New World Kirkpatrick groups; items not listed are ``satisfaction``);
    * ``scale_max`` — the item's scale maximum (5 when not given);
    * ``n`` — non-missing scores; ``mean``, ``sd`` (ddof = 1), ``ci_low``,
      ``ci_high`` — t-based 95 % CI of the mean;
    * ``top2_share`` — share of scores ≥ ``scale_max − 1`` (for 0–10 items the
      promoters, 9–10);
    * ``nps``, ``nps_ci_low``, ``nps_ci_high`` — for 0–10 items only
      (``scale_max == 10``): %promoters(9–10) − %detractors(0–6) with a Wald CI
      (see :func:`nps_ci`); NaN for other items;
    * ``suppressed`` — ``n < min_group_size``; then every statistic but ``n`` is NaN.

    Attributes
    ----------
    response_rate : float
        Respondents / ``completers``.  Respondents = distinct identified
        ``person_id``; rows without a ``person_id`` (anonymous) add the largest
        per-item count of anonymous scores.  NaN when ``completers`` is 0.
    comments : list of str or None
        None unless ``include_comments``; otherwise the non-blank comments with
        e-mails, phone numbers and the ids, names and e-mails of ``people``
        redacted (:func:`redact`), sorted alphabetically so that row
        order cannot link them back to a respondent, and without person ids.
        Empty when there are fewer than ``min_group_size`` respondents
        (``comments_suppressed`` True).
    """

    measured: bool
    program_id: str | None = None
    items: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_ITEM_COLS))
    completers: int = 0
    respondents: int = 0
    response_rate: float = math.nan
    min_group_size: int = 5
    group_order: ClassVar[tuple[str, ...]] = _GROUP_ORDER  # read by lopsnb.report.figures
    comments: list[str] | None = None
    comments_suppressed: bool = False
    #: The people whose identifiers were redacted from ``comments`` (reused by
    #: the report, which redacts again); not part of ``to_dict``.
    redaction: PeopleTerms | None = field(default=None, repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        return "Level 1 — reaction" + (f" ({self.program_id})" if self.program_id else "")

    def to_frame(self) -> pd.DataFrame:
        """Tidy per-item frame (see the class docstring)."""
        return self.items.copy()

    def _headline(self) -> dict[str, Any]:
        nps_rows = self.items[self.items["nps"].notna()] if len(self.items) else self.items
        return {
            "program_id": self.program_id,
            "completers": self.completers,
            "respondents": self.respondents,
            "response_rate": self.response_rate,
            "nps": float(nps_rows["nps"].iloc[0]) if len(nps_rows) == 1 else math.nan,
            "suppressed_items": int(self.items["suppressed"].sum()) if len(self.items) else 0,
            "comments": self.comments,
        }

    def plot(self, ax: Any = None) -> Any:
        """Item means with 95 % CI bars, grouped by item group; suppressed items omitted and noted."""
        from lopsnb.report.figures import draw_reaction_result

        return draw_reaction_result(self, ax)


def reaction_summary(
    reactions: pd.DataFrame,
    *,
    completers: int,
    relevance_items: Sequence[str] = (),
    engagement_items: Sequence[str] = (),
    min_group_size: int = 5,
    include_comments: bool = False,
    people: pd.DataFrame | None = None,
) -> ReactionResult:
    """Level 1 statistics of one program's reaction survey.

    Parameters
    ----------
    reactions : DataFrame
        Canonical reactions of ONE program (``item``, ``score``, optional
        ``scale_max``, ``person_id``, ``comment``).
    completers : int
        Number of people who completed the program (response-rate denominator).
    relevance_items, engagement_items : sequence of str
        Items forming the New World Kirkpatrick relevance / engagement groups.
    min_group_size : int
        Items with fewer scores are suppressed.
    include_comments : bool
        Return redacted comments (default: comments are excluded).
    people : DataFrame, optional
        The workspace's ``people`` table: with ``include_comments``, every
        ``person_id``, name and e-mail of it found in a comment is redacted
        too (see :mod:`lopsnb.evaluation.redaction`).

    Returns
    -------
    ReactionResult

    Raises
    ------
    EvaluationError
        Bad arguments, an item in both groups, or an item with two scale maxima.
    """
    _check_min_group(min_group_size)
    if isinstance(completers, bool) or not isinstance(completers, (int, np.integer)) or completers < 0:
        raise EvaluationError(f"completers must be a non-negative integer; got {completers!r}")
    if isinstance(relevance_items, str) or isinstance(engagement_items, str):
        raise EvaluationError("relevance_items / engagement_items must be sequences of item names, not a string")
    overlap = set(relevance_items) & set(engagement_items)
    if overlap:
        raise EvaluationError(f"items listed as both relevance and engagement: {sorted(overlap)}")
    if reactions is None or len(reactions) == 0:
        return ReactionResult(measured=False, completers=int(completers), min_group_size=min_group_size,
                              comments=[] if include_comments else None)

    data = pd.DataFrame({
        "item": reactions["item"].astype(str),
        "score": _numeric(reactions["score"]),
        "scale_max": _numeric(_col(reactions, "scale_max")).fillna(5.0),
        "person_id": _col(reactions, "person_id").astype("object"),
    })
    rows: list[dict[str, Any]] = []
    for item, part in data.groupby("item", sort=False):
        maxima = part["scale_max"].unique()
        if len(maxima) > 1:
            raise EvaluationError(f"reaction item {item!r} has several scale_max values {sorted(maxima)}; "
                                  "scores on different scales cannot be averaged")
        scale_max = float(maxima[0])
        scores = part["score"].dropna()
        n, mean, sd, lo, hi = mean_t_ci(scores)
        group = "relevance" if item in relevance_items else "engagement" if item in engagement_items else "satisfaction"
        suppressed = n < min_group_size
        top2 = float((scores >= scale_max - 1).mean()) if n else math.nan
        nps = (math.nan, math.nan, math.nan)
        if scale_max == 10 and n:
            nps = nps_ci(int((scores >= 9).sum()), int((scores <= 6).sum()), n)
        if suppressed:
            mean = sd = lo = hi = top2 = math.nan
            nps = (math.nan, math.nan, math.nan)
        rows.append({"item": item, "group": group, "scale_max": scale_max, "n": n, "mean": mean, "sd": sd,
                     "ci_low": lo, "ci_high": hi, "top2_share": top2, "nps": nps[0], "nps_ci_low": nps[1],
                     "nps_ci_high": nps[2], "suppressed": suppressed})
    items = pd.DataFrame(rows, columns=_ITEM_COLS)
    items["_g"] = items["group"].map({g: i for i, g in enumerate(_GROUP_ORDER)})
    items = items.sort_values("_g", kind="stable").drop(columns="_g").reset_index(drop=True)
    items["n"] = items["n"].astype("int64")
    items["suppressed"] = items["suppressed"].astype(bool)

    identified = data["person_id"].notna() & (data["person_id"].astype(str).str.strip() != "")
    respondents = int(data.loc[identified, "person_id"].astype(str).nunique())
    anonymous = data[~identified & data["score"].notna()]
    if len(anonymous):
        # Anonymous rows cannot be linked across items: the best-answered item is the floor.
        respondents += int(anonymous.groupby("item").size().max())
    response_rate = respondents / completers if completers else math.nan

    comments: list[str] | None = None
    comments_suppressed = False
    terms: PeopleTerms | None = None
    if include_comments:
        raw = _col(reactions, "comment").dropna().astype(str).str.strip()
        raw = raw[raw != ""]
        if respondents < min_group_size:
            comments, comments_suppressed = [], len(raw) > 0
        else:
            terms = people_terms(people)
            comments = sorted(redact(c, people=terms) for c in raw)
    return ReactionResult(
        measured=True,
        program_id=_program_id(reactions),
        items=items,
        completers=int(completers),
        respondents=respondents,
        response_rate=response_rate,
        min_group_size=min_group_size,
        comments=comments,
        comments_suppressed=comments_suppressed,
        redaction=terms,
    )


# --------------------------------------------------------------------------
# Level 2 — learning
# --------------------------------------------------------------------------
@dataclass(kw_only=True, eq=False)
class LearningResult(_LevelResult):
    """Level 2 (learning) of one program: pre/post assessment statistics.

    Each person's *last* score per phase is used (latest ``taken_on``; rows
    without a date count as earlier than dated rows; ties keep file order).
    Pairs are people with both a pre and a post score; ``diff = post − pre``.

    Attributes
    ----------
    enough_paired : bool
        False when fewer than 2 pairs: the paired statistics are then NaN.
    suppressed : bool
        ``n_paired < min_group_size``; values are kept, reports must hide them.
    n_paired, n_pre_only, n_post_only, n_followup : int
    mean_pre, mean_post, mean_gain, gain_ci_low, gain_ci_high, sd_diff : float
        Means over paired people; t 95 % CI of the mean gain.
    t_statistic, t_pvalue : float
        Paired t-test (``scipy.stats.ttest_rel(post, pre)``).
    wilcoxon_statistic, wilcoxon_pvalue : float
        ``scipy.stats.wilcoxon(post, pre)`` with scipy's default options.
    cohen_dz, dz_ci_low, dz_ci_high : float
        ``d_z = mean(diff)/sd(diff)`` (ddof = 1); CI by noncentral-t inversion (:func:`cohen_dz_ci`).
    hedges_gz, gz_ci_low, gz_ci_high : float
        Hedges' small-sample-corrected *d_z* (g_z, Lakens 2013, Frontiers in
        Psychology 4:863): ``J·d_z``, ``J = 1 − 3/(4(n−1) − 1)``
        (Borenstein et al. 2009, eq. 4.22 with df = n − 1); CI = J × d_z CI.
    class_gain : float
        Hake's (1998, Am. J. Phys. 66, 64) class normalized gain
        ``<g> = (mean_post − mean_pre)/(max − mean_pre)`` on class means, where
        ``max`` is the mean of the paired people's ``max_score``.
    mean_individual_gain, n_gain_used, n_gain_excluded : float, int, int
        Mean of ``g_i = (post_i − pre_i)/(max_i − pre_i)`` excluding people with
        ``pre_i ≥ max_i`` (counted in ``n_gain_excluded``).  ``max_i`` is the
        post row's ``max_score`` (else the pre row's).  It generally differs from ``class_gain``.
    pass_mark, n_post, n_pass, pass_rate, pass_ci_low, pass_ci_high
        Share of people with a post score ``≥ pass_mark`` (all post takers), Wilson CI.
    n_retention, retention_mean, retention_ci_low, retention_ci_high
        ``followup − post`` for people with both, mean and t CI.

    ``to_frame()`` columns: ``metric``, ``estimate``, ``ci_low``, ``ci_high``,
    ``statistic``, ``p_value``, ``n``, ``suppressed``.
    """

    measured: bool
    program_id: str | None = None
    enough_paired: bool = False
    suppressed: bool = False
    min_group_size: int = 5
    n_paired: int = 0
    n_pre: int = 0
    n_post: int = 0
    n_pre_only: int = 0
    n_post_only: int = 0
    n_followup: int = 0
    mean_pre: float = math.nan
    mean_post: float = math.nan
    mean_gain: float = math.nan
    gain_ci_low: float = math.nan
    gain_ci_high: float = math.nan
    sd_diff: float = math.nan
    t_statistic: float = math.nan
    t_pvalue: float = math.nan
    wilcoxon_statistic: float = math.nan
    wilcoxon_pvalue: float = math.nan
    cohen_dz: float = math.nan
    dz_ci_low: float = math.nan
    dz_ci_high: float = math.nan
    hedges_gz: float = math.nan
    gz_ci_low: float = math.nan
    gz_ci_high: float = math.nan
    class_gain: float = math.nan
    mean_individual_gain: float = math.nan
    n_gain_used: int = 0
    n_gain_excluded: int = 0
    pass_mark: float | None = None
    n_pass: int = 0
    pass_rate: float = math.nan
    pass_ci_low: float = math.nan
    pass_ci_high: float = math.nan
    n_retention: int = 0
    retention_mean: float = math.nan
    retention_ci_low: float = math.nan
    retention_ci_high: float = math.nan
    note: str = ""
    pre_scores: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    post_scores: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        return "Level 2 — learning" + (f" ({self.program_id})" if self.program_id else "")

    def to_frame(self) -> pd.DataFrame:
        """Tidy per-metric frame (empty when not measured)."""
        cols = ["metric", "estimate", "ci_low", "ci_high", "statistic", "p_value", "n", "suppressed"]
        if not self.measured:
            return pd.DataFrame(columns=cols)
        nan, n, s = math.nan, self.n_paired, self.suppressed
        rows = [
            ("mean_pre", self.mean_pre, nan, nan, nan, nan, n, s),
            ("mean_post", self.mean_post, nan, nan, nan, nan, n, s),
            ("mean_gain", self.mean_gain, self.gain_ci_low, self.gain_ci_high, nan, nan, n, s),
            ("paired_t", self.mean_gain, nan, nan, self.t_statistic, self.t_pvalue, n, s),
            ("wilcoxon", nan, nan, nan, self.wilcoxon_statistic, self.wilcoxon_pvalue, n, s),
            ("cohen_dz", self.cohen_dz, self.dz_ci_low, self.dz_ci_high, nan, nan, n, s),
            ("hedges_gz", self.hedges_gz, self.gz_ci_low, self.gz_ci_high, nan, nan, n, s),
            ("class_normalized_gain", self.class_gain, nan, nan, nan, nan, n, s),
            ("mean_individual_gain", self.mean_individual_gain, nan, nan, nan, nan, self.n_gain_used,
             self.n_gain_used < self.min_group_size),
            ("pass_rate", self.pass_rate, self.pass_ci_low, self.pass_ci_high, nan, nan, self.n_post,
             self.n_post < self.min_group_size),
        ]
        if self.n_followup:
            rows.append(("retention_followup_minus_post", self.retention_mean, self.retention_ci_low,
                         self.retention_ci_high, nan, nan, self.n_retention,
                         self.n_retention < self.min_group_size))
        frame = pd.DataFrame(rows, columns=cols)
        frame["n"] = frame["n"].astype("int64")
        frame["suppressed"] = frame["suppressed"].astype(bool)
        return frame

    def _headline(self) -> dict[str, Any]:
        return {
            "program_id": self.program_id,
            "enough_paired": self.enough_paired,
            "suppressed": self.suppressed,
            "n_paired": self.n_paired,
            "n_pre_only": self.n_pre_only,
            "n_post_only": self.n_post_only,
            "mean_gain": self.mean_gain,
            "cohen_dz": self.cohen_dz,
            "class_gain": self.class_gain,
            "pass_rate": self.pass_rate,
            "note": self.note,
        }

    def plot(self, ax: Any = None) -> Any:
        """Pre vs post: one grey line per paired person plus box plots; returns the Axes."""
        from lopsnb.report.figures import draw_learning_result

        return draw_learning_result(self, ax)


def _last_per_phase(assessments: pd.DataFrame) -> pd.DataFrame:
    data = pd.DataFrame({
        "person_id": assessments["person_id"].astype(str),
        "phase": assessments["phase"].astype(str).str.strip().str.lower(),
        "score": _numeric(assessments["score"]),
        "max_score": _numeric(_col(assessments, "max_score")),
        "taken_on": pd.to_datetime(_col(assessments, "taken_on"), errors="coerce"),
        "_row": np.arange(len(assessments)),
    })
    data = data[data["score"].notna()]
    data = data.sort_values(["taken_on", "_row"], na_position="first", kind="stable")
    return data.groupby(["person_id", "phase"], sort=False).tail(1)


def learning_summary(
    assessments: pd.DataFrame, *, pass_mark: float | None = None, min_group_size: int = 5
) -> LearningResult:
    """Level 2 statistics of one program's assessments.

    Parameters
    ----------
    assessments : DataFrame
        Canonical assessments of ONE program (``person_id``, ``phase``,
        ``score``, optional ``max_score``, ``taken_on``).
    pass_mark : float, optional
        Pass threshold in score units.
    min_group_size : int
        Fewer paired people mark the result ``suppressed``.

    Returns
    -------
    LearningResult
        Never raises on too little data: fewer than two pairs gives
        ``enough_paired = False`` and NaN statistics.
    """
    _check_min_group(min_group_size)
    if pass_mark is not None and not (isinstance(pass_mark, (int, float, np.number)) and math.isfinite(pass_mark)):
        raise EvaluationError(f"pass_mark must be a finite number or None; got {pass_mark!r}")
    if assessments is None or len(assessments) == 0:
        return LearningResult(measured=False, pass_mark=pass_mark, min_group_size=min_group_size,
                              note=_NOT_MEASURED)
    last = _last_per_phase(assessments)
    bad = set(last["phase"]) - {"pre", "post", "followup"}
    if bad:
        raise EvaluationError(f"unknown assessment phase(s) {sorted(bad)}; expected pre, post or followup")
    by_phase = {ph: last[last["phase"] == ph].set_index("person_id") for ph in ("pre", "post", "followup")}
    pre, post, fup = by_phase["pre"], by_phase["post"], by_phase["followup"]
    paired_ids = pre.index.intersection(post.index).sort_values()
    n = int(len(paired_ids))
    res = LearningResult(
        measured=True,
        program_id=_program_id(assessments),
        min_group_size=min_group_size,
        n_paired=n,
        n_pre=int(len(pre)),
        n_post=int(len(post)),
        n_pre_only=int(len(pre.index.difference(post.index))),
        n_post_only=int(len(post.index.difference(pre.index))),
        n_followup=int(len(fup)),
        pass_mark=None if pass_mark is None else float(pass_mark),
        suppressed=n < min_group_size,
    )
    x_pre = pre.loc[paired_ids, "score"].to_numpy(dtype=float)
    x_post = post.loc[paired_ids, "score"].to_numpy(dtype=float)
    res.pre_scores, res.post_scores = x_pre, x_post
    res.enough_paired = n >= 2
    if not res.enough_paired:
        res.note = f"not enough paired data: {n} person(s) with both pre and post (need 2)"
    else:
        diff = x_post - x_pre
        res.mean_pre, res.mean_post = float(x_pre.mean()), float(x_post.mean())
        _, res.mean_gain, res.sd_diff, res.gain_ci_low, res.gain_ci_high = mean_t_ci(diff)
        with warnings.catch_warnings():
            # Constant differences make t/Wilcoxon undefined; scipy warns and returns NaN.
            warnings.simplefilter("ignore", RuntimeWarning)
            t = stats.ttest_rel(x_post, x_pre)
            res.t_statistic, res.t_pvalue = float(t.statistic), float(t.pvalue)
            try:
                w = stats.wilcoxon(x_post, x_pre)
                res.wilcoxon_statistic, res.wilcoxon_pvalue = float(w.statistic), float(w.pvalue)
            except ValueError:
                pass
        if res.sd_diff > 0:
            res.cohen_dz = res.mean_gain / res.sd_diff
            res.dz_ci_low, res.dz_ci_high = cohen_dz_ci(res.cohen_dz, n)
            j = 1 - 3 / (4 * (n - 1) - 1)
            res.hedges_gz, res.gz_ci_low, res.gz_ci_high = j * res.cohen_dz, j * res.dz_ci_low, j * res.dz_ci_high
        else:
            res.note = "all paired differences are equal: d_z undefined"
        max_i = post.loc[paired_ids, "max_score"].fillna(pre.loc[paired_ids, "max_score"]).to_numpy(dtype=float)
        if np.isfinite(max_i).all():
            max_class = float(max_i.mean())
            if max_class > res.mean_pre:
                res.class_gain = (res.mean_post - res.mean_pre) / (max_class - res.mean_pre)
            usable = x_pre < max_i
            res.n_gain_used, res.n_gain_excluded = int(usable.sum()), int((~usable).sum())
            if usable.any():
                res.mean_individual_gain = float(np.mean(
                    (x_post[usable] - x_pre[usable]) / (max_i[usable] - x_pre[usable])))
        else:
            res.note = (res.note + "; " if res.note else "") + "max_score missing: normalized gain not computed"
    if pass_mark is not None and len(post):
        post_scores = post["score"].to_numpy(dtype=float)
        res.n_pass = int((post_scores >= pass_mark).sum())
        res.pass_rate = res.n_pass / len(post_scores)
        res.pass_ci_low, res.pass_ci_high = wilson_ci(res.n_pass, len(post_scores))
    ret_ids = post.index.intersection(fup.index)
    if len(ret_ids):
        ret = fup.loc[ret_ids, "score"].to_numpy(dtype=float) - post.loc[ret_ids, "score"].to_numpy(dtype=float)
        res.n_retention, res.retention_mean, _, res.retention_ci_low, res.retention_ci_high = mean_t_ci(ret)
    return res


# --------------------------------------------------------------------------
# Level 3 — behaviour
# --------------------------------------------------------------------------
_RATE_COLS = [
    "behavior", "observer", "scale", "n", "n_obs", "mean", "sd", "ci_low", "ci_high",
    "n_applying", "share_applying", "share_ci_low", "share_ci_high", "suppressed",
]
_CHANGE_COLS = [
    "behavior", "observer", "n_pairs", "mean_before", "mean_after", "mean_diff", "ci_low", "ci_high",
    "t_statistic", "p_value", "suppressed",
]


@dataclass(kw_only=True, eq=False)
class BehaviorResult(_LevelResult):
    """Level 3 (behaviour / application) of one program.

    Observations are first averaged per person within behaviour × observer
    (repeated observations of one person are not independent), so ``n`` counts
    people and ``n_obs`` observations.  When ``launch`` is given, the
    application rate uses observations not known to precede it
    (``observed_on ≥ launch`` or undated).

    ``to_frame()`` (the application rates), one row per behaviour × observer
    (missing observer = ``"unspecified"``):

    * ``scale`` — ``share`` when every value of the behaviour lies in [0, 1]
      (an applied share), else ``rating``;
    * ``mean``, ``sd``, ``ci_low``, ``ci_high`` — mean of person means with a
      t 95 % CI (for shares too: a plain t interval on the 0–1 values, which
      may be crude near 0 or 1);
    * ``n_applying``, ``share_applying``, ``share_ci_low``, ``share_ci_high`` —
      people whose mean share is ≥ 0.5, with a Wilson CI; NaN for ratings;
    * ``suppressed`` — ``n < min_group_size`` (values kept; reports must hide them).

    ``before_after`` (when observations exist both before and on/after
    ``launch``), one row per behaviour × observer for people observed both
    times (observers are kept apart because a change in the observer mix would
    masquerade as change): ``n_pairs``, ``mean_before``, ``mean_after``,
    ``mean_diff`` (after − before) with t 95 % CI, paired t ``t_statistic`` and
    ``p_value`` (``scipy.stats.ttest_rel``), ``suppressed``.
    """

    measured: bool
    program_id: str | None = None
    launch: date | None = None
    min_group_size: int = 5
    rates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_RATE_COLS))
    before_after: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_CHANGE_COLS))

    @property
    def title(self) -> str:  # type: ignore[override]
        return "Level 3 — behaviour" + (f" ({self.program_id})" if self.program_id else "")

    def to_frame(self) -> pd.DataFrame:
        """Tidy per behaviour × observer application-rate frame."""
        return self.rates.copy()

    def _headline(self) -> dict[str, Any]:
        return {"program_id": self.program_id, "launch": self.launch}

    def to_dict(self) -> dict[str, Any]:
        """Headline scalars, the rate rows and the ``before_after`` rows, JSON-safe."""
        out = super().to_dict()
        out["before_after"] = jsonable(self.before_after)
        return out

    def summary(self) -> str:
        """Plain-text summary including the before/after table."""
        text = super().summary()
        if self.measured and len(self.before_after):
            text += "\n\nbefore/after launch (paired):\n" + self.before_after.to_string(index=False)
        return text

    def plot(self, ax: Any = None) -> Any:
        """Application rate (mean of values) per behaviour × observer with 95 % CI bars."""
        from lopsnb.report.figures import draw_behavior_result

        return draw_behavior_result(self, ax)


def _person_means(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby(["behavior", "observer", "person_id"], sort=False)["value"].mean().reset_index()


def behavior_summary(
    behaviors: pd.DataFrame, *, launch: date | None, min_group_size: int = 5
) -> BehaviorResult:
    """Level 3 statistics of one program's behaviour observations.

    Parameters
    ----------
    behaviors : DataFrame
        Canonical behaviours of ONE program (``person_id``, ``behavior``,
        ``value``, optional ``observed_on``, ``observer``).
    launch : date or None
        Program launch; enables the before/after comparison.
    min_group_size : int
        Groups with fewer people are flagged ``suppressed``.

    Returns
    -------
    BehaviorResult
    """
    _check_min_group(min_group_size)
    if launch is not None and not isinstance(launch, date):
        raise EvaluationError(f"launch must be a date or None; got {launch!r}")
    if behaviors is None or len(behaviors) == 0:
        return BehaviorResult(measured=False, launch=launch, min_group_size=min_group_size)
    observer = _col(behaviors, "observer").astype("object")
    observer = observer.where(observer.notna() & (observer.astype(str).str.strip() != ""), "unspecified")
    data = pd.DataFrame({
        "person_id": behaviors["person_id"].astype(str),
        "behavior": behaviors["behavior"].astype(str),
        "observer": observer.astype(str).str.strip().str.lower(),
        "value": _numeric(behaviors["value"]),
        "observed_on": pd.to_datetime(_col(behaviors, "observed_on"), errors="coerce"),
    })
    data = data[data["value"].notna()]
    is_share = data.groupby("behavior")["value"].agg(lambda v: bool(((v >= 0) & (v <= 1)).all()))
    launch_ts = pd.Timestamp(launch) if launch is not None else None
    before_mask = (data["observed_on"] < launch_ts) if launch_ts is not None else pd.Series(False, index=data.index)
    before_mask = before_mask.fillna(False).astype(bool)
    current = data[~before_mask]

    rows: list[dict[str, Any]] = []
    for (beh, obs), part in _person_means(current).groupby(["behavior", "observer"], sort=False):
        n, mean, sd, lo, hi = mean_t_ci(part["value"])
        share = bool(is_share[beh])
        row = {"behavior": beh, "observer": obs, "scale": "share" if share else "rating", "n": n,
               "n_obs": int(((current["behavior"] == beh) & (current["observer"] == obs)).sum()),
               "mean": mean, "sd": sd, "ci_low": lo, "ci_high": hi, "n_applying": math.nan,
               "share_applying": math.nan, "share_ci_low": math.nan, "share_ci_high": math.nan,
               "suppressed": n < min_group_size}
        if share and n:
            k = int((part["value"] >= 0.5).sum())
            row["n_applying"], row["share_applying"] = k, k / n
            row["share_ci_low"], row["share_ci_high"] = wilson_ci(k, n)
        rows.append(row)
    rates = pd.DataFrame(rows, columns=_RATE_COLS)
    rates["suppressed"] = rates["suppressed"].astype(bool)

    changes: list[dict[str, Any]] = []
    if launch_ts is not None:
        dated = data[data["observed_on"].notna()]
        before = _person_means(dated[dated["observed_on"] < launch_ts])
        after = _person_means(dated[dated["observed_on"] >= launch_ts])
        if len(before) and len(after):
            both = before.merge(after, on=["behavior", "observer", "person_id"], suffixes=("_before", "_after"))
            keys = before[["behavior", "observer"]].drop_duplicates()
            for beh, obs in keys.itertuples(index=False):
                part = both[(both["behavior"] == beh) & (both["observer"] == obs)]
                diff = (part["value_after"] - part["value_before"]).to_numpy(dtype=float)
                n, mdiff, _, lo, hi = mean_t_ci(diff)
                t_stat = p = math.nan
                if n >= 2:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        t = stats.ttest_rel(part["value_after"], part["value_before"])
                    t_stat, p = float(t.statistic), float(t.pvalue)
                changes.append({
                    "behavior": beh, "observer": obs, "n_pairs": n,
                    "mean_before": float(part["value_before"].mean()) if n else math.nan,
                    "mean_after": float(part["value_after"].mean()) if n else math.nan,
                    "mean_diff": mdiff, "ci_low": lo, "ci_high": hi, "t_statistic": t_stat, "p_value": p,
                    "suppressed": n < min_group_size,
                })
    before_after = pd.DataFrame(changes, columns=_CHANGE_COLS)
    before_after["suppressed"] = before_after["suppressed"].astype(bool)
    return BehaviorResult(
        measured=True,
        program_id=_program_id(behaviors),
        launch=launch,
        min_group_size=min_group_size,
        rates=rates,
        before_after=before_after,
    )
