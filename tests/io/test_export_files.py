"""Real HR/LMS export files: every kind of broken file gets a named problem, never a traceback.

Each case writes the real bytes of the broken file (UTF-16, a workbook named
.csv, an encrypted workbook, a formula without a saved value, ...) into the
small workspace and checks, through ``lopsnb validate`` and through
``load_workspace``, the file, row, column, what was found and what was
expected (see tests/badfiles.py).
"""

from __future__ import annotations

import io
import re
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from badfiles import assert_refused, workspace
from conftest import small_tables
from lopsnb.errors import ValidationError
from lopsnb.io.schemas import TABLES
from lopsnb.io.workspace import load_workspace

COSTS_HEADER = "program_id,category,amount,description,prorate_share"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return workspace(tmp_path / "ws")


def _costs(ws: Path, text: str) -> None:
    (ws / "costs.csv").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- delimiters and fields


def test_semicolon_file_with_decimal_commas_says_what_to_change(ws: Path, capsys) -> None:
    _costs(ws, "program_id;category;amount;description;prorate_share\ndemo;delivery;1000,50;trainer;1\n")
    p = assert_refused(ws, capsys, file="costs.csv", row=1, column=None, found="semicolon-delimited", expected="comma-separated")
    assert "decimal commas" in p.found and "'1000,50' on row 2" in p.found
    assert "decimal point" in p.expected and "1000.50" in p.expected


def test_tab_delimited_file_is_named(ws: Path, capsys) -> None:
    _costs(ws, COSTS_HEADER.replace(",", "\t") + "\ndemo\tdelivery\t1000\ttrainer\t1\n")
    assert_refused(ws, capsys, file="costs.csv", row=1, column=None, found="tab-delimited", expected="comma-separated")


def test_decimal_comma_in_a_comma_file_gets_a_hint(ws: Path, capsys) -> None:
    _costs(ws, COSTS_HEADER + '\ndemo,delivery,"1000,5",trainer,1\n')
    assert_refused(ws, capsys, file="costs.csv", row=2, column="amount", found="'1000,5'", expected="decimal comma")


def test_trailing_commas_are_rows_with_too_many_fields(ws: Path, capsys) -> None:
    rows = ["demo,delivery,1000,trainer,1", "demo,materials,200,books,1,", "demo,other,5,misc,1"] + ["demo,other,1,x,1"] * 3
    rows.append("demo,other,1,x,1,")
    _costs(ws, COSTS_HEADER + "\n" + "\n".join(rows) + "\n")
    p = assert_refused(ws, capsys, file="costs.csv", row=3, column=None, found="row 3 has 6 fields, the header has 5", expected="one field per header column")
    assert "trailing comma" in p.found
    assert_refused(ws, capsys, file="costs.csv", row=8, column=None, found="row 8 has 6 fields, the header has 5", expected="remove trailing commas")


def test_unquoted_comma_in_a_value(ws: Path, capsys) -> None:
    _costs(ws, COSTS_HEADER + "\ndemo,delivery,1000,trainer, travel and venue,1\n")
    p = assert_refused(ws, capsys, file="costs.csv", row=2, column=None, found="row 2 has 6 fields, the header has 5", expected="quote values")
    assert "trailing comma" not in p.found


def test_duplicate_header_column_is_detected_from_the_raw_header(ws: Path, capsys) -> None:
    # pandas would rename the second 'amount' to 'amount.1' and the file would pass.
    _costs(ws, "program_id,category,amount,description,amount\ndemo,delivery,1000,trainer,5\n")
    assert_refused(ws, capsys, file="costs.csv", row=1, column="amount", found="'amount' 2 times in the header (columns 3, 5)", expected="each column name once")


# --------------------------------------------------------------------------- encodings and containers


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_decoded(tmp_path: Path, encoding: str) -> None:
    plain = load_workspace(workspace(tmp_path / "plain"))
    root = workspace(tmp_path / "ws")
    text = (root / "people.csv").read_text(encoding="utf-8").replace("Person 1,", "Zoë Ñúñez,")
    (root / "people.csv").write_bytes(text.encode(encoding))  # "utf-16" writes a BOM; -le/-be do not
    ws = load_workspace(root)
    assert ws.people.loc[1, "name"] == "Zoë Ñúñez"
    pd.testing.assert_frame_equal(ws.people.drop(columns="name"), plain.people.drop(columns="name"))
    assert any("UTF-16" in n and "people.csv" in n for n in ws.notes)


