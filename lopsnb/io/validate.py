"""Parse raw table cells into typed columns and validate them against the contract.

Parsing (text to dates and numbers) is done here, so that an unparseable
cell is reported with its row and value instead of breaking every later
check; the declarative checks (allowed values, bounds, uniqueness, blanks)
run through pandera with ``lazy=True`` so that all problems are reported at
once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from lopsnb.errors import Problem
from lopsnb.io.schemas import TABLES, ColumnSpec, ParsedTable, TableSpec, pandera_schema

__all__ = ["parse_and_validate", "problems_for_rows", "MAX_PER_CHECK"]

#: Problems recorded per column and check before the rest are summarised in
#: one line (a file with a million bad dates needs one message, not a million).
MAX_PER_CHECK = 200


def problems_for_rows(
    file: str,
    rows: Iterable[int],
    column: str | None,
    values: Iterable[object],
    expected: str,
) -> list[Problem]:
    """Problems for the given spreadsheet rows, capped at :data:`MAX_PER_CHECK`."""
    rows = list(rows)
    values = list(values)
    out = [Problem(file, int(r), column, _show(v), expected) for r, v in zip(rows[:MAX_PER_CHECK], values[:MAX_PER_CHECK], strict=False)]
    if len(rows) > MAX_PER_CHECK:
        out.append(
            Problem(
                file,
                int(rows[MAX_PER_CHECK]),
                column,
                f"{len(rows) - MAX_PER_CHECK} more rows like the above (rows {rows[MAX_PER_CHECK]}..{rows[-1]})",
                expected,
            )
        )
    return out


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT or value is pd.NA:
        return "a blank cell"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return repr(value if not isinstance(value, (np.generic,)) else value.item())


def parse_and_validate(parsed: ParsedTable, table: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse and validate one raw table.

    Parameters
    ----------
    parsed : ParsedTable
        Raw frame (text cells for CSV and Excel) and where it came from.
    table : str
        The contract table it must satisfy.

    Returns
    -------
    frame : DataFrame
        Canonical typed frame: every contract column present (absent optional
        ones filled with blanks or their default), extra columns kept after
        them, a fresh RangeIndex and a ``_row`` column with the spreadsheet
        row number of each record.
    problems : list of Problem
        Everything wrong, in file order by check; empty when the table is valid.
    """
    spec = TABLES[table]
    # The index maps each record to its place in the source (blank lines
    # dropped by the reader leave gaps), so row numbers stay true.
    raw = parsed.frame.copy()
    raw.columns = [str(c).strip() for c in raw.columns]
    file, base = parsed.file, parsed.row_base
    problems: list[Problem] = []

    present = set(raw.columns)
    for col in spec.required_columns:
        if col not in present:
            close = difflib.get_close_matches(col, [c for c in raw.columns if c not in spec.column_map], n=1, cutoff=0.6)
            hint = f" (is {close[0]!r} meant to be {col!r}?)" if close else ""
            problems.append(
                Problem(
                    file,
                    None,
                    col,
                    f"no such column; columns found: {', '.join(map(str, raw.columns)) or 'none'}{hint}",
                    f"a column named '{col}'",
                )
            )
    dupes = raw.columns[raw.columns.duplicated()].unique().tolist()
    for col in dupes:
        problems.append(Problem(file, None, col, "the column appears more than once", "each column once"))
    if dupes:
        raw = raw.loc[:, ~raw.columns.duplicated()]

    typed = pd.DataFrame(index=raw.index)
    for col in spec.columns:
        if col.name not in raw.columns:
            continue
        nan = _nan_mask(parsed, col.name, raw.index)
        series, bad = _parse_column(raw[col.name], col, nan)
        if bad.any():
            problems += _unparsed_problems(file, base, col, raw[col.name], bad, nan)
        if col.default is not None:
            series = series.fillna(col.default)
        typed[col.name] = series

    schema = pandera_schema(table, present=frozenset(typed.columns))
    checked = typed.copy()
    # Values that failed to parse are already reported; drop them from the
    # blank check so that a bad date is not reported twice.
    from pandera.errors import SchemaErrors

    try:
        schema.validate(checked, lazy=True)
    except SchemaErrors as exc:
        problems += _pandera_problems(exc.failure_cases, spec, file, base, typed, raw)

    for rule in spec.row_rules:
        if rule.left in typed.columns and rule.right in typed.columns:
            left, right = typed[rule.left], typed[rule.right]
            broken = (left > right) if rule.op == "<=" else (left < right)
            broken = broken.fillna(False).astype(bool)
            if broken.any():
                found = [f"{rule.left}={_show(a)}, {rule.right}={_show(b)}" for a, b in zip(left[broken], right[broken], strict=True)]
                problems += problems_for_rows(file, typed.index[broken] + base, rule.left, found, rule.expected)

    frame = _canonical(typed, raw, spec)
    frame["_row"] = (frame.index + base).astype("int64")
    return frame.reset_index(drop=True), problems


