"""workspace.yml sources, reserved program ids and invalid programs in evaluate()."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from badfiles import assert_refused, tree, workspace
from conftest import PROGRAM_YML, small_tables
from lopsnb.cli import main
from lopsnb.errors import LopsnbError, ProgramConfigError, ValidationError
from lopsnb.evaluation import evaluate
from lopsnb.io.programs import RESERVED_PROGRAM_IDS, reserved_id_problem
from lopsnb.io.workspace import load_workspace

SECRET = "TOP-SECRET-TOKEN-4711"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return workspace(tmp_path / "ws", kpis=False)


def _config(ws: Path, text: str) -> None:
    (ws / "workspace.yml").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- SQLite


def test_missing_sqlite_database_is_an_error_and_nothing_is_created(ws: Path, capsys) -> None:
    _config(ws, "name: Acme\nsources:\n  kpis: {sql: 'SELECT * FROM kpis', url: 'sqlite:///data/kpis.db'}\n")
    assert_refused(ws, capsys, file="workspace.yml", row=3, column="sources.kpis.url", found="no such database file 'data/kpis.db'", expected="an existing SQLite database")
    assert not (ws / "data").exists() and not (ws / "data" / "kpis.db").exists()


def test_sqlite_database_outside_the_workspace_is_refused(ws: Path, capsys, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.db"
    with sqlite3.connect(outside) as conn:
        small_tables()["kpis"].to_sql("kpis", conn, index=False)
    _config(ws, f"sources:\n  kpis: {{sql: 'SELECT * FROM kpis', url: 'sqlite:///{outside}'}}\n")
    assert_refused(ws, capsys, file="workspace.yml", row=2, column="sources.kpis.url", found="resolves outside the workspace folder", expected="a path inside the workspace folder")


def test_sqlite_database_inside_the_workspace_reads(ws: Path) -> None:
    with sqlite3.connect(ws / "kpis.db") as conn:
        small_tables()["kpis"].to_sql("kpis", conn, index=False)
    _config(ws, f"sources:\n  kpis: {{sql: 'SELECT * FROM kpis', url: 'sqlite:///{ws / 'kpis.db'}'}}\n")
    assert len(load_workspace(ws).kpis) == 50


# --------------------------------------------------------------------------- paths leading out


def _secret_csv(path: Path) -> None:
    path.write_text(f"entity_id,metric,period,value\n{SECRET},revenue,2026-01-01,1\n", encoding="utf-8")


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_file_source_outside_the_workspace_is_refused_without_reading_it(ws: Path, capsys, tmp_path: Path, how: str) -> None:
    secret = tmp_path / "secret.csv"
    _secret_csv(secret)
    if how == "dotdot":
        ref = "../secret.csv"
    elif how == "absolute":
        ref = str(secret)
    else:
        os.symlink(secret, ws / "kpis-link.csv")
        ref = "kpis-link.csv"
    _config(ws, f"sources:\n  kpis:\n    file: '{ref}'\n")
    assert_refused(ws, capsys, file="workspace.yml", row=3, column="sources.kpis.file", found="resolves outside the workspace folder", expected="no '..', absolute path or symbolic link")
    main(["validate", str(ws)])
    assert SECRET not in capsys.readouterr().err
    with pytest.raises(LopsnbError) as info:
        load_workspace(ws)
    assert SECRET not in str(info.value)


def test_xapi_source_outside_the_workspace_is_refused(tmp_path: Path, capsys) -> None:
    root = workspace(tmp_path / "ws", enrollments=False)
    (tmp_path / "lrs.jsonl").write_text('{"secret": "%s"}\n' % SECRET, encoding="utf-8")
    _config(root, "sources:\n  enrollments: {xapi: ../lrs.jsonl, activities: {'https://lms.example/c': demo}}\n")
    assert_refused(root, capsys, file="workspace.yml", row=2, column="sources.enrollments.xapi", found="'../lrs.jsonl', which resolves outside", expected="inside the workspace folder")


def test_file_source_inside_the_workspace_reads(ws: Path) -> None:
    (ws / "exports").mkdir()
    small_tables()["kpis"].to_csv(ws / "exports" / "kpi-extract.csv", index=False)
    _config(ws, "sources:\n  kpis: {file: exports/../exports/kpi-extract.csv}\n")
    assert len(load_workspace(ws).kpis) == 50


# --------------------------------------------------------------------------- field names


def test_source_errors_name_the_users_field_not_class_names(ws: Path, capsys) -> None:
    _config(ws, "sources:\n  kpis:\n    sql: 'SELECT 1'\n    url: 'sqlite:///x.db'\n    timeout: 5\n")
    p = assert_refused(ws, capsys, file="workspace.yml", row=5, column="sources.kpis.timeout", found="no such field", expected="")
    main(["validate", str(ws)])
    err = capsys.readouterr().err
    assert "SqlSource" not in err and "XapiSource" not in err and "FileSource" not in err, err
    assert p.column == "sources.kpis.timeout"


def test_missing_source_field_is_named(ws: Path, capsys) -> None:
    _config(ws, "sources:\n  kpis: {sql: 'SELECT 1'}\n")
    assert_refused(ws, capsys, file="workspace.yml", row=2, column="sources.kpis.url", found="nothing (field missing)", expected="Field required")


def test_unknown_source_kind_is_named(ws: Path, capsys) -> None:
    _config(ws, "sources:\n  kpis: {query: 'SELECT 1'}\n")
    assert_refused(ws, capsys, file="workspace.yml", row=2, column="sources.kpis", found="{'query': 'SELECT 1'}", expected="a source with 'sql' and 'url'")
    main(["validate", str(ws)])
    assert "Source" not in capsys.readouterr().err.replace("a source with", "")


# --------------------------------------------------------------------------- reserved ids


def test_the_reserved_set_is_defined_once() -> None:
    assert {"scorecards", "operations", "con", "aux", "nul", "prn", "com1", "com9", "lpt1", "lpt9"} <= RESERVED_PROGRAM_IDS
    assert reserved_id_problem("Scorecards", "programs/Scorecards.yml") is not None
    assert reserved_id_problem("NUL", "x.yml") is not None and reserved_id_problem("con.backup", "x.yml") is not None
    assert reserved_id_problem("console", "x.yml") is None and reserved_id_problem("com10", "x.yml") is None


@pytest.mark.parametrize("pid", ["scorecards", "operations", "con", "aux", "nul", "prn", "com1", "lpt9", "COM3", "Operations"])
def test_reserved_program_id_is_a_problem_of_that_file_only(tmp_path: Path, capsys, pid: str) -> None:
    root = workspace(tmp_path / "ws")
    text = PROGRAM_YML.replace("id: demo", f"id: {pid}")
    (root / "programs" / f"{pid}.yml").write_text(text, encoding="utf-8")
    before = tree(root)
    status = main(["validate", str(root)])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"{pid}.yml, line 1, column 'id': found the reserved id '{pid}'" in err, err
    assert "report folders and Windows device names" in err
    assert "demo " in out  # the other program is still valid and listed
    ws = load_workspace(root, on_program_error="collect")
    assert "demo" in ws.programs and list(ws.program_errors) == [pid]
    with pytest.raises(ValidationError, match=f"{pid}.yml, line 1, column 'id'"):
        load_workspace(root)
    assert tree(root) == before


# --------------------------------------------------------------------------- evaluate() of an invalid program


def test_evaluate_of_an_invalid_program_names_the_file_and_problems(tmp_path: Path) -> None:
    root = workspace(tmp_path / "ws")
    (root / "programs" / "broken.yml").write_text(PROGRAM_YML.replace("id: demo", "id: broken").replace("design: did", "design: rct"), encoding="utf-8")
    ws = load_workspace(root, on_program_error="collect")
    with pytest.raises(ProgramConfigError) as info:
        evaluate(ws, "broken")
    message = str(info.value)
    assert "broken.yml" in message and "evaluation.design" in message and "'rct'" in message
    assert [p.column for p in info.value.problems] == ["evaluation.design"]
    with pytest.raises(KeyError, match="no program 'nothere'"):
        evaluate(ws, "nothere")
