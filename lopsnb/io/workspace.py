"""Load a workspace folder: every table and program, validated together.

``load_workspace`` is the one entry point. It never stops at the first
problem: everything wrong in every file is collected and raised as one
:class:`~lopsnb.errors.ValidationError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic import ValidationError as PydanticValidationError

from lopsnb.errors import DataError, Problem, ProgramConfigError, SourceError, ValidationError
from lopsnb.io.identity import IdentityReport, resolve_identities
from lopsnb.io.lrs import LrsSource, load_lrs
from lopsnb.io.mapping import (
    MAPPING_KEYS,
    PERSON_COLUMN,
    ConfigSite,
    DialectFields,
    Intake,
    MappedTable,
    MappingFields,
    apply_mapping,
    check_mapping,
    csv_dialect,
    in_their_terms,
    their_problems,
)
from lopsnb.io.model import Workspace
from lopsnb.io.presets import preset_base
from lopsnb.io.problems import pydantic_problems
from lopsnb.io.programs import Program, load_program
from lopsnb.io.readers import find_table_file, read_file, read_sql
from lopsnb.io.schemas import TABLES, ParsedTable
from lopsnb.io.sources import checked_source_path, checked_sqlite_url
from lopsnb.io.validate import parse_and_validate, problems_for_rows
from lopsnb.io.yamlfile import line_of, load_yaml
from lopsnb.options import OnProgramError

__all__ = ["Workspace", "load_workspace", "WorkspaceConfig"]



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SqlSource(MappingFields):
    """A table read with a SQL query through SQLAlchemy (its columns and values mapped as declared)."""

    sql: str = Field(min_length=1)
    url: str = Field(min_length=1)


class XapiSource(_Strict):
    """Enrollments or assessments derived from xAPI statements."""

    xapi: str = Field(min_length=1)
    activities: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    account_column: str = "person_id"
    unknown_actors: Literal["error", "drop"] = "error"


class FileSource(MappingFields, DialectFields):
    """A table in a file with another name or place, or written in another dialect or with other column names.

    Without ``file`` the table's own file (``<table>.csv|parquet|xlsx``) is read
    with the declared mapping.
    """

    file: str | None = Field(default=None, min_length=1)


def _source_kind(value: Any) -> str | None:
    """Which source a ``sources.<table>`` mapping is, from its keys.

    Choosing the model up front means an error names the user's field
    (``sources.kpis.url``) once, instead of one error per union member
    labelled with internal class names.
    """
    if isinstance(value, BaseModel):
        return {SqlSource: "sql", XapiSource: "xapi", FileSource: "file", LrsSource: "lrs"}.get(type(value))
    if not isinstance(value, dict):
        return None
    # "lrs" before "xapi": an LRS source's misplaced `activities` is then an
    # unknown key of the LRS source, not a file source missing `xapi`. A
    # mapping without 'file' maps the table's own file: its keys make it a file source.
    for kind, keys in (("sql", ("sql", "url")), ("lrs", ("lrs",)), ("xapi", ("xapi", "activities")), ("file", ("file", *MAPPING_KEYS))):
        if any(k in value for k in keys):
            return kind
    return None


_SOURCE_KINDS = ("sql", "xapi", "file", "lrs")

Source = Annotated[
    Annotated[SqlSource, Tag("sql")]
    | Annotated[XapiSource, Tag("xapi")]
    | Annotated[FileSource, Tag("file")]
    | Annotated[LrsSource, Tag("lrs")],
    Discriminator(
        _source_kind,
        custom_error_type="source_kind",
        custom_error_message="a source with 'sql' and 'url', 'xapi' (and 'activities'), 'lrs', or 'file' (or mapping keys such as 'columns' or 'preset')",
    ),
]


class WorkspaceConfig(_Strict):
    """Contents of the optional ``workspace.yml``."""

    name: str | None = None
    sources: dict[str, Source] = Field(default_factory=dict)


def _read_config(folder: Path) -> tuple[WorkspaceConfig, Any]:
    """The workspace configuration and its YAML node tree (None without a workspace.yml)."""
    cfg_path = folder / "workspace.yml"
    if not cfg_path.is_file():
        return WorkspaceConfig(), None
    label = str(cfg_path)
    doc = load_yaml(cfg_path, label=label)
    data = doc.data
    if not isinstance(data, dict):
        raise ValidationError(
            [Problem(label, None, None, f"a {type(data).__name__} at the top level", "a mapping with 'name' and/or 'sources'")],
            summary=f"invalid {label}",
        )
    try:
        return WorkspaceConfig.model_validate(data), doc.root
    except PydanticValidationError as exc:
        problems = pydantic_problems(exc, label, line_of=lambda loc: line_of(doc.root, loc), user_loc=_user_loc, whole="(workspace)")
        raise ValidationError(problems, summary=f"invalid {label}") from None


def _user_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The field path as the user wrote it: without the source-kind tag pydantic inserts."""
    if len(loc) > 2 and loc[0] == "sources" and loc[2] in _SOURCE_KINDS:
        return loc[:2] + loc[3:]
    return loc


