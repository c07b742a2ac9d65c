"""cmi5 statements in the xAPI import: satisfied, waived, abandoned, moveOn and masteryScore.

cmi5 (AICC/ADL, https://github.com/AICC/CMI-5_Spec_Current): the LMS issues
``satisfied`` on a course or block once its moveOn criteria are met,
``waived`` when an AU is credited without being attempted, and ``abandoned``
when a session ends without the AU terminating; ``launched`` statements carry
the AU's ``moveOn`` criterion and ``masteryScore`` as context extensions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lopsnb.errors import ValidationError
from lopsnb.io.rules import active_enrollments, is_dropped, participant_counts
from lopsnb.io.xapi import CMI5_MASTERY_SCORE, CMI5_MOVE_ON, read_xapi, xapi_tables

ADL = "http://adlnet.gov/expapi/verbs/"
SATISFIED = ADL + "satisfied"
WAIVED = "https://w3id.org/xapi/adl/verbs/waived"
ABANDONED = "https://w3id.org/xapi/adl/verbs/abandoned"
COURSE = "https://lms.example.com/cmi5/course/safety"
BLOCK = "https://lms.example.com/cmi5/course/safety/block/1"
AU = "https://lms.example.com/cmi5/course/safety/au/intro"
ACTIVITIES: dict[str, Any] = {COURSE: "safety", BLOCK: "safety", AU: "safety"}
PEOPLE = pd.DataFrame({"person_id": ["p1", "p2", "p3", "p4"],
                       "email": ["p1@example.com", "p2@example.com", "p3@example.com", "p4@example.com"]})


def stmt(sid: str, who: str, verb: str, obj: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {"id": sid, "actor": {"mbox": f"mailto:{who}@example.com"}, "verb": {"id": verb},
            "object": {"objectType": "Activity", "id": obj}, "timestamp": ts, **extra}


def launched(sid: str, who: str, ts: str, move_on: str = "CompletedOrPassed", mastery: float | None = 0.8) -> dict[str, Any]:
    ext: dict[str, Any] = {CMI5_MOVE_ON: move_on}
    if mastery is not None:
        ext[CMI5_MASTERY_SCORE] = mastery
    return stmt(sid, who, ADL + "launched", AU, ts, context={"extensions": ext})


def tables(statements: list[dict[str, Any]]) -> pd.DataFrame:
    out = xapi_tables(enumerate(statements, start=1), label="lrs", people=PEOPLE, activities=ACTIVITIES)
    return out.enrollments.set_index("person_id")


def test_satisfied_on_the_course_or_a_block_counts_as_completion() -> None:
    enr = tables([
        launched("l1", "p1", "2026-03-01T09:00:00Z"),
        stmt("s1", "p1", SATISFIED, COURSE, "2026-03-05T10:00:00Z"),
        launched("l2", "p2", "2026-03-02T09:00:00Z"),
        stmt("s2", "p2", SATISFIED, BLOCK, "2026-03-06T10:00:00Z"),
    ])
    assert enr.loc["p1", "status"] == "completed" and enr.loc["p1", "completed_on"] == pd.Timestamp("2026-03-05")
    assert enr.loc["p2", "status"] == "completed" and enr.loc["p2", "completed_on"] == pd.Timestamp("2026-03-06")


def test_waived_without_attempt_is_its_own_status_and_no_participant() -> None:
    enr = tables([
        stmt("w1", "p1", WAIVED, AU, "2026-03-03T10:00:00Z", result={"success": True, "completion": True}),
        stmt("s1", "p1", SATISFIED, COURSE, "2026-03-03T10:00:01Z"),
        # p2 attempted, then had one AU waived: an attempt, so not "waived".
        launched("l2", "p2", "2026-03-01T09:00:00Z"),
        stmt("w2", "p2", WAIVED, AU, "2026-03-04T10:00:00Z"),
        stmt("s2", "p2", SATISFIED, COURSE, "2026-03-04T10:00:01Z"),
    ])
    assert enr.loc["p1", "status"] == "waived"
    assert enr.loc["p1", "completed_on"] == pd.Timestamp("2026-03-03")  # credited on that day
    assert enr.loc["p2", "status"] == "completed"
    frame = enr.reset_index()
    # A waiver is not participation (no training was received), nor a drop.
    assert list(active_enrollments(frame)["person_id"]) == ["p2"]
    assert participant_counts(frame).to_dict() == {"safety": 1}
    assert not is_dropped(frame).any()


def test_waived_alone_without_satisfied_still_has_a_completion_date() -> None:
    enr = tables([stmt("w1", "p3", WAIVED, AU, "2026-03-07T10:00:00Z")])
    assert enr.loc["p3", "status"] == "waived" and enr.loc["p3", "completed_on"] == pd.Timestamp("2026-03-07")


def test_abandoned_is_in_progress_and_does_not_undo_a_completion() -> None:
    enr = tables([
        launched("l1", "p1", "2026-03-01T09:00:00Z"),
        stmt("a1", "p1", ABANDONED, AU, "2026-03-01T10:00:00Z", result={"duration": "PT30M"}),
        launched("l2", "p2", "2026-03-01T09:00:00Z"),
        stmt("s2", "p2", SATISFIED, COURSE, "2026-03-02T09:00:00Z"),
        stmt("a2", "p2", ABANDONED, AU, "2026-03-09T10:00:00Z"),
    ])
    assert enr.loc["p1", "status"] == "in_progress" and pd.isna(enr.loc["p1", "completed_on"])
    assert enr.loc["p1", "hours"] == pytest.approx(0.5)
    assert enr.loc["p2", "status"] == "completed"


def test_move_on_and_mastery_score_are_kept_latest_wins() -> None:
    enr = tables([
        launched("l1", "p1", "2026-03-01T09:00:00Z", move_on="Passed", mastery=0.7),
        launched("l2", "p1", "2026-03-08T09:00:00Z", move_on="CompletedAndPassed", mastery=0.9),
        launched("l3", "p2", "2026-03-01T09:00:00Z", move_on="Completed", mastery=None),
        stmt("x3", "p3", ADL + "launched", AU, "2026-03-01T09:00:00Z"),  # no cmi5 context
    ])
    assert enr.loc["p1", "move_on"] == "CompletedAndPassed" and enr.loc["p1", "mastery_score"] == pytest.approx(0.9)
    assert enr.loc["p2", "move_on"] == "Completed" and pd.isna(enr.loc["p2", "mastery_score"])
    assert pd.isna(enr.loc["p3", "move_on"]) and pd.isna(enr.loc["p3", "mastery_score"])


def test_plain_xapi_has_no_cmi5_columns() -> None:
    enr = tables([stmt("c1", "p1", ADL + "completed", COURSE, "2026-03-01T09:00:00Z")])
    assert "move_on" not in enr.columns and "mastery_score" not in enr.columns


@pytest.mark.parametrize(("key", "value", "expected"), [
    (CMI5_MOVE_ON, "Finished", "CompletedOrPassed"),
    (CMI5_MASTERY_SCORE, 80, "between 0 and 1"),
    (CMI5_MASTERY_SCORE, "0.8", "between 0 and 1"),
])
def test_bad_cmi5_extensions_are_problems_naming_the_extension(key: str, value: Any, expected: str) -> None:
    bad = stmt("b1", "p1", ADL + "launched", AU, "2026-03-01T09:00:00Z", context={"extensions": {key: value}})
    with pytest.raises(ValidationError) as exc:
        tables([bad])
    (problem,) = exc.value.problems
    assert problem.column == f"context.extensions.{key}" and expected in problem.expected and problem.row == 1


def test_duplicate_statements_from_overlapping_pages_count_once(tmp_path: Path) -> None:
    pages = [
        [launched("l1", "p1", "2026-03-01T09:00:00Z"),
         stmt("a1", "p1", ABANDONED, AU, "2026-03-01T10:00:00Z", result={"duration": "PT1H"})],
        # The next page starts again with the last statement of the first.
        [stmt("a1", "p1", ABANDONED, AU, "2026-03-01T10:00:00Z", result={"duration": "PT1H"}),
         stmt("s1", "p1", SATISFIED, COURSE, "2026-03-02T10:00:00Z")],
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for page in pages for s in page), encoding="utf-8")
    out = read_xapi(path, people=PEOPLE, activities=ACTIVITIES)
    row = out.enrollments.set_index("person_id").loc["p1"]
    assert row["hours"] == pytest.approx(1.0)  # not 2: the repeat is dropped
    assert out.stats["duplicates"] == 1 and row["status"] == "completed"


def test_waived_enrollments_validate_in_a_workspace(make_workspace) -> None:
    from lopsnb import load_workspace

    root = make_workspace(enrollments=None)
    statements = [stmt("w1", "p0", WAIVED, AU, "2026-03-03T10:00:00Z"),
                  launched("l1", "p1", "2026-03-01T09:00:00Z"),
                  stmt("s1", "p1", SATISFIED, COURSE, "2026-03-05T10:00:00Z")]
    for st in statements:
        st["actor"] = {"mbox": st["actor"]["mbox"].replace("@example.com", "@acme.example")}
    (root / "lrs.jsonl").write_text("".join(json.dumps(s) + "\n" for s in statements), encoding="utf-8")
    (root / "workspace.yml").write_text(
        f"sources:\n  enrollments: {{xapi: lrs.jsonl, activities: {{'{COURSE}': demo, '{AU}': demo}}}}\n", encoding="utf-8")
    ws = load_workspace(root)
    enr = ws.enrollments.set_index("person_id")
    assert enr.loc["P00", "status"] == "waived" and enr.loc["P01", "status"] == "completed"
    assert enr.loc["P01", "move_on"] == "CompletedOrPassed" and enr.loc["P01", "mastery_score"] == pytest.approx(0.8)
    assert "0 participants" not in ws.summary() and " 1 participants" in ws.summary()
