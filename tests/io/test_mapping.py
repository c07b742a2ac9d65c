"""Declared dialects and mappings (workspace.yml sources): their file read as the contract table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from badfiles import assert_refused, workspace
from conftest import small_tables
from lopsnb.cli import main
from lopsnb.io.workspace import load_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return workspace(tmp_path / "ws", kpis=False)


def _config(ws: Path, text: str) -> None:
    (ws / "workspace.yml").write_text(text, encoding="utf-8")


def _european_kpis(ws: Path, *, encoding: str = "cp1252", bad: dict[int, str] | None = None) -> pd.DataFrame:
    """The small workspace's kpis as a German spreadsheet writes them; returns the contract frame."""
    kpis = small_tables()["kpis"]
    kpis["value"] = pd.to_numeric(kpis["value"]) * 12.25  # above 1,000: the thousands separator is exercised
    lines = ["Mitarbeiter;Kennzahl;Monat;Wert (€)"]
    for i, r in enumerate(kpis.itertuples(index=False)):
        value = f"{float(r.value):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") if str(r.value) != "" else ""
        month = pd.Timestamp(r.period).strftime("%d.%m.%Y")
        lines.append(";".join([r.entity_id, r.metric, (bad or {}).get(i + 2, month), value]))
    (ws / "kpi_export.csv").write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return kpis


EUROPEAN = """\
sources:
  kpis:
    file: kpi_export.csv
    delimiter: ";"
    decimal: ","
    thousands: "."
    encoding: cp1252
    date_format: "%d.%m.%Y"
    columns: {Mitarbeiter: entity_id, Kennzahl: metric, Monat: period, Wert (€): value}
"""


def test_a_european_export_reads_as_the_contract_table(ws: Path) -> None:
    kpis = _european_kpis(ws)
    _config(ws, EUROPEAN)
    loaded = load_workspace(ws).table("kpis")
    assert loaded["value"].tolist() == pytest.approx(pd.to_numeric(kpis["value"]).tolist())
    assert loaded["period"].tolist() == pd.to_datetime(kpis["period"]).tolist()
    assert loaded["_row"].tolist() == list(range(2, len(kpis) + 2))
    assert max(pd.to_numeric(kpis["value"])) >= 1000, "the fixture must exercise the thousands separator"


