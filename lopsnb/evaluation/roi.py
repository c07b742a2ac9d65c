"""Phillips ROI (Level 5): fully-loaded costs, estimate adjustment and ROI.

The module turns a Level-4 effect (outcome units per entity per period, already
isolated from other influences) into the Phillips ROI figures:

* ``BCR = benefits / costs`` (a ratio, never called ROI),
* ``ROI % = (benefits - costs) / costs × 100``,
* ``payback (months) = costs / (annual benefits / 12)``,

and documents every one of Phillips' 12 Guiding Principles it applied in an
audit list, so that an ROI figure is never reported without the choices that
produced it (isolation method, conservative alternatives, horizon, cost
loading, intangibles).

All functions are pure: no file IO, no global state; the Monte Carlo interval
is deterministic for a given ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from lopsnb._result import ResultMixin, jsonable
from lopsnb.errors import EvaluationError
from lopsnb.evaluation.degenerate import money_text, require_finite_money
from lopsnb.io.schemas import COST_CATEGORIES  # the data contract's reporting order (re-exported)
from lopsnb.options import Direction, Transform, validate_option

__all__ = [
    "PRINCIPLES",
    "COST_CATEGORIES",
    "AuditEntry",
    "EstimatesAdjustment",
    "RoiResult",
    "roi_pct",
    "bcr",
    "payback_months",
    "fully_loaded_costs",
    "adjust_estimates",
    "phillips_roi",
    "annual_benefits",
    "break_even_gain",
    "costs_complete",
    "break_even_effect",
]

#: Phillips' 12 Guiding Principles of the ROI Methodology (ROI Institute),
#: abbreviated.  Audit entries refer to them by key.
PRINCIPLES: dict[str, str] = {
    "GP1": "When conducting a higher-level evaluation, collect data at lower levels.",
    "GP2": "When planning a higher-level evaluation, the previous level need not be comprehensive.",
    "GP3": "When collecting and analysing data, use only the most credible sources.",
    "GP4": "When analysing data, select the most conservative alternative for calculations.",
    "GP5": "Use at least one method to isolate the effects of the program.",
    "GP6": "If no improvement data are available for a population or source, assume little or no improvement.",
    "GP7": "Adjust estimates of improvement for the potential error of the estimates.",
    "GP8": "Avoid extreme data items and unsupported claims when calculating ROI.",
    "GP9": "Use only the first year of annual benefits for short-term solutions.",
    "GP10": "Fully load all costs of a program when analysing ROI.",
    "GP11": "Intangible measures are purposely not converted to monetary values.",
    "GP12": "Communicate the results of the ROI Methodology to all key stakeholders.",
}


ZERO_COST_NOTE = "ROI undefined: zero total cost"

_DIRECTIONS: tuple[str, ...] = ("increase", "decrease")
_TRANSFORMS: tuple[str, ...] = ("none", "log")


@dataclass(frozen=True)
class AuditEntry:
    """One principle applied and what it changed.

    Attributes
    ----------
    principle : str
        Key into :data:`PRINCIPLES` (``"GP1"`` .. ``"GP12"``).
    action : str
        What was done, in plain words (e.g. ``"12 non-respondents counted as
        zero improvement"``).
    """

    principle: str
    action: str

    def to_dict(self) -> dict[str, str]:
        """Return ``{"principle": ..., "action": ...}``."""
        return {"principle": self.principle, "action": self.action}


# --------------------------------------------------------------------------- #
# Headline arithmetic
# --------------------------------------------------------------------------- #
def _finite(value: float, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(v):
        raise EvaluationError(f"{name} must be finite, got {value!r}")
    return v


def roi_pct(benefits: float, costs: float) -> float | None:
    """Return the Phillips ROI in percent, ``(benefits - costs) / costs × 100``.

    Parameters
    ----------
    benefits : float
        Monetary benefits attributed to the program (same period as costs).
    costs : float
        Fully-loaded program costs.

    Returns
    -------
    float or None
        Net benefits as a percentage of costs; ``None`` when ``costs == 0``
        (ROI is undefined: there is no investment to return on).
    """
    b = _finite(benefits, "benefits")
    c = _finite(costs, "costs")
    if c == 0:
        return None
    return (b - c) / c * 100.0


def bcr(benefits: float, costs: float) -> float | None:
    """Return the benefit-cost ratio ``benefits / costs`` (a ratio, not an ROI).

    Returns ``None`` when ``costs == 0``.
    """
    b = _finite(benefits, "benefits")
    c = _finite(costs, "costs")
    if c == 0:
        return None
    return b / c


def payback_months(annual_benefits: float, costs: float) -> float | None:
    """Return the payback period in months, ``costs / (annual_benefits / 12)``.

    Parameters
    ----------
    annual_benefits : float
        Monetary benefits per year.
    costs : float
        Fully-loaded program costs.

    Returns
    -------
    float or None
        Months of benefits needed to recover the costs; ``None`` when
        ``annual_benefits <= 0`` (the program never pays back).
    """
    a = _finite(annual_benefits, "annual_benefits")
    c = _finite(costs, "costs")
    if a <= 0:
        return None
    return c / (a / 12.0)


# --------------------------------------------------------------------------- #
# Costs
# --------------------------------------------------------------------------- #
def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise EvaluationError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EvaluationError(f"{what} lacks required column(s) {missing}; found {list(frame.columns)}")


def _numeric(series: pd.Series, name: str, what: str) -> pd.Series:
    out = pd.to_numeric(series, errors="coerce").astype("float64")
    bad = series.notna() & out.isna()
    if bad.any():
        raise EvaluationError(
            f"{what}: column '{name}' has {int(bad.sum())} non-numeric value(s), e.g. {series[bad].iloc[0]!r}"
        )
    return out


def _by_category(amounts: dict[str, float]) -> pd.DataFrame:
    cats = [c for c in COST_CATEGORIES if c in amounts]
    amount = np.array([float(amounts[c]) for c in cats], dtype="float64")
    total = float(amount.sum())
    share = amount / total if total > 0 else np.full(len(cats), np.nan)
    return pd.DataFrame({"category": pd.Series(cats, dtype="str"), "amount": amount, "share": share})


def _cost_lines(costs: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series, int]:
    """Checked cost lines of one program: category, amount, amount × prorate share, number prorated."""
    what = "costs"
    _require_columns(costs, ["category", "amount"], what)
    if "program_id" in costs.columns:
        programs = costs["program_id"].dropna().unique()
        if len(programs) > 1:
            raise EvaluationError(
                f"costs must hold ONE program's rows; found {len(programs)} programs: {sorted(map(str, programs))}"
            )
    category = costs["category"].astype("str").str.strip()
    unknown = sorted(set(category[~category.isin(COST_CATEGORIES)]))
    if unknown:
        raise EvaluationError(f"costs: unknown category {unknown}; expected one of {list(COST_CATEGORIES)}")
    amount = _numeric(costs["amount"], "amount", what)
    if amount.isna().any():
        raise EvaluationError(f"costs: {int(amount.isna().sum())} row(s) have a missing amount")
    if (amount < 0).any():
        raise EvaluationError(f"costs: amounts must be >= 0; found {amount[amount < 0].tolist()}")
    if "prorate_share" in costs.columns:
        share = _numeric(costs["prorate_share"], "prorate_share", what)
    else:
        share = pd.Series(np.nan, index=costs.index, dtype="float64")
    out_of_range = share.notna() & ((share < 0) | (share > 1))
    if out_of_range.any():
        raise EvaluationError(f"costs: prorate_share must be in [0, 1]; found {share[out_of_range].tolist()}")
    prorated = int((share.notna() & (share < 1)).sum())
    # A blank share means the whole cost belongs to this program (contract default).
    loaded = amount * share.fillna(1.0)

    return category, amount, loaded, prorated


def _participant_time(amounts: dict[str, float], participant_hours: pd.DataFrame | None) -> list[AuditEntry]:
    """Add participant time (hours × hourly cost) to ``amounts`` unless a cost line already holds it."""
    audit: list[AuditEntry] = []
    if "participant_time" in amounts:
        if participant_hours is not None:
            audit.append(
                AuditEntry(
                    "GP10",
                    "participant_hours ignored: a participant_time cost line exists (time not counted twice)",
                )
            )
    elif participant_hours is not None:
        _require_columns(participant_hours, ["hours", "hourly_cost"], "participant_hours")
        hours = _numeric(participant_hours["hours"], "hours", "participant_hours")
        rate = _numeric(participant_hours["hourly_cost"], "hourly_cost", "participant_hours")
        if (hours < 0).any() or (rate < 0).any():
            raise EvaluationError("participant_hours: hours and hourly_cost must be >= 0")
        missing_rate = int(rate.isna().sum())
        missing_hours = int((hours.isna() & rate.notna()).sum())
        usable = hours.notna() & rate.notna()
        time_cost = float((hours[usable] * rate[usable]).sum())
        amounts["participant_time"] = time_cost
        action = (
            f"participant time added: {money_text(float(hours[usable].sum()))} hours x hourly_cost = "
            f"{money_text(time_cost)} over {int(usable.sum())} row(s)"
        )
        if missing_rate:
            action += f"; {missing_rate} row(s) without hourly_cost left out (costs understated)"
        if missing_hours:
            action += f"; {missing_hours} row(s) without hours left out (costs understated)"
        audit.append(AuditEntry("GP10", action))
    else:
        audit.append(
            AuditEntry("GP10", "no participant time costed (no participant_time line, no hours): costs understated")
        )

    return audit


def fully_loaded_costs(
    costs: pd.DataFrame, *, participant_hours: pd.DataFrame | None
) -> tuple[pd.DataFrame, list[AuditEntry]]:
    """Fully load the costs of one program (GP10).

    Parameters
    ----------
    costs : DataFrame
        Canonical ``costs`` rows of ONE program: ``category`` (one of
        :data:`COST_CATEGORIES`), ``amount`` (>= 0), optional
        ``prorate_share`` (0-1, missing = 1: the share of a shared cost that
        belongs to this program), ``description``, ``program_id``.
    participant_hours : DataFrame or None
        One row per participant (or enrollment) with ``hours`` spent in the
        program and the person's loaded ``hourly_cost``.  Used to cost
        participants' time away from work, unless ``costs`` already holds a
        ``participant_time`` line (then it is ignored, to avoid counting the
        time twice).  Rows with a missing ``hourly_cost`` or ``hours`` are
        left out, counted and logged.

    Returns
    -------
    frame : DataFrame
        Columns ``category`` (canonical order, only categories present),
        ``amount`` (Σ amount × prorate_share, plus participant time) and
        ``share`` (amount / total; NaN when the total is 0).
    audit : list of AuditEntry
        GP10 entries describing the prorating and the participant time.

    Raises
    ------
    EvaluationError
        Unknown categories, negative or non-numeric amounts, prorate shares
        outside [0, 1], several programs in ``costs``, negative hours/costs.
    """
    category, amount, loaded, prorated = _cost_lines(costs)
    amounts: dict[str, float] = {}
    for cat, value in zip(category, loaded, strict=True):
        amounts[cat] = amounts.get(cat, 0.0) + float(value)

    audit: list[AuditEntry] = []
    if prorated:
        audit.append(
            AuditEntry(
                "GP10",
                f"prorate_share applied to {prorated} shared cost line(s): "
                f"{float(amount.sum()):,.2f} listed -> {float(loaded.sum()):,.2f} charged to this program",
            )
        )

    audit += _participant_time(amounts, participant_hours)
    frame = _by_category(amounts)
    audit.append(
        AuditEntry(
            "GP10",
            f"costs fully loaded: total {money_text(float(frame['amount'].sum()))} over "
            f"{len(frame)} categor{'y' if len(frame) == 1 else 'ies'} ({', '.join(frame['category'])})",
        )
    )
    return frame, audit


# --------------------------------------------------------------------------- #
# Participant estimates (Phillips isolation by estimation)
# --------------------------------------------------------------------------- #
@dataclass(kw_only=True, frozen=True, eq=False)
class EstimatesAdjustment(ResultMixin):
    """Participant estimates adjusted the Phillips way.

    Attributes
    ----------
    effect : float
        Mean adjusted improvement per participant (outcome units per period):
        ``Σ adjusted_i / participants`` with non-respondents and excluded
        extreme claims counted as 0.
    std_error : float
        ``sd(values, ddof=1) / sqrt(participants)`` over all participants
        (zeros included); NaN with a single participant.
    ci_low, ci_high : float
        t-based interval ``effect ± t_{level, participants-1} × std_error``.
    level : float
        Confidence level of the interval.
    n_participants, n_respondents, n_nonrespondents, n_excluded : int
        Counts behind the mean.
    total_improvement : float
        Σ improvement as reported by respondents (unadjusted).
    total_adjusted : float
        Σ improvement × attribution × confidence after excluding extreme
        claims (= ``effect × participants``).
    total_excluded : float
        Σ adjusted value of the excluded claims.
    fence : float
        Tukey far-out fence ``Q3 + 3·IQR`` of the respondents' adjusted values
        (NaN without respondents).
    adjusted : DataFrame
        One row per respondent: the input columns plus ``adjusted`` and
        ``excluded`` (bool).
    audit : list of AuditEntry
        GP6, GP7 and GP8 entries.
    """

    effect: float
    std_error: float
    ci_low: float
    ci_high: float
    level: float
    n_participants: int
    n_respondents: int
    n_nonrespondents: int
    n_excluded: int
    total_improvement: float
    total_adjusted: float
    total_excluded: float
    fence: float
    adjusted: pd.DataFrame
    audit: list[AuditEntry] = field(default_factory=list)

    title: ClassVar[str] = "Participant estimates (Phillips adjustment)"

    def to_frame(self) -> pd.DataFrame:
        """Return tidy ``metric``/``value`` rows of the adjustment."""
        rows = [
            ("effect", self.effect),
            ("std_error", self.std_error),
            ("ci_low", self.ci_low),
            ("ci_high", self.ci_high),
            ("n_participants", self.n_participants),
            ("n_respondents", self.n_respondents),
            ("n_nonrespondents", self.n_nonrespondents),
            ("n_excluded", self.n_excluded),
            ("total_improvement", self.total_improvement),
            ("total_adjusted", self.total_adjusted),
            ("total_excluded", self.total_excluded),
            ("fence", self.fence),
        ]
        return pd.DataFrame(
            {"metric": pd.Series([r[0] for r in rows], dtype="str"), "value": [float(r[1]) for r in rows]}
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the scalar fields, per-respondent rows and audit as JSON-safe values."""
        out: dict[str, Any] = {r["metric"]: r["value"] for r in jsonable(self.to_frame())}
        out["level"] = jsonable(self.level)
        out["adjusted"] = jsonable(self.adjusted)
        out["audit"] = [a.to_dict() for a in self.audit]
        return out

    def plot(self, ax: Any = None) -> Any:
        """Plot the respondents' adjusted values with the GP8 fence; return the Axes."""
        from lopsnb.report.figures import draw_estimates_adjustment

        return draw_estimates_adjustment(self, ax)


def _checked_estimates(estimates: pd.DataFrame, participants: Any, level: float) -> tuple[int, pd.Series, pd.Series, pd.Series]:
    """Validate the inputs of :func:`adjust_estimates`: participants, improvement, attribution, confidence."""
    what = "estimates"
    _require_columns(estimates, ["improvement", "attribution", "confidence"], what)
    if isinstance(participants, bool) or not isinstance(participants, (int, np.integer)):
        raise EvaluationError(f"participants must be an integer, got {participants!r}")
    n = int(participants)
    if n < 1:
        raise EvaluationError(f"participants must be >= 1, got {n}")
    if not 0 < level < 1:
        raise EvaluationError(f"level must be in (0, 1), got {level!r}")
    for col in ("metric", "program_id"):
        if col in estimates.columns:
            distinct = estimates[col].dropna().unique()
            if len(distinct) > 1:
                raise EvaluationError(
                    f"estimates must hold ONE {col}; found {sorted(map(str, distinct))} — adjust each separately"
                )
    if "person_id" in estimates.columns:
        dup = estimates["person_id"][estimates["person_id"].duplicated()]
        if len(dup):
            raise EvaluationError(f"estimates: person_id must be unique; duplicated {sorted(map(str, set(dup)))}")

    improvement = _numeric(estimates["improvement"], "improvement", what)
    attribution = _numeric(estimates["attribution"], "attribution", what)
    confidence = _numeric(estimates["confidence"], "confidence", what)
    for name, s in (("improvement", improvement), ("attribution", attribution), ("confidence", confidence)):
        if s.isna().any():
            raise EvaluationError(f"estimates: {int(s.isna().sum())} row(s) have a missing {name}")
        if not np.isfinite(s.to_numpy()).all():
            raise EvaluationError(f"estimates: {name} must be finite")
    for name, s in (("attribution", attribution), ("confidence", confidence)):
        if ((s < 0) | (s > 1)).any():
            raise EvaluationError(f"estimates: {name} must be in [0, 1]; found {s[(s < 0) | (s > 1)].tolist()}")
    return n, improvement, attribution, confidence


def adjust_estimates(estimates: pd.DataFrame, *, participants: int, level: float = 0.95) -> EstimatesAdjustment:
    """Adjust participant estimates of improvement (Phillips isolation by estimation).

    For respondent ``i``: ``adjusted_i = improvement_i × attribution_i ×
    confidence_i`` (attribution isolates the program's share, GP5; confidence
    discounts for the error of the estimate, GP7).  Extreme claims — adjusted
    values above the Tukey far-out fence ``Q3 + 3·IQR`` of the respondents'
    adjusted values (numpy's linear quantiles) — are excluded and counted as
    zero (GP8).  The ``participants - respondents`` non-respondents count as
    zero improvement (GP6).

    The estimand is the mean adjusted improvement per participant (units of
    the metric per period), averaged over ALL participants, with a t-based
    interval over those ``participants`` values (zeros included).

    Parameters
    ----------
    estimates : DataFrame
        ``estimates`` rows of one program and one metric: ``improvement``,
        ``attribution`` (0-1), ``confidence`` (0-1); optional ``person_id``
        (must be unique), ``program_id``, ``metric``.
    participants : int
        Number of program participants (>= number of respondents, >= 1).
    level : float, default 0.95
        Confidence level of the interval.

    Returns
    -------
    EstimatesAdjustment

    Raises
    ------
    EvaluationError
        Missing columns or values, shares outside [0, 1], duplicate persons,
        several metrics/programs, more respondents than participants.
    """
    n, improvement, attribution, confidence = _checked_estimates(estimates, participants, level)

    r = len(estimates)
    if r > n:
        raise EvaluationError(f"estimates: {r} respondents but only {n} participants; check participants")

    adjusted = (improvement * attribution * confidence).to_numpy(dtype="float64")
    if r:
        q1, q3 = np.quantile(adjusted, [0.25, 0.75])
        fence = float(q3 + 3.0 * (q3 - q1))
        excluded = adjusted > fence
    else:
        fence = float("nan")
        excluded = np.zeros(0, dtype=bool)

    used = np.where(excluded, 0.0, adjusted)
    values = np.concatenate([used, np.zeros(n - r)])
    total_adjusted = float(used.sum())
    effect = float(values.mean())
    if n > 1:
        se = float(values.std(ddof=1) / math.sqrt(n))
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
        ci_low, ci_high = effect - half, effect + half
    else:
        se, ci_low, ci_high = float("nan"), float("nan"), float("nan")

    frame = estimates.copy()
    frame["adjusted"] = adjusted
    frame["excluded"] = excluded
    frame = frame.reset_index(drop=True)

    total_improvement = float(improvement.sum())
    mean_conf = float(confidence.mean()) if r else float("nan")
    mean_attr = float(attribution.mean()) if r else float("nan")
    audit = [
        AuditEntry(
            "GP6",
            f"{n - r} non-respondent(s) of {n} participants counted as zero improvement",
        ),
        AuditEntry(
            "GP7",
            f"{r} estimate(s) adjusted by attribution x confidence (mean attribution {mean_attr:.3g}, "
            f"mean confidence {mean_conf:.3g}): reported {total_improvement:,.2f} -> "
            f"adjusted {float(adjusted.sum()):,.2f} per period",
        ),
    ]
    n_excl = int(excluded.sum())
    total_excluded = float(adjusted[excluded].sum())
    if n_excl:
        audit.append(
            AuditEntry(
                "GP8",
                f"{n_excl} extreme claim(s) above Q3 + 3·IQR = {fence:,.4g} excluded (counted as zero): "
                f"{total_excluded:,.2f} per period removed",
            )
        )
    else:
        audit.append(AuditEntry("GP8", f"no extreme claims above Q3 + 3·IQR = {fence:,.4g}"))

    return EstimatesAdjustment(
        effect=effect,
        std_error=se,
        ci_low=ci_low,
        ci_high=ci_high,
        level=float(level),
        n_participants=n,
        n_respondents=r,
        n_nonrespondents=n - r,
        n_excluded=n_excl,
        total_improvement=total_improvement,
        total_adjusted=total_adjusted,
        total_excluded=total_excluded,
        fence=fence,
        adjusted=frame,
        audit=audit,
    )


# --------------------------------------------------------------------------- #
# ROI
# --------------------------------------------------------------------------- #
def _none_if_nan(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


@dataclass(kw_only=True, frozen=True, eq=False)
class RoiResult(ResultMixin):
    """Phillips ROI of one program.

    Attributes
    ----------
    benefits : float
        Monetary benefits over ``horizon_years`` (= annual_benefits × horizon).
    annual_benefits : float
        Direction-signed effect × value per unit × periods per year × entities.
    costs : float
        Fully-loaded costs (Σ ``costs_by_category.amount``).
    net_benefit : float
        ``benefits - costs``.
    roi_pct : float or None
        ``net_benefit / costs × 100``; None when costs are 0.
    bcr : float or None
        Benefit-cost ratio ``benefits / costs`` (NOT an ROI); None when costs are 0.
    payback_months : float or None
        ``costs / (annual_benefits / 12)``; None when costs are 0 or annual
        benefits are <= 0.
    break_even_effect : float or None
        Effect per entity per period (outcome units, direction-signed: negative
        for a ``decrease`` outcome) at which benefits equal costs; None when the
        monetisation factor is 0.
    roi_interval : (float, float) or None
        2.5th / 97.5th percentiles of ROI % over the Monte Carlo draws.
    prob_positive : float or None
        Share of draws with ROI > 0.
    conservative_roi_pct : float or None
        GP4 ROI at the effect CI bound least favourable to the program and the
        least favourable end of the value range.
    costs_by_category : DataFrame
        ``category``, ``amount``, ``share``.
    tornado : DataFrame
        One-way sensitivity: ``factor``, ``low_input``, ``high_input``,
        ``roi_low``, ``roi_high`` (ROI % at the low / high input), sorted by
        swing ``|roi_high - roi_low|``, largest first.
    intangibles : tuple of str
        Benefits not converted to money (reported beside, never inside ROI).
    isolation_method : str
        How the effect was isolated from other influences (GP5).
    audit : list of AuditEntry
        Every principle applied and what it changed.
    """

    benefits: float
    annual_benefits: float
    costs: float
    net_benefit: float
    roi_pct: float | None
    bcr: float | None
    payback_months: float | None
    break_even_effect: float | None
    roi_interval: tuple[float, float] | None
    prob_positive: float | None
    conservative_roi_pct: float | None
    costs_by_category: pd.DataFrame
    tornado: pd.DataFrame
    intangibles: tuple[str, ...]
    isolation_method: str
    audit: list[AuditEntry] = field(default_factory=list)

    title: ClassVar[str] = "Phillips ROI (Level 5)"
    zero_cost_note: ClassVar[str] = ZERO_COST_NOTE  # read by lopsnb.report.figures

    def to_frame(self) -> pd.DataFrame:
        """Return tidy ``metric``/``value``/``unit`` rows (BCR is labelled a ratio, not ROI)."""
        low, high = self.roi_interval if self.roi_interval is not None else (None, None)
        rows: list[tuple[str, float | None, str]] = [
            ("benefits", self.benefits, "currency"),
            ("annual_benefits", self.annual_benefits, "currency per year"),
            ("costs", self.costs, "currency (fully loaded)"),
            ("net_benefit", self.net_benefit, "currency"),
            ("roi_pct", self.roi_pct, "%"),
            ("bcr", self.bcr, "ratio (benefits / costs)"),
            ("payback_months", self.payback_months, "months"),
            ("break_even_effect", self.break_even_effect, "outcome units per entity per period"),
            ("roi_interval_low", low, "%"),
            ("roi_interval_high", high, "%"),
            ("prob_positive", self.prob_positive, "share of draws"),
            ("conservative_roi_pct", self.conservative_roi_pct, "%"),
        ]
        return pd.DataFrame(
            {
                "metric": pd.Series([r[0] for r in rows], dtype="str"),
                "value": [float("nan") if r[1] is None else float(r[1]) for r in rows],
                "unit": pd.Series([r[2] for r in rows], dtype="str"),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the headline figures, tables and audit as JSON-serialisable values."""
        return {
            "benefits": jsonable(self.benefits),
            "annual_benefits": jsonable(self.annual_benefits),
            "costs": jsonable(self.costs),
            "net_benefit": jsonable(self.net_benefit),
            "roi_pct": jsonable(self.roi_pct),
            "bcr": jsonable(self.bcr),
            "payback_months": jsonable(self.payback_months),
            "break_even_effect": jsonable(self.break_even_effect),
            "roi_interval": jsonable(list(self.roi_interval) if self.roi_interval is not None else [None, None]),
            "prob_positive": jsonable(self.prob_positive),
            "conservative_roi_pct": jsonable(self.conservative_roi_pct),
            "costs_by_category": jsonable(self.costs_by_category),
            "tornado": jsonable(self.tornado),
            "intangibles": list(self.intangibles),
            "isolation_method": self.isolation_method,
            "audit": [a.to_dict() for a in self.audit],
        }

    def plot(self, ax: Any = None, *, currency: str | None = None) -> Any:
        """Waterfall: benefits, minus each cost category, down to net benefit (axis in ``currency``); return the Axes."""
        from lopsnb.report.figures import draw_roi_result

        return draw_roi_result(self, ax, currency=currency)

    def plot_tornado(self, ax: Any = None) -> Any:
        """Tornado chart of the one-way sensitivity of ROI %; return the Axes."""
        from lopsnb.report.figures import draw_roi_result_tornado

        return draw_roi_result_tornado(self, ax)


def _cost_frame(costs: pd.DataFrame) -> pd.DataFrame:
    _require_columns(costs, ["category", "amount"], "costs")
    if "prorate_share" in costs.columns:
        raise EvaluationError(
            "costs has a prorate_share column: pass the fully-loaded frame returned by fully_loaded_costs()"
        )
    category = costs["category"].astype("str")
    unknown = sorted(set(category[~category.isin(COST_CATEGORIES)]))
    if unknown:
        raise EvaluationError(f"costs: unknown category {unknown}; expected one of {list(COST_CATEGORIES)}")
    amount = _numeric(costs["amount"], "amount", "costs")
    if amount.isna().any() or (amount < 0).any():
        raise EvaluationError("costs: amounts must be present and >= 0")
    amounts: dict[str, float] = {}
    for cat, value in zip(category, amount, strict=True):
        amounts[cat] = amounts.get(cat, 0.0) + float(value)
    return _by_category(amounts)


def annual_benefits(gain: Any, value_per_unit: Any, periods_per_year: float, n_entities: float) -> Any:
    """Annual monetary benefits: ``gain × value_per_unit × periods_per_year × n_entities``.

    The one benefit formula of lopsnb: the evaluated ROI (:func:`phillips_roi`,
    its Monte Carlo and tornado) and the forecast (:func:`lopsnb.evaluation.plan.forecast_roi`)
    all call it.  ``gain`` is the direction-signed effect in outcome units per
    entity per period; arrays broadcast.
    """
    return gain * value_per_unit * periods_per_year * n_entities


def break_even_gain(
    costs: float, value_per_unit: float, periods_per_year: float, n_entities: float, horizon_years: float,
    *, target_roi_pct: float = 0.0,
) -> float | None:
    """The gain per entity per period at which the ROI equals ``target_roi_pct`` (0: benefits = costs).

    ``costs × (1 + target / 100) / (value_per_unit × periods_per_year × n_entities × horizon_years)``;
    multiply by the direction sign (+1 increase, -1 decrease) for the effect.
    None when the monetisation factor is 0 (no effect can pay back).
    """
    factor = value_per_unit * periods_per_year * n_entities * horizon_years
    if factor == 0:
        return None
    return costs * (1 + target_roi_pct / 100) / factor


@dataclass(kw_only=True, frozen=True)
class _RoiInputs:
    """The validated numeric inputs of :func:`phillips_roi`."""

    eff: float
    se: float
    lo_ci: float
    hi_ci: float
    vpu: float
    ppy: float
    horizon: float
    n_ent: int
    value_range: tuple[float, float] | None
    baseline: float | None
    sign: float
    isolation_method: str
    transform: str
    intangibles: tuple[str, ...]

    def to_units(self, x: Any) -> Any:
        """Effect on the outcome's own scale (log-differences converted at the baseline level)."""
        if self.baseline is None:
            return x
        return np.expm1(x) * self.baseline

    def gain(self, x: Any) -> Any:
        """Direction-signed effect in outcome units (positive = good)."""
        return self.sign * self.to_units(x)

    def roi_at(self, x: float, v: float, c: float, n: float, h: float) -> float:
        """ROI % at effect ``x``, unit value ``v``, costs ``c``, ``n`` entities and ``h`` years (NaN at zero cost)."""
        r = roi_pct(annual_benefits(float(self.gain(x)), v, self.ppy, n) * h, c)
        return float("nan") if r is None else r


def _positive_number(value: Any, name: str, *, strict: bool) -> float:
    x = _finite(value, name)
    if (x <= 0) if strict else (x < 0):
        raise EvaluationError(f"{name} must be {'>' if strict else '>='} 0, got {x}")
    return x


def _validate_effect(effect: float, std_error: float, ci_low: float, ci_high: float) -> tuple[float, float, float, float]:
    eff, se = _finite(effect, "effect"), _finite(std_error, "std_error")
    lo_ci, hi_ci = _finite(ci_low, "ci_low"), _finite(ci_high, "ci_high")
    if se < 0:
        raise EvaluationError(f"std_error must be >= 0, got {se}")
    if not lo_ci <= eff <= hi_ci:
        raise EvaluationError(f"need ci_low <= effect <= ci_high; got {lo_ci} <= {eff} <= {hi_ci}")
    return eff, se, lo_ci, hi_ci


def _validate_scale(n_entities: Any, value_range: Any, vpu: float, transform: str, baseline_level: Any) -> tuple[int, tuple[float, float] | None, float | None]:
    if isinstance(n_entities, bool) or not isinstance(n_entities, (int, np.integer)):
        raise EvaluationError(f"n_entities must be an integer, got {n_entities!r}")
    n_ent = int(n_entities)
    if n_ent < 0:
        raise EvaluationError(f"n_entities must be >= 0, got {n_ent}")
    v_range = None
    if value_range is not None:
        if len(value_range) != 2:
            raise EvaluationError(f"value_range must be (low, high), got {value_range!r}")
        v_range = (_finite(value_range[0], "value_range[0]"), _finite(value_range[1], "value_range[1]"))
        if not 0 <= v_range[0] <= vpu <= v_range[1]:
            raise EvaluationError(f"value_range must satisfy 0 <= low <= value_per_unit <= high; got {value_range}")
    baseline = None
    if transform == "log":
        if baseline_level is None:
            raise EvaluationError("transform='log' needs baseline_level to convert the log-difference to units")
        baseline = _finite(baseline_level, "baseline_level")
        if baseline <= 0:
            raise EvaluationError(f"baseline_level must be > 0 for transform='log', got {baseline}")
    return n_ent, v_range, baseline


def _roi_inputs(args: dict[str, Any]) -> _RoiInputs:
    """Validate the arguments of :func:`phillips_roi` (every check, one clear error each)."""
    validate_option("direction", args["direction"], Direction)
    validate_option("transform", args["transform"], Transform)
    method = args["isolation_method"]
    if not isinstance(method, str) or not method.strip():
        raise EvaluationError(
            "isolation_method is required (GP5): ROI is never reported without the method that isolated the effect"
        )
    eff, se, lo_ci, hi_ci = _validate_effect(args["effect"], args["std_error"], args["ci_low"], args["ci_high"])
    vpu = _positive_number(args["value_per_unit"], "value_per_unit", strict=False)
    ppy = _positive_number(args["periods_per_year"], "periods_per_year", strict=True)
    horizon = _positive_number(args["horizon_years"], "horizon_years", strict=True)
    n_ent, v_range, baseline = _validate_scale(args["n_entities"], args["value_range"], vpu, args["transform"], args["baseline_level"])
    n_draws = args["n_draws"]
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 100:
        raise EvaluationError(f"n_draws must be an integer >= 100, got {n_draws!r}")
    intangibles = args["intangibles"]
    if isinstance(intangibles, str):
        intangibles = (intangibles,)
    for entry in args["audit"]:
        if not isinstance(entry, AuditEntry):
            raise EvaluationError(f"audit entries must be AuditEntry, got {type(entry).__name__}")
    return _RoiInputs(
        eff=eff, se=se, lo_ci=lo_ci, hi_ci=hi_ci, vpu=vpu, ppy=ppy, horizon=horizon, n_ent=n_ent, value_range=v_range,
        baseline=baseline, sign=1.0 if args["direction"] == "increase" else -1.0, isolation_method=method.strip(),
        transform=args["transform"], intangibles=tuple(str(i) for i in intangibles),
    )


def _monte_carlo(inp: _RoiInputs, total_cost: float, n_draws: int, seed: int) -> tuple[tuple[float, float] | None, float | None]:
    """95% ROI interval and P(ROI > 0): effect ~ Normal(effect, se), value ~ Uniform(value_range); None at zero cost."""
    if total_cost == 0:
        return None, None
    rng = np.random.default_rng(seed)
    eff_draws = rng.normal(inp.eff, inp.se, size=n_draws) if inp.se > 0 else np.full(n_draws, inp.eff)
    if inp.value_range is not None:
        v_draws = rng.uniform(inp.value_range[0], inp.value_range[1], size=n_draws)
    else:
        v_draws = np.full(n_draws, inp.vpu)
    ben_draws = annual_benefits(inp.gain(eff_draws), v_draws, inp.ppy, inp.n_ent) * inp.horizon
    roi_draws = (ben_draws - total_cost) / total_cost * 100.0
    require_finite_money("the Monte Carlo ROI interval (a draw)", float(np.max(np.abs(roi_draws))))
    q_lo, q_hi = np.percentile(roi_draws, [2.5, 97.5])
    return (float(q_lo), float(q_hi)), float(np.mean(roi_draws > 0))


def _conservative(inp: _RoiInputs, total_cost: float) -> tuple[tuple[str, float], float, float | None]:
    """GP4: the least favourable CI bound of the effect with the least favourable unit value."""
    g_low_bound, g_high_bound = float(inp.gain(inp.lo_ci)), float(inp.gain(inp.hi_ci))
    if g_low_bound <= g_high_bound:
        cons_bound, cons_gain = ("ci_low", inp.lo_ci), g_low_bound
    else:
        cons_bound, cons_gain = ("ci_high", inp.hi_ci), g_high_bound
    if inp.value_range is None:
        cons_value = inp.vpu
    else:
        # The low unit value is least favourable for a gain; for a loss the high one is.
        cons_value = inp.value_range[0] if cons_gain >= 0 else inp.value_range[1]
    cons_roi = roi_pct(annual_benefits(cons_gain, cons_value, inp.ppy, inp.n_ent) * inp.horizon, total_cost)
    return cons_bound, cons_value, cons_roi


def _tornado(inp: _RoiInputs, total_cost: float) -> pd.DataFrame:
    """One-at-a-time sensitivity of the ROI, widest swing first."""
    eff, vpu, n_ent, horizon = inp.eff, inp.vpu, inp.n_ent, inp.horizon
    v_low_in, v_high_in = inp.value_range if inp.value_range is not None else (0.8 * vpu, 1.2 * vpu)
    specs = [
        ("effect", inp.lo_ci, inp.hi_ci, lambda x: inp.roi_at(x, vpu, total_cost, n_ent, horizon)),
        ("value_per_unit", v_low_in, v_high_in, lambda x: inp.roi_at(eff, x, total_cost, n_ent, horizon)),
        ("costs", 0.8 * total_cost, 1.2 * total_cost, lambda x: inp.roi_at(eff, vpu, x, n_ent, horizon)),
        ("participants", 0.9 * n_ent, 1.1 * n_ent, lambda x: inp.roi_at(eff, vpu, total_cost, x, horizon)),
        ("horizon_years", 0.8 * horizon, 1.2 * horizon, lambda x: inp.roi_at(eff, vpu, total_cost, n_ent, x)),
    ]
    tornado = pd.DataFrame(
        {
            "factor": pd.Series([s[0] for s in specs], dtype="str"),
            "low_input": [float(s[1]) for s in specs],
            "high_input": [float(s[2]) for s in specs],
            "roi_low": [s[3](s[1]) for s in specs],
            "roi_high": [s[3](s[2]) for s in specs],
        }
    )
    swing = (tornado["roi_high"] - tornado["roi_low"]).abs()
    order = np.argsort(-swing.fillna(-1.0).to_numpy(), kind="stable")
    return tornado.iloc[order].reset_index(drop=True)


def _horizon_note(horizon: float) -> str:
    if horizon > 1:
        return f"benefits beyond year 1 counted ({horizon:g} years): only for long-term solutions"
    if horizon == 1:
        return "first-year benefits only"
    return f"benefits counted for {horizon:g} year(s) only (less than the first year)"


def _audit_log(
    inp: _RoiInputs, audit: Sequence[AuditEntry], by_cat: pd.DataFrame, total_cost: float,
    conservative: tuple[tuple[str, float], float, float | None], point_roi: float | None,
) -> list[AuditEntry]:
    """The Guiding Principles applied (GP4, GP5, GP9, GP10, GP11), after the entries of earlier steps."""
    log: list[AuditEntry] = list(audit)
    log.append(AuditEntry("GP5", f"effect isolated by: {inp.isolation_method}"))
    if inp.transform == "log":
        log.append(
            AuditEntry(
                "GP5",
                f"log-difference effect {inp.eff:.6g} converted to units: (exp(effect) - 1) x baseline "
                f"{inp.baseline:,.6g} = {float(inp.to_units(inp.eff)):,.6g} per entity per period",
            )
        )
    log.append(AuditEntry("GP9", _horizon_note(inp.horizon)))
    log.append(
        AuditEntry(
            "GP10",
            f"fully-loaded costs {total_cost:,.2f} over {len(by_cat)} categor"
            f"{'y' if len(by_cat) == 1 else 'ies'} compared with benefits",
        )
    )
    if total_cost == 0:
        log.append(AuditEntry("GP10", f"{ZERO_COST_NOTE}; ROI, BCR, payback and interval not reported"))
        log.append(AuditEntry("GP4", "conservative ROI not computed: " + ZERO_COST_NOTE))
    else:
        (bound, bound_value), cons_value, cons_roi = conservative
        value_note = f"unit value {cons_value:,.6g}" + (
            " (least favourable end of value_range)" if inp.value_range is not None else ""
        )
        log.append(
            AuditEntry(
                "GP4",
                f"conservative ROI uses the effect at {bound} ({bound_value:.6g}) and {value_note}: "
                f"{cons_roi:,.1f}% vs point ROI {point_roi:,.1f}%",
            )
        )
    if inp.intangibles:
        log.append(AuditEntry("GP11", f"intangibles listed beside ROI, not monetised: {', '.join(inp.intangibles)}"))
    else:
        log.append(AuditEntry("GP11", "no intangibles listed"))
    return log


def break_even_effect(costs: float, *, value_per_unit: float, periods_per_year: float, n_entities: float,
                      horizon_years: float, direction: Direction) -> float | None:
    """Effect per entity per period (outcome units, direction-signed) at which benefits equal ``costs``.

    :func:`break_even_gain` signed by the direction (``-1`` for a ``decrease``
    outcome); None when the monetisation factor is 0 (no effect can pay back
    the costs).
    """
    gain = break_even_gain(costs, value_per_unit, periods_per_year, n_entities, horizon_years)
    return None if gain is None else (1.0 if direction == "increase" else -1.0) * gain


def phillips_roi(
    *,
    effect: float,
    std_error: float,
    ci_low: float,
    ci_high: float,
    direction: Direction,
    value_per_unit: float,
    periods_per_year: float,
    horizon_years: float,
    n_entities: int,
    costs: pd.DataFrame,
    isolation_method: str,
    value_range: tuple[float, float] | None = None,
    transform: Transform = "none",
    baseline_level: float | None = None,
    intangibles: Sequence[str] = (),
    n_draws: int = 20000,
    seed: int = 20261127,
    audit: Sequence[AuditEntry] = (),
) -> RoiResult:
    """Compute the Phillips ROI of a program from an isolated Level-4 effect.

    Parameters
    ----------
    effect : float
        Isolated program effect per entity per period: outcome units, or a
        log-difference when ``transform="log"`` (converted to units as
        ``(exp(effect) - 1) × baseline_level``).
    std_error, ci_low, ci_high : float
        Standard error and confidence bounds of ``effect`` (same scale).
    direction : {"increase", "decrease"}
        Which way is good for the outcome; for ``decrease`` a negative effect
        is a gain.
    value_per_unit : float
        Money per outcome unit, per entity, per period (>= 0).
    periods_per_year : float
        Outcome periods per year (12 for monthly KPIs).
    horizon_years : float
        Years of benefits counted (GP9: 1 for short-term solutions).
    n_entities : int
        Entities (participants or units) receiving the effect.
    costs : DataFrame
        Fully-loaded costs by category, as returned by :func:`fully_loaded_costs`.
    isolation_method : str
        How the effect was isolated (GP5); required and non-empty.
    value_range : (float, float), optional
        Plausible range of the unit value; drawn uniformly in the Monte Carlo,
        its low end used for the conservative ROI, its ends for the tornado.
    transform : {"none", "log"}
        Scale of ``effect``.
    baseline_level : float, optional
        Baseline outcome level (> 0), required for ``transform="log"``.
    intangibles : sequence of str
        Benefits not converted to money (GP11), listed beside the ROI.
    n_draws : int, default 20000
        Monte Carlo draws; ``effect ~ Normal(effect, std_error)`` (on the
        ``transform`` scale) and ``value ~ Uniform(value_range)`` if given.
    seed : int
        Seed of the Monte Carlo generator (results are deterministic for it).
    audit : sequence of AuditEntry
        Entries from earlier steps (costs, estimates) to carry along.

    Returns
    -------
    RoiResult

    Notes
    -----
    Annual benefits ``= s × u(effect) × value_per_unit × periods_per_year ×
    n_entities`` with ``s = +1`` for increase and ``-1`` for decrease and
    ``u`` the unit conversion; benefits ``= annual × horizon_years``; costs are
    not annualised (a one-off investment).  The tornado varies one factor at a
    time: effect over its CI bounds, value per unit over ``value_range`` (else
    ±20%), costs ±20%, participants counted ±10%, horizon ±20%.
    """
    inp = _roi_inputs(locals())  # every parameter by name, checked before anything is computed
    by_cat = _cost_frame(costs)
    total_cost = float(by_cat["amount"].sum())
    require_finite_money("the fully-loaded costs total", total_cost)
    zero_cost = total_cost == 0

    annual = annual_benefits(float(inp.gain(inp.eff)), inp.vpu, inp.ppy, inp.n_ent)
    benefits = annual * inp.horizon
    require_finite_money("the monetary benefits", benefits)
    point_roi = roi_pct(benefits, total_cost)
    require_finite_money("the ROI", 0.0 if point_roi is None else point_roi)
    be_gain = break_even_gain(total_cost, inp.vpu, inp.ppy, inp.n_ent, inp.horizon)
    interval, prob_pos = _monte_carlo(inp, total_cost, n_draws, seed)
    conservative = _conservative(inp, total_cost)
    return RoiResult(
        benefits=benefits,
        annual_benefits=annual,
        costs=total_cost,
        net_benefit=benefits - total_cost,
        roi_pct=_none_if_nan(point_roi),
        bcr=_none_if_nan(bcr(benefits, total_cost)),
        payback_months=_none_if_nan(None if zero_cost else payback_months(annual, total_cost)),
        break_even_effect=_none_if_nan(None if be_gain is None else inp.sign * be_gain),
        roi_interval=interval,
        prob_positive=prob_pos,
        conservative_roi_pct=_none_if_nan(conservative[2]),
        costs_by_category=by_cat,
        tornado=_tornado(inp, total_cost),
        intangibles=inp.intangibles,
        isolation_method=inp.isolation_method,
        audit=_audit_log(inp, audit, by_cat, total_cost, conservative, point_roi),
    )


def costs_complete(costs: pd.DataFrame) -> str | None:
    """Why a program's cost rows are incomplete, or None when they are not.

    Parameters
    ----------
    costs : DataFrame
        The ``costs`` rows of ONE program (``category``, ``amount``), before
        participant time is added.

    Returns
    -------
    str or None
        A plain-language reason when no cost line other than
        ``participant_time`` has a positive amount (design, delivery,
        materials ... were never recorded, so any ROI would be overstated);
        None when at least one such line exists.
    """
    if "category" in costs.columns and "amount" in costs.columns:
        amount = pd.to_numeric(costs["amount"], errors="coerce").fillna(0.0)
        other = costs["category"].astype("str").str.strip() != "participant_time"
        if bool((other & (amount > 0)).any()):
            return None
    return ("no cost rows besides participant time: add the program's development, delivery, materials and "
            "facilities costs to the costs table")
