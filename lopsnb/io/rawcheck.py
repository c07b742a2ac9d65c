"""Checks of a table file's raw bytes and text, before pandas sees it.

Real HR and LMS exports break in ways pandas either crashes on or, worse,
accepts silently: a semicolon-delimited file reads as one column, a row with
a trailing comma shifts every column, a repeated header name becomes
``x.1``, a workbook saved with a ``.csv`` name reads as mojibake. Each is
detected here from the bytes or the raw header and reported as a
:class:`~lopsnb.errors.Problem` saying what was found and what to change.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lopsnb.errors import Problem, SourceError

__all__ = ["MAX_LISTED_ROWS", "CsvDialect", "check_container", "decode_text", "scan_csv"]

#: Ragged rows listed one by one before the rest are summarised.
MAX_LISTED_ROWS = 200

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The stream an encrypted OOXML package keeps inside its OLE container
# (MS-OFFCRYPTO 2.3.4), as the UTF-16LE directory entry name.
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
# A decimal comma, with or without dots grouping the thousands (12,5 or 1.234,5).
_DECIMAL_COMMA = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+$")
# Encodings tried in order when the text is not UTF-8: Windows-1252 is what
# Excel on Windows writes as "CSV"; latin-1 decodes any byte string.
_FALLBACK_ENCODINGS: tuple[str, ...] = ("cp1252", "latin-1")


#: How to declare a dialect, named in the hints below (docs/data-contract.md#declared-dialects-and-mappings).
_DECLARE = "or declare it for the table under sources in workspace.yml"


@dataclass(frozen=True, kw_only=True)
class CsvDialect:
    """A CSV file's declared dialect (``workspace.yml`` ``delimiter`` / ``encoding``).

    Attributes
    ----------
    delimiter : str or None
        The field separator; None: a comma, with semicolon and tab files detected and refused.
    encoding : str or None
        The text encoding; None: detected (UTF-8, UTF-16, then Windows-1252).
    """

    delimiter: str | None = None
    encoding: str | None = None


def _fail(label: str, found: str, expected: str, row: int | None = None) -> SourceError:
    return SourceError([Problem(label, row, None, found, expected)], summary=f"cannot read {label}")


def check_container(path: Path, label: str, ext: str) -> None:
    """Refuse a file whose bytes are not of the kind its extension says.

    Raises
    ------
    SourceError
        For a workbook named ``.csv``, an encrypted or legacy (OLE) workbook,
        or an ``.xlsx`` that is not a zip package.
    """
    with path.open("rb") as fh:
        raw = fh.read(len(_OLE))
    if raw.startswith(_OLE):
        if _ENCRYPTION_INFO in path.read_bytes():
            raise _fail(
                label,
                "a password-protected (encrypted) Excel workbook",
                "an unencrypted .xlsx: open it in Excel, remove the password (File > Info > Protect Workbook > "
                "Encrypt with Password), save, and try again",
            )
        raise _fail(
            label,
            "a legacy Excel 97-2003 (.xls) or other OLE compound file",
            "an .xlsx workbook or a CSV: open it in Excel and save it as .xlsx or 'CSV UTF-8 (comma delimited)'",
        )
    if ext == ".csv" and raw.startswith(_ZIP):
        raise _fail(
            label,
            "a workbook (a zip archive such as .xlsx) with a .csv name",
            "a text CSV file: rename the file to .xlsx, or save it from Excel as 'CSV UTF-8 (comma delimited)'",
        )
    if ext == ".xlsx" and not raw.startswith(_ZIP):
        raise _fail(
            label,
            "a file that is not an .xlsx workbook (no zip signature)",
            "an .xlsx workbook saved by Excel or LibreOffice (a CSV file must be named .csv)",
        )


def decode_text(raw: bytes, label: str, *, encoding: str | None = None) -> tuple[str, list[str]]:
    """Decode a CSV file's bytes; return the text and notes on the encoding used.

    A declared ``encoding`` is used as is (a byte-order mark dropped).
    Otherwise UTF-8 (with or without BOM) first; UTF-16 when it has a BOM,
    or when its NUL bytes sit every other byte (UTF-16 without BOM);
    otherwise Windows-1252, with a note.

    Raises
    ------
    SourceError
        For UTF-16 text that does not decode, or NUL bytes in no UTF-16
        pattern (a binary file), or text that is not in the declared encoding.
    """
    if encoding is not None:
        try:
            text = raw.decode("utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding)
        except UnicodeDecodeError as exc:
            raise _fail(label, f"bytes that are not {encoding} (first bad byte at offset {exc.start})",
                        f"text in the declared encoding {encoding}, or another encoding declared (or none: detected)") from None
        return text.lstrip("\ufeff"), []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _utf16(raw, label, "utf-16", "with a byte-order mark")
    if b"\x00" in raw[:4096]:
        head = raw[:4096]
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.3 * len(head) / 2 and even == 0:
            return _utf16(raw, label, "utf-16-le", "without a byte-order mark")
        if even > 0.3 * len(head) / 2 and odd == 0:
            return _utf16(raw, label, "utf-16-be", "without a byte-order mark")
        raise _fail(label, "NUL bytes (a binary file, not text)", "a text CSV file (UTF-8 preferred)")
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        for enc in _FALLBACK_ENCODINGS:
            try:
                text = raw.decode(enc)
            except UnicodeDecodeError:
                continue
            return text, [f"{label} is not UTF-8 (first bad byte at offset {exc.start}); read as {enc} (declare encoding: {enc} in workspace.yml to say so)"]
        raise _fail(label, "undecodable bytes", "UTF-8 text") from exc  # pragma: no cover - latin-1 decodes anything


def _utf16(raw: bytes, label: str, encoding: str, how: str) -> tuple[str, list[str]]:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _fail(label, f"UTF-16 text {how} that does not decode (offset {exc.start})", "a text CSV file, preferably UTF-8") from None
    return text.lstrip("\ufeff"), [f"{label} is UTF-16 ({how}); read as UTF-16 (saving as 'CSV UTF-8' is preferred)"]


def scan_csv(text: str, label: str, *, delimiter: str | None = None) -> list[Problem]:
    """Structural problems of CSV text: delimiter, header names, ragged rows.

    With a declared ``delimiter`` the text is split on it, and a header that
    does not split on it is the problem (instead of a comma file's
    semicolon detection).

    Row numbers are spreadsheet rows (the header is row 1), counting blank
    lines, as in every other message about the file.

    Returns
    -------
    list of Problem
        Empty when pandas can read the text column for column.
    """
    if not text.strip():
        return [Problem(label, None, None, "the file is empty (no header row)", "a header row naming the columns, then data rows")]
    reader = csv.reader(io.StringIO(text), skipinitialspace=True, delimiter=delimiter or ",")
    try:
        header = [h.strip() for h in next(reader)]
        if not any(header):
            return [Problem(label, 1, None, "a blank first line", "the header row naming the columns on line 1")]
        # The file is streamed, not held: only a few rows for the delimiter
        # check and the ragged rows are kept.
        first_rows: list[list[str]] = []
        width = len(header)
        ragged: list[tuple[int, list[str]]] = []
        for rowno, row in enumerate(reader, start=2):
            if len(first_rows) < 20:
                first_rows.append(row)
            if len(row) > width:
                ragged.append((rowno, row if len(ragged) < MAX_LISTED_ROWS else []))
    except csv.Error as exc:
        return [Problem(label, reader.line_num or None, None, f"malformed CSV ({exc})", "well-formed CSV (balanced quotes, no NUL bytes)")]
    other = _other_delimiter(header, first_rows, label) if delimiter is None else _not_declared(header, delimiter, label)
    if other is not None:
        return [other]
    return _duplicate_names(header, label) + _ragged_problems(ragged, width, label)


def _ragged_problems(ragged: list[tuple[int, list[str]]], width: int, label: str) -> list[Problem]:
    problems = []
    for rowno, row in ragged[:MAX_LISTED_ROWS]:
        extra = row[width:]
        hint = " (the extra fields are empty: a trailing comma?)" if not any(c.strip() for c in extra) else ""
        problems.append(
            Problem(
                label,
                rowno,
                None,
                f"row {rowno} has {len(row)} fields, the header has {width}{hint}",
                "at most one field per header column: quote values that contain commas, remove trailing commas",
            )
        )
    if len(ragged) > MAX_LISTED_ROWS:
        first, last = ragged[MAX_LISTED_ROWS][0], ragged[-1][0]
        problems.append(
            Problem(label, first, None, f"{len(ragged) - MAX_LISTED_ROWS} more rows with too many fields (rows {first}..{last})", "at most one field per header column")
        )
    return problems


def _other_delimiter(header: list[str], data: list[list[str]], label: str) -> Problem | None:
    """A problem when the file is semicolon- or tab-delimited (one column on commas)."""
    if len(header) != 1:
        return None
    counts = {d: header[0].count(d) for d in (";", "\t")}
    delim = max(counts, key=counts.__getitem__)
    if counts[delim] == 0:
        return None
    name = {";": "semicolon", "\t": "tab"}[delim]
    found = f"a {name}-delimited file (the header splits on {delim!r} into {counts[delim] + 1} columns, on ',' into 1)"
    expected = f"comma-separated values: export as 'CSV UTF-8 (comma delimited)', {_DECLARE}: delimiter: {delim!r}"
    # Spreadsheets in locales whose decimal separator is a comma write ';'
    # between fields and '12,5' for numbers; say so, since both must change.
    for i, row in enumerate(data, start=2):
        cells = ",".join(row).split(delim)
        comma = next((c.strip() for c in cells if _DECIMAL_COMMA.match(c.strip())), None)
        if comma is not None:
            found += f"; numbers use decimal commas (e.g. {comma!r} on row {i})"
            grouped = "." in comma
            expected += " and decimal: ','" + (" and thousands: '.'" if grouped else "")
            expected += f" (or write numbers with a decimal point: {comma.replace('.', '').replace(',', '.')})"
            break
    return Problem(label, 1, None, found, expected)


def _not_declared(header: list[str], delimiter: str, label: str) -> Problem | None:
    """A problem when the header does not split on the declared delimiter but on another one."""
    if len(header) != 1:
        return None
    counts = {d: header[0].count(d) for d in (",", ";", "\t", "|") if d != delimiter}
    other = max(counts, key=counts.__getitem__)
    if counts[other] == 0:
        return None
    return Problem(
        label, 1, None,
        f"a header that does not split on the declared delimiter {delimiter!r} (it splits on {other!r} into {counts[other] + 1} columns)",
        f"the delimiter the file uses: declare delimiter: {other!r} (or remove the declaration)",
    )


def _duplicate_names(header: list[str], label: str) -> list[Problem]:
    counts = Counter(h for h in header if h)
    out = []
    for name, n in counts.items():
        if n > 1:
            positions = [str(i + 1) for i, h in enumerate(header) if h == name]
            out.append(
                Problem(
                    label,
                    1,
                    name,
                    f"the column name {name!r} {n} times in the header (columns {', '.join(positions)})",
                    "each column name once in the header",
                )
            )
    return out
