"""Loading workspaces: formats, canonical frames, and one test per kind of bad input."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from conftest import PROGRAM_YML, SAMPLE, small_tables, write_costs_xlsx_with_title_rows
from lopsnb import LopsnbError, ValidationError, load_workspace
from lopsnb.errors import ProgramConfigError, SourceError


def _problems(exc: pytest.ExceptionInfo[LopsnbError]) -> list:
    return exc.value.problems


def _one(problems: list, column: str) -> object:
    hits = [p for p in problems if p.column == column]
    assert hits, f"no problem for column {column}: {problems}"
    return hits[0]


def test_small_workspace_loads_with_typed_frames(make_workspace) -> None:
    ws = load_workspace(make_workspace())
    assert set(ws.tables) >= {"people", "enrollments", "kpis", "costs", "assessments"}
    assert ws.kpis["period"].dtype == "datetime64[ns]"
    assert ws.kpis["value"].dtype == "float64"
    assert ws.costs["prorate_share"].tolist() == [1.0, 1.0]  # blank -> default 1
    assert ws.people["tenure_years"].dtype == "float64"  # numeric extra column
    assert not ws.has("reactions")
    assert list(ws.reactions.columns)[:3] == ["program_id", "item", "score"]
    assert ws.program("demo").outcome == "revenue"
    text = repr(ws)
    assert "kpis" in text and "50 rows" in text and "demo" in text and "not measured" in text


@pytest.mark.parametrize("kind", ["parquet", "xlsx"])
def test_other_file_formats_give_the_same_frames(make_workspace, kind: str) -> None:
    csv_ws = load_workspace(make_workspace())
    other = load_workspace(make_workspace(fmt={"kpis": kind, "people": kind}))
    for table in ("kpis", "people"):
        left = csv_ws.table(table).drop(columns="_row")
        right = other.table(table).drop(columns="_row")
        pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_sqlite_source_through_sqlalchemy(make_workspace) -> None:
    root = make_workspace(kpis=None)
    with sqlite3.connect(root / "lrs.db") as conn:
        small_tables()["kpis"].to_sql("kpi_extract", conn, index=False)
    (root / "workspace.yml").write_text(
        "sources:\n  kpis: {sql: 'SELECT entity_id, metric, period, value FROM kpi_extract', url: 'sqlite:///lrs.db'}\n"
    )
    ws = load_workspace(root)
    assert len(ws.kpis) == 50
    assert ws.sources["kpis"].startswith("sql:")
    assert ws.kpis["period"].min() == pd.Timestamp("2026-01-01")


def test_failing_sql_names_the_source(make_workspace) -> None:
    root = make_workspace(kpis=None)
    sqlite3.connect(root / "x.db").close()  # an existing, empty database: the query is what fails
    (root / "workspace.yml").write_text("sources:\n  kpis: {sql: 'SELECT * FROM nowhere', url: 'sqlite:///x.db'}\n")
    with pytest.raises(ValidationError) as exc:
        load_workspace(root)
    assert "sources.kpis.sql" in _problems(exc)[0].file


def test_missing_required_table(make_workspace) -> None:
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(kpis=None))
    assert any("kpis" in p.file and "required table" in p.expected for p in _problems(exc))


def test_renamed_column_is_named_with_a_hint(make_workspace) -> None:
    people = small_tables()["people"].rename(columns={"person_id": "personid"})
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(people=people))
    p = _one(_problems(exc), "person_id")
    assert p.file.endswith("people.csv") and "personid" in p.found


def test_unparseable_and_impossible_dates(make_workspace) -> None:
    enr = small_tables()["enrollments"]
    enr.loc[1, "enrolled_on"] = "next tuesday"
    enr.loc[2, "enrolled_on"] = "2026-02-30"
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(enrollments=enr))
    rows = {(p.row, p.column, p.found) for p in _problems(exc)}
    assert (3, "enrolled_on", "'next tuesday'") in rows
    assert (4, "enrolled_on", "'2026-02-30'") in rows


def test_unparseable_number(make_workspace) -> None:
    kpis = small_tables()["kpis"].astype({"value": object})
    kpis.loc[4, "value"] = "n/a"
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(kpis=kpis))
    p = _one(_problems(exc), "value")
    assert p.row == 6 and p.found == "'n/a'" and "number" in p.expected


def test_duplicate_person_id(make_workspace) -> None:
    people = small_tables()["people"]
    people.loc[5, "person_id"] = "P00"
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(people=people))
    rows = sorted(p.row for p in _problems(exc) if p.column == "person_id")
    assert rows == [2, 7]


def test_unknown_references(make_workspace) -> None:
    enr = small_tables()["enrollments"]
    enr.loc[0, "person_id"] = "P99"
    enr.loc[1, "program_id"] = "ghost"
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(enrollments=enr))
    found = {(p.row, p.column) for p in _problems(exc)}
    assert (2, "person_id") in found and (3, "program_id") in found


def test_negative_cost_and_hours(make_workspace) -> None:
    costs = small_tables()["costs"]
    costs.loc[0, "amount"] = -5
    enr = small_tables()["enrollments"]
    enr.loc[2, "hours"] = -1
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(costs=costs, enrollments=enr))
    assert _one(_problems(exc), "amount").row == 2
    assert _one(_problems(exc), "hours").row == 4


def test_score_above_max(make_workspace) -> None:
    a = small_tables()["assessments"]
    a.loc[3, "score"] = 120
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(assessments=a))
    p = _one(_problems(exc), "score")
    assert p.row == 5 and "120" in p.found and "max_score" in p.expected


def test_share_outside_unit_interval(make_workspace) -> None:
    costs = small_tables()["costs"]
    costs.loc[1, "prorate_share"] = 1.5
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(costs=costs))
    p = _one(_problems(exc), "prorate_share")
    assert p.row == 3 and "<= 1" in p.expected


def test_all_problems_reported_at_once(make_workspace) -> None:
    people = small_tables()["people"]
    people.loc[0, "hourly_cost"] = -1
    enr = small_tables()["enrollments"]
    enr.loc[0, "status"] = "finished"
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(people=people, enrollments=enr))
    files = {Path(p.file).name for p in _problems(exc)}
    assert files == {"people.csv", "enrollments.csv"}


@pytest.mark.parametrize(
    ("edit", "field", "expect"),
    [
        (("  design: did", "  design: magic"), "evaluation.design", "did"),
        (("  design: did", "  design: did\n  colour: red"), "evaluation.colour", "unknown keys"),
        (("direction: increase, unit", "direction: up, unit"), "chain.business_metric.direction", "increase"),
        (("end: 2026-02-28", "end: 2026-06-30"), "evaluation", "before the followup"),
        (("monetization: {value_per_unit: 1.0", "monetization: {value_per_unit: lots"), "monetization.value_per_unit", "number"),
    ],
)
def test_bad_program_yaml_names_file_and_field(make_workspace, edit, field: str, expect: str) -> None:
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(program=PROGRAM_YML.replace(*edit)))
    p = _one(_problems(exc), field)
    assert p.file.endswith("demo.yml") and expect in p.expected
    assert p.row is not None  # the YAML line


def test_program_id_must_match_file_and_be_a_slug(make_workspace) -> None:
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(program=PROGRAM_YML.replace("id: demo", "id: ../x")))
    assert _one(_problems(exc), "id").file.endswith("demo.yml")


def test_program_errors_can_be_collected(make_workspace) -> None:
    ws = load_workspace(make_workspace(program=PROGRAM_YML.replace("outcome", "x").replace("design: did", "design: nope")), on_program_error="collect")
    assert "demo" in ws.program_errors and not ws.programs
    assert isinstance(ws.program_errors["demo"], ProgramConfigError)


def test_outcome_metric_must_exist(make_workspace) -> None:
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(program=PROGRAM_YML.replace("metric: revenue,", "metric: profit,")))
    assert _one(_problems(exc), "evaluation.outcome").found == "'profit'"


def test_empty_file_is_a_source_problem(make_workspace) -> None:
    root = make_workspace()
    (root / "costs.csv").write_bytes(b"")
    with pytest.raises(ValidationError) as exc:
        load_workspace(root)
    p = _problems(exc)[0]
    assert p.file.endswith("costs.csv") and "0 bytes" in p.found


def test_latin1_csv_is_read_with_a_note(make_workspace) -> None:
    root = make_workspace()
    people = small_tables()["people"]
    people.loc[0, "name"] = "José Müller"
    (root / "people.csv").write_bytes(people.to_csv(index=False).encode("latin-1"))
    ws = load_workspace(root)
    assert ws.people.loc[0, "name"] == "José Müller"
    assert any("not UTF-8" in n for n in ws.notes)


def test_excel_with_title_and_merged_header_rows(make_workspace) -> None:
    root = make_workspace(costs=None)
    write_costs_xlsx_with_title_rows(
        root / "costs.xlsx",
        ["program_id", "category", "amount", "description", "prorate_share"],
        [["demo", "delivery", 1000, "trainer", 1], ["demo", "materials", -3, "books", None]],
    )
    with pytest.raises(ValidationError) as exc:
        load_workspace(root)
    p = _one(_problems(exc), "amount")
    assert p.file.endswith("costs.xlsx") and p.row == 5  # the spreadsheet row


def test_two_files_for_one_table(make_workspace) -> None:
    root = make_workspace(fmt={"costs": "parquet"})
    small_tables()["costs"].to_csv(root / "costs.csv", index=False)
    with pytest.raises(ValidationError) as exc:
        load_workspace(root)
    assert "several files" in _problems(exc)[0].found


def test_missing_folder() -> None:
    with pytest.raises(SourceError):
        load_workspace("/nonexistent/workspace")


def test_messages_name_file_row_column(make_workspace) -> None:
    a = small_tables()["assessments"]
    a.loc[0, "phase"] = "middle"
    with pytest.raises(ValidationError) as exc:
        load_workspace(make_workspace(assessments=a))
    message = str(exc.value)
    assert "assessments.csv" in message and "row 2" in message and "'phase'" in message and "'middle'" in message


@pytest.mark.skipif(not (SAMPLE / "people.csv").exists(), reason="sample workspace not generated yet")
def test_sample_workspace_loads_clean() -> None:
    ws = load_workspace(SAMPLE)
    assert not ws.program_errors
    assert len(ws.programs) >= 7
    assert 1500 <= len(ws.people) <= 2500


def test_row_numbers_survive_blank_lines(make_workspace) -> None:
    root = make_workspace()
    lines = (root / "enrollments.csv").read_text().splitlines()
    lines.insert(2, "")  # a blank line after the first data row
    lines[4] = lines[4].replace("2026-03-01", "2026-13-01", 1)  # the third data row is now on line 5
    (root / "enrollments.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError) as exc:
        load_workspace(root)
    assert _one(_problems(exc), "enrolled_on").row == 5


def test_xapi_source_supplies_enrollments_and_assessments(make_workspace) -> None:
    import json

    root = make_workspace(enrollments=None, assessments=None)
    course = "https://lms.acme.example/course/demo"
    statements = [
        {"id": "s1", "actor": {"mbox": "mailto:P0@acme.example"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/launched"},
         "object": {"id": course}, "timestamp": "2026-03-01T09:00:00Z", "result": {"duration": "PT2H"}},
        {"id": "s2", "actor": {"mbox": "mailto:p0@acme.example"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
         "object": {"id": course}, "timestamp": "2026-03-10T17:00:00+02:00", "result": {"duration": "PT1H30M"}},
        {"id": "s3", "actor": {"account": {"homePage": "https://hr.acme.example", "name": "P01"}},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"}, "object": {"id": course + "/post"},
         "timestamp": "2026-03-12T10:00:00Z", "result": {"score": {"scaled": 0.82}}},
        {"id": "s4", "actor": {"account": {"homePage": "https://hr.acme.example", "name": "P01"}},
         "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": {"id": course}, "timestamp": "2026-03-12T10:00:00Z"},
        {"id": "v1", "actor": {"mbox": "mailto:p0@acme.example"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
         "object": {"objectType": "StatementRef", "id": "s4"}, "timestamp": "2026-03-13T10:00:00Z"},
    ]
    (root / "lrs.jsonl").write_text("\n".join(json.dumps(s) for s in statements) + "\n")
    (root / "workspace.yml").write_text(
        "sources:\n"
        f"  enrollments: {{xapi: lrs.jsonl, activities: {{'{course}': demo, '{course}/post': {{program: demo, phase: post}}}}}}\n"
        f"  assessments: {{xapi: lrs.jsonl, activities: {{'{course}': demo, '{course}/post': {{program: demo, phase: post}}}}}}\n"
    )
    ws = load_workspace(root)
    enr = ws.enrollments.set_index("person_id")
    assert enr.loc["P00", "status"] == "completed" and enr.loc["P00", "hours"] == pytest.approx(3.5)
    assert enr.loc["P00", "completed_on"] == pd.Timestamp("2026-03-10")
    assert enr.loc["P01", "status"] == "in_progress"  # its completion was voided
    assert ws.assessments.loc[0, "score"] == pytest.approx(82.0) and ws.assessments.loc[0, "phase"] == "post"
    assert ws.sources["enrollments"] == "xapi:lrs.jsonl"