def load_workspace(
    path: str | Path,
    *,
    on_program_error: OnProgramError = "raise",
    cache: bool | str | os.PathLike[str] = False,
    programs: Sequence[str] | None = None,
) -> Workspace:
    """Read and validate every table and program of a workspace folder.

    Parameters
    ----------
    path : str or Path
        The workspace folder (see ``docs/data-contract.md``).
    on_program_error : {"raise", "collect"}
        With ``"collect"`` an invalid program file does not fail the whole
        workspace: it is kept in ``Workspace.program_errors`` (the batch runner
        reports it as a failed program). Table problems always raise.
    cache : bool or path
        False (default): read and validate the sources. True: read the
        already validated tables from a valid cache in
        ``<path>/.lopsnb-cache`` (written by :func:`lopsnb.io.cache.build_cache`
        and by ``lopsnb run``) when there is one; a path: that cache root or
        cache folder. A missing or stale cache (a source file changed since it
        was built) is ignored and the sources are read as with False.
    programs : sequence of str, optional
        Keep only these programs and the rows an evaluation of them reads:
        their rows of the program tables, the ``kpis`` rows of the metrics
        their chains name, every other table whole. ``evaluate()`` of a kept
        program gives the same result as on the whole workspace; with a cache
        only those rows are read, so the cost does not grow with the number
        of other programs.

    Returns
    -------
    Workspace

    Raises
    ------
    ValidationError
        With every problem in every file (file, row, column, found, expected).
    SourceError
        When the folder or a required table is missing or unreadable.
    """
    if on_program_error not in ("raise", "collect"):
        raise ValueError(f"on_program_error must be 'raise' or 'collect', not {on_program_error!r}")
    if isinstance(programs, str):
        programs = [programs]
    if programs is not None and not all(isinstance(p, str) for p in programs):
        raise ValidationError([Problem("programs", None, None, repr(programs), "a sequence of program ids")], summary="invalid programs argument")
    folder = Path(path)
    if not folder.is_dir():
        raise SourceError([Problem(str(folder), None, None, "no such folder", "a workspace folder")], summary="cannot load workspace")
    if cache is not False and cache is not None:
        from lopsnb.io.cache import read_cache

        cached = read_cache(folder, cache, programs=programs, on_program_error=on_program_error)
        if cached is not None:
            return cached
    ws = _load_sources(folder, on_program_error)
    if programs is not None:
        from lopsnb.io.cache import slice_workspace

        ws = slice_workspace(ws, programs)
    return ws


