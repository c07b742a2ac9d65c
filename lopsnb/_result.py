"""The common pattern of lopsnb result objects.

Every result derives its views from one tidy frame (``to_frame``), like
pyfixest's ``tidy()``: ``_repr_html_`` renders it, ``summary`` prints it, and
``to_dict`` adds the scalar headline fields a report needs.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["NotEstimated", "ResultMixin", "jsonable"]


@dataclass(frozen=True, kw_only=True)
class NotEstimated:
    """A result that is missing, and why: the one shape of "not estimated, because …".

    It stands where the result would be (``ProgramEvaluation.impact``,
    ``ProgramEvaluation.roi``), so a caller never holds a result and a separate
    reason string that could disagree. It is falsy: ``if ev.roi:`` reads
    "if there is an ROI".

    Attributes
    ----------
    reason : str
        Why there is no result, naming the cause and, where there is one, the fix.
    withheld : bool
        True when the result was computed but the decision rules do not let it be
        shown ("not claimed": the evidence or the costs cannot support it);
        False when it could not be computed at all.
    """

    reason: str
    withheld: bool = False

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.reason

    @property
    def status(self) -> str:
        """``"not claimed"`` for a withheld result, ``"not measured"`` otherwise (the chain table's status)."""
        return "not claimed" if self.withheld else "not measured"


def jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers into JSON-serialisable values.

    NaN and infinities become ``None`` (JSON has no NaN), dates ISO strings,
    floats are rounded to 12 significant digits so that results are
    byte-identical across runs that differ only in the last floating bits.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return jsonable(value.to_dict())
    if isinstance(value, (pd.Timestamp, datetime, date)):
        if pd.isna(value):
            return None
        return value.isoformat()[:10] if _is_midnight(value) else value.isoformat()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return None
        return float(f"{v:.12g}")
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _is_midnight(value: date | datetime) -> bool:
    if isinstance(value, datetime):
        return value.hour == 0 and value.minute == 0 and value.second == 0 and value.microsecond == 0
    return True


class ResultMixin:
    """Mixin giving a result object its standard accessors.

    Subclasses implement :meth:`to_frame` (the tidy frame every other view
    derives from), ``title`` and :meth:`plot`; they may extend :meth:`to_dict`.
    """

    title: str = "Result"

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - abstract
        """Return the tidy frame of this result."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (rows of the tidy frame under ``rows``)."""
        return {"rows": jsonable(self.to_frame())}

    def summary(self) -> str:
        """Return a plain-text summary (title and tidy frame)."""
        frame = self.to_frame()
        body = frame.to_string(index=False) if len(frame) else "(no data: not measured)"
        return f"{self.title}\n{'=' * len(self.title)}\n{body}"

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        body = (
            frame.to_html(index=False, escape=True, na_rep="–", float_format=lambda v: f"{v:,.4g}")
            if len(frame)
            else "<p><em>Not measured.</em></p>"
        )
        return f"<h4>{html.escape(self.title)}</h4>{body}"

    def __str__(self) -> str:
        return self.summary()
