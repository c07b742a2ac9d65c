"""Read raw tables from files and databases, with clear errors.

Readers return every cell as text (or the source's own types for Parquet and
SQL) so that parsing and validation happen in one place,
:mod:`lopsnb.io.validate`, with row-precise messages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from lopsnb.errors import Problem, SourceError
from lopsnb.io.schemas import ParsedTable

__all__ = ["SUPPORTED_EXTENSIONS", "find_table_file", "read_file", "read_sql"]

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".csv", ".parquet", ".xlsx")

# Encodings tried in order for CSV: UTF-8 (with or without BOM) first; then
# Windows-1252, which is what Excel on Windows writes as "CSV" and which
# decodes every Latin-1 file the same way for printable characters.
_FALLBACK_ENCODINGS: tuple[str, ...] = ("cp1252", "latin-1")


def find_table_file(folder: Path, table: str) -> list[Path]:
    """Files in ``folder`` whose stem is ``table`` and extension is supported."""
    return [folder / f"{table}{ext}" for ext in SUPPORTED_EXTENSIONS if (folder / f"{table}{ext}").is_file()]


def read_file(path: Path, *, label: str | None = None, header_hint: Sequence[str] = ()) -> ParsedTable:
    """Read one table file into text cells.

    Parameters
    ----------
    path : Path
        A ``.csv``, ``.parquet`` or ``.xlsx`` file.
    label : str, optional
        How the file is named in messages (defaults to the path).
    header_hint : sequence of str
        Required column names; for Excel, the header row is the first of the
        first ten rows containing all of them (title rows and merged header
        rows above the real header are skipped).

    Raises
    ------
    SourceError
        When the file is empty, undecodable or not a valid file of its kind.
    """
    label = label or str(path)
    if path.stat().st_size == 0:
        raise SourceError(
            [Problem(label, None, None, "an empty file (0 bytes)", "a header row naming the columns, then data rows")],
            summary=f"cannot read {label}",
        )
    ext = path.suffix.lower()
    try:
        if ext == ".csv":
            return _read_csv(path, label)
        if ext == ".parquet":
            frame = pd.read_parquet(path)
            return ParsedTable(frame.reset_index(drop=True), label, row_base=1)
        if ext == ".xlsx":
            return _read_excel(path, label, header_hint)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes a clear SourceError
        raise SourceError(
            [Problem(label, None, None, f"an unreadable {ext} file ({type(exc).__name__}: {exc})", f"a valid {ext} file")],
            summary=f"cannot read {label}",
        ) from exc
    raise SourceError(
        [Problem(label, None, None, f"extension {ext!r}", "one of " + ", ".join(SUPPORTED_EXTENSIONS))],
        summary=f"cannot read {label}",
    )


def _read_csv(path: Path, label: str) -> ParsedTable:
    raw = path.read_bytes()
    notes: list[str] = []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        for enc in _FALLBACK_ENCODINGS:
            try:
                text = raw.decode(enc)
            except UnicodeDecodeError:
                continue
            notes.append(f"{label} is not UTF-8 (first bad byte at offset {exc.start}); read as {enc}")
            break
        else:  # pragma: no cover - latin-1 decodes every byte string
            raise SourceError([Problem(label, None, None, "undecodable bytes", "UTF-8 text")]) from exc
    if not text.strip():
        raise SourceError(
            [Problem(label, None, None, "a file with no header row", "a header row naming the columns")],
            summary=f"cannot read {label}",
        )
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            quoting=csv.QUOTE_MINIMAL,
            # Keep blank lines so the index still maps to the file's line
            # numbers; they are dropped below without renumbering.
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as exc:
        row = _parser_error_line(str(exc))
        raise SourceError(
            [Problem(label, row, None, f"malformed CSV ({exc})", "the same number of fields on every line")],
            summary=f"cannot read {label}",
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.dropna(how="all")
    return ParsedTable(frame, label, row_base=2, notes=notes)


def _parser_error_line(message: str) -> int | None:
    # pandas says "Expected 3 fields in line 7, saw 4": line 7 is the row number
    # a spreadsheet would show, header included.
    import re

    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def _read_excel(path: Path, label: str, header_hint: Sequence[str]) -> ParsedTable:
    grid = pd.read_excel(path, header=None, dtype=str, engine="openpyxl")
    if grid.empty:
        raise SourceError(
            [Problem(label, None, None, "an empty sheet", "a header row naming the columns, then data rows")],
            summary=f"cannot read {label}",
        )
    header_row = 0
    wanted = {h.lower() for h in header_hint}
    if wanted:
        for i in range(min(10, len(grid))):
            cells = {str(v).strip().lower() for v in grid.iloc[i].tolist() if isinstance(v, str)}
            if wanted <= cells:
                header_row = i
                break
    columns = [str(v).strip() if isinstance(v, str) else f"Unnamed: {j}" for j, v in enumerate(grid.iloc[header_row])]
    frame = grid.iloc[header_row + 1 :].reset_index(drop=True)
    frame.columns = columns
    frame = frame.dropna(how="all")
    notes = [f"{label}: header found on spreadsheet row {header_row + 1}"] if header_row else []
    # Row numbers in messages are spreadsheet rows: header_row is 0-based.
    parsed = ParsedTable(frame, label, row_base=header_row + 2, notes=notes)
    parsed.frame.index = frame.index
    return parsed


def read_sql(query: str, url: str, *, label: str) -> ParsedTable:
    """Run ``query`` against the SQLAlchemy ``url`` and return its rows.

    Raises
    ------
    SourceError
        When SQLAlchemy is missing, the database cannot be reached or the
        query fails.
    """
    try:
        import sqlalchemy as sa
    except ImportError as exc:  # pragma: no cover - the 'sql' extra is installed by make
        raise SourceError(
            [Problem(label, None, None, "SQLAlchemy is not installed", "pip install 'lopsnb[sql]'")]
        ) from exc
    try:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                frame = pd.read_sql_query(sa.text(query), conn)
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 - driver errors vary by database
        raise SourceError(
            [Problem(label, None, None, f"a failing query ({type(exc).__name__}: {exc})", "a query that runs and returns the table's columns")],
            summary=f"cannot read {label}",
        ) from exc
    return ParsedTable(frame, label, row_base=1)
