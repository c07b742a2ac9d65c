"""The loaded workspace: validated canonical tables and program definitions.

This module holds only the data class, so that both the loader
(:mod:`lopsnb.io.workspace`) and the cache (:mod:`lopsnb.io.cache`) can build
one without importing each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lopsnb.errors import ProgramConfigError, UnknownProgramError
from lopsnb.io.identity import IdentityReport
from lopsnb.io.programs import Program
from lopsnb.io.rules import participant_counts
from lopsnb.io.schemas import TABLES, empty_frame

__all__ = ["Workspace"]


@dataclass
class Workspace:
    """A validated workspace: canonical tables and program definitions.

    Attributes
    ----------
    path : Path
        The workspace folder.
    tables : dict of str to DataFrame
        Canonical, typed tables (see ``docs/data-contract.md``); every row
        carries ``_row``, its row number in the source.
    programs : dict of str to Program
        Valid program definitions by id.
    sources : dict of str to str
        Where each table came from (file path, ``sql:...``, ``xapi:...`` or
        ``lrs:<endpoint>``).
    program_errors : dict of str to ProgramConfigError
        Programs whose file failed validation (only with
        ``on_program_error="collect"``).
    notes : list of str
        Things worth knowing that are not errors (encoding fallbacks, header
        rows found below the first row, xAPI statistics).
    source_signature : dict or None
        Names, sizes and mtimes of the source files taken just before they
        were read (see :func:`lopsnb.io.cache.source_signature`).
    full_date_ranges : dict or None
        Date ranges of the whole workspace's tables when this workspace holds
        only some programs (``load_workspace(..., programs=...)``), so that
        ``data_as_of`` stays that of the whole workspace.
    cache_dir : Path or None
        The cache folder the tables were read from, if any.
    intake : dict of str to list of str
        Per table read through a declared mapping (``workspace.yml``), what
        the mapping did (preset, renamed columns, recoded values, filters).
    identity : dict of str to IdentityReport
        Per table whose source declares ``match_on``, how its identifiers
        matched ``people`` (and how many rows were dropped).
    """

    path: Path
    tables: dict[str, pd.DataFrame]
    programs: dict[str, Program]
    sources: dict[str, str] = field(default_factory=dict)
    program_errors: dict[str, ProgramConfigError] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    name: str | None = None
    source_signature: dict[str, Any] | None = field(default=None, repr=False)
    full_date_ranges: dict[str, tuple[pd.Timestamp, pd.Timestamp] | None] | None = field(default=None, repr=False)
    cache_dir: Path | None = field(default=None, repr=False)
    intake: dict[str, list[str]] = field(default_factory=dict)
    identity: dict[str, IdentityReport] = field(default_factory=dict)

    def identity_notes(self, program_id: str | None = None) -> list[str]:
        """Coverage notes on rows dropped by identity matching (for ``program_id``'s rows when given)."""
        notes = [r.coverage_note(program_id) for r in self.identity.values()]
        return [n for n in notes if n]

    def table(self, name: str) -> pd.DataFrame:
        """The canonical table ``name`` (an empty canonical frame when not measured)."""
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
        return self.tables.get(name, empty_frame(name))

    def has(self, name: str) -> bool:
        """Whether table ``name`` was supplied (and has at least one row)."""
        return name in self.tables and len(self.tables[name]) > 0

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name in TABLES:
            return self.table(name)
        raise AttributeError(name)

    def program(self, program_id: str) -> Program:
        """The program ``program_id``.

        Raises
        ------
        ProgramConfigError
            When the program's file is invalid (kept in ``program_errors`` by
            ``load_workspace(..., on_program_error="collect")``): the error
            names the file and every problem in it.
        UnknownProgramError
            A ``KeyError`` naming the known ids, when there is no such program.
        """
        if program_id not in self.programs and program_id in self.program_errors:
            err = self.program_errors[program_id]
            raise type(err)(err.problems, summary=err.summary)
        try:
            return self.programs[program_id]
        except KeyError:
            raise UnknownProgramError(program_id, self.path, sorted(self.programs)) from None

    def date_range(self, name: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Earliest and latest date in the table's first date column."""
        if self.full_date_ranges is not None and name in self.full_date_ranges:
            return self.full_date_ranges[name]
        frame = self.tables.get(name)
        if frame is None or frame.empty:
            return None
        for col in TABLES[name].columns:
            if col.kind == "date" and col.name in frame and frame[col.name].notna().any():
                return frame[col.name].min(), frame[col.name].max()
        return None

    @property
    def data_as_of(self) -> pd.Timestamp | None:
        """Latest KPI period: the date the evidence runs to."""
        rng = self.date_range("kpis")
        return rng[1] if rng else None

    def fingerprint(self) -> str:
        """A hash of every source file's bytes, for cache invalidation."""
        digest = hashlib.sha256()
        for f in sorted(self._source_files()):
            digest.update(str(f.relative_to(self.path)).encode())
            digest.update(f.read_bytes())
        return digest.hexdigest()

    def _source_files(self) -> Iterator[Path]:
        for pattern in ("*.csv", "*.parquet", "*.xlsx", "*.json", "*.jsonl", "*.db", "*.sqlite", "workspace.yml", "programs/*.yml"):
            yield from self.path.glob(pattern)

    def summary(self) -> str:
        """Plain-text description: tables with row counts and date ranges, then programs."""
        lines = [f"Workspace {self.name or self.path.name} ({self.path})", "", "Tables:"]
        for name in TABLES:
            if name in self.tables:
                rng = self.date_range(name)
                span = f"  {rng[0]:%Y-%m-%d} .. {rng[1]:%Y-%m-%d}" if rng else ""
                lines.append(f"  {name:<12} {len(self.tables[name]):>9,} rows  from {self.sources.get(name, '?')}{span}")
            else:
                lines.append(f"  {name:<12} {'—':>9}       not measured")
        lines += ["", f"Programs ({len(self.programs)}):"]
        counts = participant_counts(self.table("enrollments"))
        for pid, prog in sorted(self.programs.items()):
            ev = prog.evaluation
            what = f"outcome {prog.outcome} ({ev.entity}), design {ev.design}" if prog.evaluate else "catalog course: inputs only (evaluate: false)"
            lines.append(f"  {pid:<24} {int(counts.get(pid, 0)):>6} participants  {what}")
        for pid, err in sorted(self.program_errors.items()):
            lines.append(f"  {pid:<24} INVALID: {len(err.problems)} problem(s)")
        if self.intake:
            lines += ["", "Mappings applied (workspace.yml):"]
            for table, applied in self.intake.items():
                lines += [f"  {table}:"] + [f"    - {a}" for a in applied]
        if self.identity:
            lines += ["", "Identity matching:"] + [f"  - {r.summary()}" for r in self.identity.values()]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(self.summary()) + "</pre>"