def test_validate_prints_the_mappings_it_applied(ws: Path, capsys) -> None:
    _european_kpis(ws)
    _config(ws, EUROPEAN)
    assert main(["validate", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "Mappings applied (workspace.yml):" in out
    assert "'Mitarbeiter' → entity_id" in out and "numbers with decimal ','" in out and "date_format '%d.%m.%Y'" in out


def test_without_the_declaration_the_hint_says_how_to_declare_it(ws: Path, capsys) -> None:
    _european_kpis(ws, encoding="utf-8")
    _config(ws, "sources:\n  kpis: {file: kpi_export.csv}\n")
    assert_refused(ws, capsys, file="kpi_export.csv", row=1, column=None, found="semicolon-delimited", expected="delimiter: ';'")
    assert_refused(ws, capsys, file="kpi_export.csv", row=1, column=None, found="decimal commas", expected="decimal: ','")


def test_a_bad_date_names_their_file_row_column_and_the_declared_format(ws: Path, capsys) -> None:
    _european_kpis(ws, bad={5: "31.02.2026"})
    _config(ws, EUROPEAN)
    assert_refused(ws, capsys, file="kpi_export.csv", row=5, column="Monat", found="'31.02.2026'", expected="'%d.%m.%Y' (e.g. '04.03.2026')")


def test_a_bad_number_names_their_column(ws: Path, capsys) -> None:
    _european_kpis(ws)
    text = (ws / "kpi_export.csv").read_bytes().decode("cp1252").splitlines()
    cells = text[3].split(";")
    text[3] = ";".join(cells[:3] + ["zwölf"])
    (ws / "kpi_export.csv").write_bytes(("\n".join(text) + "\n").encode("cp1252"))
    _config(ws, EUROPEAN)
    p = assert_refused(ws, capsys, file="kpi_export.csv", row=4, column="Wert (€)", found="'zwölf'", expected="a number")
    assert "read as value" in p.expected


def test_a_declared_column_missing_from_the_file_names_workspace_yml(ws: Path, capsys) -> None:
    _european_kpis(ws)
    _config(ws, EUROPEAN.replace("Wert (€): value", "Betrag: value"))
    assert_refused(ws, capsys, file="workspace.yml", row=9, column="sources.kpis.columns.Betrag", found="declared a column 'Betrag'", expected="exactly as in the file's header")


def test_a_target_that_is_no_contract_column_is_an_error(ws: Path, capsys) -> None:
    _european_kpis(ws)
    _config(ws, EUROPEAN.replace("Wert (€): value", "Wert (€): amount"))
    assert_refused(ws, capsys, file="workspace.yml", row=9, column="sources.kpis.columns.Wert (€)", found="'Wert (€)' → 'amount'", expected="entity_id, metric, period, value")


def test_unknown_keys_are_errors_with_their_line(ws: Path, capsys) -> None:
    _european_kpis(ws)
    _config(ws, EUROPEAN.replace('    decimal: ","', '    decimel: ","'))
    assert_refused(ws, capsys, file="workspace.yml", row=5, column="sources.kpis.decimel", found="no such field", expected="unknown keys are errors")


@pytest.mark.parametrize(
    ("line", "column", "found", "expected"),
    [
        ('    delimiter: ";;"', "sources.kpis.delimiter", "';;'", "one character"),
        ('    encoding: klingon', "sources.kpis.encoding", "'klingon'", "a Python codec name"),
        ('    date_format: "%d.%m"', "sources.kpis.date_format", "'%d.%m'", "a day, a month and a year"),
        ('    thousands: ","', "sources.kpis.thousands", "','", "different from the decimal separator"),
    ],
)
def test_bad_dialect_settings_are_named(ws: Path, capsys, line: str, column: str, found: str, expected: str) -> None:
    _european_kpis(ws)
    key = line.split(":")[0]
    text = "\n".join(line if ln.startswith(key + ":") else ln for ln in EUROPEAN.splitlines()) + "\n"
    row = next(i for i, ln in enumerate(text.splitlines(), start=1) if ln.startswith(key + ":"))
    _config(ws, text)
    assert_refused(ws, capsys, file="workspace.yml", row=row, column=column, found=found, expected=expected)


def test_a_wrong_declared_encoding_is_named(ws: Path, capsys) -> None:
    _european_kpis(ws, encoding="cp1252")
    _config(ws, EUROPEAN.replace("encoding: cp1252", "encoding: utf-8"))
    assert_refused(ws, capsys, file="kpi_export.csv", row=None, column=None, found="bytes that are not utf-8", expected="the declared encoding")


def test_a_wrong_declared_delimiter_says_which_one_the_file_uses(ws: Path, capsys) -> None:
    _european_kpis(ws)
    _config(ws, EUROPEAN.replace('delimiter: ";"', 'delimiter: "|"'))
    assert_refused(ws, capsys, file="kpi_export.csv", row=1, column=None, found="does not split on the declared delimiter '|'", expected="declare delimiter: ';'")


def test_dialect_keys_on_a_workbook_are_refused(ws: Path, capsys) -> None:
    small_tables()["kpis"].to_excel(ws / "kpis.xlsx", index=False)
    _config(ws, "sources:\n  kpis:\n    file: kpis.xlsx\n    decimal: ','\n")
    assert_refused(ws, capsys, file="workspace.yml", row=4, column="sources.kpis.decimal", found="decimal declared for a .xlsx file", expected="only for a .csv file")


def test_values_recode_spellings_ignoring_case_and_spaces_and_filters_keep_row_numbers(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    enr = small_tables()["enrollments"].rename(columns={"person_id": "Learner", "program_id": "Course", "status": "Done?"})
    enr["Done?"] = [" y ", "N", "Y", "n"][: len(enr)] + ["Y"] * max(0, len(enr) - 4)
    enr["Region"] = ["EMEA"] * len(enr)
    extra = enr.iloc[[0]].assign(Region="TEST", Course="sandbox")
    pd.concat([extra, enr]).to_csv(ws / "lms.csv", index=False)
    (ws / "enrollments.csv").unlink()
    _config(ws, """\
sources:
  enrollments:
    file: lms.csv
    columns: {Learner: person_id, Course: program_id, "Done?": status}
    values:
      status: {Y: completed, N: in_progress}
    drop_rows: {Region: [test]}
""")
    loaded = load_workspace(ws).table("enrollments")
    assert loaded["status"].tolist()[:4] == ["completed", "in_progress", "completed", "in_progress"]
    assert loaded["_row"].tolist()[0] == 3, "the dropped test row keeps its row number"
    # A reversed boolean ("not completed: Y") is the same declaration the other way round.
    _config(ws, (ws / "workspace.yml").read_text().replace("{Y: completed, N: in_progress}", "{Y: in_progress, N: completed}"))
    assert load_workspace(ws).table("enrollments")["status"].tolist()[:2] == ["in_progress", "completed"]
    # A spelling that is not declared is reported in their column.
    enr.assign(**{"Done?": ["maybe"] + ["Y"] * (len(enr) - 1)}).to_csv(ws / "lms.csv", index=False)
    assert_refused(ws, capsys, file="lms.csv", row=2, column="Done?", found="'maybe'", expected="one of")


@pytest.mark.parametrize(
    ("coding", "cell"),
    [("epoch_s", "1772582400"), ("epoch_ms", "1772582400000"), ("epoch_ms", "/Date(1772582400000)/"), ("excel_serial", "46085")],
)
def test_coded_dates(tmp_path: Path, coding: str, cell: str) -> None:
    ws = workspace(tmp_path / "ws")
    enr = small_tables()["enrollments"]
    enr["completed_on"] = [cell if str(v) not in ("", "nan") else "" for v in enr["completed_on"]]
    enr["enrolled_on"] = ""
    enr.to_csv(ws / "enrollments.csv", index=False)
    _config(ws, f"sources:\n  enrollments: {{dates: {coding}}}\n")
    loaded = load_workspace(ws).table("enrollments")
    assert set(loaded["completed_on"].dropna()) == {pd.Timestamp("2026-03-04")}


def test_a_coded_date_that_is_not_a_number_is_named(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    enr = small_tables()["enrollments"]
    enr["completed_on"] = ["yesterday"] + [""] * (len(enr) - 1)
    enr.to_csv(ws / "enrollments.csv", index=False)
    _config(ws, "sources:\n  enrollments: {dates: epoch_s}\n")
    assert_refused(ws, capsys, file="enrollments.csv", row=2, column="completed_on", found="'yesterday'", expected="seconds since 1970-01-01")


def test_a_sql_source_maps_columns_and_values(ws: Path) -> None:
    kpis = small_tables()["kpis"]
    db = ws / "dw.db"
    with sqlite3.connect(db) as con:
        kpis.rename(columns={"entity_id": "emp", "metric": "kpi", "period": "month", "value": "val"}).to_sql("kpi", con, index=False)
    _config(ws, "sources:\n  kpis:\n    sql: SELECT * FROM kpi\n    url: sqlite:///dw.db\n    columns: {emp: entity_id, kpi: metric, month: period, val: value}\n")
    loaded = load_workspace(ws).table("kpis")
    assert len(loaded) == len(kpis) and set(loaded["metric"]) == set(kpis["metric"])


def test_unquoted_numbers_are_text_and_unquoted_booleans_are_refused(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    enr = small_tables()["enrollments"].assign(program_id="12", status=["Yes", "Yes", "Yes", "No"])
    enr.to_csv(ws / "enrollments.csv", index=False)
    _config(ws, "sources:\n  enrollments:\n    values:\n      program_id: {12: demo}\n      status: {'Yes': completed, 'No': dropped}\n")
    assert load_workspace(ws).table("enrollments")["program_id"].tolist() == ["demo"] * 4
    _config(ws, "sources:\n  enrollments:\n    values:\n      program_id: {12: demo}\n      status: {Yes: completed, No: dropped}\n")
    assert_refused(ws, capsys, file="workspace.yml", row=3, column="sources.enrollments.values", found="", expected="an unquoted YAML boolean (True)")


def test_a_dangling_reference_names_their_column(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    enr = small_tables()["enrollments"].assign(person_id=["P00", "P01", "P99", "P03"])
    enr.rename(columns={"person_id": "Learner"}).to_csv(ws / "enrollments.csv", index=False)
    _config(ws, "sources:\n  enrollments:\n    columns: {Learner: person_id}\n")
    p = assert_refused(ws, capsys, file="enrollments.csv", row=4, column="Learner", found="'P99'", expected="a person_id listed in the people table")
    assert "read as person_id" in p.expected


def test_a_nan_in_a_filtered_parquet_file_is_still_named(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws", kpis=False)
    kpis = small_tables()["kpis"].rename(columns={"value": "Wert"})
    kpis["source"] = "bi"
    kpis.loc[0, "source"] = "test"
    values = pd.to_numeric(kpis["Wert"]).astype("float64").tolist()
    values[3] = float("nan")  # a NaN (not a null): only Arrow keeps the difference
    columns = {c: pa.array(kpis[c].astype(str).tolist()) for c in kpis.columns if c != "Wert"}
    pq.write_table(pa.table({**columns, "Wert": pa.array(values, type=pa.float64(), from_pandas=False)}), ws / "kpis.parquet")
    _config(ws, "sources:\n  kpis:\n    columns: {Wert: value}\n    drop_rows: {source: [test]}\n")
    assert_refused(ws, capsys, file="kpis.parquet", row=4, column="Wert", found="NaN", expected="a finite number")
