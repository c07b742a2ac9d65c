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
from lopsnb.io.rawcheck import MAX_LISTED_ROWS, CsvDialect, check_container, decode_text, scan_csv
from lopsnb.io.schemas import ParsedTable

__all__ = ["SUPPORTED_EXTENSIONS", "find_table_file", "read_file", "read_sql"]

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".csv", ".parquet", ".xlsx")

def find_table_file(folder: Path, table: str) -> list[Path]:
    """Files in ``folder`` whose stem is ``table`` and extension is supported."""
    return [folder / f"{table}{ext}" for ext in SUPPORTED_EXTENSIONS if (folder / f"{table}{ext}").is_file()]


def read_file(path: Path, *, label: str | None = None, header_hint: Sequence[str] = (), dialect: CsvDialect | None = None) -> ParsedTable:
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
    dialect : CsvDialect, optional
        A CSV file's declared delimiter and encoding (``workspace.yml``).

    Raises
    ------
    SourceError
        When the file is empty, undecodable or not a valid file of its kind.
    """
    label = label or str(path)
    if path.stat().st_size == 0:
        raise SourceError(
            [Problem(label, None, None, "the file is empty (0 bytes)", "a header row naming the columns, then data rows")],
            summary=f"cannot read {label}",
        )
    ext = path.suffix.lower()
    try:
        if ext in (".csv", ".xlsx"):
            check_container(path, label, ext)
        if ext == ".csv":
            return _no_data_rows(_read_csv(path, label, dialect or CsvDialect()))
        if ext == ".parquet":
            return _no_data_rows(_read_parquet(path, label))
        if ext == ".xlsx":
            return _no_data_rows(_read_excel(path, label, header_hint))
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


def _no_data_rows(parsed: ParsedTable) -> ParsedTable:
    """Refuse a table with a header and no data rows (an export that selected nothing)."""
    if parsed.frame.empty:
        raise SourceError(
            [
                Problem(
                    parsed.file,
                    None,
                    None,
                    "a header row but no data rows (the table has no data rows)",
                    "data rows below the header; remove the file if the table was not measured",
                )
            ],
            summary=f"cannot read {parsed.file}",
        )
    return parsed


def _read_parquet(path: Path, label: str) -> ParsedTable:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    # pandas turns both a null and a NaN into NaN; only Arrow still tells them
    # apart, and a NaN (or inf) is a computation accident, not a blank cell.
    nan_cells: dict[str, object] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_floating(column.type):
            mask = pc.fill_null(pc.is_nan(column), False).to_numpy(zero_copy_only=False)
            if mask.any():
                nan_cells[str(name)] = mask
    frame = table.to_pandas().reset_index(drop=True)
    return ParsedTable(frame, label, row_base=1, nan_cells=nan_cells)


def _read_csv(path: Path, label: str, dialect: CsvDialect) -> ParsedTable:
    text, notes = decode_text(path.read_bytes(), label, encoding=dialect.encoding)
    structure = scan_csv(text, label, delimiter=dialect.delimiter)
    if structure:
        raise SourceError(structure, summary=f"cannot read {label}")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=dialect.delimiter or ",",
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


# pandas' default missing-value markers except the NaN spellings: "#N/A" or
# "null" in a sheet means "no value", but a NaN is a computation accident and
# must be reported in a number column, as in every other format.
_EXCEL_BLANKS: tuple[str, ...] = ("", "#N/A", "#N/A N/A", "#NA", "<NA>", "N/A", "NA", "NULL", "None", "n/a", "null")


def _read_excel(path: Path, label: str, header_hint: Sequence[str]) -> ParsedTable:
    grid = pd.read_excel(path, header=None, dtype=str, engine="openpyxl", keep_default_na=False, na_values=list(_EXCEL_BLANKS))
    if grid.empty:
        raise SourceError(
            [Problem(label, None, None, "the file is empty (an empty first sheet)", "a header row naming the columns, then data rows")],
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
    unsaved = _unsaved_formulas(path, label, grid, header_row, columns)
    if unsaved:
        raise SourceError(unsaved, summary=f"cannot read {label}")
    # Row numbers in messages are spreadsheet rows: header_row is 0-based.
    parsed = ParsedTable(frame, label, row_base=header_row + 2, notes=notes)
    parsed.frame.index = frame.index
    return parsed


def _unsaved_formulas(path: Path, label: str, grid: pd.DataFrame, header_row: int, columns: Sequence[str]) -> list[Problem]:
    """Formula cells without a saved result (pandas reads them as blanks).

    Workbooks written by scripts (openpyxl, some BI exports) store formulas
    without computing them; Excel shows a value, lopsnb would see nothing.
    """
    import zipfile

    with zipfile.ZipFile(path) as package:
        sheets = [n for n in package.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        if not any(b"<f>" in package.read(n) or b"<f " in package.read(n) for n in sheets):
            return []  # no formula anywhere: skip the cell-by-cell pass
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        # pandas reads the first sheet by position, not the active one.
        cells = [
            (cell.row, cell.column, str(cell.value))
            for row in book.worksheets[0].iter_rows(min_row=header_row + 2)
            for cell in row
            if getattr(cell, "data_type", None) == "f"
        ]
    finally:
        book.close()
    out = []
    for r, c, formula in cells:
        if r - 1 < len(grid) and c - 1 < grid.shape[1] and pd.isna(grid.iat[r - 1, c - 1]):
            name = columns[c - 1] if c - 1 < len(columns) else None
            out.append(
                Problem(
                    label,
                    r,
                    name,
                    f"a formula with no saved value ({formula[:60]})",
                    "a value: open the workbook in Excel or LibreOffice, let it calculate, save it, and try again",
                )
            )
    return out[:MAX_LISTED_ROWS]


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
