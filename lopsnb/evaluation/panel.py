"""Build the entity × period panel of a program's outcome.

Definitions (see ``docs/data-contract.md``):

* **Participants** are entities enrolled in the program with a status other
  than ``dropped``. A person's *treatment date* is ``completed_on`` (else
  ``enrolled_on``, else the program launch). An org unit participates when
  the share of its people enrolled reaches ``evaluation.treated_share``; its
  treatment date is the date the k-th of them completed, k = ⌈share ×
  headcount⌉.
* **Comparison** entities are eligible non-participants: people never
  enrolled in the program (not even dropped) who match
  ``evaluation.comparison``; for org units, units with no enrolled person.
  Partially-enrolled units are excluded from both groups (contaminated).
* An entity's **baseline value** is the mean of its observations in the
  baseline window and its **followup value** the mean in the followup
  window. Absolute windows are dates; offset windows count periods from each
  entity's treatment period (0 = the completion period).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lopsnb.errors import EvaluationError
from lopsnb.evaluation.degenerate import outcome_scale
from lopsnb.io.programs import Program, Window
from lopsnb.io.rules import is_dropped, is_not_participating
from lopsnb.io.workspace import Workspace

__all__ = ["FREQUENCIES", "ImpactPanel", "build_panel", "frequency_gap", "period_gaps", "period_index", "window_exclusions"]


#: Frequencies of ``evaluation.frequency`` and the periods of each in a year.
FREQUENCIES: dict[str, int] = {"week": 52, "month": 12, "quarter": 4, "year": 1}


def period_index(dates: pd.Series, frequency: str) -> pd.Series:
    """Consecutive integer index of each date's period (week, month, quarter or year).

    Weeks start on Monday (counted from 1970-01-05); months, quarters and
    years are calendar periods. Consecutive periods get consecutive integers.
    """
    d = pd.to_datetime(dates)
    if frequency == "month":
        return (d.dt.year * 12 + d.dt.month - 1).astype("Int64")
    if frequency == "quarter":
        return (d.dt.year * 4 + (d.dt.month - 1) // 3).astype("Int64")
    if frequency == "week":
        return ((d - pd.Timestamp("1970-01-05")).dt.days // 7).astype("Int64")
    if frequency == "year":
        return d.dt.year.astype("Int64")
    raise EvaluationError(f"unknown frequency {frequency!r}; expected {', '.join(FREQUENCIES)}")


def window_exclusions(program: Program, treat_dates: pd.Series) -> tuple[set[str], str | None]:
    """Participants the absolute-window rule excludes, and why in plain words.

    A participant who completed on or before the baseline end, or on or after
    the followup start, would be counted as treated in a window where it was
    not (or the reverse): it is excluded rather than bias the effect.

    Parameters
    ----------
    program : Program
        With absolute ``evaluation.baseline`` / ``followup`` windows.
    treat_dates : Series
        Treatment date per participating entity (index: entity id).

    Returns
    -------
    (excluded ids, message)
        The message (None when nobody is excluded) says how many, why and
        which setting to change.
    """
    ev = program.evaluation
    if ev.baseline is None or ev.followup is None or ev.baseline.relative:
        return set(), None
    tt = pd.to_datetime(treat_dates)
    b_end, f_start = pd.Timestamp(ev.baseline.end), pd.Timestamp(ev.followup.start)
    early, late = tt[tt <= b_end], tt[tt >= f_start]
    bad = set(early.index) | set(late.index)
    if not bad:
        return bad, None
    n = len(tt)
    parts = []
    if len(late):
        who = f"all {n} participants" if len(late) == n else f"{len(late)} of {n} participants"
        parts.append(
            f"{who} completed on or after the followup began ({f_start.date()}; latest completion {late.max().date()}): "
            f"set evaluation.followup.start after the completions"
        )
    if len(early):
        who = f"all {n} participants" if len(early) == n else f"{len(early)} of {n} participants"
        parts.append(
            f"{who} completed on or before the baseline ended ({b_end.date()}; earliest completion {early.min().date()}): "
            f"set evaluation.baseline.end before the completions"
        )
    fix = "; or use offset windows (baseline/followup offset: [from, to]) when completions are staggered"
    return bad, f"{len(bad)} participant(s) excluded by the window rule: " + "; ".join(parts) + fix


def _frequency_of(days: float) -> str:
    """The frequency whose period length is nearest to ``days``."""
    lengths = {"week": 7, "month": 30.4, "quarter": 91.3, "year": 365.25}
    return min(lengths, key=lambda k: abs(np.log(days / lengths[k])))


def frequency_gap(periods: pd.Series, frequency: str, *, metric: str) -> tuple[str, str] | None:
    """The first gap of the observed periods at ``frequency``: (what was found, what to set).

    Parameters
    ----------
    periods : Series of dates
        The ``period`` dates of a metric's KPI rows.
    frequency : str
        ``evaluation.frequency``.
    metric : str
        Named in the description.

    Returns
    -------
    (found, fix) or None
        None when consecutive periods are all observed. ``fix`` names the
        ``evaluation.frequency`` matching the spacing of the data (or asks for
        the missing periods when the spacing already matches).
    """
    dates = pd.Series(pd.to_datetime(periods)).dropna()
    if dates.empty:
        return None
    idx = pd.DataFrame({"p": period_index(dates, frequency).astype("int64").to_numpy(), "d": dates.to_numpy()}).groupby("p")["d"].min().sort_index()
    steps = np.diff(idx.index.to_numpy())
    if len(steps) == 0 or (steps == 1).all():
        return None
    i = int(np.argmax(steps != 1))
    days = float(np.median(np.diff(idx.to_numpy()).astype("timedelta64[D]").astype(float)))
    suggest = _frequency_of(days) if days > 0 else frequency
    found = (f"kpis rows of metric {metric!r} not observed every {frequency}: none between "
             f"{pd.Timestamp(idx.iloc[i]).date()} and {pd.Timestamp(idx.iloc[i + 1]).date()} (data about {days:.0f} days apart)")
    fix = f"evaluation.frequency: {suggest} (the spacing of the data)" if suggest != frequency else "a kpis row in every period"
    return found, fix


def period_gaps(periods: pd.Series, frequency: str, *, metric: str) -> str | None:
    """:func:`frequency_gap` as one sentence (None when there is no gap)."""
    gap = frequency_gap(periods, frequency, metric=metric)
    return None if gap is None else f"{gap[0]}; set {gap[1]}"


@dataclass(kw_only=True)
class ImpactPanel:
    """The outcome panel of one program and the facts needed to evaluate it.

    Attributes
    ----------
    obs : DataFrame
        One row per entity and period: ``entity_id``, ``period`` (date),
        ``pidx`` (integer period), ``value`` (log value when transformed),
        ``treated`` (bool), ``cohort`` (treatment period index, NaN for the
        comparison), ``window`` ("baseline", "followup" or NA), ``post``.
    entities : DataFrame
        One row per entity (index ``entity_id``): ``treated``, ``cohort``,
        ``treat_date``, ``baseline``, ``followup``, ``n_baseline``,
        ``n_followup`` and the covariates.
    relative : bool
        Whether the windows are cohort-relative offsets (staggered design).
    attrition : dict
        ``enrolled``, ``dropped``, ``participants``, ``completed``,
        ``with_outcome``, ``with_baseline_and_followup``.
    notes : list of str
        Exclusions and their counts.
    window_note : str or None
        Why the absolute-window rule excluded participants (and the fix).
    """

    program: Program
    obs: pd.DataFrame
    entities: pd.DataFrame
    relative: bool
    attrition: dict[str, int]
    notes: list[str] = field(default_factory=list)
    participants: pd.DataFrame = field(default_factory=pd.DataFrame)
    window_note: str | None = None

    @property
    def n_treated(self) -> int:
        """Participating entities with at least one outcome observation."""
        return int(self.entities["treated"].sum())

    @property
    def n_comparison(self) -> int:
        """Comparison entities with at least one outcome observation."""
        return int((~self.entities["treated"]).sum())

    def series(self) -> pd.DataFrame:
        """Mean outcome per period and group: columns period, group, mean, n (entities)."""
        if self.obs.empty:
            return pd.DataFrame(columns=["period", "group", "mean", "n"])
        grp = self.obs.assign(group=np.where(self.obs["treated"], "participants", "comparison"))
        # Averaged after dividing by a power of two (exact): sums of huge KPIs would overflow.
        k = outcome_scale(grp["value"])
        out = grp.assign(value=grp["value"] / k).groupby(["period", "group"], observed=True)["value"].agg(mean="mean", n="count").reset_index()
        out["mean"] *= k
        return out.sort_values(["group", "period"], ascending=[False, True]).reset_index(drop=True)


def _in_window(dates: pd.Series, w: Window) -> pd.Series:
    return (dates >= pd.Timestamp(w.start)) & (dates <= pd.Timestamp(w.end))


def _participants(ws: Workspace, program: Program) -> tuple[pd.DataFrame, dict[str, int], list[str], set[str]]:
    """Participating entities with treatment dates; attrition counts; notes; every enrolled entity id."""
    enr = ws.table("enrollments")
    enr = enr[enr["program_id"] == program.id]
    dropped = is_dropped(enr)
    active = enr[~is_not_participating(enr)]
    completed = active["completed_on"].notna() | (active["status"].fillna("") == "completed")
    launch = pd.Timestamp(program.launch) if program.launch else pd.NaT
    treat_date = active["completed_on"].fillna(active["enrolled_on"]).fillna(launch)
    persons = pd.DataFrame({"person_id": active["person_id"].to_numpy(), "treat_date": treat_date.to_numpy()})
    attrition = {
        "enrolled": int(len(enr)),
        "dropped": int(dropped.sum()),
        "participants": int(active["person_id"].nunique()),
        "completed": int(completed.sum()),
    }
    notes: list[str] = []
    if program.evaluation.entity == "person":
        ents = persons.rename(columns={"person_id": "entity_id"}).drop_duplicates("entity_id")
        return ents, attrition, notes, set(enr["person_id"])
    people = ws.table("people")[["person_id", "org_unit"]]
    headcount = people.groupby("org_unit")["person_id"].nunique()
    joined = persons.merge(people, on="person_id", how="left")
    share = program.evaluation.treated_share
    rows = []
    for unit, grp in joined.dropna(subset=["org_unit"]).groupby("org_unit"):
        k = math.ceil(share * headcount.get(unit, 0))
        if len(grp) >= max(k, 1):
            rows.append((unit, grp["treat_date"].sort_values().iloc[max(k, 1) - 1]))
    ents = pd.DataFrame(rows, columns=["entity_id", "treat_date"])
    enrolled_units = set(people.loc[people["person_id"].isin(enr["person_id"]), "org_unit"].dropna())
    partial = len(enrolled_units) - len(ents)
    if partial:
        notes.append(f"{partial} org unit(s) with some enrolled people below treated_share {share:g} excluded from both groups")
    attrition["participating_units"] = len(ents)
    return ents, attrition, notes, enrolled_units


def _comparison(ws: Workspace, program: Program, enrolled: set[str]) -> set[str]:
    people = ws.table("people")
    filt = program.evaluation.comparison or {}
    if program.evaluation.entity == "person":
        mask = ~people["person_id"].isin(enrolled)
        for col, values in filt.items():
            mask &= people[col].astype("str").isin([str(v) for v in values])
        return set(people.loc[mask, "person_id"])
    units = set(people["org_unit"].dropna()) - enrolled
    if "org_unit" in filt:
        units &= {str(v) for v in filt["org_unit"]}
    for col, values in filt.items():
        if col != "org_unit":
            ok = set(people.loc[people[col].astype("str").isin([str(v) for v in values]), "org_unit"].dropna())
            units &= ok
    return units


def _covariates(ws: Workspace, program: Program, entity_ids: pd.Index) -> pd.DataFrame:
    covs = list(program.evaluation.covariates)
    if not covs:
        return pd.DataFrame(index=entity_ids)
    people = ws.table("people")
    if program.evaluation.entity == "person":
        return people.set_index("person_id")[covs].reindex(entity_ids)
    numeric = [c for c in covs if pd.api.types.is_numeric_dtype(people[c])]
    return people.groupby("org_unit")[numeric].mean().reindex(entity_ids)


def _outcome_obs(kpis: pd.DataFrame, program: Program, metric: str, entity_ids: set[str], tdates: pd.Series,
                 notes: list[str]) -> pd.DataFrame:
    """The metric's observations of ``entity_ids`` with ``pidx``, ``treated`` and ``cohort`` (period index of treatment)."""
    ev = program.evaluation
    treated_ids = set(tdates.index)
    obs = kpis[kpis["entity_id"].isin(entity_ids)][["entity_id", "period", "value"]]
    n_missing = int(obs["value"].isna().sum())
    obs = obs.dropna(subset=["value"])
    if n_missing:
        notes.append(f"{n_missing} blank outcome value(s) ignored")
    if ev.transform == "log":
        nonpos = obs["value"] <= 0
        if nonpos.any():
            notes.append(f"{int(nonpos.sum())} observation(s) ≤ 0 dropped for the log transform")
        obs = obs[~nonpos].assign(value=lambda d: np.log(d["value"]))
    obs = obs.assign(pidx=period_index(obs["period"], ev.frequency).astype("int64"), treated=obs["entity_id"].isin(treated_ids))
    cohort = period_index(tdates.reindex(obs["entity_id"]).reset_index(drop=True), ev.frequency)
    obs["cohort"] = cohort.to_numpy(dtype="float64", na_value=np.nan)
    return obs


