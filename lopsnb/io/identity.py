"""Identity resolution: one person across the LMS, the survey tool and the HRIS.

A source that does not carry the HRIS ``person_id`` says which ``people``
column its identifier matches (``match_on: email``, ``lms_username``,
``badge_number`` …). :func:`resolve_identities` replaces each identifier by
the ``person_id`` of the one person it matches, comparing them with
:func:`normalise_identifier` (case, runs of spaces and, for e-mail
addresses, declared domain aliases do not matter). An identifier matching no
person or several people is *unmatched* or *ambiguous*: reported with counts
and examples, and with ``unmatched: drop`` its rows are left out and counted
(:class:`IdentityReport`, shown by ``lopsnb validate`` and in each report's
coverage notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from lopsnb.errors import Problem

__all__ = ["IdentityReport", "normalise_identifier", "resolve_identities", "MAX_EXAMPLES"]

#: Identifiers quoted in a message or a summary before the rest are counted.
MAX_EXAMPLES = 5


def normalise_identifier(value: object, email_domains: Mapping[str, str] | None = None) -> str | None:
    """The form identifiers are compared in: trimmed, single-spaced, case-folded, domain aliases resolved.

    Parameters
    ----------
    value : object
        A cell; blanks give None.
    email_domains : mapping of str to str, optional
        Alias domain → canonical domain (``{old-name.example: acme.example}``),
        for an LMS that still has addresses of a renamed company.

    Examples
    --------
    >>> normalise_identifier("  Ana.Lopez@ACME.example ")
    'ana.lopez@acme.example'
    >>> normalise_identifier("ana@acme-corp.example", {"acme-corp.example": "acme.example"})
    'ana@acme.example'
    """
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        # A numeric id column (Moodle user ids) reads as floats: 310.0 is '310'.
        value = int(value)
    text = " ".join(str(value).split()).casefold()
    if not text:
        return None
    if "@" in text:
        # An address is compared without spaces around the '@', and its domain
        # through the declared aliases.
        local, _, domain = text.rpartition("@")
        local, domain = local.strip(), domain.strip()
        aliases = {k.casefold().strip(): v.casefold().strip() for k, v in (email_domains or {}).items()}
        text = f"{local}@{aliases.get(domain, domain)}"
    return text


@dataclass(frozen=True, kw_only=True)
class IdentityReport:
    """How one source's identifiers matched ``people``.

    Attributes
    ----------
    table : str
        The table fed by the source.
    match_on : str
        The ``people`` column matched.
    policy : {"error", "drop"}
        What happens to unmatched and ambiguous rows.
    rows : int
        Rows with an identifier.
    matched_rows : int
        Rows whose identifier matched exactly one person.
    unmatched : list of str
        Distinct identifiers matching no person (as written, first few).
    unmatched_count, unmatched_rows : int
        How many distinct identifiers, and rows, match no person.
    ambiguous : list of str
        Distinct identifiers matching several people (first few).
    ambiguous_count, ambiguous_rows : int
        How many, and their rows.
    dropped_rows : int
        Rows left out (with ``policy`` ``drop``).
    dropped_by_program : dict of str to int
        Dropped rows per ``program_id`` (tables with one).
    """

    table: str
    match_on: str
    policy: str
    rows: int
    matched_rows: int
    unmatched: list[str] = field(default_factory=list)
    unmatched_count: int = 0
    unmatched_rows: int = 0
    ambiguous: list[str] = field(default_factory=list)
    ambiguous_count: int = 0
    ambiguous_rows: int = 0
    dropped_rows: int = 0
    dropped_by_program: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: matched rows, unmatched and ambiguous identifiers with examples, dropped rows."""
        parts = [f"{self.table}: {self.matched_rows:,} of {self.rows:,} rows matched people.{self.match_on}"]
        if self.unmatched_count:
            parts.append(f"{self.unmatched_count} identifier(s) in {self.unmatched_rows} row(s) matched no person ({_examples(self.unmatched, self.unmatched_count)})")
        if self.ambiguous_count:
            parts.append(f"{self.ambiguous_count} identifier(s) in {self.ambiguous_rows} row(s) matched several people ({_examples(self.ambiguous, self.ambiguous_count)})")
        if self.dropped_rows:
            parts.append(f"{self.dropped_rows} row(s) dropped (unmatched: drop)")
        return "; ".join(parts)

    def coverage_note(self, program_id: str | None = None) -> str | None:
        """The report's coverage note on rows dropped for this program (None when none were)."""
        n = self.dropped_by_program.get(program_id, 0) if program_id is not None and self.dropped_by_program else self.dropped_rows
        if not n:
            return None
        return (f"{n} {self.table} row(s) left out: their identifier matched no person, or several, in people.{self.match_on} "
                f"(workspace.yml sources.{self.table}.unmatched: drop)")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the cache manifest)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IdentityReport:
        """The report :meth:`to_dict` wrote."""
        return cls(**dict(data))