def _load_sources(folder: Path, on_program_error: OnProgramError) -> Workspace:
    """Read and validate every source of ``folder`` (the body of :func:`load_workspace`)."""
    from lopsnb.io.cache import source_signature

    # Taken before reading: a file changed while loading makes a cache built
    # from this workspace stale rather than wrong.
    signature = source_signature(folder)
    config, config_root = _read_config(folder)
    config_label = str(folder / "workspace.yml")

    def where(table: str, key: str) -> dict[str, Any]:
        return {"config": config_label, "field": f"sources.{table}.{key}", "line": line_of(config_root, ("sources", table, key))}
    problems: list[Problem] = []
    notes: list[str] = []
    parsed: dict[str, ParsedTable] = {}
    sources: dict[str, str] = {}
    xapi_cache: dict[str, Any] = {}
    people_for_xapi: pd.DataFrame | None = None
    intake_applied: dict[str, list[str]] = {}
    identity: dict[str, IdentityReport] = {}
    their_names: dict[str, dict[str, str]] = {}  # per table: contract column -> the user's name, for later checks

    order = ["people"] + [t for t in TABLES if t != "people"]
    for table in order:
        source = config.sources.get(table)
        site = ConfigSite(label=config_label, line_of=lambda loc: line_of(config_root, loc), table=table)
        intake = None
        try:
            if isinstance(source, SqlSource):
                intake, declared = _declaration(source, site, None)
                if declared:
                    problems += declared
                    continue
                label = f"{folder / 'workspace.yml'} [sources.{table}.sql]"
                parsed[table] = read_sql(source.sql, checked_sqlite_url(source.url, folder, **where(table, "url")), label=label)
                sources[table] = f"sql:{source.url}"
            elif isinstance(source, XapiSource):
                if table not in ("enrollments", "assessments"):
                    problems.append(
                        Problem(str(folder / "workspace.yml"), None, f"sources.{table}.xapi", "an xAPI source", "xAPI only for enrollments or assessments")
                    )
                    continue
                if people_for_xapi is None:
                    continue  # people failed: its problems are already reported
                from lopsnb.io.xapi import read_xapi

                key = source.xapi
                if key not in xapi_cache:
                    checked_source_path(folder, source.xapi, **where(table, "xapi"))
                    xapi_cache[key] = read_xapi(
                        folder / source.xapi,
                        people=people_for_xapi,
                        activities=source.activities,
                        account_column=source.account_column,
                        unknown_actors=source.unknown_actors,
                    )
                    notes.append(f"xAPI {source.xapi}: {xapi_cache[key].stats}")
                frame = getattr(xapi_cache[key], table)
                parsed[table] = ParsedTable(frame.reset_index(drop=True), str(folder / source.xapi), row_base=1)
                sources[table] = f"xapi:{source.xapi}"
            elif isinstance(source, LrsSource):
                if table not in ("enrollments", "assessments"):
                    problems.append(Problem(config_label, None, f"sources.{table}.lrs", "an LRS source", "an LRS only for enrollments or assessments"))
                    continue
                if people_for_xapi is None:
                    continue  # people failed: its problems are already reported
                parsed[table], sources[table] = _lrs_table(folder, table, source, people_for_xapi, config_root, xapi_cache, notes)
            else:
                raw_file, intake, declared = _file_source(folder, table, source, site, where)
                problems += declared
                if raw_file is None:
                    continue
                parsed[table] = raw_file
                sources[table] = Path(raw_file.file).name
        except DataError as exc:
            problems += exc.problems
            continue
        notes += parsed[table].notes
        frame, table_problems, applied, matched, their_names[table] = _intake_and_validate(parsed[table], source, intake, site, people_for_xapi)
        problems += table_problems
        if applied is not None:
            intake_applied[table] = applied
        if matched is not None:
            identity[table] = matched
        if frame is None:
            del parsed[table]
            continue
        parsed[table] = ParsedTable(frame, parsed[table].file, parsed[table].row_base)
        if table == "people" and not table_problems:
            people_for_xapi = frame

    programs, program_errors = _load_programs(folder, problems)
    tables = {name: p.frame for name, p in parsed.items()}
    if not problems:
        for table, problem_list in _reference_problems(tables, parsed, programs, program_errors).items():
            problems += in_their_terms(problem_list, their_names.get(table, {}))
        _program_data_problems(tables, programs, program_errors)
    if on_program_error == "raise":
        for err in program_errors.values():
            problems += err.problems
    if problems:
        raise ValidationError(problems, summary=f"{len(problems)} problem(s) in workspace {folder}")
    return Workspace(
        folder, tables, programs, sources, program_errors, notes, name=config.name, source_signature=signature, intake=intake_applied, identity=identity
    )


def _file_source(
    folder: Path, table: str, source: FileSource | None, site: ConfigSite, where: Any
) -> tuple[ParsedTable | None, Intake | None, list[Problem]]:
    """Read a table's file (declared or found by name) with its declared dialect; its declaration; the problems."""
    files = _table_files(folder, table, source, where)
    if not files:
        if not TABLES[table].required_table:
            return None, None, []
        expected = f"a required table {table}.csv, {table}.parquet or {table}.xlsx (or a source in workspace.yml)"
        return None, None, [Problem(str(folder / table), None, None, "no file", expected)]
    if len(files) > 1:
        return None, None, [Problem(str(files[0]), None, None, f"several files for table {table}: {', '.join(f.name for f in files)}", "exactly one")]
    intake, declared = _declaration(source, site, files[0].suffix.lower()) if source is not None else (None, [])
    if declared:
        return None, None, declared
    return read_file(files[0], header_hint=_header_hint(table, intake), dialect=csv_dialect(source)), intake, []


