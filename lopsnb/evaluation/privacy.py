"""Small-group suppression of the Level-4 series, applied where the result is built.

A period's group mean over fewer than ``privacy.min_group_size`` entities can
reveal individuals' values. :func:`suppress_series` is the one place that rule
is applied: :func:`lopsnb.evaluation.evaluate` runs it on
``ImpactResult.series``, so ``results.json``, the report, the explorer and any
caller of ``to_dict()`` see the same, already suppressed, points — the report
stage only draws what it is given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["suppress_series"]


def suppress_series(series: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Flag and blank series points that average fewer than ``min_group_size`` entities.

    Parameters
    ----------
    series : DataFrame
        ``period, group, mean, n`` (one row per period and group).
    min_group_size : int
        The program's ``privacy.min_group_size``.

    Returns
    -------
    DataFrame
        The same rows plus ``suppressed`` (bool); ``mean`` is NaN (``null`` in
        ``results.json``) where ``suppressed``, so the hidden value is not
        carried anywhere. ``n`` (a count, not a value of anyone's) is kept.
        Idempotent.
    """
    if not len(series):
        return series.assign(suppressed=pd.Series(dtype=bool))
    hidden = (series["n"] < min_group_size).to_numpy()
    if "suppressed" in series:
        hidden = hidden | series["suppressed"].astype(bool).to_numpy()
    out = series.assign(suppressed=hidden)
    out["mean"] = np.where(hidden, np.nan, out["mean"].astype(float))
    return out