def _examples(values: list[str], count: int) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_EXAMPLES])
    return f"e.g. {shown}" + (f" and {count - MAX_EXAMPLES} more" if count > MAX_EXAMPLES else "")


def resolve_identities(
    frame: pd.DataFrame,
    *,
    column: str,
    people: pd.DataFrame,
    match_on: str,
    policy: str,
    email_domains: Mapping[str, str],
    table: str,
    file: str,
    row_base: int,
    their_column: str,
) -> tuple[pd.DataFrame, list[Problem], IdentityReport]:
    """Replace the identifiers in ``frame[column]`` by the ``person_id`` of the person each matches.

    Parameters
    ----------
    frame : DataFrame
        The source's raw (mapped) cells; its index gives the row numbers.
    column : str
        The column holding the identifier (``person_id`` after mapping).
    people : DataFrame
        The validated ``people`` table.
    match_on : str
        The ``people`` column the identifiers are values of.
    policy : {"error", "drop"}
        ``error``: unmatched and ambiguous identifiers are problems;
        ``drop``: their rows are left out and counted.
    email_domains : mapping of str to str
        Domain aliases (see :func:`normalise_identifier`).
    table, file : str
        For the report and the problems.
    row_base : int
        Row number of the frame's index 0 (2 for a file with a header).
    their_column : str
        The user's name of the identifier column, for problems.

    Returns
    -------
    frame : DataFrame
        Identifiers replaced by ``person_id``; with ``drop``, without the
        unmatched and ambiguous rows.
    problems : list of Problem
        With ``error``: one problem for the unmatched and one for the
        ambiguous identifiers, each with counts, examples and their rows.
    report : IdentityReport
    """
    index: dict[str, set[str]] = {}
    for ident, pid in zip(people[match_on], people["person_id"], strict=True):
        key = normalise_identifier(ident, email_domains)
        if key is not None:
            index.setdefault(key, set()).add(str(pid))
    keys = frame[column].map(lambda v: normalise_identifier(v, email_domains))
    has = keys.notna()
    found = keys.map(lambda k: index.get(k) if k is not None else None)
    n_match = found.map(lambda s: len(s) if s else 0)
    unmatched, ambiguous = has & (n_match == 0), has & (n_match > 1)
    out = frame.copy()
    single = has & (n_match == 1)
    out.loc[single, column] = found[single].map(lambda s: next(iter(s)))
    problems: list[Problem] = []
    groups = {}
    for name, mask, what in (("unmatched", unmatched, "match no person"), ("ambiguous", ambiguous, "match several people")):
        distinct = list(dict.fromkeys(str(v).strip() for v in frame.loc[mask, column]))
        groups[name] = (distinct, int(mask.sum()))
        if mask.any() and policy == "error":
            rows = (frame.index[mask.to_numpy()] + row_base).tolist()
            shown = ", ".join(f"{v!r} (row {r})" for v, r in list(zip(frame.loc[mask, column], rows, strict=True))[:MAX_EXAMPLES])
            more = f" and {int(mask.sum()) - MAX_EXAMPLES} more row(s)" if mask.sum() > MAX_EXAMPLES else ""
            problems.append(Problem(
                file, int(rows[0]), their_column,
                f"{len(distinct)} identifier(s) in {int(mask.sum())} row(s) that {what} in people.{match_on}: {shown}{more}",
                f"a value of people.{match_on}, once (compared ignoring case and spaces); or declare sources.{table}.unmatched: drop to leave such rows out",
            ))
    drop = (unmatched | ambiguous) if policy == "drop" else pd.Series(False, index=frame.index)
    by_program: dict[str, int] = {}
    if drop.any() and "program_id" in frame.columns:
        by_program = {str(k): int(v) for k, v in frame.loc[drop, "program_id"].astype(str).str.strip().value_counts().items()}
    report = IdentityReport(
        table=table, match_on=match_on, policy=policy, rows=int(has.sum()), matched_rows=int(single.sum()),
        unmatched=groups["unmatched"][0][:MAX_EXAMPLES], unmatched_count=len(groups["unmatched"][0]), unmatched_rows=groups["unmatched"][1],
        ambiguous=groups["ambiguous"][0][:MAX_EXAMPLES], ambiguous_count=len(groups["ambiguous"][0]), ambiguous_rows=groups["ambiguous"][1],
        dropped_rows=int(drop.sum()), dropped_by_program=by_program,
    )
    return out[~drop], problems, report
