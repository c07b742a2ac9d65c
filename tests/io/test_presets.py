"""Presets: each one's made-up export (real column names) loads and evaluates; the documented column lists match."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from badfiles import assert_refused
from intake_workspace import FIXTURES, PRESET_SOURCES, PROGRAM_ID, intake_workspace
from lopsnb.evaluation import evaluate
from lopsnb.io.presets import PRESETS, preset_markdown
from lopsnb.io.workspace import load_workspace

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"
FIXTURE_OF = {name: Path(src["file"]).name for name, (src, _rows) in PRESET_SOURCES.items()} | {"hris_roster": "hris_roster.csv"}


def test_every_preset_has_a_fixture_and_a_test() -> None:
    assert set(FIXTURE_OF) == set(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_fixture_carries_the_preset_column_names(name: str) -> None:
    with (FIXTURES / FIXTURE_OF[name]).open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert {c.theirs for c in PRESETS[name].columns} <= set(header)


@pytest.mark.parametrize("name", sorted(PRESET_SOURCES))
def test_each_preset_fixture_loads_and_evaluates(tmp_path: Path, name: str) -> None:
    source, rows = PRESET_SOURCES[name]
    ws = load_workspace(intake_workspace(tmp_path / "ws", source))
    enr = ws.table("enrollments")
    assert len(enr) == rows
    assert set(enr["program_id"]) == {PROGRAM_ID}
    assert set(enr["person_id"]) <= set(ws.table("people")["person_id"])
    assert (enr["status"] == "completed").sum() == 24
    assert enr.loc[enr["status"] == "completed", "completed_on"].between("2026-03-09", "2026-03-31").all()
    assert ws.intake["enrollments"][0] == f"preset {name}"
    ev = evaluate(ws, PROGRAM_ID)
    primary = ev.impact.primary
    # The fixture's 24 completers gain 0.3 CSAT points after the course; the
    # learners who only started (or never launched) it gain nothing.
    effect = 0.3 * 24 / rows
    assert primary.ci_low < effect < primary.ci_high and primary.estimate > 0.1


def test_the_roster_preset_maps_identifiers_and_dates(tmp_path: Path) -> None:
    ws = load_workspace(intake_workspace(tmp_path / "ws", PRESET_SOURCES["scorm12"][0]))
    people = ws.table("people")
    assert {"lms_username", "badge_number", "lms_user_id", "Tenure Years"} <= set(people.columns)
    assert people["hire_date"].notna().all() and people["email"].str.endswith("@northwind.example").all()


def test_a_preset_for_another_table_is_refused(tmp_path: Path, capsys) -> None:
    source = dict(PRESET_SOURCES["scorm12"][0], preset="hris_roster")
    root = intake_workspace(tmp_path / "ws", source)
    line = next(i for i, ln in enumerate((root / "workspace.yml").read_text(encoding="utf-8").splitlines(), 1) if "preset: hris_roster" in ln and i > 5)
    assert_refused(root, capsys, file="workspace.yml", row=line, column="sources.enrollments.preset", found="the people preset 'hris_roster'",
                   expected="a preset for the enrollments table: moodle_completion")


def test_an_unknown_preset_is_refused(tmp_path: Path, capsys) -> None:
    root = intake_workspace(tmp_path / "ws", dict(PRESET_SOURCES["scorm12"][0], preset="scorm3"))
    line = next(i for i, ln in enumerate((root / "workspace.yml").read_text(encoding="utf-8").splitlines(), 1) if "scorm3" in ln)
    assert_refused(root, capsys, file="workspace.yml", row=line, column="sources.enrollments.preset", found="'scorm3'", expected="one of the presets")


def test_own_keys_apply_on_top_of_the_preset(tmp_path: Path) -> None:
    source = dict(PRESET_SOURCES["successfactors_learning_history"][0])
    source["values"] = {**source["values"], "status": {"INCOMPLETE": "dropped"}}
    ws = load_workspace(intake_workspace(tmp_path / "ws", source))
    status = ws.table("enrollments")["status"].value_counts().to_dict()
    assert status == {"completed": 24, "dropped": 4}


def test_a_preset_column_missing_for_a_required_column_names_the_preset(tmp_path: Path, capsys) -> None:
    root = intake_workspace(tmp_path / "ws", PRESET_SOURCES["scorm12"][0])
    path = root / "exports" / "scorm12_status.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("cmi.core.student_id", "learner"), encoding="utf-8")
    line = next(i for i, ln in enumerate((root / "workspace.yml").read_text(encoding="utf-8").splitlines(), 1) if "preset: scorm12" in ln)
    assert_refused(root, capsys, file="workspace.yml", row=line, column="sources.enrollments.preset",
                   found="the preset 'scorm12' expects a column 'cmi.core.student_id'", expected="exactly as in the file's header")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_preset_columns_are_documented(name: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = re.search(rf"#### Preset `{name}`\n(.*?)(?=\n#### |\n### )", text, re.S)
    assert section is not None, name
    assert preset_markdown(PRESETS[name]) in section.group(1)