def _nan_mask(parsed: ParsedTable, column: str, index: pd.Index) -> pd.Series:
    """Cells of ``column`` that held a NaN value (not a null), by the reader's account."""
    mask = parsed.nan_cells.get(column)
    if mask is None or len(mask) != len(parsed.frame):
        return pd.Series(False, index=index)
    return pd.Series(np.asarray(mask, dtype=bool), index=parsed.frame.index).reindex(index, fill_value=False)


def _unparsed_problems(file: str, base: int, col: ColumnSpec, raw: pd.Series, bad: pd.Series, nan: pd.Series) -> list[Problem]:
    """Problems for cells that did not parse; decimal commas and inf/NaN get their own hint."""
    shown = raw.astype(object).where(~nan, "NaN")
    groups = [(bad, col.expected)]
    if col.kind == "float":
        text = raw.astype("str").str.strip()
        comma = bad & text.str.fullmatch(_DECIMAL_COMMA).fillna(False).astype(bool)
        numeric = pd.to_numeric(text.where(bad), errors="coerce")
        nonfinite = bad & ~comma & (nan | numeric.isin([np.inf, -np.inf]) | text.str.fullmatch(r"[+-]?nan", case=False).fillna(False).astype(bool))
        groups = [
            (bad & ~comma & ~nonfinite, col.expected),
            (nonfinite, f"{col.expected} (a finite number: not inf, -inf or NaN)"),
            (comma, f"{col.expected} with a decimal point: this looks like a decimal comma (write 12.5 for 12,5, export with '.' as decimal separator, or declare decimal: ',' for the table under sources in workspace.yml)"),
        ]
    out: list[Problem] = []
    for mask, expected in groups:
        if mask.any():
            out += problems_for_rows(file, raw.index[mask] + base, col.name, shown[mask], expected)
    return out


# A full ISO 8601 date, optionally with a time (Excel date cells read as
# "2026-03-01 00:00:00"); '2025' or '2025-3-4' are not completed silently.
_ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
_DECIMAL_COMMA = r"[+-]?\d+,\d+"


