"""Declared dialects and column mappings: a user's export reshaped into a contract table.

A ``workspace.yml`` source may say how *their* file is written — column
names, delimiter, decimal and thousands separators, encoding, date format,
value spellings, rows to skip — instead of the file being reshaped by hand.
:func:`apply_mapping` applies such a declaration to the raw cells a reader
returned, before :mod:`lopsnb.io.validate` parses them, and keeps the index
(so every row number stays the spreadsheet row of the user's file) and the
user's column names (so every problem names the column they know,
:func:`their_problems`).

The declaration is checked twice: its shape by the pydantic model
:class:`MappingFields` (unknown keys are errors), its meaning against the
contract and the file by :func:`check_mapping` and :func:`apply_mapping`,
each problem naming ``workspace.yml``, its line and the field.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lopsnb.errors import Problem
from lopsnb.io.rawcheck import CsvDialect
from lopsnb.io.schemas import TABLES, ParsedTable
from lopsnb.io.validate import problems_for_rows

__all__ = [
    "DATE_CODINGS",
    "PERSON_COLUMN",
    "ConfigSite",
    "DialectFields",
    "Intake",
    "MappedTable",
    "MappingFields",
    "apply_mapping",
    "check_mapping",
    "csv_dialect",
    "in_their_terms",
    "their_problems",
]

#: How dates may be coded instead of ISO text (``dates:``).
DATE_CODINGS: tuple[str, ...] = ("excel_serial", "epoch_s", "epoch_ms")

#: The column that holds a person's identifier, per table (what ``match_on`` resolves).
#: ``kpis.entity_id`` is one for person-level KPIs (a KPI extract keyed by badge number).
PERSON_COLUMN: dict[str, str] = {t: "person_id" for t in ("enrollments", "assessments", "behaviors", "estimates", "reactions")} | {"kpis": "entity_id"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MappingFields(_Strict):
    """Keys shared by every tabular source: how their columns and values map to the contract."""

    preset: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    date_format: str | None = None
    dates: Literal["excel_serial", "epoch_s", "epoch_ms"] | None = None
    keep_rows: dict[str, list[str]] = Field(default_factory=dict)
    drop_rows: dict[str, list[str]] = Field(default_factory=dict)
    match_on: str | None = None
    unmatched: Literal["error", "drop"] = "error"
    email_domains: dict[str, str] = Field(default_factory=dict)

    @field_validator("columns", "values", "keep_rows", "drop_rows", "email_domains", mode="before")
    @classmethod
    def _spellings_as_text(cls, value: Any) -> Any:
        """Numbers written unquoted (a Moodle course id ``12``) are their text; a YAML boolean is refused.

        YAML reads ``Yes``, ``No``, ``on`` or ``true`` unquoted as a boolean and
        forgets how it was spelled, so it cannot be matched against a file.
        """
        return _as_text(value)


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"an unquoted YAML boolean ({value}): write the spelling in quotes, e.g. 'Yes' or 'No'")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {_as_text(k): _as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return value


class DialectFields(_Strict):
    """Keys of a CSV file's dialect (how the text is written)."""

    delimiter: str | None = None
    decimal: Literal[".", ","] = "."
    thousands: str | None = None
    encoding: str | None = None


#: The keys of every source kind that maps columns (a source with only these is a file source).
MAPPING_KEYS: tuple[str, ...] = tuple(MappingFields.model_fields) + tuple(DialectFields.model_fields)


@dataclass(frozen=True, kw_only=True)
class ConfigSite:
    """Where a source is declared: ``workspace.yml``, its node tree and the table.

    Attributes
    ----------
    label : str
        The ``workspace.yml`` path, as named in problems.
    line_of : callable
        Maps a key path (``("sources", "kpis", "columns")``) to its 1-based line.
    table : str
        The table the source feeds.
    """

    label: str
    line_of: Callable[[tuple[Any, ...]], int | None]
    table: str

    def field(self, *keys: str) -> str:
        """The dotted field name, ``sources.<table>.<keys>``."""
        return ".".join(("sources", self.table, *keys))

    def problem(self, keys: tuple[str, ...], found: str, expected: str) -> Problem:
        """A problem of the field ``sources.<table>.<keys>`` at its line."""
        return Problem(self.label, self.line_of(("sources", self.table, *keys)), self.field(*keys), found, expected)