def _assign_windows(obs: pd.DataFrame, program: Program, tdates: pd.Series, treated_ids: set[str],
                    notes: list[str]) -> tuple[pd.DataFrame, set[str], str | None]:
    """Label each observation ``baseline`` / ``followup`` (or NA); drop participants the window rule excludes."""
    ev = program.evaluation
    window_note: str | None = None
    window = pd.Series(pd.NA, index=obs.index, dtype="object")
    if ev.baseline is not None and ev.followup is not None:
        if ev.baseline.relative:
            rel = obs["pidx"] - obs["cohort"]
            lo_b, hi_b = ev.baseline.offset  # type: ignore[misc]
            lo_f, hi_f = ev.followup.offset  # type: ignore[misc]
            window[obs["treated"] & rel.between(lo_b, hi_b)] = "baseline"
            window[obs["treated"] & rel.between(lo_f, hi_f)] = "followup"
        else:
            window[_in_window(obs["period"], ev.baseline)] = "baseline"
            window[_in_window(obs["period"], ev.followup)] = "followup"
            bad, message = window_exclusions(program, tdates.reindex(list(treated_ids)))
            if bad:
                notes.append(message)  # type: ignore[arg-type]
                window_note = message
                keep = ~obs["entity_id"].isin(bad)
                obs, window = obs[keep], window[keep]
                treated_ids = treated_ids - bad
    elif ev.followup is not None and not ev.followup.relative:
        # Followup only (design weighting without a baseline window): a
        # participant who completed after the followup began was untreated
        # for part of it.
        window[_in_window(obs["period"], ev.followup)] = "followup"
        tt = tdates.reindex(list(treated_ids))
        late = set(tt[tt >= pd.Timestamp(ev.followup.start)].index)
        if late:
            notes.append(f"{len(late)} participant(s) excluded: completed after the followup began")
            keep = ~obs["entity_id"].isin(late)
            obs, window = obs[keep], window[keep]
            treated_ids = treated_ids - late
    obs = obs.assign(window=window, post=(window == "followup").fillna(False).astype(bool))
    return obs, treated_ids, window_note