def _parse_column(raw: pd.Series, col: ColumnSpec, nan: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse one column; return the typed series and a mask of unparseable cells.

    ``nan`` marks cells that held a NaN value; in a numeric column they are
    unparseable like ``inf``, never blanks.
    """
    if nan is None:
        nan = pd.Series(False, index=raw.index)
    if col.kind == "str":
        if pd.api.types.is_float_dtype(raw):
            # Parquet/SQL numeric ids: 1001.0 should read as "1001".
            as_int = raw.dropna()
            if (as_int == as_int.round()).all():
                raw = raw.astype("Int64")
        text = raw.astype("str").where(raw.notna())
        text = text.str.strip()
        text = text.where(text != "")
        return text.astype("str"), pd.Series(False, index=raw.index)
    blank = (raw.isna() | (raw.astype("str").str.strip() == "")) & ~nan
    if col.kind == "float":
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            values = raw.astype("float64")
        else:
            values = pd.to_numeric(raw.astype("str").str.strip().where(~blank), errors="coerce").astype("float64")
        # inf, -Infinity and 1e999 parse (to +-inf); NaN literals parse to NaN.
        bad = (values.isna() & ~blank) | np.isinf(values.to_numpy()) | nan.to_numpy()
        return values.where(~bad), pd.Series(bad, index=raw.index)
    # date
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = raw
    else:
        text = raw.astype("str").str.strip().where(~blank)
        full = text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
        values = pd.to_datetime(text.where(full), format="ISO8601", errors="coerce", utc=True)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    values = values.astype("datetime64[ns]").dt.normalize()
    return values, values.isna() & ~blank


def _pandera_problems(
    failures: pd.DataFrame, spec: TableSpec, file: str, base: int, typed: pd.DataFrame, raw: pd.DataFrame
) -> list[Problem]:
    out: list[Problem] = []
    failures = failures[failures["check"] != "column_in_dataframe"]
    failures = failures.assign(_order=failures["index"].fillna(-1))
    multi = failures["check"] == "multiple_fields_uniqueness"
    if multi.any() and not set(spec.unique) <= set(typed.columns):
        # A key column is missing (reported already): pandera checked the
        # remaining columns alone, which says nothing about duplicates.
        failures, multi = failures[~multi], multi[~multi]
    if multi.any():
        cols = list(spec.unique)
        col_label = ", ".join(cols)
        rows = failures.loc[multi, "index"].dropna().astype(int).drop_duplicates().sort_values()
        found = ["a duplicate of another row: " + ", ".join(f"{c}={_show(typed.at[r, c])}" for c in cols) for r in rows]
        expected = f"a unique combination of ({col_label})" if len(cols) > 1 else f"a value not used on any other row of column '{col_label}'"
        out += problems_for_rows(file, rows + base, col_label, found, expected)
    for (column, check), group in failures[~multi].groupby(["column", "check"], sort=False, dropna=False):
        group = group.drop_duplicates(subset=["index"]).sort_values("_order")
        rows = group["index"].dropna().astype(int)
        check = str(check)
        if check == "field_uniqueness":
            found = [f"a duplicate value {_show(typed.at[r, column])}" for r in rows]
            out += problems_for_rows(file, rows + base, str(column), found, f"unique values in column '{column}'")
            continue
        colspec = spec.column_map.get(str(column))
        if colspec is None:  # pragma: no cover - every checked column is in the spec
            continue
        if check == "not_nullable":
            # Unparseable values became blank and were reported already.
            rows = rows[~(raw[colspec.name].notna() & ~(raw[colspec.name].astype("str").str.strip() == "")).reindex(rows).to_numpy()]
            out += problems_for_rows(file, rows + base, colspec.name, [None] * len(rows), "a value (this column may not be blank)")
            continue
        values = [typed.at[r, colspec.name] for r in rows[:MAX_PER_CHECK + 1]] + [None] * max(0, len(rows) - MAX_PER_CHECK - 1)
        out += problems_for_rows(file, rows + base, colspec.name, values, colspec.expected)
    return out


def _canonical(typed: pd.DataFrame, raw: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    frame = typed.copy()
    for col in spec.columns:
        if col.name not in frame.columns:
            if col.default is not None:
                frame[col.name] = float(col.default) if col.kind == "float" else col.default
            else:
                frame[col.name] = pd.Series(
                    np.nan, index=frame.index, dtype={"str": "str", "date": "datetime64[ns]", "float": "float64"}[col.kind]
                )
    ordered = [c.name for c in spec.columns]
    extras = [c for c in raw.columns if c not in spec.column_map and not str(c).startswith("_")]
    if spec.extra_columns:
        for c in extras:
            extra = raw[c]
            if not pd.api.types.is_numeric_dtype(extra):
                numeric = pd.to_numeric(extra, errors="coerce")
                # Extra columns are covariates: keep them numeric when every
                # non-blank cell is a number, text otherwise.
                if numeric.notna().sum() == extra.notna().sum():
                    extra = numeric
            frame[c] = extra
    return frame[ordered + (extras if spec.extra_columns else [])]
