"""A small synthetic workspace at any KPI frequency (week, month, quarter, year).

``value = 100 + entity effect + period effect + noise + effect × (participant
in a treated period)``: two-way fixed effects hold exactly, so DiD and
Callaway-Sant'Anna recover ``effect`` up to the noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FREQ = {"week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}
PER_YEAR = {"week": 52, "month": 12, "quarter": 4, "year": 1}


def periods(frequency: str, n: int) -> pd.DatetimeIndex:
    """``n`` consecutive period start dates (weeks start on Monday)."""
    return pd.date_range("2012-01-02" if frequency == "week" else "2012-01-01", periods=n, freq=FREQ[frequency])


def tables(frequency: str, *, staggered: bool = False, n_treated: int = 20, n_comparison: int = 20, n_periods: int = 12,
           effect: float = 10.0, seed: int = 7, kpi_frequency: str | None = None) -> dict[str, pd.DataFrame]:
    """People, enrollments, kpis and costs of program ``demo`` (KPIs at ``kpi_frequency``, default ``frequency``)."""
    rng = np.random.default_rng(seed)
    n = n_treated + n_comparison
    ids = [f"S{i:03d}" for i in range(n)]
    people = pd.DataFrame({
        "person_id": ids, "name": [f"Person {i}" for i in range(n)], "org_unit": ["east"] * n, "role": ["Rep"] * n,
        "location": ["NYC"] * n, "manager_id": [""] * n, "hire_date": ["2010-01-15"] * n, "hourly_cost": [50.0] * n,
        "email": [f"s{i}@acme.example" for i in range(n)], "tenure_years": rng.integers(1, 10, n).astype(float),
    })
    dates = periods(kpi_frequency or frequency, n_periods)
    # Absolute windows: everyone completes in period 5 (the last baseline period).
    # Staggered: two cohorts, treated from period 4 and period 7.
    cohort = [(4 if i % 2 else 7) if staggered else 6 for i in range(n_treated)]
    completed = [dates[g] + pd.Timedelta(days=1) if staggered else dates[g - 1] + pd.Timedelta(days=1) for g in cohort]
    enrollments = pd.DataFrame({
        "person_id": ids[:n_treated], "program_id": ["demo"] * n_treated,
        "enrolled_on": [(c - pd.Timedelta(days=1)).date().isoformat() for c in completed],
        "completed_on": [c.date().isoformat() for c in completed], "status": ["completed"] * n_treated, "hours": [8.0] * n_treated,
    })
    fe_entity, fe_period = rng.normal(0, 5, n), rng.normal(0, 3, n_periods)
    rows = []
    for i in range(n):
        for t, d in enumerate(dates):
            treated_now = i < n_treated and t >= cohort[i]
            rows.append({"entity_id": ids[i], "metric": "revenue", "period": d.date().isoformat(),
                         "value": 100 + fe_entity[i] + fe_period[t] + rng.normal(0, 1) + (effect if treated_now else 0.0)})
    costs = pd.DataFrame({"program_id": ["demo"], "category": ["delivery"], "amount": [500.0], "description": ["trainer"], "prorate_share": [1.0]})
    return {"people": people, "enrollments": enrollments, "kpis": pd.DataFrame(rows), "costs": costs, "assessments": None}


def program(frequency: str, *, staggered: bool = False, n_periods: int = 12, also: str = "[trend]", periods_per_year: float | None = None,
            kpi_frequency: str | None = None, followup_start: int = 6) -> str:
    """The program YAML of :func:`tables` (absolute windows, or offsets [-3, -1] / [0, 2] when staggered)."""
    dates = periods(kpi_frequency or frequency, n_periods)
    if staggered:
        windows = "  baseline: {offset: [-3, -1]}\n  followup: {offset: [0, 2]}\n"
        also = "[]"
    else:
        windows = (f"  baseline: {{start: {dates[0].date()}, end: {dates[5].date()}}}\n"
                   f"  followup: {{start: {dates[followup_start].date()}, end: {dates[-1].date()}}}\n")
    ppy = PER_YEAR[frequency] if periods_per_year is None else periods_per_year
    return (
        "id: demo\nname: Synthetic\nlaunch: " + str(dates[4].date()) + "\n"
        "chain:\n  business_metric: {metric: revenue, direction: increase, unit: USD}\n"
        f"evaluation:\n  entity: person\n  frequency: {frequency}\n{windows}  design: did\n  also: {also}\n  comparison: {{role: [Rep]}}\n"
        f"monetization: {{value_per_unit: 1.0, periods_per_year: {ppy}}}\n"
    )