def test_binary_file_with_nul_bytes(ws: Path, capsys) -> None:
    (ws / "costs.csv").write_bytes(b"program_id,cat\x00\x13\x00\x00\x00\xffegory\n\x00\x01\x02")
    assert_refused(ws, capsys, file="costs.csv", row=None, column=None, found="NUL bytes", expected="a text CSV file")


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_workbook_named_csv(ws: Path, capsys) -> None:
    (ws / "costs.csv").write_bytes(_xlsx_bytes([COSTS_HEADER.split(","), ["demo", "delivery", 1000, "trainer", 1]]))
    assert_refused(ws, capsys, file="costs.csv", row=None, column=None, found="a workbook (a zip archive", expected="rename the file to .xlsx")


def test_csv_named_xlsx(ws: Path, capsys) -> None:
    (ws / "costs.csv").rename(ws / "costs.xlsx")
    assert_refused(ws, capsys, file="costs.xlsx", row=None, column=None, found="not an .xlsx workbook", expected="named .csv")


def test_encrypted_xlsx_made_by_msoffcrypto(ws: Path, capsys) -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    (ws / "costs.csv").unlink()
    encrypted = io.BytesIO()
    ooxml.OOXMLFile(io.BytesIO(_xlsx_bytes([COSTS_HEADER.split(","), ["demo", "delivery", 1000, "trainer", 1]]))).encrypt("s3cret", encrypted)
    (ws / "costs.xlsx").write_bytes(encrypted.getvalue())
    assert_refused(ws, capsys, file="costs.xlsx", row=None, column=None, found="password-protected (encrypted)", expected="remove the password")


def test_encrypted_xlsx_from_a_crafted_ole_header(ws: Path, capsys) -> None:
    # Without msoffcrypto: an OLE compound file signature (MS-CFB 2.2) and the
    # EncryptionInfo stream name (MS-OFFCRYPTO 2.3.4) as its directory stores it.
    (ws / "costs.csv").unlink()
    crafted = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 512
    (ws / "costs.xlsx").write_bytes(crafted)
    assert_refused(ws, capsys, file="costs.xlsx", row=None, column=None, found="encrypted", expected="unencrypted .xlsx")