def _intake_and_validate(
    raw: ParsedTable, source: Any, intake: Intake | None, site: ConfigSite, people: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, list[Problem], list[str] | None, IdentityReport | None, dict[str, str]]:
    """A raw table through its declaration, identity matching and validation.

    Returns the canonical frame (None when the declaration does not fit the
    file), every problem in the user's terms, what the declaration did, how
    the identifiers matched, and the user's name of each mapped contract column.
    """
    mapped = None
    if isinstance(source, (SqlSource, FileSource)) and intake is not None and not intake.empty:
        mapped, declared = apply_mapping(raw, intake, site)
        if mapped is None:
            return None, declared, None, None, {}
        raw = mapped.parsed
    applied = mapped.applied if mapped is not None else None
    names = mapped.their_names if mapped is not None else {}
    problems: list[Problem] = []
    report = None
    if isinstance(source, (SqlSource, FileSource)) and source.match_on is not None:
        raw, problems, report = _match_identities(raw, source, site, people, mapped)
        if report is None and problems:
            return None, problems, applied, None, names
        if mapped is not None and report is not None and report.dropped_rows:
            # Cells of rows left out by identity matching are no longer the user's problem.
            rows = set((raw.frame.index + raw.row_base).tolist())
            mapped = replace(mapped, problems=[p for p in mapped.problems if p.row is None or p.row in rows])
    frame, table_problems = parse_and_validate(raw, site.table)
    if mapped is not None:
        table_problems = their_problems(table_problems, mapped)
    return frame, problems + table_problems, applied, report, names


def _table_files(folder: Path, table: str, source: FileSource | None, where: Any) -> list[Path]:
    """The file(s) of a table: the declared ``file``, or ``<table>.csv|parquet|xlsx``."""
    if isinstance(source, FileSource) and source.file is not None:
        target = checked_source_path(folder, source.file, **where(table, "file"))
        return [folder / source.file] if target.is_file() else []
    return find_table_file(folder, table)


def _header_hint(table: str, intake: Intake | None) -> list[str]:
    """The header names an Excel header row must hold: the file's own names of the required columns."""
    required = TABLES[table].required_columns
    if intake is None:
        return required
    theirs = {v: k for k, v in intake.columns.items()}
    return [theirs.get(c, c) for c in required]


def _declaration(source: SqlSource | FileSource, site: ConfigSite, suffix: str | None) -> tuple[Intake, list[Problem]]:
    """A source's resolved mapping (its preset's, with its own keys on top) and the problems of the declaration."""
    base, problems = preset_base(source.preset, site)
    intake, more = check_mapping(source, site, suffix=suffix, base=base)
    return intake, problems + more


def _match_identities(
    raw: ParsedTable, source: SqlSource | FileSource, site: ConfigSite, people: pd.DataFrame | None, mapped: MappedTable | None
) -> tuple[ParsedTable, list[Problem], IdentityReport | None]:
    """Resolve a source's identifiers against ``people`` (``match_on``); the problems and the report."""
    column = PERSON_COLUMN.get(site.table)
    if column is None:
        tables = ", ".join(sorted(PERSON_COLUMN))
        return raw, [site.problem(("match_on",), f"match_on for the {site.table} table", f"match_on only for a table with a person column: {tables}")], None
    if people is None:
        return raw, [], None  # people failed: its problems are already reported
    if source.match_on not in people.columns or source.match_on == "_row":
        cols = ", ".join(c for c in people.columns if c != "_row")
        return raw, [site.problem(("match_on",), repr(source.match_on), f"a column of the people table: {cols}")], None
    frame = raw.frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    if column not in frame.columns:
        return raw, [], None  # the missing column is reported by validation
    their = mapped.their_names.get(column, column) if mapped is not None else column
    resolved, problems, report = resolve_identities(
        frame, column=column, people=people, match_on=source.match_on, policy=source.unmatched, email_domains=source.email_domains,
        table=site.table, file=raw.file, row_base=raw.row_base, their_column=their,
    )
    # NaN masks are by position: they still fit only when no row was dropped.
    nan_cells = raw.nan_cells if len(resolved) == len(frame) else {}
    return ParsedTable(resolved, raw.file, raw.row_base, notes=list(raw.notes), nan_cells=nan_cells), problems, report


def _lrs_table(
    folder: Path, table: str, source: LrsSource, people: pd.DataFrame, config_root: Any, fetched: dict[str, Any], notes: list[str]
) -> tuple[ParsedTable, str]:
    """Table ``table`` from an LRS, fetching once per LRS configuration however many tables use it."""
    key = "lrs:" + source.lrs.model_dump_json()
    if key not in fetched:
        result = load_lrs(folder, source.lrs, people=people, config=str(folder / "workspace.yml"), field_path=f"sources.{table}.lrs",
                          line_of=lambda keys: line_of(config_root, ("sources", table, "lrs", *keys)))
        notes.append(result.note(source.lrs.endpoint))
        fetched[key] = result.tables
    frame = getattr(fetched[key], table)
    return ParsedTable(frame.reset_index(drop=True), f"{source.lrs.endpoint} [sources.{table}.lrs]", row_base=1), f"lrs:{source.lrs.endpoint}"