@dataclass(frozen=True, kw_only=True)
class Intake:
    """A resolved declaration: the preset's settings with the source's own on top.

    Attributes
    ----------
    columns : dict of str to str
        Their column name to contract (or, in ``people``, extra) column name.
    optional : frozenset of str
        Their columns that come from a preset and may be absent from the file.
    values : dict of str to dict
        Contract column to their value → contract value (compared ignoring
        case and surrounding spaces).
    date_format, dates : str or None
        How date columns are written (at most one of them).
    keep_rows, drop_rows : dict of str to list of str
        Row filters on their columns (values compared ignoring case and spaces).
    decimal : str
        Decimal separator of number cells.
    thousands : str or None
        Thousands separator of number cells.
    preset : str or None
        The preset the declaration starts from.
    key_of : dict of str to str
        For messages: which key each setting came from (``preset`` or the key).
    """

    columns: dict[str, str] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str | None = None
    dates: str | None = None
    keep_rows: dict[str, list[str]] = field(default_factory=dict)
    drop_rows: dict[str, list[str]] = field(default_factory=dict)
    decimal: str = "."
    thousands: str | None = None
    preset: str | None = None
    key_of: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether nothing is declared (the file is read as the contract says)."""
        return not (self.columns or self.values or self.date_format or self.dates or self.keep_rows or self.drop_rows
                    or self.decimal != "." or self.thousands)


@dataclass(frozen=True, kw_only=True)
class MappedTable:
    """A raw table after its declaration was applied.

    Attributes
    ----------
    parsed : ParsedTable
        Contract column names, converted cells, the reader's index (row numbers).
    their_names : dict of str to str
        Contract column name to the user's column name, for messages.
    problems : list of Problem
        Cells the declaration could not convert (in the user's terms).
    applied : list of str
        One line per thing done, for ``lopsnb validate``.
    """

    parsed: ParsedTable
    their_names: dict[str, str]
    problems: list[Problem]
    applied: list[str]


def csv_dialect(source: Any) -> CsvDialect | None:
    """The declared CSV dialect of a source (None when it declares none)."""
    delimiter, encoding = getattr(source, "delimiter", None), getattr(source, "encoding", None)
    return CsvDialect(delimiter=delimiter, encoding=encoding) if delimiter or encoding else None


def check_mapping(source: Any, site: ConfigSite, *, suffix: str | None, base: Intake | None = None) -> tuple[Intake, list[Problem]]:
    """Resolve a source's declaration (on top of its preset) and check it against the contract.

    Parameters
    ----------
    source : MappingFields (and DialectFields)
        The validated source model.
    site : ConfigSite
        Where the source is declared, for problems.
    suffix : str or None
        The file's extension (``.csv`` …), None for a non-file source.
    base : Intake, optional
        The preset's declaration (:func:`lopsnb.io.presets.preset_base`).

    Returns
    -------
    intake : Intake
    problems : list of Problem
        Each naming ``workspace.yml``, the line and the field, the value found
        and what is expected. The table should not be read when not empty.
    """
    intake = _merge(base or Intake(), source)
    problems = _dialect_problems(source, site, suffix)
    problems += _target_problems(intake, site)
    return intake, problems


def _merge(base: Intake, source: Any) -> Intake:
    """The preset's settings with the source's own keys on top (values merged per column)."""
    key_of = dict(base.key_of)
    columns = dict(base.columns)
    for theirs, ours in source.columns.items():
        # Declaring a preset's target again under another name replaces the preset's column.
        for old in [k for k, v in columns.items() if v == ours and k not in source.columns]:
            del columns[old]
        columns[theirs] = ours
        key_of[f"columns.{theirs}"] = "columns"
    values = {col: dict(m) for col, m in base.values.items()}
    for col, m in source.values.items():
        values.setdefault(col, {}).update(m)
    for key in ("date_format", "dates"):
        if getattr(source, key) is not None:
            key_of["dates"] = key
    dates_declared = source.date_format is not None or source.dates is not None
    return Intake(
        columns=columns,
        optional=frozenset(base.optional - set(source.columns)),
        values=values,
        date_format=source.date_format if dates_declared else base.date_format,
        dates=source.dates if dates_declared else base.dates,
        keep_rows={**base.keep_rows, **source.keep_rows},
        drop_rows={**base.drop_rows, **source.drop_rows},
        decimal=getattr(source, "decimal", "."),
        thousands=getattr(source, "thousands", None),
        preset=source.preset,
        key_of=key_of,
    )


def _dialect_problems(source: Any, site: ConfigSite, suffix: str | None) -> list[Problem]:
    out: list[Problem] = []
    declared = [k for k in DialectFields.model_fields if k in source.model_fields_set]
    if declared and suffix != ".csv":
        what = f"a {suffix} file" if suffix else "a source that is not a file"
        for key in declared:
            out.append(site.problem((key,), f"{key} declared for {what}", f"{key} only for a .csv file (workbooks, Parquet and SQL keep their own types)"))
        return out
    delimiter = getattr(source, "delimiter", None)
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\"\r\n"):
        out.append(site.problem(("delimiter",), repr(delimiter), "one character, such as ';', ',', '|' or a tab ('\\t')"))
    thousands = getattr(source, "thousands", None)
    if thousands is not None and (thousands not in (",", ".", " ", "'", "\u00a0", "\u202f") or thousands == source.decimal):
        out.append(site.problem(("thousands",), repr(thousands), f"one of ',', '.', ' ', \"'\" different from the decimal separator {source.decimal!r}"))
    if delimiter is not None and delimiter == source.decimal and "delimiter" in source.model_fields_set:
        out.append(site.problem(("decimal",), repr(source.decimal), f"a decimal separator other than the delimiter {delimiter!r}"))
    encoding = getattr(source, "encoding", None)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            out.append(site.problem(("encoding",), repr(encoding), "a Python codec name, such as utf-8, cp1252, latin-1 or utf-16"))
    return out


def _target_problems(intake: Intake, site: ConfigSite) -> list[Problem]:
    """Targets that are no contract column, targets given twice, values of unknown columns, bad date settings."""
    spec = TABLES[site.table]
    contract = [c.name for c in spec.columns]
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for theirs, ours in intake.columns.items():
        key = intake.key_of.get(f"columns.{theirs}", "preset")
        keys = ("columns", theirs) if key == "columns" else ("preset",)
        if ours not in contract and (site.table != "people" or not _IDENT.fullmatch(ours)):
            expected = "a column of the %s table: %s" % (site.table, ", ".join(contract))
            if site.table == "people":
                expected += " (or a new lowercase name for an extra identifier or covariate)"
            out.append(site.problem(keys, f"{theirs!r} → {ours!r}", expected))
        elif ours in seen:
            out.append(site.problem(keys, f"{theirs!r} and {seen[ours]!r} both mapped to {ours!r}", "each contract column from one of their columns"))
        seen.setdefault(ours, theirs)
    targets = set(intake.columns.values()) | set(contract)
    for col in intake.values:
        if col not in targets and col not in intake.columns:
            out.append(site.problem(("values", col), repr(col), f"a column of the {site.table} table (values are keyed by contract column)"))
    if intake.date_format is not None and intake.dates is not None:
        out.append(site.problem(("dates",), f"both date_format {intake.date_format!r} and dates {intake.dates!r}", "one of date_format or dates"))
    elif intake.date_format is not None and not _round_trips(intake.date_format):
        out.append(site.problem(("date_format",), repr(intake.date_format), "a strftime format with a day, a month and a year, such as '%d/%m/%Y' or '%m/%d/%Y %H:%M'"))
    return out


_IDENT = re.compile(r"[a-z][a-z0-9_]*")


def _round_trips(fmt: str) -> bool:
    """Whether ``fmt`` writes and reads back a full date (day, month and year directives)."""
    day = dt.datetime(2031, 11, 27, 13, 45)
    try:
        back = dt.datetime.strptime(day.strftime(fmt), fmt)
    except ValueError:
        return False
    return back.date() == day.date()


def apply_mapping(parsed: ParsedTable, intake: Intake, site: ConfigSite) -> tuple[MappedTable | None, list[Problem]]:
    """Apply a checked declaration to a raw table.

    Parameters
    ----------
    parsed : ParsedTable
        The reader's raw cells and index.
    intake : Intake
        From :func:`check_mapping`.
    site : ConfigSite
        Where the source is declared.

    Returns
    -------
    mapped : MappedTable or None
        None when the declaration does not fit the file (the problems say how).
    config_problems : list of Problem
        Declared columns the file does not have, renames that collide, each
        naming ``workspace.yml``, its line and field.
    """
    frame = parsed.frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    spec = TABLES[site.table]
    problems = _missing_columns(frame, intake, site, spec.column_map)
    if problems:
        return None, problems
    applied: list[str] = []
    columns = {k: v for k, v in intake.columns.items() if k in frame.columns}
    absent = sorted(set(intake.columns) - set(columns))
    if intake.preset:
        applied.append(f"preset {intake.preset}" + (f" (absent optional columns: {', '.join(absent)})" if absent else ""))
    position = pd.Series(np.arange(len(frame)), index=frame.index)
    frame, dropped = _filter_rows(frame, intake)
    applied += dropped
    kept = position[frame.index].to_numpy()
    clash = [c for c in frame.columns if c in columns.values() and c not in columns]
    for col in clash:
        theirs = next(k for k, v in columns.items() if v == col)
        problems.append(site.problem(_column_key(intake, theirs), f"{theirs!r} → {col!r}, but the file has a column {col!r} too", "a target the file does not already have (map or rename the other column)"))
    if problems:
        return None, problems
    frame = frame.rename(columns=columns)
    if columns:
        applied.append("columns " + ", ".join(f"{k!r} → {v}" for k, v in columns.items()))
    their_names = {v: k for k, v in columns.items()}
    cell_problems: list[Problem] = []
    for col, mapping in intake.values.items():
        target = columns.get(col, col)
        if target in frame.columns:
            frame[target], n = _map_values(frame[target], mapping)
            applied.append(f"values of {their_names.get(target, target)!r}: {n} cell(s) recoded ({len(mapping)} declared spelling(s))")
    numbers = _number_columns(frame, site.table)
    if intake.decimal != "." or intake.thousands:
        for col in numbers:
            frame[col] = _normalise_numbers(frame[col], intake.decimal, intake.thousands)
        applied.append(f"numbers with decimal {intake.decimal!r}" + (f" and thousands {intake.thousands!r}" if intake.thousands else "") + f" in {', '.join(map(str, numbers)) or 'no column'}")
    if intake.date_format or intake.dates:
        how = f"date_format {intake.date_format!r}" if intake.date_format else f"dates {intake.dates}"
        for col in [c.name for c in spec.columns if c.kind == "date" and c.name in frame.columns]:
            before = frame[col]
            frame[col], bad = _convert_dates(before, intake)
            if bad.any():
                rows = frame.index[bad.to_numpy()] + parsed.row_base
                cell_problems += problems_for_rows(parsed.file, rows, their_names.get(col, col), before[bad], _date_expected(intake, site))
        applied.append(f"dates read with {how}")
    out = ParsedTable(frame, parsed.file, parsed.row_base, notes=list(parsed.notes), nan_cells=_renamed(parsed.nan_cells, columns, kept))
    return MappedTable(parsed=out, their_names=their_names, problems=cell_problems, applied=applied), []


def _column_key(intake: Intake, theirs: str) -> tuple[str, ...]:
    return ("columns", theirs) if intake.key_of.get(f"columns.{theirs}") == "columns" else ("preset",)


def _missing_columns(frame: pd.DataFrame, intake: Intake, site: ConfigSite, contract: Mapping[str, Any]) -> list[Problem]:
    """Declared columns the file lacks (a preset's optional ones excepted, unless their target is required)."""
    have = list(map(str, frame.columns))
    shown = ", ".join(have[:30]) + (" …" if len(have) > 30 else "")
    out = []
    for theirs, ours in intake.columns.items():
        if theirs in have:
            continue
        col = contract.get(ours)
        if theirs in intake.optional and not (col is not None and col.required):
            continue
        where = f"the preset {intake.preset!r} expects" if _column_key(intake, theirs) == ("preset",) else "declared"
        out.append(site.problem(_column_key(intake, theirs), f"{where} a column {theirs!r}; {site.table}'s file has: {shown}", "a column name exactly as in the file's header (map it under columns)"))
    for key in ("keep_rows", "drop_rows"):
        for theirs in getattr(intake, key):
            if theirs not in have:
                out.append(site.problem((key, theirs), f"a filter on column {theirs!r}; the file has: {shown}", "a column of the file (filters use the file's own column names)"))
    return out


def _filter_rows(frame: pd.DataFrame, intake: Intake) -> tuple[pd.DataFrame, list[str]]:
    """Rows kept by ``keep_rows`` and not removed by ``drop_rows`` (the index, hence row numbers, kept)."""
    applied = []
    for key, keep in (("keep_rows", True), ("drop_rows", False)):
        for col, wanted in getattr(intake, key).items():
            hit = _folded(frame[col]).isin({_fold(v) for v in wanted})
            mask = hit if keep else ~hit
            removed = int((~mask).sum())
            frame = frame[mask]
            applied.append(f"{key} {col!r} in {wanted}: {removed} row(s) left out")
    return frame, applied


def _fold(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _folded(series: pd.Series) -> pd.Series:
    """Cells compared ignoring case and runs of spaces (blanks become '')."""
    return series.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else _fold(v))


def _map_values(series: pd.Series, mapping: Mapping[str, str]) -> tuple[pd.Series, int]:
    """Their spellings replaced by the contract's; other cells kept (validation names them)."""
    folded = {_fold(k): v for k, v in mapping.items()}
    keys = _folded(series)
    hit = keys.isin(folded)
    out = series.astype(object).copy()
    out[hit] = keys[hit].map(folded)
    return out, int(hit.sum())


def _number_columns(frame: pd.DataFrame, table: str) -> list[str]:
    """Columns whose text cells are numbers: the contract's number columns, and extra columns."""
    spec = TABLES[table]
    kinds = {c.name: c.kind for c in spec.columns}
    return [c for c in frame.columns if kinds.get(c) == "float" or (c not in kinds and not str(c).startswith("_"))]


def _normalise_numbers(series: pd.Series, decimal: str, thousands: str | None) -> pd.Series:
    """``1.234,5`` → ``1234.5`` where a cell is a number in the declared notation; other cells kept."""
    if pd.api.types.is_numeric_dtype(series):
        return series
    d, t = re.escape(decimal), re.escape(thousands) if thousands else None
    grouped = rf"[+-]?\d{{1,3}}(?:{t}\d{{3}})+(?:{d}\d+)?" if t else None
    plain = rf"[+-]?\d+(?:{d}\d+)?|[+-]?{d}\d+"
    pattern = re.compile(f"(?:{grouped})|(?:{plain})" if grouped else plain)

    def convert(value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not pattern.fullmatch(text):
            return value
        if thousands:
            text = text.replace(thousands, "")
        return text.replace(decimal, ".")

    return series.map(convert)


def _convert_dates(series: pd.Series, intake: Intake) -> tuple[pd.Series, pd.Series]:
    """Dates in the declared coding as ISO text; a mask of the cells that are not."""
    text = series.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    blank = text.isna() | (text.astype(str) == "")
    # A cell already written as an ISO date (an Excel date cell reads so) is kept.
    iso = text.astype(str).str.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+)?") & ~blank
    todo = ~blank & ~iso
    values = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    if todo.any():
        raw = text[todo].astype(str)
        if intake.date_format:
            values[todo] = pd.to_datetime(raw, format=intake.date_format, errors="coerce")
        else:
            if intake.dates == "epoch_ms":
                # OData (SuccessFactors) writes epoch milliseconds as /Date(1709251200000)/.
                raw = raw.str.replace(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$", r"\1", regex=True)
            number = pd.to_numeric(raw, errors="coerce")
            unit, origin = {"excel_serial": ("D", "1899-12-30"), "epoch_s": ("s", "unix"), "epoch_ms": ("ms", "unix")}[intake.dates or ""]
            ok = number.notna() & np.isfinite(number.fillna(0)) & (number.abs() < 1e15)
            values[todo & ok.reindex(series.index, fill_value=False)] = pd.to_datetime(number[ok], unit=unit, origin=origin, errors="coerce")
    out = series.astype(object).copy()
    done = todo & values.notna()
    out[done] = values[done].dt.strftime("%Y-%m-%d %H:%M:%S")
    return out, todo & values.isna()


def _date_expected(intake: Intake, site: ConfigSite) -> str:
    if intake.date_format:
        sample = dt.datetime(2026, 3, 4, 9, 30).strftime(intake.date_format)
        return f"a date written as {intake.date_format!r} (e.g. {sample!r}), as {site.field(intake.key_of.get('dates', 'preset'))} declares"
    what = {"excel_serial": "an Excel serial day number (e.g. 46085)", "epoch_s": "seconds since 1970-01-01 (e.g. 1772616600)",
            "epoch_ms": "milliseconds since 1970-01-01 (e.g. 1772616600000)"}[intake.dates or ""]
    return f"{what}, as {site.field(intake.key_of.get('dates', 'preset'))} declares"


def _renamed(nan_cells: Mapping[str, Any], columns: Mapping[str, str], kept: np.ndarray) -> dict[str, Any]:
    """The reader's NaN masks (by position) under the new column names, for the rows the filters kept."""
    return {columns.get(k, k): np.asarray(v, dtype=bool)[kept] for k, v in nan_cells.items()}


def their_problems(problems: list[Problem], mapped: MappedTable) -> list[Problem]:
    """Validation problems in the user's terms: their column names; cells the mapping reported once.

    Parameters
    ----------
    problems : list of Problem
        From :func:`lopsnb.io.validate.parse_and_validate` on ``mapped.parsed``.
    mapped : MappedTable
        What the declaration did.
    """
    reported = {(p.row, p.column) for p in mapped.problems}
    renamed = in_their_terms(problems, mapped.their_names)
    return list(mapped.problems) + [p for p in renamed if p.column is None or (p.row, p.column) not in reported]


def in_their_terms(problems: list[Problem], their_names: Mapping[str, str]) -> list[Problem]:
    """``problems`` with each contract column named as the user's file names it (and what it is read as).

    A unique-key column list (``person_id, program_id``) is renamed part by part.
    """
    out = []
    for p in problems:
        if p.column is None:
            out.append(p)
            continue
        column = ", ".join(their_names.get(part, part) for part in p.column.split(", "))
        expected = p.expected if column == p.column else f"{p.expected} (their column {column!r} is read as {p.column})"
        out.append(replace(p, column=column, expected=expected))
    return out
