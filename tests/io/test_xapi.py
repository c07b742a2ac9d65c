"""Tests of lopsnb.io.xapi.read_xapi (xAPI statement export -> enrollments, assessments)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lopsnb.errors import LopsnbError, SourceError, ValidationError
from lopsnb.io.xapi import (
    VOIDED_VERB,
    XapiTables,
    _Bad,
    _parse_duration_seconds,
    _parse_timestamp,
    read_xapi,
)

VERB = "http://adlnet.gov/expapi/verbs/"
LMS = "https://lms.example.com/activities/"
COURSE = LMS + "sales101"
PRE = LMS + "sales101/pretest"
POST = LMS + "sales101/posttest"
SAFETY = LMS + "safety-induction"
OTHER = LMS + "unmapped-webinar"

ACTIVITIES: dict[str, Any] = {
    COURSE: "sales-enablement",
    PRE: {"program": "sales-enablement", "phase": "pre"},
    POST: {"program": "sales-enablement", "phase": "post"},
    SAFETY: "safety",
}


def sha1_mbox(address: str) -> str:
    return hashlib.sha1(f"mailto:{address}".encode()).hexdigest()


def make_people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3", "p4"],
            "name": ["Ana Silva", "Ben Okafor", "Chen Wei", "Dee Park"],
            "email": ["Ana.Silva@Example.com", "ben@example.com", "chen@example.com", None],
            "emp_no": ["E001", "E002", "E003", "E004"],
        }
    )


def stmt(
    sid: str,
    actor: dict[str, Any],
    verb: str,
    obj: str | dict[str, Any],
    timestamp: str | None = None,
    *,
    stored: str | None = None,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    s: dict[str, Any] = {
        "id": sid,
        "actor": {"objectType": "Agent", **actor},
        "verb": {"id": verb if verb.startswith("http") else VERB + verb, "display": {"en-US": verb}},
        "object": obj if isinstance(obj, dict) else {"objectType": "Activity", "id": obj},
    }
    if timestamp is not None:
        s["timestamp"] = timestamp
    if stored is not None:
        s["stored"] = stored
    if result is not None:
        s["result"] = result
    return s


ANA = {"name": "Ana", "mbox": "mailto:ana.silva@example.com"}  # case differs from people.email
BEN = {"mbox_sha1sum": sha1_mbox("ben@example.com")}
CHEN = {"account": {"homePage": "https://hr.example.com", "name": "E003"}}
DEE = {"account": {"homePage": "https://hr.example.com", "name": "E004"}}
VISITOR = {"mbox": "mailto:visitor@elsewhere.org"}


def realistic_statements() -> list[dict[str, Any]]:
    """A small LRS export; comments give the expected effect of each statement."""
    return [
        # Ben's completion is voided by a statement that comes *before* it.
        stmt("v-1", ANA, "voided", {"objectType": "StatementRef", "id": "B-COMPLETED"},
             "2026-03-20T08:00:00Z"),
        # Ana: pre-test the evening before launching the course -> enrolled_on 2026-03-01.
        stmt("a-1", ANA, "scored", PRE, "2026-03-01T20:00:00Z",
             result={"score": {"raw": 12, "min": 0, "max": 20}, "duration": "PT15M"}),
        stmt("a-2", ANA, "launched", COURSE, "2026-03-02T08:00:00+01:00"),
        stmt("a-3", ANA, "attempted", COURSE, "2026-03-05T10:00:00Z", result={"duration": "PT1H30M"}),
        # 23:30 at UTC-5 is 04:30 UTC on the 11th -> completed_on 2026-03-11.
        stmt("a-4", ANA, "completed", COURSE, "2026-03-10T23:30:00-05:00", result={"duration": "PT2H"}),
        stmt("a-5", ANA, "passed", COURSE, "2026-03-12T09:00:00Z"),
        # Two post-test attempts, the later one listed first in the file: keep 85.
        stmt("a-7", ANA, "scored", POST, "2026-03-11T10:00:00Z",
             result={"score": {"scaled": 0.85}, "duration": "PT45.5S"}),
        stmt("a-6", ANA, "failed", POST, "2026-03-11T09:00:00Z",
             result={"score": {"scaled": 0.6}, "duration": "PT20M"}),
        # Ben (sha1): pre-test on a 5..15 scale -> (7-5)/(15-5)*100 = 20 of 100.
        stmt("b-1", BEN, "launched", COURSE, "2026-03-03T12:00:00Z", result={"duration": "PT0S"}),
        stmt("b-2", BEN, "scored", PRE, "2026-03-03T12:10:00+00:00",
             result={"score": {"raw": 7, "min": 5, "max": 15}}),
        stmt("b-3", BEN, "attempted", COURSE, "2026-03-04T12:00:00Z", result={"duration": "PT1H"}),
        stmt("B-COMPLETED", BEN, "completed", COURSE, "2026-03-19T12:00:00Z", result={"duration": "PT3H"}),
        # Chen (account): safety course across midnight in two offsets.
        stmt("c-1", CHEN, "launched", SAFETY, "2026-02-27T22:00:00-08:00",
             stored="2026-03-05T00:00:00Z"),  # timestamp wins -> 2026-02-28
        stmt("c-1", CHEN, "launched", SAFETY, "2026-02-27T22:00:00-08:00",
             stored="2026-03-05T00:00:00Z"),  # identical duplicate (overlapping exports)
        stmt("c-2", CHEN, "completed", SAFETY, "2026-03-01T00:30:00+01:00",
             result={"duration": "P0DT1H15M"}),  # 2026-02-28T23:30Z
        stmt("c-3", CHEN, "experienced", SAFETY, "2026-03-01T10:00:00Z"),  # ignored verb
        stmt("c-4", CHEN, "passed", OTHER, "2026-03-01T11:00:00Z"),  # unmapped activity
        # Dee (account): assessments only; the pre-test has only `stored`
        # (nanosecond fraction) and a raw score without a max.
        stmt("d-1", DEE, "scored", PRE, stored="2026-03-04T09:00:00.123456789Z", result={"score": {"raw": 30}}),
        stmt("d-2", DEE, "passed", POST, "2026-03-18T16:00:00+09:00",
             result={"score": {"raw": 40, "max": 50}, "success": True}),  # 07:00Z
        # A visitor outside the people table on a mapped course.
        stmt("x-1", VISITOR, "launched", COURSE, "2026-03-06T10:00:00Z"),
        # An unknown visitor on an unmapped activity is not a problem even in error mode.
        stmt("x-2", VISITOR, "launched", OTHER, "2026-03-06T10:00:00Z"),
        # Voiding a statement that is not in this export removes only the voiding one.
        stmt("v-2", CHEN, VOIDED_VERB, {"objectType": "StatementRef", "id": "not-in-file"},
             "2026-03-21T08:00:00Z"),
    ]


EXPECTED_STATS = {
    "statements": 22,
    "duplicates": 1,  # c-1 twice
    "voiding": 2,  # v-1, v-2
    "voided": 1,  # B-COMPLETED
    "ignored_activities": 2,  # c-4, x-2
    "ignored_verbs": 1,  # c-3
    "dropped_actors": 1,  # x-1
    "used": 14,
}


def expected_enrollments() -> pd.DataFrame:
    # Hours by hand: Ana 15 min + 90 min + 120 min + 20 min + 45.5 s;
    # Ben 0 s + 1 h (the voided 3 h excluded); Chen 1 h 15 min; Dee none.
    ana_hours = ((15 + 90 + 120 + 20) * 60 + 45.5) / 3600
    return pd.DataFrame(
        {
            "person_id": pd.Series(["p1", "p2", "p3", "p4"], dtype="str"),
            "program_id": pd.Series(["sales-enablement", "sales-enablement", "safety", "sales-enablement"],
                                    dtype="str"),
            "enrolled_on": pd.to_datetime(["2026-03-01", "2026-03-03", "2026-02-28", "2026-03-04"]).astype(
                "datetime64[ns]"),
            "completed_on": pd.to_datetime(["2026-03-11", None, "2026-02-28", None]).astype("datetime64[ns]"),
            "status": pd.Series(["completed", "in_progress", "completed", "in_progress"], dtype="str"),
            "hours": pd.Series([ana_hours, 1.0, 1.25, 0.0], dtype="float64"),
        }
    )


def expected_assessments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": pd.Series(["p1", "p1", "p2", "p4", "p4"], dtype="str"),
            "program_id": pd.Series(["sales-enablement"] * 5, dtype="str"),
            "phase": pd.Series(["pre", "post", "pre", "pre", "post"], dtype="str"),
            "score": [12.0, 85.0, 20.0, 30.0, 40.0],
            "max_score": [20.0, 100.0, 100.0, np.nan, 50.0],
            "taken_on": pd.to_datetime(
                ["2026-03-01", "2026-03-11", "2026-03-03", "2026-03-04", "2026-03-18"]
            ).astype("datetime64[ns]"),
        }
    )


def write_json(path: Path, statements: list[Any]) -> Path:
    path.write_text(json.dumps(statements, indent=2), encoding="utf-8")
    return path


def write_jsonl(path: Path, statements: list[Any], *, blank_every: int = 0) -> Path:
    lines: list[str] = []
    for i, s in enumerate(statements):
        lines.append(json.dumps(s))
        if blank_every and (i + 1) % blank_every == 0:
            lines.append("   ")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read(path: Path, **kw: Any) -> XapiTables:
    kw.setdefault("people", make_people())
    kw.setdefault("activities", ACTIVITIES)
    kw.setdefault("account_column", "emp_no")
    return read_xapi(path, **kw)


# ---------------------------------------------------------------------------
# ISO 8601 parsers, checked against hand-computed values


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H30M", 3600 + 30 * 60),  # 5400
        ("PT45.5S", 45.5),
        ("P1DT2H", 24 * 3600 + 2 * 3600),  # 93600
        ("PT0S", 0.0),
        ("P2D", 172800.0),
        ("P1W", 7 * 86400.0),  # 604800
        ("PT1M30.25S", 90.25),
        ("PT0,5H", 1800.0),  # ISO allows a decimal comma
        ("P0Y0M0DT1H", 3600.0),  # zero years/months emitted by some tools
        ("PT2H0M3S", 7203.0),
        ("P1DT0.5S", 86400.5),
        ("PT36H", 129600.0),
    ],
)
def test_duration_parser_matches_hand_computed_values(text: str, seconds: float) -> None:
    assert _parse_duration_seconds(text) == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "1H30M", "PT1.5", "P1Y", "P2M", "P1Y2DT1H", "-PT1H", "PT1H30", "PT1S1H",
             "pt1h", "PT 1H", 5400, None]
)
def test_duration_parser_rejects_malformed_or_unfixed_lengths(text: Any) -> None:
    with pytest.raises(_Bad):
        _parse_duration_seconds(text)


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-10T23:30:00-05:00", "2026-03-11T04:30:00"),
        ("2026-03-02T01:00:00+02:00", "2026-03-01T23:00:00"),
        ("2026-03-02T01:00:00+0530", "2026-03-01T19:30:00"),
        ("2026-03-02T01:00:00+05", "2026-03-01T20:00:00"),
        ("2026-03-02T01:00Z", "2026-03-02T01:00:00"),
        ("2026-03-04T09:00:00.123456789Z", "2026-03-04T09:00:00.123456"),
        ("2026-03-04T09:00:00", "2026-03-04T09:00:00"),  # no offset: UTC
    ],
)
def test_timestamp_parser_converts_to_utc(text: str, utc: str) -> None:
    got = _parse_timestamp(text)
    assert got.utcoffset() is not None and got.utcoffset().total_seconds() == 0
    assert got.replace(tzinfo=None).isoformat() == pd.Timestamp(utc).isoformat()


@pytest.mark.parametrize("text", ["2026-02-30T10:00:00Z", "2026-03-01", "yesterday", "2026-03-01T25:00:00Z",
                                  "2026-03-01T10:00:00+25:00", 20260301])
def test_timestamp_parser_rejects_bad_values(text: Any) -> None:
    with pytest.raises(_Bad):
        _parse_timestamp(text)


# ---------------------------------------------------------------------------
# End to end


@pytest.mark.parametrize("form", ["json", "jsonl"])
def test_end_to_end_exact_frames(tmp_path: Path, form: str) -> None:
    statements = realistic_statements()
    path = (write_json(tmp_path / "lrs.json", statements) if form == "json"
            else write_jsonl(tmp_path / "lrs.jsonl", statements, blank_every=5))
    out = read(path, unknown_actors="drop")
    pd.testing.assert_frame_equal(out.enrollments, expected_enrollments())
    pd.testing.assert_frame_equal(out.assessments, expected_assessments())
    assert out.stats == EXPECTED_STATS
    assert out.stats["statements"] == sum(v for k, v in out.stats.items() if k != "statements")


def test_dtypes_are_canonical(tmp_path: Path) -> None:
    out = read(write_json(tmp_path / "lrs.json", realistic_statements()), unknown_actors="drop")
    assert out.enrollments.dtypes.astype(str).to_dict() == {
        "person_id": "str", "program_id": "str", "enrolled_on": "datetime64[ns]",
        "completed_on": "datetime64[ns]", "status": "str", "hours": "float64",
    }
    assert out.assessments.dtypes.astype(str).to_dict() == {
        "person_id": "str", "program_id": "str", "phase": "str", "score": "float64",
        "max_score": "float64", "taken_on": "datetime64[ns]",
    }
    # Date precision: no time-of-day survives the UTC truncation.
    assert (out.enrollments["enrolled_on"] == out.enrollments["enrolled_on"].dt.normalize()).all()


def test_no_usable_statement_gives_empty_frames_with_canonical_dtypes(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [stmt("o-1", ANA, "launched", OTHER, "2026-03-01T00:00:00Z")])
    out = read(path)
    assert list(out.enrollments.columns) == list(expected_enrollments().columns)
    assert list(out.assessments.columns) == list(expected_assessments().columns)
    assert out.enrollments.empty and out.assessments.empty
    assert str(out.enrollments["enrolled_on"].dtype) == "datetime64[ns]"
    assert str(out.assessments["score"].dtype) == "float64"
    assert out.stats["ignored_activities"] == 1 and out.stats["used"] == 0


def test_utf8_bom_and_path_as_str(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(realistic_statements()).encode())
    out = read(str(path), unknown_actors="drop")
    pd.testing.assert_frame_equal(out.enrollments, expected_enrollments())


def test_result_is_frozen(tmp_path: Path) -> None:
    out = read(write_json(tmp_path / "lrs.json", realistic_statements()), unknown_actors="drop")
    with pytest.raises(AttributeError):
        out.stats = {}  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Individual rules


def test_verb_is_matched_by_last_path_segment(tmp_path: Path) -> None:
    statements = [
        stmt("1", ANA, "https://w3id.org/xapi/dod-isd/verbs/completed", COURSE, "2026-03-05T10:00:00Z"),
        stmt("2", ANA, "http://adlnet.gov/expapi/verbs/launched/", COURSE, "2026-03-04T10:00:00Z"),
        stmt("3", ANA, "http://id.tincanapi.com/verb/completed-not", COURSE, "2026-03-01T10:00:00Z"),
    ]
    out = read(write_jsonl(tmp_path / "v.jsonl", statements))
    row = out.enrollments.iloc[0]
    assert row["status"] == "completed"
    assert row["completed_on"] == pd.Timestamp("2026-03-05")
    assert row["enrolled_on"] == pd.Timestamp("2026-03-04")  # the ignored verb does not count
    assert out.stats["ignored_verbs"] == 1


def test_failed_on_course_and_passed_on_assessment_do_not_complete(tmp_path: Path) -> None:
    statements = [
        stmt("1", ANA, "failed", COURSE, "2026-03-05T10:00:00Z"),
        stmt("2", ANA, "passed", POST, "2026-03-06T10:00:00Z", result={"score": {"scaled": 0.9}}),
    ]
    row = read(write_jsonl(tmp_path / "f.jsonl", statements)).enrollments.iloc[0]
    assert row["status"] == "in_progress"
    assert pd.isna(row["completed_on"])


def test_timestamp_preferred_over_stored_and_stored_used_when_alone(tmp_path: Path) -> None:
    statements = [
        stmt("1", ANA, "launched", COURSE, "2026-03-05T10:00:00Z", stored="2026-01-01T00:00:00Z"),
        stmt("2", ANA, "completed", COURSE, stored="2026-03-09T23:59:59-01:00"),  # 2026-03-10 UTC
    ]
    row = read(write_jsonl(tmp_path / "t.jsonl", statements)).enrollments.iloc[0]
    assert row["enrolled_on"] == pd.Timestamp("2026-03-05")
    assert row["completed_on"] == pd.Timestamp("2026-03-10")


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        ({"raw": 18, "max": 20}, (18.0, 20.0)),
        ({"raw": 18, "min": 0, "max": 20, "scaled": 0.1}, (18.0, 20.0)),  # raw wins over scaled
        ({"raw": 3, "min": 1, "max": 5}, (50.0, 100.0)),  # (3-1)/(5-1)*100
        ({"raw": -2, "min": -10, "max": 10}, (40.0, 100.0)),  # (-2+10)/20*100
        ({"raw": 4, "min": 1, "scaled": 0.75}, (75.0, 100.0)),  # cannot rescale raw: use scaled
        ({"scaled": 0.725}, (72.5, 100.0)),
        ({"scaled": -0.5}, (-50.0, 100.0)),
        ({"raw": 30}, (30.0, np.nan)),
    ],
)
def test_score_rules(tmp_path: Path, score: dict[str, Any], expected: tuple[float, float]) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [stmt("1", ANA, "scored", PRE, "2026-03-01T10:00:00Z",
                                                   result={"score": score})])
    row = read(path).assessments.iloc[0]
    assert row["score"] == pytest.approx(expected[0], abs=1e-12)
    if np.isnan(expected[1]):
        assert np.isnan(row["max_score"])
    else:
        assert row["max_score"] == expected[1]


def test_score_that_cannot_be_computed_is_a_problem(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [stmt("1", ANA, "scored", PRE, "2026-03-01T10:00:00Z",
                                                   result={"score": {"raw": 4, "min": 1}})])
    with pytest.raises(ValidationError) as info:
        read(path)
    (p,) = info.value.problems
    assert (p.row, p.column) == (1, "result.score")


def test_unscored_assessment_statement_feeds_enrollment_only(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [stmt("1", ANA, "attempted", PRE, "2026-03-01T10:00:00Z",
                                                   result={"duration": "PT30M"})])
    out = read(path)
    assert out.assessments.empty
    assert out.enrollments["hours"].tolist() == [0.5]
    assert out.enrollments["enrolled_on"].tolist() == [pd.Timestamp("2026-03-01")]


def test_last_attempt_wins_even_if_worse_and_ties_go_to_file_order(tmp_path: Path) -> None:
    statements = [
        stmt("1", ANA, "scored", POST, "2026-03-11T09:00:00Z", result={"score": {"scaled": 0.9}}),
        stmt("2", ANA, "scored", POST, "2026-03-11T11:00:00+01:00", result={"score": {"scaled": 0.4}}),  # 10:00Z
        stmt("3", ANA, "scored", POST, "2026-03-11T10:00:00Z", result={"score": {"scaled": 0.5}}),  # tie, later
        stmt("4", ANA, "scored", PRE, "2026-03-01T10:00:00Z", result={"score": {"scaled": 0.3}}),
    ]
    out = read(write_jsonl(tmp_path / "a.jsonl", statements)).assessments
    assert out["phase"].tolist() == ["pre", "post"]
    assert out["score"].tolist() == [30.0, 50.0]


def test_voiding_removes_target_anywhere_and_itself(tmp_path: Path) -> None:
    statements = [
        stmt("c", ANA, "completed", COURSE, "2026-03-05T10:00:00Z", result={"duration": "PT2H"}),
        stmt("l", ANA, "launched", COURSE, "2026-03-01T10:00:00Z"),
        stmt("v", ANA, "voided", {"objectType": "StatementRef", "id": "C"}, "2026-03-06T10:00:00Z"),
        # A voiding statement cannot itself be voided: "v" keeps its effect.
        stmt("vv", ANA, "voided", {"objectType": "StatementRef", "id": "v"}, "2026-03-07T10:00:00Z"),
    ]
    out = read(write_jsonl(tmp_path / "v.jsonl", statements))
    row = out.enrollments.iloc[0]
    assert row["status"] == "in_progress" and row["hours"] == 0.0
    assert out.stats["voided"] == 1 and out.stats["voiding"] == 2 and out.stats["used"] == 1


def test_voided_statement_with_unknown_actor_is_not_a_problem(tmp_path: Path) -> None:
    statements = [
        stmt("x", VISITOR, "launched", COURSE, "2026-03-01T10:00:00Z"),
        stmt("v", ANA, "voided", {"objectType": "StatementRef", "id": "x"}, "2026-03-02T10:00:00Z"),
    ]
    out = read(write_jsonl(tmp_path / "v.jsonl", statements))
    assert out.enrollments.empty and out.stats["voided"] == 1


def test_conflicting_duplicate_id_is_a_problem(tmp_path: Path) -> None:
    statements = [
        stmt("same", ANA, "launched", COURSE, "2026-03-01T10:00:00Z"),
        stmt("same", ANA, "completed", COURSE, "2026-03-02T10:00:00Z"),
    ]
    with pytest.raises(ValidationError) as info:
        read(write_jsonl(tmp_path / "d.jsonl", statements))
    (p,) = info.value.problems
    assert (p.row, p.column) == (2, "id")


def test_actor_resolution_kinds(tmp_path: Path) -> None:
    people = pd.DataFrame({
        "person_id": ["p1", "p2", "p3", "p4"],
        "email": ["Ana.Silva@Example.com", "Ben@Example.com", "Chen@Example.com", None],
        "emp_no": [1001.0, 1002.0, 1003.0, np.nan],  # integral floats, as Excel often delivers ids
    })
    statements = [
        stmt("1", {"mbox": "mailto:ANA.SILVA@example.COM"}, "launched", COURSE, "2026-03-01T10:00:00Z"),
        # sha1 of the address exactly as stored ...
        stmt("2", {"mbox_sha1sum": sha1_mbox("Ben@Example.com").upper()}, "launched", COURSE,
             "2026-03-01T10:00:00Z"),
        # ... or of its lower-cased form.
        stmt("3", {"mbox_sha1sum": sha1_mbox("chen@example.com")}, "launched", COURSE, "2026-03-01T10:00:00Z"),
        stmt("4", {"account": {"homePage": "https://hr", "name": "1001"}}, "launched", SAFETY,
             "2026-03-01T10:00:00Z"),
    ]
    out = read(write_jsonl(tmp_path / "a.jsonl", statements), people=people)
    assert list(zip(out.enrollments["person_id"], out.enrollments["program_id"], strict=True)) == [
        ("p1", "safety"), ("p1", "sales-enablement"), ("p2", "sales-enablement"), ("p3", "sales-enablement")]


def test_default_account_column_is_person_id(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [stmt("1", {"account": {"homePage": "h", "name": "p3"}},
                                                   "launched", COURSE, "2026-03-01T10:00:00Z")])
    out = read_xapi(path, people=make_people(), activities=ACTIVITIES)
    assert out.enrollments["person_id"].tolist() == ["p3"]


def test_unknown_actor_error_mode_reports_each(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "lrs.jsonl", realistic_statements())
    with pytest.raises(ValidationError) as info:
        read(path)  # default: error
    (p,) = info.value.problems
    assert p.file == str(path)
    assert p.row == 20  # x-1; x-2 is on an unmapped activity
    assert p.column == "actor.mbox"
    assert "visitor@elsewhere.org" in p.found


def test_unknown_actor_drop_mode_counts(tmp_path: Path) -> None:
    statements = [
        stmt("1", VISITOR, "launched", COURSE, "2026-03-01T10:00:00Z"),
        stmt("2", {"account": {"homePage": "h", "name": "E999"}}, "launched", COURSE, "2026-03-01T10:00:00Z"),
        stmt("3", {"openid": "https://openid.example.org/ana"}, "launched", COURSE, "2026-03-01T10:00:00Z"),
        {**stmt("4", {}, "launched", COURSE, "2026-03-01T10:00:00Z"), "actor": {"objectType": "Group"}},
    ]
    out = read(write_jsonl(tmp_path / "u.jsonl", statements), unknown_actors="drop")
    assert out.stats["dropped_actors"] == 4 and out.enrollments.empty
    with pytest.raises(ValidationError) as info:
        read(write_jsonl(tmp_path / "u.jsonl", statements), unknown_actors="error")
    assert [(p.row, p.column) for p in info.value.problems] == [
        (1, "actor.mbox"), (2, "actor.account.name"), (3, "actor.openid"), (4, "actor")]


def test_ambiguous_email_is_always_a_problem(tmp_path: Path) -> None:
    people = pd.DataFrame({"person_id": ["p1", "p2"], "email": ["shared@example.com", "SHARED@example.com"]})
    path = write_jsonl(tmp_path / "a.jsonl", [stmt("1", {"mbox": "mailto:shared@example.com"}, "launched",
                                                   COURSE, "2026-03-01T10:00:00Z")])
    with pytest.raises(ValidationError) as info:
        read_xapi(path, people=people, activities=ACTIVITIES, unknown_actors="drop")
    (p,) = info.value.problems
    assert p.column == "actor.mbox" and "p1,p2" in p.found


# ---------------------------------------------------------------------------
# Malformed statements: every kind, both file forms, exact row and column


def _good() -> dict[str, Any]:
    return stmt("ok", ANA, "launched", COURSE, "2026-03-01T10:00:00Z", result={"duration": "PT1H"})


_NULL = object()  # lets a mutation return JSON null (None means "mutated in place")


def _mutate(fn: Any) -> Any:
    s = _good()
    out = fn(s)
    return None if out is _NULL else s if out is None else out


MALFORMED: list[tuple[str, Any, str | None]] = [
    ("not an object", lambda s: [s], None),
    ("null statement", lambda s: _NULL, None),  # noqa: ARG005
    ("missing actor", lambda s: s.pop("actor") and None, "actor"),
    ("actor not an object", lambda s: s.update(actor="ana"), "actor"),
    ("agent without identifier", lambda s: s.update(actor={"name": "Ana"}), "actor"),
    ("bad mbox", lambda s: s.update(actor={"mbox": "ana@example.com"}), "actor.mbox"),
    ("bad sha1", lambda s: s.update(actor={"mbox_sha1sum": "abc123"}), "actor.mbox_sha1sum"),
    ("account without name", lambda s: s.update(actor={"account": {"homePage": "h"}}), "actor.account.name"),
    ("missing verb", lambda s: s.pop("verb") and None, "verb"),
    ("verb without id", lambda s: s.update(verb={"display": {"en-US": "did"}}), "verb.id"),
    ("missing object", lambda s: s.pop("object") and None, "object"),
    ("object without id", lambda s: s.update(object={"objectType": "Activity"}), "object.id"),
    ("voiding a non-StatementRef", lambda s: s.update(verb={"id": VOIDED_VERB}), "object.objectType"),
    ("bad timestamp", lambda s: s.update(timestamp="2026-13-01T10:00:00Z"), "timestamp"),
    ("non-string timestamp", lambda s: s.update(timestamp=1772359200), "timestamp"),
    ("bad stored", lambda s: s.update(stored="01/03/2026"), "stored"),
    ("no time at all", lambda s: s.pop("timestamp") and None, "timestamp"),
    ("bad duration", lambda s: s["result"].update(duration="1h30m"), "result.duration"),
    ("duration in months", lambda s: s["result"].update(duration="P1M"), "result.duration"),
    ("result not an object", lambda s: s.update(result="passed"), "result"),
    ("score not an object", lambda s: s["result"].update(score=85), "result.score"),
    ("scaled above 1", lambda s: s["result"].update(score={"scaled": 1.5}), "result.score.scaled"),
    ("scaled below -1", lambda s: s["result"].update(score={"scaled": -1.01}), "result.score.scaled"),
    ("raw above max", lambda s: s["result"].update(score={"raw": 21, "max": 20}), "result.score.raw"),
    ("raw below min", lambda s: s["result"].update(score={"raw": 0, "min": 1, "max": 5}), "result.score.raw"),
    ("min not below max", lambda s: s["result"].update(score={"raw": 5, "min": 5, "max": 5}), "result.score.max"),
    ("raw not a number", lambda s: s["result"].update(score={"raw": "ten"}), "result.score.raw"),
    ("raw boolean", lambda s: s["result"].update(score={"raw": True}), "result.score.raw"),
    ("id not a string", lambda s: s.update(id=42), "id"),
]


@pytest.mark.parametrize(("case", "mutation", "column"), MALFORMED, ids=[m[0] for m in MALFORMED])
@pytest.mark.parametrize("form", ["json", "jsonl"])
def test_each_malformed_statement_is_located(tmp_path: Path, form: str, case: str, mutation: Any,
                                             column: str | None) -> None:
    bad = _mutate(mutation)
    good = _good()
    if form == "json":
        path = write_json(tmp_path / "bad.json", [good, bad, {**copy.deepcopy(good), "id": "ok2"}])
        row = 2
    else:
        # Line 1 good, line 2 blank, line 3 bad: rows are physical line numbers.
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n", encoding="utf-8")
        row = 3
    with pytest.raises(ValidationError) as info:
        read(path)
    assert [(p.file, p.row, p.column) for p in info.value.problems] == [(str(path), row, column)], case
    assert info.value.problems[0].expected


def test_nan_score_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nan.jsonl"
    path.write_text('{"actor": {"mbox": "mailto:ana.silva@example.com"}, "verb": {"id": "%sscored"}, '
                    '"object": {"id": "%s"}, "timestamp": "2026-03-01T10:00:00Z", '
                    '"result": {"score": {"scaled": NaN}}}\n' % (VERB, PRE), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read(path)
    assert [(p.row, p.column) for p in info.value.problems] == [(1, "result.score.scaled")]


def test_unparseable_jsonl_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(_good()) + "\n" + '{"actor": {"mbox": "mailto:a@b"}, "verb": \n', encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read(path)
    (p,) = info.value.problems
    assert (p.file, p.row, p.column) == (str(path), 2, None)
    assert "unparseable JSON" in p.found


def test_all_problems_are_collected_in_one_error(tmp_path: Path) -> None:
    lines = [
        json.dumps(_good()),
        "{not json",
        json.dumps(_mutate(lambda s: s["result"].update(duration="90 minutes"))),
        json.dumps(_mutate(lambda s: s.update(timestamp="soon", actor={"name": "x"}))),
        json.dumps(stmt("x", VISITOR, "launched", COURSE, "2026-03-01T10:00:00Z")),
    ]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read(path)
    assert [(p.row, p.column) for p in info.value.problems] == [
        (2, None), (3, "result.duration"), (4, "actor"), (4, "timestamp"), (5, "actor.mbox")]
    assert info.value.files == [str(path)]


# ---------------------------------------------------------------------------
# Unreadable sources


@pytest.mark.parametrize(
    "content",
    [b"", b"  \n\n\t ", b"\xef\xbb\xbf", b'[{"id": "a"}, {"id": ', b"[1, 2] [3]",
     b"\xff\xfe[\x00]\x00", json.dumps(_good(), indent=2).encode()],
    ids=["zero bytes", "whitespace", "bom only", "truncated array", "trailing data", "utf-16", "pretty object"],
)
def test_unreadable_sources_raise_source_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "src.json"
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        read(path)
    assert [p.file for p in info.value.problems] == [str(path)]


def test_missing_file_is_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        read(tmp_path / "nope.json")
    assert info.value.problems[0].file == str(tmp_path / "nope.json")


# ---------------------------------------------------------------------------
# Arguments


def test_bad_arguments_are_reported(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [_good()])
    with pytest.raises(ValidationError) as info:
        read_xapi(path, people=make_people(), activities=ACTIVITIES, unknown_actors="ignore")  # type: ignore[arg-type]
    assert info.value.problems[0].column == "unknown_actors"
    with pytest.raises(ValidationError) as info:
        read_xapi(path, people=make_people(), activities={COURSE: {"program": "sales-enablement", "phase": "mid"},
                                                          SAFETY: "Safety Program",
                                                          PRE: {"program": "x", "phase": "pre", "weight": 2}})
    assert [p.column for p in info.value.problems] == [COURSE, SAFETY, PRE]
    with pytest.raises(ValidationError) as info:
        read_xapi(path, people=make_people(), activities=ACTIVITIES, account_column="employee_no")
    assert info.value.problems[0].column == "employee_no"
    with pytest.raises(ValidationError):
        read_xapi(path, people=pd.DataFrame({"id": ["p1"]}), activities=ACTIVITIES)


# ---------------------------------------------------------------------------
# Robustness: no raw json/pandas/Python exception escapes, whatever the content

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "actor", "verb", "object", "timestamp", "stored", "result", "score", "raw",
                         "max", "min", "scaled", "duration", "mbox", "account", "name", "objectType"]),
        children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statements=st.lists(_json, max_size=4), jsonl=st.booleans())
def test_arbitrary_content_raises_only_lopsnb_errors(tmp_path: Path, statements: list[Any], jsonl: bool) -> None:
    path = tmp_path / "fuzz.txt"
    if jsonl:
        path.write_text("\n".join(json.dumps(s) for s in statements), encoding="utf-8")
    else:
        path.write_text(json.dumps(statements), encoding="utf-8")
    try:
        read(path)
    except LopsnbError:
        pass
