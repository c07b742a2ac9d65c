"""Identity resolution: a source's identifiers (e-mail, LMS login, badge …) matched to people.person_id."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from badfiles import assert_refused, workspace
from conftest import small_tables
from intake_workspace import PRESET_SOURCES, PROGRAM_ID, intake_workspace
from lopsnb.cli import main
from lopsnb.evaluation import evaluate
from lopsnb.io.cache import build_cache
from lopsnb.io.identity import IdentityReport, normalise_identifier
from lopsnb.io.workspace import load_workspace


@pytest.mark.parametrize(
    ("value", "domains", "expected"),
    [
        ("  Ana.Lopez@ACME.example ", None, "ana.lopez@acme.example"),
        ("ana.lopez @ acme.example", None, "ana.lopez@acme.example"),
        ("ana@Old-Name.example", {"old-name.example": "acme.example"}, "ana@acme.example"),
        ("Jean  Luc", None, "jean luc"),
        (310.0, None, "310"),
        ("", None, None),
        (None, None, None),
        (float("nan"), None, None),
    ],
)
def test_normalise_identifier(value: object, domains: dict[str, str] | None, expected: str | None) -> None:
    assert normalise_identifier(value, domains) == expected


def _by_email(ws: Path, emails: list[str], *, policy: str = "error", extra: str = "") -> None:
    enr = small_tables()["enrollments"].iloc[: len(emails)].copy()
    enr["person_id"] = emails
    enr.rename(columns={"person_id": "Learner e-mail"}).to_csv(ws / "enrollments.csv", index=False)
    (ws / "workspace.yml").write_text(
        "sources:\n  enrollments:\n    columns: {Learner e-mail: person_id}\n    match_on: email\n"
        f"    unmatched: {policy}\n{extra}",
        encoding="utf-8",
    )


def test_emails_match_ignoring_case_spaces_and_aliased_domains(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    _by_email(ws, ["P0@ACME.example", " p1@acme.example", "p2@acme-old.example", "p3@acme.example"],
              extra="    email_domains: {acme-old.example: acme.example}\n")
    loaded = load_workspace(ws)
    assert loaded.table("enrollments")["person_id"].tolist() == ["P00", "P01", "P02", "P03"]
    report = loaded.identity["enrollments"]
    assert (report.rows, report.matched_rows, report.dropped_rows) == (4, 4, 0)


def test_unmatched_identifiers_are_one_problem_with_counts_and_examples(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    _by_email(ws, ["p0@acme.example", "nobody@acme.example", "p2@acme.example", "ghost@agency.example"])
    p = assert_refused(ws, capsys, file="enrollments.csv", row=3, column="Learner e-mail",
                       found="2 identifier(s) in 2 row(s) that match no person in people.email: 'nobody@acme.example' (row 3), 'ghost@agency.example' (row 5)",
                       expected="sources.enrollments.unmatched: drop")
    assert "a value of people.email" in p.expected


def test_ambiguous_identifiers_are_reported(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    people = small_tables()["people"]
    people.loc[5, "email"] = "P1@acme.example"  # two people share an address
    people.to_csv(ws / "people.csv", index=False)
    _by_email(ws, ["p0@acme.example", "p1@acme.example", "p2@acme.example"])
    assert_refused(ws, capsys, file="enrollments.csv", row=3, column="Learner e-mail", found="1 identifier(s) in 1 row(s) that match several people in people.email",
                   expected="once")


def test_resolved_duplicates_break_the_unique_key(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    _by_email(ws, ["p0@acme.example", "P0@acme.example "])
    assert_refused(ws, capsys, file="enrollments.csv", row=3, column="Learner e-mail, program_id", found="a duplicate of another row", expected="unique combination")


def test_dropped_rows_are_counted_in_validate_and_in_the_report_coverage_notes(tmp_path: Path, capsys) -> None:
    source, rows = PRESET_SOURCES["moodle_completion"]
    root = intake_workspace(tmp_path / "ws", source)
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Identity matching:" in out
    assert ("enrollments: 28 of 29 rows matched people.email; 1 identifier(s) in 1 row(s) matched no person "
            "(e.g. 'temp.helper@staffing-agency.example'); 1 row(s) dropped (unmatched: drop)") in out
    ws = load_workspace(root)
    assert len(ws.table("enrollments")) == rows
    notes = evaluate(ws, PROGRAM_ID).impact.notes
    assert any(n.startswith("1 enrollments row(s) left out: their identifier matched no person") for n in notes), notes
    # The cache keeps the report, so a cached run shows the same note.
    build_cache(ws)
    cached = load_workspace(root, cache=True)
    assert cached.cache_dir is not None and cached.identity == ws.identity and cached.intake == ws.intake


def test_a_report_of_another_program_has_no_note(tmp_path: Path) -> None:
    report = IdentityReport(table="enrollments", match_on="email", policy="drop", rows=3, matched_rows=2, dropped_rows=1,
                            dropped_by_program={"a": 1})
    assert report.coverage_note("b") is None and report.coverage_note("a") is not None


def test_match_on_a_column_people_lacks_is_refused(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    _by_email(ws, ["p0@acme.example"])
    (ws / "workspace.yml").write_text((ws / "workspace.yml").read_text().replace("match_on: email", "match_on: badge"), encoding="utf-8")
    assert_refused(ws, capsys, file="workspace.yml", row=4, column="sources.enrollments.match_on", found="'badge'", expected="a column of the people table: person_id, name")


def test_match_on_for_a_table_without_a_person_column_is_refused(tmp_path: Path, capsys) -> None:
    ws = workspace(tmp_path / "ws")
    (ws / "workspace.yml").write_text("sources:\n  costs:\n    match_on: email\n", encoding="utf-8")
    assert_refused(ws, capsys, file="workspace.yml", row=3, column="sources.costs.match_on", found="match_on for the costs table", expected="enrollments")


def test_a_kpi_extract_keyed_by_badge_number(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    people = small_tables()["people"].assign(badge=[f"B-{i:03d}" for i in range(12)])
    people.to_csv(ws / "people.csv", index=False)
    kpis = small_tables()["kpis"]
    kpis["entity_id"] = kpis["entity_id"].str.replace("P", "b-0")
    kpis = pd.concat([kpis, kpis.iloc[[0]].assign(entity_id="B-999")])
    kpis.to_csv(ws / "kpis.csv", index=False)
    (ws / "workspace.yml").write_text("sources:\n  kpis: {match_on: badge, unmatched: drop}\n", encoding="utf-8")
    loaded = load_workspace(ws)
    assert set(loaded.table("kpis")["entity_id"]) == set(small_tables()["kpis"]["entity_id"])
    assert loaded.identity["kpis"].dropped_rows == 1
    assert loaded.identity_notes("demo") == [
        "1 kpis row(s) left out: their identifier matched no person, or several, in people.badge (workspace.yml sources.kpis.unmatched: drop)"]


def test_match_on_person_id_normalises_hris_ids(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    enr = small_tables()["enrollments"]
    enr["person_id"] = ["p00", " P01", "P02 ", "p03"]
    enr.to_csv(ws / "enrollments.csv", index=False)
    (ws / "workspace.yml").write_text("sources:\n  enrollments: {match_on: person_id}\n", encoding="utf-8")
    assert load_workspace(ws).table("enrollments")["person_id"].tolist() == ["P00", "P01", "P02", "P03"]


def test_a_dropped_row_is_not_reported_for_its_other_cells(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    enr = small_tables()["enrollments"].assign(person_id=["p0@acme.example", "p1@acme.example", "p2@acme.example", "ghost@agency.example"])
    enr.loc[3, "completed_on"] = "someday"
    enr.rename(columns={"person_id": "Learner e-mail"}).to_csv(ws / "enrollments.csv", index=False)
    (ws / "workspace.yml").write_text(
        "sources:\n  enrollments:\n    columns: {Learner e-mail: person_id}\n    date_format: '%Y-%m-%d'\n    match_on: email\n    unmatched: drop\n",
        encoding="utf-8",
    )
    assert len(load_workspace(ws).table("enrollments")) == 3
