"""lopsnb.io.readers on its own: file formats, encodings, and the errors it raises."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from lopsnb.errors import SourceError
from lopsnb.io.readers import find_table_file, read_file, read_sql


def test_csv_cells_stay_text_and_rows_keep_their_spreadsheet_numbers(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("person_id, hourly_cost\nP001,0042.50\n\nP002,\n", encoding="utf-8")
    parsed = read_file(path)
    assert list(parsed.frame.columns) == ["person_id", "hourly_cost"]
    assert parsed.frame["hourly_cost"].tolist()[0] == "0042.50"  # not parsed: validation types the cells
    assert pd.isna(parsed.frame["hourly_cost"].tolist()[1])
    # The blank line 3 is dropped without renumbering: P002 stays on line 4.
    assert parsed.row_base == 2 and list(parsed.frame.index + parsed.row_base) == [2, 4]


def test_windows_1252_csv_is_read_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("person_id,name\nP1,Jos\xe9\n".encode("cp1252"))
    parsed = read_file(path, label="people.csv")
    assert parsed.frame["name"].tolist() == ["José"]
    assert parsed.notes == ["people.csv is not UTF-8 (first bad byte at offset 21); read as cp1252 (declare encoding: cp1252 in workspace.yml to say so)"]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("\ufeffperson_id\nP1\n".encode())
    assert list(read_file(path).frame.columns) == ["person_id"]


@pytest.mark.parametrize(
    ("content", "found", "row"),
    [
        (b"", "the file is empty (0 bytes)", None),
        (b"\n\n  \n", "the file is empty (no header row)", None),
        (b"a,b\n1,2\n3,4,5\n", "row 3 has 3 fields, the header has 2", 3),
    ],
)
def test_unreadable_csv_raises_source_error_naming_file_and_line(tmp_path: Path, content: bytes, found: str, row: int | None) -> None:
    path = tmp_path / "kpis.csv"
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        read_file(path, label="kpis.csv")
    (problem,) = info.value.problems
    assert problem.file == "kpis.csv" and problem.found.startswith(found) and problem.row == row
    assert isinstance(info.value, ValueError)  # the builtin a caller would catch


def test_unsupported_and_corrupt_files(tmp_path: Path) -> None:
    txt = tmp_path / "people.txt"
    txt.write_text("person_id\nP1\n")
    with pytest.raises(SourceError, match="extension '.txt'"):
        read_file(txt)
    bad = tmp_path / "people.parquet"
    bad.write_bytes(b"not a parquet file")
    with pytest.raises(SourceError) as info:
        read_file(bad)
    assert info.value.problems[0].expected == "a valid .parquet file"


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "people.parquet"
    pd.DataFrame({"person_id": ["P1", "P2"]}).to_parquet(path)
    parsed = read_file(path)
    assert parsed.row_base == 1 and parsed.frame["person_id"].tolist() == ["P1", "P2"]


def test_excel_header_below_title_rows_is_found(tmp_path: Path) -> None:
    path = tmp_path / "costs.xlsx"
    grid = pd.DataFrame([["Costs FY26", None], [None, None], ["program_id", "amount"], ["demo", "100"]])
    grid.to_excel(path, header=False, index=False)
    parsed = read_file(path, header_hint=["program_id", "amount"])
    assert list(parsed.frame.columns)[:2] == ["program_id", "amount"]
    assert parsed.frame["program_id"].tolist() == ["demo"]
    # The data row is spreadsheet row 4 (title, blank, header above it).
    assert (parsed.frame.index + parsed.row_base).tolist() == [4]


def test_find_table_file_lists_every_supported_candidate(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("person_id\n")
    (tmp_path / "people.xlsx").write_bytes(b"")
    (tmp_path / "people.txt").write_text("")
    assert find_table_file(tmp_path, "people") == [tmp_path / "people.csv", tmp_path / "people.xlsx"]
    assert find_table_file(tmp_path, "kpis") == []


def test_read_sql_returns_text_cells_and_names_the_source_on_error(tmp_path: Path) -> None:
    db = tmp_path / "hr.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE people (person_id TEXT, hourly_cost REAL)")
        con.execute("INSERT INTO people VALUES ('P1', 42.5)")
    parsed = read_sql("SELECT * FROM people", f"sqlite:///{db}", label="sql:people")
    assert parsed.file == "sql:people" and parsed.frame["person_id"].tolist() == ["P1"]
    with pytest.raises(SourceError) as info:
        read_sql("SELECT * FROM nowhere", f"sqlite:///{db}", label="sql:people")
    assert info.value.problems[0].file == "sql:people"