def test_legacy_xls_renamed_xlsx(ws: Path, capsys) -> None:
    (ws / "costs.csv").unlink()
    (ws / "costs.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)
    assert_refused(ws, capsys, file="costs.xlsx", row=None, column=None, found="legacy Excel 97-2003", expected="save it as .xlsx")


def test_formula_without_saved_value(ws: Path, capsys) -> None:
    # openpyxl writes formulas without computing them, as many scripts and BI exports do.
    (ws / "costs.csv").unlink()
    (ws / "costs.xlsx").write_bytes(
        _xlsx_bytes([COSTS_HEADER.split(","), ["demo", "delivery", 1000, "trainer", 1], ["demo", "materials", "=C2*0.2", "books", 1]])
    )
    assert_refused(ws, capsys, file="costs.xlsx", row=3, column="amount", found="a formula with no saved value (=C2*0.2)", expected="let it calculate")


def test_formula_with_a_saved_value_is_read(ws: Path) -> None:
    # The same formula with a cached result (as Excel saves it) is a plain value.
    (ws / "costs.csv").unlink()
    data = _xlsx_bytes([COSTS_HEADER.split(","), ["demo", "delivery", 1000, "trainer", 1], ["demo", "materials", "=C2*0.2", "books", 1]])
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                # openpyxl writes the empty cached value as <v/>, <v /> or <v></v> depending on its XML writer.
                body = re.sub(rb"<f>C2\*0\.2</f>(<v\s*/>|<v></v>)?", b"<f>C2*0.2</f><v>200</v>", body)
                assert b"<v>200</v>" in body
            dst.writestr(item, body)
    (ws / "costs.xlsx").write_bytes(out.getvalue())
    assert load_workspace(ws).costs["amount"].tolist() == [1000.0, 200.0]


# --------------------------------------------------------------------------- empty tables and columns


def test_header_only_table_has_no_data_rows(ws: Path, capsys) -> None:
    _costs(ws, COSTS_HEADER + "\n")
    assert_refused(ws, capsys, file="costs.csv", row=None, column=None, found="no data rows", expected="data rows below the header")


def test_header_only_parquet_and_xlsx(ws: Path, capsys) -> None:
    (ws / "costs.csv").unlink()
    small_tables()["costs"].iloc[0:0].to_parquet(ws / "costs.parquet", index=False)
    assert_refused(ws, capsys, file="costs.parquet", row=None, column=None, found="no data rows", expected="data rows below the header")
    (ws / "costs.parquet").unlink()
    (ws / "costs.xlsx").write_bytes(_xlsx_bytes([COSTS_HEADER.split(",")]))
    assert_refused(ws, capsys, file="costs.xlsx", row=None, column=None, found="no data rows", expected="data rows below the header")


@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n", "\ufeff".encode()])
def test_empty_file(ws: Path, capsys, content: bytes) -> None:
    (ws / "costs.csv").write_bytes(content)
    assert_refused(ws, capsys, file="costs.csv", row=None, column=None, found="the file is empty", expected="a header row")


REQUIRED = [(t, c) for t in ("people", "enrollments", "kpis", "costs", "assessments") for c in TABLES[t].required_columns]


@pytest.mark.parametrize(("table", "column"), REQUIRED, ids=[f"{t}.{c}" for t, c in REQUIRED])
def test_missing_required_column_is_a_problem_never_a_keyerror(tmp_path: Path, table: str, column: str) -> None:
    root = workspace(tmp_path / "ws")
    frame = small_tables()[table].drop(columns=column)
    frame.to_csv(root / f"{table}.csv", index=False)
    with pytest.raises(ValidationError) as info:
        load_workspace(root)
    hits = [p for p in info.value.problems if p.file.endswith(f"{table}.csv") and p.column == column]
    assert hits and "no such column" in hits[0].found and f"a column named '{column}'" == hits[0].expected


def test_missing_required_column_through_validate(ws: Path, capsys) -> None:
    small_tables()["kpis"].drop(columns="period").to_csv(ws / "kpis.csv", index=False)
    assert_refused(ws, capsys, file="kpis.csv", row=None, column="period", found="no such column", expected="a column named 'period'")


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("value", ["2025", "2025-3-4", "2025-03", "03/04/2025", "2025-03-04junk"])
def test_partial_dates_are_errors_not_completed(ws: Path, capsys, value: str) -> None:
    frame = small_tables()["enrollments"]
    frame.loc[2, "enrolled_on"] = value
    frame.to_csv(ws / "enrollments.csv", index=False)
    assert_refused(ws, capsys, file="enrollments.csv", row=4, column="enrolled_on", found=repr(value), expected="a date YYYY-MM-DD")


def test_full_dates_with_a_time_still_read(ws: Path) -> None:
    frame = small_tables()["enrollments"]
    frame.loc[0, "enrolled_on"] = "2026-03-01 00:00:00"  # how a spreadsheet date cell reads as text
    frame.loc[1, "enrolled_on"] = "2026-03-01T08:30:00Z"
    frame.to_csv(ws / "enrollments.csv", index=False)
    assert load_workspace(ws).enrollments["enrolled_on"].head(2).tolist() == [pd.Timestamp("2026-03-01")] * 2


@pytest.mark.parametrize("stamp", ["1900-03-10T10:00:00Z", "2206-03-10T10:00:00Z"])
def test_xapi_timestamp_outside_the_contract_range(tmp_path: Path, capsys, stamp: str) -> None:
    root = workspace(tmp_path / "ws", enrollments=False)
    base = {"actor": {"account": {"homePage": "https://hr.example", "name": "P00"}}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://lms.example/course/demo"}, "timestamp": "2026-03-10T10:00:00Z"}
    late = dict(base, actor={"account": {"homePage": "https://hr.example", "name": "P01"}}, timestamp=stamp)
    (root / "statements.jsonl").write_text(json.dumps(base) + "\n" + json.dumps(late) + "\n", encoding="utf-8")
    (root / "workspace.yml").write_text(
        "sources:\n  enrollments: {xapi: statements.jsonl, activities: {'https://lms.example/course/demo': demo}}\n", encoding="utf-8"
    )
    assert_refused(root, capsys, file="statements.jsonl", row=2, column="timestamp", found=stamp, expected="between 1950-01-01 and 2100-12-31")


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e999", "NaN", "nan", "-inf"])
def test_non_finite_numbers_in_csv(ws: Path, capsys, value: str) -> None:
    frame = small_tables()["kpis"].astype({"value": object})
    frame.loc[4, "value"] = value
    frame.to_csv(ws / "kpis.csv", index=False)
    assert_refused(ws, capsys, file="kpis.csv", row=6, column="value", found=repr(value), expected="a finite number")


@pytest.mark.parametrize("table, column, row", [("people", "hourly_cost", 3), ("costs", "prorate_share", 2), ("assessments", "max_score", 4)])
def test_non_finite_in_every_numeric_column(tmp_path: Path, table: str, column: str, row: int) -> None:
    root = workspace(tmp_path / "ws")
    frame = small_tables()[table].astype({column: object})
    frame.loc[row - 2, column] = "Infinity"
    frame.to_csv(root / f"{table}.csv", index=False)
    with pytest.raises(ValidationError) as info:
        load_workspace(root)
    assert [(p.row, p.column) for p in info.value.problems if p.file.endswith(f"{table}.csv")] == [(row, column)]


@pytest.mark.parametrize("bad, shown", [(np.inf, "inf"), (-np.inf, "-inf"), (np.nan, "NaN")])
def test_non_finite_numbers_in_parquet(ws: Path, capsys, bad: float, shown: str) -> None:
    (ws / "costs.csv").unlink()
    costs = small_tables()["costs"]
    table = pa.table(
        {
            "program_id": costs["program_id"],
            "category": costs["category"],
            # Row 2 (record 2) holds the non-finite value; record 1's share is a real null.
            "amount": pa.array([1000.0, bad], type=pa.float64()),
            "description": costs["description"],
            "prorate_share": pa.array([None, 1.0], type=pa.float64()),
        }
    )
    pq.write_table(table, ws / "costs.parquet")
    assert_refused(ws, capsys, file="costs.parquet", row=2, column="amount", found=shown, expected="a finite number")
    ok = table.set_column(2, "amount", pa.array([1000.0, 200.0]))
    pq.write_table(ok, ws / "costs.parquet")
    assert load_workspace(ws).costs["prorate_share"].tolist() == [1.0, 1.0]  # the null took its default


@pytest.mark.parametrize("value", ["1e999", "NaN", "-inf"])
def test_non_finite_numbers_in_excel(ws: Path, capsys, value: str) -> None:
    (ws / "costs.csv").unlink()
    rows = [COSTS_HEADER.split(","), ["demo", "delivery", 1000, "trainer", "#N/A"], ["demo", "materials", value, "books", 1]]
    (ws / "costs.xlsx").write_bytes(_xlsx_bytes(rows))
    assert_refused(ws, capsys, file="costs.xlsx", row=3, column="amount", found=repr(value), expected="a finite number")
    rows[2][2] = 200
    (ws / "costs.xlsx").write_bytes(_xlsx_bytes(rows))
    assert load_workspace(ws).costs["prorate_share"].tolist() == [1.0, 1.0]  # '#N/A' is a blank: the default applies


def test_non_finite_numbers_in_sql(tmp_path: Path, capsys) -> None:
    root = workspace(tmp_path / "ws", kpis=False)
    kpis = small_tables()["kpis"].astype({"value": "float64"})
    kpis.loc[3, "value"] = np.inf
    with sqlite3.connect(root / "lrs.db") as conn:
        kpis.to_sql("kpi_extract", conn, index=False)
    (root / "workspace.yml").write_text("sources:\n  kpis: {sql: 'SELECT * FROM kpi_extract', url: 'sqlite:///lrs.db'}\n", encoding="utf-8")
    assert_refused(root, capsys, file="workspace.yml [sources.kpis.sql]", row=4, column="value", found="inf", expected="a finite number")