def _entity_table(obs: pd.DataFrame, treated_ids: set[str], tdates: pd.Series) -> pd.DataFrame:
    """One row per entity: treated flag, treatment date, cohort, window means and counts."""
    # Window means of huge KPIs: divide by a power of two (exact) so the sums do not overflow.
    k = outcome_scale(obs["value"])
    means = obs.dropna(subset=["window"]).assign(value=lambda o: o["value"] / k).pivot_table(
        index="entity_id", columns="window", values="value", aggfunc=["mean", "count"])
    means.loc[:, [c for c in means.columns if c[0] == "mean"]] *= k
    ent_index = pd.Index(sorted(obs["entity_id"].unique()), name="entity_id")
    entities = pd.DataFrame(index=ent_index)
    entities["treated"] = entities.index.isin(treated_ids)
    entities["treat_date"] = tdates.reindex(ent_index)
    entities["cohort"] = obs.groupby("entity_id")["cohort"].first().reindex(ent_index)
    for w in ("baseline", "followup"):
        entities[w] = means[("mean", w)].reindex(ent_index) if ("mean", w) in means.columns else np.nan
        entities[f"n_{w}"] = means[("count", w)].reindex(ent_index).fillna(0).astype(int) if ("count", w) in means.columns else 0
    return entities


def build_panel(ws: Workspace, program: Program, *, metric: str | None = None) -> ImpactPanel:
    """Assemble the outcome panel of ``program`` (optionally for another ``metric``).

    Raises
    ------
    EvaluationError
        When the metric has no observations at all.
    """
    ev = program.evaluation
    metric = metric or program.outcome
    parts, attrition, notes, enrolled = _participants(ws, program)
    comparison = _comparison(ws, program, enrolled)
    kpis = ws.table("kpis")
    kpis = kpis[kpis["metric"] == metric]
    if kpis.empty:
        raise EvaluationError(f"metric {metric!r} has no rows in the kpis table")
    tdates = parts.set_index("entity_id")["treat_date"]
    obs = _outcome_obs(kpis, program, metric, set(parts["entity_id"]) | comparison, tdates, notes)
    obs, treated_ids, window_note = _assign_windows(obs, program, tdates, set(parts["entity_id"]), notes)
    entities = _entity_table(obs, treated_ids, tdates)
    entities = entities.join(_covariates(ws, program, entities.index))
    # Never drop a covariate silently: org-unit programs average numeric
    # people columns per unit and cannot use text ones.
    unused = [c for c in ev.covariates if c not in entities.columns]
    if unused:
        notes.append(f"covariate(s) {', '.join(unused)} not used: org-unit programs use unit means of numeric people columns only")
    tr = entities[entities["treated"]]
    attrition["with_outcome"] = int(len(tr))
    attrition["with_baseline_and_followup"] = int(((tr["n_baseline"] > 0) & (tr["n_followup"] > 0)).sum())
    missing = len(treated_ids) - len(tr)
    if missing > 0:
        notes.append(f"{missing} participating entit{'y has' if missing == 1 else 'ies have'} no {metric} data")
    attrition["with_followup"] = int((tr["n_followup"] > 0).sum())
    return ImpactPanel(program=program, obs=obs.reset_index(drop=True), entities=entities,
                       relative=bool(ev.baseline is not None and ev.baseline.relative), attrition=attrition, notes=notes,
                       participants=parts, window_note=window_note)

