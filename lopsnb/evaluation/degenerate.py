"""Degenerate evaluation inputs: say why an effect or an ROI cannot be estimated.

A constant KPI, values near the floating-point limit (``1e308``) or costs
that add up to infinity do not make an estimator fail loudly on their own:
least squares happily returns an effect of 0 with a standard error of 0 (a
``[0, 0]`` interval that looks like certainty) and sums overflow to ``inf``.
The helpers here detect these cases and raise :class:`NotEstimableError`,
whose message reads ``"<method>: not estimable because <reason>"``;
:func:`lopsnb.evaluate` records it in ``results.failures`` (or as
``roi.reason``), so the evidence grade is "insufficient" and no ROI is shown.

Conventions
-----------
* *Constant* means a spread (max − min) of at most ``RELATIVE_TOL`` times the
  largest absolute value: rounding noise of a constant series is not variation.
* Large outcomes are divided by a power of two before fitting
  (:func:`outcome_scale`): this is exact in binary floating point, so the
  estimate and its standard error are the same numbers as without scaling,
  but squares and sums of squares no longer overflow.  A result that is not
  representable once scaled back (``inf``) is reported as not estimable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lopsnb.errors import InsufficientDataError

__all__ = [
    "NotEstimableError",
    "RELATIVE_TOL",
    "OVERFLOW_ADVICE",
    "not_estimable",
    "outcome_scale",
    "outcome_magnitude",
    "require_finite",
    "require_variation",
    "require_within_variation",
    "check_interval",
    "require_finite_money",
    "money_text",
    "require_adjusted_variation",
]

#: Relative spread below which a series counts as constant.
RELATIVE_TOL = 1e-12

#: Values above this magnitude are rescaled before fitting (squares of 1e154 overflow).
_SCALE_ABOVE = 1e100

OVERFLOW_ADVICE = "values too large for floating-point arithmetic (overflow); express the KPI in larger units, e.g. thousands"
_MONEY_ADVICE = "amounts too large for floating-point arithmetic; express them in larger units, e.g. thousands"


class NotEstimableError(InsufficientDataError):
    """The data give no usable estimate; the message names the reason.

    Raised for a constant outcome (zero variance: the interval would have
    zero width), a zero standard error and non-finite intermediate results
    (overflow).  A subclass of :class:`~lopsnb.errors.InsufficientDataError`,
    so callers that record failing methods record these too.
    """


def not_estimable(method: str, because: str) -> NotEstimableError:
    """Return the error ``"<method>: not estimable because <because>"``."""
    return NotEstimableError(f"{method}: not estimable because {because}")


def _magnitude(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.max(np.abs(finite))) if finite.size else 0.0


def outcome_scale(*arrays: ArrayLike) -> float:
    """A power of two to divide large outcome values by before fitting (1.0 for ordinary values).

    Parameters
    ----------
    *arrays : array-like
        The outcome values (and any regressor on the same scale, such as the
        baseline outcome in ANCOVA).

    Returns
    -------
    float
        ``2**k`` with ``max|value| / 2**k`` in [1, 2) when the largest
        absolute value exceeds 1e100, else 1.0.  Dividing by a power of two
        is exact, so the scaled problem has the same solution, scaled.
    """
    top = max((_magnitude(np.asarray(a, dtype=float).ravel()) for a in arrays), default=0.0)
    if top <= _SCALE_ABOVE:
        return 1.0
    return math.ldexp(1.0, math.frexp(top)[1] - 1)


def outcome_magnitude(*arrays: ArrayLike) -> float:
    """The largest absolute finite value in ``arrays`` (0.0 when there is none)."""
    return max((_magnitude(np.asarray(a, dtype=float).ravel()) for a in arrays), default=0.0)


def require_finite(method: str, values: ArrayLike, what: str) -> None:
    """Raise :class:`NotEstimableError` when ``values`` hold ``inf`` (NaN are missing data, dropped upstream)."""
    arr = np.asarray(values, dtype=float)
    if np.isinf(arr).any():
        raise not_estimable(method, f"{what} is infinite in places (an input, or a sum or mean of large inputs, overflowed: {OVERFLOW_ADVICE})")


def _is_constant(values: np.ndarray) -> bool:
    if values.size == 0:
        return False
    top = _magnitude(values)
    # Halved before subtracting: max - min of ±1e308 would overflow to inf.
    spread = float(np.max(values) / 2 - np.min(values) / 2)
    return spread <= RELATIVE_TOL * top / 2


def require_variation(method: str, values: ArrayLike, what: str = "the outcome") -> None:
    """Raise :class:`NotEstimableError` when ``values`` (NaN ignored) are constant.

    A constant outcome leaves nothing to compare: least squares would return
    an effect of 0 with a standard error of 0, a zero-width interval.
    """
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[~np.isnan(arr)]
    if _is_constant(arr):
        raise not_estimable(
            method,
            f"{what} is constant (every value is {arr[0]:.6g}): with zero variance the standard error is 0 "
            "and an interval of zero width would claim certainty the data do not give",
        )


def require_within_variation(method: str, values: ArrayLike, groups: ArrayLike, what: str = "the outcome") -> None:
    """Raise :class:`NotEstimableError` when ``values`` are constant within every group (entity).

    Difference-in-differences uses only changes within an entity over time;
    when no entity's outcome changes, the estimate is 0 with a standard error of 0.
    """
    arr = np.asarray(values, dtype=float).ravel()
    keys = np.asarray(groups).ravel()
    ok = ~np.isnan(arr)
    arr, keys = arr[ok], keys[ok]
    if arr.size == 0:
        return
    require_variation(method, arr, what)
    _, codes = np.unique(keys.astype(str), return_inverse=True)
    top = _magnitude(arr)
    hi = np.full(codes.max() + 1, -np.inf)
    lo = np.full(codes.max() + 1, np.inf)
    np.maximum.at(hi, codes, arr)
    np.minimum.at(lo, codes, arr)
    if float(np.max(hi / 2 - lo / 2)) <= RELATIVE_TOL * top / 2:
        raise not_estimable(
            method,
            f"{what} does not change over time within any entity: nothing is left to estimate after removing "
            "entity and period means (the standard error would be 0)",
        )


def check_interval(method: str, estimate: float, std_error: float, bounds: Iterable[float] = (), *,
                   magnitude: float | None = None) -> None:
    """Raise :class:`NotEstimableError` for an infinite result or a zero-width interval.

    Parameters
    ----------
    method : str
        Method key, for the message.
    estimate, std_error : float
        The effect and its standard error.
    bounds : iterable of float
        Interval bounds, checked for overflow.
    magnitude : float, optional
        The largest absolute outcome value.  With it, an effect *and* a
        standard error both within rounding of 0 (``RELATIVE_TOL ×
        magnitude``) count as the zero-width ``[0, 0]`` interval an exact fit
        of data without any effect gives; without it only an exact 0 does.

    Notes
    -----
    NaN without overflow is left to the caller (it usually means too few
    observations, which has its own message).  An exact fit with a non-zero
    effect (synthetic data) keeps its estimate: its grade rests on the design
    and sample checks of :func:`~lopsnb.evaluation.evidence.grade_evidence`.
    """
    values = [float(estimate), float(std_error), *map(float, bounds)]
    if any(math.isinf(v) for v in values):
        raise not_estimable(method, f"the estimate or its interval is infinite ({OVERFLOW_ADVICE})")
    if not all(math.isfinite(v) for v in values):
        return
    noise = RELATIVE_TOL * magnitude if magnitude else 0.0
    if std_error == 0 or (abs(std_error) <= noise and abs(estimate) <= noise):
        raise not_estimable(
            method,
            "the standard error is 0 (the model fits the data exactly: the outcome shows no variation it does not explain), "
            "so an interval of zero width would claim certainty the data do not give",
        )


def require_finite_money(what: str, value: float) -> None:
    """Raise :class:`NotEstimableError` when a money total (costs, benefits, ROI draws) is not finite.

    Parameters
    ----------
    what : str
        The quantity in plain words, e.g. ``"the fully-loaded costs total"``.
    value : float
        Its value.
    """
    if not math.isfinite(float(value)):
        raise not_estimable("ROI", f"{what} overflows ({_MONEY_ADVICE})")


def money_text(value: float) -> str:
    """``value`` as ``1,234.50``, or a phrase instead of ``inf``/``nan`` for an overflowing amount (audit lines)."""
    v = float(value)
    return f"{v:,.2f}" if math.isfinite(v) else "too large to represent (overflow)"


def require_adjusted_variation(adjustment: Any) -> None:
    """Raise :class:`NotEstimableError` when every participant's adjusted estimate is the same.

    Parameters
    ----------
    adjustment : EstimatesAdjustment
        From :func:`lopsnb.evaluation.roi.adjust_estimates`: the per-person
        values are the used adjusted claims plus a zero per non-respondent.
    """
    frame = adjustment.adjusted
    used = np.where(frame["excluded"].to_numpy(bool), 0.0, frame["adjusted"].to_numpy(float)) if len(frame) else np.zeros(0)
    values = np.concatenate([used, np.zeros(int(adjustment.n_nonrespondents))])
    require_variation("estimates", values, "every participant's adjusted improvement (improvement x attribution x confidence)")