def _load_programs(folder: Path, problems: list[Problem]) -> tuple[dict[str, Program], dict[str, ProgramConfigError]]:
    prog_dir = folder / "programs"
    files = sorted(prog_dir.glob("*.yml")) + sorted(prog_dir.glob("*.yaml")) if prog_dir.is_dir() else []
    if not files:
        problems.append(Problem(str(prog_dir), None, None, "no program files", "at least one programs/<program_id>.yml"))
        return {}, {}
    programs: dict[str, Program] = {}
    errors: dict[str, ProgramConfigError] = {}
    for f in files:
        try:
            programs[f.stem] = load_program(f)
        except ProgramConfigError as exc:
            errors[f.stem] = exc
    return programs, errors


def _reference_problems(
    tables: Mapping[str, pd.DataFrame],
    parsed: Mapping[str, ParsedTable],
    programs: Mapping[str, Program],
    program_errors: Mapping[str, ProgramConfigError],
) -> dict[str, list[Problem]]:
    """Dangling references between tables (person ids, program ids, managers), per table."""
    out: dict[str, list[Problem]] = {}
    people = tables.get("people")
    person_ids = set(people["person_id"]) if people is not None else set()
    program_ids = set(programs) | set(program_errors)

    def check(table: str, column: str, known: set[str], expected: str) -> None:
        frame = tables.get(table)
        if frame is None or column not in frame:
            return
        values = frame[column]
        bad = values.notna() & ~_isin(values, known)
        if bad.any():
            out.setdefault(table, []).extend(problems_for_rows(parsed[table].file, frame.loc[bad, "_row"], column, values[bad], expected))

    for table in ("enrollments", "assessments", "behaviors", "estimates", "reactions"):
        check(table, "person_id", person_ids, "a person_id listed in the people table")
    for table in ("enrollments", "reactions", "assessments", "behaviors", "costs", "estimates", "requests"):
        check(table, "program_id", program_ids, "a program with a file programs/<program_id>.yml")
    check("people", "manager_id", person_ids, "a person_id listed in the people table")
    if people is not None:
        units = set(people["org_unit"].dropna())
        check("kpis", "entity_id", person_ids | units, "a person_id or an org_unit from the people table")
    return out


def _isin(values: pd.Series, known: Iterable[str]) -> pd.Series:
    """``values.isin(known)`` for string columns, without pandas' per-value Python loop.

    pandas 3 converts every element of ``known`` to a pyarrow scalar one at a
    time (seconds for 100,000 person ids); pyarrow's ``is_in`` does the same
    test natively. Blank values are never "in" (callers mask them anyway).
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(values, from_pandas=True)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            value_set = pa.array([k for k in known if isinstance(k, str)], type=arr.type)
            found = pc.is_in(arr, value_set=value_set).fill_null(False)
            return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)
    except (ImportError, TypeError, ValueError, ArithmeticError):  # pragma: no cover - fall back to pandas
        pass
    return values.isin(list(known))


def _program_data_problems(
    tables: Mapping[str, pd.DataFrame], programs: dict[str, Program], errors: dict[str, ProgramConfigError]
) -> None:
    """Program fields that name data which does not exist (metrics, columns)."""
    kpis = tables.get("kpis")
    people = tables.get("people")
    metrics = set(kpis["metric"].unique()) if kpis is not None else set()
    people_cols = set(people.columns) - {"_row"} if people is not None else set()
    for pid, prog in list(programs.items()):
        label = f"programs/{pid}.yml"
        found: list[Problem] = []
        if not prog.evaluate:
            continue
        ev = prog.evaluation
        if ev.design == "survival":
            # A time-to-event outcome: termination dates, or the KPI whose threshold is the event.
            if ev.event is not None and ev.event.metric not in metrics:
                found.append(Problem(label, None, "evaluation.event.metric", repr(ev.event.metric), "a metric present in the kpis table"))
        elif ev.design != "estimates" or ev.also:
            if prog.outcome not in metrics:
                found.append(Problem(label, None, "evaluation.outcome", repr(prog.outcome), "a metric present in the kpis table"))
        if prog.evaluation.entity == "person":
            for cov in prog.evaluation.covariates:
                if cov not in people_cols:
                    found.append(Problem(label, None, "evaluation.covariates", repr(cov), "a column of the people table"))
        for key in (prog.evaluation.comparison or {}):
            if key not in people_cols:
                found.append(Problem(label, None, f"evaluation.comparison.{key}", repr(key), "a column of the people table"))
        if found:
            errors[pid] = ProgramConfigError(found, summary=f"program {pid} refers to data that does not exist")
            del programs[pid]
